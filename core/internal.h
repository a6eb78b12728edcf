/* Struct layouts shared inside core only; never included by bindings. */
#ifndef CS_INTERNAL_H
#define CS_INTERNAL_H

#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "error.h"
#include "key.h"

struct cs_key {
    EVP_PKEY *pkey;
};

struct cs_cert {
    X509 *x509;
};

/* The private key as unencrypted PKCS#8 PEM in OpenSSL's secure heap; free
 * with OPENSSL_secure_clear_free(*out, *len). what names it in messages. */
cs_code cs_key_private_pem(const cs_key *key, const char *what, char **out, size_t *len,
                           cs_err *err);

/* Certificates as concatenated PEM; free with free(). */
cs_code cs_cert_chain_pem(const cs_cert *const *certs, size_t n, const char *what, char **out,
                          size_t *len, cs_err *err);

/* An ASN1_TIME as Unix seconds, whatever the local zone; 0 if unreadable.
 * Defined in info.c. */
int cs_asn1_time_unix(const ASN1_TIME *t, int64_t *out);

#endif
