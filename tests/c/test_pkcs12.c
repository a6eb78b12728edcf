/* core/pkcs12.c and core/pbe.c against files made by `openssl pkcs12 -export`
 * and `openssl pkcs8 -topk8`: contents, protection, and every failure. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

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

/* pw.p12 again, with its MAC's iteration count set to n (the MAC itself no
 * longer verifies: the count must be refused before anything is derived). */
static unsigned char *mac_count(long n, int *len)
{
    size_t flen = 0;
    char *data = fx_read_file("pw.p12", &flen);
    const unsigned char *p = (const unsigned char *)data;
    PKCS12 *p12 = data ? d2i_PKCS12(NULL, &p, (long)flen) : NULL;
    const ASN1_INTEGER *iter = NULL;
    unsigned char *der = NULL;

    *len = 0;
    if (p12)
        PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
    if (iter && ASN1_INTEGER_set((ASN1_INTEGER *)iter, n) == 1)
        *len = i2d_PKCS12(p12, &der);
    PKCS12_free(p12);
    cs_file_free(data, flen);
    return der;
}

/* A file without MAC whose one safe holds a shrouded key (encrypted = 0) or
 * is itself encrypted (1) with a PBKDF2 count of n, over bytes that were
 * never encrypted: only the parameters are real. */
static unsigned char *pbe_count(long n, int encrypted, int *len)
{
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    X509_ALGOR *pbe = aes ? PKCS5_pbe2_set_iv_ex(aes, (int)n, NULL, 0, NULL,
                                                 NID_hmacWithSHA256, NULL)
                          : NULL;
    static const unsigned char junk[32] = {1, 2, 3};
    STACK_OF(PKCS12_SAFEBAG) *bags = sk_PKCS12_SAFEBAG_new_null();
    STACK_OF(PKCS7) *safes = sk_PKCS7_new_null();
    X509_SIG *sig = X509_SIG_new();
    PKCS12_SAFEBAG *bag = NULL;
    PKCS7 *p7 = NULL;
    PKCS12 *p12 = NULL;
    unsigned char *der = NULL;

    *len = 0;
    if (!pbe || !bags || !safes || !sig)
        goto done;
    if (!encrypted) {
        X509_ALGOR *alg = NULL;
        ASN1_OCTET_STRING *digest = NULL;
        X509_SIG_getm(sig, &alg, &digest);
        if (X509_ALGOR_copy(alg, pbe) != 1 || ASN1_OCTET_STRING_set(digest, junk, 32) != 1)
            goto done;
        bag = PKCS12_SAFEBAG_create0_pkcs8(sig);
        if (!bag)
            goto done;
        sig = NULL;
        if (!sk_PKCS12_SAFEBAG_push(bags, bag))
            goto done;
        bag = NULL;
        p7 = PKCS12_pack_p7data(bags);
    } else {
        /* encrypted with 1 round, then given the parameters of n */
        p7 = PKCS12_pack_p7encdata(NID_pbe_WithSHA1And3_Key_TripleDES_CBC, "pw", 2, NULL, 0,
                                   1, bags);
        if (p7) {
            X509_ALGOR_free(p7->d.encrypted->enc_data->algorithm);
            p7->d.encrypted->enc_data->algorithm = pbe;
            pbe = NULL;
        }
    }
    if (!p7 || !sk_PKCS7_push(safes, p7))
        goto done;
    p7 = NULL;
    p12 = PKCS12_add_safes(safes, 0);
    if (p12)
        *len = i2d_PKCS12(p12, &der);
done:
    PKCS12_free(p12);
    PKCS7_free(p7);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    PKCS12_SAFEBAG_free(bag);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    X509_SIG_free(sig);
    X509_ALGOR_free(pbe);
    EVP_CIPHER_free(aes);
    return der;
}

/* Iteration counts made to stall the loader (2^31 rounds of key derivation
 * are minutes of CPU per attempt) are refused before any work; a count at
 * the maximum is still tried. */
static void test_iteration_cap(void)
{
    cs_p12 *p12 = NULL;
    cs_err err = {0};
    unsigned char *der;
    int len = 0;

    der = mac_count(20000000, &len);
    CHECK(der && len > 0);
    if (der)
        CHECK_FAIL(cs_p12_load((const char *)der, (size_t)len, "secret", "slow-mac.p12", &p12,
                               &err), CS_EINVAL, &err,
                   "slow-mac.p12: the MAC asks for 20000000 iterations, more than the "
                   "10000000 we accept");
    OPENSSL_free(der);
    der = mac_count(2147483647L, &len);
    if (der)
        CHECK_FAIL(cs_p12_load((const char *)der, (size_t)len, NULL, "max.p12", &p12, &err),
                   CS_EINVAL, &err, "max.p12: the MAC asks for 2147483647 iterations");
    OPENSSL_free(der);
    /* 2048 → 2049: below the cap, so the MAC is computed, and fails */
    der = mac_count(2049, &len);
    if (der)
        CHECK_FAIL(cs_p12_load((const char *)der, (size_t)len, "secret", "other.p12", &p12,
                               &err), CS_EVERIFY, &err, "other.p12: wrong password");
    OPENSSL_free(der);

    der = pbe_count(20000000, 0, &len);
    CHECK(der && len > 0);
    if (der)
        CHECK_FAIL(cs_p12_load((const char *)der, (size_t)len, "pw", "slow-key.p12", &p12,
                               &err), CS_EINVAL, &err,
                   "slow-key.p12: the key's encryption asks for 20000000 iterations, more "
                   "than the 10000000 we accept");
    OPENSSL_free(der);
    der = pbe_count(20000000, 1, &len);
    CHECK(der && len > 0);
    if (der)
        CHECK_FAIL(cs_p12_load((const char *)der, (size_t)len, "pw", "slow-certs.p12", &p12,
                               &err), CS_EINVAL, &err,
                   "slow-certs.p12: the certificates' encryption asks for 20000000 "
                   "iterations, more than the 10000000 we accept");
    OPENSSL_free(der);
    CHECK(p12 == NULL);
    CHECK(ERR_peek_error() == 0);
}

static int same_cert(const cs_cert *a, const cs_cert *b);

/* Ours: the key, its certificate and the CA under a password, PBES2 with
 * AES-256-CBC and PBKDF2-HMAC-SHA256 for both bags, an HMAC-SHA256 MAC. */
static void test_write(void)
{
    cs_err err = {0};
    cs_cert *ca = NULL, *leaf = NULL;
    cs_key *key = NULL, *other = fx_key("ec", "P-256");
    cs_p12 *p12 = NULL;
    unsigned char *der = NULL, *sentinel = (unsigned char *)&err;
    size_t len = 0;
    char info[4096], fa[65], fb[65];
    struct stat st;
    const cs_pbe *bags[2];

    CHECK_OK(cs_cert_load_file("ca.crt", &ca, &err), &err);
    CHECK_OK(cs_cert_load_file("leaf.crt", &leaf, &err), &err);
    CHECK_OK(cs_key_load_file("leaf.key", &key, &err), &err);
    if (!ca || !leaf || !key)
        goto done;
    {
        /* a chain file as issue.lua writes it, leaf first: the leaf once */
        const cs_cert *chain[] = {leaf, ca};
        CHECK_OK(cs_p12_encode(leaf, key, chain, 2, "my leaf", "s3cret", &der, &len, &err),
                 &err);
    }
    CHECK_OK(cs_p12_load((const char *)der, len, "s3cret", "ours.p12", &p12, &err), &err);
    if (p12) {
        CHECK(p12->cert && same_cert(p12->cert, leaf));
        CHECK(p12->certs_len == 1 && same_cert(p12->certs[0], ca));
        CHECK(p12->key && cs_key_fingerprint(p12->key, fa, &err) == CS_OK &&
              cs_key_fingerprint(key, fb, &err) == CS_OK && strcmp(fa, fb) == 0);
        CHECK(p12->mac_present && strcmp(p12->mac_digest, "SHA256") == 0 &&
              p12->mac_iterations == CS_P12_ITER);
        bags[0] = &p12->key_pbe;
        bags[1] = &p12->certs_pbe;
        for (int i = 0; i < 2; i++) {
            CHECK(strcmp(bags[i]->scheme, "PBES2") == 0);
            CHECK(strcmp(bags[i]->cipher, "AES-256-CBC") == 0);
            CHECK(strcmp(bags[i]->kdf, "PBKDF2") == 0);
            CHECK(strcmp(bags[i]->prf, "hmacWithSHA256") == 0);
            CHECK(bags[i]->iterations == CS_P12_ITER && !bags[i]->legacy);
        }
    }
    cs_p12_free(p12);
    p12 = NULL;
    CHECK_FAIL(cs_p12_load((const char *)der, len, "wrong", "ours.p12", &p12, &err),
               CS_EVERIFY, &err, "ours.p12: wrong password");
    cs_p12_der_free(der, len);
    der = NULL;

    /* To a file: 0600, read by openssl with the password and not without. */
    CHECK_OK(cs_p12_write(leaf, key, (const cs_cert *const[]){ca}, 1, "my leaf", "s3cret",
                          "ours.p12", 0, &err), &err);
    CHECK(stat("ours.p12", &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(fx_run(info, sizeof info, "openssl pkcs12 -info -noout -in ours.p12 -passin "
                 "pass:s3cret 2>&1") == 0);
    CHECK(strstr(info, "MAC: sha256, Iteration 600000") != NULL);
    CHECK(strstr(info, "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, "
                 "PRF hmacWithSHA256") != NULL);
    CHECK(strstr(info, "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, "
                 "PRF hmacWithSHA256") != NULL);
    CHECK(!strstr(info, "RC2") && !strstr(info, "3DES") && !strstr(info, "RC4"));
    CHECK(fx_run(NULL, 0, "openssl pkcs12 -in ours.p12 -passin pass:s3cret -nodes 2>/dev/null"
                 " | grep -q 'friendlyName: my leaf'") == 0);
    CHECK(fx_run(NULL, 0, "openssl pkcs12 -info -noout -in ours.p12 -passin pass:wrong"
                 " 2>/dev/null") != 0);

    /* Refusals: nothing written. */
    CHECK_FAIL(cs_p12_write(leaf, key, NULL, 0, NULL, "x", "ours.p12", 0, &err), CS_EEXIST,
               &err, "ours.p12: exists");
    CHECK_FAIL(cs_p12_write(leaf, key, NULL, 0, NULL, "", "none.p12", 0, &err), CS_EINVAL,
               &err, "none.p12: empty password");
    CHECK_FAIL(cs_p12_write(leaf, key, NULL, 0, NULL, NULL, "none.p12", 0, &err), CS_EINVAL,
               &err, "none.p12: empty password");
    CHECK_FAIL(cs_p12_write(leaf, other, NULL, 0, NULL, "x", "none.p12", 0, &err),
               CS_EMISMATCH, &err, "none.p12: the key does not belong to the certificate");
    CHECK_FAIL(cs_p12_write(leaf, NULL, NULL, 0, NULL, "x", "none.p12", 0, &err), CS_EINVAL,
               &err, "none.p12: a certificate and its key are needed");
    CHECK(stat("none.p12", &st) != 0);
    der = sentinel;
    CHECK_FAIL(cs_p12_encode(leaf, key, NULL, 0, NULL, "", &der, &len, &err), CS_EINVAL, &err,
               "PKCS#12: empty password");
    CHECK(der == sentinel);
    der = NULL;
    CHECK_OK(cs_p12_write(leaf, key, NULL, 0, NULL, "again", "ours.p12", 1, &err), &err);
    CHECK(fx_run(NULL, 0, "openssl pkcs12 -info -noout -in ours.p12 -passin pass:again"
                 " 2>/dev/null") == 0);
    cs_p12_der_free(NULL, 0);
done:
    cs_key_free(other);
    cs_key_free(key);
    cs_cert_free(leaf);
    cs_cert_free(ca);
    CHECK(ERR_peek_error() == 0);
}

/* Two certificates with the same SHA-256 fingerprint. */
static int same_cert(const cs_cert *a, const cs_cert *b)
{
    char fa[65], fb[65];

    cs_cert_fingerprint(a, fa);
    cs_cert_fingerprint(b, fb);
    return strcmp(fa, fb) == 0;
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
        test_iteration_cap();
        test_write();
    }
    fx_rmdir();
    return CHECK_DONE();
}
