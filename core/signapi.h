/* The signing API (issue 12 section 3, docs/api.md): a cs_handler for the
 * prefix "/api/v1" for programs that do not speak ACME.
 *
 *   POST /api/v1/sign                 {"csr": PEM, "profile": name}  -> chain
 *   POST /api/v1/revoke               {"serial": hex, "reason": name} -> status
 *   GET  /api/v1/certificates/SERIAL  -> the certificate and its status
 *
 * JSON in and out (jansson, duplicates refused, strict members). A caller
 * proves who it is with a TLS client certificate that chainsmith issued (in
 * the CA database, not revoked: looked up on every request) or with a
 * one-time token: "Authorization: Bearer <JWT>", ES256 by a key configured
 * here by its kid, aud the exact URL of the request, exp - iat at most 300
 * s, jti usable once (kept in the CA database until exp).
 *
 * Threads: the handler runs on CivetWeb's worker threads and never touches
 * Lua. What needs policy (sign, revoke) becomes an ask on this object's
 * queue; the Lua main loop takes it with cs_signapi_next and answers with
 * cs_signapi_answer while the request waits (at most ask_timeout_ms, then
 * 503 with Retry-After). Reading a certificate needs no policy. */
#ifndef CS_SIGNAPI_H
#define CS_SIGNAPI_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "server.h"

/* The API. Constructor: cs_signapi_new. Destructor: cs_signapi_free (NULL
 * is fine), after the cs_server mounting it has stopped. */
typedef struct cs_signapi cs_signapi;

/* A key that may sign tokens: kid (the JWT header's) and its public key
 * (SubjectPublicKeyInfo PEM, EC P-256). */
typedef struct cs_signapi_token_key {
    const char *kid;
    const char *public_pem;
} cs_signapi_token_key;

typedef struct cs_signapi_config {
    const char *db_path;  /* the CA database */
    /* The external URL, no trailing '/': "https://localhost:8443". A token's
     * aud must be base_url followed by the request path. */
    const char *base_url;
    int mtls;             /* 1: client certificates authenticate */
    const cs_signapi_token_key *token_keys; /* tokens authenticate when there are any */
    size_t token_keys_len;
    int ask_timeout_ms;   /* how long a request waits for Lua; 0: 10000 */
} cs_signapi_config;

/* Open the database and load the token keys (strings copied). CS_EINVAL
 * names a bad field: base_url not https://host, a key that is not P-256 or
 * a kid given twice, neither mtls nor a token key; CS_EDB, CS_ENOMEM. */
CS_NODISCARD cs_code cs_signapi_new(const cs_signapi_config *cfg, cs_signapi **out,
                                    cs_err *err);
/* Fail every ask still waiting, close the database. */
void cs_signapi_free(cs_signapi *api);

/* The handler to mount: prefix "/api/v1", HTTPS only, ctx api. */
cs_handler cs_signapi_handler(cs_signapi *api);

typedef enum cs_signapi_ask_kind {
    CS_SIGNAPI_ASK_SIGN,   /* issue this CSR with this profile (answer: the chain) */
    CS_SIGNAPI_ASK_REVOKE, /* revoke this certificate (answer after revoking it) */
} cs_signapi_ask_kind;

/* "sign", "revoke". */
const char *cs_signapi_ask_kind_name(cs_signapi_ask_kind kind);

/* One ask, owned by whoever cs_signapi_next gave it to (free with
 * cs_signapi_ask_free). */
typedef struct cs_signapi_ask {
    uint64_t id;
    cs_signapi_ask_kind kind;
    /* Who asks: auth "mtls" with client the certificate's subject line and
     * client_serial its serial; or auth "token" with client the kid and
     * client_serial NULL. sub is the token's "sub" claim, or NULL. */
    const char *auth;
    char *client;
    char *client_serial;
    char *sub;
    /* SIGN: the CSR (DER; parsed and its signature checked here) and the
     * profile asked for (NULL: none named; policy picks) */
    unsigned char *csr_der;
    size_t csr_len;
    char *profile;
    /* REVOKE: a certificate the CA database holds, not yet revoked */
    char *serial_hex;
    int reason; /* RFC 5280 CRLReason; 0 when none was named */
} cs_signapi_ask;

void cs_signapi_ask_free(cs_signapi_ask *ask);

/* The next ask, waiting at most timeout_ms (0: do not wait): CS_OK with
 * *out set, or CS_OK with *out NULL when none came in time; CS_ENOENT once
 * the queue is closed (cs_signapi_close) and empty. */
CS_NODISCARD cs_code cs_signapi_next(cs_signapi *api, int timeout_ms, cs_signapi_ask **out,
                                     cs_err *err);

/* ok 0: refused; error names why in one word ("forbidden", "badCSR",
 * "badProfile", "rejected", "internal"; NULL: "rejected"), detail in words
 * (sent to the caller, status 403; 400 for badCSR and badProfile, 500 for
 * internal: the server's own trouble). ok 1: SIGN takes chain_pem (the leaf
 * first) and serial_hex; REVOKE nothing. */
typedef struct cs_signapi_decision {
    int ok;
    const char *error;
    const char *detail;
    const char *chain_pem;
    const char *serial_hex;
} cs_signapi_decision;

/* Deliver an answer (strings copied). CS_ENOENT: nobody waits for that id
 * (answered, or its request gave up); CS_EINVAL: a SIGN answer without
 * chain_pem or serial_hex. Thread-safe. */
CS_NODISCARD cs_code cs_signapi_answer(cs_signapi *api, uint64_t id,
                                       const cs_signapi_decision *a, cs_err *err);

/* Waiting requests get 503, new asks are refused, cs_signapi_next drains
 * what is queued then says CS_ENOENT. Idempotent, thread-safe. */
void cs_signapi_close(cs_signapi *api);

#endif
