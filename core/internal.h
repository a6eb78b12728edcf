/* Struct layouts shared inside core only; never included by bindings. */
#ifndef CS_INTERNAL_H
#define CS_INTERNAL_H

#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct cs_key {
    EVP_PKEY *pkey;
};

struct cs_cert {
    X509 *x509;
};

/* An ASN1_TIME as Unix seconds, whatever the local zone; 0 if unreadable.
 * Defined in info.c. */
int cs_asn1_time_unix(const ASN1_TIME *t, int64_t *out);

#endif
