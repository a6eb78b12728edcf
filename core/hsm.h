/* CA keys on a PKCS#11 token (an HSM, SoftHSM2), named by an RFC 7512 URI:
 *   pkcs11:token=LABEL;object=LABEL[?module-path=/path/to/module.so]
 * The PIN is given by the caller (the commands read it from --pin-env VAR or
 * --pin-file FILE); a URI carrying pin-value or pin-source is refused, so a
 * PIN never travels on a command line. The module is the URI's module-path,
 * else $CHAINSMITH_PKCS11_MODULE, else p11-kit's proxy (CS_HSM_MODULE_DEFAULT).
 * The key signs through OpenSSL like any other (cs_cert_sign, CRLs, OCSP);
 * its private half never leaves the token. docs/keys.md, "Keys in an HSM". */
#ifndef CS_HSM_H
#define CS_HSM_H

#include "error.h"
#include "key.h"

#define CS_HSM_MODULE_DEFAULT "p11-kit-proxy.so"

/* 1 if s is a pkcs11: URI (the scheme alone is checked). */
int cs_hsm_is_uri(const char *s);

/* The private key uri names, opened with pin. Errors name what is wrong:
 * CS_EINVAL a malformed URI or one with a PIN in it, CS_ENOENT no such
 * module, token or key object, CS_EVERIFY a wrong PIN, CS_ELOCKED no PIN
 * given or the PIN locked. */
CS_NODISCARD cs_code cs_hsm_load_key(const char *uri, const char *pin, cs_key **out,
                                     cs_err *err);

/* Generate a key pair of kind p (EC P-256/P-384 or RSA; Ed25519 is
 * CS_EUNSUPPORTED) on the token uri names, labelled with its object, and
 * load it as cs_hsm_load_key does. A token already holding an object of
 * that label is CS_EEXIST, and nothing is made. The private key is made
 * sensitive and not extractable. */
CS_NODISCARD cs_code cs_hsm_generate_key(const char *uri, const char *pin,
                                         const cs_key_params *p, cs_key **out, cs_err *err);

/* 1 if key's private half is on a token: a signature with it goes through a
 * PKCS#11 session, and callers that sign from several threads serialize. */
int cs_key_on_token(const cs_key *key);

#endif
