/* What the ACME server's files share, and only they: acme.c (the object,
 * dispatch, JWS checks, replies), acme_account.c (newAccount, account
 * update, keyChange), acme_order.c (newOrder, orders, authorizations,
 * challenges, finalize, download), acme_revoke.c, acme_nonce.c and
 * acme_queue.c (the ACME side of decision_queue.c). */
#ifndef CS_ACME_INTERNAL_H
#define CS_ACME_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "acme.h"
#include "acme_db.h"
#include "acme_validate.h"
#include "decision_queue.h"
#include "jws.h"
#include "key.h"
#include "server.h"

/* ---- nonces, in acme_nonce.c ----
 * In memory, not in ca.db: a nonce lives for seconds, and a database write
 * per request would put one more fsync on every ACME call. RFC 8555 6.5
 * lets a server refuse any nonce (badNonce) and clients retry with the
 * fresh one that error carries, so forgetting them on a restart, or the
 * oldest once `capacity` are out, costs a client one retry, never safety:
 * a nonce is accepted at most once, ever. */
#define CSI_NONCE_LEN 32 /* base64url of an 8-byte sequence number and a 16-byte MAC */
typedef struct csi_nonces csi_nonces;
CS_NODISCARD cs_code csi_nonces_new(size_t capacity, csi_nonces **out, cs_err *err);
void csi_nonces_free(csi_nonces *n);
/* A fresh nonce into out (CSI_NONCE_LEN + 1 bytes). */
CS_NODISCARD cs_code csi_nonce_make(csi_nonces *n, char *out, cs_err *err);
/* 1: nonce was handed out, not used yet and not pushed out: now used. 0 otherwise. */
int csi_nonce_use(csi_nonces *n, const char *nonce);

/* ---- the decision queue: decision_queue.c, its ACME side in acme_queue.c ---- */

/* A copied answer, owned by the request that waited for it. */
typedef struct csi_answer {
    int ok;
    char *type, *detail, *profile, *chain_pem, *serial_hex;
    char **challenges;
    size_t challenges_len;
} csi_answer;
void csi_answer_free(csi_answer *a);
CS_NODISCARD cs_code csi_answer_copy(const cs_acme_decision *a, csi_answer **out, cs_err *err);

/* What a decision queue of ACME asks is (csi_dq_new(&csi_acme_queue, ...));
 * the typed calls below go through it. */
extern const csi_dq_type csi_acme_queue;
/* Queue ask (taken over whatever happens) and wait up to timeout_ms for its
 * answer (*out, on ANSWERED). */
csi_wait csi_queue_ask(csi_dq *q, cs_acme_ask *ask, int timeout_ms, csi_answer **out);
/* Queue ask (taken over; NULL: NOMEM) without waiting: its answer goes to
 * whoever calls csi_queue_answer, who learns the kind and the order. */
csi_wait csi_queue_post(csi_dq *q, cs_acme_ask *ask);
CS_NODISCARD cs_code csi_queue_next(csi_dq *q, int timeout_ms, cs_acme_ask **out, cs_err *err);
/* The kind of the taken ask id waiting for an answer: CS_ENOENT when none. */
CS_NODISCARD cs_code csi_queue_kind(csi_dq *q, uint64_t id, cs_acme_ask_kind *kind,
                                    cs_err *err);
/* Deliver a (copied) to the request waiting for id, or, for a posted ask,
 * hand back its order id (*order, CSI_ACME_ID_LEN + 1 bytes; "" for a
 * waited one). CS_ENOENT when id waits no more. */
CS_NODISCARD cs_code csi_queue_answer(csi_dq *q, uint64_t id, const cs_acme_decision *a,
                                      char *order, cs_err *err);

/* ---- outcomes a request waits for briefly, in acme_settle.c ----
 * A finalize's or a challenge's reply waits up to CSI_SETTLE_MS for its
 * outcome (the Lua loop's answer, the validator's verdict), so a client
 * mostly reads the result in the reply instead of polling. Well below any
 * request deadline (the body's 5 s; a handler's is its ask timeout + 5 s). */
#define CSI_SETTLE_MS 2000
#define CSI_SETTLE_RING 256
typedef struct csi_settle {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long count; /* outcomes noted so far */
    char ids[CSI_SETTLE_RING][CSI_ACME_ID_LEN + 1]; /* outcome n's id at n % RING */
    int closed;
} csi_settle;
CS_NODISCARD cs_code csi_settle_new(csi_settle **out, cs_err *err);
void csi_settle_free(csi_settle *s); /* NULL is fine */
/* Outcomes noted so far: read it before starting the work waited for. */
unsigned long csi_settle_count(csi_settle *s);
/* id's outcome is recorded: wake its waiter. */
void csi_settle_note(csi_settle *s, const char *id);
/* Wake every waiter for good (the server stops). */
void csi_settle_close(csi_settle *s);
/* Wait up to timeout_ms for id's outcome noted after *since (updated):
 * 1 it was noted (or maybe: too many were, read again), 0 timeout or closed. */
int csi_settle_wait(csi_settle *s, const char *id, unsigned long *since, int timeout_ms);

/* ---- the server object ---- */
typedef struct csi_eab {
    char *kid;
    unsigned char *key;
    size_t key_len;
} csi_eab;

struct cs_acme {
    char *base_url; /* no trailing '/' */
    char *terms;
    int eab_required;
    csi_eab *eab;
    size_t eab_len;
    char *chain_pem;
    int ask_timeout_ms;
    int order_lifetime_s;
    csi_acme_db *db;
    csi_nonces *nonces;
    csi_dq *queue;
    csi_settle *settle;
    cs_validator *validator;
    char *directory; /* the directory document, made at start */
};

/* ---- one request, as the endpoint functions see it ---- */
typedef struct acme_req {
    cs_acme *acme;
    const cs_http_request *http;
    cs_http_reply *out;
    const char *tail; /* the path after "/acme" */
    int64_t now;
    /* after csi_acme_authenticate */
    cs_jws *jws;
    cs_key *key;          /* the key that signed: the jwk's, or the account's */
    const char *url;      /* the JWS url (base_url .. path) */
    json_t *payload;      /* NULL for POST-as-GET (empty payload) */
    csi_acme_account account; /* when signed with kid */
    int has_account;
} acme_req;

/* Which key a request must be signed with (RFC 8555 6.2). */
typedef enum csi_signer { CSI_SIGNER_JWK, CSI_SIGNER_KID, CSI_SIGNER_EITHER } csi_signer;

/* Check a POST (Content-Type, JWS, url, key, signature, nonce, payload
 * JSON): 0 and r filled, or -1 with the problem already in r->out. */
int csi_acme_authenticate(acme_req *r, csi_signer signer);
void csi_acme_req_clear(acme_req *r);

/* Replies. status_problem: a problem document ("malformed" etc., without
 * the urn prefix), the detail printf-formatted. reply_json takes body. */
void csi_acme_problem(acme_req *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void csi_acme_reply_json(acme_req *r, int status, json_t *body, const char *location);
/* "base_url/acme/<kind>/<id>" into out (cap bytes). */
void csi_acme_url(const cs_acme *acme, char *out, size_t cap, const char *kind, const char *id);
/* A header the reply needs; on failure the reply becomes a 500. */
void csi_acme_header(acme_req *r, const char *name, const char *value);
/* A problem document as JSON text (for the database); free with free(). */
char *csi_acme_problem_json(const char *type, const char *detail, int status);
/* The HTTP status RFC 8555 pairs with a problem type. */
int csi_acme_problem_status(const char *type);
/* Whether type is an RFC 8555 error type (without the prefix). */
int csi_acme_problem_known(const char *type);
/* A time as RFC 3339 ("2026-12-02T08:00:00Z") into out (32 bytes). */
void csi_acme_time(int64_t t, char *out);
/* Wait for the Lua side to answer ask (taken over): 0 and *out, or -1 with
 * the problem (503 on timeout or close) already in r->out. */
int csi_acme_ask(acme_req *r, cs_acme_ask *ask, csi_answer **out);
/* A new ask of kind for account a (contact parsed from its JSON). */
cs_acme_ask *csi_acme_ask_new(cs_acme_ask_kind kind, const csi_acme_account *a);

/* ---- endpoints ---- */
void csi_acme_new_account(acme_req *r);
void csi_acme_account_post(acme_req *r, const char *id);
void csi_acme_key_change(acme_req *r);
void csi_acme_new_order(acme_req *r);
void csi_acme_order_post(acme_req *r, const char *id);
void csi_acme_orders_post(acme_req *r, const char *account);
void csi_acme_authz_post(acme_req *r, const char *id);
void csi_acme_challenge_post(acme_req *r, const char *id);
void csi_acme_finalize(acme_req *r, const char *id);
void csi_acme_cert_post(acme_req *r, const char *id);
void csi_acme_revoke(acme_req *r);
/* Queue the finalize ask of an order in processing again (after a restart). */
CS_NODISCARD cs_code csi_acme_requeue_finalize(cs_acme *acme, const char *order, cs_err *err);
/* A finalize answer, recorded on the order (called by cs_acme_answer). */
CS_NODISCARD cs_code csi_acme_finalize_answer(cs_acme *acme, const char *order,
                                              const cs_acme_decision *a, cs_err *err);

#endif
