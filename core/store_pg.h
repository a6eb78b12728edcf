/* The CA database on PostgreSQL (libpq): the second backend of store.h.
 * store.c opens it for a postgresql:// URL and hands every cs_store_* call
 * on such a store to the csi_pg_* function of the same name; the promises
 * are store.h's, the differences are in store_pg.c's first comment. */
#ifndef CS_STORE_PG_H
#define CS_STORE_PG_H

#include "store.h"

typedef struct csi_pg csi_pg;

/* Whether target names a PostgreSQL database (postgresql:// or
 * postgres://, libpq's URI prefixes) rather than a SQLite file. */
int csi_store_is_url(const char *target);

CS_NODISCARD cs_code csi_pg_open(const char *url, csi_pg **out, cs_err *err);
void csi_pg_close(csi_pg *p);
CS_NODISCARD cs_code csi_pg_set_node(csi_pg *p, const char *node, cs_err *err);
CS_NODISCARD cs_code csi_pg_issue(csi_pg *p, const cs_cert_spec *spec, const cs_key *subject_key,
                                  const cs_cert *issuer, const cs_key *issuer_key,
                                  const char *profile, cs_cert **out, cs_err *err);

/* What signs a certificate once the store has drawn its serial (len
 * big-endian bytes): any way of building one (a spec, a template) issues
 * through csi_pg_issue_with. */
typedef cs_code (*csi_pg_sign_fn)(const void *arg, const unsigned char *serial, size_t len,
                                  cs_cert **out, cs_err *err);

/* Issue with sign: issuer_line is the issuer's subject line, or NULL for a
 * self-signed certificate (its line is known only once signed). */
CS_NODISCARD cs_code csi_pg_issue_with(csi_pg *p, const char *issuer_line, csi_pg_sign_fn sign,
                                       const void *arg, const char *profile, cs_cert **out,
                                       cs_err *err);
CS_NODISCARD cs_code csi_pg_begin(csi_pg *p, cs_err *err);
CS_NODISCARD cs_code csi_pg_commit(csi_pg *p, cs_err *err);
void csi_pg_rollback(csi_pg *p);
CS_NODISCARD cs_code csi_pg_find(csi_pg *p, const char *serial_hex, const char *issuer,
                                 cs_cert **out, char **profile, cs_err *err);
CS_NODISCARD cs_code csi_pg_revoke(csi_pg *p, const char *serial_hex, const char *issuer,
                                   int reason, int64_t at, cs_err *err);
CS_NODISCARD cs_code csi_pg_status(csi_pg *p, const char *issuer, const char *serial_hex,
                                   cs_revocation *out, cs_err *err);
CS_NODISCARD cs_code csi_pg_revoked(csi_pg *p, const char *issuer, cs_revoked **out, size_t *n,
                                    cs_err *err);
CS_NODISCARD cs_code csi_pg_next_crl_number(csi_pg *p, const char *issuer, int64_t *out,
                                            cs_err *err);
CS_NODISCARD cs_code csi_pg_mark_add(csi_pg *p, const char *id, const char *path, cs_err *err);
CS_NODISCARD cs_code csi_pg_mark_find(csi_pg *p, const char *id, int *found, cs_err *err);
CS_NODISCARD cs_code csi_pg_mark_prune(csi_pg *p, cs_err *err);
CS_NODISCARD cs_code csi_pg_list(csi_pg *p, const cs_store_filter *filter, cs_record **out,
                                 size_t *n, cs_err *err);
CS_NODISCARD cs_code csi_pg_count(csi_pg *p, int64_t *out, cs_err *err);

/* For the migration (store_migrate.c): one certificate row as it was in
 * another database, status and all (revoked_at 0: good), and a CRL number
 * and a journal mark as they were. Only inside a batch, into a database
 * whose certificates table is empty (the caller checks with csi_pg_count). */
CS_NODISCARD cs_code csi_pg_import_cert(csi_pg *p, const char *pem, size_t pem_len,
                                        const char *profile, int64_t issued_at,
                                        int64_t revoked_at, int reason, cs_err *err);
CS_NODISCARD cs_code csi_pg_import_crl_number(csi_pg *p, const char *issuer, int64_t last,
                                              cs_err *err);

#endif
