/* core/lint.c: for every rule a certificate that breaks it, built by hand with
 * OpenSSL (cs_cert_sign would refuse it), and the finding expected; clean
 * certificates with none; cs_cert_sign refusing with the rule named; every
 * rule covered here and listed in docs/lint.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "fixtures.h"
#include "key.h"
#include "lint.h"

static cs_lint_report rep;
static int covered[64]; /* by index in cs_lint_rules */

static EVP_PKEY *gen(const char *type, const char *curve, size_t bits)
{
    EVP_PKEY *k = NULL;

    if (strcmp(type, "EC") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    else if (strcmp(type, "RSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, type);
    if (!k) {
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    return k;
}

static void del_ext(X509 *x, int nid)
{
    int i;

    while ((i = X509_get_ext_by_NID(x, nid, -1)) >= 0)
        X509_EXTENSION_free(X509_delete_ext(x, i));
}

/* Add an extension from OpenSSL's config syntax, replacing one of that nid. */
static void ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (!e) {
        fprintf(stderr, "cannot make extension %s = %s\n", OBJ_nid2sn(nid), value);
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    del_ext(x, nid);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* Add an extension from its decoded form, replacing one of that nid. */
static void ext_i2d(X509 *x, int nid, void *value, int critical)
{
    del_ext(x, nid);
    if (X509_add1_ext_i2d(x, nid, value, critical, X509V3_ADD_DEFAULT) != 1) {
        ERR_print_errors_fp(stderr);
        exit(1);
    }
}

static void set_serial_bytes(X509 *x, const unsigned char *b, int len)
{
    BIGNUM *bn = BN_bin2bn(b, len, NULL);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);

    X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
}

/* A clean certificate for key: a CA (self-signed when issuer is NULL) or a
 * TLS server leaf for cn, valid 30 days. Not signed yet. */
static X509 *build(EVP_PKEY *key, X509 *issuer, int ca, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[16];
    char san[128];

    RAND_bytes(serial, sizeof serial);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    X509_set_version(x, X509_VERSION_3);
    set_serial_bytes(x, serial, sizeof serial);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8, (const unsigned char *)"SE", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
    X509_set_pubkey(x, key);
    ext(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer)
        ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (ca) {
        ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
        ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        snprintf(san, sizeof san, "DNS:%s,IP:127.0.0.1", cn);
        ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        ext(x, issuer, NID_ext_key_usage, "serverAuth");
        ext(x, issuer, NID_subject_alt_name, san);
    }
    return x;
}

/* Sign x (md NULL: the key's default, or none for Ed25519) and lint it as an
 * existing certificate, through DER and cs_cert_load like any foreign file. */
static const cs_lint_report *lint(X509 *x, EVP_PKEY *signer, const EVP_MD *md, X509 *issuer)
{
    unsigned char *der = NULL;
    int len;
    cs_cert *c = NULL, *ic = NULL;
    cs_err err = {0};

    if (!md && EVP_PKEY_get_base_id(signer) != EVP_PKEY_ED25519)
        md = EVP_PKEY_get_bits(signer) == 384 ? EVP_sha384() : EVP_sha256();
    if (X509_sign(x, signer, md) <= 0) {
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    len = i2d_X509(x, &der);
    CHECK_OK(cs_cert_load((const char *)der, (size_t)len, "test", &c, &err), &err);
    OPENSSL_free(der);
    if (issuer) {
        der = NULL;
        len = i2d_X509(issuer, &der);
        CHECK_OK(cs_cert_load((const char *)der, (size_t)len, "issuer", &ic, &err), &err);
        OPENSSL_free(der);
    }
    memset(&rep, 0, sizeof rep);
    if (c)
        cs_lint_cert(c, ic, &rep);
    cs_cert_free(ic);
    cs_cert_free(c);
    return &rep;
}

static void dump(const cs_lint_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "    %s %s: %s\n", r->findings[i].rule->level ? "warning" : "error",
                r->findings[i].rule->name, r->findings[i].message);
}

static const cs_lint_finding *finding(const cs_lint_report *r, const char *rule)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->findings[i].rule->name, rule) == 0)
            return &r->findings[i];
    return NULL;
}

static void mark(const char *rule)
{
    size_t n, i;
    const cs_lint_rule *rules = cs_lint_rules(&n);

    for (i = 0; i < n; i++)
        if (strcmp(rules[i].name, rule) == 0)
            covered[i] = 1;
}

/* The report must hold rule with a message containing text. */
#define EXPECT(r, rule, text) expect_at(__LINE__, r, rule, text)
static void expect_at(int line, const cs_lint_report *r, const char *rule, const char *text)
{
    const cs_lint_finding *f = finding(r, rule);

    mark(rule);
    if (f && strstr(f->message, text)) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stderr, "test_lint.c:%d: FAILED: want %s \"%s\", got:\n", line, rule, text);
    dump(r);
}

#define EXPECT_CLEAN(r, what) expect_clean_at(__LINE__, r, what)
static void expect_clean_at(int line, const cs_lint_report *r, const char *what)
{
    if (r->n == 0 && r->errors == 0 && r->warnings == 0) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stderr, "test_lint.c:%d: FAILED: %s should be clean, got:\n", line, what);
    dump(r);
}

#define EXPECT_NOT(r, rule, what) expect_not_at(__LINE__, r, rule, what)
static void expect_not_at(int line, const cs_lint_report *r, const char *rule, const char *what)
{
    if (!finding(r, rule)) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stderr, "test_lint.c:%d: FAILED: %s: unexpected %s:\n", line, what, rule);
    dump(r);
}

static EVP_PKEY *root_key, *inter_key, *leaf_key;
static X509 *root, *inter;

static void setup(void)
{
    root_key = gen("EC", "P-384", 0);
    inter_key = gen("EC", "P-256", 0);
    leaf_key = gen("EC", "P-256", 0);
    root = build(root_key, NULL, 1, "Root");
    inter = build(inter_key, root, 1, "Inter");
    ext(inter, root, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    if (X509_sign(root, root_key, EVP_sha384()) <= 0 ||
        X509_sign(inter, root_key, EVP_sha384()) <= 0) {
        ERR_print_errors_fp(stderr);
        exit(1);
    }
}

static X509 *leaf(void)
{
    return build(leaf_key, inter, 0, "localhost");
}

static void test_clean(void)
{
    X509 *x = build(root_key, NULL, 1, "Root");
    EXPECT_CLEAN(lint(x, root_key, NULL, NULL), "self-signed P-384 root");
    X509_free(x);
    x = build(inter_key, root, 1, "Inter");
    EXPECT_CLEAN(lint(x, root_key, NULL, root), "intermediate");
    X509_free(x);
    x = leaf();
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "P-256 leaf");
    X509_free(x);
    /* Without its issuer, a leaf is judged on what it holds alone. */
    x = leaf();
    EXPECT_CLEAN(lint(x, inter_key, NULL, NULL), "leaf, issuer unknown");
    X509_free(x);
}

static void test_version_serial_validity(void)
{
    X509 *x;
    static const unsigned char zero[] = {0};
    static const unsigned char short_serial[] = {0x10, 0x00};
    unsigned char long_serial[21];

    x = leaf(); /* v1 cannot hold extensions: X509_sign would make it v3 */
    while (X509_get_ext_count(x) > 0)
        X509_EXTENSION_free(X509_delete_ext(x, 0));
    X509_set_version(x, X509_VERSION_1);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-version-3", "version: v1, not v3");
    X509_free(x);

    x = leaf();
    set_serial_bytes(x, zero, 1);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-serial-positive", "serialNumber: zero");
    X509_free(x);
    x = leaf();
    {
        ASN1_INTEGER *neg = ASN1_INTEGER_new();
        ASN1_INTEGER_set_int64(neg, -123456789012345);
        X509_set_serialNumber(x, neg);
        ASN1_INTEGER_free(neg);
    }
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-serial-positive", "negative");
    X509_free(x);

    memset(long_serial, 0x7f, sizeof long_serial);
    x = leaf();
    set_serial_bytes(x, long_serial, sizeof long_serial);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-serial-length", "21 octets");
    X509_free(x);
    long_serial[0] = 0x80; /* 20 bytes of magnitude with the top bit set: 21 in DER */
    x = leaf();
    set_serial_bytes(x, long_serial, 20);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-serial-length", "21 octets");
    X509_free(x);
    long_serial[0] = 0x7f;
    x = leaf();
    set_serial_bytes(x, long_serial, 20);
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "20-octet serial");
    X509_free(x);

    x = leaf();
    set_serial_bytes(x, short_serial, sizeof short_serial); /* the tutorial's 0x1000 */
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-serial-entropy", "2 octets");
    X509_free(x);

    x = leaf();
    X509_set1_notAfter(x, X509_get0_notBefore(x));
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-validity-order", "notBefore is not before");
    X509_free(x);
}

static void test_extension_shape(void)
{
    X509 *x;
    X509_EXTENSION *e;
    ASN1_OCTET_STRING *junk = ASN1_OCTET_STRING_new();

    /* A keyUsage whose value is an INTEGER, not a BIT STRING. */
    ASN1_OCTET_STRING_set(junk, (const unsigned char *)"\x02\x01\x05", 3);
    x = leaf();
    del_ext(x, NID_key_usage);
    e = X509_EXTENSION_create_by_NID(NULL, NID_key_usage, 1, junk);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-extension-der", "keyUsage: does not decode");
    X509_free(x);
    ASN1_OCTET_STRING_free(junk);

    x = leaf();
    e = X509_EXTENSION_dup(X509_get_ext(x, X509_get_ext_by_NID(x, NID_ext_key_usage, -1)));
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-no-duplicate-extensions",
           "extendedKeyUsage: appears more than once");
    X509_free(x);

    x = leaf();
    ext(x, inter, NID_netscape_cert_type, "server");
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-no-obsolete-extensions", "nsCertType");
    X509_free(x);
    x = leaf();
    ext(x, inter, NID_netscape_comment, "OpenSSL Generated Certificate");
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-no-obsolete-extensions", "nsComment");
    X509_free(x);
}

static void test_ca_rules(void)
{
    X509 *x;
    NAME_CONSTRAINTS *nc;
    GENERAL_SUBTREE *sub;
    ASN1_OCTET_STRING *ip;

    x = build(inter_key, root, 1, "Inter");
    ext(x, root, NID_basic_constraints, "CA:TRUE");
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-ca-basic-constraints-critical",
           "basicConstraints: CA:TRUE but not critical");
    X509_free(x);

    x = build(inter_key, root, 1, "Inter");
    ext(x, root, NID_key_usage, "critical,cRLSign");
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-ca-key-usage-cert-sign", "no keyCertSign");
    X509_free(x);
    /* The tutorial's server request asked for CA:TRUE: a leaf claiming to be a CA. */
    x = leaf();
    ext(x, inter, NID_basic_constraints, "CA:TRUE");
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-ca-key-usage-cert-sign",
           "a leaf must not be CA:TRUE");
    X509_free(x);

    x = build(inter_key, root, 1, "Inter");
    ext(x, root, NID_key_usage, "keyCertSign,cRLSign");
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-ca-key-usage-critical", "not critical");
    X509_free(x);

    x = leaf();
    ext(x, inter, NID_key_usage, "critical,digitalSignature,keyCertSign");
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-key-cert-sign-needs-ca",
           "keyCertSign without basicConstraints CA:TRUE");
    X509_free(x);

    x = leaf();
    {
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        bc->pathlen = ASN1_INTEGER_new();
        ASN1_INTEGER_set(bc->pathlen, 0);
        ext_i2d(x, NID_basic_constraints, bc, 1);
        BASIC_CONSTRAINTS_free(bc);
    }
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-path-len-needs-ca",
           "pathLenConstraint without CA:TRUE");
    X509_free(x);

    x = leaf();
    {
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        ext_i2d(x, NID_key_usage, ku, 1);
        ASN1_BIT_STRING_free(ku);
    }
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-key-usage-non-empty", "no bit set");
    X509_free(x);

    x = build(inter_key, root, 1, "Inter");
    {
        X509_NAME *empty = X509_NAME_new();
        X509_set_subject_name(x, empty);
        X509_NAME_free(empty);
    }
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-ca-subject-non-empty", "subject: empty");
    X509_free(x);

    x = build(inter_key, root, 1, "Inter");
    del_ext(x, NID_subject_key_identifier);
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-ca-ski", "subjectKeyIdentifier: missing");
    X509_free(x);

    x = leaf();
    ext(x, inter, NID_name_constraints, "critical,permitted;DNS:.example.com");
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-name-constraints-ca-only",
           "not a CA");
    X509_free(x);

    x = build(inter_key, root, 1, "Inter");
    nc = NAME_CONSTRAINTS_new();
    ext_i2d(x, NID_name_constraints, nc, 1);
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-name-constraints-non-empty",
           "no permitted or excluded subtree");
    X509_free(x);
    /* An address without its mask. */
    nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
    sub = GENERAL_SUBTREE_new();
    ip = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(ip, (const unsigned char *)"\x0a\x00\x00\x00", 4);
    GENERAL_NAME_set0_value(sub->base, GEN_IPADD, ip);
    sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, sub);
    x = build(inter_key, root, 1, "Inter");
    ext_i2d(x, NID_name_constraints, nc, 1);
    EXPECT(lint(x, root_key, NULL, root), "rfc5280-name-constraints-ip-syntax",
           "permitted iPAddress of 4 octets");
    X509_free(x);
    NAME_CONSTRAINTS_free(nc);
}

static void test_issuer_rules(void)
{
    X509 *x, *other, *leaf_issuer, *pl0;
    EVP_PKEY *k2 = gen("EC", "P-256", 0);

    x = leaf();
    del_ext(x, NID_authority_key_identifier);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-aki-present",
           "authorityKeyIdentifier: missing");
    X509_free(x);
    /* Unknown issuer: still not self-issued, so AKI is still required. */
    x = leaf();
    del_ext(x, NID_authority_key_identifier);
    EXPECT(lint(x, inter_key, NULL, NULL), "rfc5280-aki-present", "missing");
    X509_free(x);

    /* AKI from another CA of the same name. */
    other = build(k2, root, 1, "Inter");
    X509_sign(other, root_key, EVP_sha384());
    x = build(leaf_key, other, 0, "localhost");
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-aki-matches-issuer-ski",
           "differs from the issuer's subjectKeyIdentifier");
    X509_free(x);
    /* A self-signed certificate whose AKI is not its own SKI. */
    x = build(root_key, NULL, 1, "Root");
    {
        AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
        akid->keyid = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(akid->keyid, (const unsigned char *)"12345678", 8);
        ext_i2d(x, NID_authority_key_identifier, akid, 0);
        AUTHORITY_KEYID_free(akid);
    }
    EXPECT(lint(x, root_key, NULL, NULL), "rfc5280-aki-matches-issuer-ski", "own");
    X509_free(x);

    /* Same text, another string type: equal to X509_NAME_cmp, not byte-equal. */
    x = leaf();
    {
        X509_NAME *n = X509_NAME_new();
        X509_NAME_add_entry_by_txt(n, "C", V_ASN1_PRINTABLESTRING, (const unsigned char *)"SE",
                                   -1, -1, 0);
        X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_PRINTABLESTRING,
                                   (const unsigned char *)"Inter", -1, -1, 0);
        X509_set_issuer_name(x, n);
        X509_NAME_free(n);
    }
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-issuer-name-matches",
           "not byte-for-byte");
    X509_free(x);

    /* A leaf that signs another leaf. */
    leaf_issuer = leaf();
    X509_sign(leaf_issuer, inter_key, EVP_sha256());
    x = build(k2, leaf_issuer, 0, "b.example");
    EXPECT(lint(x, leaf_key, NULL, leaf_issuer), "rfc5280-issuer-is-ca", "not a CA");
    X509_free(x);

    /* A CA below an issuer with pathLenConstraint 0. */
    pl0 = build(k2, inter, 1, "Sub");
    EXPECT(lint(pl0, inter_key, NULL, inter), "rfc5280-issuer-path-len",
           "below an issuer with pathLenConstraint 0");
    X509_free(pl0);

    X509_free(leaf_issuer);
    X509_free(other);
    EVP_PKEY_free(k2);
}

static void test_names(void)
{
    static const char *const bad_dns[][2] = {
        {"DNS:bad_name.example", "has an underscore"},
        {"DNS:-a.example", "starting with '-'"},
        {"DNS:a-.example", "ending in '-'"},
        {"DNS:a..example", "empty label"},
        {"DNS:a.example.", "ends in '.'"},
        {"DNS:a b.example", "other than a letter"},
        {"DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
         "longer than 63"},
    };
    static const char *const bad_wild[] = {"DNS:a.*.example.com", "DNS:f*.example.com",
                                           "DNS:*", "DNS:*.*.example.com"};
    X509 *x;
    GENERAL_NAMES *gens;
    GENERAL_NAME *g;
    ASN1_OCTET_STRING *ip;
    size_t i;

    for (i = 0; i < sizeof bad_dns / sizeof bad_dns[0]; i++) {
        x = leaf();
        ext(x, inter, NID_subject_alt_name, bad_dns[i][0]);
        EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-san-dns-syntax", bad_dns[i][1]);
        X509_free(x);
    }
    for (i = 0; i < sizeof bad_wild / sizeof bad_wild[0]; i++) {
        x = leaf();
        ext(x, inter, NID_subject_alt_name, bad_wild[i]);
        EXPECT(lint(x, inter_key, NULL, inter), "cabf-san-wildcard-syntax",
               "only as the whole leftmost label");
        EXPECT_NOT(&rep, "rfc5280-san-dns-syntax", bad_wild[i]); /* one finding, one rule */
        X509_free(x);
    }
    x = leaf();
    ext(x, inter, NID_subject_alt_name, "DNS:*.example.com,DNS:xn--bcher-kva.example,"
                                        "DNS:localhost");
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "wildcard and A-label SANs");
    X509_free(x);

    /* An iPAddress of 5 octets. */
    gens = sk_GENERAL_NAME_new_null();
    g = GENERAL_NAME_new();
    ip = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(ip, (const unsigned char *)"\x7f\x00\x00\x01\x00", 5);
    GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    sk_GENERAL_NAME_push(gens, g);
    x = leaf();
    ext_i2d(x, NID_subject_alt_name, gens, 0);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-san-ip-syntax", "iPAddress of 5 octets");
    X509_free(x);
    GENERAL_NAMES_free(gens);

    gens = sk_GENERAL_NAME_new_null();
    x = leaf();
    ext_i2d(x, NID_subject_alt_name, gens, 0);
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-san-non-empty", "no names");
    X509_free(x);
    GENERAL_NAMES_free(gens);

    x = leaf();
    {
        X509_NAME *empty = X509_NAME_new();
        X509_set_subject_name(x, empty);
        X509_NAME_free(empty);
    }
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-empty-subject-san-critical",
           "not critical with an empty subject");
    ext(x, inter, NID_subject_alt_name, "critical,DNS:localhost");
    EXPECT_NOT(lint(x, inter_key, NULL, inter), "rfc5280-empty-subject-san-critical",
               "critical SAN");
    X509_free(x);
}

static void test_leaf_rules(void)
{
    X509 *x;

    x = leaf();
    del_ext(x, NID_subject_alt_name);
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-leaf-san-present",
           "subjectAltName: missing in an end-entity certificate");
    /* A delegated OCSP responder needs none (BR 7.1.2.8)... */
    ext(x, inter, NID_ext_key_usage, "OCSPSigning");
    EXPECT_NOT(lint(x, inter_key, NULL, inter), "cabf-leaf-san-present",
               "OCSP responder without SAN");
    /* ...but OCSPSigning beside another purpose is no exemption. */
    ext(x, inter, NID_ext_key_usage, "OCSPSigning,clientAuth");
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-leaf-san-present",
           "subjectAltName: missing in an end-entity certificate");
    X509_free(x);

    /* A TLS server certificate names a host: an email alone is none. */
    x = build(leaf_key, inter, 0, "Alice");
    ext(x, inter, NID_subject_alt_name, "email:alice@localhost");
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-leaf-san-present",
           "subjectAltName: no dNSName or iPAddress in a TLS server certificate");
    ext(x, inter, NID_ext_key_usage, "clientAuth"); /* a client's may be an email alone */
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "client certificate with an email SAN");
    X509_free(x);

    x = leaf();
    ext(x, inter, NID_subject_alt_name, "DNS:www.example");
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-leaf-cn-in-san",
           "commonName 'localhost' is not in subjectAltName");
    X509_free(x);
    x = build(leaf_key, inter, 0, "127.0.0.1"); /* an IP CN matches the IP SAN */
    ext(x, inter, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "CN 127.0.0.1 with IP SAN");
    X509_free(x);
    x = build(leaf_key, inter, 0, "LocalHost"); /* DNS names compare without case */
    ext(x, inter, NID_subject_alt_name, "DNS:localhost");
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "CN in another case");
    X509_free(x);
    x = build(leaf_key, inter, 0, "Alice"); /* a client certificate: not a BR rule */
    ext(x, inter, NID_ext_key_usage, "clientAuth");
    ext(x, inter, NID_subject_alt_name, "email:alice@example.com");
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "client certificate with a person's CN");
    X509_free(x);

    x = leaf();
    del_ext(x, NID_ext_key_usage);
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-leaf-eku-present", "extKeyUsage: missing");
    X509_free(x);

    x = leaf();
    {
        EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
        ext_i2d(x, NID_ext_key_usage, eku, 0);
        sk_ASN1_OBJECT_free(eku);
    }
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5280-eku-non-empty", "no purpose");
    X509_free(x);

    x = leaf();
    X509_gmtime_adj(X509_getm_notAfter(x), 400L * 86400);
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-leaf-validity-398-days", "days");
    CHECK(rep.errors == 1 && rep.warnings == 0); /* an error: never signed (docs/lint.md) */
    X509_free(x);
}

static void test_keys_and_digests(void)
{
    X509 *x, *r384, *ed_root;
    EVP_PKEY *rsa1024 = gen("RSA", NULL, 1024);
    EVP_PKEY *rsa2048 = gen("RSA", NULL, 2048);
    EVP_PKEY *ed = gen("ED25519", NULL, 0);

    x = leaf();
    ext(x, inter, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    EXPECT(lint(x, inter_key, NULL, inter), "rfc5480-ec-key-usage", "keyEncipherment on an EC");
    X509_free(x);
    x = build(rsa2048, inter, 0, "localhost"); /* fine for RSA */
    ext(x, inter, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    EXPECT_CLEAN(lint(x, inter_key, NULL, inter), "RSA leaf with keyEncipherment");
    X509_free(x);

    x = build(ed, inter, 0, "localhost");
    ext(x, inter, NID_key_usage, "critical,digitalSignature,keyAgreement");
    EXPECT(lint(x, inter_key, NULL, inter), "rfc8410-ed25519-key-usage", "can only sign");
    X509_free(x);
    ed_root = build(ed, NULL, 1, "Ed Root");
    EXPECT_CLEAN(lint(ed_root, ed, NULL, NULL), "Ed25519 root");
    X509_free(ed_root);

    x = build(rsa1024, inter, 0, "localhost");
    EXPECT(lint(x, inter_key, NULL, inter), "cabf-rsa-key-size", "RSA key of 1024 bits");
    X509_free(x);

    x = leaf();
    EXPECT(lint(x, inter_key, EVP_sha1(), inter), "cabf-no-weak-digest", "SHA1");
    X509_free(x);

    /* The tutorial's flaw: a P-384 key signing with SHA-256. */
    r384 = build(root_key, NULL, 1, "Root");
    EXPECT(lint(r384, root_key, EVP_sha256(), NULL), "cabf-ecdsa-digest-matches-curve",
           "P-384 key signed with SHA256 (use SHA384)");
    X509_free(r384);
    x = build(inter_key, root, 1, "Inter");
    EXPECT(lint(x, root_key, EVP_sha256(), root), "cabf-ecdsa-digest-matches-curve", "P-384");
    X509_free(x);
    x = leaf();
    EXPECT(lint(x, inter_key, EVP_sha384(), inter), "cabf-ecdsa-digest-matches-curve",
           "P-256 key signed with SHA384 (use SHA256)");
    X509_free(x);
    /* Issuer unknown: the signing key's curve is unknown, nothing to judge. */
    x = leaf();
    EXPECT_NOT(lint(x, inter_key, EVP_sha384(), NULL), "cabf-ecdsa-digest-matches-curve",
               "unknown issuer");
    X509_free(x);

    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa1024);
}

/* The pre-sign path: the unsigned certificate, the signer and the digest. */
static void test_tbs(void)
{
    X509 *x = leaf();

    memset(&rep, 0, sizeof rep);
    cs_lint_tbs(x, inter, inter_key, "SHA256", &rep);
    EXPECT_CLEAN(&rep, "unsigned leaf");
    cs_lint_tbs(x, inter, inter_key, "SHA384", &rep);
    EXPECT(&rep, "cabf-ecdsa-digest-matches-curve", "P-256 key signed with SHA384");
    cs_lint_tbs(x, inter, inter_key, "SHA1", &rep);
    EXPECT(&rep, "cabf-no-weak-digest", "SHA1");
    X509_free(x);
    x = build(root_key, NULL, 1, "Root");
    cs_lint_tbs(x, NULL, root_key, "SHA384", &rep);
    EXPECT_CLEAN(&rep, "unsigned root");
    X509_free(x);
}

/* More findings than the report holds are counted, not kept. */
static void test_dropped(void)
{
    char san[2048] = "DNS:localhost";
    X509 *x = leaf();
    int i;

    for (i = 0; i < 30; i++)
        strcat(san, ",DNS:a_b.example");
    ext(x, inter, NID_subject_alt_name, san);
    lint(x, inter_key, NULL, inter);
    CHECK(rep.n == CS_LINT_MAX && rep.errors == 30 && rep.dropped == 30 - CS_LINT_MAX);
    X509_free(x);
}

/* cs_cert_sign runs the lint and refuses naming the first failing rule,
 * listing every error. */
static void test_sign_refuses(void)
{
    static const cs_rdn dn[] = {{"CN", "localhost"}};
    static const cs_name names[] = {{CS_NAME_DNS, "localhost"}};
    static const cs_name bad[] = {{CS_NAME_DNS, "a_b.example"}};
    static const char *const purposes[] = {"serverAuth"};
    cs_key *k = fx_key("ec", "P-256");
    cs_cert *c = NULL;
    cs_err err = {0};
    cs_cert_spec s = fx_leaf_spec(dn, 1, purposes, names, 1, 1);

    CHECK_OK(cs_cert_sign(&s, k, NULL, k, &c, &err), &err);
    cs_cert_free(c);
    c = NULL;

    s.ext_key_usage.len = 0;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-eku-non-empty: extKeyUsage: no purpose (RFC 5280 4.2.1.12)");
    s.ext_key_usage.len = 1;
    s.ext_key_usage.present = 0;
    s.key_usage.bits |= CS_KU_KEY_CERT_SIGN;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-key-cert-sign-needs-ca: ");
    CHECK(strstr(err.msg, "; cabf-leaf-eku-present: extKeyUsage: missing") != NULL);
    s.ext_key_usage.present = 1;
    s.key_usage.bits = CS_KU_DIGITAL_SIGNATURE;
    /* The spec's name syntax allows '_'; the BRs do not, and lint says so. */
    s.subject_alt_name.names = bad;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "rfc5280-san-dns-syntax: subjectAltName: dNSName 'a_b.example' has an "
               "underscore");
    CHECK(c == NULL);
    cs_key_free(k);
}

/* What cs_cert_sign refuses s with (or "" when it signs), and what
 * cs_cert_lint_spec finds for the same spec and issuer, given subject key k
 * (public is enough) or shape: the same message from cs_lint_refuse. */
static void expect_same_at(int line, const cs_cert_spec *s, cs_key *k, const cs_key_params *shape,
                           const cs_cert *issuer, cs_key *issuer_key, const char *rule)
{
    cs_err serr = {0}, lerr = {0};
    cs_cert *c = NULL;
    cs_key *signer = issuer_key ? issuer_key : k;
    cs_code rc = cs_cert_sign(s, k, issuer, signer, &c, &serr);

    cs_cert_free(c);
    memset(&rep, 0xa5, sizeof rep); /* overwritten, not merged */
    if (cs_cert_lint_spec(s, shape ? NULL : k, shape, issuer, &rep, &lerr) != CS_OK) {
        check_failed++;
        fprintf(stderr, "test_lint.c:%d: FAILED: cs_cert_lint_spec: %s\n", line, lerr.msg);
        return;
    }
    if (cs_lint_refuse(&rep, &lerr) == CS_OK)
        lerr.msg[0] = '\0';
    if (rc != (rule ? CS_ELINT : CS_OK) || strcmp(serr.msg, lerr.msg) != 0) {
        check_failed++;
        fprintf(stderr, "test_lint.c:%d: FAILED: sign says %s \"%s\", lint_spec \"%s\"\n",
                line, cs_code_name(rc), serr.msg, lerr.msg);
        return;
    }
    if (rule)
        expect_at(line, &rep, rule, "");
    else
        expect_clean_at(line, &rep, "good spec");
}
#define EXPECT_SAME(s, k, shape, issuer, issuer_key, rule) \
    expect_same_at(__LINE__, s, k, shape, issuer, issuer_key, rule)

/* cs_cert_lint_spec finds what signing would refuse, without signing: with
 * the subject's public key alone or only its shape, under an issuer or
 * self-signed; a spec that cannot be built is the same error as signing's. */
static void test_lint_spec(void)
{
    static const cs_rdn root_dn[] = {{"CN", "Spec Root"}};
    static const cs_rdn dn[] = {{"CN", "localhost"}};
    static const cs_name names[] = {{CS_NAME_DNS, "localhost"}};
    static const char *const server[] = {"serverAuth"};
    static const cs_rdn bad_dn[] = {{"XX", "what"}};
    cs_key_params p256 = {"ec", "P-256", 0}, ed = {"ed25519", NULL, 0};
    cs_key_params rsa = {"rsa", NULL, 2048}, p521 = {"ec", "P-521", 0};
    cs_key *ca_key = fx_key("ec", "P-384");
    cs_key *k = fx_key("ec", "P-256");
    cs_key *pub = NULL;
    cs_cert *ca = NULL;
    cs_err err = {0};
    char *pem = NULL;
    size_t len = 0;
    cs_cert_spec ca_spec = fx_ca_spec(root_dn, 1, 0, 3650);
    cs_cert_spec s;

    ca_spec.subject_key_id = 1;
    CHECK_OK(cs_cert_sign(&ca_spec, ca_key, NULL, ca_key, &ca, &err), &err);
    CHECK_OK(cs_key_public_pem(k, &pem, &len, &err), &err);
    CHECK_OK(cs_key_load_public(pem, len, "leaf.pub", &pub, &err), &err);
    free(pem);

    /* A good server leaf: nothing at all, by key, public key or shape. */
    s = fx_leaf_spec(dn, 1, server, names, 1, 90);
    EXPECT_SAME(&s, k, NULL, ca, ca_key, NULL);
    memset(&rep, 0xa5, sizeof rep);
    CHECK_OK(cs_cert_lint_spec(&s, pub, NULL, ca, &rep, &err), &err);
    EXPECT_CLEAN(&rep, "public key alone");
    EXPECT_SAME(&s, k, &p256, ca, ca_key, NULL);
    EXPECT_SAME(&s, k, &p256, NULL, NULL, NULL);

    /* A TLS server leaf for 400 days. */
    s = fx_leaf_spec(dn, 1, server, names, 1, 400);
    EXPECT_SAME(&s, k, NULL, ca, ca_key, "cabf-leaf-validity-398-days");
    EXPECT_SAME(&s, k, &p256, ca, ca_key, "cabf-leaf-validity-398-days");
    EXPECT_SAME(&s, k, &p256, NULL, NULL, "cabf-leaf-validity-398-days");
    /* A server leaf without subjectAltName. */
    s = fx_leaf_spec(dn, 1, server, names, 0, 90);
    EXPECT_SAME(&s, k, &p256, ca, ca_key, "cabf-leaf-san-present");
    EXPECT_SAME(&s, k, NULL, NULL, NULL, "cabf-leaf-san-present");
    /* A CA without keyCertSign; and below an issuer with pathLen 0. */
    s = fx_ca_spec(root_dn, 1, -1, 365);
    s.key_usage.bits = CS_KU_CRL_SIGN;
    EXPECT_SAME(&s, k, &p256, NULL, NULL, "rfc5280-ca-key-usage-cert-sign");
    EXPECT_SAME(&s, k, &p256, ca, ca_key, "rfc5280-issuer-path-len");
    /* The issuer's name and key identifier come from the issuer: a spec
     * without authorityKeyIdentifier is fine self-signed, not below ca. */
    s = fx_leaf_spec(dn, 1, server, names, 1, 90);
    s.authority_key_id = 0;
    EXPECT_SAME(&s, k, &p256, ca, ca_key, "rfc5280-aki-present");
    EXPECT_SAME(&s, k, &p256, NULL, NULL, NULL);
    /* The shape is what the key rules read. */
    s = fx_leaf_spec(dn, 1, server, names, 1, 90);
    s.key_usage.bits |= CS_KU_KEY_ENCIPHERMENT;
    EXPECT_SAME(&s, k, &p256, ca, ca_key, "rfc5480-ec-key-usage");
    memset(&rep, 0xa5, sizeof rep);
    CHECK_OK(cs_cert_lint_spec(&s, NULL, &rsa, ca, &rep, &err), &err);
    EXPECT_CLEAN(&rep, "keyEncipherment on an RSA shape");
    CHECK_OK(cs_cert_lint_spec(&s, NULL, &ed, ca, &rep, &err), &err);
    EXPECT(&rep, "rfc8410-ed25519-key-usage", "keyUsage: an Ed25519 key can only sign");

    /* What cannot be built or asked fails as signing does, naming it. */
    s = fx_leaf_spec(bad_dn, 1, server, names, 1, 90);
    CHECK_FAIL(cs_cert_lint_spec(&s, NULL, &p256, ca, &rep, &err), CS_EINVAL, &err,
               "subject: ");
    s = fx_leaf_spec(dn, 1, server, names, 1, 90);
    CHECK_FAIL(cs_cert_lint_spec(&s, NULL, &p521, ca, &rep, &err), CS_EINVAL, &err,
               "key: unknown curve 'P-521' (use P-256 or P-384)");
    CHECK_FAIL(cs_cert_lint_spec(&s, k, &p256, ca, &rep, &err), CS_EINVAL, &err,
               "either a subject key or a key shape");
    CHECK_FAIL(cs_cert_lint_spec(&s, NULL, NULL, ca, &rep, &err), CS_EINVAL, &err,
               "either a subject key or a key shape");

    cs_key_free(pub);
    cs_cert_free(ca);
    cs_key_free(k);
    cs_key_free(ca_key);
}

/* Every rule has a test above and a line in docs/lint.md with its level. */
static void test_rules_covered_and_documented(void)
{
    size_t n, i;
    const cs_lint_rule *rules = cs_lint_rules(&n);
    FILE *f = fopen(CS_SOURCE_DIR "/docs/lint.md", "r");
    static char doc[65536];
    size_t len = 0;
    char want[160];

    CHECK(f != NULL);
    if (f) {
        len = fread(doc, 1, sizeof doc - 1, f);
        fclose(f);
    }
    doc[len] = '\0';
    CHECK(n <= sizeof covered / sizeof covered[0]);
    for (i = 0; i < n; i++) {
        if (!covered[i]) {
            check_failed++;
            fprintf(stderr, "FAILED: rule %s has no test\n", rules[i].name);
        }
        /* A table row: | `name` | level | source | ... */
        snprintf(want, sizeof want, "| `%s` | %s | %s |", rules[i].name,
                 rules[i].level == CS_LINT_ERROR ? "error" : "warning", rules[i].source);
        if (strstr(doc, want)) {
            check_passed++;
        } else {
            check_failed++;
            fprintf(stderr, "FAILED: docs/lint.md lacks the row %s\n", want);
        }
    }
}

int main(void)
{
    setup();
    test_clean();
    test_version_serial_validity();
    test_extension_shape();
    test_ca_rules();
    test_issuer_rules();
    test_names();
    test_leaf_rules();
    test_keys_and_digests();
    test_tbs();
    test_dropped();
    test_sign_refuses();
    test_lint_spec();
    test_rules_covered_and_documented();
    X509_free(inter);
    X509_free(root);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(inter_key);
    EVP_PKEY_free(root_key);
    return CHECK_DONE();
}
