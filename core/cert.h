/* X.509 certificates: build from a spec, sign, parse, inspect, verify. */
#ifndef CS_CERT_H
#define CS_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "error.h"
#include "key.h"

/* A certificate. Constructors: cs_cert_sign, cs_cert_load, cs_cert_load_file,
 * cs_cert_load_chain_file. Destructor: cs_cert_free (NULL is fine). */
typedef struct cs_cert cs_cert;

/* One relative distinguished name, in order: {"C","SE"}, {"O","Simple Inc"},
 * {"OU","XYZ"}, {"CN","localhost"}. Fields: C ST L O OU CN serialNumber
 * emailAddress DC (short names as OpenSSL knows them). */
typedef struct cs_rdn {
    const char *field;
    const char *value;
} cs_rdn;

typedef enum cs_name_type { CS_NAME_DNS, CS_NAME_IP, CS_NAME_EMAIL, CS_NAME_URI } cs_name_type;

/* A general name. For CS_NAME_IP in a SAN: "127.0.0.1" or "::1"; in name
 * constraints: a CIDR "10.0.0.0/8", "::1/128". */
typedef struct cs_name {
    cs_name_type type;
    const char *value;
} cs_name;

/* keyUsage bits, as named in RFC 5280 4.2.1.3. */
enum {
    CS_KU_DIGITAL_SIGNATURE = 1 << 0,
    CS_KU_NON_REPUDIATION = 1 << 1,
    CS_KU_KEY_ENCIPHERMENT = 1 << 2,
    CS_KU_DATA_ENCIPHERMENT = 1 << 3,
    CS_KU_KEY_AGREEMENT = 1 << 4,
    CS_KU_KEY_CERT_SIGN = 1 << 5,
    CS_KU_CRL_SIGN = 1 << 6,
};
/* Names for the bits above, index = bit number: "digitalSignature", ... */
extern const char *const cs_key_usage_names[7];
/* The extKeyUsage purposes a spec may name ("serverAuth", ...), i from 0;
 * NULL past the last. A dotted OID is accepted besides these. */
const char *cs_cert_purpose_name(size_t i);

/* What to put in a certificate. Absent extensions have present = 0. */
typedef struct cs_cert_spec {
    const cs_rdn *subject;
    size_t subject_len;
    const unsigned char *serial; /* big-endian; NULL: 16 random bytes, top bit clear */
    size_t serial_len;
    int64_t not_before; /* Unix seconds */
    int64_t not_after;

    struct { int present, critical, ca, path_len; /* -1: none */ } basic_constraints;
    struct { int present, critical; unsigned bits; /* CS_KU_* */ } key_usage;
    /* "serverAuth", "clientAuth", "codeSigning", "emailProtection",
     * "timeStamping", "OCSPSigning", or a dotted OID */
    struct { int present, critical; const char *const *purposes; size_t len; } ext_key_usage;
    struct { int present, critical; const cs_name *names; size_t len; } subject_alt_name;
    struct { int present, critical; const cs_name *permitted; size_t permitted_len;
             const cs_name *excluded; size_t excluded_len; } name_constraints;
    int subject_key_id;   /* add SKI (SHA-1 of the public key, RFC 5280 4.2.1.2) */
    int authority_key_id; /* add AKI = the issuer's SKI (own SKI when self-signed) */
    /* RFC 5280 4.2.1.13: one distribution point whose fullName lists these
     * URIs (places of the same CRL); len 0: no extension. Never critical. */
    struct { const char *const *uris; size_t len; } crl_distribution_points;
    /* RFC 5280 4.2.2.1: id-ad-ocsp and id-ad-caIssuers access descriptions,
     * OCSP first; both lengths 0: no extension. Never critical. */
    struct { const char *const *ocsp; size_t ocsp_len;
             const char *const *ca_issuers; size_t ca_issuers_len; } authority_info_access;
    /* RFC 6960 4.2.2.2.1 id-pkix-ocsp-nocheck (a NULL, not critical): for a
     * delegated OCSP signer, whose own status clients then do not check. */
    int ocsp_no_check;
} cs_cert_spec;

/* Build the certificate for subject_key's public key and sign it with
 * issuer_key; issuer is the issuer's certificate, or NULL for self-signed (then
 * issuer_key must be subject_key). The digest follows issuer_key
 * (cs_key_digest_name). The built certificate is linted before it is signed
 * (core/lint.h, docs/lint.md): any error is CS_ELINT, whatever the spec says
 * (a CA without critical CA:TRUE and keyCertSign, a leaf with keyCertSign or
 * without SAN, notBefore >= notAfter, an issuer that is not a CA, ...), the
 * message naming the first failing rule and listing every error. An issuer
 * key that does not match the issuer is CS_EMISMATCH. */
CS_NODISCARD cs_code cs_cert_sign(const cs_cert_spec *spec, const cs_key *subject_key,
                                  const cs_cert *issuer, const cs_key *issuer_key,
                                  cs_cert **out, cs_err *err);

/* What cs_cert_sign would find linting the certificate it builds from spec,
 * without signing it or needing a private key: the same build (names,
 * serial, validity, extensions, key identifiers; the issuer name from
 * issuer, or the subject when issuer is NULL and the certificate would be
 * self-signed) and the same rules, with the digest signing by the issuer's
 * key (the subject key when self-signed) would use. The subject key is
 * subject_key (a public key is enough), or, with subject_key NULL, a key of
 * the shape described (no key is generated: the rules read only its type,
 * curve and size). *out is a cs_lint_report (lint.h) overwritten with every
 * finding, errors and warnings; CS_OK even when it holds errors. A spec
 * that cannot be built is CS_EINVAL naming the field, as cs_cert_sign says. */
struct cs_lint_report;
CS_NODISCARD cs_code cs_cert_lint_spec(const cs_cert_spec *spec, const cs_key *subject_key,
                                       const cs_key_params *shape, const cs_cert *issuer,
                                       struct cs_lint_report *out, cs_err *err);

/* One certificate, PEM or DER. what names the source in messages. */
CS_NODISCARD cs_code cs_cert_load(const char *data, size_t len, const char *what,
                                  cs_cert **out, cs_err *err);
CS_NODISCARD cs_code cs_cert_load_file(const char *path, cs_cert **out, cs_err *err);
/* Every certificate of a PEM file, in file order; at least one. *out is an
 * array of *n certificates; free with cs_cert_free_all. */
CS_NODISCARD cs_code cs_cert_load_chain_file(const char *path, cs_cert ***out, size_t *n,
                                             cs_err *err);
void cs_cert_free(cs_cert *cert);
void cs_cert_free_all(cs_cert **certs, size_t n);
/* Another reference to the same certificate; free it with cs_cert_free. */
cs_cert *cs_cert_dup(const cs_cert *cert);

/* PEM or DER bytes; free with free(). */
CS_NODISCARD cs_code cs_cert_pem(const cs_cert *cert, char **out, size_t *len, cs_err *err);
CS_NODISCARD cs_code cs_cert_der(const cs_cert *cert, unsigned char **out, size_t *len,
                                 cs_err *err);
/* Write certs as concatenated PEM (a chain file: leaf first), mode 0644,
 * atomically; CS_EEXIST unless overwrite. */
CS_NODISCARD cs_code cs_cert_save(const cs_cert *const *certs, size_t n, const char *path,
                                  int overwrite, cs_err *err);

/* Does key hold the private half of cert's public key? CS_OK or CS_EMISMATCH;
 * CS_EINVAL for a public-only key. */
CS_NODISCARD cs_code cs_cert_check_key(const cs_cert *cert, const cs_key *key, cs_err *err);

/* Everything in a certificate, as plain strings and numbers. Free with
 * cs_cert_info_free. Strings are NUL-terminated and owned by the info. */
typedef struct cs_cert_info {
    int version;             /* 3 for v3 */
    char *serial;            /* upper-case hex, no separators */
    char *subject;           /* one line, RFC 2253 order reversed: "C=SE, O=Simple Inc, CN=x" */
    char *issuer;
    cs_rdn *subject_rdns;    /* in order, as cs_rdn with owned strings */
    size_t subject_rdns_len;
    int64_t not_before, not_after;
    char *signature_algorithm; /* "ecdsa-with-SHA384", "ED25519", "sha256WithRSAEncryption" */
    char *key_type;          /* "ec", "ed25519", "rsa" */
    char *key_curve;         /* "P-256", "P-384" or NULL */
    int key_bits;
    char *fingerprint_sha256; /* 64 lower-case hex digits */
    char *subject_key_id;    /* hex or NULL */
    char *authority_key_id;  /* hex or NULL */
    int self_signed;
    struct { int present, critical, ca, path_len; } basic_constraints;
    struct { int present, critical; unsigned bits; } key_usage;
    struct { int present, critical; char **purposes; size_t len; } ext_key_usage;
    struct { int present, critical; cs_name *names; size_t len; } subject_alt_name;
    struct { int present, critical; cs_name *permitted; size_t permitted_len;
             cs_name *excluded; size_t excluded_len; } name_constraints;
    struct { char **uris; size_t len; } crl_distribution_points; /* every fullName URI */
    struct { char **ocsp; size_t ocsp_len; char **ca_issuers; size_t ca_issuers_len; }
        authority_info_access;
    int ocsp_no_check;
    char **extensions;       /* every extension's short name or OID, in order */
    size_t extensions_len;
} cs_cert_info;

CS_NODISCARD cs_code cs_cert_get_info(const cs_cert *cert, cs_cert_info **out, cs_err *err);
void cs_cert_info_free(cs_cert_info *info);

/* SHA-256 of the DER certificate, 64 lower-case hex digits + NUL. */
void cs_cert_fingerprint(const cs_cert *cert, char out[65]);
/* SHA-1 of the DER certificate, 40 lower-case hex digits + NUL: only for
 * matching what browsers and older tools still show. */
void cs_cert_fingerprint_sha1(const cs_cert *cert, char out[41]);
/* Serial as upper-case hex; free with free(). NULL when out of memory. */
char *cs_cert_serial_hex(const cs_cert *cert);
int64_t cs_cert_not_after(const cs_cert *cert);

/* Verify leaf up to one of roots, with untrusted intermediates, strictly
 * (X509_V_FLAG_X509_STRICT). host, if not NULL, must match a SAN: an IP
 * literal is checked as an IP, anything else as a DNS name. at_time, if not 0,
 * is the time to check at (Unix seconds). CS_EVERIFY with OpenSSL's reason and
 * the depth on failure. */
CS_NODISCARD cs_code cs_cert_verify(const cs_cert *leaf, const cs_cert *const *untrusted,
                                    size_t untrusted_len, const cs_cert *const *roots,
                                    size_t roots_len, const char *host, int64_t at_time,
                                    cs_err *err);

/* cs_cert_verify with anchor as the one trust anchor, self-signed or not
 * (X509_V_FLAG_PARTIAL_CHAIN): the chain ends at anchor, whose own issuer and
 * signature are not checked. Everything else is (the anchor's validity,
 * basicConstraints, keyUsage, nameConstraints, path length; strict mode).
 * The caller vouches for anchor: use it only for a certificate already
 * verified up to a root (a CA's own intermediate, checked when opened). */
CS_NODISCARD cs_code cs_cert_verify_anchored(const cs_cert *leaf,
                                             const cs_cert *const *untrusted,
                                             size_t untrusted_len, const cs_cert *anchor,
                                             const char *host, int64_t at_time, cs_err *err);

/* Did issuer sign cert? Its subject is cert's issuer, the key identifiers
 * agree, it may sign certificates (X509_check_issued), and its public key
 * verifies cert's signature. CS_OK, or CS_EVERIFY with the reason alone
 * ("subject issuer mismatch", "signature does not verify with the issuer's
 * key"). issuer == cert checks a self-signature. */
CS_NODISCARD cs_code cs_cert_issued_by(const cs_cert *cert, const cs_cert *issuer, cs_err *err);

/* Borrowed; lives as long as cert. */
X509 *cs_cert_get0_x509(const cs_cert *cert);

#endif
