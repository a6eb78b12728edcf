/* JOSE for ACME (RFC 8555 6.2) and the signing API: flattened JWS JSON
 * (RFC 7515 7.2.2) parsed and verified, JWKs (RFC 7517/7518) to and from
 * keys, RFC 7638 thumbprints, the HS256 external account binding (RFC 8555
 * 7.3.4) and compact ES256 JWTs (RFC 7519).
 *
 * Strangers' JSON is read with jansson only (JSON_REJECT_DUPLICATES, so
 * duplicate members, "\u0000" and bad UTF-8 are refused) and unpacked
 * strictly; base64url is core/b64url.h's strict one.
 *
 * Keys are cs_key (public-only, core/key.h): EC P-256 / P-384 and RSA 2048
 * to 4096 bits, what cs_key holds. Larger RSA keys are refused as
 * badPublicKey, as Boulder does (an RSA verify costs the modulus squared).
 * The payload JSON is not parsed here: the ACME handler unpacks it. */
#ifndef CS_JWS_H
#define CS_JWS_H

#include <stddef.h>

#include "error.h"
#include "key.h"

/* What went wrong, so a handler can pick the problem type
 * (cs_jws_fault_problem). Functions below that take a fault set it (if not
 * NULL) on failure only, beside err; on success it is left alone. The
 * cs_code goes with it: CS_EINVAL for MALFORMED, CS_EUNSUPPORTED for
 * BAD_ALG and BAD_KEY, CS_EVERIFY for BAD_SIGNATURE, CS_ENOMEM or
 * CS_ECRYPTO for INTERNAL. */
typedef enum cs_jws_fault {
    CS_JWS_MALFORMED = 1,   /* not JSON, not a flattened JWS, bad base64url, a header member of
                               the wrong type, "crit": "malformed" */
    CS_JWS_BAD_ALG,         /* alg not ES256/ES384/RS256 (HS256 for EAB only), or not the
                               key's: "badSignatureAlgorithm" */
    CS_JWS_BAD_KEY,         /* a jwk that is not a key we take: unknown kty/crv, point not on
                               the curve, RSA < 2048 or > 4096 bits, private members:
                               "badPublicKey" */
    CS_JWS_BAD_SIGNATURE,   /* well-formed, but the signature (or MAC) does not verify, or
                               has the wrong length: "malformed" (RFC 8555 has no own type;
                               Boulder and Pebble answer malformed) */
    CS_JWS_INTERNAL,        /* out of memory, OpenSSL failed: "serverInternal" */
} cs_jws_fault;

/* The RFC 8555 error type for a fault, without the
 * "urn:ietf:params:acme:error:" prefix: "malformed",
 * "badSignatureAlgorithm", "badPublicKey" or "serverInternal". */
const char *cs_jws_fault_problem(cs_jws_fault fault);

/* A parsed flattened JWS whose signature is not yet checked.
 * Constructor: cs_jws_parse. Destructor: cs_jws_free (NULL is fine). */
typedef struct cs_jws cs_jws;

/* Parse body (len bytes, no NUL needed) as a flattened JWS JSON object with
 * exactly the members "protected", "payload" and "signature" (strings;
 * RFC 8555 6.2 forbids the unprotected "header"; the general form with
 * "signatures" is refused). The protected header must be a JSON object
 * with "alg" (ES256, ES384, RS256 or HS256, else CS_JWS_BAD_ALG); "nonce",
 * "url", "kid" (strings) and "jwk" (an object, turned into a key here: a
 * bad one is CS_JWS_BAD_KEY) are each optional here, and any of jwk and kid
 * may be present, both or neither: the handler decides what an endpoint
 * needs. "crit" is refused (we understand no extension); other members are
 * ignored as RFC 7515 4 says. The payload may be empty (POST-as-GET).
 * Codes: CS_EINVAL (malformed), CS_EUNSUPPORTED (alg, key), CS_ENOMEM. */
CS_NODISCARD cs_code cs_jws_parse(const char *body, size_t len, cs_jws **out,
                                  cs_jws_fault *fault, cs_err *err);
void cs_jws_free(cs_jws *jws);

/* Borrowed, live as long as jws. alg is never NULL; nonce, url and kid are
 * NULL when the header has no such member. */
const char *cs_jws_alg(const cs_jws *jws);
const char *cs_jws_nonce(const cs_jws *jws);
const char *cs_jws_url(const cs_jws *jws);
const char *cs_jws_kid(const cs_jws *jws);
/* The header's "jwk" as a public-only key; NULL when there is none.
 * Borrowed, lives as long as jws. */
const cs_key *cs_jws_jwk(const cs_jws *jws);
/* The decoded payload, *len bytes followed by a NUL (not counted);
 * *len == 0 for POST-as-GET. Borrowed, lives as long as jws. */
const unsigned char *cs_jws_payload(const cs_jws *jws, size_t *len);

/* Verify the signature with key (the header's jwk, or an account's stored
 * key). alg must be the key's: ES256 for P-256, ES384 for P-384, RS256 for
 * RSA, else CS_JWS_BAD_ALG (CS_EUNSUPPORTED); HS256 is refused here (EAB
 * only). ECDSA signatures are JWS's raw r || s, exactly twice the field
 * size; an RSA signature exactly the modulus size; anything else, or a
 * signature that does not verify, is CS_JWS_BAD_SIGNATURE (CS_EVERIFY). */
CS_NODISCARD cs_code cs_jws_verify(const cs_jws *jws, const cs_key *key, cs_jws_fault *fault,
                                   cs_err *err);

/* RFC 8555 7.3.4 external account binding. eab is the newAccount payload's
 * "externalAccountBinding" (parsed with cs_jws_parse; its kid, from
 * cs_jws_kid, picks hmac_key). Checks: alg HS256 (else CS_JWS_BAD_ALG), a
 * kid, no nonce (RFC: MUST NOT), url equal to url (the newAccount URL), the
 * payload a JWK of the same key as account_key (the outer JWS's jwk), and
 * the HMAC-SHA256 over the signing input with hmac_key (constant time).
 * Failures are CS_JWS_MALFORMED or CS_JWS_BAD_SIGNATURE (RFC 8555 answers
 * both with "malformed" or "unauthorized": the handler chooses). */
CS_NODISCARD cs_code cs_jws_verify_eab(const cs_jws *eab, const char *url,
                                       const cs_key *account_key,
                                       const unsigned char *hmac_key, size_t hmac_key_len,
                                       cs_jws_fault *fault, cs_err *err);

/* JWK (RFC 7517/7518) text to a public-only key: kty "EC" with crv "P-256"
 * or "P-384" and x, y of exactly the field size; or kty "RSA" with n, e in
 * minimal form (RFC 7518 2 Base64urlUInt: no leading zero octet), 2048 to
 * 4096 bits, e odd. Other members ("kid", "use", "alg", ...) are ignored;
 * private members ("d", "p", "q", "dp", "dq", "qi", "oth", "k") are
 * refused. CS_JWS_MALFORMED (CS_EINVAL) for text that is not a JSON object,
 * a member of the wrong type or bad base64url; CS_JWS_BAD_KEY
 * (CS_EUNSUPPORTED) for a key we do not take. Free *out with cs_key_free. */
CS_NODISCARD cs_code cs_jwk_from_json(const char *json, size_t len, cs_key **out,
                                      cs_jws_fault *fault, cs_err *err);

/* The key's JWK in canonical form: only the required members, sorted, no
 * white space (RFC 7638 3: {"crv","kty","x","y"} or {"e","kty","n"}). One
 * key has one text, so it is what the database stores and compares. A key
 * that is not EC P-256/P-384 or RSA is CS_EUNSUPPORTED. *out is
 * NUL-terminated; free with free(). */
CS_NODISCARD cs_code cs_jwk_to_json(const cs_key *key, char **out, cs_err *err);

/* RFC 7638 thumbprint: base64url(SHA-256(cs_jwk_to_json(key))), 43
 * characters and a NUL, for key authorizations (RFC 8555 8.1). */
#define CS_JWK_THUMBPRINT_LEN 43
CS_NODISCARD cs_code cs_jwk_thumbprint(const cs_key *key, char out[CS_JWK_THUMBPRINT_LEN + 1],
                                       cs_err *err);

/* A compact JWT (RFC 7519) "header.payload.signature", for the signing
 * API's one-time tokens. Constructor: cs_jwt_parse. Destructor:
 * cs_jwt_free (NULL is fine). */
typedef struct cs_jwt cs_jwt;

/* Parse token (len bytes): three strict base64url parts; the header a JSON
 * object holding "alg": "ES256" and optionally "typ": "JWT" and "kid" (a
 * string), nothing else (strict: it is our own API); the claims a JSON
 * object (duplicates refused). The claims are not checked here (aud, exp,
 * jti are the caller's, who knows the URL and the clock). CS_EINVAL for
 * anything malformed, CS_EUNSUPPORTED for another alg. */
CS_NODISCARD cs_code cs_jwt_parse(const char *token, size_t len, cs_jwt **out, cs_err *err);
void cs_jwt_free(cs_jwt *jwt);
/* The header's kid, NULL when none. Borrowed. */
const char *cs_jwt_kid(const cs_jwt *jwt);
/* The claims as the JSON text that was signed (*len bytes and a NUL).
 * Borrowed. Read only after cs_jwt_verify succeeded. */
const char *cs_jwt_claims(const cs_jwt *jwt, size_t *len);
/* ES256 over "header.payload" with key (a P-256 key, else
 * CS_EUNSUPPORTED); raw r || s of 64 bytes. CS_EVERIFY when it does not
 * verify. */
CS_NODISCARD cs_code cs_jwt_verify(const cs_jwt *jwt, const cs_key *key, cs_err *err);

#endif
