/* An OCSP responder (RFC 6960): DER OCSPRequest in, signed DER OCSPResponse
 * out, for the certificates of one issuing CA. */
#ifndef CS_OCSP_H
#define CS_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "error.h"
#include "key.h"
#include "server.h"
#include "store.h"

/* Where the responder learns a certificate's status, as cs_store_status
 * answers it: issuer is the issuing CA's subject as one line ("C=SE, O=Simple
 * Inc, CN=x", cs_cert_info's subject), serial_hex the serial in upper-case
 * hex, whole bytes. Fill *out (status; for CS_STATUS_REVOKED also revoked_at
 * and reason, -1 for none) and return CS_OK (an unknown serial is
 * CS_STATUS_UNKNOWN, not an error); any other code makes cs_ocsp_respond
 * fail with it. The responder calls it under its own mutex, never from two
 * threads at once. */
typedef cs_code (*cs_ocsp_lookup_fn)(void *arg, const char *issuer, const char *serial_hex,
                                     cs_revocation *out, cs_err *err);

typedef struct cs_ocsp_params {
    const cs_cert *issuer;     /* the CA whose certificates we answer for */
    const cs_cert *signer;     /* issuer itself, or a delegated responder it issued
                                  with extKeyUsage OCSPSigning (RFC 6960 4.2.2.2) */
    const cs_key *signer_key;  /* the private key of signer */
    int64_t next_update_secs;  /* nextUpdate = thisUpdate + this; 0: no nextUpdate */
    cs_ocsp_lookup_fn lookup;
    void *lookup_arg;          /* borrowed: must outlive the responder */
} cs_ocsp_params;

/* A responder: thread-safe, every function below may be called from many
 * threads at once. Reference-counted: constructors cs_ocsp_responder_new and
 * cs_ocsp_responder_open give one reference, cs_ocsp_responder_ref another
 * (a server answering with it holds its own); cs_ocsp_responder_free drops
 * one (NULL is fine) and the last frees. */
typedef struct cs_ocsp_responder cs_ocsp_responder;

/* The responder holds its own references to issuer, signer and key. Refused
 * (CS_EINVAL, naming the field): an issuer that is not a CA, a signer that is
 * neither the issuer nor issued by it, a delegated signer without
 * OCSPSigning, a public-only key, next_update_secs < 0, no lookup; a key
 * that is not the signer's is CS_EMISMATCH. */
CS_NODISCARD cs_code cs_ocsp_responder_new(const cs_ocsp_params *p, cs_ocsp_responder **out,
                                           cs_err *err);

/* A responder over the CA database at db_path, which must exist (CS_ENOENT,
 * never created here): it opens its own connection, only reads, and looks
 * each status up with cs_store_status. p->lookup and p->lookup_arg must be
 * NULL. db_path may be a PostgreSQL URL (store.h): then each answer reads
 * the status from that server when the request comes, with no cache, so a
 * revocation committed by any node shows in the next answer. */
CS_NODISCARD cs_code cs_ocsp_responder_open(const char *db_path, const cs_ocsp_params *p,
                                            cs_ocsp_responder **out, cs_err *err);

/* One more reference to r, for a holder that outlives its creator's (the
 * server); returns r. Give it back with cs_ocsp_responder_free. */
cs_ocsp_responder *cs_ocsp_responder_ref(cs_ocsp_responder *r);
void cs_ocsp_responder_free(cs_ocsp_responder *r);

/* Sign from now on with another signer (a renewed delegated responder, or
 * the issuer itself): the same checks as cs_ocsp_responder_new's, and on any
 * error the old signer stays. Responses being signed meanwhile finish with
 * the old one. Thread-safe. */
CS_NODISCARD cs_code cs_ocsp_responder_set_signer(cs_ocsp_responder *r, const cs_cert *signer,
                                                  const cs_key *key, cs_err *err);

/* Answer one DER OCSPRequest. Every answer the protocol has is CS_OK with a
 * response in *resp_der (free with free()):
 * - successful, signed: one SingleResponse per CertID, in request order:
 *   good / revoked (time, reason) / unknown; a CertID of another issuer, or
 *   with a hash other than SHA-1/224/256/384/512, is unknown. The nonce
 *   (RFC 8954) is echoed. responderID is the signer's key hash; the signer's
 *   certificate is included when it is not the issuer.
 * - unauthorized (RFC 5019 2.2.3): no CertID is for our issuer.
 * - malformedRequest: req_der does not parse, has trailing bytes, or asks
 *   for nothing.
 * A failed lookup is its code (CS_EDB, ...) and no response: the caller
 * answers cs_ocsp_internal_error()'s bytes. Signing failures are CS_ECRYPTO. */
CS_NODISCARD cs_code cs_ocsp_respond(cs_ocsp_responder *r, const unsigned char *req_der,
                                     size_t len, unsigned char **resp_der, size_t *resp_len,
                                     cs_err *err);

/* A signed response for cert alone (SHA-1 CertID, as RFC 5019 clients
 * expect; no nonce), for OCSP stapling. A cert not issued by the responder's
 * issuer is CS_EINVAL; a failed lookup its code. Free *resp_der with free(). */
CS_NODISCARD cs_code cs_ocsp_response_for_cert(cs_ocsp_responder *r, const cs_cert *cert,
                                               unsigned char **resp_der, size_t *resp_len,
                                               cs_err *err);

/* What the database says of cert, which the caller verified (a TLS client
 * certificate): CS_OK with *out filled as the lookup fills it. A
 * certificate the responder's issuer did not issue (by issuer name and
 * authority key identifier: another CA's, which the database does not
 * know) is CS_STATUS_UNKNOWN without a lookup, as is a serial the database
 * does not hold. A failed lookup is its code (CS_EDB, ...), *out untouched.
 * Thread-safe; the one lookup runs under the responder's mutex. */
CS_NODISCARD cs_code cs_ocsp_status(cs_ocsp_responder *r, const cs_cert *cert,
                                    cs_revocation *out, cs_err *err);

/* Whether the responder's issuer issued cert (by issuer name and authority
 * key identifier, as cs_ocsp_status decides it; no signature check): 1 or 0.
 * Thread-safe: it reads only what never changes. */
int cs_ocsp_issued(const cs_ocsp_responder *r, const cs_cert *cert);

/* The GET form (RFC 6960 A.1: GET {url}/{url-encoding of base64 of DER}):
 * the text after the responder's path, percent-encoded or already decoded,
 * to the DER request; free *der with free(). CS_EINVAL if it is not base64. */
CS_NODISCARD cs_code cs_ocsp_decode_get(const char *text, size_t len, unsigned char **der,
                                        size_t *der_len, cs_err *err);

/* One HTTP request to the responder (RFC 6960 A.1, RFC 5019 5): method
 * "POST" with the DER request as body; or "GET" with tail, the path after
 * the responder's prefix (CS_OCSP_PATH), leading '/' optional, holding the
 * URL-encoded base64 of the request (percent-decoded or not). Always fills
 * *out, in the server's reply form: 200 application/ocsp-response with what
 * cs_ocsp_respond answers (a GET whose tail is not base64, or an empty one,
 * is malformedRequest; a failed lookup is internalError, its reason in err
 * for the log); 405 for any other method; 500 with no body only when out of
 * memory. Thread-safe. */
void cs_ocsp_http(cs_ocsp_responder *r, const char *method, const char *tail,
                  const unsigned char *body, size_t body_len, cs_http_reply *out, cs_err *err);

/* Where a server answers OCSP: CS_OCSP_PATH itself (POST) and under it
 * (GET CS_OCSP_PATH/{base64}), on both listeners. */
#define CS_OCSP_PATH "/ocsp"

/* The server's handler for CS_OCSP_PATH (a cs_handler_fn; ctx is the
 * responder, path the request path): cs_ocsp_http on what follows the
 * prefix. A failed lookup is answered internalError and its reason goes to
 * stderr, one line "ocsp: ...", for the operator. cs_server_start registers
 * it for cs_server_config.ocsp, holding a reference for as long as it runs. */
void cs_ocsp_handler(void *ctx, const char *method, const char *path,
                     const unsigned char *body, size_t body_len, cs_http_reply *out);

/* The unsigned OCSPResponse "internalError" (5 bytes, static: do not free),
 * for a caller whose cs_ocsp_respond failed. */
const unsigned char *cs_ocsp_internal_error(size_t *len);

#endif
