/* PKCS#12 (.p12, .pfx) files: reading the key, its certificate, the other
 * certificates, and how the file is protected; writing a key, its
 * certificate and chain under a password, with modern encryption only. */
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
 * key type we do not support, and for a MAC or an encryption asking for more
 * than CS_KEY_PBKDF2_ITER_MAX iterations (refused before any is spent: a
 * file made to stall the loader). The key never leaves core as bytes. */
CS_NODISCARD cs_code cs_p12_load(const char *data, size_t len, const char *password,
                                 const char *what, cs_p12 **out, cs_err *err);
void cs_p12_free(cs_p12 *p12);

/* How cs_p12_encode protects a file: the key bag and the certificates each
 * PBES2 with PBKDF2-HMAC-SHA256 (CS_P12_ITER rounds) and AES-256-CBC; the
 * integrity MAC HMAC-SHA256 (CS_P12_ITER rounds of the PKCS#12 KDF). Never
 * RC2, RC4 or 3DES. Java 8u301+, NSS (Firefox, Chromium), Windows 10 1709+,
 * macOS 12+ and OpenSSL 1.1.1+ read it. */
#define CS_P12_ITER 600000

/* A PKCS#12 file (DER) holding key, its certificate cert and chain (the
 * issuers, leaf first order; an entry equal to cert is left out, so a
 * leaf-first chain file can be given whole), with friendly_name (the alias
 * keytool and browsers show; NULL for none) on the key and cert bags.
 * CS_EINVAL when cert or key is missing or the password is empty or NULL
 * (a file anyone can open is not what export is for); CS_EMISMATCH when the
 * key is not cert's. *out is freed with cs_p12_der_free. */
CS_NODISCARD cs_code cs_p12_encode(const cs_cert *cert, const cs_key *key,
                                   const cs_cert *const *chain, size_t chain_len,
                                   const char *friendly_name, const char *password,
                                   unsigned char **out, size_t *len, cs_err *err);
void cs_p12_der_free(unsigned char *der, size_t len);

/* cs_p12_encode written to path, mode 0600 (it holds a key), atomically
 * (core/file.h); an existing file is CS_EEXIST unless overwrite. On failure
 * nothing is written. */
CS_NODISCARD cs_code cs_p12_write(const cs_cert *cert, const cs_key *key,
                                  const cs_cert *const *chain, size_t chain_len,
                                  const char *friendly_name, const char *password,
                                  const char *path, int overwrite, cs_err *err);

#endif
