/* core/pkcs12.c and core/pbe.c against files made by `openssl pkcs12 -export`
 * and `openssl pkcs8 -topk8`: contents, protection, and every failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cert.h"
#include "check.h"
#include "file.h"
#include "fixtures.h"
#include "key.h"
#include "pbe.h"
#include "pkcs12.h"

#define EC256 "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static int make_fixtures(void)
{
    return fx_sh("openssl req -x509 " EC256 " -keyout ca.key -out ca.crt -days 10"
                 " -subj '/CN=P12 CA' -addext basicConstraints=critical,CA:TRUE"
                 " -addext keyUsage=critical,keyCertSign 2>/dev/null") &&
           fx_sh("openssl req -new " EC256 " -keyout leaf.key -out leaf.csr -subj '/CN=leaf'"
                 " 2>/dev/null") &&
           fx_sh("openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -days 5 -out leaf.crt"
                 " 2>/dev/null") &&
           fx_sh("openssl pkcs12 -export -in leaf.crt -inkey leaf.key -certfile ca.crt"
                 " -passout pass:secret -out pw.p12") &&
           fx_sh("openssl pkcs12 -export -in leaf.crt -inkey leaf.key -passout pass:"
                 " -out empty.p12") &&
           fx_sh("openssl pkcs12 -export -in leaf.crt -inkey leaf.key -passout pass:secret"
                 " -nomac -out nomac.p12") &&
           fx_sh("openssl pkcs12 -export -in ca.crt -nokeys -passout pass: -out certs.p12") &&
           fx_sh("openssl pkcs8 -topk8 -in leaf.key -passout pass:pw -out enc.pem") &&
           fx_sh("openssl pkcs8 -topk8 -in leaf.key -passout pass:pw -outform DER -out enc.der") &&
           fx_sh("head -c 300 pw.p12 > cut.p12");
}

static cs_code load(const char *name, const char *password, cs_p12 **out, cs_err *err)
{
    size_t len = 0;
    char *data = fx_read_file(name, &len);
    cs_code rc = cs_p12_load(data ? data : "", len, password, name, out, err);
    cs_file_free(data, len);
    return rc;
}

static void test_contents(void)
{
    cs_p12 *p12 = NULL;
    cs_err err = {0};
    cs_cert *ca = NULL, *leaf = NULL;
    char fa[65], fb[65];

    CHECK_OK(cs_cert_load_file("ca.crt", &ca, &err), &err);
    CHECK_OK(cs_cert_load_file("leaf.crt", &leaf, &err), &err);
    CHECK_OK(load("pw.p12", "secret", &p12, &err), &err);
    if (p12 && ca && leaf) {
        CHECK(p12->key != NULL && p12->cert != NULL);
        CHECK(p12->certs_len == 1);
        cs_cert_fingerprint(p12->cert, fa);
        cs_cert_fingerprint(leaf, fb);
        CHECK(strcmp(fa, fb) == 0);
        if (p12->certs_len == 1) {
            cs_cert_fingerprint(p12->certs[0], fa);
            cs_cert_fingerprint(ca, fb);
            CHECK(strcmp(fa, fb) == 0);
        }
        CHECK_OK(cs_cert_check_key(p12->cert, p12->key, &err), &err);
        CHECK(p12->mac_present && strcmp(p12->mac_digest, "SHA256") == 0);
        CHECK(p12->mac_iterations == 2048);
        /* OpenSSL 3's defaults: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC */
        CHECK(strcmp(p12->certs_pbe.scheme, "PBES2") == 0);
        CHECK(strcmp(p12->certs_pbe.cipher, "AES-256-CBC") == 0);
        CHECK(strcmp(p12->key_pbe.kdf, "PBKDF2") == 0);
        CHECK(strcmp(p12->key_pbe.prf, "hmacWithSHA256") == 0);
        CHECK(p12->key_pbe.iterations == 2048 && !p12->key_pbe.legacy);
    }
    cs_p12_free(p12);
    p12 = NULL;

    /* an empty password: given as NULL or as "" */
    CHECK_OK(load("empty.p12", NULL, &p12, &err), &err);
    CHECK(p12 && p12->key && p12->cert && p12->certs_len == 0);
    cs_p12_free(p12);
    p12 = NULL;
    CHECK_OK(load("empty.p12", "", &p12, &err), &err);
    cs_p12_free(p12);
    p12 = NULL;

    /* certificates only: no key, so no certificate of the key */
    CHECK_OK(load("certs.p12", NULL, &p12, &err), &err);
    CHECK(p12 && !p12->key && !p12->cert && p12->certs_len == 1 && !p12->key_pbe.scheme[0]);
    cs_p12_free(p12);
    p12 = NULL;

    CHECK_OK(load("nomac.p12", "secret", &p12, &err), &err);
    CHECK(p12 && !p12->mac_present && p12->key);
    cs_p12_free(p12);
    cs_cert_free(ca);
    cs_cert_free(leaf);
    cs_p12_free(NULL);
    CHECK(ERR_peek_error() == 0);
}

static void test_failures(void)
{
    cs_p12 *p12 = NULL;
    cs_err err = {0};

    CHECK_FAIL(load("pw.p12", "wrong", &p12, &err), CS_EVERIFY, &err,
               "pw.p12: wrong password or corrupt PKCS#12 (MAC check failed)");
    CHECK_FAIL(load("pw.p12", NULL, &p12, &err), CS_EVERIFY, &err,
               "pw.p12: wrong password (none given) or corrupt PKCS#12 (MAC check failed)");
    CHECK_FAIL(load("nomac.p12", "wrong", &p12, &err), CS_EVERIFY, &err,
               "nomac.p12: cannot decrypt: wrong password");
    CHECK_FAIL(load("leaf.crt", NULL, &p12, &err), CS_EINVAL, &err,
               "leaf.crt: not a PKCS#12 file");
    CHECK_FAIL(load("cut.p12", "secret", &p12, &err), CS_EINVAL, &err,
               "cut.p12: not a PKCS#12 file");
    CHECK_FAIL(cs_p12_load(NULL, 0, NULL, "x.p12", &p12, &err), CS_EINVAL, &err,
               "x.p12: no data");
    CHECK(p12 == NULL);
    CHECK(ERR_peek_error() == 0);
    /* RC2-40, what `-legacy` writes: named, when this openssl can still write it */
    if (system("cd /tmp && openssl pkcs12 -help 2>&1 | grep -q -- -legacy") == 0 &&
        fx_sh("openssl pkcs12 -export -legacy -in leaf.crt -inkey leaf.key -passout pass:x"
           " -out legacy.p12 2>/dev/null")) {
        CHECK_FAIL(load("legacy.p12", "x", &p12, &err), CS_ECRYPTO, &err,
                   "legacy.p12: encrypted with PBE-SHA1-RC2-40, a legacy scheme");
    }
}

static void test_encrypted_key(void)
{
    cs_pbe pbe;
    cs_err err = {0};
    size_t len = 0;
    char *data = fx_read_file("enc.pem", &len);

    CHECK_OK(cs_pbe_encrypted_key(data ? data : "", len, "enc.pem", &pbe, &err), &err);
    CHECK(strcmp(pbe.scheme, "PBES2") == 0 && strcmp(pbe.cipher, "AES-256-CBC") == 0);
    CHECK(strcmp(pbe.kdf, "PBKDF2") == 0 && pbe.iterations > 0);
    cs_file_free(data, len);
    data = fx_read_file("enc.der", &len);
    CHECK_OK(cs_pbe_encrypted_key(data ? data : "", len, "enc.der", &pbe, &err), &err);
    CHECK(strcmp(pbe.scheme, "PBES2") == 0);
    cs_file_free(data, len);
    data = fx_read_file("leaf.key", &len);
    CHECK_FAIL(cs_pbe_encrypted_key(data ? data : "", len, "leaf.key", &pbe, &err), CS_EINVAL,
               &err, "leaf.key: not an encrypted PKCS#8 private key");
    cs_file_free(data, len);
    CHECK_FAIL(cs_pbe_encrypted_key("\x30\x03\x02\x01", 4, "bad.der", &pbe, &err), CS_EINVAL,
               &err, "bad.der: not an encrypted PKCS#8 private key");
    CHECK(ERR_peek_error() == 0);
}

int main(void)
{
    if (!fx_mkdtemp("pkcs12"))
        return 1;
    CHECK(make_fixtures());
    if (chdir(fx_dir) == 0) {
        test_contents();
        test_failures();
        test_encrypted_key();
    }
    fx_rmdir();
    return CHECK_DONE();
}
