/* The ACME server (RFC 8555): a cs_handler for the prefix "/acme" that the
 * embedded server mounts, and the decision queue through which it asks the
 * Lua side (policy) what it may not decide alone.
 *
 * Threads: the handler runs on CivetWeb's worker threads and the validator's
 * threads; it never touches Lua. Whatever needs policy (a new account, a new
 * order, a finalize, a revocation) becomes an "ask" on the queue; the Lua
 * main loop takes asks with cs_acme_next and answers with cs_acme_answer.
 * A worker waits for the answer (bounded: ask_timeout_ms, then 503 +
 * Retry-After), except for finalize: the order goes to "processing", the ask
 * is queued and the client is answered at once (it polls the order). */
#ifndef CS_ACME_H
#define CS_ACME_H

#include <stddef.h>
#include <stdint.h>

#include "csr.h"
#include "error.h"
#include "server.h"

/* The server. Constructor: cs_acme_new. Destructor: cs_acme_free (NULL is
 * fine), after the cs_server mounting it has stopped. */
typedef struct cs_acme cs_acme;

/* An External Account Binding key (RFC 8555 7.3.4): the key id a client
 * names and the HMAC key, base64url (no padding) as given to the client. */
typedef struct cs_acme_eab_key {
    const char *kid;
    const char *hmac_b64url;
} cs_acme_eab_key;

/* How challenges are validated (copied into the validator's config,
 * acme_validate.h): ports standing in for 80/443, name resolution rules,
 * the DNS server for dns-01; 0/NULL: the defaults. */
typedef struct cs_acme_validation {
    int http_port;            /* http-01; 0: 80 */
    int tls_port;             /* tls-alpn-01; 0: 443 */
    const char *const *resolve; /* "pattern=address": "*.test=127.0.0.1" */
    size_t resolve_len;
    const char *dns_resolver; /* "127.0.0.1:8053"; NULL: the system's */
    int workers;              /* validations at once; 0: the validator's default */
    int timeout_ms;           /* per validation; 0: the validator's default */
} cs_acme_validation;

typedef struct cs_acme_config {
    const char *db_path;  /* the CA database (ca.db, schema 4) */
    /* The external URL clients use, no trailing '/': "https://localhost:8443".
     * Every URL the server hands out starts with it, and a JWS "url" header
     * must be exactly base_url followed by the request path. */
    const char *base_url;
    const char *terms;    /* meta.termsOfService; NULL: none */
    int eab_required;     /* 1: newAccount without externalAccountBinding is refused */
    const cs_acme_eab_key *eab_keys;
    size_t eab_keys_len;
    /* PEM appended after the leaf on certificate download (the
     * intermediate); NULL: what the finalize answer's chain holds alone. */
    const char *chain_pem;
    cs_acme_validation validation;
    int ask_timeout_ms;   /* how long a request waits for Lua; 0: 10000 */
    int order_lifetime_s; /* orders and authorizations expire; 0: 86400 */
    int nonce_capacity;   /* live nonces kept (oldest dropped first); 0: 65536 */
} cs_acme_config;

/* Open the database (schema 4; migrated from older ones), start the
 * validator and make the queue. Config strings are copied. CS_EINVAL names
 * a bad field (base_url not http(s)://host, an EAB key that is not
 * base64url, a resolve rule without '='); CS_EDB, CS_ENOMEM. */
CS_NODISCARD cs_code cs_acme_new(const cs_acme_config *cfg, cs_acme **out, cs_err *err);
/* Stop the validator, fail every ask still waiting, close the database. */
void cs_acme_free(cs_acme *acme);

/* The handler to mount: prefix "/acme", HTTPS only, ctx acme. */
cs_handler cs_acme_handler(cs_acme *acme);

/* ---- the decision queue ---- */

typedef enum cs_acme_ask_kind {
    CS_ACME_ASK_ACCOUNT,  /* may this account be created? */
    CS_ACME_ASK_ORDER,    /* may these identifiers be ordered, with which profile and challenges? */
    CS_ACME_ASK_FINALIZE, /* issue this CSR for this order (answer: the chain) */
    CS_ACME_ASK_REVOKE,   /* revoke this certificate (answer after revoking it) */
} cs_acme_ask_kind;

/* "account", "order", "finalize", "revoke". */
const char *cs_acme_ask_kind_name(cs_acme_ask_kind kind);

typedef struct cs_acme_identifier {
    char *type;  /* "dns" */
    char *value; /* "a.test", "*.a.test" */
} cs_acme_identifier;

/* One ask, owned by whoever cs_acme_next gave it to (free with
 * cs_acme_ask_free). Fields that do not belong to the kind are NULL/0. */
typedef struct cs_acme_ask {
    uint64_t id; /* names it in cs_acme_answer */
    cs_acme_ask_kind kind;
    /* every kind: the account asking (for ACCOUNT: the one to be created) */
    char *account_id;
    char **contact; /* "mailto:a@b.test" */
    size_t contact_len;
    char *eab_kid;  /* the EAB key id it was bound with, or NULL */
    /* ORDER, FINALIZE */
    cs_acme_identifier *identifiers;
    size_t identifiers_len;
    /* FINALIZE */
    char *order_id;
    char *profile;  /* the profile the ORDER answer chose */
    unsigned char *csr_der; /* parsed, signature checked, names == the
                             * identifiers, key != the account key */
    size_t csr_len;
    cs_csr *csr;    /* the same CSR as the request parsed it, so the Lua loop need
                     * not parse it again; NULL for an ask queued again from the
                     * database. Take it over (set NULL) or cs_acme_ask_free frees it */
    /* REVOKE: already checked that the requester may revoke it */
    char *serial_hex;
    int reason;     /* RFC 5280 CRLReason, 0 when the client named none */
    const char *by; /* "account" (the owner's kid) or "key" (the certificate's key) */
} cs_acme_ask;

void cs_acme_ask_free(cs_acme_ask *ask);

/* The next ask, waiting at most timeout_ms (0: do not wait): CS_OK with
 * *out set, or CS_OK with *out NULL when none came in time; CS_ENOENT once
 * the queue is closed (cs_acme_close) and empty. */
CS_NODISCARD cs_code cs_acme_next(cs_acme *acme, int timeout_ms, cs_acme_ask **out,
                                  cs_err *err);

/* The answer to an ask. ok 0: refused with type (an RFC 8555 error type
 * without "urn:ietf:params:acme:error:", e.g. "rejectedIdentifier",
 * "badCSR", "unauthorized"; NULL: "unauthorized") and detail (words for the
 * client). ok 1: ORDER takes profile and the allowed challenge types (none:
 * http-01, dns-01, tls-alpn-01; wildcards get dns-01 only whatever is
 * listed); FINALIZE takes chain_pem (leaf first; the config's chain_pem is
 * appended on download unless this already ends with it) and serial_hex. */
typedef struct cs_acme_decision {
    int ok;
    const char *type;
    const char *detail;
    const char *profile;
    const char *const *challenges;
    size_t challenges_len;
    const char *chain_pem;
    const char *serial_hex;
} cs_acme_decision;

/* Deliver an answer (strings copied). CS_ENOENT: no such ask waits (already
 * answered, or its request gave up); CS_EINVAL: an answer that does not fit
 * the ask (a finalize without chain_pem, an unknown challenge type or error
 * type): the ask stays unanswered. A FINALIZE answer is recorded in the
 * database here (order valid with its certificate, or invalid with the
 * error); CS_EDB when that fails. Thread-safe. */
CS_NODISCARD cs_code cs_acme_answer(cs_acme *acme, uint64_t id, const cs_acme_decision *a,
                                    cs_err *err);

/* Close the queue: requests waiting for an answer get 503, new asks are
 * refused, cs_acme_next drains what is queued then says CS_ENOENT.
 * Idempotent, thread-safe. */
void cs_acme_close(cs_acme *acme);

#endif
