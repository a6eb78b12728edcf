/* core/csr.c and public-only keys: CSRs from `openssl req` and our own,
 * forged ones refused, a certificate for a CSR's key checked by openssl verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "csr.h"
#include "file.h"
#include "fixtures.h"
#include "key.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int has_name(const cs_csr_info *info, cs_name_type type, const char *value)
{
    for (size_t i = 0; i < info->names_len; i++)
        if (info->names[i].type == type && strcmp(info->names[i].value, value) == 0)
            return 1;
    return 0;
}

static int has_string(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* A CSR made by openssl req, PEM and DER, asking for much. */
static void test_openssl_req(void)
{
    char pem[128], der[128];
    cs_err err = {0};
    cs_csr *a = NULL, *b = NULL;
    cs_csr_info *ia = NULL, *ib = NULL;

    fx_path(pem, sizeof pem, "req.pem");
    fx_path(der, sizeof der, "req.der");
    CHECK(fx_run(NULL, 0,
                 "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes "
                 "-keyout req.key -out req.pem -subj '/C=SE/O=Simple Inc/CN=localhost' "
                 "-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,"
                 "email:a@example.test,URI:https://example.test/' "
                 "-addext 'basicConstraints=critical,CA:TRUE' "
                 "-addext 'keyUsage=critical,digitalSignature,keyCertSign' "
                 "-addext 'extendedKeyUsage=serverAuth,1.3.6.1.4.1.99999.1' "
                 "-addext '1.2.3.4=ASN1:NULL' >/dev/null 2>&1 && "
                 "openssl req -in req.pem -outform DER -out req.der") == 0);
    CHECK_OK(cs_csr_load_file(pem, &a, &err), &err);
    CHECK_OK(cs_csr_load_file(der, &b, &err), &err);
    if (!a || !b)
        goto done;
    CHECK_OK(cs_csr_verify(a, NULL, &err), &err);
    CHECK_OK(cs_csr_get_info(a, &ia, &err), &err);
    CHECK_OK(cs_csr_get_info(b, &ib, &err), &err);
    if (!ia || !ib)
        goto done;
    CHECK(strcmp(ia->subject, "C=SE, O=Simple Inc, CN=localhost") == 0);
    CHECK(ia->subject_rdns_len == 3 && strcmp(ia->subject_rdns[2].field, "CN") == 0 &&
          strcmp(ia->subject_rdns[2].value, "localhost") == 0);
    CHECK(ia->names_len == 5);
    CHECK(has_name(ia, CS_NAME_DNS, "localhost"));
    CHECK(has_name(ia, CS_NAME_IP, "127.0.0.1"));
    CHECK(has_name(ia, CS_NAME_IP, "::1"));
    CHECK(has_name(ia, CS_NAME_EMAIL, "a@example.test"));
    CHECK(has_name(ia, CS_NAME_URI, "https://example.test/"));
    CHECK(ia->ca == 1);
    CHECK(ia->key_usage.present && ia->key_usage.critical &&
          ia->key_usage.bits == (CS_KU_DIGITAL_SIGNATURE | CS_KU_KEY_CERT_SIGN));
    CHECK(ia->ext_key_usage.present && ia->ext_key_usage.len == 2 &&
          strcmp(ia->ext_key_usage.purposes[0], "serverAuth") == 0 &&
          strcmp(ia->ext_key_usage.purposes[1], "1.3.6.1.4.1.99999.1") == 0);
    CHECK(ia->extensions_len == 5 &&
          has_string(ia->extensions, ia->extensions_len, "subjectAltName") &&
          has_string(ia->extensions, ia->extensions_len, "basicConstraints") &&
          has_string(ia->extensions, ia->extensions_len, "1.2.3.4"));
    CHECK(strcmp(ia->key_type, "ec") == 0 && ia->key_curve &&
          strcmp(ia->key_curve, "P-384") == 0 && ia->key_bits == 384);
    CHECK(strcmp(ia->signature_algorithm, "ecdsa-with-SHA256") == 0 ||
          strcmp(ia->signature_algorithm, "ecdsa-with-SHA384") == 0);
    CHECK(strcmp(ia->key_fingerprint, ib->key_fingerprint) == 0 && ib->names_len == 5);
done:
    cs_csr_info_free(ib);
    cs_csr_info_free(ia);
    cs_csr_free(b);
    cs_csr_free(a);
}

/* Our own CSR: checked by openssl, read back, its key used for a certificate. */
static void test_create_and_issue(void)
{
    static const cs_rdn subject[] = {{"O", "Simple Inc"}, {"CN", "app.example.test"}};
    static const cs_rdn root_dn[] = {{"CN", "CSR Test Root"}};
    static const cs_name names[] = {{CS_NAME_DNS, "app.example.test"}, {CS_NAME_IP, "10.1.2.3"}};
    static const cs_name bad_names[] = {{CS_NAME_DNS, "bad name"}};
    /* UID is a name attribute OpenSSL knows, but no certificate field of ours. */
    static const cs_rdn bad_subject[] = {{"O", "Simple Inc"}, {"UID", "app"}};
    static const cs_rdn empty_cn[] = {{"CN", ""}};
    static const char *const client_auth[] = {"clientAuth"};
    char path[128], keypath[128];
    cs_err err = {0};
    cs_key *key = fx_key("ec", "P-384");
    cs_key *root_key = fx_key("ec", "P-256");
    cs_key *pub = NULL, *pub2 = NULL;
    cs_csr *csr = NULL, *back = NULL;
    cs_csr_info *info = NULL;
    cs_cert *root = NULL, *leaf = NULL;
    char *pem = NULL, *pubpem = NULL;
    unsigned char *der = NULL;
    size_t len = 0, derlen = 0;
    char fp1[65], fp2[65];
    cs_cert_spec s;

    CHECK_OK(cs_csr_create(key, subject, 2, names, 2, &csr, &err), &err);
    if (!csr)
        goto done;
    CHECK_OK(cs_csr_pem(csr, &pem, &len, &err), &err);
    CHECK(pem && strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
    fx_path(path, sizeof path, "ours.csr");
    fx_check_write(path, pem, len);
    CHECK(fx_run(NULL, 0, "openssl req -in ours.csr -verify -noout >/dev/null 2>&1") == 0);
    CHECK_OK(cs_csr_der(csr, &der, &derlen, &err), &err);
    CHECK_OK(cs_csr_load((const char *)der, derlen, "ours.der", &back, &err), &err);
    if (back) {
        CHECK_OK(cs_csr_get_info(back, &info, &err), &err);
        if (info) {
            CHECK(strcmp(info->subject, "O=Simple Inc, CN=app.example.test") == 0);
            CHECK(info->names_len == 2 && has_name(info, CS_NAME_DNS, "app.example.test") &&
                  has_name(info, CS_NAME_IP, "10.1.2.3"));
            CHECK(info->ca == 0 && !info->key_usage.present && !info->ext_key_usage.present);
            CHECK(info->extensions_len == 1 && strcmp(info->extensions[0], "subjectAltName") == 0);
            CHECK(strcmp(info->signature_algorithm, "ecdsa-with-SHA384") == 0);
        }
    }

    /* The CSR's key is public only. */
    CHECK_OK(cs_csr_public_key(csr, &pub, &err), &err);
    if (!pub)
        goto done;
    CHECK(cs_key_is_private(pub) == 0 && cs_key_is_private(key) == 1);
    CHECK_OK(cs_key_fingerprint(pub, fp1, &err), &err);
    CHECK_OK(cs_key_fingerprint(key, fp2, &err), &err);
    CHECK(strcmp(fp1, fp2) == 0);
    fx_path(keypath, sizeof keypath, "pub.key");
    CHECK_FAIL(cs_key_save(pub, keypath, 0, &err), CS_EINVAL, &err,
               "pub.key: public key only, has no private key");
    CHECK(!exists(keypath));

    /* A certificate for it, signed by a root, accepted by openssl verify. */
    s = fx_ca_spec(root_dn, 1, -1, 1);
    CHECK_OK(cs_cert_sign(&s, root_key, NULL, root_key, &root, &err), &err);
    s = fx_leaf_spec(subject, 2, client_auth, names, 2, 1);
    CHECK_OK(cs_cert_sign(&s, pub, root, root_key, &leaf, &err), &err);
    if (root && leaf) {
        fx_save_cert(root, "root.pem", 0);
        fx_save_cert(leaf, "leaf.pem", 0);
        CHECK(fx_run(NULL, 0, "openssl verify -x509_strict -CAfile root.pem leaf.pem "
                              ">/dev/null 2>&1") == 0);
        CHECK_OK(cs_cert_check_key(leaf, key, &err), &err);
        CHECK_FAIL(cs_cert_check_key(leaf, pub, &err), CS_EINVAL, &err, "no private key");
    }
    /* A public-only key cannot sign: not as issuer, not self-signed, not a CSR. */
    cs_cert_free(leaf);
    leaf = NULL;
    CHECK_FAIL(cs_cert_sign(&s, root_key, root, pub, &leaf, &err), CS_EINVAL, &err,
               "issuer key: public key only, has no private key");
    CHECK_FAIL(cs_cert_sign(&s, pub, NULL, pub, &leaf, &err), CS_EINVAL, &err,
               "no private key");
    CHECK(leaf == NULL);
    cs_csr_free(back);
    back = NULL;
    CHECK_FAIL(cs_csr_create(pub, subject, 2, names, 2, &back, &err), CS_EINVAL, &err,
               "CSR key: public key only, has no private key");
    CHECK_FAIL(cs_csr_create(key, subject, 2, bad_names, 1, &back, &err), CS_EINVAL, &err,
               "'bad name'");
    /* The same subject checks as a certificate's: one builder for both. */
    CHECK_FAIL(cs_csr_create(key, bad_subject, 2, names, 2, &back, &err), CS_EINVAL, &err,
               "subject: unknown field 'UID' (use C, ST, L, O, OU, CN, serialNumber, "
               "emailAddress or DC)");
    CHECK_FAIL(cs_csr_create(key, empty_cn, 1, names, 2, &back, &err), CS_EINVAL, &err,
               "subject: empty value for CN");
    CHECK(back == NULL);

    /* The public key alone, as SPKI PEM and DER. */
    CHECK_OK(cs_key_public_pem(key, &pubpem, &len, &err), &err);
    if (pubpem) {
        CHECK_OK(cs_key_load_public(pubpem, len, "pub.pem", &pub2, &err), &err);
        if (pub2) {
            CHECK(cs_key_is_private(pub2) == 0);
            CHECK(strcmp(cs_key_curve(pub2), "P-384") == 0);
        }
        cs_key_free(pub2);
        pub2 = NULL;
        fx_path(path, sizeof path, "pub.pem");
        fx_check_write(path, pubpem, len);
        CHECK(fx_run(NULL, 0, "openssl pkey -pubin -in pub.pem -outform DER -out pub.der") == 0);
        {
            char *data = NULL;
            size_t dlen = 0;
            fx_path(path, sizeof path, "pub.der");
            CHECK_OK(cs_file_read(path, 1 << 20, &data, &dlen, &err), &err);
            if (data) {
                CHECK_OK(cs_key_load_public(data, dlen, "pub.der", &pub2, &err), &err);
                CHECK(pub2 && !cs_key_is_private(pub2));
                cs_key_free(pub2);
                pub2 = NULL;
                CHECK_FAIL(cs_key_load_public(data, dlen - 1, "short.der", &pub2, &err),
                           CS_EINVAL, &err, "short.der: not a PEM or DER public key");
                {
                    char *longer = malloc(dlen + 1);
                    if (longer) {
                        memcpy(longer, data, dlen);
                        longer[dlen] = 0;
                        CHECK_FAIL(cs_key_load_public(longer, dlen + 1, "long.der", &pub2, &err),
                                   CS_EINVAL, &err, "long.der: trailing bytes");
                        free(longer);
                    }
                }
                cs_file_free(data, dlen);
            }
        }
    }
    CHECK_FAIL(cs_key_load_public("garbage", 7, "junk", &pub2, &err), CS_EINVAL, &err,
               "junk: not a PEM or DER public key");
    CHECK(pub2 == NULL);
done:
    free(pubpem);
    free(der);
    free(pem);
    cs_cert_free(leaf);
    cs_cert_free(root);
    cs_csr_info_free(info);
    cs_csr_free(back);
    cs_csr_free(csr);
    cs_key_free(pub);
    cs_key_free(root_key);
    cs_key_free(key);
}

/* Forged CSRs: someone else's key put in, or the signature changed. */
static void test_forged(void)
{
    static const cs_rdn subject[] = {{"CN", "victim.example.test"}};
    static const cs_name names[] = {{CS_NAME_DNS, "victim.example.test"}};
    cs_err err = {0};
    cs_key *key = fx_key("ec", "P-256");
    cs_key *other = fx_key("ec", "P-256");
    cs_csr *csr = NULL, *forged = NULL;
    unsigned char *der = NULL, *der2 = NULL, *p;
    const unsigned char *cp;
    size_t len = 0;
    X509_REQ *req = NULL;
    int n;
    char path[256];

    CHECK_OK(cs_csr_create(key, subject, 1, names, 1, &csr, &err), &err);
    if (!csr)
        goto done;
    CHECK_OK(cs_csr_der(csr, &der, &len, &err), &err);
    if (!der)
        goto done;
    /* another public key, the original signature */
    cp = der;
    req = d2i_X509_REQ(NULL, &cp, (long)len);
    CHECK(req != NULL);
    if (req && X509_REQ_set_pubkey(req, cs_key_get0_pkey(other)) == 1) {
        n = i2d_X509_REQ(req, NULL);
        der2 = malloc((size_t)n);
        p = der2;
        CHECK(der2 && i2d_X509_REQ(req, &p) == n);
        CHECK_FAIL(cs_csr_load((const char *)der2, (size_t)n, "swapped.der", &forged, &err),
                   CS_EVERIFY, &err,
                   "swapped.der: CSR signature does not verify (proof of possession failed)");
    }
    /* one bit of the signature flipped (the last byte is the signature's) */
    der[len - 1] ^= 0x01;
    CHECK_FAIL(cs_csr_load((const char *)der, len, "flipped.der", &forged, &err), CS_EVERIFY,
               &err, "flipped.der: CSR signature does not verify");
    CHECK(forged == NULL);

    /* malformed: garbage, truncated, trailing bytes */
    fx_path(path, sizeof path, "garbage.der");
    fx_check_write(path, "\x30\x03\x02\x01", 4);
    CHECK_FAIL(cs_csr_load_file(path, &forged, &err), CS_EINVAL, &err,
               "garbage.der: not a PEM or DER certificate request");
    der[len - 1] ^= 0x01;
    CHECK_FAIL(cs_csr_load((const char *)der, len - 5, "cut.der", &forged, &err), CS_EINVAL,
               &err, "cut.der: not a PEM or DER certificate request");
    {
        unsigned char *longer = malloc(len + 1);
        CHECK(longer != NULL);
        if (longer) {
            memcpy(longer, der, len);
            longer[len] = 0;
            CHECK_FAIL(cs_csr_load((const char *)longer, len + 1, "long.der", &forged, &err),
                       CS_EINVAL, &err, "long.der: trailing bytes after the DER CSR");
            free(longer);
        }
    }
    CHECK_FAIL(cs_csr_load("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                           "-----END CERTIFICATE REQUEST-----\n", 76, "bad.pem", &forged, &err),
               CS_EINVAL, &err, "bad.pem: not a PEM or DER certificate request");
    fx_path(path, sizeof path, "missing.csr");
    CHECK_FAIL(cs_csr_load_file(path, &forged, &err), CS_ENOENT, &err, "missing.csr");
    CHECK(forged == NULL);
done:
    X509_REQ_free(req);
    free(der2);
    free(der);
    cs_csr_free(csr);
    cs_key_free(other);
    cs_key_free(key);
}

/* A key type we would not issue for is refused at load, named. */
/* An extension that does not parse, or appears twice, is named, in a CSR's
 * request and in a certificate alike (both read by info.c's readers). */
static void test_unreadable_extensions(void)
{
    static const struct {
        int nid;
        const char *name;
    } cases[] = {{NID_basic_constraints, "basicConstraints"},
                 {NID_key_usage, "keyUsage"},
                 {NID_ext_key_usage, "extendedKeyUsage"},
                 {NID_subject_alt_name, "subjectAltName"}};
    static const unsigned char junk[] = {0x01, 0x02, 0x03};
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    cs_err err = {0};
    char want[128];

    CHECK(pkey != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] + 1; i++) {
        int twice = i == sizeof cases / sizeof cases[0]; /* last: keyUsage twice */
        int nid = twice ? NID_key_usage : cases[i].nid;
        const char *name = twice ? "keyUsage" : cases[i].name;
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ext = NULL;
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_REQ *req = X509_REQ_new();
        X509 *x = X509_new();
        unsigned char *der = NULL;
        int n;
        cs_csr *csr = NULL;
        cs_csr_info *ci = NULL;
        cs_cert *cert = NULL;
        cs_cert_info *xi = NULL;

        if (twice) {
            ext = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "digitalSignature");
        } else {
            CHECK(ASN1_OCTET_STRING_set(os, junk, sizeof junk) == 1);
            ext = X509_EXTENSION_create_by_NID(NULL, nid, 0, os);
        }
        CHECK(ext && exts && sk_X509_EXTENSION_push(exts, ext));
        if (twice)
            CHECK(sk_X509_EXTENSION_push(exts, X509_EXTENSION_dup(ext)));

        CHECK(req && X509_REQ_set_pubkey(req, pkey) == 1 &&
              X509_REQ_add_extensions(req, exts) == 1 && X509_REQ_sign(req, pkey, NULL) > 0);
        n = i2d_X509_REQ(req, &der);
        CHECK(n > 0);
        CHECK_OK(cs_csr_load((const char *)der, (size_t)n, "bad.csr", &csr, &err), &err);
        snprintf(want, sizeof want, "CSR: requested %s: cannot be read", name);
        CHECK_FAIL(cs_csr_get_info(csr, &ci, &err), CS_EINVAL, &err, want);
        CHECK(ci == NULL && ERR_peek_error() == 0);
        OPENSSL_free(der);
        der = NULL;

        CHECK(x && X509_set_version(x, X509_VERSION_3) == 1 &&
              ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
              X509_gmtime_adj(X509_getm_notAfter(x), 60) &&
              X509_set_pubkey(x, pkey) == 1 && X509_add_ext(x, ext, -1) == 1);
        if (twice)
            CHECK(X509_add_ext(x, ext, -1) == 1);
        CHECK(X509_sign(x, pkey, NULL) > 0);
        n = i2d_X509(x, &der);
        CHECK_OK(cs_cert_load((const char *)der, (size_t)n, "bad.crt", &cert, &err), &err);
        snprintf(want, sizeof want, "certificate info: %s: cannot be read", name);
        CHECK_FAIL(cs_cert_get_info(cert, &xi, &err), CS_EINVAL, &err, want);
        CHECK(xi == NULL && ERR_peek_error() == 0);

        OPENSSL_free(der);
        cs_cert_free(cert);
        cs_csr_free(csr);
        X509_free(x);
        X509_REQ_free(req);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        ASN1_OCTET_STRING_free(os);
    }
    EVP_PKEY_free(pkey);
}

static void test_unsupported_key(void)
{
    char pem[128];
    cs_err err = {0};
    cs_csr *csr = NULL;

    fx_path(pem, sizeof pem, "p521.csr");
    CHECK(fx_run(NULL, 0, "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes "
                          "-keyout p521.key -out p521.csr -subj '/CN=x' >/dev/null 2>&1") == 0);
    CHECK_FAIL(cs_csr_load_file(pem, &csr, &err), CS_EUNSUPPORTED, &err, "unsupported curve");
    CHECK(csr == NULL);
}

int main(void)
{
    if (!fx_mkdtemp("csr"))
        return 1;
    test_openssl_req();
    test_create_and_issue();
    test_forged();
    test_unsupported_key();
    test_unreadable_extensions();
    fx_rmdir();
    return CHECK_DONE();
}
