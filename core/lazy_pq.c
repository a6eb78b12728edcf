/* libpq, opened on the first PostgreSQL store (core/lazy.h says why). */
#include <libpq-fe.h>

#include "lazy.h"

/* Every libpq function core/store_pg.c calls. */
#define PQ_FUNCTIONS(X, V, H)                                                                     \
    V(PQclear, (PGresult * res), (res))                                                        \
    X(char *, PQcmdStatus, (PGresult * res), (res))                                            \
    X(char *, PQcmdTuples, (PGresult * res), (res))                                            \
    X(PGconn *, PQconnectdb, (const char *conninfo), (conninfo))                               \
    X(char *, PQerrorMessage, (const PGconn *conn), (conn))                                    \
    X(PGresult *, PQexec, (PGconn * conn, const char *query), (conn, query))                   \
    X(PGresult *, PQexecPrepared,                                                              \
      (PGconn * conn, const char *name, int n, const char *const *values, const int *lengths,  \
       const int *formats, int result_format),                                                 \
      (conn, name, n, values, lengths, formats, result_format))                                \
    V(PQfinish, (PGconn * conn), (conn))                                                       \
    X(int, PQgetisnull, (const PGresult *res, int row, int col), (res, row, col))              \
    X(int, PQgetlength, (const PGresult *res, int row, int col), (res, row, col))              \
    X(char *, PQgetvalue, (const PGresult *res, int row, int col), (res, row, col))            \
    X(PGresult *, PQmakeEmptyPGresult, (PGconn * conn, ExecStatusType status), (conn, status)) \
    X(int, PQntuples, (const PGresult *res), (res))                                            \
    X(PGresult *, PQprepare,                                                                   \
      (PGconn * conn, const char *name, const char *query, int n, const Oid *types),           \
      (conn, name, query, n, types))                                                           \
    V(PQreset, (PGconn * conn), (conn))                                                        \
    X(char *, PQresultErrorField, (const PGresult *res, int field), (res, field))              \
    X(char *, PQresultErrorMessage, (const PGresult *res), (res))                              \
    X(ExecStatusType, PQresultStatus, (const PGresult *res), (res))                            \
    X(ConnStatusType, PQstatus, (const PGconn *conn), (conn))                                  \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))

CS_LAZY_DEFINE(cs_lazy_pq, CS_SONAME_PQ, PQ_FUNCTIONS)
