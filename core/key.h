/* Private keys: EC P-256 / P-384, Ed25519, RSA 2048-4096. */
#ifndef CS_KEY_H
#define CS_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "error.h"

/* A key pair, or only a public key (cs_key_load_public, cs_csr_public_key):
 * what needs the private half (saving, signing as an issuer, serving) refuses
 * a public-only key with CS_EINVAL "... has no private key". Constructors:
 * cs_key_generate, cs_key_load, cs_key_load_file, cs_key_load_public,
 * cs_csr_public_key. Destructor: cs_key_free (NULL is fine). */
typedef struct cs_key cs_key;

typedef struct cs_key_params {
    const char *type;  /* "ec", "ed25519" or "rsa" */
    const char *curve; /* ec only: "P-256" or "P-384" (also "prime256v1", "secp384r1") */
    int bits;          /* rsa only: 2048 to 4096, a multiple of 8; 0 means 3072 */
} cs_key_params;

CS_NODISCARD cs_code cs_key_generate(const cs_key_params *p, cs_key **out, cs_err *err);

/* Many keys of one kind, for bulk issuance: the algorithm is fetched and the
 * curve or size set up once, where cs_key_generate (EVP_PKEY_Q_keygen) does
 * both for every key. Same params and refusals as cs_key_generate.
 * Constructor: cs_keygen_new. Destructor: cs_keygen_free (NULL is fine).
 * One thread at a time. */
typedef struct cs_keygen cs_keygen;

CS_NODISCARD cs_code cs_keygen_new(const cs_key_params *p, cs_keygen **out, cs_err *err);
CS_NODISCARD cs_code cs_keygen_generate(cs_keygen *gen, cs_key **out, cs_err *err);
void cs_keygen_free(cs_keygen *gen);

/* PEM (PKCS#8, or the traditional EC/RSA forms) or DER; unencrypted only
 * (an encrypted key is CS_ELOCKED "<what>: encrypted private key: ..." saying
 * how to give its passphrase). A well-formed key of a kind we refuse (a
 * P-521 curve, RSA under 2048 bits, DSA) is CS_EUNSUPPORTED. what names the
 * source in messages (a file name, "key"). */
CS_NODISCARD cs_code cs_key_load(const char *data, size_t len, const char *what,
                                 cs_key **out, cs_err *err);
CS_NODISCARD cs_code cs_key_load_file(const char *path, cs_key **out, cs_err *err);
void cs_key_free(cs_key *key);

/* cs_key_load, and an encrypted key (PKCS#8 EncryptedPrivateKeyInfo, PEM or
 * DER, or OpenSSL's traditional encrypted PEM) decrypted with passphrase.
 * passphrase NULL: as cs_key_load. An unencrypted key loads whatever the
 * passphrase. A wrong passphrase (or a damaged encrypted key, which cannot
 * be told apart) is CS_EVERIFY "<what>: wrong passphrase or corrupt key"; an
 * empty passphrase is CS_EINVAL; so is a key whose PBKDF2 count is above
 * CS_KEY_PBKDF2_ITER_MAX (a file made to stall the loader). */
CS_NODISCARD cs_code cs_key_load_pass(const char *data, size_t len, const char *passphrase,
                                      const char *what, cs_key **out, cs_err *err);
CS_NODISCARD cs_code cs_key_load_file_pass(const char *path, const char *passphrase,
                                           cs_key **out, cs_err *err);

/* How cs_key_save_encrypted protects a key: PBES2 with PBKDF2-HMAC-SHA256
 * (CS_KEY_PBKDF2_ITER rounds, OWASP's 2023 figure, a 16-byte random salt)
 * and AES-256-CBC. The loaders (keys and PKCS#12 files) refuse counts above
 * the maximum before deriving anything: 10 million, about 16 times what we
 * write, a few seconds of work. The fuzzing build sets it lower (a fuzzer
 * would otherwise spend its time deriving keys). */
#define CS_KEY_PBKDF2_ITER 600000
#ifndef CS_KEY_PBKDF2_ITER_MAX
#define CS_KEY_PBKDF2_ITER_MAX 10000000
#endif

/* A public key alone: SubjectPublicKeyInfo, PEM ("BEGIN PUBLIC KEY") or DER;
 * the same key types as cs_key_load. */
CS_NODISCARD cs_code cs_key_load_public(const char *data, size_t len, const char *what,
                                        cs_key **out, cs_err *err);
/* 1 if key holds its private half, 0 if it is public only. */
int cs_key_is_private(const cs_key *key);

/* Write the private key as unencrypted PKCS#8 PEM, mode 0600, atomically.
 * An existing file is CS_EEXIST unless overwrite; a public-only key CS_EINVAL. */
CS_NODISCARD cs_code cs_key_save(const cs_key *key, const char *path, int overwrite,
                                 cs_err *err);
/* As cs_key_save, encrypted with passphrase (PEM "ENCRYPTED PRIVATE KEY",
 * see CS_KEY_PBKDF2_ITER). An empty or NULL passphrase is CS_EINVAL. */
CS_NODISCARD cs_code cs_key_save_encrypted(const cs_key *key, const char *passphrase,
                                           const char *path, int overwrite, cs_err *err);

/* The public key as SubjectPublicKeyInfo PEM; free with free(). */
CS_NODISCARD cs_code cs_key_public_pem(const cs_key *key, char **out, size_t *len,
                                       cs_err *err);

/* "ec", "ed25519" or "rsa". */
const char *cs_key_type(const cs_key *key);
/* "P-256", "P-384" for ec keys, NULL otherwise. */
const char *cs_key_curve(const cs_key *key);
int cs_key_bits(const cs_key *key);

/* SHA-256 of the DER SubjectPublicKeyInfo, as 64 lower-case hex digits + NUL. */
CS_NODISCARD cs_code cs_key_fingerprint(const cs_key *key, char out[65], cs_err *err);

/* The digest a signature by this key uses: SHA-256 for P-256 and RSA,
 * SHA-384 for P-384, NULL (intrinsic) for Ed25519. The one place that decides. */
const char *cs_key_digest_name(const cs_key *key);

/* Borrowed; lives as long as key. */
EVP_PKEY *cs_key_get0_pkey(const cs_key *key);

#endif
