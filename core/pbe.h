/* Password-based encryption as PKCS#12 files and encrypted PKCS#8 keys name
 * it: what can be told about it without the password. */
#ifndef CS_PBE_H
#define CS_PBE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "error.h"

/* One password-based encryption scheme. Empty strings for what the scheme
 * does not have (a PKCS#12 PBE has no separate cipher, KDF or PRF). */
typedef struct cs_pbe {
    char scheme[64]; /* "PBES2", or a PKCS#12 PBE: "PBE-SHA1-3DES", "PBE-SHA1-RC2-40" */
    char cipher[64]; /* PBES2's cipher: "AES-256-CBC" */
    char kdf[32];    /* PBES2's key derivation: "PBKDF2" or "id-scrypt" */
    char prf[32];    /* PBKDF2's PRF: "hmacWithSHA256" (RFC 8018's default: hmacWithSHA1) */
    long iterations; /* PBKDF2's or the PKCS#12 PBE's count; 0 when not told */
    long work;       /* what deriving the key costs, in rounds: iterations, or for
                        scrypt N * r * p (LONG_MAX when larger); what the loaders cap */
    int legacy;      /* an RC2 or RC4 scheme, which OpenSSL 3 leaves to its legacy provider */
} cs_pbe;

/* Describe an AlgorithmIdentifier of a password-based scheme into out (all of
 * it overwritten). Never fails: what cannot be read stays empty, and an
 * unknown scheme is named by its OID. */
void cs_pbe_describe(const X509_ALGOR *alg, cs_pbe *out);

/* The scheme of an encrypted PKCS#8 key (PEM "ENCRYPTED PRIVATE KEY" or DER
 * EncryptedPrivateKeyInfo), read without the password. CS_EINVAL naming what
 * when data is neither. */
CS_NODISCARD cs_code cs_pbe_encrypted_key(const char *data, size_t len, const char *what,
                                          cs_pbe *out, cs_err *err);

#endif
