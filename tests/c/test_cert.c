/* core/cert.c: build, lint, sign, load, save; the chain checked by the openssl CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "file.h"
#include "fixtures.h"
#include "key.h"

static const cs_rdn root_dn[] = {{"C", "SE"}, {"O", "Simple Inc"}, {"CN", "Simple Root CA"}};
static const cs_rdn inter_dn[] = {
    {"C", "SE"}, {"O", "Simple Inc"}, {"CN", "Simple Intermediate CA"}};
static const cs_rdn leaf_dn[] = {{"C", "SE"}, {"O", "Simple Inc"}, {"CN", "localhost"}};
static const char *const server_auth[] = {"serverAuth"};
static const cs_name leaf_names[] = {
    {CS_NAME_DNS, "localhost"}, {CS_NAME_IP, "127.0.0.1"}, {CS_NAME_IP, "::1"}};

/* A server leaf for localhost, 127.0.0.1 and ::1. */
static cs_cert_spec leaf_spec(void)
{
    return fx_leaf_spec(leaf_dn, 3, server_auth, leaf_names, 3, 30);
}

static int serial_ok(const cs_cert *c)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(cs_cert_get0_x509(c));
    return ASN1_STRING_length(sn) <= 16 && ASN1_STRING_length(sn) > 0 &&
           ASN1_STRING_type(sn) == V_ASN1_INTEGER; /* V_ASN1_NEG_INTEGER if negative */
}

static int sig_nid(const cs_cert *c)
{
    return X509_get_signature_nid(cs_cert_get0_x509(c));
}

static int ext_critical(const cs_cert *c, int nid)
{
    X509 *x = cs_cert_get0_x509(c);
    int i = X509_get_ext_by_NID(x, nid, -1);
    return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* The openssl CLI must accept the chain as strictly as we built it. */
static void verify_with_cli(const cs_cert *root, const cs_cert *inter, const cs_cert *leaf)
{
    fx_save_cert(root, "root.pem", 0);
    fx_save_cert(inter, "inter.pem", 0);
    fx_save_cert(leaf, "leaf.pem", 0);
    if (fx_run(NULL, 0, "command -v openssl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "openssl CLI not found: skipping the CLI check\n");
        return;
    }
    CHECK(fx_run(NULL, 0, "openssl verify -x509_strict -purpose sslserver -CAfile root.pem "
                          "-untrusted inter.pem leaf.pem") == 0);
    CHECK(fx_run(NULL, 0, "openssl verify -x509_strict -CAfile root.pem -untrusted inter.pem "
                          "-verify_hostname localhost -verify_ip 127.0.0.1 leaf.pem") == 0);
    fx_run(NULL, 0, "rm -f root.pem inter.pem leaf.pem");
}

static void test_chain(void)
{
    cs_err err = {0};
    cs_key *rk = fx_key("ec", "P-384");
    cs_key *ik = fx_key("ec", "P-384");
    cs_key *lk = fx_key("ec", "P-384");
    cs_cert *root = NULL, *inter = NULL, *leaf = NULL, *leaf2 = NULL;
    cs_cert *back = NULL, *dup = NULL;
    cs_cert **chain = NULL;
    size_t n = 0;
    cs_cert_spec rs = fx_ca_spec(root_dn, 3, -1, 30);
    cs_cert_spec is = fx_ca_spec(inter_dn, 3, 0, 30);
    cs_cert_spec ls = leaf_spec();
    char *pem = NULL, *hex1 = NULL, *hex2 = NULL;
    unsigned char *der = NULL;
    size_t pem_len = 0, der_len = 0;
    char fp1[65], fp2[65], path[512];
    const cs_cert *pair[2];
    struct stat st;
    X509 *x;
    BASIC_CONSTRAINTS *bc;

    CHECK_OK(cs_cert_sign(&rs, rk, NULL, rk, &root, &err), &err);
    CHECK_OK(cs_cert_sign(&is, ik, root, rk, &inter, &err), &err);
    CHECK_OK(cs_cert_sign(&ls, lk, inter, ik, &leaf, &err), &err);
    CHECK_OK(cs_cert_sign(&ls, lk, inter, ik, &leaf2, &err), &err);
    if (!root || !inter || !leaf || !leaf2)
        goto done;

    CHECK(sig_nid(root) == NID_ecdsa_with_SHA384);
    CHECK(sig_nid(leaf) == NID_ecdsa_with_SHA384);
    CHECK(X509_get_version(cs_cert_get0_x509(leaf)) == X509_VERSION_3);
    CHECK(X509_check_ca(cs_cert_get0_x509(root)) == 1);
    CHECK(X509_check_ca(cs_cert_get0_x509(leaf)) == 0);
    CHECK(ext_critical(root, NID_basic_constraints) == 1);
    CHECK(ext_critical(root, NID_key_usage) == 1);
    CHECK(ext_critical(root, NID_subject_key_identifier) == 0);
    CHECK(ext_critical(leaf, NID_subject_alt_name) == 0);
    CHECK(ext_critical(leaf, NID_ext_key_usage) == 0);
    CHECK(X509_get_pathlen(cs_cert_get0_x509(inter)) == 0);
    CHECK(X509_get_pathlen(cs_cert_get0_x509(root)) == -1);
    x = cs_cert_get0_x509(leaf);
    CHECK((X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) && !(X509_get_key_usage(x) &
                                                               KU_KEY_CERT_SIGN));
    CHECK(X509_get_extended_key_usage(x) == XKU_SSL_SERVER);
    bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    CHECK(bc && !bc->ca && !bc->pathlen);
    BASIC_CONSTRAINTS_free(bc);
    /* AKI of each = SKI of its issuer; root's AKI = own SKI. */
    CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cs_cert_get0_x509(leaf)),
                                X509_get0_subject_key_id(cs_cert_get0_x509(inter))) == 0);
    CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cs_cert_get0_x509(root)),
                                X509_get0_subject_key_id(cs_cert_get0_x509(root))) == 0);
    CHECK(X509_NAME_cmp(X509_get_issuer_name(cs_cert_get0_x509(leaf)),
                        X509_get_subject_name(cs_cert_get0_x509(inter))) == 0);
    CHECK(X509_check_host(x, "localhost", 0, 0, NULL) == 1);
    CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1);
    CHECK(X509_check_ip_asc(x, "::1", 0) == 1);

    /* Serials: positive, at most 16 bytes, different. */
    CHECK(serial_ok(root) && serial_ok(inter) && serial_ok(leaf) && serial_ok(leaf2));
    hex1 = cs_cert_serial_hex(leaf);
    hex2 = cs_cert_serial_hex(leaf2);
    CHECK(hex1 && hex2 && strcmp(hex1, hex2) != 0 && strlen(hex1) <= 32);
    CHECK(hex1 && strspn(hex1, "0123456789ABCDEF") == strlen(hex1));
    CHECK(cs_cert_not_after(leaf) == ls.not_after);

    /* PEM and DER round trips. */
    cs_cert_fingerprint(leaf, fp1);
    CHECK(strlen(fp1) == 64 && strspn(fp1, "0123456789abcdef") == 64);
    CHECK_OK(cs_cert_pem(leaf, &pem, &pem_len, &err), &err);
    CHECK_OK(cs_cert_load(pem, pem_len, "leaf.pem", &back, &err), &err);
    cs_cert_fingerprint(back, fp2);
    CHECK(strcmp(fp1, fp2) == 0);
    cs_cert_free(back);
    back = NULL;
    CHECK_OK(cs_cert_der(leaf, &der, &der_len, &err), &err);
    CHECK_OK(cs_cert_load((const char *)der, der_len, "leaf.der", &back, &err), &err);
    cs_cert_fingerprint(back, fp2);
    CHECK(strcmp(fp1, fp2) == 0);

    dup = cs_cert_dup(leaf);
    CHECK(dup && cs_cert_get0_x509(dup) == cs_cert_get0_x509(leaf));

    /* Key checks. */
    CHECK_OK(cs_cert_check_key(leaf, lk, &err), &err);
    CHECK_FAIL(cs_cert_check_key(leaf, ik, &err), CS_EMISMATCH, &err,
               "certificate and key do not match");

    /* A chain file, leaf first, mode 0644, not overwritten. */
    fx_path(path, sizeof path, "chain.pem");
    pair[0] = leaf;
    pair[1] = inter;
    CHECK_OK(cs_cert_save(pair, 2, path, 0, &err), &err);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK_FAIL(cs_cert_save(pair, 1, path, 0, &err), CS_EEXIST, &err, "exists");
    CHECK_OK(cs_cert_load_chain_file(path, &chain, &n, &err), &err);
    CHECK(n == 2);
    if (n == 2) {
        cs_cert_fingerprint(chain[0], fp2);
        CHECK(strcmp(fp1, fp2) == 0);
        cs_cert_fingerprint(inter, fp1);
        cs_cert_fingerprint(chain[1], fp2);
        CHECK(strcmp(fp1, fp2) == 0);
    }
    unlink(path);

    /* Lint and issuer refusals. */
    {
        cs_cert *bad = NULL;
        cs_cert_spec s = leaf_spec();
        CHECK_FAIL(cs_cert_sign(&s, lk, inter, rk, &bad, &err), CS_EMISMATCH, &err,
                   "issuer certificate and issuer key do not match");
        CHECK_FAIL(cs_cert_sign(&s, lk, leaf, lk, &bad, &err), CS_ELINT, &err,
                   "lint: rfc5280-issuer-is-ca: issuer: not a CA certificate");
        CHECK_FAIL(cs_cert_sign(&s, lk, NULL, ik, &bad, &err), CS_EMISMATCH, &err,
                   "self-signed");
        s = fx_ca_spec(inter_dn, 3, -1, 30);
        CHECK_FAIL(cs_cert_sign(&s, lk, inter, ik, &bad, &err), CS_ELINT, &err,
                   "pathLenConstraint 0");
        CHECK(bad == NULL);
    }

    verify_with_cli(root, inter, leaf);

done:
    cs_cert_free_all(chain, n);
    cs_cert_free(dup);
    cs_cert_free(back);
    free(der);
    free(pem);
    free(hex1);
    free(hex2);
    cs_cert_free(leaf2);
    cs_cert_free(leaf);
    cs_cert_free(inter);
    cs_cert_free(root);
    cs_key_free(lk);
    cs_key_free(ik);
    cs_key_free(rk);
}

/* The digest follows the issuer's key. */
static void test_digests(void)
{
    cs_err err = {0};
    cs_key *p256 = fx_key("ec", "P-256");
    cs_key *ed = fx_key("ed25519", NULL);
    cs_key *rsa = fx_key("rsa", NULL);
    cs_cert *c = NULL;
    cs_cert_spec s = fx_ca_spec(root_dn, 3, 1, 30);

    CHECK_OK(cs_cert_sign(&s, p256, NULL, p256, &c, &err), &err);
    CHECK(c && sig_nid(c) == NID_ecdsa_with_SHA256);
    cs_cert_free(c);
    c = NULL;
    CHECK_OK(cs_cert_sign(&s, ed, NULL, ed, &c, &err), &err);
    CHECK(c && sig_nid(c) == NID_ED25519);
    cs_cert_free(c);
    c = NULL;
    CHECK_OK(cs_cert_sign(&s, rsa, NULL, rsa, &c, &err), &err);
    CHECK(c && sig_nid(c) == NID_sha256WithRSAEncryption);
    cs_cert_free(c);
    cs_key_free(rsa);
    cs_key_free(ed);
    cs_key_free(p256);
}

static void test_lint(void)
{
    cs_err err = {0};
    cs_key *k = fx_key("ec", "P-256");
    cs_cert *c = NULL;
    cs_cert_spec s;
    static const cs_name empty_dns[] = {{CS_NAME_DNS, ""}};
    static const cs_name space_dns[] = {{CS_NAME_DNS, "bad name.example"}};
    static const cs_name bad_ip[] = {{CS_NAME_IP, "300.1.1.1"}};
    static const cs_name cidr_ip[] = {{CS_NAME_IP, "10.0.0.0/8"}};
    static const cs_name bad_email[] = {{CS_NAME_EMAIL, "nobody"}};
    static const cs_rdn bad_dn[] = {{"XX", "y"}};
    static const char *const bad_eku[] = {"serverAuthx"};

    s = fx_ca_spec(root_dn, 3, -1, 30);
    s.basic_constraints.critical = 0;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-ca-basic-constraints-critical: basicConstraints: CA:TRUE "
               "but not critical (RFC 5280 4.2.1.9");
    s = fx_ca_spec(root_dn, 3, -1, 30);
    s.key_usage.bits = CS_KU_CRL_SIGN;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-ca-key-usage-cert-sign: keyUsage: no keyCertSign");
    s = fx_ca_spec(root_dn, 3, -1, 30);
    s.key_usage.present = 0;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-ca-key-usage-cert-sign: keyUsage: missing");
    s = leaf_spec();
    s.key_usage.bits |= CS_KU_KEY_CERT_SIGN;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-key-cert-sign-needs-ca: keyUsage: keyCertSign without "
               "basicConstraints CA:TRUE");
    s = leaf_spec();
    s.subject_alt_name.present = 0;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: cabf-leaf-san-present: subjectAltName: missing");
    s = leaf_spec();
    s.subject_alt_name.len = 0;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-san-non-empty: subjectAltName: no names");
    s = leaf_spec();
    s.not_after = s.not_before;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-validity-order: validity: notBefore is not before notAfter");
    s = leaf_spec();
    s.basic_constraints.path_len = 0;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_ELINT, &err,
               "lint: rfc5280-path-len-needs-ca: basicConstraints: pathLenConstraint "
               "without CA:TRUE");

    /* Invalid values are CS_EINVAL naming the value. */
    s = leaf_spec();
    s.subject_alt_name.names = empty_dns;
    s.subject_alt_name.len = 1;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "invalid DNS name ''");
    s.subject_alt_name.names = space_dns;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "'bad name.example'");
    s.subject_alt_name.names = bad_ip;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "'300.1.1.1'");
    s.subject_alt_name.names = cidr_ip;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "'10.0.0.0/8'");
    s.subject_alt_name.names = bad_email;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "'nobody'");
    s = leaf_spec();
    s.subject = bad_dn;
    s.subject_len = 1;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err,
               "unknown field 'XX'");
    s = leaf_spec();
    s.ext_key_usage.purposes = bad_eku;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "'serverAuthx'");
    CHECK(c == NULL);
    cs_key_free(k);
}

/* Name constraints, custom serial, dotted EKU OIDs, URI/email SANs. */
static void test_extensions(void)
{
    cs_err err = {0};
    cs_key *k = fx_key("ec", "P-256");
    cs_cert *c = NULL;
    cs_cert_spec s = fx_ca_spec(inter_dn, 3, 0, 30);
    static const cs_name permitted[] = {
        {CS_NAME_DNS, ".example.com"}, {CS_NAME_IP, "10.0.0.0/8"}, {CS_NAME_IP, "::1/128"},
        {CS_NAME_EMAIL, "example.com"}};
    static const cs_name excluded[] = {{CS_NAME_DNS, "bad.example.com"}};
    static const cs_name host_bits[] = {{CS_NAME_IP, "10.0.0.1/8"}};
    static const cs_name names[] = {{CS_NAME_URI, "https://example.com/x"},
                                    {CS_NAME_EMAIL, "a@example.com"},
                                    {CS_NAME_DNS, "*.example.com"}};
    static const char *const ekus[] = {"clientAuth", "1.3.6.1.5.5.7.3.9"};
    /* Leading zero octets are dropped; 8 octets stay (cabf-serial-entropy). */
    static const unsigned char serial[] = {0x00, 0x01, 0x02, 3, 4, 5, 6, 7, 8};
    NAME_CONSTRAINTS *nc;
    char *hex;

    s.name_constraints.present = 1;
    s.name_constraints.critical = 1;
    s.name_constraints.permitted = permitted;
    s.name_constraints.permitted_len = 4;
    s.name_constraints.excluded = excluded;
    s.name_constraints.excluded_len = 1;
    s.serial = serial;
    s.serial_len = sizeof serial;
    CHECK_OK(cs_cert_sign(&s, k, NULL, k, &c, &err), &err);
    if (c) {
        nc = X509_get_ext_d2i(cs_cert_get0_x509(c), NID_name_constraints, NULL, NULL);
        CHECK(nc && sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) == 4 &&
              sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) == 1);
        if (nc) {
            GENERAL_SUBTREE *t = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 1);
            static const unsigned char want[] = {10, 0, 0, 0, 255, 0, 0, 0};
            CHECK(t->base->type == GEN_IPADD && t->base->d.ip->length == 8 &&
                  memcmp(t->base->d.ip->data, want, 8) == 0);
            t = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 2);
            CHECK(t->base->type == GEN_IPADD && t->base->d.ip->length == 32);
        }
        NAME_CONSTRAINTS_free(nc);
        hex = cs_cert_serial_hex(c);
        CHECK(hex && strcmp(hex, "0102030405060708") == 0);
        free(hex);
        CHECK(ext_critical(c, NID_name_constraints) == 1);
    }
    cs_cert_free(c);
    c = NULL;

    s.name_constraints.permitted = host_bits;
    s.name_constraints.permitted_len = 1;
    CHECK_FAIL(cs_cert_sign(&s, k, NULL, k, &c, &err), CS_EINVAL, &err, "'10.0.0.1/8'");

    s = leaf_spec();
    s.subject_alt_name.names = names;
    s.subject_alt_name.len = 3;
    s.ext_key_usage.purposes = ekus;
    s.ext_key_usage.len = 2;
    CHECK_OK(cs_cert_sign(&s, k, NULL, k, &c, &err), &err);
    if (c) {
        CHECK(X509_get_extended_key_usage(cs_cert_get0_x509(c)) & XKU_SSL_CLIENT);
        CHECK(X509_check_email(cs_cert_get0_x509(c), "a@example.com", 0, 0) == 1);
        CHECK(X509_check_host(cs_cert_get0_x509(c), "www.example.com", 0, 0, NULL) == 1);
    }
    cs_cert_free(c);
    cs_key_free(k);
}

static void test_load_refused(void)
{
    cs_err err = {0};
    cs_cert *c = NULL;
    cs_cert **chain = NULL;
    size_t n = 0;
    char path[512];
    static const char garbage[] = "-----BEGIN CERTIFICATE-----\nAAAA!!\n"
                                  "-----END CERTIFICATE-----\n";
    static const char nothing[] = "no certificate here\n";

    CHECK_FAIL(cs_cert_load(garbage, sizeof garbage - 1, "g.pem", &c, &err), CS_EINVAL, &err,
               "g.pem: not a PEM or DER certificate");
    CHECK_FAIL(cs_cert_load(nothing, sizeof nothing - 1, "n.pem", &c, &err), CS_EINVAL, &err,
               "n.pem: not a PEM or DER certificate");
    CHECK(c == NULL);
    fx_path(path, sizeof path, "empty.pem");
    CHECK_OK(cs_file_write(path, nothing, sizeof nothing - 1, 0644, 0, &err), &err);
    CHECK_FAIL(cs_cert_load_chain_file(path, &chain, &n, &err), CS_EINVAL, &err, "empty.pem");
    CHECK(chain == NULL && n == 0);
    unlink(path);
    fx_path(path, sizeof path, "missing.pem");
    CHECK_FAIL(cs_cert_load_file(path, &c, &err), CS_ENOENT, &err, "missing.pem");
}

/* The certificate holds the subject's public key, whatever way core put it
 * there (EC keys take a shorter way than X509_set_pubkey): the same
 * SubjectPublicKeyInfo bytes, a key OpenSSL can hand out and verify with. */
static void test_public_key(void)
{
    static const struct { const char *type, *curve; } kinds[] = {
        {"ec", "P-256"}, {"ec", "P-384"}, {"ed25519", NULL}, {"rsa", NULL},
    };
    cs_err err = {0};
    size_t i;

    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        cs_key *k = fx_key(kinds[i].type, kinds[i].curve);
        cs_key *lk = fx_key("ec", "P-256");
        cs_cert_spec cs = fx_ca_spec(root_dn, 3, -1, 30);
        cs_cert_spec ls = leaf_spec();
        cs_cert *ca = NULL, *leaf = NULL;
        unsigned char *want = NULL, *got = NULL;
        int wn, gn;
        EVP_PKEY *pub;

        CHECK_OK(cs_cert_sign(&cs, k, NULL, k, &ca, &err), &err);
        CHECK_OK(cs_cert_sign(&ls, lk, ca, k, &leaf, &err), &err);
        if (!ca || !leaf)
            goto next;
        pub = X509_get0_pubkey(cs_cert_get0_x509(ca));
        CHECK(pub != NULL && EVP_PKEY_eq(pub, cs_key_get0_pkey(k)) == 1);
        wn = i2d_PUBKEY(cs_key_get0_pkey(k), &want);
        gn = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cs_cert_get0_x509(ca)), &got);
        CHECK(wn > 0 && wn == gn && memcmp(want, got, (size_t)wn) == 0);
        /* The key in the issuer's certificate verifies what it signed. */
        CHECK(pub && X509_verify(cs_cert_get0_x509(leaf), pub) == 1);
        CHECK(X509_verify(cs_cert_get0_x509(ca), pub) == 1);
        CHECK_OK(cs_cert_check_key(ca, k, &err), &err);
        CHECK_OK(cs_cert_check_key(leaf, lk, &err), &err);
        /* A key read from a file (no generator to share its curve's
         * parameters) takes the other branch to the same bytes. */
        {
            char path[512];
            cs_key *loaded = NULL;
            cs_cert *again = NULL;
            unsigned char *got2 = NULL;
            int gn2;
            snprintf(path, sizeof path, "%s/pub-%zu.key", fx_dir, i);
            CHECK_OK(cs_key_save(k, path, 0, &err), &err);
            CHECK_OK(cs_key_load_file(path, &loaded, &err), &err);
            CHECK_OK(cs_cert_sign(&cs, loaded, NULL, loaded, &again, &err), &err);
            gn2 = again ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cs_cert_get0_x509(again)),
                                          &got2) : 0;
            CHECK(wn > 0 && gn2 == wn && memcmp(want, got2, (size_t)wn) == 0);
            CHECK(again && X509_verify(cs_cert_get0_x509(again),
                                       X509_get0_pubkey(cs_cert_get0_x509(again))) == 1);
            OPENSSL_free(got2);
            cs_cert_free(again);
            cs_key_free(loaded);
            unlink(path);
        }
    next:
        OPENSSL_free(got);
        OPENSSL_free(want);
        cs_cert_free(leaf);
        cs_cert_free(ca);
        cs_key_free(lk);
        cs_key_free(k);
    }
}

int main(void)
{
    if (!fx_mkdtemp("cert"))
        return 1;
    test_chain();
    test_digests();
    test_public_key();
    test_lint();
    test_extensions();
    test_load_refused();
    CHECK(ERR_peek_error() == 0); /* every failure drained OpenSSL's queue */
    fx_rmdir();
    return CHECK_DONE();
}
