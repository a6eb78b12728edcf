/* Certificate revocation lists (RFC 5280 5): build and sign a v2 CRL from
 * the revoked entries the store lists, load one, inspect it, save it. */
#ifndef CS_CRL_H
#define CS_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "error.h"
#include "key.h"
#include "store.h"

/* A CRL. Constructors: cs_crl_sign, cs_crl_load, cs_crl_load_file.
 * Destructor: cs_crl_free (NULL is fine). */
typedef struct cs_crl cs_crl;

/* What goes into a CRL. */
typedef struct cs_crl_params {
    int64_t this_update;       /* Unix seconds */
    int64_t next_update;       /* Unix seconds, after this_update */
    int64_t number;            /* cRLNumber, > 0 (cs_store_next_crl_number) */
    const cs_revoked *revoked; /* the entries, as cs_store_revoked lists them */
    size_t revoked_len;
} cs_crl_params;

/* Build and sign a v2 CRL: issuer's subject as issuer, thisUpdate,
 * nextUpdate, one entry per revoked certificate (serial, revocationDate and a
 * reasonCode extension, left out for unspecified as RFC 5280 5.3.1 asks),
 * cRLNumber and authorityKeyIdentifier (the issuer's SKI) as non-critical
 * extensions, signed with issuer_key and its digest (cs_key_digest_name).
 * The issuer must be a CA with cRLSign in its keyUsage and a subject key
 * identifier (CS_EINVAL), and issuer_key its key (CS_EMISMATCH). A refused
 * reason code or a malformed serial is CS_EINVAL naming the entry. */
CS_NODISCARD cs_code cs_crl_sign(const cs_crl_params *p, const cs_cert *issuer,
                                 const cs_key *issuer_key, cs_crl **out, cs_err *err);

/* One CRL, PEM or DER. what names the source in messages. */
CS_NODISCARD cs_code cs_crl_load(const char *data, size_t len, const char *what,
                                 cs_crl **out, cs_err *err);
CS_NODISCARD cs_code cs_crl_load_file(const char *path, cs_crl **out, cs_err *err);
void cs_crl_free(cs_crl *crl);

/* PEM ("X509 CRL") or DER bytes; free with free(). */
CS_NODISCARD cs_code cs_crl_pem(const cs_crl *crl, char **out, size_t *len, cs_err *err);
CS_NODISCARD cs_code cs_crl_der(const cs_crl *crl, unsigned char **out, size_t *len,
                                cs_err *err);

/* Write the CRL as DER to der_path and as PEM to pem_path (either may be
 * NULL, not both), mode 0644, as one step (cs_file_write_all): both or
 * neither. CS_EEXIST unless overwrite. */
CS_NODISCARD cs_code cs_crl_save(const cs_crl *crl, const char *der_path, const char *pem_path,
                                 int overwrite, cs_err *err);

/* Did issuer sign crl? Names match and issuer's public key verifies the
 * signature: CS_OK, else CS_EVERIFY with the reason. */
CS_NODISCARD cs_code cs_crl_verify(const cs_crl *crl, const cs_cert *issuer, cs_err *err);

/* Everything in a CRL. Free with cs_crl_info_free. */
typedef struct cs_crl_info {
    int version;               /* 2 for v2 */
    char *issuer;              /* one line, as cs_cert_info's subject */
    int64_t this_update;
    int64_t next_update;       /* 0 if absent */
    int64_t number;            /* -1 if absent */
    char *authority_key_id;    /* lower-case hex or NULL */
    char *signature_algorithm;
    cs_revoked *revoked;       /* serial_hex, revoked_at, reason (0 when absent);
                                  not_after is 0: a CRL does not carry it */
    size_t revoked_len;
} cs_crl_info;

CS_NODISCARD cs_code cs_crl_get_info(const cs_crl *crl, cs_crl_info **out, cs_err *err);
void cs_crl_info_free(cs_crl_info *info);

#endif
