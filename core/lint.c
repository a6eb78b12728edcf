/* Certificate lint: every RFC 5280 / CA/B Forum Baseline Requirements rule the
 * core enforces, in one table and one pass. The same code judges a certificate
 * about to be signed (cs_cert_sign refuses on any error) and a foreign one.
 *
 * Cost: each extension is decoded once (one d2i each, freed at the end); the
 * rules then read the decoded forms; findings go into the caller's report, so
 * a clean certificate costs no allocation beyond those decodings. Nothing is
 * re-encoded. */
#include "lint.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "text.h"

enum {
    R_VERSION,
    R_SERIAL_POSITIVE,
    R_SERIAL_LENGTH,
    R_SERIAL_ENTROPY,
    R_VALIDITY_ORDER,
    R_EXT_DER,
    R_EXT_DUPLICATE,
    R_CA_BC_CRITICAL,
    R_CA_KU_CERT_SIGN,
    R_CA_KU_CRITICAL,
    R_KU_CERT_SIGN_NEEDS_CA,
    R_PATH_LEN_NEEDS_CA,
    R_KU_NON_EMPTY,
    R_CA_SUBJECT,
    R_CA_SKI,
    R_AKI_PRESENT,
    R_AKI_MATCHES,
    R_ISSUER_NAME,
    R_ISSUER_CA,
    R_ISSUER_PATH_LEN,
    R_SAN_NON_EMPTY,
    R_EMPTY_SUBJECT_SAN,
    R_EKU_NON_EMPTY,
    R_NC_CA_ONLY,
    R_NC_NON_EMPTY,
    R_NC_IP_LENGTH,
    R_SAN_DNS,
    R_SAN_WILDCARD,
    R_SAN_IP_LENGTH,
    R_LEAF_SAN,
    R_LEAF_CN_IN_SAN,
    R_LEAF_EKU,
    R_LEAF_VALIDITY,
    R_EC_KU,
    R_ED25519_KU,
    R_RSA_SIZE,
    R_WEAK_DIGEST,
    R_ECDSA_DIGEST,
    R_OBSOLETE_EXT,
    R_COUNT
};

#define E CS_LINT_ERROR
#define W CS_LINT_WARNING
static const cs_lint_rule rules[R_COUNT] = {
    [R_VERSION] = {"rfc5280-version-3", E, "RFC 5280 4.1.2.1; BR 7.1.1",
                   "certificates with extensions are version 3"},
    [R_SERIAL_POSITIVE] = {"rfc5280-serial-positive", E, "RFC 5280 4.1.2.2",
                           "the serial number is a positive integer"},
    [R_SERIAL_LENGTH] = {"rfc5280-serial-length", E, "RFC 5280 4.1.2.2",
                         "the serial number is at most 20 octets"},
    [R_SERIAL_ENTROPY] = {"cabf-serial-entropy", E, "BR 7.1",
                          "the serial holds at least 64 bits from a CSPRNG (so at least "
                          "8 octets)"},
    [R_VALIDITY_ORDER] = {"rfc5280-validity-order", E, "RFC 5280 4.1.2.5",
                          "notBefore is before notAfter"},
    [R_EXT_DER] = {"rfc5280-extension-der", E, "RFC 5280 4.2",
                   "every known extension decodes"},
    [R_EXT_DUPLICATE] = {"rfc5280-no-duplicate-extensions", E, "RFC 5280 4.2",
                         "no extension appears twice"},
    [R_CA_BC_CRITICAL] = {"rfc5280-ca-basic-constraints-critical", E,
                          "RFC 5280 4.2.1.9; BR 7.1.2.10.4",
                          "a CA's basicConstraints (CA:TRUE) is critical"},
    [R_CA_KU_CERT_SIGN] = {"rfc5280-ca-key-usage-cert-sign", E,
                           "RFC 5280 4.2.1.3; BR 7.1.2.10.7",
                           "a CA has keyUsage with keyCertSign"},
    [R_CA_KU_CRITICAL] = {"rfc5280-ca-key-usage-critical", E, "RFC 5280 4.2.1.3; BR 7.1.2.10.7",
                          "a CA's keyUsage is critical"},
    [R_KU_CERT_SIGN_NEEDS_CA] = {"rfc5280-key-cert-sign-needs-ca", E,
                                 "RFC 5280 4.2.1.3, 4.2.1.9",
                                 "keyCertSign only with basicConstraints CA:TRUE (a leaf "
                                 "cannot sign certificates)"},
    [R_PATH_LEN_NEEDS_CA] = {"rfc5280-path-len-needs-ca", E, "RFC 5280 4.2.1.9",
                             "pathLenConstraint only with CA:TRUE and keyCertSign"},
    [R_KU_NON_EMPTY] = {"rfc5280-key-usage-non-empty", E, "RFC 5280 4.2.1.3",
                        "keyUsage, when present, has a bit set"},
    [R_CA_SUBJECT] = {"rfc5280-ca-subject-non-empty", E, "RFC 5280 4.1.2.6",
                      "a CA has a non-empty subject"},
    [R_CA_SKI] = {"rfc5280-ca-ski", E, "RFC 5280 4.2.1.2; BR 7.1.2.10",
                  "a CA has subjectKeyIdentifier"},
    [R_AKI_PRESENT] = {"rfc5280-aki-present", E, "RFC 5280 4.2.1.1; BR 7.1.2",
                       "a certificate that is not self-issued has authorityKeyIdentifier "
                       "with a keyIdentifier"},
    [R_AKI_MATCHES] = {"rfc5280-aki-matches-issuer-ski", E, "RFC 5280 4.2.1.1",
                       "authorityKeyIdentifier equals the issuer's subjectKeyIdentifier"},
    [R_ISSUER_NAME] = {"rfc5280-issuer-name-matches", E, "RFC 5280 4.1.2.4, 7.1; BR 7.1.4.1",
                       "the issuer DN is byte-for-byte the issuer's subject DN"},
    [R_ISSUER_CA] = {"rfc5280-issuer-is-ca", E, "RFC 5280 4.2.1.9, 6.1.4 (k)",
                     "the issuer is a CA (CA:TRUE, keyCertSign if it has keyUsage)"},
    [R_ISSUER_PATH_LEN] = {"rfc5280-issuer-path-len", E, "RFC 5280 4.2.1.9, 6.1.4 (l)",
                           "an issuer with pathLenConstraint 0 signs no CA"},
    [R_SAN_NON_EMPTY] = {"rfc5280-san-non-empty", E, "RFC 5280 4.2.1.6",
                         "subjectAltName, when present, holds a name"},
    [R_EMPTY_SUBJECT_SAN] = {"rfc5280-empty-subject-san-critical", E, "RFC 5280 4.2.1.6",
                             "an empty subject comes with a critical subjectAltName"},
    [R_EKU_NON_EMPTY] = {"rfc5280-eku-non-empty", E, "RFC 5280 4.2.1.12",
                         "extKeyUsage, when present, holds a purpose"},
    [R_NC_CA_ONLY] = {"rfc5280-name-constraints-ca-only", E, "RFC 5280 4.2.1.10",
                      "nameConstraints only in a CA"},
    [R_NC_NON_EMPTY] = {"rfc5280-name-constraints-non-empty", E, "RFC 5280 4.2.1.10",
                        "nameConstraints holds a permitted or excluded subtree"},
    [R_NC_IP_LENGTH] = {"rfc5280-name-constraints-ip-syntax", E, "RFC 5280 4.2.1.10",
                        "an iPAddress constraint is 8 or 32 octets (address and mask)"},
    [R_SAN_DNS] = {"rfc5280-san-dns-syntax", E, "RFC 5280 4.2.1.6; RFC 1034 3.5; BR 7.1.2.7.12",
                   "a dNSName is letters, digits and hyphens in labels of 1 to 63, at most "
                   "253 in all, no underscore"},
    [R_SAN_WILDCARD] = {"cabf-san-wildcard-syntax", E, "BR 7.1.2.7.12; RFC 6125 6.4.3",
                        "'*' only as the whole leftmost label, followed by a name"},
    [R_SAN_IP_LENGTH] = {"rfc5280-san-ip-syntax", E, "RFC 5280 4.2.1.6",
                         "an iPAddress is 4 (IPv4) or 16 (IPv6) octets"},
    [R_LEAF_SAN] = {"cabf-leaf-san-present", E, "BR 7.1.2.7.12; RFC 5280 4.2.1.6",
                    "an end-entity certificate has a non-empty subjectAltName (but a "
                    "delegated OCSP responder, BR 7.1.2.8); a TLS server certificate's "
                    "holds a dNSName or an iPAddress"},
    [R_LEAF_CN_IN_SAN] = {"cabf-leaf-cn-in-san", E, "BR 7.1.4.3",
                          "a TLS server certificate's commonName, if any, is one of its "
                          "subjectAltName entries"},
    [R_LEAF_EKU] = {"cabf-leaf-eku-present", E, "BR 7.1.2.7.10",
                    "an end-entity certificate has extKeyUsage"},
    [R_LEAF_VALIDITY] = {"cabf-leaf-validity-398-days", E, "BR 6.3.2",
                         "a TLS server certificate is valid for at most 398 days"},
    [R_EC_KU] = {"rfc5480-ec-key-usage", E, "RFC 5480 3; BR 7.1.2.7.11",
                 "an EC key has no keyEncipherment or dataEncipherment"},
    [R_ED25519_KU] = {"rfc8410-ed25519-key-usage", E, "RFC 8410 5",
                      "an Ed25519 key only signs: digitalSignature, nonRepudiation, "
                      "keyCertSign, cRLSign"},
    [R_RSA_SIZE] = {"cabf-rsa-key-size", E, "BR 6.1.5",
                    "an RSA modulus is at least 2048 bits and a multiple of 8"},
    [R_WEAK_DIGEST] = {"cabf-no-weak-digest", E, "BR 7.1.3.2",
                       "no signature with SHA-1 or MD5 (or older)"},
    [R_ECDSA_DIGEST] = {"cabf-ecdsa-digest-matches-curve", E, "BR 7.1.3.2.2; RFC 5480 4",
                        "an ECDSA signature by a P-256 key uses SHA-256, by a P-384 key "
                        "SHA-384"},
    [R_OBSOLETE_EXT] = {"cabf-no-obsolete-extensions", E, "BR 7.1.2.7.6; RFC 5280 4.2.1.3",
                        "no Netscape extensions (nsCertType, nsComment, ...): keyUsage and "
                        "extKeyUsage replaced them"},
};
#undef E
#undef W

const cs_lint_rule *cs_lint_rules(size_t *n)
{
    if (n)
        *n = R_COUNT;
    return rules;
}

static void find(cs_lint_report *r, int id, const char *fmt, ...) CS_PRINTF(3, 4);

static void find(cs_lint_report *r, int id, const char *fmt, ...)
{
    va_list ap;
    cs_lint_finding *f;

    if (rules[id].level == CS_LINT_ERROR)
        r->errors++;
    else
        r->warnings++;
    if (r->n == CS_LINT_MAX) {
        r->dropped++;
        return;
    }
    f = &r->findings[r->n++];
    f->rule = &rules[id];
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

/* A name from the certificate, safe to print (cs_text_escape, flags as it
 * takes them), cut at 64 characters ("..." then). */
static const char *printable(const unsigned char *p, int len, unsigned flags, char out[72])
{
    if (cs_text_escape(p, len > 0 ? (size_t)len : 0, flags, out, 65) > 64)
        memcpy(out + strlen(out), "...", 4);
    return out;
}

/* The extensions the rules read, each decoded once. */
typedef struct exts {
    BASIC_CONSTRAINTS *bc;
    int bc_crit;
    ASN1_BIT_STRING *ku;
    int ku_crit;
    EXTENDED_KEY_USAGE *eku;
    GENERAL_NAMES *san;
    int san_crit;
    NAME_CONSTRAINTS *nc;
    ASN1_OCTET_STRING *ski;
    AUTHORITY_KEYID *aki;
} exts;

static void exts_free(exts *e)
{
    BASIC_CONSTRAINTS_free(e->bc);
    ASN1_BIT_STRING_free(e->ku);
    EXTENDED_KEY_USAGE_free(e->eku);
    GENERAL_NAMES_free(e->san);
    NAME_CONSTRAINTS_free(e->nc);
    ASN1_OCTET_STRING_free(e->ski);
    AUTHORITY_KEYID_free(e->aki);
}

static int is_obsolete(int nid)
{
    switch (nid) {
    case NID_netscape_cert_type:
    case NID_netscape_base_url:
    case NID_netscape_revocation_url:
    case NID_netscape_ca_revocation_url:
    case NID_netscape_renewal_url:
    case NID_netscape_ca_policy_url:
    case NID_netscape_ssl_server_name:
    case NID_netscape_comment:
        return 1;
    default:
        return 0;
    }
}

static const char *ext_name(int nid)
{
    return nid != NID_undef ? OBJ_nid2sn(nid) : "unknown extension";
}

/* One pass: duplicates, obsolete extensions, and the decoding of those the
 * rules read. */
static void read_exts(const X509 *x, exts *e, cs_lint_report *r)
{
    int i, j, n = X509_get_ext_count(x);

    memset(e, 0, sizeof *e);
    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
        int nid = OBJ_obj2nid(obj);
        int crit = X509_EXTENSION_get_critical(ext);
        void **slot = NULL;
        int dup = 0;

        for (j = 0; j < i && !dup; j++)
            dup = OBJ_cmp(obj, X509_EXTENSION_get_object(X509_get_ext(x, j))) == 0;
        if (dup) {
            find(r, R_EXT_DUPLICATE, "%s: appears more than once", ext_name(nid));
            continue;
        }
        if (is_obsolete(nid))
            find(r, R_OBSOLETE_EXT, "%s: obsolete Netscape extension (keyUsage and "
                 "extKeyUsage say what it meant)", ext_name(nid));
        switch (nid) {
        case NID_basic_constraints: slot = (void **)&e->bc; e->bc_crit = crit; break;
        case NID_key_usage: slot = (void **)&e->ku; e->ku_crit = crit; break;
        case NID_ext_key_usage: slot = (void **)&e->eku; break;
        case NID_subject_alt_name: slot = (void **)&e->san; e->san_crit = crit; break;
        case NID_name_constraints: slot = (void **)&e->nc; break;
        case NID_subject_key_identifier: slot = (void **)&e->ski; break;
        case NID_authority_key_identifier: slot = (void **)&e->aki; break;
        default: break;
        }
        if (!slot)
            continue;
        *slot = X509V3_EXT_d2i(ext);
        if (!*slot)
            find(r, R_EXT_DER, "%s: does not decode", ext_name(nid));
    }
}

static unsigned ku_bits(const ASN1_BIT_STRING *ku)
{
    unsigned bits = 0;
    int i;

    for (i = 0; i < 9; i++)
        if (ASN1_BIT_STRING_get_bit(ku, i))
            bits |= 1u << i;
    return bits;
}

static void lint_serial(const X509 *x, cs_lint_report *r)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    const unsigned char *d = ASN1_STRING_get0_data(sn);
    int len = ASN1_STRING_length(sn);
    int i, zero = 1, octets;

    for (i = 0; i < len; i++)
        zero &= d[i] == 0;
    if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER || zero) {
        find(r, R_SERIAL_POSITIVE, "serialNumber: %s", zero ? "zero" : "negative");
        return;
    }
    /* DER content octets: the magnitude, plus a 0x00 when its top bit is set. */
    octets = len + (d[0] & 0x80 ? 1 : 0);
    if (octets > 20)
        find(r, R_SERIAL_LENGTH, "serialNumber: %d octets, more than 20", octets);
    if (octets < 8)
        find(r, R_SERIAL_ENTROPY, "serialNumber: %d octet%s, too short to hold 64 random "
             "bits", octets, octets == 1 ? "" : "s");
}

/* Why a dNSName breaks preferred name syntax, or NULL. A leading "*." is
 * the wildcard rule's business and is skipped here. */
static const char *dns_problem(const unsigned char *p, int len)
{
    int i, label = 0;

    if (len == 0)
        return "is empty";
    if (len > 253)
        return "is longer than 253 characters";
    if (len >= 2 && p[0] == '*' && p[1] == '.') {
        p += 2;
        len -= 2;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c == '.') {
            if (label == 0)
                return "has an empty label";
            if (p[i - 1] == '-')
                return "has a label ending in '-'";
            label = 0;
            continue;
        }
        if (c == '_')
            return "has an underscore";
        if (c == '*') {
            label++; /* a character the wildcard rule judges, not this one */
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return "has a character other than a letter, digit, '-' or '.'";
        if (c == '-' && label == 0)
            return "has a label starting with '-'";
        if (++label > 63)
            return "has a label longer than 63 characters";
    }
    if (label == 0)
        return "ends in '.' or is empty";
    if (p[len - 1] == '-')
        return "has a label ending in '-'";
    return NULL;
}

static int wildcard_ok(const unsigned char *p, int len)
{
    int i, start = len >= 2 && p[0] == '*' && p[1] == '.' ? 2 : 0;

    if (start == 2 && len == 2)
        return 0;
    for (i = start; i < len; i++)
        if (p[i] == '*')
            return 0;
    return 1;
}

/* Does san name a host (a dNSName or an iPAddress), as a TLS server's must? */
static int san_has_host(const GENERAL_NAMES *san)
{
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
        int type = sk_GENERAL_NAME_value(san, i)->type;
        if (type == GEN_DNS || type == GEN_IPADD)
            return 1;
    }
    return 0;
}

static void lint_san(const exts *e, cs_lint_report *r)
{
    char buf[72];
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(e->san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(e->san, i);
        if (g->type == GEN_DNS) {
            const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
            int len = ASN1_STRING_length(g->d.dNSName);
            const char *why = dns_problem(p, len);
            if (why)
                find(r, R_SAN_DNS, "subjectAltName: dNSName '%s' %s",
                     printable(p, len, CS_TEXT_ASCII, buf), why);
            if (!wildcard_ok(p, len))
                find(r, R_SAN_WILDCARD, "subjectAltName: dNSName '%s': '*' only as the "
                     "whole leftmost label", printable(p, len, CS_TEXT_ASCII, buf));
        } else if (g->type == GEN_IPADD) {
            int len = ASN1_STRING_length(g->d.iPAddress);
            if (len != 4 && len != 16)
                find(r, R_SAN_IP_LENGTH, "subjectAltName: iPAddress of %d octets (4 or 16)",
                     len);
        }
    }
}

static void lint_nc_ips(const STACK_OF(GENERAL_SUBTREE) *trees, const char *which,
                        cs_lint_report *r)
{
    int i;

    for (i = 0; i < sk_GENERAL_SUBTREE_num(trees); i++) {
        const GENERAL_NAME *g = sk_GENERAL_SUBTREE_value(trees, i)->base;
        if (g->type == GEN_IPADD) {
            int len = ASN1_STRING_length(g->d.iPAddress);
            if (len != 8 && len != 32)
                find(r, R_NC_IP_LENGTH, "nameConstraints: %s iPAddress of %d octets (8 or "
                     "32: address and mask)", which, len);
        }
    }
}

static int eku_has(const EXTENDED_KEY_USAGE *eku, int nid)
{
    int i;

    for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
            return 1;
    return 0;
}

static int ascii_case_equal(const unsigned char *a, const unsigned char *b, int len)
{
    int i;

    for (i = 0; i < len; i++) {
        unsigned char ca = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
        unsigned char cb = b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i];
        if (ca != cb)
            return 0;
    }
    return 1;
}

/* Is the commonName value one of the SAN's DNS names or IP addresses? */
static int cn_in_san(const ASN1_STRING *cn, const GENERAL_NAMES *san)
{
    const unsigned char *v = ASN1_STRING_get0_data(cn);
    int len = ASN1_STRING_length(cn);
    unsigned char ip[16];
    char text[64];
    int iplen = 0, i;

    if (len > 0 && len < (int)sizeof text) {
        memcpy(text, v, (size_t)len);
        text[len] = '\0';
        if (inet_pton(AF_INET, text, ip) == 1)
            iplen = 4;
        else if (inet_pton(AF_INET6, text, ip) == 1)
            iplen = 16;
    }
    for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
        const ASN1_STRING *s = g->type == GEN_DNS ? g->d.dNSName
                               : g->type == GEN_IPADD ? g->d.iPAddress : NULL;
        if (!s)
            continue;
        if (g->type == GEN_DNS && ASN1_STRING_length(s) == len &&
            ascii_case_equal(ASN1_STRING_get0_data(s), v, len))
            return 1;
        if (g->type == GEN_IPADD && iplen && ASN1_STRING_length(s) == iplen &&
            memcmp(ASN1_STRING_get0_data(s), ip, (size_t)iplen) == 0)
            return 1;
    }
    return 0;
}

static void lint_key(const X509 *x, const exts *e, unsigned bits, int ca, cs_lint_report *r)
{
    const EVP_PKEY *pk = X509_get0_pubkey(x);
    int id;

    if (!pk)
        return;
    id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
        int n = EVP_PKEY_get_bits(pk);
        if (n < 2048 || n % 8 != 0)
            find(r, R_RSA_SIZE, "subjectPublicKeyInfo: RSA key of %d bits (at least 2048, a "
                 "multiple of 8)", n);
    } else if (id == EVP_PKEY_EC && e->ku &&
               (bits & (CS_KU_KEY_ENCIPHERMENT | CS_KU_DATA_ENCIPHERMENT))) {
        find(r, R_EC_KU, "keyUsage: %s on an EC key (RSA key transport only)",
             bits & CS_KU_KEY_ENCIPHERMENT ? "keyEncipherment" : "dataEncipherment");
    } else if (id == EVP_PKEY_ED25519 && e->ku &&
               (bits & ~(unsigned)(CS_KU_DIGITAL_SIGNATURE | CS_KU_NON_REPUDIATION |
                                   CS_KU_KEY_CERT_SIGN | CS_KU_CRL_SIGN))) {
        find(r, R_ED25519_KU, "keyUsage: an Ed25519 key can only sign (digitalSignature, "
             "nonRepudiation%s)", ca ? ", keyCertSign, cRLSign" : "");
    }
}

/* The digest against the signing key: md_nid is the signature's digest
 * (NID_undef: intrinsic, as Ed25519, or unknown). */
static void lint_digest(int md_nid, const EVP_PKEY *signer, cs_lint_report *r)
{
    char group[32];
    size_t glen = 0;
    int want = NID_undef;

    if (md_nid == NID_sha1 || md_nid == NID_md5 || md_nid == NID_md4 || md_nid == NID_md2 ||
        md_nid == NID_md5_sha1)
        find(r, R_WEAK_DIGEST, "signature: digest %s is broken for signatures",
             OBJ_nid2sn(md_nid));
    if (!signer || EVP_PKEY_get_base_id(signer) != EVP_PKEY_EC)
        return;
    if (EVP_PKEY_get_group_name(signer, group, sizeof group, &glen) != 1 || glen == 0)
        return;
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        want = NID_sha256;
    else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        want = NID_sha384;
    if (want != NID_undef && md_nid != NID_undef && md_nid != want)
        find(r, R_ECDSA_DIGEST, "signature: %s key signed with %s (use %s)",
             want == NID_sha256 ? "P-256" : "P-384",
             OBJ_nid2sn(md_nid), OBJ_nid2sn(want));
}

static int der_equal(const X509_NAME *a, const X509_NAME *b)
{
    const unsigned char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int ok = X509_NAME_get0_der(a, &da, &la) == 1 && X509_NAME_get0_der(b, &db, &lb) == 1;

    return ok && la == lb && memcmp(da, db, la) == 0;
}

/* The rules that read the issuer: issuer is NULL when self-issued (self
 * says so; the certificate is then its own issuer) or unknown. */
static void lint_issuer(const X509 *x, const X509 *issuer, int self, int ca, const exts *e,
                        cs_lint_report *r)
{
    const ASN1_OCTET_STRING *want = NULL;
    X509 *iss = (X509 *)issuer; /* signed: OpenSSL's cached getters are safe */

    if (!self && (!e->aki || !e->aki->keyid))
        find(r, R_AKI_PRESENT, "authorityKeyIdentifier: %s", e->aki ? "has no keyIdentifier"
                                                                    : "missing");
    if (self)
        want = e->ski;
    else if (iss)
        want = X509_get0_subject_key_id(iss);
    if (e->aki && e->aki->keyid && want && ASN1_OCTET_STRING_cmp(e->aki->keyid, want) != 0)
        find(r, R_AKI_MATCHES, "authorityKeyIdentifier: differs from the %s "
             "subjectKeyIdentifier", self ? "certificate's own" : "issuer's");
    if (!iss)
        return;
    if (!der_equal(X509_get_issuer_name(x), X509_get_subject_name(iss)))
        find(r, R_ISSUER_NAME, "issuer: not byte-for-byte the issuer certificate's subject");
    if (!(X509_get_extension_flags(iss) & EXFLAG_CA) ||
        ((X509_get_extension_flags(iss) & EXFLAG_KUSAGE) &&
         !(X509_get_key_usage(iss) & KU_KEY_CERT_SIGN)))
        find(r, R_ISSUER_CA, "issuer: not a CA certificate (needs basicConstraints CA:TRUE "
             "and keyCertSign)");
    else if (ca && X509_get_pathlen(iss) == 0 && !self)
        find(r, R_ISSUER_PATH_LEN, "basicConstraints: CA:TRUE below an issuer with "
             "pathLenConstraint 0");
}

static void lint_run(const X509 *x, const X509 *issuer, int self, const EVP_PKEY *signer,
                     int md_nid, cs_lint_report *r)
{
    exts e;
    const X509_NAME *subject = X509_get_subject_name(x);
    int empty_subject = X509_NAME_entry_count(subject) == 0;
    int ca, cert_sign, server, ocsp_signer;
    unsigned bits;
    int i, order;

    memset(r, 0, offsetof(cs_lint_report, findings));
    /* What a rule meets on OpenSSL's error queue (an extension that does not
     * decode) is a finding, not the caller's error: one mark for the pass. */
    ERR_set_mark();
    if (X509_get_version(x) != X509_VERSION_3)
        find(r, R_VERSION, "version: v%ld, not v3", X509_get_version(x) + 1);
    lint_serial(x, r);
    order = ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notAfter(x));
    if (order != -1)
        find(r, R_VALIDITY_ORDER, "validity: %s", order == -2 ? "unreadable times"
                                                           : "notBefore is not before notAfter");
    read_exts(x, &e, r);

    ca = e.bc && e.bc->ca;
    bits = e.ku ? ku_bits(e.ku) : 0;
    cert_sign = (bits & CS_KU_KEY_CERT_SIGN) != 0;
    server = e.eku && eku_has(e.eku, NID_server_auth);
    /* A delegated OCSP responder (OCSPSigning alone) is found by its key, not
     * by a name: BR 7.1.2.8 lists no subjectAltName for it. */
    ocsp_signer = e.eku && sk_ASN1_OBJECT_num(e.eku) == 1 && eku_has(e.eku, NID_OCSP_sign);
    if (ca && !e.bc_crit)
        find(r, R_CA_BC_CRITICAL, "basicConstraints: CA:TRUE but not critical");
    if (ca && !cert_sign)
        find(r, R_CA_KU_CERT_SIGN, "keyUsage: %s in a certificate with CA:TRUE (a CA that "
             "cannot sign certificates; a leaf must not be CA:TRUE)",
             e.ku ? "no keyCertSign" : "missing");
    if (ca && e.ku && !e.ku_crit)
        find(r, R_CA_KU_CRITICAL, "keyUsage: not critical in a CA certificate");
    if (cert_sign && !ca)
        find(r, R_KU_CERT_SIGN_NEEDS_CA, "keyUsage: keyCertSign without basicConstraints "
             "CA:TRUE");
    if (e.bc && e.bc->pathlen && !ca) /* without keyCertSign: R_CA_KU_CERT_SIGN says it */
        find(r, R_PATH_LEN_NEEDS_CA, "basicConstraints: pathLenConstraint without CA:TRUE");
    if (e.ku && (bits & 0x1ff) == 0)
        find(r, R_KU_NON_EMPTY, "keyUsage: no bit set");
    if (ca && empty_subject)
        find(r, R_CA_SUBJECT, "subject: empty in a CA certificate");
    if (ca && !e.ski)
        find(r, R_CA_SKI, "subjectKeyIdentifier: missing in a CA certificate");
    lint_issuer(x, issuer, self, ca, &e, r);
    if (e.san && sk_GENERAL_NAME_num(e.san) == 0)
        find(r, R_SAN_NON_EMPTY, "subjectAltName: no names");
    if (empty_subject && !(e.san && e.san_crit))
        find(r, R_EMPTY_SUBJECT_SAN, "subjectAltName: %s with an empty subject",
             e.san ? "not critical" : "missing");
    if (e.eku && sk_ASN1_OBJECT_num(e.eku) == 0)
        find(r, R_EKU_NON_EMPTY, "extKeyUsage: no purpose");
    if (e.nc && !ca)
        find(r, R_NC_CA_ONLY, "nameConstraints: in a certificate that is not a CA");
    if (e.nc && sk_GENERAL_SUBTREE_num(e.nc->permittedSubtrees) <= 0 &&
        sk_GENERAL_SUBTREE_num(e.nc->excludedSubtrees) <= 0)
        find(r, R_NC_NON_EMPTY, "nameConstraints: no permitted or excluded subtree");
    if (e.nc) {
        lint_nc_ips(e.nc->permittedSubtrees, "permitted", r);
        lint_nc_ips(e.nc->excludedSubtrees, "excluded", r);
    }
    if (e.san)
        lint_san(&e, r);
    if (!ca) {
        if (e.san ? sk_GENERAL_NAME_num(e.san) == 0 : !ocsp_signer)
            find(r, R_LEAF_SAN, "subjectAltName: %s in an end-entity certificate",
                 e.san ? "empty" : "missing");
        if (server && e.san && sk_GENERAL_NAME_num(e.san) > 0 && !san_has_host(e.san))
            find(r, R_LEAF_SAN, "subjectAltName: no dNSName or iPAddress in a TLS server "
                 "certificate");
        if (server && e.san) {
            for (i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
                 i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
                const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
                char buf[72];
                if (!cn_in_san(cn, e.san))
                    find(r, R_LEAF_CN_IN_SAN, "subject: commonName '%s' is not in "
                         "subjectAltName", printable(ASN1_STRING_get0_data(cn),
                                                     ASN1_STRING_length(cn), 0, buf));
            }
        }
        if (!e.eku)
            find(r, R_LEAF_EKU, "extKeyUsage: missing in an end-entity certificate");
        if (server) {
            int days = 0, secs = 0;
            if (ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) &&
                (days > 398 || (days == 398 && secs > 0)))
                find(r, R_LEAF_VALIDITY, "validity: %d days for a TLS server certificate "
                     "(at most 398)", days);
        }
    }
    lint_key(x, &e, bits, ca, r);
    lint_digest(md_nid, signer, r);
    exts_free(&e);
    ERR_pop_to_mark();
}

/* Is x self-issued (issuer name = subject name, RFC 5280 6.1)? */
static int self_issued(const X509 *x)
{
    int eq;

    ERR_set_mark();
    eq = X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)) == 0;
    ERR_pop_to_mark();
    return eq;
}

void cs_lint_tbs(const X509 *x, const X509 *issuer, const EVP_PKEY *signer,
                 const char *digest, cs_lint_report *out)
{
    int md_nid = digest ? OBJ_sn2nid(digest) : NID_undef;

    lint_run(x, issuer, issuer == NULL, signer, md_nid, out);
}

void cs_lint_cert(const cs_cert *cert, const cs_cert *issuer, cs_lint_report *out)
{
    const X509 *x;
    int md_nid = NID_undef, pk_nid = NID_undef;
    int self;
    const EVP_PKEY *signer;

    if (!cert) {
        memset(out, 0, offsetof(cs_lint_report, findings));
        return;
    }
    x = cert->x509;
    self = !issuer && self_issued(x);
    signer = issuer ? X509_get0_pubkey(issuer->x509) : self ? X509_get0_pubkey(x) : NULL;
    if (!OBJ_find_sigid_algs(X509_get_signature_nid(x), &md_nid, &pk_nid))
        md_nid = NID_undef;
    lint_run(x, issuer ? issuer->x509 : NULL, self, signer, md_nid, out);
}

cs_code cs_lint_refuse(const cs_lint_report *r, cs_err *err)
{
    char msg[sizeof err->msg];
    size_t used = 0, i;

    if (r->errors == 0)
        return CS_OK;
    msg[0] = '\0';
    for (i = 0; i < r->n; i++) {
        const cs_lint_finding *f = &r->findings[i];
        int n;
        if (f->rule->level != CS_LINT_ERROR)
            continue;
        n = snprintf(msg + used, sizeof msg - used, "%s%s: %s (%s)", used ? "; " : "",
                     f->rule->name, f->message, f->rule->source);
        if (n < 0 || (size_t)n >= sizeof msg - used)
            break; /* the buffer is full; the first rule is in it */
        used += (size_t)n;
    }
    return cs_err_set(err, CS_ELINT, "lint: %s", msg);
}
