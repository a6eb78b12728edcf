/* A prepared certificate template: a spec compiled once for one issuer, so
 * that issuing many certificates from it pays per certificate only for what
 * changes (the names, the key, the serial, the dates) and for the lint and
 * the signature, which every certificate still gets. The bulk path and the
 * CA's issue path (CSRs included) sign through it. */
#ifndef CS_TEMPLATE_H
#define CS_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "error.h"
#include "key.h"

/* Constructor: cs_template_new. Destructor: cs_template_free (NULL is fine).
 * A template only reads itself once made: threads may sign from one. */
typedef struct cs_template cs_template;

/* Compile spec for issuer (required: templates are for certificates a CA
 * issues) and issuer_key, which must match (CS_EMISMATCH, as cs_cert_sign).
 * Kept from spec: the subject, the validity's length (not_after -
 * not_before; each certificate starts when it is signed), every extension
 * built once and encoded, in cs_cert_sign's order. spec->serial must be
 * NULL. The template holds its own references to the issuer and its key. A
 * spec that cannot be built is CS_EINVAL naming the field, as cs_cert_sign
 * says; the spec's strings are not needed afterwards. */
CS_NODISCARD cs_code cs_template_new(const cs_cert_spec *spec, const cs_cert *issuer,
                                     const cs_key *issuer_key, cs_template **out,
                                     cs_err *err);
void cs_template_free(cs_template *t);

/* What one certificate from a template says beyond the template. */
typedef struct cs_template_request {
    /* The subject's CN: every CN of the template's subject is dropped and
     * this one added last. NULL: the template's subject as it is. */
    const char *cn;
    /* The subjectAltName, replacing the template's (criticality from the
     * template's spec). names_len 0: the template's own, if it has one. */
    const cs_name *names;
    size_t names_len;
    /* Big-endian serial, as cs_cert_spec's; NULL: 16 random bytes. */
    const unsigned char *serial;
    size_t serial_len;
    /* Unix seconds; 0: now. notAfter is this plus the template's length. */
    int64_t not_before;
} cs_template_request;

/* Build the certificate req asks for with subject_key's public key, lint it
 * (cs_cert_sign's rules, every certificate: CS_ELINT) and sign it with the
 * template's issuer key. */
CS_NODISCARD cs_code cs_template_sign(const cs_template *t, const cs_template_request *req,
                                      const cs_key *subject_key, cs_cert **out, cs_err *err);

/* The issuer's subject as one line ("C=SE, O=..., CN=..."), as the CA
 * database records it; lives as long as t. */
const char *cs_template_issuer_line(const cs_template *t);

#endif
