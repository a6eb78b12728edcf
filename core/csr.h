/* Certificate signing requests (PKCS#10): load, check proof of possession,
 * inspect, create. */
#ifndef CS_CSR_H
#define CS_CSR_H

#include <stddef.h>

#include "cert.h"
#include "error.h"
#include "key.h"

/* A CSR whose signature has been checked against its own public key.
 * Constructors: cs_csr_load, cs_csr_load_file, cs_csr_create.
 * Destructor: cs_csr_free (NULL is fine). */
typedef struct cs_csr cs_csr;

/* One CSR, PEM ("CERTIFICATE REQUEST") or DER; what names the source in
 * messages. Malformed input is CS_EINVAL; a signature that does not verify
 * with the CSR's own key is CS_EVERIFY "<what>: CSR signature does not verify
 * (proof of possession failed)"; a key type cs_key_load would refuse is
 * CS_EINVAL. */
CS_NODISCARD cs_code cs_csr_load(const char *data, size_t len, const char *what,
                                 cs_csr **out, cs_err *err);
CS_NODISCARD cs_code cs_csr_load_file(const char *path, cs_csr **out, cs_err *err);
void cs_csr_free(cs_csr *csr);

/* Check the CSR's signature with its own public key again (proof of
 * possession); CS_OK or CS_EVERIFY. what names it in messages (NULL: "CSR"). */
CS_NODISCARD cs_code cs_csr_verify(const cs_csr *csr, const char *what, cs_err *err);

/* A CSR for key (which must hold its private half) with subject (may be
 * empty) and names requested as subjectAltName (none: no extension), signed
 * with the key's digest (cs_key_digest_name). */
CS_NODISCARD cs_code cs_csr_create(const cs_key *key, const cs_rdn *subject, size_t subject_len,
                                   const cs_name *names, size_t names_len, cs_csr **out,
                                   cs_err *err);

/* The requested public key as a new public-only cs_key; free with cs_key_free. */
CS_NODISCARD cs_code cs_csr_public_key(const cs_csr *csr, cs_key **out, cs_err *err);

/* PEM or DER bytes; free with free(). */
CS_NODISCARD cs_code cs_csr_pem(const cs_csr *csr, char **out, size_t *len, cs_err *err);
CS_NODISCARD cs_code cs_csr_der(const cs_csr *csr, unsigned char **out, size_t *len,
                                cs_err *err);

/* What a CSR asks for. Free with cs_csr_info_free; strings are owned by it. */
typedef struct cs_csr_info {
    char *subject;           /* one line, "C=SE, O=Simple Inc, CN=x" */
    cs_rdn *subject_rdns;    /* in order */
    size_t subject_rdns_len;
    cs_name *names;          /* requested SANs of types dns, ip, email, uri */
    size_t names_len;
    int ca;                  /* basicConstraints CA:TRUE requested */
    struct { int present, critical; unsigned bits; } key_usage;  /* CS_KU_* */
    struct { int present, critical; char **purposes; size_t len; } ext_key_usage;
    char **extensions;       /* every requested extension's short name or OID */
    size_t extensions_len;
    char *signature_algorithm;
    const char *key_type;    /* as cs_key_type: static strings */
    const char *key_curve;   /* NULL unless ec */
    int key_bits;
    char key_fingerprint[65]; /* SHA-256 of the SPKI, as cs_key_fingerprint */
} cs_csr_info;

/* CS_EINVAL naming the extension when a requested extension does not parse. */
CS_NODISCARD cs_code cs_csr_get_info(const cs_csr *csr, cs_csr_info **out, cs_err *err);
void cs_csr_info_free(cs_csr_info *info);

#endif
