/* The CA database on PostgreSQL, for several CA and OCSP nodes sharing one
 * database. Same promises as store.h's SQLite backend, with these
 * differences, each for several writers on several machines:
 *
 * Serials: 3 bytes of node prefix (from SHA-256 of the node id, top bits
 * 01, so never 0 and never negative) + 16 random bytes = 19 octets, 128
 * random bits (RFC 5280 4.1.2.2 allows 20). UNIQUE (issuer, serial) is the
 * guarantee; a conflict (SQLSTATE 23505) draws a new serial.
 *
 * Signing outside the transaction: outside a batch, cs_store_issue first
 * commits the serial as a 'pending' row (durable, so no other node and no
 * restart of this one can take it), then signs, then commits the
 * certificate into that row (status 'good'). A node that dies between the
 * two leaves a 'pending' row: the serial is burnt, never reused, and no
 * certificate carries it. Pending rows are invisible to find, status, list,
 * count and the CRL. Inside a batch (bulk), the certificate is signed first
 * and inserted whole: the batch's one transaction makes its rows and its
 * serials visible together, and no certificate leaves the process before
 * the commit (the journal stages the files), so a lost batch burns nothing.
 * Conflicts there use ON CONFLICT DO NOTHING, because an error would abort
 * the whole transaction.
 *
 * Revocation: UPDATE ... WHERE status = 'good', so two nodes revoking the
 * same certificate at once record one revocation; the other gets
 * CS_EEXIST with the winner's time and reason.
 *
 * Reads go to the server the URL names, at the time of the call: no cache,
 * so an OCSP answer reflects every revocation committed before the query
 * reached PostgreSQL (the staleness bound is 0 when the URL names the
 * primary; a standby would add its replay lag).
 *
 * Connection loss: a read retries once on a new connection; a write fails
 * with CS_EDB (retrying could apply it twice) and the next call reconnects.
 *
 * Journal marks carry the node id: they name files on that node's disk, so
 * cs_store_mark_prune looks only at its own node's.
 *
 * One csi_pg is used by one thread at a time, as a cs_store. */
#include "store_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "internal.h"
#include "store_text.h"
#include "lazy.h"

#define PG_SCHEMA_VERSION 1
#define PREFIX_BYTES 3
#define RANDOM_BYTES 16 /* 128 random bits */
#define SERIAL_BYTES (PREFIX_BYTES + RANDOM_BYTES)
#define SERIAL_TRIES 8
#define SCHEMA_LOCK "7162534401" /* pg_advisory_xact_lock key: schema set-up */

/* One transaction under an advisory lock, so nodes starting together do not
 * race on CREATE TABLE. status: 'pending' (serial reserved, no certificate
 * yet), 'good', 'revoked'; the CHECKs make a half-recorded row impossible. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS chainsmith_schema (version integer NOT NULL);"
    "CREATE TABLE IF NOT EXISTS certificates ("
    " id bigserial PRIMARY KEY,"
    " issuer text NOT NULL,"
    " serial text NOT NULL,"
    " status text NOT NULL CHECK (status IN ('pending', 'good', 'revoked')),"
    " node text NOT NULL,"          /* who reserved the serial */
    " reserved_at bigint NOT NULL,"
    " subject text, sans text, not_before bigint, not_after bigint, profile text,"
    " fingerprint text, pem text, issued_at bigint,"
    " revoked_at bigint, reason integer,"
    " UNIQUE (issuer, serial),"
    " CHECK (status = 'pending' OR (subject IS NOT NULL AND sans IS NOT NULL"
    "  AND not_before IS NOT NULL AND not_after IS NOT NULL AND fingerprint IS NOT NULL"
    "  AND pem IS NOT NULL AND issued_at IS NOT NULL)),"
    " CHECK ((status = 'revoked') = (revoked_at IS NOT NULL AND reason IS NOT NULL)));"
    "CREATE INDEX IF NOT EXISTS certificates_serial ON certificates (serial);"
    "CREATE INDEX IF NOT EXISTS certificates_fingerprint ON certificates (fingerprint);"
    "CREATE INDEX IF NOT EXISTS certificates_revoked ON certificates (issuer, revoked_at)"
    " WHERE status = 'revoked';"
    "CREATE TABLE IF NOT EXISTS crl_numbers (issuer text PRIMARY KEY, last bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS journal_marks (id text PRIMARY KEY, path text NOT NULL,"
    " node text NOT NULL);";

enum {
    P_RESERVE,
    P_FILL,
    P_INSERT,
    P_FIND,
    P_FIND_ISSUER,
    P_COUNT,
    P_STATUS,
    P_STATUS_ANY,
    P_REVOKE,
    P_REVOKED,
    P_CRL_BUMP,
    P_MARK_ADD,
    P_MARK_FIND,
    P_MARK_LIST,
    P_MARK_DEL,
    P_LIST,
    P_IMPORT,
    P_IMPORT_CRL,
    P_UNRESERVE,
    P_N
};

#define ROW_COLS "subject, sans, not_before, not_after, profile, fingerprint, pem, issued_at"

static const char *const stmt_sql[P_N] = {
    [P_RESERVE] = "INSERT INTO certificates (issuer, serial, status, node, reserved_at)"
                  " VALUES ($1, $2, 'pending', $3, $4) RETURNING id",
    [P_FILL] = "UPDATE certificates SET status = 'good', subject = $2, sans = $3,"
               " not_before = $4, not_after = $5, profile = $6, fingerprint = $7, pem = $8,"
               " issued_at = $9 WHERE id = $1 AND status = 'pending'",
    [P_INSERT] = "INSERT INTO certificates (issuer, serial, status, node, reserved_at, " ROW_COLS
                 ") VALUES ($1, $2, 'good', $3, $10, $4, $5, $6, $7, $8, $9, $11, $10)"
                 " ON CONFLICT (issuer, serial) DO NOTHING RETURNING id",
    [P_FIND] = "SELECT pem, profile FROM certificates WHERE serial = $1 AND status <> 'pending'"
               " ORDER BY id LIMIT 2",
    [P_FIND_ISSUER] = "SELECT pem, profile FROM certificates WHERE serial = $1 AND issuer = $2"
                      " AND status <> 'pending'",
    [P_COUNT] = "SELECT count(*) FROM certificates WHERE status <> 'pending'",
    [P_STATUS] = "SELECT id, revoked_at, reason, not_after FROM certificates"
                 " WHERE serial = $1 AND issuer = $2 AND status <> 'pending'",
    [P_STATUS_ANY] = "SELECT id, revoked_at, reason, not_after FROM certificates"
                     " WHERE serial = $1 AND status <> 'pending' ORDER BY id LIMIT 2",
    [P_REVOKE] = "UPDATE certificates SET status = 'revoked', revoked_at = $2, reason = $3"
                 " WHERE id = $1 AND status = 'good'",
    [P_REVOKED] = "SELECT serial, revoked_at, reason, not_after FROM certificates"
                  " WHERE issuer = $1 AND status = 'revoked' ORDER BY revoked_at, id",
    [P_CRL_BUMP] = "INSERT INTO crl_numbers (issuer, last) VALUES ($1, 1) ON CONFLICT (issuer)"
                   " DO UPDATE SET last = crl_numbers.last + 1 RETURNING last",
    [P_MARK_ADD] = "INSERT INTO journal_marks (id, path, node) VALUES ($1, $2, $3)",
    [P_MARK_FIND] = "SELECT 1 FROM journal_marks WHERE id = $1",
    [P_MARK_LIST] = "SELECT id, path FROM journal_marks WHERE node = $1",
    [P_MARK_DEL] = "DELETE FROM journal_marks WHERE id = $1",
    /* $4: cs_list_status; $5: now */
    [P_LIST] = "SELECT serial, issuer, subject, sans, profile, fingerprint, not_before,"
               " not_after, issued_at, revoked_at, reason FROM certificates"
               " WHERE status <> 'pending' AND ($1::text IS NULL OR issuer = $1)"
               " AND ($2::text IS NULL OR profile = $2)"
               " AND ($3::text IS NULL OR strpos(lower(subject || ' ' || sans), lower($3)) > 0)"
               " AND CASE $4::integer WHEN 1 THEN status = 'good' AND not_after >= $5::bigint"
               " WHEN 2 THEN status = 'revoked'"
               " WHEN 3 THEN status = 'good' AND not_after < $5::bigint ELSE true END"
               " ORDER BY id",
    [P_IMPORT] = "INSERT INTO certificates (issuer, serial, status, node, reserved_at, " ROW_COLS
                 ", revoked_at, reason) VALUES ($1, $2, $12, $3, $10, $4, $5, $6, $7, $8, $9,"
                 " $11, $10, $13, $14)",
    [P_IMPORT_CRL] = "INSERT INTO crl_numbers (issuer, last) VALUES ($1, $2)",
    [P_UNRESERVE] = "DELETE FROM certificates WHERE id = $1 AND status = 'pending'",
};

struct csi_pg {
    PGconn *conn;
    char *url;   /* what libpq connects to; may hold a password: never printed */
    char *name;  /* for messages: the URL without password and parameters */
    char *node;  /* this node's id: the serial prefix, the journal marks' owner */
    unsigned char prefix[PREFIX_BYTES];
    int in_batch;
    EVP_MD *sha256;
};

int csi_store_is_url(const char *target)
{
    return target && (strncmp(target, "postgresql://", 13) == 0 ||
                      strncmp(target, "postgres://", 11) == 0);
}

/* The URL for messages: no password (user:secret@ -> user@), no query
 * (password=... may be there); free with free(). */
static char *display_name(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *auth, *at, *colon, *slash, *query;
    size_t len = strlen(url);
    char *out = malloc(len + 1);

    if (!out)
        return NULL;
    query = strchr(url, '?');
    if (query)
        len = (size_t)(query - url);
    auth = scheme_end ? scheme_end + 3 : url;
    slash = memchr(auth, '/', len - (size_t)(auth - url));
    at = memchr(auth, '@', (size_t)((slash ? slash : url + len) - auth));
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        size_t head = (size_t)(colon - url), tail = len - (size_t)(at - url);
        memcpy(out, url, head);
        memcpy(out + head, at, tail);
        out[head + tail] = '\0';
    } else {
        memcpy(out, url, len);
        out[len] = '\0';
    }
    return out;
}

/* CS_EDB naming the database, what was being done and PostgreSQL's reason. */
static cs_code pg_fail(const csi_pg *p, const PGresult *res, const char *doing, cs_err *err)
{
    const char *why = res ? PQresultErrorMessage(res) : "";
    char reason[256];
    size_t n;

    if (!why || !*why)
        why = PQerrorMessage(p->conn);
    snprintf(reason, sizeof reason, "%s", why && *why ? why : "unknown error");
    n = strlen(reason);
    while (n > 0 && (reason[n - 1] == '\n' || reason[n - 1] == ' '))
        reason[--n] = '\0';
    return cs_err_set(err, CS_EDB, "%s: %s: %s", p->name, doing, reason);
}

static int sqlstate_is(const PGresult *res, const char *code)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state && strcmp(state, code) == 0;
}

static cs_code prepare_all(csi_pg *p, cs_err *err)
{
    char name[16];
    int i;

    for (i = 0; i < P_N; i++) {
        PGresult *res;
        snprintf(name, sizeof name, "cs%d", i);
        res = PQprepare(p->conn, name, stmt_sql[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            cs_code rc = pg_fail(p, res, "preparing statements", err);
            PQclear(res);
            return rc;
        }
        PQclear(res);
    }
    return CS_OK;
}

/* A fresh connection after a lost one (outside a batch only: a batch's
 * transaction is gone with its connection). */
static int reconnect(csi_pg *p)
{
    if (p->in_batch)
        return 0;
    PQreset(p->conn);
    return PQstatus(p->conn) == CONNECTION_OK && prepare_all(p, NULL) == CS_OK;
}

/* Run prepared statement which with n text parameters (NULL: SQL NULL).
 * read_only: safe to send again on a new connection if the old one was
 * lost. Returns the result (free with PQclear), whatever its status. */
static PGresult *run(csi_pg *p, int which, int n, const char *const *values, int read_only)
{
    char name[16];
    PGresult *res;

    snprintf(name, sizeof name, "cs%d", which);
    if (PQstatus(p->conn) == CONNECTION_BAD && !reconnect(p))
        return PQmakeEmptyPGresult(p->conn, PGRES_FATAL_ERROR);
    res = PQexecPrepared(p->conn, name, n, values, NULL, NULL, 0);
    if (read_only && PQstatus(p->conn) == CONNECTION_BAD &&
        PQresultStatus(res) != PGRES_TUPLES_OK && reconnect(p)) {
        PQclear(res);
        res = PQexecPrepared(p->conn, name, n, values, NULL, NULL, 0);
    }
    return res;
}

/* Run plain SQL that returns nothing we need. */
static cs_code exec_sql(csi_pg *p, const char *sql, const char *doing, cs_err *err)
{
    PGresult *res = PQexec(p->conn, sql);
    cs_code rc = CS_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail(p, res, doing, err);
    PQclear(res);
    return rc;
}

/* After a failed statement inside a batch: PostgreSQL has aborted the whole
 * transaction, so end it and say so. */
static void batch_lost(csi_pg *p, cs_err *err)
{
    PGTransactionStatusType ts = PQtransactionStatus(p->conn);

    if (!p->in_batch || ts == PQTRANS_INTRANS)
        return;
    if (ts == PQTRANS_INERROR)
        (void)exec_sql(p, "ROLLBACK", "rolling back", NULL);
    p->in_batch = 0;
    if (err) {
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, " (the whole batch was rolled back)");
    }
}

static int64_t int_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static char *text_dup(const PGresult *res, int row, int col, int *bad)
{
    char *copy;

    if (PQgetisnull(res, row, col))
        return NULL;
    copy = strdup(PQgetvalue(res, row, col));
    if (!copy)
        *bad = 1;
    return copy;
}

/* ---- opening ---- */

cs_code csi_pg_set_node(csi_pg *p, const char *node, cs_err *err)
{
    unsigned char md[32];
    char *copy;

    if (!p || !node || !*node || strlen(node) > 200)
        return cs_err_set(err, CS_EINVAL, "node id: must be 1 to 200 characters");
    copy = strdup(node);
    if (!copy)
        return cs_err_set(err, CS_ENOMEM, "node id: out of memory");
    if (EVP_Digest(node, strlen(node), md, NULL, p->sha256, NULL) != 1) {
        free(copy);
        return cs_err_ossl(err, CS_ECRYPTO, "node id: hashing");
    }
    free(p->node);
    p->node = copy;
    memcpy(p->prefix, md, PREFIX_BYTES);
    p->prefix[0] = (unsigned char)((p->prefix[0] & 0x3f) | 0x40); /* positive, non-zero */
    return CS_OK;
}

/* Tables, under an advisory lock; a newer schema than ours is CS_EDB. */
static cs_code set_up(csi_pg *p, cs_err *err)
{
    PGresult *res = NULL;
    cs_code rc;
    int version = 0;

    rc = exec_sql(p, "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")",
                  "creating the schema", err);
    if (rc != CS_OK)
        goto done;
    rc = exec_sql(p, schema_sql, "creating the schema", err);
    if (rc != CS_OK)
        goto done;
    res = PQexec(p->conn, "SELECT max(version) FROM chainsmith_schema");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, "reading the schema version", err);
        goto done;
    }
    version = (int)int_value(res, 0, 0);
    if (version > PG_SCHEMA_VERSION) {
        rc = cs_err_set(err, CS_EDB, "%s: database schema version %d is newer than this "
                        "build (%d)", p->name, version, PG_SCHEMA_VERSION);
        goto done;
    }
    if (version == 0)
        rc = exec_sql(p, "INSERT INTO chainsmith_schema VALUES (1)", "creating the schema",
                      err);
    if (rc == CS_OK)
        rc = exec_sql(p, "COMMIT", "creating the schema", err);
done:
    PQclear(res);
    if (rc != CS_OK && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        (void)exec_sql(p, "ROLLBACK", "rolling back", NULL);
    return rc;
}

cs_code csi_pg_open(const char *url, csi_pg **out, cs_err *err)
{
    csi_pg *p = calloc(1, sizeof *p);
    char host[256];
    cs_code rc = cs_lazy_load(&cs_lazy_pq, err); /* opened here, not at load time (core/lazy.h) */

    if (rc != CS_OK)
        goto done;
    if (!p || !(p->url = strdup(url)) || !(p->name = display_name(url))) {
        rc = cs_err_set(err, CS_ENOMEM, "opening the database: out of memory");
        goto done;
    }
    p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!p->sha256) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: no SHA-256", p->name);
        goto done;
    }
    /* The default node id: the host name (stable across restarts, so its
     * journal marks stay its own); cs_store_set_node names another. */
    if (gethostname(host, sizeof host) != 0 || !*host)
        snprintf(host, sizeof host, "node");
    host[sizeof host - 1] = '\0';
    rc = csi_pg_set_node(p, host, err);
    if (rc != CS_OK)
        goto done;
    p->conn = PQconnectdb(url);
    if (!p->conn) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", p->name);
        goto done;
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        rc = pg_fail(p, NULL, "connecting", err);
        goto done;
    }
    rc = exec_sql(p, "SET client_min_messages = warning", "configuring", err);
    if (rc == CS_OK)
        rc = set_up(p, err);
    if (rc == CS_OK)
        rc = prepare_all(p, err);
    if (rc != CS_OK)
        goto done;
    *out = p;
    p = NULL;
done:
    csi_pg_close(p);
    return rc;
}

void csi_pg_close(csi_pg *p)
{
    if (!p)
        return;
    if (p->conn) {
        csi_pg_rollback(p);
        PQfinish(p->conn);
    }
    EVP_MD_free(p->sha256);
    free(p->node);
    free(p->name);
    free(p->url);
    free(p);
}

/* ---- serials, rows ---- */

/* A new serial: this node's prefix, then 128 random bits. */
static cs_code draw_serial(csi_pg *p, unsigned char serial[SERIAL_BYTES], cs_err *err)
{
    memcpy(serial, p->prefix, PREFIX_BYTES);
    if (RAND_bytes(serial + PREFIX_BYTES, RANDOM_BYTES) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: drawing a serial", p->name);
    return CS_OK;
}

/* What a row holds of a certificate, as text parameters. */
typedef struct row {
    char serial[CSI_SERIAL_HEX_MAX + 3];
    char *issuer, *subject, *sans, *pem;
    char fp[65];
    char not_before[24], not_after[24];
} row;

static void row_free(row *r)
{
    free(r->issuer);
    free(r->subject);
    free(r->sans);
    free(r->pem);
}

static int x509_pem(BIO *bio, const void *x)
{
    return PEM_write_bio_X509(bio, (X509 *)x);
}

static cs_code row_of(csi_pg *p, const X509 *x, row *r, cs_err *err)
{
    const ASN1_INTEGER *ai = X509_get0_serialNumber(x);
    unsigned char *der = NULL;
    unsigned char md[32];
    cs_name *names = NULL;
    size_t n_names = 0, pem_len = 0;
    int64_t nb = 0, na = 0;
    int der_len, n = ASN1_STRING_length(ai);
    cs_code rc;

    memset(r, 0, sizeof *r);
    if (ASN1_STRING_type(ai) != V_ASN1_INTEGER || n <= 0 || n > CSI_SERIAL_HEX_MAX / 2 ||
        !csi_asn1_time_unix(X509_get0_notBefore(x), &nb) ||
        !csi_asn1_time_unix(X509_get0_notAfter(x), &na))
        return cs_err_set(err, CS_EINVAL, "%s: recording a certificate: bad serial or validity",
                          p->name);
    csi_hex_bytes(ASN1_STRING_get0_data(ai), (size_t)n, r->serial);
    snprintf(r->not_before, sizeof r->not_before, "%" PRId64, nb);
    snprintf(r->not_after, sizeof r->not_after, "%" PRId64, na);
    rc = csi_cert_san_names(x, &names, &n_names);
    if (rc != CS_OK)
        return cs_err_set(err, rc, "%s: recording a certificate: subjectAltName", p->name);
    der_len = i2d_X509(x, &der);
    if (der_len <= 0 || EVP_Digest(der, (size_t)der_len, md, NULL, p->sha256, NULL) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: recording a certificate: encoding", p->name);
        goto done;
    }
    csi_hex_lower(md, sizeof md, r->fp);
    r->subject = csi_name_oneline(X509_get_subject_name(x));
    r->issuer = csi_name_oneline(X509_get_issuer_name(x));
    r->sans = csi_sans_text(names, n_names);
    if (!r->subject || !r->issuer || !r->sans) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: recording a certificate: out of memory", p->name);
        goto done;
    }
    rc = csi_pem_encode(x509_pem, x, p->name, "recording a certificate", &r->pem, &pem_len,
                        err);
done:
    if (rc != CS_OK) {
        row_free(r);
        memset(r, 0, sizeof *r);
    }
    csi_names_free(names, n_names);
    OPENSSL_free(der);
    return rc;
}

/* ---- issuing ---- */

/* Reserve a serial for issuer_line: commit a 'pending' row. *id its row. */
static cs_code reserve(csi_pg *p, const char *issuer_line, unsigned char serial[SERIAL_BYTES],
                       char *id, size_t id_size, cs_err *err)
{
    char hex[2 * SERIAL_BYTES + 3], now[24];
    const char *v[4];
    cs_code rc = CS_OK;
    int tries;

    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    for (tries = 0; tries < SERIAL_TRIES; tries++) {
        PGresult *res;
        rc = draw_serial(p, serial, err);
        if (rc != CS_OK)
            return rc;
        csi_hex_bytes(serial, SERIAL_BYTES, hex);
        v[0] = issuer_line;
        v[1] = hex;
        v[2] = p->node;
        v[3] = now;
        res = run(p, P_RESERVE, 4, v, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            snprintf(id, id_size, "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
            return CS_OK;
        }
        if (!sqlstate_is(res, "23505")) { /* unique_violation: draw again */
            rc = pg_fail(p, res, "reserving a serial", err);
            PQclear(res);
            return rc;
        }
        PQclear(res);
    }
    return cs_err_set(err, CS_EEXIST, "%s: no free serial after %d tries", p->name,
                      SERIAL_TRIES);
}

/* Insert a signed certificate's whole row (in a batch, or self-signed);
 * *dup when (issuer, serial) is taken. */
static cs_code insert_whole(csi_pg *p, const cs_cert *cert, const char *profile, int *dup,
                            cs_err *err)
{
    char now[24];
    const char *v[11];
    PGresult *res;
    row r;
    cs_code rc;

    *dup = 0;
    rc = row_of(p, cert->x509, &r, err);
    if (rc != CS_OK)
        return rc;
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    v[0] = r.issuer;
    v[1] = r.serial;
    v[2] = p->node;
    v[3] = r.subject;
    v[4] = r.sans;
    v[5] = r.not_before;
    v[6] = r.not_after;
    v[7] = profile;
    v[8] = r.fp;
    v[9] = now;
    v[10] = r.pem;
    res = run(p, P_INSERT, 11, v, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail(p, res, "recording a certificate", err);
    else if (PQntuples(res) == 0)
        *dup = 1;
    PQclear(res);
    row_free(&r);
    return rc;
}

/* Fill the pending row id with the signed certificate: the second commit. */
static cs_code fill(csi_pg *p, const char *id, const cs_cert *cert, const char *profile,
                    cs_err *err)
{
    char now[24];
    const char *v[9];
    PGresult *res;
    row r;
    cs_code rc;

    rc = row_of(p, cert->x509, &r, err);
    if (rc != CS_OK)
        return rc;
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    v[0] = id;
    v[1] = r.subject;
    v[2] = r.sans;
    v[3] = r.not_before;
    v[4] = r.not_after;
    v[5] = profile;
    v[6] = r.fp;
    v[7] = r.pem;
    v[8] = now;
    res = run(p, P_FILL, 9, v, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail(p, res, "recording a certificate", err);
    else if (strcmp(PQcmdTuples(res), "1") != 0)
        rc = cs_err_set(err, CS_EDB, "%s: serial %s: its reservation is gone", p->name,
                        r.serial);
    PQclear(res);
    row_free(&r);
    return rc;
}

cs_code csi_pg_issue_with(csi_pg *p, const char *issuer_line, csi_pg_sign_fn sign,
                          const void *arg, const char *profile, cs_cert **out, cs_err *err)
{
    unsigned char serial[SERIAL_BYTES];
    char id[24];
    cs_cert *cert = NULL;
    cs_code rc = CS_OK;
    int tries, dup = 0;

    if (issuer_line && !p->in_batch) {
        /* Reserve (commit 1), sign with no transaction open, record
         * (commit 2). */
        rc = reserve(p, issuer_line, serial, id, sizeof id, err);
        if (rc != CS_OK)
            goto done;
        rc = sign(arg, serial, sizeof serial, &cert, err);
        if (rc != CS_OK) {
            /* Refused (lint, a bad spec): no certificate carries the serial,
             * so its reservation can go (if this fails too, it stays burnt). */
            const char *v[1] = {id};
            PQclear(run(p, P_UNRESERVE, 1, v, 0));
            goto done;
        }
        rc = fill(p, id, cert, profile, err);
        goto done;
    }
    /* In a batch, or self-signed (the issuer line is known only once
     * signed): sign, then insert the whole row; a taken serial draws again. */
    for (tries = 0; tries < SERIAL_TRIES && !cert; tries++) {
        rc = draw_serial(p, serial, err);
        if (rc == CS_OK)
            rc = sign(arg, serial, sizeof serial, &cert, err);
        if (rc == CS_OK)
            rc = insert_whole(p, cert, profile, &dup, err);
        if (rc != CS_OK) {
            batch_lost(p, err);
            goto done;
        }
        if (dup) {
            cs_cert_free(cert);
            cert = NULL;
        }
    }
    if (!cert)
        rc = cs_err_set(err, CS_EEXIST, "%s: no free serial after %d tries", p->name,
                        SERIAL_TRIES);
done:
    if (rc == CS_OK) {
        *out = cert;
        cert = NULL;
    }
    cs_cert_free(cert);
    return rc;
}

/* cs_store_issue's way: a spec, its keys and issuer. */
typedef struct spec_signer {
    const cs_cert_spec *spec;
    const cs_key *subject_key, *issuer_key;
    const cs_cert *issuer;
} spec_signer;

static cs_code sign_spec(const void *arg, const unsigned char *serial, size_t len,
                         cs_cert **out, cs_err *err)
{
    const spec_signer *sg = arg;
    cs_cert_spec local = *sg->spec;

    local.serial = serial;
    local.serial_len = len;
    return cs_cert_sign(&local, sg->subject_key, sg->issuer, sg->issuer_key, out, err);
}

cs_code csi_pg_issue(csi_pg *p, const cs_cert_spec *spec, const cs_key *subject_key,
                     const cs_cert *issuer, const cs_key *issuer_key, const char *profile,
                     cs_cert **out, cs_err *err)
{
    spec_signer sg = {spec, subject_key, issuer_key, issuer};
    char *issuer_line = NULL;
    cs_code rc;

    if (issuer) {
        issuer_line = csi_name_oneline(X509_get_subject_name(issuer->x509));
        if (!issuer_line)
            return cs_err_set(err, CS_ENOMEM, "%s: out of memory", p->name);
    }
    rc = csi_pg_issue_with(p, issuer_line, sign_spec, &sg, profile, out, err);
    free(issuer_line);
    return rc;
}

/* ---- batches ---- */

cs_code csi_pg_begin(csi_pg *p, cs_err *err)
{
    cs_code rc;

    if (p->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: a batch is already open", p->name);
    if (PQstatus(p->conn) == CONNECTION_BAD && !reconnect(p))
        return pg_fail(p, NULL, "starting a batch", err);
    rc = exec_sql(p, "BEGIN", "starting a batch", err);
    if (rc == CS_OK)
        p->in_batch = 1;
    return rc;
}

cs_code csi_pg_commit(csi_pg *p, cs_err *err)
{
    PGresult *res;
    cs_code rc = CS_OK;

    if (!p->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: no batch is open", p->name);
    res = PQexec(p->conn, "COMMIT");
    /* COMMIT of an aborted transaction answers ROLLBACK, not an error. */
    if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        rc = pg_fail(p, res, "committing the batch", err);
        if (err && PQresultStatus(res) == PGRES_COMMAND_OK)
            snprintf(err->msg, sizeof err->msg, "%s: committing the batch: it had failed",
                     p->name);
        if (PQtransactionStatus(p->conn) != PQTRANS_IDLE)
            (void)exec_sql(p, "ROLLBACK", "rolling back", NULL);
        if (err) {
            size_t used = strlen(err->msg);
            snprintf(err->msg + used, sizeof err->msg - used, " (the batch was rolled back)");
        }
    }
    PQclear(res);
    p->in_batch = 0;
    return rc;
}

void csi_pg_rollback(csi_pg *p)
{
    if (!p || !p->in_batch)
        return;
    if (PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        (void)exec_sql(p, "ROLLBACK", "rolling back the batch", NULL);
    p->in_batch = 0;
}

/* ---- reading ---- */

cs_code csi_pg_find(csi_pg *p, const char *serial_hex, const char *issuer, cs_cert **out,
                    char **profile, cs_err *err)
{
    char serial[CSI_SERIAL_HEX_MAX + 1], what[128];
    const char *v[2];
    PGresult *res;
    cs_cert *cert = NULL;
    char *prof = NULL;
    cs_code rc = CS_OK;

    if (csi_canon_serial(serial_hex, serial) != 0)
        return cs_err_set(err, CS_EINVAL, "serial %.64s: not a hexadecimal serial of at most "
                          "20 bytes", serial_hex);
    v[0] = serial;
    v[1] = issuer;
    res = run(p, issuer ? P_FIND_ISSUER : P_FIND, issuer ? 2 : 1, v, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, "looking up a serial", err);
        batch_lost(p, err);
        goto done;
    }
    if (PQntuples(res) == 0) {
        if (issuer)
            rc = cs_err_set(err, CS_ENOENT, "serial %s from issuer %.200s: not in the database",
                            serial_hex, issuer);
        else
            rc = cs_err_set(err, CS_ENOENT, "serial %s: not in the database", serial_hex);
        goto done;
    }
    if (PQntuples(res) > 1) {
        rc = cs_err_set(err, CS_EINVAL, "serial %s: issued by more than one issuer "
                        "(name the issuer)", serial_hex);
        goto done;
    }
    snprintf(what, sizeof what, "%s: serial %s", p->name, serial);
    rc = cs_cert_load(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), what, &cert, err);
    if (rc != CS_OK)
        goto done;
    if (profile && !PQgetisnull(res, 0, 1)) {
        prof = strdup(PQgetvalue(res, 0, 1));
        if (!prof) {
            rc = cs_err_set(err, CS_ENOMEM, "serial %s: out of memory", serial);
            goto done;
        }
    }
    *out = cert;
    cert = NULL;
    if (profile) {
        *profile = prof;
        prof = NULL;
    }
done:
    PQclear(res);
    free(prof);
    cs_cert_free(cert);
    return rc;
}

cs_code csi_pg_count(csi_pg *p, int64_t *out, cs_err *err)
{
    PGresult *res = run(p, P_COUNT, 0, NULL, 1);
    cs_code rc = CS_OK;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        *out = int_value(res, 0, 0);
    } else {
        rc = pg_fail(p, res, "counting certificates", err);
        batch_lost(p, err);
    }
    PQclear(res);
    return rc;
}

/* The row of (issuer, serial), issuer NULL for any: *id "" if none. */
static cs_code lookup(csi_pg *p, const char *serial, const char *issuer, char id[24],
                      cs_revocation *rev, cs_err *err)
{
    const char *v[2] = {serial, issuer};
    PGresult *res = run(p, issuer ? P_STATUS : P_STATUS_ANY, issuer ? 2 : 1, v, 1);
    cs_code rc = CS_OK;

    id[0] = '\0';
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, "looking up a serial", err);
        batch_lost(p, err);
    } else if (PQntuples(res) > 1) {
        rc = cs_err_set(err, CS_EINVAL, "serial %s: issued by more than one issuer "
                        "(name the issuer)", serial);
    } else if (PQntuples(res) == 1) {
        snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
        rev->not_after = int_value(res, 0, 3);
        if (PQgetisnull(res, 0, 1)) {
            rev->status = CS_STATUS_GOOD;
            rev->revoked_at = 0;
            rev->reason = -1;
        } else {
            rev->status = CS_STATUS_REVOKED;
            rev->revoked_at = int_value(res, 0, 1);
            rev->reason = (int)int_value(res, 0, 2);
        }
    }
    PQclear(res);
    return rc;
}

cs_code csi_pg_status(csi_pg *p, const char *issuer, const char *serial_hex,
                      cs_revocation *out, cs_err *err)
{
    char serial[CSI_SERIAL_HEX_MAX + 1], id[24];
    cs_revocation rev = {CS_STATUS_UNKNOWN, 0, -1, 0};
    cs_code rc;

    if (csi_canon_serial(serial_hex, serial) != 0)
        return cs_err_set(err, CS_EINVAL, "serial %.64s: not a hexadecimal serial of at most "
                          "20 bytes", serial_hex);
    rc = lookup(p, serial, issuer, id, &rev, err);
    if (rc != CS_OK)
        return rc;
    *out = rev;
    return CS_OK;
}

/* A revocation time for messages: "2026-11-27T05:40:00Z". */
static void utc_text(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

/* Argument checks are store.c's (cs_store_revoke), done before it hands
 * the call here. */
cs_code csi_pg_revoke(csi_pg *p, const char *serial_hex, const char *issuer, int reason,
                      int64_t at, cs_err *err)
{
    char serial[CSI_SERIAL_HEX_MAX + 1], id[24], at_text[24], reason_text[16], when[32];
    cs_revocation rev = {CS_STATUS_UNKNOWN, 0, -1, 0};
    const char *v[3];
    PGresult *res;
    cs_code rc;
    int changed;

    if (csi_canon_serial(serial_hex, serial) != 0)
        return cs_err_set(err, CS_EINVAL, "serial %.64s: not a hexadecimal serial of at most "
                          "20 bytes", serial_hex);
    rc = lookup(p, serial, issuer, id, &rev, err);
    if (rc != CS_OK)
        return rc;
    if (!id[0]) {
        if (issuer)
            return cs_err_set(err, CS_ENOENT, "serial %s from issuer %.200s: not in the "
                              "database", serial_hex, issuer);
        return cs_err_set(err, CS_ENOENT, "serial %s: not in the database", serial_hex);
    }
    if (rev.status == CS_STATUS_GOOD) {
        snprintf(at_text, sizeof at_text, "%lld", (long long)at);
        snprintf(reason_text, sizeof reason_text, "%d", reason);
        v[0] = id;
        v[1] = at_text;
        v[2] = reason_text;
        res = run(p, P_REVOKE, 3, v, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = pg_fail(p, res, "recording a revocation", err);
            PQclear(res);
            batch_lost(p, err);
            return rc;
        }
        changed = strcmp(PQcmdTuples(res), "1") == 0;
        PQclear(res);
        if (changed)
            return CS_OK;
        /* Another node revoked it between our read and our update: its
         * revocation stands; read it for the message. */
        rc = lookup(p, serial, issuer, id, &rev, err);
        if (rc != CS_OK)
            return rc;
    }
    utc_text(rev.revoked_at, when);
    return cs_err_set(err, CS_EEXIST, "serial %s: already revoked at %s (reason %s)", serial,
                      when, cs_crl_reason_name(rev.reason) ? cs_crl_reason_name(rev.reason)
                                                           : "unknown");
}

cs_code csi_pg_revoked(csi_pg *p, const char *issuer, cs_revoked **out, size_t *n,
                       cs_err *err)
{
    const char *v[1] = {issuer};
    PGresult *res = run(p, P_REVOKED, 1, v, 1);
    cs_revoked *list = NULL;
    cs_code rc = CS_OK;
    int rows, i;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, "listing revocations", err);
        batch_lost(p, err);
        goto done;
    }
    rows = PQntuples(res);
    if (rows > 0) {
        list = calloc((size_t)rows, sizeof *list);
        if (!list) {
            rc = cs_err_set(err, CS_ENOMEM, "%s: listing revocations: out of memory", p->name);
            goto done;
        }
    }
    for (i = 0; i < rows; i++) {
        snprintf(list[i].serial_hex, sizeof list[i].serial_hex, "%s", PQgetvalue(res, i, 0));
        list[i].revoked_at = int_value(res, i, 1);
        list[i].reason = (int)int_value(res, i, 2);
        list[i].not_after = int_value(res, i, 3);
    }
    *out = list;
    *n = (size_t)rows;
    list = NULL;
done:
    PQclear(res);
    free(list);
    return rc;
}

cs_code csi_pg_list(csi_pg *p, const cs_store_filter *filter, cs_record **out, size_t *n,
                    cs_err *err)
{
    char status[16], now[24];
    const char *v[5];
    PGresult *res;
    cs_record *list = NULL;
    size_t len = 0;
    cs_code rc = CS_OK;
    int rows, i;

    snprintf(status, sizeof status, "%d", (int)filter->status);
    snprintf(now, sizeof now, "%lld", (long long)filter->now);
    v[0] = filter->issuer;
    v[1] = filter->profile;
    v[2] = filter->name;
    v[3] = status;
    v[4] = now;
    res = run(p, P_LIST, 5, v, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, "listing certificates", err);
        batch_lost(p, err);
        goto done;
    }
    rows = PQntuples(res);
    if (rows > 0 && !(list = calloc((size_t)rows, sizeof *list))) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: listing certificates: out of memory", p->name);
        goto done;
    }
    for (i = 0; i < rows; i++) {
        cs_record *r = &list[i];
        int bad = 0;
        len++; /* counted first: a half-copied record is freed with the rest */
        snprintf(r->serial_hex, sizeof r->serial_hex, "%s", PQgetvalue(res, i, 0));
        r->issuer = text_dup(res, i, 1, &bad);
        r->subject = text_dup(res, i, 2, &bad);
        r->sans = text_dup(res, i, 3, &bad);
        r->profile = text_dup(res, i, 4, &bad);
        r->fingerprint = text_dup(res, i, 5, &bad);
        r->not_before = int_value(res, i, 6);
        r->not_after = int_value(res, i, 7);
        r->issued_at = int_value(res, i, 8);
        r->revoked_at = int_value(res, i, 9);
        r->reason = PQgetisnull(res, i, 9) ? -1 : (int)int_value(res, i, 10);
        if (bad || !r->issuer || !r->subject || !r->sans || !r->fingerprint) {
            rc = cs_err_set(err, CS_ENOMEM, "%s: listing certificates: out of memory",
                            p->name);
            goto done;
        }
    }
    *out = list;
    *n = len;
    list = NULL;
    len = 0;
done:
    PQclear(res);
    cs_store_records_free(list, len);
    return rc;
}

/* ---- CRL numbers, journal marks ---- */

cs_code csi_pg_next_crl_number(csi_pg *p, const char *issuer, int64_t *out, cs_err *err)
{
    const char *v[1] = {issuer};
    PGresult *res = run(p, P_CRL_BUMP, 1, v, 0);
    cs_code rc = CS_OK;

    /* Outside a batch the statement is its own transaction: committed when
     * it returns, so no two nodes ever get the same number. */
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        *out = int_value(res, 0, 0);
    } else {
        rc = pg_fail(p, res, "drawing a CRL number", err);
        batch_lost(p, err);
    }
    PQclear(res);
    return rc;
}

cs_code csi_pg_mark_add(csi_pg *p, const char *id, const char *path, cs_err *err)
{
    const char *v[3] = {id, path, p->node};
    PGresult *res;
    cs_code rc = CS_OK;

    if (!p->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: a journal mark needs an open batch", p->name);
    res = run(p, P_MARK_ADD, 3, v, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(p, res, "recording a journal mark", err);
        batch_lost(p, err);
    }
    PQclear(res);
    return rc;
}

cs_code csi_pg_mark_find(csi_pg *p, const char *id, int *found, cs_err *err)
{
    const char *v[1] = {id};
    PGresult *res = run(p, P_MARK_FIND, 1, v, 1);
    cs_code rc = CS_OK;

    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        *found = PQntuples(res) > 0;
    } else {
        rc = pg_fail(p, res, "looking up a journal mark", err);
        batch_lost(p, err);
    }
    PQclear(res);
    return rc;
}

cs_code csi_pg_mark_prune(csi_pg *p, cs_err *err)
{
    const char *v[1] = {p->node};
    PGresult *res;
    cs_code rc = CS_OK;
    struct stat st;
    int i;

    if (!p->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: pruning journal marks needs an open batch",
                          p->name);
    res = run(p, P_MARK_LIST, 1, v, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, "listing journal marks", err);
        batch_lost(p, err);
        PQclear(res);
        return rc;
    }
    for (i = 0; i < PQntuples(res) && rc == CS_OK; i++) {
        const char *path = PQgetvalue(res, i, 1);
        PGresult *del;
        if (lstat(path, &st) == 0 || errno != ENOENT)
            continue; /* still there (or unknown): keep it */
        v[0] = PQgetvalue(res, i, 0);
        del = run(p, P_MARK_DEL, 1, v, 0);
        if (PQresultStatus(del) != PGRES_COMMAND_OK) {
            rc = pg_fail(p, del, "removing a journal mark", err);
            batch_lost(p, err);
        }
        PQclear(del);
    }
    PQclear(res);
    return rc;
}

/* ---- migration ---- */

cs_code csi_pg_import_cert(csi_pg *p, const char *pem, size_t pem_len, const char *profile,
                           int64_t issued_at, int64_t revoked_at, int reason, cs_err *err)
{
    char issued[24], revoked[24], reason_text[16];
    const char *v[14];
    cs_cert *cert = NULL;
    PGresult *res;
    row r;
    cs_code rc;

    if (!p->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: an import needs an open batch", p->name);
    rc = cs_cert_load(pem, pem_len, "imported certificate", &cert, err);
    if (rc != CS_OK)
        return rc;
    rc = row_of(p, cert->x509, &r, err);
    cs_cert_free(cert);
    if (rc != CS_OK)
        return rc;
    snprintf(issued, sizeof issued, "%lld", (long long)issued_at);
    snprintf(revoked, sizeof revoked, "%lld", (long long)revoked_at);
    snprintf(reason_text, sizeof reason_text, "%d", reason < 0 ? 0 : reason);
    v[0] = r.issuer;
    v[1] = r.serial;
    v[2] = p->node;
    v[3] = r.subject;
    v[4] = r.sans;
    v[5] = r.not_before;
    v[6] = r.not_after;
    v[7] = profile;
    v[8] = r.fp;
    v[9] = issued;
    v[10] = r.pem;
    v[11] = revoked_at > 0 ? "revoked" : "good";
    v[12] = revoked_at > 0 ? revoked : NULL;
    v[13] = revoked_at > 0 ? reason_text : NULL;
    res = run(p, P_IMPORT, 14, v, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(p, res, "importing a certificate", err);
        batch_lost(p, err);
    }
    PQclear(res);
    row_free(&r);
    return rc;
}

cs_code csi_pg_import_crl_number(csi_pg *p, const char *issuer, int64_t last, cs_err *err)
{
    char text[24];
    const char *v[2] = {issuer, text};
    PGresult *res;
    cs_code rc = CS_OK;

    if (!p->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: an import needs an open batch", p->name);
    snprintf(text, sizeof text, "%lld", (long long)last);
    res = run(p, P_IMPORT_CRL, 2, v, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(p, res, "importing a CRL number", err);
        batch_lost(p, err);
    }
    PQclear(res);
    return rc;
}
