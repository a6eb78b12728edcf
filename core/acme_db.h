/* The ACME tables of the CA database (schema 4, core/store.c creates
 * them): accounts, orders, authorizations, challenges, used token ids.
 * Internal to core/acme*.c (and their tests): csi_ names.
 *
 * One SQLite connection of its own, behind a mutex (request threads and
 * validator threads call in at once); every call is one short transaction,
 * and a state change is a conditional UPDATE ("... WHERE status =
 * 'ready'"), so two requests racing for the same order cannot both win.
 * Strings in records are malloc'd and owned by the record (free with the
 * record's free function); id fields are fixed buffers. */
#ifndef CS_ACME_DB_H
#define CS_ACME_DB_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CSI_ACME_ID_LEN 22 /* base64url of 16 random bytes */
#define CSI_ACME_TOKEN_LEN 43 /* base64url of 32 random bytes (RFC 8555 8.1: >= 128 bits) */

typedef struct csi_acme_db csi_acme_db;

typedef struct csi_acme_account {
    char id[CSI_ACME_ID_LEN + 1];
    char *jwk;        /* canonical JWK */
    char *thumbprint;
    char status[16];  /* valid, deactivated */
    char *contact;    /* JSON array */
    char *eab_kid;    /* NULL when none */
    int64_t created;
} csi_acme_account;

typedef struct csi_acme_order {
    char id[CSI_ACME_ID_LEN + 1];
    char account[CSI_ACME_ID_LEN + 1];
    char status[16];   /* pending, ready, processing, valid, invalid */
    char *identifiers; /* JSON array of {"type","value"} */
    int64_t expires;
    char *profile;     /* NULL until policy chose */
    char *error;       /* JSON problem document, or NULL */
    unsigned char *csr;
    size_t csr_len;
    char *cert_serial;
    char *cert_chain;
    int64_t created;
    /* the authorizations' ids, in identifier order */
    char (*authz)[CSI_ACME_ID_LEN + 1];
    size_t authz_len;
} csi_acme_order;

typedef struct csi_acme_challenge {
    char id[CSI_ACME_ID_LEN + 1];
    char authz[CSI_ACME_ID_LEN + 1];
    char type[16];     /* http-01, dns-01, tls-alpn-01 */
    char token[CSI_ACME_TOKEN_LEN + 1];
    char status[16];   /* pending, processing, valid, invalid */
    int64_t validated; /* 0 until valid */
    char *error;       /* JSON problem document, or NULL */
} csi_acme_challenge;

typedef struct csi_acme_authz {
    char id[CSI_ACME_ID_LEN + 1];
    char order[CSI_ACME_ID_LEN + 1];
    char account[CSI_ACME_ID_LEN + 1]; /* the order's */
    char type[8];      /* dns */
    char *value;       /* without "*." */
    int wildcard;
    char status[16];   /* pending, valid, invalid, deactivated, expired */
    int64_t expires;
    csi_acme_challenge *challenges;
    size_t challenges_len;
} csi_acme_authz;

/* What a new order is made of (csi_acme_db_order_new). */
typedef struct csi_acme_new_authz {
    const char *type;  /* "dns" */
    const char *value; /* without "*." */
    int wildcard;
    const char *const *challenges; /* the types offered */
    size_t challenges_len;
} csi_acme_new_authz;

/* Open path (cs_store_open first, so the schema is 4). CS_EDB, CS_ENOMEM. */
CS_NODISCARD cs_code csi_acme_db_open(const char *path, csi_acme_db **out, cs_err *err);
void csi_acme_db_close(csi_acme_db *db);

/* A fresh random id (CSI_ACME_ID_LEN base64url characters and a NUL). */
CS_NODISCARD cs_code csi_acme_random_id(char *out, size_t bytes, cs_err *err);

void csi_acme_account_clear(csi_acme_account *a);
void csi_acme_order_clear(csi_acme_order *o);
void csi_acme_authz_clear(csi_acme_authz *z);
void csi_acme_challenge_clear(csi_acme_challenge *c);

/* ---- accounts ---- */
/* Insert a (status "valid"): CS_EEXIST when its thumbprint is taken (the
 * other account's id in *other, CSI_ACME_ID_LEN + 1 bytes). */
CS_NODISCARD cs_code csi_acme_db_account_insert(csi_acme_db *db, const csi_acme_account *a,
                                                char *other, cs_err *err);
/* By id or by thumbprint: CS_ENOENT when there is none. */
CS_NODISCARD cs_code csi_acme_db_account_get(csi_acme_db *db, const char *id,
                                             csi_acme_account *out, cs_err *err);
CS_NODISCARD cs_code csi_acme_db_account_by_thumbprint(csi_acme_db *db, const char *thumbprint,
                                                       csi_acme_account *out, cs_err *err);
/* contact (JSON array; NULL: unchanged) and status (NULL: unchanged). */
CS_NODISCARD cs_code csi_acme_db_account_update(csi_acme_db *db, const char *id,
                                                const char *contact, const char *status,
                                                cs_err *err);
/* keyChange: the account's key becomes jwk if its key is still old_jwk
 * (CS_EMISMATCH otherwise); CS_EEXIST when another account holds it (its
 * id in *other). */
CS_NODISCARD cs_code csi_acme_db_account_rekey(csi_acme_db *db, const char *id,
                                               const char *old_jwk, const char *jwk,
                                               const char *thumbprint, char *other,
                                               cs_err *err);

/* ---- orders ---- */
/* A new pending order of account with its authorizations (one per
 * identifier, each with one challenge per type offered), all in one
 * transaction. o->id, account, identifiers, expires, profile are read;
 * ids and tokens are made here. *out gets the stored order. */
CS_NODISCARD cs_code csi_acme_db_order_new(csi_acme_db *db, const char *account,
                                           const char *identifiers, int64_t expires,
                                           const char *profile, const csi_acme_new_authz *az,
                                           size_t az_len, csi_acme_order *out, cs_err *err);
/* By id (CS_ENOENT). A pending or ready order past its expiry is made
 * invalid here first (and its pending authorizations expired). */
CS_NODISCARD cs_code csi_acme_db_order_get(csi_acme_db *db, const char *id, int64_t now,
                                           csi_acme_order *out, cs_err *err);
/* ready -> processing with csr; CS_EMISMATCH when the order is not ready
 * (any more). */
CS_NODISCARD cs_code csi_acme_db_order_processing(csi_acme_db *db, const char *id,
                                                  const unsigned char *csr, size_t csr_len,
                                                  cs_err *err);
/* processing -> ready again (the ask could not be queued). */
CS_NODISCARD cs_code csi_acme_db_order_unprocess(csi_acme_db *db, const char *id, cs_err *err);
/* processing -> valid with the certificate; CS_EMISMATCH when not processing. */
CS_NODISCARD cs_code csi_acme_db_order_issued(csi_acme_db *db, const char *id,
                                              const char *serial, const char *chain,
                                              int64_t not_before, int64_t not_after,
                                              cs_err *err);
/* -> invalid with a problem document (JSON); from pending, ready or
 * processing only (CS_EMISMATCH otherwise). */
CS_NODISCARD cs_code csi_acme_db_order_fail(csi_acme_db *db, const char *id, const char *error,
                                            cs_err *err);
/* The ids of the orders in processing (finalize asks to queue again after
 * a restart); free *ids with free(). */
CS_NODISCARD cs_code csi_acme_db_orders_processing(csi_acme_db *db,
                                                   char (**ids)[CSI_ACME_ID_LEN + 1],
                                                   size_t *n, cs_err *err);
/* The order that got certificate serial (upper-case hex): CS_ENOENT if none. */
CS_NODISCARD cs_code csi_acme_db_order_by_serial(csi_acme_db *db, const char *serial,
                                                 csi_acme_order *out, cs_err *err);
/* The ids of account's orders, newest first, at most max. */
CS_NODISCARD cs_code csi_acme_db_account_orders(csi_acme_db *db, const char *account,
                                                size_t max, char (**ids)[CSI_ACME_ID_LEN + 1],
                                                size_t *n, cs_err *err);

/* ---- authorizations and challenges ---- */
CS_NODISCARD cs_code csi_acme_db_authz_get(csi_acme_db *db, const char *id, int64_t now,
                                           csi_acme_authz *out, cs_err *err);
/* pending or valid -> deactivated; its order, if pending or ready, becomes
 * invalid. CS_EMISMATCH from another status. */
CS_NODISCARD cs_code csi_acme_db_authz_deactivate(csi_acme_db *db, const char *id,
                                                  const char *order_error, cs_err *err);
/* The challenge and its authorization (CS_ENOENT). */
CS_NODISCARD cs_code csi_acme_db_challenge_get(csi_acme_db *db, const char *id, int64_t now,
                                               csi_acme_challenge *out, csi_acme_authz *authz,
                                               cs_err *err);
/* pending -> processing, if its authorization is still pending:
 * CS_EMISMATCH otherwise (already started, or the authorization is done). */
CS_NODISCARD cs_code csi_acme_db_challenge_start(csi_acme_db *db, const char *id, cs_err *err);
/* processing -> pending again: the validator stopped before it checked
 * (server shutdown), which is not the client's failure. */
CS_NODISCARD cs_code csi_acme_db_challenge_reset(csi_acme_db *db, const char *id, cs_err *err);
/* processing -> valid (error NULL) or invalid (error: a problem document),
 * and with it the authorization valid or invalid, and the order ready (all
 * its authorizations valid) or invalid. */
CS_NODISCARD cs_code csi_acme_db_challenge_done(csi_acme_db *db, const char *id,
                                                const char *error, int64_t now, cs_err *err);

/* ---- issued certificates (the certificates table) ---- */
/* The PEM and revocation time (0: not revoked) of serial: CS_ENOENT. */
CS_NODISCARD cs_code csi_acme_db_certificate(csi_acme_db *db, const char *serial, char **pem,
                                             int64_t *revoked_at, cs_err *err);

/* ---- the signing API's one-time tokens ---- */
/* Record jti as used until expires: CS_EEXIST when it was used before.
 * Rows past their expiry are dropped on the way. */
CS_NODISCARD cs_code csi_acme_db_use_token(csi_acme_db *db, const char *jti, int64_t expires,
                                           int64_t now, cs_err *err);

#endif
