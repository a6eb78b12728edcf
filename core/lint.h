/* Certificate lint: the RFC 5280 and CA/Browser Forum Baseline Requirements
 * rules, in one place, for a certificate about to be signed (cs_cert_sign
 * refuses on any error) and for existing ones (pki.lint, scripts/lint.lua).
 * docs/lint.md lists every rule, its level and its source. */
#ifndef CS_LINT_H
#define CS_LINT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "error.h"

typedef enum cs_lint_level { CS_LINT_ERROR, CS_LINT_WARNING } cs_lint_level;

/* One rule: a stable name ("rfc5280-ca-ski"), its level, where it comes from
 * ("RFC 5280 4.2.1.2") and one line saying what it asks. */
typedef struct cs_lint_rule {
    const char *name;
    cs_lint_level level;
    const char *source;
    const char *summary;
} cs_lint_rule;

/* Every rule, in the order they run; *n is the count. Static, never freed. */
const cs_lint_rule *cs_lint_rules(size_t *n);

/* What a rule found: the rule (static), and a message naming the field. */
typedef struct cs_lint_finding {
    const cs_lint_rule *rule;
    char message[200];
} cs_lint_finding;

/* Findings of one certificate, filled without allocating. More than
 * CS_LINT_MAX findings are counted in dropped and not kept. */
#define CS_LINT_MAX 24
typedef struct cs_lint_report {
    size_t n, errors, warnings, dropped;
    cs_lint_finding findings[CS_LINT_MAX];
} cs_lint_report;

/* Lint x, a certificate about to be signed: issuer is the issuer's
 * certificate or NULL when self-signed; signer is the key that will sign
 * (its curve decides the digest rule); digest is the digest that will be used
 * (cs_key_digest_name: "SHA256", "SHA384", NULL for Ed25519). The report is
 * overwritten. Only reads x: OpenSSL's per-certificate extension cache is not
 * filled, since it would go stale once the certificate is signed. */
void cs_lint_tbs(const X509 *x, const X509 *issuer, const EVP_PKEY *signer,
                 const char *digest, cs_lint_report *out);

/* Lint an existing certificate. issuer is its issuer's certificate, or NULL
 * when unknown: a self-issued certificate (issuer name = subject name) is then
 * its own issuer; otherwise the rules that need the issuer are skipped. The
 * digest is read from the signature algorithm. */
void cs_lint_cert(const cs_cert *cert, const cs_cert *issuer, cs_lint_report *out);

/* CS_OK if the report has no error; else CS_ELINT naming the first failing
 * rule, the message listing every error ("lint: rule: message (source); ..."). */
CS_NODISCARD cs_code cs_lint_refuse(const cs_lint_report *r, cs_err *err);

#endif
