/* Reading PKCS#12 (.p12, .pfx) files: the key, its certificate, the other
 * certificates, and how the file is protected. Writing them is not here. */
#ifndef CS_PKCS12_H
#define CS_PKCS12_H

#include <stddef.h>

#include "cert.h"
#include "error.h"
#include "key.h"
#include "pbe.h"

/* What a PKCS#12 file holds. Constructor: cs_p12_load. Destructor:
 * cs_p12_free (NULL is fine), which frees what is still in the fields: a
 * caller may take cert, key or any certs[i] and set that field to NULL. */
typedef struct cs_p12 {
    cs_cert *cert;     /* the certificate of key; NULL when there is no key or none matches */
    cs_key *key;       /* NULL when the file holds no key */
    cs_cert **certs;   /* every other certificate, in file order */
    size_t certs_len;
    int mac_present;        /* 0: the file has no integrity MAC (openssl pkcs12 -nomac) */
    char mac_digest[32];    /* "SHA256", "SHA1" */
    long mac_iterations;
    cs_pbe certs_pbe;       /* scheme "" when the certificates are not encrypted */
    cs_pbe key_pbe;         /* scheme "" when there is no encrypted (shrouded) key */
} cs_p12;

/* Parse a DER PKCS#12 file with password (NULL or "": the empty password,
 * tried both ways as OpenSSL does). what names the file in messages.
 * CS_EINVAL "what: not a PKCS#12 file" when data does not parse; CS_EVERIFY
 * "what: wrong password or corrupt PKCS#12 (MAC check failed)" when the MAC
 * does not verify; CS_EVERIFY when the contents do not decrypt (a file
 * without MAC, wrong password); CS_ECRYPTO naming the scheme when it is a
 * legacy one (RC2, RC4) OpenSSL 3 does not load by default; CS_EINVAL for a
 * key type we do not support. The key never leaves core as bytes. */
CS_NODISCARD cs_code cs_p12_load(const char *data, size_t len, const char *password,
                                 const char *what, cs_p12 **out, cs_err *err);
void cs_p12_free(cs_p12 *p12);

#endif
