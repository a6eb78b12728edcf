/* The CA database: one SQLite file, one row per certificate issued.
 *
 * Durability: the file is in WAL mode with synchronous=FULL, so every
 * cs_store_issue outside a batch is on disk when it returns (one fsync per
 * certificate); cs_store_begin/commit group many issues into one transaction
 * and one fsync. Inside a batch each issue runs in its own SAVEPOINT, so a
 * failed issue undoes only itself.
 *
 * Serials: 16 random bytes, top bit cleared, non-zero (at most 127 bits, so
 * the DER INTEGER is at most 16 octets: RFC 5280 4.1.2.2 allows 20). Their
 * uniqueness per issuer is the UNIQUE (issuer, serial) constraint; a collision
 * draws a new serial.
 *
 * Serials are stored as OpenSSL prints them (BN_bn2hex): upper-case hex, whole
 * bytes, no leading zero byte. cs_store_find accepts any case and any leading
 * zeros and normalises to that form.
 *
 * Contention: writers queue on SQLite's write lock (BEGIN IMMEDIATE); a
 * writer waits up to BUSY_WAIT_MS (60 s) in short randomized sleeps (see
 * busy_wait) before it fails with CS_EDB "database is locked", which
 * leaves nothing behind.
 *
 * A cs_store is used by one thread at a time (its prepared statements and its
 * batch flag are not shared state). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "internal.h"
#include "store_text.h"
#include "store_pg.h"

#define SCHEMA_VERSION 4
#define SERIAL_BYTES 16
#define SERIAL_TRIES 8

/* The ACME tables (schema 4; core/acme_db.c reads and writes them, RFC
 * 8555 7.1 names the objects). Ids are random base64url. JSON columns hold
 * what the protocol hands back as is (contact, identifiers, problem
 * documents), written by jansson. Nonces are not here: they live in memory
 * (acme_nonce.c says why); the signing API's one-time token ids are. */
#define ACME_SQL                                                                            \
    "CREATE TABLE IF NOT EXISTS acme_accounts ("                                            \
    " id TEXT PRIMARY KEY,"                                                                 \
    " jwk TEXT NOT NULL,"          /* canonical JWK (RFC 7638 member order) */               \
    " thumbprint TEXT NOT NULL UNIQUE," /* one account per key */                           \
    " status TEXT NOT NULL,"       /* valid, deactivated, revoked */                         \
    " contact TEXT NOT NULL,"      /* JSON array of URLs */                                  \
    " eab_kid TEXT,"               /* the External Account Binding key id, or NULL */        \
    " created INTEGER NOT NULL);"                                                           \
    "CREATE TABLE IF NOT EXISTS acme_orders ("                                              \
    " id TEXT PRIMARY KEY,"                                                                 \
    " account TEXT NOT NULL REFERENCES acme_accounts (id),"                                 \
    " status TEXT NOT NULL,"       /* pending, ready, processing, valid, invalid */          \
    " identifiers TEXT NOT NULL,"  /* JSON array of {type, value} */                         \
    " expires INTEGER NOT NULL,"                                                            \
    " profile TEXT,"               /* what policy chose for it */                           \
    " error TEXT,"                 /* JSON problem document, or NULL */                     \
    " csr BLOB,"                   /* DER, from finalize on */                              \
    " cert_serial TEXT,"           /* upper-case hex, once valid */                         \
    " cert_chain TEXT,"            /* PEM served on download */                             \
    " not_before INTEGER,"                                                                  \
    " not_after INTEGER,"                                                                   \
    " created INTEGER NOT NULL);"                                                           \
    "CREATE INDEX IF NOT EXISTS acme_orders_account ON acme_orders (account);"               \
    "CREATE INDEX IF NOT EXISTS acme_orders_serial ON acme_orders (cert_serial)"            \
    " WHERE cert_serial IS NOT NULL;"                                                       \
    "CREATE TABLE IF NOT EXISTS acme_authorizations ("                                      \
    " id TEXT PRIMARY KEY,"                                                                 \
    " order_id TEXT NOT NULL REFERENCES acme_orders (id),"                                  \
    " type TEXT NOT NULL,"         /* dns */                                                \
    " value TEXT NOT NULL,"        /* without "*." */                                       \
    " wildcard INTEGER NOT NULL,"                                                           \
    " status TEXT NOT NULL,"       /* pending, valid, invalid, deactivated, expired */       \
    " expires INTEGER NOT NULL);"                                                           \
    "CREATE INDEX IF NOT EXISTS acme_authorizations_order ON acme_authorizations (order_id);" \
    "CREATE TABLE IF NOT EXISTS acme_challenges ("                                          \
    " id TEXT PRIMARY KEY,"                                                                 \
    " authz TEXT NOT NULL REFERENCES acme_authorizations (id),"                             \
    " type TEXT NOT NULL,"         /* http-01, dns-01, tls-alpn-01 */                       \
    " token TEXT NOT NULL UNIQUE,"                                                          \
    " status TEXT NOT NULL,"       /* pending, processing, valid, invalid */                 \
    " validated INTEGER,"          /* Unix seconds, once valid */                            \
    " error TEXT);"                /* JSON problem document, or NULL */                     \
    "CREATE INDEX IF NOT EXISTS acme_challenges_authz ON acme_challenges (authz);"           \
    "CREATE TABLE IF NOT EXISTS acme_used_tokens ("                                         \
    " jti TEXT PRIMARY KEY,"       /* a signing API token id, usable once */                \
    " expires INTEGER NOT NULL);"  /* when the row may go: the token's exp */               \
    "CREATE INDEX IF NOT EXISTS acme_used_tokens_expires ON acme_used_tokens (expires);"

/* Schema 4, made from nothing. Revocation lives on the certificate's row
 * (revoked_at NULL: not revoked); the CRL numbers in their own table, one
 * row per issuer, so that a number is never handed out twice; the journal
 * marks (journal.h: the commit that makes a journal's files due, for files
 * that go with no new certificate) in theirs. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS certificates ("
    " id INTEGER PRIMARY KEY,"
    " issuer TEXT NOT NULL,"      /* the issuer's one-line subject */
    " serial TEXT NOT NULL,"      /* upper-case hex, whole bytes */
    " subject TEXT NOT NULL,"
    " sans TEXT NOT NULL,"        /* "DNS:localhost, IP:127.0.0.1" */
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " profile TEXT,"
    " fingerprint TEXT NOT NULL," /* SHA-256 of the DER, lower-case hex */
    " pem TEXT NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " revoked_at INTEGER,"        /* Unix seconds; NULL while good */
    " reason INTEGER,"            /* RFC 5280 5.3.1 CRLReason; NULL while good */
    " UNIQUE (issuer, serial));"
    "CREATE INDEX IF NOT EXISTS certificates_fingerprint ON certificates (fingerprint);"
    "CREATE INDEX IF NOT EXISTS certificates_serial ON certificates (serial);"
    "CREATE INDEX IF NOT EXISTS certificates_revoked ON certificates (issuer, revoked_at)"
    " WHERE revoked_at IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS crl_numbers ("
    " issuer TEXT PRIMARY KEY,"   /* the issuer's one-line subject */
    " last INTEGER NOT NULL);"    /* the last CRL number handed out */
    "CREATE TABLE IF NOT EXISTS journal_marks ("
    " id TEXT PRIMARY KEY,"       /* the journal's name */
    " path TEXT NOT NULL);"       /* its absolute path: gone once placed */
    ACME_SQL
    "PRAGMA user_version = 4;";

/* Schema 1 to 2, in place: the rows stay, the new columns start NULL (good). */
static const char migrate_v1_sql[] =
    "ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;"
    "ALTER TABLE certificates ADD COLUMN reason INTEGER;"
    "CREATE INDEX IF NOT EXISTS certificates_revoked ON certificates (issuer, revoked_at)"
    " WHERE revoked_at IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS crl_numbers ("
    " issuer TEXT PRIMARY KEY,"
    " last INTEGER NOT NULL);"
    "PRAGMA user_version = 2;";

/* Schema 2 to 3: the journal marks. */
static const char migrate_v2_sql[] =
    "CREATE TABLE IF NOT EXISTS journal_marks ("
    " id TEXT PRIMARY KEY,"
    " path TEXT NOT NULL);"
    "PRAGMA user_version = 3;";

/* Schema 3 to 4: the ACME tables, nothing else touched. */
static const char migrate_v3_sql[] = ACME_SQL "PRAGMA user_version = 4;";

/* Every statement, prepared once at open. */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_NEST,
    ST_NEST_RELEASE,
    ST_NEST_ROLLBACK,
    ST_EXISTS,
    ST_INSERT,
    ST_FIND,
    ST_FIND_ISSUER,
    ST_COUNT,
    ST_STATUS,
    ST_STATUS_ANY,
    ST_REVOKE,
    ST_REVOKED,
    ST_CRL_BUMP,
    ST_MARK_ADD,
    ST_MARK_FIND,
    ST_MARK_LIST,
    ST_MARK_DEL,
    ST_LIST,
    ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT cs_issue",
    [ST_RELEASE] = "RELEASE cs_issue",
    [ST_ROLLBACK_TO] = "ROLLBACK TO cs_issue",
    [ST_NEST] = "SAVEPOINT cs_nested",
    [ST_NEST_RELEASE] = "RELEASE cs_nested",
    [ST_NEST_ROLLBACK] = "ROLLBACK TO cs_nested",
    [ST_EXISTS] = "SELECT 1 FROM certificates WHERE issuer = ?1 AND serial = ?2",
    [ST_INSERT] = "INSERT INTO certificates (issuer, serial, subject, sans, not_before,"
                  " not_after, profile, fingerprint, pem, issued_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_FIND] = "SELECT pem, profile FROM certificates WHERE serial = ?1 ORDER BY id LIMIT 2",
    [ST_FIND_ISSUER] = "SELECT pem, profile FROM certificates WHERE serial = ?1 AND issuer = ?2",
    [ST_COUNT] = "SELECT count(*) FROM certificates",
    [ST_STATUS] = "SELECT id, revoked_at, reason, not_after FROM certificates"
                  " WHERE serial = ?1 AND issuer = ?2",
    [ST_STATUS_ANY] = "SELECT id, revoked_at, reason, not_after FROM certificates"
                      " WHERE serial = ?1 ORDER BY id LIMIT 2",
    [ST_REVOKE] = "UPDATE certificates SET revoked_at = ?2, reason = ?3"
                  " WHERE id = ?1 AND revoked_at IS NULL",
    [ST_REVOKED] = "SELECT serial, revoked_at, reason, not_after FROM certificates"
                   " WHERE issuer = ?1 AND revoked_at IS NOT NULL ORDER BY revoked_at, id",
    [ST_CRL_BUMP] = "INSERT INTO crl_numbers (issuer, last) VALUES (?1, 1)"
                    " ON CONFLICT (issuer) DO UPDATE SET last = last + 1 RETURNING last",
    [ST_MARK_ADD] = "INSERT INTO journal_marks (id, path) VALUES (?1, ?2)",
    [ST_MARK_FIND] = "SELECT 1 FROM journal_marks WHERE id = ?1",
    [ST_MARK_LIST] = "SELECT id, path FROM journal_marks",
    [ST_MARK_DEL] = "DELETE FROM journal_marks WHERE id = ?1",
    /* ?4: cs_list_status; ?5: now */
    [ST_LIST] = "SELECT serial, issuer, subject, sans, profile, fingerprint, not_before,"
                " not_after, issued_at, revoked_at, reason FROM certificates"
                " WHERE (?1 IS NULL OR issuer = ?1) AND (?2 IS NULL OR profile = ?2)"
                " AND (?3 IS NULL OR instr(lower(subject || ' ' || sans), lower(?3)) > 0)"
                " AND CASE ?4 WHEN 1 THEN revoked_at IS NULL AND not_after >= ?5"
                " WHEN 2 THEN revoked_at IS NOT NULL"
                " WHEN 3 THEN revoked_at IS NULL AND not_after < ?5 ELSE 1 END"
                " ORDER BY id",
};

struct cs_store {
    sqlite3 *db;
    char *path; /* for messages */
    sqlite3_stmt *st[ST_N];
    EVP_MD *sha256; /* fetched once at open: the fingerprint of each record */
    int in_batch;
    int nested; /* begins inside the batch not yet committed or rolled back */
    csi_pg *pg; /* opened by URL: every call goes to store_pg.c */
    struct timespec busy_since; /* when the current wait for the lock began */
    uint32_t jitter;            /* xorshift state: spreads the waiters' retries */
};

/* How long a writer waits for another's transaction before it fails with
 * "database is locked": long enough that issuers queued behind each other
 * (each holds the lock for a signature, a few fsyncs and a commit: tens of
 * milliseconds) never time out under ordinary contention, short enough
 * that a process stuck holding the lock is reported. */
#define BUSY_WAIT_MS 60000
#define BUSY_SLEEP_MAX_US 8000

/* SQLite's busy handler. Its own (sqlite3_busy_timeout) sleeps up to 100 ms
 * between tries; two processes issuing in loops take the lock back within
 * a millisecond of releasing it, so a waiter polling that slowly can miss
 * every gap and starve past any timeout. Short sleeps (1 to 8 ms, with
 * random jitter so waiters do not retry in step) find the gaps. */
int csi_busy_nap(struct timespec *since, int tries, long limit_ms, long nap_us)
{
    struct timespec now, nap = {0, nap_us * 1000};

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (tries == 0)
        *since = now;
    if ((now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000 >= limit_ms)
        return 0;
    nanosleep(&nap, NULL);
    return 1;
}

static int busy_wait(void *arg, int tries)
{
    cs_store *s = arg;
    long us;

    s->jitter ^= s->jitter << 13;
    s->jitter ^= s->jitter >> 17;
    s->jitter ^= s->jitter << 5;
    us = 1000L << (tries < 3 ? tries : 3);
    us = us / 2 + (long)(s->jitter % (uint32_t)(us / 2 + 1));
    if (us > BUSY_SLEEP_MAX_US)
        us = BUSY_SLEEP_MAX_US;
    return csi_busy_nap(&s->busy_since, tries, BUSY_WAIT_MS, us);
}

/* CS_EDB naming the file, what was being done and SQLite's reason. */
static cs_code db_fail(const cs_store *s, const char *doing, cs_err *err)
{
    return cs_err_set(err, CS_EDB, "%s: %s: %s", s->path, doing, sqlite3_errmsg(s->db));
}

/* Step a statement that returns no row we need, then reset it. */
static cs_code run(cs_store *s, int which, const char *doing, cs_err *err)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    cs_code code = CS_OK;

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        code = db_fail(s, doing, err);
    sqlite3_reset(st);
    return code;
}

/* DER as PEM, the bytes PEM_write_bio_X509 writes (64-column base64 lines);
 * free with free(). From the DER the fingerprint was taken of, so the
 * certificate is encoded once per issue. */
static char *pem_text(const unsigned char *der, int der_len, size_t *len)
{
    static const char head[] = "-----BEGIN CERTIFICATE-----\n";
    static const char tail[] = "-----END CERTIFICATE-----\n";
    EVP_ENCODE_CTX *ectx = EVP_ENCODE_CTX_new();
    size_t cap = sizeof head + sizeof tail + (size_t)der_len / 48 * 65 + 66;
    char *out = ectx ? malloc(cap) : NULL;
    int n = 0, fin = 0;

    if (out) {
        memcpy(out, head, sizeof head - 1);
        EVP_EncodeInit(ectx);
        if (EVP_EncodeUpdate(ectx, (unsigned char *)out + sizeof head - 1, &n, der,
                             der_len) != 1) {
            free(out);
            out = NULL;
        }
    }
    if (out) {
        EVP_EncodeFinal(ectx, (unsigned char *)out + sizeof head - 1 + n, &fin);
        *len = sizeof head - 1 + (size_t)n + (size_t)fin;
        memcpy(out + *len, tail, sizeof tail); /* with its NUL */
        *len += sizeof tail - 1;
    }
    EVP_ENCODE_CTX_free(ectx);
    return out;
}

/* The cert's serial in the stored form. */
static int cert_serial(const cs_cert *cert, char out[CSI_SERIAL_HEX_MAX + 3])
{
    const ASN1_INTEGER *ai = X509_get0_serialNumber(cert->x509);
    int n = ASN1_STRING_length(ai);

    if (ASN1_STRING_type(ai) != V_ASN1_INTEGER || n <= 0 || n > CSI_SERIAL_HEX_MAX / 2)
        return -1;
    csi_hex_bytes(ASN1_STRING_get0_data(ai), (size_t)n, out);
    return 0;
}

/* Insert the row for cert. *dup is set when (issuer, serial) is taken. Reads
 * only what the row holds (not cs_cert_get_info, which parses every extension
 * and hashes the certificate twice): this runs once per certificate issued.
 * issuer_line: the issuer's subject line when the caller has it, else NULL;
 * cert_der: the certificate's DER when the caller has it (a template wrote
 * it), else NULL. */
static cs_code record(cs_store *s, const cs_cert *cert, const unsigned char *cert_der,
                      size_t cert_der_len, const char *issuer_line, const char *profile,
                      int *dup, cs_err *err)
{
    sqlite3_stmt *st = s->st[ST_INSERT];
    X509 *x = cert->x509;
    unsigned char *der = NULL;
    const unsigned char *bytes;
    unsigned char md[32];
    cs_name *names = NULL;
    size_t n_names = 0, pem_len = 0;
    char *subject = NULL, *issuer = NULL, *sans = NULL, *pem = NULL;
    char serial[CSI_SERIAL_HEX_MAX + 3], fp[65];
    int64_t not_before = 0, not_after = 0;
    int der_len, src;
    cs_code rc;

    *dup = 0;
    rc = csi_cert_san_names(x, &names, &n_names);
    if (rc != CS_OK) {
        rc = cs_err_set(err, rc, "%s: recording a certificate: subjectAltName", s->path);
        goto done;
    }
    if (cert_serial(cert, serial) != 0 ||
        !csi_asn1_time_unix(X509_get0_notBefore(x), &not_before) ||
        !csi_asn1_time_unix(X509_get0_notAfter(x), &not_after)) {
        rc = cs_err_set(err, CS_EINVAL, "%s: recording a certificate: bad serial or validity",
                        s->path);
        goto done;
    }
    if (cert_der && cert_der_len <= INT_MAX) {
        bytes = cert_der;
        der_len = (int)cert_der_len;
    } else {
        der_len = i2d_X509(x, &der);
        bytes = der;
    }
    if (der_len <= 0 || EVP_Digest(bytes, (size_t)der_len, md, NULL, s->sha256, NULL) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: recording a certificate: encoding", s->path);
        goto done;
    }
    csi_hex_lower(md, sizeof md, fp);
    subject = csi_name_oneline(X509_get_subject_name(x));
    if (!issuer_line)
        issuer_line = issuer = csi_name_oneline(X509_get_issuer_name(x));
    sans = csi_sans_text(names, n_names);
    pem = pem_text(bytes, der_len, &pem_len);
    if (!subject || !issuer_line || !sans || !pem) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: recording a certificate: out of memory", s->path);
        goto done;
    }

    if (sqlite3_bind_text(st, 1, issuer_line, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, subject, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, sans, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, not_before) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, not_after) != SQLITE_OK ||
        (profile ? sqlite3_bind_text(st, 7, profile, -1, SQLITE_STATIC)
                 : sqlite3_bind_null(st, 7)) != SQLITE_OK ||
        sqlite3_bind_text(st, 8, fp, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 9, pem, (int)pem_len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 10, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
        rc = db_fail(s, "recording a certificate", err);
        goto unbind;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT_UNIQUE)
        *dup = 1;
    else if (src != SQLITE_DONE)
        rc = db_fail(s, "recording a certificate", err);
unbind:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
done:
    free(pem);
    free(sans);
    free(issuer);
    free(subject);
    csi_names_free(names, n_names);
    OPENSSL_free(der);
    return rc;
}

/* Is (issuer, serial) already recorded? 1 yes, 0 no, -1 error (err set). */
static int serial_taken(cs_store *s, const char *issuer, const char *serial, cs_err *err)
{
    sqlite3_stmt *st = s->st[ST_EXISTS];
    int rc, taken = -1;

    if (sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC) == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            taken = 1;
        else if (rc == SQLITE_DONE)
            taken = 0;
    }
    if (taken < 0)
        db_fail(s, "looking up a serial", err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return taken;
}

/* Undo the current issue: its savepoint in a batch, else the transaction. If
 * SQLite already rolled the whole batch back (I/O error, disk full), the batch
 * is over; say so in err. */
static void undo(cs_store *s, cs_err *err)
{
    if (s->in_batch) {
        if (!sqlite3_get_autocommit(s->db)) {
            (void)run(s, ST_ROLLBACK_TO, "rolling back", NULL);
            (void)run(s, ST_RELEASE, "rolling back", NULL);
        }
        if (sqlite3_get_autocommit(s->db)) {
            s->in_batch = 0;
            s->nested = 0;
            if (err) {
                size_t used = strlen(err->msg);
                snprintf(err->msg + used, sizeof err->msg - used,
                         " (the whole batch was rolled back)");
            }
        }
    } else if (!sqlite3_get_autocommit(s->db)) {
        (void)run(s, ST_ROLLBACK, "rolling back", NULL);
    }
}

/* How one issue signs its certificate once the store has drawn its serial:
 * from a spec (cs_store_issue) or a template (cs_store_issue_template). */
typedef struct signer {
    /* *der: the certificate's DER (OPENSSL_free) when the signer wrote it, else NULL */
    cs_code (*sign)(const struct signer *sg, const unsigned char *serial, size_t len,
                    cs_cert **out, unsigned char **der, size_t *der_len, cs_err *err);
    const cs_cert_spec *spec;
    const cs_template_request *req;
    const cs_template *tpl;
    const cs_key *subject_key, *issuer_key;
    const cs_cert *issuer;
} signer;

static cs_code sign_spec(const signer *sg, const unsigned char *serial, size_t len,
                         cs_cert **out, unsigned char **der, size_t *der_len, cs_err *err)
{
    cs_cert_spec local = *sg->spec;

    *der = NULL;
    *der_len = 0;
    local.serial = serial;
    local.serial_len = len;
    return cs_cert_sign(&local, sg->subject_key, sg->issuer, sg->issuer_key, out, err);
}

static cs_code sign_template(const signer *sg, const unsigned char *serial, size_t len,
                             cs_cert **out, unsigned char **der, size_t *der_len, cs_err *err)
{
    cs_template_request req = *sg->req;

    req.serial = serial;
    req.serial_len = len;
    return csi_template_sign_der(sg->tpl, &req, sg->subject_key, out, der, der_len, err);
}

/* sg's sign for the PostgreSQL backend, which records no DER of its own. */
static cs_code sign_for_pg(const void *arg, const unsigned char *serial, size_t len,
                           cs_cert **out, cs_err *err)
{
    const signer *sg = arg;
    unsigned char *der = NULL;
    size_t der_len = 0;
    cs_code rc = sg->sign(sg, serial, len, out, &der, &der_len, err);

    OPENSSL_free(der);
    return rc;
}

/* One issue: in a transaction (a savepoint in a batch), draw a serial free
 * for the issuer, sign, record, commit (release). issuer_line is the
 * issuer's subject line, known before signing when there is an issuer
 * certificate (a taken serial is then skipped without a signature); NULL
 * when self-signed (the UNIQUE index decides). */
static cs_code issue(cs_store *store, const char *issuer_line, const signer *sg,
                     const char *profile, cs_cert **out, cs_err *err)
{
    cs_cert *cert = NULL;
    unsigned char serial[SERIAL_BYTES], *der = NULL;
    char serial_hex[2 * SERIAL_BYTES + 3];
    size_t der_len = 0;
    cs_code rc = CS_OK;
    int open_tx = 0, tries, dup = 0;

    if (store->pg)
        return csi_pg_issue_with(store->pg, issuer_line, sign_for_pg, sg, profile, out, err);
    rc = run(store, store->in_batch ? ST_SAVEPOINT : ST_BEGIN, "starting a transaction", err);
    if (rc != CS_OK)
        goto done;
    open_tx = 1;

    for (tries = 0; tries < SERIAL_TRIES && !cert; tries++) {
        if (RAND_bytes(serial, sizeof serial) != 1) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "%s: drawing a serial", store->path);
            goto done;
        }
        serial[0] &= 0x7f; /* positive, so the DER INTEGER needs no 17th octet */
        csi_hex_bytes(serial, sizeof serial, serial_hex);
        if (strcmp(serial_hex, "00") == 0)
            continue; /* RFC 5280 4.1.2.2: positive */
        if (issuer_line) {
            int taken = serial_taken(store, issuer_line, serial_hex, err);
            if (taken < 0) {
                rc = CS_EDB;
                goto done;
            }
            if (taken)
                continue;
        }
        rc = sg->sign(sg, serial, sizeof serial, &cert, &der, &der_len, err);
        if (rc != CS_OK)
            goto done;
        rc = record(store, cert, der, der_len, issuer_line, profile, &dup, err);
        OPENSSL_free(der);
        der = NULL;
        if (rc != CS_OK)
            goto done;
        if (dup) {
            cs_cert_free(cert);
            cert = NULL;
        }
    }
    if (!cert) {
        rc = cs_err_set(err, CS_EEXIST, "%s: no free serial after %d tries", store->path,
                        SERIAL_TRIES);
        goto done;
    }

    rc = run(store, store->in_batch ? ST_RELEASE : ST_COMMIT, "committing a certificate",
             err);
    if (rc != CS_OK)
        goto done;
    open_tx = 0;
    *out = cert;
    cert = NULL;

done:
    if (open_tx)
        undo(store, err);
    cs_cert_free(cert);
    return rc;
}

cs_code cs_store_issue(cs_store *store, const cs_cert_spec *spec, const cs_key *subject_key,
                       const cs_cert *issuer, const cs_key *issuer_key, const char *profile,
                       cs_cert **out, cs_err *err)
{
    signer sg = {sign_spec, spec, NULL, NULL, subject_key, issuer_key, issuer};
    char *issuer_line = NULL;
    cs_code rc;

    if (!store || !spec || !subject_key || !issuer_key || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_issue: missing argument");
    if (spec->serial)
        return cs_err_set(err, CS_EINVAL,
                          "spec.serial: must be unset (the store allots serials)");
    if (issuer) {
        issuer_line = csi_name_oneline(X509_get_subject_name(issuer->x509));
        if (!issuer_line)
            return cs_err_set(err, CS_ENOMEM, "%s: out of memory", store->path);
    }
    rc = issue(store, issuer_line, &sg, profile, out, err);
    free(issuer_line);
    return rc;
}

cs_code cs_store_issue_template(cs_store *store, const cs_template *tpl,
                                const cs_template_request *req, const cs_key *subject_key,
                                const char *profile, cs_cert **out, cs_err *err)
{
    signer sg = {sign_template, NULL, req, tpl, subject_key, NULL, NULL};

    if (!store || !tpl || !req || !subject_key || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_issue_template: missing argument");
    if (req->serial)
        return cs_err_set(err, CS_EINVAL, "serial: must be unset (the store allots serials)");
    return issue(store, cs_template_issuer_line(tpl), &sg, profile, out, err);
}

cs_code cs_store_begin(cs_store *store, cs_err *err)
{
    cs_code rc;

    if (!store)
        return cs_err_set(err, CS_EINVAL, "cs_store_begin: no store");
    if (store->pg)
        return csi_pg_begin(store->pg, err);
    if (store->in_batch) {
        /* nested: a savepoint, so its rollback undoes only its own writes
         * (the serve loop's batch of ACME finalizes, each a ca:issue) */
        rc = run(store, ST_NEST, "starting a nested batch", err);
        if (rc == CS_OK)
            store->nested++;
        return rc;
    }
    rc = run(store, ST_BEGIN, "starting a batch", err);
    if (rc == CS_OK)
        store->in_batch = 1;
    return rc;
}

cs_code cs_store_commit(cs_store *store, cs_err *err)
{
    cs_code rc;

    if (!store)
        return cs_err_set(err, CS_EINVAL, "cs_store_commit: no store");
    if (store->pg)
        return csi_pg_commit(store->pg, err);
    if (!store->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: no batch is open", store->path);
    if (store->nested > 0) {
        /* its writes join the outer batch: durable at the outer commit (on
         * failure it stays open, for the caller's rollback) */
        rc = run(store, ST_NEST_RELEASE, "closing a nested batch", err);
        if (rc == CS_OK)
            store->nested--;
        return rc;
    }
    rc = run(store, ST_COMMIT, "committing the batch", err);
    if (rc != CS_OK && !sqlite3_get_autocommit(store->db)) {
        /* Leave no half-open transaction behind: the batch is lost, say so. */
        (void)run(store, ST_ROLLBACK, "rolling back", NULL);
        if (err) {
            size_t used = strlen(err->msg);
            snprintf(err->msg + used, sizeof err->msg - used, " (the batch was rolled back)");
        }
    }
    store->in_batch = 0;
    return rc;
}

void cs_store_rollback(cs_store *store)
{
    if (store && store->pg) {
        csi_pg_rollback(store->pg);
        return;
    }
    if (!store || !store->in_batch)
        return;
    if (store->nested > 0 && !sqlite3_get_autocommit(store->db)) {
        store->nested--;
        (void)run(store, ST_NEST_ROLLBACK, "rolling back a nested batch", NULL);
        (void)run(store, ST_NEST_RELEASE, "rolling back a nested batch", NULL);
        if (!sqlite3_get_autocommit(store->db))
            return;
    }
    /* the outer batch, or one SQLite already ended (I/O error): all of it */
    if (!sqlite3_get_autocommit(store->db))
        (void)run(store, ST_ROLLBACK, "rolling back the batch", NULL);
    store->in_batch = 0;
    store->nested = 0;
}

cs_code cs_store_find(cs_store *store, const char *serial_hex, const char *issuer,
                      cs_cert **out, char **profile, cs_err *err)
{
    sqlite3_stmt *st;
    char serial[CSI_SERIAL_HEX_MAX + 1], what[128];
    cs_cert *cert = NULL;
    char *prof = NULL;
    cs_code rc = CS_OK;
    int src;

    if (!store || !serial_hex || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_find: missing argument");
    if (store->pg)
        return csi_pg_find(store->pg, serial_hex, issuer, out, profile, err);
    if (csi_canon_serial(serial_hex, serial) != 0)
        return cs_err_set(err, CS_EINVAL, "serial %.64s: not a hexadecimal serial of at most "
                          "20 bytes", serial_hex);
    st = store->st[issuer ? ST_FIND_ISSUER : ST_FIND];
    if (sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC) != SQLITE_OK ||
        (issuer && sqlite3_bind_text(st, 2, issuer, -1, SQLITE_STATIC) != SQLITE_OK)) {
        rc = db_fail(store, "looking up a serial", err);
        goto done;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        if (issuer)
            rc = cs_err_set(err, CS_ENOENT, "serial %s from issuer %.200s: not in the database",
                            serial_hex, issuer);
        else
            rc = cs_err_set(err, CS_ENOENT, "serial %s: not in the database", serial_hex);
        goto done;
    }
    if (src != SQLITE_ROW) {
        rc = db_fail(store, "looking up a serial", err);
        goto done;
    }
    snprintf(what, sizeof what, "%s: serial %s", store->path, serial);
    rc = cs_cert_load((const char *)sqlite3_column_text(st, 0),
                      (size_t)sqlite3_column_bytes(st, 0), what, &cert, err);
    if (rc != CS_OK)
        goto done;
    if (profile && sqlite3_column_type(st, 1) != SQLITE_NULL) {
        prof = strdup((const char *)sqlite3_column_text(st, 1));
        if (!prof) {
            rc = cs_err_set(err, CS_ENOMEM, "serial %s: out of memory", serial);
            goto done;
        }
    }
    if (!issuer) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            rc = cs_err_set(err, CS_EINVAL, "serial %s: issued by more than one issuer "
                            "(name the issuer)", serial_hex);
            goto done;
        }
        if (src != SQLITE_DONE) {
            rc = db_fail(store, "looking up a serial", err);
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
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(prof);
    cs_cert_free(cert);
    return rc;
}

cs_code cs_store_count(cs_store *store, int64_t *out, cs_err *err)
{
    sqlite3_stmt *st;
    cs_code rc = CS_OK;

    if (!store || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_count: missing argument");
    if (store->pg)
        return csi_pg_count(store->pg, out, err);
    st = store->st[ST_COUNT];
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_fail(store, "counting certificates", err);
    sqlite3_reset(st);
    return rc;
}

/* RFC 5280 5.3.1 CRLReason, index = code; NULL where the code is unused (7)
 * or refused (6 certificateHold, 8 removeFromCRL: we do not put certificates
 * on hold, so a revocation is final). */
static const char *const reason_names[] = {
    "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
    "cessationOfOperation", NULL, NULL, NULL, "privilegeWithdrawn", "aACompromise",
};
#define N_REASONS (int)(sizeof reason_names / sizeof reason_names[0])

const char *cs_crl_reason_name(int code)
{
    return code >= 0 && code < N_REASONS ? reason_names[code] : NULL;
}

int cs_crl_reason_code(const char *name)
{
    int i;

    for (i = 0; name && i < N_REASONS; i++)
        if (reason_names[i] && strcmp(reason_names[i], name) == 0)
            return i;
    return -1;
}

/* A revocation time for messages: "2026-11-27T05:40:00Z". */
static void utc_text(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

/* The row of (issuer, serial), issuer NULL for any: *id 0 if none. */
static cs_code lookup(cs_store *s, const char *serial, const char *issuer, int64_t *id,
                      cs_revocation *rev, cs_err *err)
{
    sqlite3_stmt *st = s->st[issuer ? ST_STATUS : ST_STATUS_ANY];
    cs_code rc = CS_OK;
    int src;

    *id = 0;
    if (sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC) != SQLITE_OK ||
        (issuer && sqlite3_bind_text(st, 2, issuer, -1, SQLITE_STATIC) != SQLITE_OK)) {
        rc = db_fail(s, "looking up a serial", err);
        goto done;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rev->not_after = sqlite3_column_int64(st, 3);
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
            rev->status = CS_STATUS_GOOD;
            rev->revoked_at = 0;
            rev->reason = -1;
        } else {
            rev->status = CS_STATUS_REVOKED;
            rev->revoked_at = sqlite3_column_int64(st, 1);
            rev->reason = sqlite3_column_type(st, 2) == SQLITE_NULL
                              ? 0 : sqlite3_column_int(st, 2);
        }
        if (!issuer) {
            src = sqlite3_step(st);
            if (src == SQLITE_ROW)
                rc = cs_err_set(err, CS_EINVAL, "serial %s: issued by more than one issuer "
                                "(name the issuer)", serial);
            else if (src != SQLITE_DONE)
                rc = db_fail(s, "looking up a serial", err);
        }
    } else if (src != SQLITE_DONE) {
        rc = db_fail(s, "looking up a serial", err);
    }
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

cs_code cs_store_status(cs_store *s, const char *issuer, const char *serial_hex,
                        cs_revocation *out, cs_err *err)
{
    char serial[CSI_SERIAL_HEX_MAX + 1];
    cs_revocation rev = {CS_STATUS_UNKNOWN, 0, -1, 0};
    int64_t id = 0;
    cs_code rc;

    if (!s || !serial_hex || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_status: missing argument");
    if (s->pg)
        return csi_pg_status(s->pg, issuer, serial_hex, out, err);
    if (csi_canon_serial(serial_hex, serial) != 0)
        return cs_err_set(err, CS_EINVAL, "serial %.64s: not a hexadecimal serial of at most "
                          "20 bytes", serial_hex);
    rc = lookup(s, serial, issuer, &id, &rev, err); /* no row: rev stays UNKNOWN */
    if (rc != CS_OK)
        return rc;
    *out = rev;
    return CS_OK;
}

cs_code cs_store_revoke(cs_store *s, const char *serial_hex, const char *issuer, int reason,
                        int64_t at, cs_err *err)
{
    char serial[CSI_SERIAL_HEX_MAX + 1], when[32];
    cs_revocation rev = {CS_STATUS_UNKNOWN, 0, -1, 0};
    sqlite3_stmt *st;
    int64_t id = 0;
    cs_code rc;
    int src;

    if (!s || !serial_hex)
        return cs_err_set(err, CS_EINVAL, "cs_store_revoke: missing argument");
    if (csi_canon_serial(serial_hex, serial) != 0)
        return cs_err_set(err, CS_EINVAL, "serial %.64s: not a hexadecimal serial of at most "
                          "20 bytes", serial_hex);
    if (reason == 6 || reason == 8)
        return cs_err_set(err, CS_EINVAL, "reason %d (%s): refused: revocations here are "
                          "final, there are no certificate holds", reason,
                          reason == 6 ? "certificateHold" : "removeFromCRL");
    if (!cs_crl_reason_name(reason))
        return cs_err_set(err, CS_EINVAL, "reason %d: not an RFC 5280 CRLReason code", reason);
    if (at <= 0)
        return cs_err_set(err, CS_EINVAL, "revocation time %lld: must be positive",
                          (long long)at);
    if (s->pg)
        return csi_pg_revoke(s->pg, serial_hex, issuer, reason, at, err);

    rc = run(s, s->in_batch ? ST_SAVEPOINT : ST_BEGIN, "starting a transaction", err);
    if (rc != CS_OK)
        return rc;
    rc = lookup(s, serial, issuer, &id, &rev, err);
    if (rc != CS_OK)
        goto done;
    if (id == 0) {
        if (issuer)
            rc = cs_err_set(err, CS_ENOENT, "serial %s from issuer %.200s: not in the database",
                            serial_hex, issuer);
        else
            rc = cs_err_set(err, CS_ENOENT, "serial %s: not in the database", serial_hex);
        goto done;
    }
    if (rev.status == CS_STATUS_REVOKED) {
        const char *name = cs_crl_reason_name(rev.reason);
        utc_text(rev.revoked_at, when);
        rc = cs_err_set(err, CS_EEXIST, "serial %s: already revoked at %s (reason %s)",
                        serial, when, name ? name : "unknown");
        goto done;
    }
    st = s->st[ST_REVOKE];
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, at) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, reason) != SQLITE_OK) {
        rc = db_fail(s, "recording a revocation", err);
    } else {
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_fail(s, "recording a revocation", err);
        else if (sqlite3_changes(s->db) != 1)
            rc = cs_err_set(err, CS_EDB, "%s: serial %s: revocation not recorded", s->path,
                            serial);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == CS_OK)
        rc = run(s, s->in_batch ? ST_RELEASE : ST_COMMIT, "committing a revocation", err);
done:
    if (rc != CS_OK)
        undo(s, err);
    return rc;
}

cs_code cs_store_revoked(cs_store *s, const char *issuer, cs_revoked **out, size_t *n,
                         cs_err *err)
{
    sqlite3_stmt *st;
    cs_revoked *list = NULL, *grown;
    size_t len = 0, cap = 0;
    cs_code rc = CS_OK;
    int src;

    if (!s || !issuer || !out || !n)
        return cs_err_set(err, CS_EINVAL, "cs_store_revoked: missing argument");
    if (s->pg)
        return csi_pg_revoked(s->pg, issuer, out, n, err);
    st = s->st[ST_REVOKED];
    if (sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = db_fail(s, "listing revocations", err);
        goto done;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *serial = (const char *)sqlite3_column_text(st, 0);
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                rc = cs_err_set(err, CS_ENOMEM, "%s: listing revocations: out of memory",
                                s->path);
                goto done;
            }
            list = grown;
        }
        snprintf(list[len].serial_hex, sizeof list[len].serial_hex, "%s",
                 serial ? serial : "00");
        list[len].revoked_at = sqlite3_column_int64(st, 1);
        list[len].reason = sqlite3_column_type(st, 2) == SQLITE_NULL
                               ? 0 : sqlite3_column_int(st, 2);
        list[len].not_after = sqlite3_column_int64(st, 3);
        len++;
    }
    if (src != SQLITE_DONE) {
        rc = db_fail(s, "listing revocations", err);
        goto done;
    }
    *out = list;
    *n = len;
    list = NULL;
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(list);
    return rc;
}

void cs_store_records_free(cs_record *list, size_t n)
{
    size_t i;

    for (i = 0; list && i < n; i++) {
        free(list[i].issuer);
        free(list[i].subject);
        free(list[i].sans);
        free(list[i].profile);
        free(list[i].fingerprint);
    }
    free(list);
}

/* A copy of column col's text, or NULL for SQL NULL; *bad set when the copy
 * failed. */
static char *column_dup(sqlite3_stmt *st, int col, int *bad)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    char *copy;

    if (!text)
        return NULL;
    copy = strdup(text);
    if (!copy)
        *bad = 1;
    return copy;
}

/* Row of ST_LIST into r; 0, or -1 when out of memory (r then holds what
 * was copied, for cs_store_records_free). */
static int read_record(sqlite3_stmt *st, cs_record *r)
{
    const char *serial = (const char *)sqlite3_column_text(st, 0);
    int bad = 0;

    memset(r, 0, sizeof *r);
    snprintf(r->serial_hex, sizeof r->serial_hex, "%s", serial ? serial : "00");
    r->issuer = column_dup(st, 1, &bad);
    r->subject = column_dup(st, 2, &bad);
    r->sans = column_dup(st, 3, &bad);
    r->profile = column_dup(st, 4, &bad);
    r->fingerprint = column_dup(st, 5, &bad);
    r->not_before = sqlite3_column_int64(st, 6);
    r->not_after = sqlite3_column_int64(st, 7);
    r->issued_at = sqlite3_column_int64(st, 8);
    if (sqlite3_column_type(st, 9) == SQLITE_NULL) {
        r->revoked_at = 0;
        r->reason = -1;
    } else {
        r->revoked_at = sqlite3_column_int64(st, 9);
        r->reason = sqlite3_column_type(st, 10) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 10);
    }
    /* NOT NULL columns: a NULL here is only a failed copy */
    if (!r->issuer || !r->subject || !r->sans || !r->fingerprint)
        bad = 1;
    return bad ? -1 : 0;
}

cs_code cs_store_list(cs_store *s, const cs_store_filter *filter, cs_record **out, size_t *n,
                      cs_err *err)
{
    static const cs_store_filter all = {NULL, NULL, NULL, CS_LIST_ANY, 0};
    sqlite3_stmt *st;
    cs_record *list = NULL, *grown;
    size_t len = 0, cap = 0;
    cs_code rc = CS_OK;
    int src;

    if (!s || !out || !n)
        return cs_err_set(err, CS_EINVAL, "cs_store_list: missing argument");
    if (!filter)
        filter = &all;
    if ((int)filter->status < (int)CS_LIST_ANY || (int)filter->status > (int)CS_LIST_EXPIRED)
        return cs_err_set(err, CS_EINVAL, "cs_store_list: unknown status filter %d",
                          (int)filter->status);
    if (s->pg)
        return csi_pg_list(s->pg, filter, out, n, err);
    st = s->st[ST_LIST];
    if ((filter->issuer && sqlite3_bind_text(st, 1, filter->issuer, -1, SQLITE_STATIC)
                               != SQLITE_OK) ||
        (filter->profile && sqlite3_bind_text(st, 2, filter->profile, -1, SQLITE_STATIC)
                                != SQLITE_OK) ||
        (filter->name && sqlite3_bind_text(st, 3, filter->name, -1, SQLITE_STATIC)
                             != SQLITE_OK) ||
        sqlite3_bind_int(st, 4, (int)filter->status) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, filter->now) != SQLITE_OK) {
        rc = db_fail(s, "listing certificates", err);
        goto done;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                rc = cs_err_set(err, CS_ENOMEM, "%s: listing certificates: out of memory",
                                s->path);
                goto done;
            }
            list = grown;
        }
        len++; /* counted first: a half-copied record is freed with the rest */
        if (read_record(st, &list[len - 1]) != 0) {
            rc = cs_err_set(err, CS_ENOMEM, "%s: listing certificates: out of memory",
                            s->path);
            goto done;
        }
    }
    if (src != SQLITE_DONE) {
        rc = db_fail(s, "listing certificates", err);
        goto done;
    }
    *out = list;
    *n = len;
    list = NULL;
    len = 0;
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    cs_store_records_free(list, len);
    return rc;
}

cs_code cs_store_next_crl_number(cs_store *s, const char *issuer, int64_t *out, cs_err *err)
{
    sqlite3_stmt *st;
    cs_code rc = CS_OK;
    int64_t number = 0;
    int open_tx = 0;

    if (!s || !issuer || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_next_crl_number: missing argument");
    if (s->pg)
        return csi_pg_next_crl_number(s->pg, issuer, out, err);
    rc = run(s, s->in_batch ? ST_SAVEPOINT : ST_BEGIN, "starting a transaction", err);
    if (rc != CS_OK)
        return rc;
    open_tx = 1;
    st = s->st[ST_CRL_BUMP];
    if (sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(s, "drawing a CRL number", err);
    } else {
        number = sqlite3_column_int64(st, 0);
        /* Step to the end: RETURNING's update is done only then. */
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(s, "drawing a CRL number", err);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == CS_OK)
        rc = run(s, s->in_batch ? ST_RELEASE : ST_COMMIT, "committing a CRL number", err);
    if (rc == CS_OK) {
        open_tx = 0;
        *out = number;
    }
    if (open_tx)
        undo(s, err);
    return rc;
}

/* ---- journal marks ---- */

cs_code cs_store_mark_add(cs_store *s, const char *id, const char *path, cs_err *err)
{
    sqlite3_stmt *st;
    cs_code rc = CS_OK;

    if (!s || !id || !path)
        return cs_err_set(err, CS_EINVAL, "cs_store_mark_add: missing argument");
    if (s->pg)
        return csi_pg_mark_add(s->pg, id, path, err);
    if (!s->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: a journal mark needs an open batch", s->path);
    st = s->st[ST_MARK_ADD];
    if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(s, "recording a journal mark", err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

cs_code cs_store_mark_find(cs_store *s, const char *id, int *found, cs_err *err)
{
    sqlite3_stmt *st;
    cs_code rc = CS_OK;
    int step;

    if (!s || !id || !found)
        return cs_err_set(err, CS_EINVAL, "cs_store_mark_find: missing argument");
    if (s->pg)
        return csi_pg_mark_find(s->pg, id, found, err);
    st = s->st[ST_MARK_FIND];
    if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK)
        step = SQLITE_ERROR;
    else
        step = sqlite3_step(st);
    if (step == SQLITE_ROW || step == SQLITE_DONE)
        *found = step == SQLITE_ROW;
    else
        rc = db_fail(s, "looking up a journal mark", err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

cs_code cs_store_mark_prune(cs_store *s, cs_err *err)
{
    sqlite3_stmt *list, *del;
    char **gone = NULL;
    size_t n = 0, cap = 0;
    cs_code rc = CS_OK;
    int step;
    struct stat st;

    if (!s)
        return cs_err_set(err, CS_EINVAL, "cs_store_mark_prune: no store");
    if (s->pg)
        return csi_pg_mark_prune(s->pg, err);
    if (!s->in_batch)
        return cs_err_set(err, CS_EINVAL, "%s: pruning journal marks needs an open batch",
                          s->path);
    list = s->st[ST_MARK_LIST];
    while ((step = sqlite3_step(list)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(list, 1);
        const char *id = (const char *)sqlite3_column_text(list, 0);
        if (!id || !path || lstat(path, &st) == 0 || errno != ENOENT)
            continue; /* still there (or unknown): keep it */
        if (n == cap) {
            size_t grown_cap = cap ? cap * 2 : 8;
            char **grown = realloc(gone, grown_cap * sizeof *grown);
            if (!grown)
                break;
            gone = grown;
            cap = grown_cap;
        }
        if (!(gone[n] = strdup(id)))
            break;
        n++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = db_fail(s, "listing journal marks", err);
    sqlite3_reset(list);
    del = s->st[ST_MARK_DEL];
    for (size_t i = 0; i < n && rc == CS_OK; i++) {
        if (sqlite3_bind_text(del, 1, gone[i], -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_step(del) != SQLITE_DONE)
            rc = db_fail(s, "removing a journal mark", err);
        sqlite3_reset(del);
        sqlite3_clear_bindings(del);
    }
    for (size_t i = 0; i < n; i++)
        free(gone[i]);
    free(gone);
    return rc;
}

int cs_store_schema_version(void)
{
    return SCHEMA_VERSION;
}

/* PRAGMA user_version, or -1 (err set). The first read of the file: a file
 * that is not a database fails here, before anything is written. */
static int user_version(cs_store *s, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    if (v < 0)
        cs_err_set(err, CS_EDB, "%s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return v;
}

static cs_code exec(cs_store *s, const char *sql, const char *doing, cs_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, doing, err);
    return CS_OK;
}

/* Settings, schema, statements. */
static cs_code set_up(cs_store *s, cs_err *err)
{
    cs_code rc;
    int v, i;

    v = user_version(s, err);
    if (v < 0)
        return CS_EDB;
    if (v > SCHEMA_VERSION)
        return cs_err_set(err, CS_EDB, "%s: database schema version %d is newer than this "
                          "build (%d)", s->path, v, SCHEMA_VERSION);
    /* WAL: readers do not block the writer; FULL: a commit is durable when it
     * returns (WAL's default NORMAL may lose the last commits on power loss).
     * cache_size 32 MiB: a batch of 1000 issues dirties about 4000 pages (the
     * serial and fingerprint indexes take random keys); with SQLite's 2 MiB
     * default they spill to the WAL mid-transaction and are written again, 2.5x
     * the bytes per certificate at 10 k certificates (bench/README.md).
     * wal_autocheckpoint 10000 pages (a WAL of up to about 40 MiB): a page
     * dirtied by several batches is copied into the database once per
     * checkpoint, not once per batch; at 100 k certificates 25 -> 16 kB
     * written per certificate, 9% faster. mmap_size 1 GiB: past the page
     * cache, index pages are read through the mapping instead of a pread
     * and a copy each; at 1 M certificates 5,271 -> 6,153 issues a second,
     * and the cost per issue grows by the same 42 us per tenfold from 10 k
     * to 1 M (reads only: SQLite still writes with write(2)). */
    rc = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                 " PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;"
                 " PRAGMA wal_autocheckpoint = 10000; PRAGMA mmap_size = 1073741824;", "configuring", err);
    if (rc != CS_OK)
        return rc;
    if (v < SCHEMA_VERSION) {
        rc = exec(s, "BEGIN IMMEDIATE", "creating the schema", err);
        if (rc != CS_OK)
            return rc;
        /* Another process may have created it while we waited for the lock. */
        v = user_version(s, err);
        if (v < 0 || v > SCHEMA_VERSION) {
            (void)exec(s, "ROLLBACK", "rolling back", NULL);
            if (v > SCHEMA_VERSION)
                return cs_err_set(err, CS_EDB, "%s: database schema version %d is newer than "
                                  "this build (%d)", s->path, v, SCHEMA_VERSION);
            return CS_EDB;
        }
        if (v == 0)
            rc = exec(s, schema_sql, "creating the schema", err);
        if (v == 1)
            rc = exec(s, migrate_v1_sql, "migrating the schema from version 1", err);
        if (rc == CS_OK && (v == 1 || v == 2))
            rc = exec(s, migrate_v2_sql, "migrating the schema from version 2", err);
        if (rc == CS_OK && v >= 1 && v <= 3)
            rc = exec(s, migrate_v3_sql, "migrating the schema from version 3", err);
        if (rc == CS_OK)
            rc = exec(s, "COMMIT", "creating the schema", err);
        if (rc != CS_OK) {
            (void)exec(s, "ROLLBACK", "rolling back", NULL);
            return rc;
        }
    }
    for (i = 0; i < ST_N; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK)
            return db_fail(s, "preparing statements", err);
    }
    return CS_OK;
}

/* A store over PostgreSQL: no SQLite connection, every call dispatched. */
static cs_code open_pg(const char *url, cs_store **out, cs_err *err)
{
    cs_store *s = calloc(1, sizeof *s);
    cs_code rc;

    if (!s)
        return cs_err_set(err, CS_ENOMEM, "opening the database: out of memory");
    rc = csi_pg_open(url, &s->pg, err);
    if (rc != CS_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return CS_OK;
}

cs_code cs_store_set_node(cs_store *store, const char *node, cs_err *err)
{
    if (!store || !node)
        return cs_err_set(err, CS_EINVAL, "cs_store_set_node: missing argument");
    return store->pg ? csi_pg_set_node(store->pg, node, err) : CS_OK;
}

/* Where link() is not offered (vfat, some network filesystems): an empty
 * file at path, 0600 from the first byte, which set_up then makes a
 * database in place (the seven syncs create_new avoids). EEXIST: another
 * process made it first. */
static cs_code create_in_place(const char *path, int *created, cs_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd >= 0) {
        *created = 1;
        close(fd);
    } else if (errno != EEXIST) {
        return cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: cannot create: %s",
                          path, strerror(errno));
    }
    return CS_OK;
}

/* A new database, built whole under a temporary name beside path and
 * linked into place: it appears at path with its schema and in WAL mode, or
 * not at all. Built that way it needs two syncs (its bytes, then the
 * folder) where creating it in place took seven: SQLite's switch of an
 * empty file into WAL goes through a rollback journal (the journal, the
 * folder, the journal again, the file), and the schema's commit was the
 * WAL's first (its header, the folder, the commit). The WAL flag in the
 * header must be on disk before any row is in the WAL (an empty file
 * beside a WAL file makes SQLite delete the WAL), which the fsync before
 * link() ensures. Nothing is journaled while it is built: nobody can see
 * the temporary file, and a crash leaves at most that file (PATH.new-HEX),
 * never a half-made database at path. link() fails if path exists, so two
 * processes creating the same database each keep to their own until one
 * wins; the other opens the winner's. *created says whether this call made
 * it. */
static cs_code create_new(const char *path, int *created, cs_err *err)
{
    static const char build_sql[] =
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
        " BEGIN;";
    static const char wal_sql[] = "COMMIT; PRAGMA journal_mode = WAL;";
    char tmp[4096], side[4200], hex[17];
    unsigned char rnd[8];
    sqlite3 *db = NULL;
    struct stat st;
    cs_code rc = CS_OK;
    int fd;

    *created = 0;
    if (lstat(path, &st) == 0)
        return CS_OK; /* there already: opened as it is */
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: no random name for creating it", path);
    csi_hex_lower(rnd, sizeof rnd, hex);
    if (snprintf(tmp, sizeof tmp, "%s.new-%s", path, hex) >= (int)sizeof tmp)
        return cs_err_set(err, CS_EINVAL, "%s: path too long", path);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: cannot create: %s",
                          path, strerror(errno));
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, build_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, wal_sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = cs_err_set(err, CS_EDB, "%s: creating the database: %s", path,
                        db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    sqlite3_close(db); /* the last connection: nothing left in its WAL */
    db = NULL;
    if (fsync(fd) != 0) {
        rc = cs_err_set(err, CS_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    if (link(tmp, path) == 0)
        *created = 1;
    else if (errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP)
        rc = create_in_place(path, created, err); /* a filesystem without hard links */
    else if (errno != EEXIST) /* EEXIST: another process made it first */
        rc = cs_err_set(err, CS_EIO, "%s: cannot create: %s", path, strerror(errno));
done:
    sqlite3_close(db);
    close(fd);
    unlink(tmp);
    snprintf(side, sizeof side, "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", tmp);
    unlink(side);
    if (*created)
        csi_sync_dir_of(path); /* its name, before any row can be committed */
    return rc;
}

cs_code cs_store_open(const char *path, cs_store **out, cs_err *err)
{
    cs_store *s = NULL;
    cs_code rc = CS_OK;
    int created = 0, src;

    if (!path || !*path || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_open: missing path");
    if (csi_store_is_url(path))
        return open_pg(path, out, err);
    /* Created by us so it is 0600 from the first byte (SQLite would use
     * 0644); SQLite gives its -wal and -shm files the database's mode. */
    rc = create_new(path, &created, err);
    if (rc != CS_OK)
        return rc;

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    src = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = cs_err_set(err, CS_EDB, "%s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
        goto done;
    }
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!s->sha256) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: no SHA-256", path);
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (RAND_bytes((unsigned char *)&s->jitter, sizeof s->jitter) != 1 || s->jitter == 0)
        s->jitter = (uint32_t)getpid() | 1u;
    sqlite3_busy_handler(s->db, busy_wait, s);
    rc = set_up(s, err);
    if (rc != CS_OK)
        goto done;
    *out = s;
    s = NULL;
done:
    cs_store_close(s);
    if (rc != CS_OK && created) {
        /* Nothing changed: the file we made goes away again. */
        char side[4096];
        unlink(path);
        if (snprintf(side, sizeof side, "%s-wal", path) < (int)sizeof side)
            unlink(side);
        if (snprintf(side, sizeof side, "%s-shm", path) < (int)sizeof side)
            unlink(side);
    }
    return rc;
}

void cs_store_close(cs_store *store)
{
    int i;

    if (!store)
        return;
    if (store->db) {
        cs_store_rollback(store);
        for (i = 0; i < ST_N; i++)
            sqlite3_finalize(store->st[i]);
        sqlite3_close(store->db);
    }
    csi_pg_close(store->pg);
    EVP_MD_free(store->sha256);
    free(store->path);
    free(store);
}
