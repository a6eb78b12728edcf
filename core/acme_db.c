/* The ACME tables (acme_db.h): one connection behind a mutex, one short
 * transaction per call, conditional UPDATEs for every state change. */
#include "acme_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "b64url.h"
#include "internal.h"
#include "store.h"

struct csi_acme_db {
    sqlite3 *db;
    pthread_mutex_t lock;
    struct timespec busy_since; /* when the current wait for the write lock began */
};

/* How long a request waits for the file's write lock (the serve loop
 * holds it while it issues a turn's certificates) before "database is
 * locked". */
#define BUSY_WAIT_MS 10000

/* SQLite's busy handler. Its own (sqlite3_busy_timeout) sleeps 1, 2, 5,
 * 10 ... up to 100 ms between tries, so a request that found the lock
 * taken slept on well after it was free, and every other request waited
 * on db->lock meanwhile (one connection): under bench/acme_orders.sh a
 * newOrder waited about 120 to 190 ms. 1 ms naps find the lock free
 * within a millisecond. */
static int busy_wait(void *arg, int tries)
{
    csi_acme_db *db = arg;
    return csi_busy_nap(&db->busy_since, tries, BUSY_WAIT_MS, 1000);
}

/* ---- small helpers ---- */

static cs_code db_fail(csi_acme_db *db, const char *doing, cs_err *err)
{
    return cs_err_set(err, CS_EDB, "acme: %s: %s", doing, sqlite3_errmsg(db->db));
}

/* Prepare sql and bind its parameters from fmt: 's' a string (NULL binds
 * NULL), 'i' an int64_t, 'b' a blob (pointer, size_t). */
static cs_code prepare(csi_acme_db *db, sqlite3_stmt **st, const char *doing, cs_err *err,
                       const char *sql, const char *fmt, ...)
{
    va_list ap;
    int i, rc = SQLITE_OK;

    *st = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(db, doing, err);
    va_start(ap, fmt);
    for (i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 's') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(*st, i + 1, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(*st, i + 1);
        } else if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        } else {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = p ? sqlite3_bind_blob(*st, i + 1, p, (int)n, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(*st, i + 1);
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        cs_code c = db_fail(db, doing, err);
        sqlite3_finalize(*st);
        *st = NULL;
        return c;
    }
    return CS_OK;
}

/* Run a statement that returns no rows; *changes gets the rows changed
 * (NULL: not wanted). SQLITE_CONSTRAINT_UNIQUE is CS_EEXIST. */
static cs_code run(csi_acme_db *db, const char *doing, int *changes, cs_err *err,
                   const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int i, rc = SQLITE_OK;
    cs_code c = CS_OK;

    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, doing, err);
    va_start(ap, fmt);
    for (i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 's') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i + 1);
        } else if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = p ? sqlite3_bind_blob(st, i + 1, p, (int)n, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i + 1);
        }
    }
    va_end(ap);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        c = cs_err_set(err, CS_EEXIST, "acme: %s: already there", doing);
    else if (rc != SQLITE_DONE)
        c = db_fail(db, doing, err);
    else if (changes)
        *changes = sqlite3_changes(db->db);
    sqlite3_finalize(st);
    return c;
}

static cs_code begin(csi_acme_db *db, cs_err *err)
{
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, "beginning a transaction", err);
    return CS_OK;
}

/* Commit when rc is CS_OK (a failed commit becomes the result), else roll
 * back; then unlock. */
static cs_code finish(csi_acme_db *db, cs_code rc, cs_err *err)
{
    if (rc == CS_OK && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db, "committing", err);
    if (rc != CS_OK)
        (void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

/* Column i as a malloc'd string (NULL for SQL NULL); *oom set when the copy fails. */
static char *col_dup(sqlite3_stmt *st, int i, int *oom)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    char *s;

    if (!t)
        return NULL;
    s = strdup((const char *)t);
    if (!s)
        *oom = 1;
    return s;
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

cs_code csi_acme_random_id(char *out, size_t bytes, cs_err *err)
{
    unsigned char raw[32];

    if (bytes > sizeof raw || RAND_bytes(raw, (int)bytes) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "acme: random id");
    cs_b64url_encode_buf(raw, bytes, out);
    out[CS_B64URL_LEN(bytes)] = '\0';
    return CS_OK;
}

/* ---- open, close, records ---- */

cs_code csi_acme_db_open(const char *path, csi_acme_db **out, cs_err *err)
{
    csi_acme_db *db = NULL;
    cs_store *store = NULL;
    cs_code rc;

    /* the store creates or migrates the schema (4) */
    rc = cs_store_open(path, &store, err);
    cs_store_close(store);
    if (rc != CS_OK)
        return rc;
    db = calloc(1, sizeof *db);
    if (!db)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = cs_err_set(err, CS_EDB, "acme: %s: %s", path,
                        db->db ? sqlite3_errmsg(db->db) : "cannot open");
        sqlite3_close(db->db);
        free(db);
        return rc;
    }
    sqlite3_extended_result_codes(db->db, 1);
    /* Other writers (the Lua side issuing, revoking) share the file: wait
     * for them rather than fail. synchronous NORMAL: in WAL mode a commit
     * may be lost on power loss but never corrupts; what is lost is ACME
     * state a client redoes (an order, a challenge), never a certificate,
     * which the store records with FULL. It halves the fsyncs per order. */
    sqlite3_busy_handler(db->db, busy_wait, db);
    if (sqlite3_exec(db->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;", NULL,
                     NULL, NULL) != SQLITE_OK) {
        rc = db_fail(db, "configuring", err);
        sqlite3_close(db->db);
        free(db);
        return rc;
    }
    pthread_mutex_init(&db->lock, NULL);
    *out = db;
    return CS_OK;
}

void csi_acme_db_close(csi_acme_db *db)
{
    if (!db)
        return;
    sqlite3_close(db->db);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

void csi_acme_account_clear(csi_acme_account *a)
{
    if (!a)
        return;
    free(a->jwk);
    free(a->thumbprint);
    free(a->contact);
    free(a->eab_kid);
    memset(a, 0, sizeof *a);
}

void csi_acme_order_clear(csi_acme_order *o)
{
    if (!o)
        return;
    free(o->identifiers);
    free(o->profile);
    free(o->error);
    free(o->csr);
    free(o->cert_serial);
    free(o->cert_chain);
    free(o->authz);
    memset(o, 0, sizeof *o);
}

void csi_acme_challenge_clear(csi_acme_challenge *c)
{
    if (!c)
        return;
    free(c->error);
    memset(c, 0, sizeof *c);
}

void csi_acme_authz_clear(csi_acme_authz *z)
{
    size_t i;

    if (!z)
        return;
    free(z->value);
    for (i = 0; i < z->challenges_len; i++)
        csi_acme_challenge_clear(&z->challenges[i]);
    free(z->challenges);
    memset(z, 0, sizeof *z);
}

/* ---- accounts ---- */

#define ACCOUNT_COLS "id, jwk, thumbprint, status, contact, eab_kid, created"

static cs_code read_account(sqlite3_stmt *st, csi_acme_account *out, cs_err *err)
{
    csi_acme_account a;
    int oom = 0;

    memset(&a, 0, sizeof a);
    col_copy(st, 0, a.id, sizeof a.id);
    a.jwk = col_dup(st, 1, &oom);
    a.thumbprint = col_dup(st, 2, &oom);
    col_copy(st, 3, a.status, sizeof a.status);
    a.contact = col_dup(st, 4, &oom);
    a.eab_kid = col_dup(st, 5, &oom);
    a.created = sqlite3_column_int64(st, 6);
    if (oom) {
        csi_acme_account_clear(&a);
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory reading an account");
    }
    *out = a;
    return CS_OK;
}

static cs_code account_where(csi_acme_db *db, const char *sql, const char *arg,
                             csi_acme_account *out, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    cs_code rc;
    int step;

    pthread_mutex_lock(&db->lock);
    rc = prepare(db, &st, "reading an account", err, sql, "s", arg);
    if (rc == CS_OK) {
        step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = read_account(st, out, err);
        else if (step == SQLITE_DONE)
            rc = cs_err_set(err, CS_ENOENT, "acme: no such account");
        else
            rc = db_fail(db, "reading an account", err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

cs_code csi_acme_db_account_get(csi_acme_db *db, const char *id, csi_acme_account *out,
                                cs_err *err)
{
    return account_where(db, "SELECT " ACCOUNT_COLS " FROM acme_accounts WHERE id = ?", id, out,
                         err);
}

cs_code csi_acme_db_account_by_thumbprint(csi_acme_db *db, const char *thumbprint,
                                          csi_acme_account *out, cs_err *err)
{
    return account_where(db, "SELECT " ACCOUNT_COLS " FROM acme_accounts WHERE thumbprint = ?",
                         thumbprint, out, err);
}

/* The id of the account holding thumbprint into other (CSI_ACME_ID_LEN + 1). */
static void holder(csi_acme_db *db, const char *thumbprint, char *other)
{
    sqlite3_stmt *st = NULL;

    if (!other)
        return;
    other[0] = '\0';
    if (prepare(db, &st, "reading an account", NULL,
                "SELECT id FROM acme_accounts WHERE thumbprint = ?", "s", thumbprint) == CS_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        col_copy(st, 0, other, CSI_ACME_ID_LEN + 1);
    sqlite3_finalize(st);
}

cs_code csi_acme_db_account_insert(csi_acme_db *db, const csi_acme_account *a, char *other,
                                   cs_err *err)
{
    cs_code rc;

    pthread_mutex_lock(&db->lock);
    rc = run(db, "recording the account", NULL, err,
             "INSERT INTO acme_accounts (" ACCOUNT_COLS ") VALUES (?, ?, ?, 'valid', ?, ?, ?)",
             "sssssi", a->id, a->jwk, a->thumbprint, a->contact, a->eab_kid, a->created);
    if (rc == CS_EEXIST)
        holder(db, a->thumbprint, other);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

cs_code csi_acme_db_account_update(csi_acme_db *db, const char *id, const char *contact,
                                   const char *status, cs_err *err)
{
    cs_code rc;
    int changes = 0;

    pthread_mutex_lock(&db->lock);
    rc = run(db, "updating the account", &changes, err,
             "UPDATE acme_accounts SET contact = coalesce(?, contact),"
             " status = coalesce(?, status) WHERE id = ? AND status = 'valid'",
             "sss", contact, status, id);
    if (rc == CS_OK && changes == 0)
        rc = cs_err_set(err, CS_EMISMATCH, "acme: account %s is not valid", id);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

cs_code csi_acme_db_account_rekey(csi_acme_db *db, const char *id, const char *old_jwk,
                                  const char *jwk, const char *thumbprint, char *other,
                                  cs_err *err)
{
    cs_code rc;
    int changes = 0;

    pthread_mutex_lock(&db->lock);
    rc = run(db, "changing the account key", &changes, err,
             "UPDATE acme_accounts SET jwk = ?, thumbprint = ?"
             " WHERE id = ? AND jwk = ? AND status = 'valid'",
             "ssss", jwk, thumbprint, id, old_jwk);
    if (rc == CS_EEXIST)
        holder(db, thumbprint, other);
    else if (rc == CS_OK && changes == 0)
        rc = cs_err_set(err, CS_EMISMATCH, "acme: account %s: the old key is not its key", id);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

/* ---- orders ---- */

#define ORDER_COLS                                                                          \
    "id, account, status, identifiers, expires, profile, error, csr, cert_serial,"          \
    " cert_chain, created"

/* Expire what is past its time in one order (RFC 8555 7.1.6): the order
 * if pending or ready, its pending authorizations. order_sql is the
 * order's id, or a subquery giving it from one text parameter. Inside a
 * transaction. */
static cs_code expire(csi_acme_db *db, int64_t now, const char *order_sql, const char *arg,
                      cs_err *err)
{
    static const char problem[] =
        "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"order expired\","
        "\"status\":403}";
    char sql[512];
    cs_code rc;

    snprintf(sql, sizeof sql, "UPDATE acme_orders SET status = 'invalid', error = ?"
             " WHERE status IN ('pending', 'ready') AND expires < ? AND id = %s", order_sql);
    rc = run(db, "expiring the order", NULL, err, sql, "sis", problem, now, arg);
    snprintf(sql, sizeof sql, "UPDATE acme_authorizations SET status = 'expired'"
             " WHERE status = 'pending' AND expires < ? AND order_id = %s", order_sql);
    if (rc == CS_OK)
        rc = run(db, "expiring authorizations", NULL, err, sql, "is", now, arg);
    return rc;
}

static cs_code read_order(csi_acme_db *db, sqlite3_stmt *st, csi_acme_order *out, cs_err *err)
{
    csi_acme_order o;
    sqlite3_stmt *az = NULL;
    const void *csr;
    int oom = 0, step;
    size_t cap = 0;
    cs_code rc = CS_OK;

    memset(&o, 0, sizeof o);
    col_copy(st, 0, o.id, sizeof o.id);
    col_copy(st, 1, o.account, sizeof o.account);
    col_copy(st, 2, o.status, sizeof o.status);
    o.identifiers = col_dup(st, 3, &oom);
    o.expires = sqlite3_column_int64(st, 4);
    o.profile = col_dup(st, 5, &oom);
    o.error = col_dup(st, 6, &oom);
    csr = sqlite3_column_blob(st, 7);
    if (csr) {
        o.csr_len = (size_t)sqlite3_column_bytes(st, 7);
        o.csr = malloc(o.csr_len ? o.csr_len : 1);
        if (o.csr)
            memcpy(o.csr, csr, o.csr_len);
        else
            oom = 1;
    }
    o.cert_serial = col_dup(st, 8, &oom);
    o.cert_chain = col_dup(st, 9, &oom);
    o.created = sqlite3_column_int64(st, 10);
    if (oom) {
        rc = cs_err_set(err, CS_ENOMEM, "acme: out of memory reading an order");
        goto done;
    }
    rc = prepare(db, &az, "reading authorizations", err,
                 "SELECT id FROM acme_authorizations WHERE order_id = ? ORDER BY rowid", "s",
                 o.id);
    while (rc == CS_OK && (step = sqlite3_step(az)) == SQLITE_ROW) {
        if (o.authz_len == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            void *grown = realloc(o.authz, ncap * sizeof *o.authz);
            if (!grown) {
                rc = cs_err_set(err, CS_ENOMEM, "acme: out of memory reading an order");
                break;
            }
            o.authz = grown;
            cap = ncap;
        }
        col_copy(az, 0, o.authz[o.authz_len++], CSI_ACME_ID_LEN + 1);
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = db_fail(db, "reading authorizations", err);
done:
    sqlite3_finalize(az);
    if (rc != CS_OK) {
        csi_acme_order_clear(&o);
        return rc;
    }
    *out = o;
    return CS_OK;
}

static cs_code read_fresh(csi_acme_db *db, int64_t now, const char *order_sql,
                          const char *arg, cs_err *err);
static cs_code finish_read(csi_acme_db *db, cs_code rc, cs_err *err);

/* The order by sql (one text parameter), inside the lock. */
static cs_code order_where(csi_acme_db *db, const char *sql, const char *arg,
                           csi_acme_order *out, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    cs_code rc;
    int step;

    rc = prepare(db, &st, "reading an order", err, sql, "s", arg);
    if (rc == CS_OK) {
        step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = read_order(db, st, out, err);
        else if (step == SQLITE_DONE)
            rc = cs_err_set(err, CS_ENOENT, "acme: no such order");
        else
            rc = db_fail(db, "reading an order", err);
    }
    sqlite3_finalize(st);
    return rc;
}

cs_code csi_acme_db_order_new(csi_acme_db *db, const char *account, const char *identifiers,
                              int64_t expires, const char *profile,
                              const csi_acme_new_authz *az, size_t az_len, csi_acme_order *out,
                              cs_err *err)
{
    char order_id[CSI_ACME_ID_LEN + 1], authz_id[CSI_ACME_ID_LEN + 1];
    char chall_id[CSI_ACME_ID_LEN + 1], token[CSI_ACME_TOKEN_LEN + 1];
    size_t i, j;
    cs_code rc;

    rc = csi_acme_random_id(order_id, 16, err);
    if (rc != CS_OK)
        return rc;
    pthread_mutex_lock(&db->lock);
    rc = begin(db, err);
    if (rc != CS_OK) {
        pthread_mutex_unlock(&db->lock);
        return rc;
    }
    rc = run(db, "recording the order", NULL, err,
             "INSERT INTO acme_orders (id, account, status, identifiers, expires, profile,"
             " created) VALUES (?, ?, 'pending', ?, ?, ?, strftime('%s', 'now'))",
             "sssis", order_id, account, identifiers, expires, profile);
    for (i = 0; rc == CS_OK && i < az_len; i++) {
        rc = csi_acme_random_id(authz_id, 16, err);
        if (rc == CS_OK)
            rc = run(db, "recording an authorization", NULL, err,
                     "INSERT INTO acme_authorizations (id, order_id, type, value, wildcard,"
                     " status, expires) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                     "ssssii", authz_id, order_id, az[i].type, az[i].value,
                     (int64_t)(az[i].wildcard != 0), expires);
        for (j = 0; rc == CS_OK && j < az[i].challenges_len; j++) {
            rc = csi_acme_random_id(chall_id, 16, err);
            if (rc == CS_OK)
                rc = csi_acme_random_id(token, 32, err);
            if (rc == CS_OK)
                rc = run(db, "recording a challenge", NULL, err,
                         "INSERT INTO acme_challenges (id, authz, type, token, status)"
                         " VALUES (?, ?, ?, ?, 'pending')",
                         "ssss", chall_id, authz_id, az[i].challenges[j], token);
        }
    }
    if (rc == CS_OK)
        rc = order_where(db, "SELECT " ORDER_COLS " FROM acme_orders WHERE id = ?", order_id,
                         out, err);
    return finish(db, rc, err);
}

cs_code csi_acme_db_order_get(csi_acme_db *db, const char *id, int64_t now,
                              csi_acme_order *out, cs_err *err)
{
    cs_code rc = read_fresh(db, now, "?", id, err);

    if (rc != CS_OK)
        return rc;
    return finish_read(db, order_where(db, "SELECT " ORDER_COLS " FROM acme_orders WHERE id = ?",
                                       id, out, err), err);
}

cs_code csi_acme_db_order_by_serial(csi_acme_db *db, const char *serial, csi_acme_order *out,
                                    cs_err *err)
{
    cs_code rc;

    pthread_mutex_lock(&db->lock);
    rc = order_where(db, "SELECT " ORDER_COLS " FROM acme_orders WHERE cert_serial = ?",
                     serial, out, err);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

/* One conditional UPDATE: CS_EMISMATCH (what) when no row changed. */
static cs_code transition(csi_acme_db *db, const char *what, cs_err *err, const char *sql,
                          const char *fmt, const char *a, const char *b, const void *blob,
                          size_t blob_len)
{
    cs_code rc;
    int changes = 0;

    pthread_mutex_lock(&db->lock);
    if (fmt[0] == 'b')
        rc = run(db, what, &changes, err, sql, fmt, blob, blob_len, a);
    else if (strcmp(fmt, "ss") == 0)
        rc = run(db, what, &changes, err, sql, fmt, a, b);
    else
        rc = run(db, what, &changes, err, sql, fmt, a);
    if (rc == CS_OK && changes == 0)
        rc = cs_err_set(err, CS_EMISMATCH, "acme: %s: not in the state for it", what);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

cs_code csi_acme_db_order_processing(csi_acme_db *db, const char *id, const unsigned char *csr,
                                     size_t csr_len, cs_err *err)
{
    return transition(db, "finalizing the order", err,
                      "UPDATE acme_orders SET status = 'processing', csr = ?"
                      " WHERE id = ? AND status = 'ready'",
                      "bs", id, NULL, csr, csr_len);
}

cs_code csi_acme_db_order_unprocess(csi_acme_db *db, const char *id, cs_err *err)
{
    return transition(db, "putting the order back to ready", err,
                      "UPDATE acme_orders SET status = 'ready', csr = NULL"
                      " WHERE id = ? AND status = 'processing'",
                      "s", id, NULL, NULL, 0);
}

cs_code csi_acme_db_order_issued(csi_acme_db *db, const char *id, const char *serial,
                                 const char *chain, int64_t not_before, int64_t not_after,
                                 cs_err *err)
{
    cs_code rc;
    int changes = 0;

    pthread_mutex_lock(&db->lock);
    rc = run(db, "recording the certificate", &changes, err,
             "UPDATE acme_orders SET status = 'valid', cert_serial = ?, cert_chain = ?,"
             " not_before = ?, not_after = ? WHERE id = ? AND status = 'processing'",
             "ssiis", serial, chain, not_before, not_after, id);
    if (rc == CS_OK && changes == 0)
        rc = cs_err_set(err, CS_EMISMATCH, "acme: order %s is not processing", id);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

cs_code csi_acme_db_order_fail(csi_acme_db *db, const char *id, const char *error, cs_err *err)
{
    return transition(db, "failing the order", err,
                      "UPDATE acme_orders SET status = 'invalid', error = ?"
                      " WHERE id = ? AND status IN ('pending', 'ready', 'processing')",
                      "ss", error, id, NULL, 0);
}

/* The ids sql selects (one text parameter, or none when arg is NULL). */
static cs_code select_ids(csi_acme_db *db, const char *sql, const char *arg, int64_t max,
                          char (**ids)[CSI_ACME_ID_LEN + 1], size_t *n, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    char (*list)[CSI_ACME_ID_LEN + 1] = NULL;
    size_t used = 0, cap = 0;
    int step = SQLITE_DONE;
    cs_code rc;

    pthread_mutex_lock(&db->lock);
    rc = arg ? prepare(db, &st, "listing orders", err, sql, "si", arg, max)
             : prepare(db, &st, "listing orders", err, sql, "i", max);
    while (rc == CS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (used == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            void *grown = realloc(list, ncap * sizeof *list);
            if (!grown) {
                rc = cs_err_set(err, CS_ENOMEM, "acme: out of memory listing orders");
                break;
            }
            list = grown;
            cap = ncap;
        }
        col_copy(st, 0, list[used++], CSI_ACME_ID_LEN + 1);
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = db_fail(db, "listing orders", err);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    if (rc != CS_OK) {
        free(list);
        return rc;
    }
    *ids = list;
    *n = used;
    return CS_OK;
}

cs_code csi_acme_db_orders_processing(csi_acme_db *db, char (**ids)[CSI_ACME_ID_LEN + 1],
                                      size_t *n, cs_err *err)
{
    return select_ids(db, "SELECT id FROM acme_orders WHERE status = 'processing'"
                          " ORDER BY created LIMIT ?",
                      NULL, INT64_MAX, ids, n, err);
}

cs_code csi_acme_db_account_orders(csi_acme_db *db, const char *account, size_t max,
                                   char (**ids)[CSI_ACME_ID_LEN + 1], size_t *n, cs_err *err)
{
    return select_ids(db, "SELECT id FROM acme_orders WHERE account = ?"
                          " ORDER BY created DESC, rowid DESC LIMIT ?",
                      account, (int64_t)max, ids, n, err);
}

/* ---- authorizations and challenges ---- */

static cs_code read_challenge(sqlite3_stmt *st, csi_acme_challenge *c, cs_err *err)
{
    int oom = 0;

    memset(c, 0, sizeof *c);
    col_copy(st, 0, c->id, sizeof c->id);
    col_copy(st, 1, c->authz, sizeof c->authz);
    col_copy(st, 2, c->type, sizeof c->type);
    col_copy(st, 3, c->token, sizeof c->token);
    col_copy(st, 4, c->status, sizeof c->status);
    c->validated = sqlite3_column_int64(st, 5);
    c->error = col_dup(st, 6, &oom);
    if (oom)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory reading a challenge");
    return CS_OK;
}

#define CHALLENGE_COLS "id, authz, type, token, status, validated, error"

/* The authorization id with its challenges, inside the lock. */
static cs_code authz_read(csi_acme_db *db, const char *id, csi_acme_authz *out, cs_err *err)
{
    csi_acme_authz z;
    sqlite3_stmt *st = NULL;
    int oom = 0, step;
    size_t cap = 0;
    cs_code rc;

    memset(&z, 0, sizeof z);
    rc = prepare(db, &st, "reading an authorization", err,
                 "SELECT z.id, z.order_id, o.account, z.type, z.value, z.wildcard, z.status,"
                 " z.expires FROM acme_authorizations z JOIN acme_orders o"
                 " ON o.id = z.order_id WHERE z.id = ?",
                 "s", id);
    if (rc != CS_OK)
        return rc;
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        col_copy(st, 0, z.id, sizeof z.id);
        col_copy(st, 1, z.order, sizeof z.order);
        col_copy(st, 2, z.account, sizeof z.account);
        col_copy(st, 3, z.type, sizeof z.type);
        z.value = col_dup(st, 4, &oom);
        z.wildcard = sqlite3_column_int(st, 5);
        col_copy(st, 6, z.status, sizeof z.status);
        z.expires = sqlite3_column_int64(st, 7);
        if (oom)
            rc = cs_err_set(err, CS_ENOMEM, "acme: out of memory reading an authorization");
    } else if (step == SQLITE_DONE) {
        rc = cs_err_set(err, CS_ENOENT, "acme: no such authorization");
    } else {
        rc = db_fail(db, "reading an authorization", err);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == CS_OK)
        rc = prepare(db, &st, "reading challenges", err,
                     "SELECT " CHALLENGE_COLS " FROM acme_challenges WHERE authz = ?"
                     " ORDER BY rowid",
                     "s", id);
    while (rc == CS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (z.challenges_len == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            void *grown = realloc(z.challenges, ncap * sizeof *z.challenges);
            if (!grown) {
                rc = cs_err_set(err, CS_ENOMEM, "acme: out of memory reading challenges");
                break;
            }
            z.challenges = grown;
            cap = ncap;
        }
        rc = read_challenge(st, &z.challenges[z.challenges_len], err);
        z.challenges_len++;
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = db_fail(db, "reading challenges", err);
    sqlite3_finalize(st);
    if (rc != CS_OK) {
        csi_acme_authz_clear(&z);
        return rc;
    }
    *out = z;
    return CS_OK;
}

/* Before a read: take the lock and, if the order order_sql names (as
 * expire) is pending or ready past its expiry, expire it in a transaction
 * of its own. A read of a live order takes no write lock, so polling
 * clients do not queue behind the Lua side's issuing. On success the lock
 * is held; give it back with finish_read. */
static cs_code read_fresh(csi_acme_db *db, int64_t now, const char *order_sql,
                          const char *arg, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    char sql[512];
    int due = 0;
    cs_code rc;

    pthread_mutex_lock(&db->lock);
    snprintf(sql, sizeof sql, "SELECT 1 FROM acme_orders WHERE id = %s AND expires < ?"
             " AND status IN ('pending', 'ready')", order_sql);
    rc = prepare(db, &st, "reading an order's expiry", err, sql, "si", arg, now);
    if (rc == CS_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            due = 1;
        else if (step != SQLITE_DONE)
            rc = db_fail(db, "reading an order's expiry", err);
    }
    sqlite3_finalize(st);
    if (rc == CS_OK && due) {
        rc = begin(db, err);
        if (rc == CS_OK)
            rc = expire(db, now, order_sql, arg, err);
        if (rc == CS_OK && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_fail(db, "committing", err);
        if (rc != CS_OK)
            (void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != CS_OK)
        pthread_mutex_unlock(&db->lock);
    return rc;
}

/* After a read started by read_fresh: unlock, rc as it was. */
static cs_code finish_read(csi_acme_db *db, cs_code rc, cs_err *err)
{
    (void)err;
    pthread_mutex_unlock(&db->lock);
    return rc;
}

cs_code csi_acme_db_authz_get(csi_acme_db *db, const char *id, int64_t now,
                              csi_acme_authz *out, cs_err *err)
{
    cs_code rc = read_fresh(db, now,
                            "(SELECT order_id FROM acme_authorizations WHERE id = ?)", id, err);

    if (rc != CS_OK)
        return rc;
    return finish_read(db, authz_read(db, id, out, err), err);
}

cs_code csi_acme_db_authz_deactivate(csi_acme_db *db, const char *id, const char *order_error,
                                     cs_err *err)
{
    cs_code rc;
    int changes = 0;

    pthread_mutex_lock(&db->lock);
    rc = begin(db, err);
    if (rc != CS_OK) {
        pthread_mutex_unlock(&db->lock);
        return rc;
    }
    rc = run(db, "deactivating the authorization", &changes, err,
             "UPDATE acme_authorizations SET status = 'deactivated'"
             " WHERE id = ? AND status IN ('pending', 'valid')",
             "s", id);
    if (rc == CS_OK && changes == 0)
        rc = cs_err_set(err, CS_EMISMATCH, "acme: authorization %s is neither pending nor "
                        "valid", id);
    if (rc == CS_OK)
        rc = run(db, "failing the order", NULL, err,
                 "UPDATE acme_orders SET status = 'invalid', error = ? WHERE status IN"
                 " ('pending', 'ready') AND id = (SELECT order_id FROM acme_authorizations"
                 " WHERE id = ?)",
                 "ss", order_error, id);
    return finish(db, rc, err);
}

cs_code csi_acme_db_challenge_get(csi_acme_db *db, const char *id, int64_t now,
                                  csi_acme_challenge *out, csi_acme_authz *authz, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    csi_acme_challenge c;
    cs_code rc = read_fresh(db, now,
                            "(SELECT z.order_id FROM acme_authorizations z JOIN acme_challenges c"
                            " ON c.authz = z.id WHERE c.id = ?)",
                            id, err);
    int step;

    if (rc != CS_OK)
        return rc;
    memset(&c, 0, sizeof c);
    rc = prepare(db, &st, "reading a challenge", err,
                 "SELECT " CHALLENGE_COLS " FROM acme_challenges WHERE id = ?", "s", id);
    if (rc == CS_OK) {
        step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = read_challenge(st, &c, err);
        else if (step == SQLITE_DONE)
            rc = cs_err_set(err, CS_ENOENT, "acme: no such challenge");
        else
            rc = db_fail(db, "reading a challenge", err);
    }
    sqlite3_finalize(st);
    if (rc == CS_OK)
        rc = authz_read(db, c.authz, authz, err);
    if (rc != CS_OK)
        csi_acme_challenge_clear(&c);
    else
        *out = c;
    return finish_read(db, rc, err);
}

cs_code csi_acme_db_challenge_start(csi_acme_db *db, const char *id, cs_err *err)
{
    return transition(db, "starting the challenge", err,
                      "UPDATE acme_challenges SET status = 'processing' WHERE id = ?"
                      " AND status = 'pending' AND (SELECT status FROM acme_authorizations"
                      " WHERE id = acme_challenges.authz) = 'pending'",
                      "s", id, NULL, NULL, 0);
}

cs_code csi_acme_db_challenge_reset(csi_acme_db *db, const char *id, cs_err *err)
{
    return transition(db, "resetting the challenge", err,
                      "UPDATE acme_challenges SET status = 'pending'"
                      " WHERE id = ? AND status = 'processing'",
                      "s", id, NULL, NULL, 0);
}

cs_code csi_acme_db_challenge_done(csi_acme_db *db, const char *id, const char *error,
                                   int64_t now, cs_err *err)
{
    cs_code rc;
    int changes = 0;

    pthread_mutex_lock(&db->lock);
    rc = begin(db, err);
    if (rc != CS_OK) {
        pthread_mutex_unlock(&db->lock);
        return rc;
    }
    rc = run(db, "recording the validation", &changes, err,
             "UPDATE acme_challenges SET status = ?, validated = ?, error = ?"
             " WHERE id = ? AND status = 'processing'",
             "siss", error ? "invalid" : "valid", error ? (int64_t)0 : now, error, id);
    if (rc == CS_OK && changes == 0)
        rc = cs_err_set(err, CS_EMISMATCH, "acme: challenge %s is not processing", id);
    /* the authorization follows its challenge, if it still waits */
    if (rc == CS_OK)
        rc = run(db, "recording the authorization", NULL, err,
                 "UPDATE acme_authorizations SET status = ? WHERE status = 'pending'"
                 " AND id = (SELECT authz FROM acme_challenges WHERE id = ?)",
                 "ss", error ? "invalid" : "valid", id);
    /* the order: invalid with the challenge's problem, or ready once every
     * authorization is valid */
    if (rc == CS_OK && error)
        rc = run(db, "failing the order", NULL, err,
                 "UPDATE acme_orders SET status = 'invalid', error = ? WHERE status = 'pending'"
                 " AND id = (SELECT z.order_id FROM acme_authorizations z JOIN acme_challenges c"
                 " ON c.authz = z.id WHERE c.id = ?)",
                 "ss", error, id);
    if (rc == CS_OK && !error)
        rc = run(db, "readying the order", NULL, err,
                 "UPDATE acme_orders SET status = 'ready' WHERE status = 'pending'"
                 " AND id = (SELECT z.order_id FROM acme_authorizations z JOIN acme_challenges c"
                 " ON c.authz = z.id WHERE c.id = ?) AND NOT EXISTS (SELECT 1 FROM"
                 " acme_authorizations WHERE order_id = acme_orders.id AND status != 'valid')",
                 "s", id);
    return finish(db, rc, err);
}

/* ---- certificates ---- */

cs_code csi_acme_db_certificate(csi_acme_db *db, const char *serial, char **pem,
                                int64_t *revoked_at, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    cs_code rc;
    int step, oom = 0;

    pthread_mutex_lock(&db->lock);
    rc = prepare(db, &st, "reading a certificate", err,
                 "SELECT pem, coalesce(revoked_at, 0) FROM certificates WHERE serial = ?"
                 " ORDER BY id LIMIT 1",
                 "s", serial);
    if (rc == CS_OK) {
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            *pem = col_dup(st, 0, &oom);
            *revoked_at = sqlite3_column_int64(st, 1);
            if (oom || !*pem)
                rc = cs_err_set(err, CS_ENOMEM, "acme: out of memory reading a certificate");
        } else if (step == SQLITE_DONE) {
            rc = cs_err_set(err, CS_ENOENT, "acme: no certificate with serial %s", serial);
        } else {
            rc = db_fail(db, "reading a certificate", err);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

/* ---- one-time tokens ---- */

cs_code csi_acme_db_use_token(csi_acme_db *db, const char *jti, int64_t expires, int64_t now,
                              cs_err *err)
{
    cs_code rc;

    pthread_mutex_lock(&db->lock);
    rc = begin(db, err);
    if (rc != CS_OK) {
        pthread_mutex_unlock(&db->lock);
        return rc;
    }
    rc = run(db, "dropping expired token ids", NULL, err,
             "DELETE FROM acme_used_tokens WHERE expires < ?", "i", now);
    if (rc == CS_OK)
        rc = run(db, "recording the token id", NULL, err,
                 "INSERT INTO acme_used_tokens (jti, expires) VALUES (?, ?)", "si", jti,
                 expires);
    if (rc == CS_EEXIST)
        cs_err_set(err, CS_EEXIST, "token id %s was used before", jti);
    return finish(db, rc, err);
}
