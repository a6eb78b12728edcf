/* core/key.c: generate, inspect, save, load, refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "check.h"
#include "file.h"
#include "fixtures.h"
#include "key.h"
#include "pbe.h"

static void test_generate(void)
{
    cs_err err = {0};
    cs_key *k = NULL;
    cs_key_params p256 = {"ec", "P-256", 0};
    cs_key_params p384 = {"ec", "secp384r1", 0};
    cs_key_params ed = {"ed25519", NULL, 0};
    cs_key_params rsa = {"rsa", NULL, 2048};
    cs_key_params rsa0 = {"rsa", NULL, 0};

    CHECK_OK(cs_key_generate(&p256, &k, &err), &err);
    CHECK(strcmp(cs_key_type(k), "ec") == 0);
    CHECK(cs_key_curve(k) && strcmp(cs_key_curve(k), "P-256") == 0);
    CHECK(cs_key_bits(k) == 256);
    CHECK(strcmp(cs_key_digest_name(k), "SHA256") == 0);
    CHECK(cs_key_get0_pkey(k) != NULL);
    cs_key_free(k);

    k = NULL;
    CHECK_OK(cs_key_generate(&p384, &k, &err), &err);
    CHECK(cs_key_curve(k) && strcmp(cs_key_curve(k), "P-384") == 0);
    CHECK(cs_key_bits(k) == 384);
    CHECK(strcmp(cs_key_digest_name(k), "SHA384") == 0);
    cs_key_free(k);

    k = NULL;
    CHECK_OK(cs_key_generate(&ed, &k, &err), &err);
    CHECK(strcmp(cs_key_type(k), "ed25519") == 0);
    CHECK(cs_key_curve(k) == NULL);
    CHECK(cs_key_digest_name(k) == NULL);
    cs_key_free(k);

    k = NULL;
    CHECK_OK(cs_key_generate(&rsa, &k, &err), &err);
    CHECK(strcmp(cs_key_type(k), "rsa") == 0);
    CHECK(cs_key_bits(k) == 2048);
    CHECK(strcmp(cs_key_digest_name(k), "SHA256") == 0);
    cs_key_free(k);

    k = NULL;
    CHECK_OK(cs_key_generate(&rsa0, &k, &err), &err);
    CHECK(cs_key_bits(k) == 3072);
    cs_key_free(k);
    cs_key_free(NULL);
}

static void test_generate_refused(void)
{
    cs_err err = {0};
    cs_key *k = NULL;
    cs_key_params curve = {"ec", "P-999", 0};
    cs_key_params nocurve = {"ec", NULL, 0};
    cs_key_params type = {"dsa", NULL, 0};
    cs_key_params small = {"rsa", NULL, 1024};
    cs_key_params odd = {"rsa", NULL, 2049};
    cs_key_params big = {"rsa", NULL, 8192};

    CHECK_FAIL(cs_key_generate(&curve, &k, &err), CS_EINVAL, &err, "unknown curve 'P-999'");
    CHECK_FAIL(cs_key_generate(&nocurve, &k, &err), CS_EINVAL, &err, "unknown curve");
    CHECK_FAIL(cs_key_generate(&type, &k, &err), CS_EINVAL, &err, "unknown key type 'dsa'");
    CHECK_FAIL(cs_key_generate(&small, &k, &err), CS_EINVAL, &err, "1024");
    CHECK_FAIL(cs_key_generate(&odd, &k, &err), CS_EINVAL, &err, "2049");
    CHECK_FAIL(cs_key_generate(&big, &k, &err), CS_EINVAL, &err, "8192");
    CHECK(k == NULL);
}

static int file_equals(const char *path, const char *data, size_t len)
{
    char *got = NULL;
    size_t n = 0;
    cs_err err = {0};
    int same;

    if (cs_file_read(path, 1 << 20, &got, &n, &err) != CS_OK)
        return 0;
    same = n == len && memcmp(got, data, len) == 0;
    cs_file_free(got, n);
    return same;
}

static void test_save_load(void)
{
    cs_err err = {0};
    cs_key *k = NULL, *k2 = NULL, *k3 = NULL;
    cs_key_params p = {"ec", "P-384", 0};
    cs_key_params ed = {"ed25519", NULL, 0};
    char path[512], fp1[65], fp2[65], fp3[65];
    char *before = NULL, *pub = NULL;
    size_t before_len = 0, pub_len = 0;
    struct stat st;

    fx_path(path, sizeof path, "a.key");
    CHECK_OK(cs_key_generate(&p, &k, &err), &err);
    CHECK_OK(cs_key_save(k, path, 0, &err), &err);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK_OK(cs_key_load_file(path, &k2, &err), &err);
    CHECK_OK(cs_key_fingerprint(k, fp1, &err), &err);
    CHECK_OK(cs_key_fingerprint(k2, fp2, &err), &err);
    CHECK(strlen(fp1) == 64 && strcmp(fp1, fp2) == 0);
    CHECK(strcmp(cs_key_curve(k2), "P-384") == 0);

    /* PKCS#8 on disk. */
    CHECK_OK(cs_file_read(path, 1 << 20, &before, &before_len, &err), &err);
    CHECK(before && strstr(before, "-----BEGIN PRIVATE KEY-----") != NULL);

    /* An existing file is left alone unless overwrite is asked. */
    CHECK_OK(cs_key_generate(&ed, &k3, &err), &err);
    CHECK_FAIL(cs_key_save(k3, path, 0, &err), CS_EEXIST, &err, "exists");
    CHECK(file_equals(path, before, before_len));
    CHECK_OK(cs_key_save(k3, path, 1, &err), &err);
    CHECK(!file_equals(path, before, before_len));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    cs_key_free(k2);
    k2 = NULL;
    CHECK_OK(cs_key_load_file(path, &k2, &err), &err);
    CHECK_OK(cs_key_fingerprint(k3, fp3, &err), &err);
    CHECK_OK(cs_key_fingerprint(k2, fp2, &err), &err);
    CHECK(strcmp(fp2, fp3) == 0 && strcmp(fp1, fp3) != 0);

    /* The public PEM carries no private key. */
    CHECK_OK(cs_key_public_pem(k, &pub, &pub_len, &err), &err);
    CHECK(pub && strstr(pub, "-----BEGIN PUBLIC KEY-----") && !strstr(pub, "PRIVATE"));
    CHECK(pub && strlen(pub) == pub_len);

    free(pub);
    cs_file_free(before, before_len);
    cs_key_free(k3);
    cs_key_free(k2);
    cs_key_free(k);
    unlink(path);
}

/* DER, traditional PEM, encrypted and unsupported keys. */
static void test_load_forms(void)
{
    cs_err err = {0};
    cs_key *k = NULL, *k2 = NULL;
    cs_key_params p = {"ec", "P-256", 0};
    EVP_PKEY *other = NULL;
    unsigned char *der = NULL;
    int der_len;
    BIO *bio = NULL;
    char *pem = NULL;
    long pem_len;
    char fp1[65], fp2[65];
    char path[512];
    static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nnot base64!!\n"
                                  "-----END PRIVATE KEY-----\n";

    CHECK_OK(cs_key_generate(&p, &k, &err), &err);
    CHECK_OK(cs_key_fingerprint(k, fp1, &err), &err);

    der_len = i2d_PrivateKey(cs_key_get0_pkey(k), &der);
    CHECK(der_len > 0);
    CHECK_OK(cs_key_load((const char *)der, (size_t)der_len, "der", &k2, &err), &err);
    CHECK_OK(cs_key_fingerprint(k2, fp2, &err), &err);
    CHECK(strcmp(fp1, fp2) == 0);
    cs_key_free(k2);
    k2 = NULL;

    /* Encrypted PKCS#8 PEM is refused with a clear message. */
    bio = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PKCS8PrivateKey(bio, cs_key_get0_pkey(k), EVP_aes_256_cbc(),
                                        "secret", 6, NULL, NULL) == 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    CHECK_FAIL(cs_key_load(pem, (size_t)pem_len, "enc.key", &k2, &err), CS_ELOCKED, &err,
               "enc.key: encrypted");
    CHECK(strstr(err.msg, "secret") == NULL);
    BIO_free(bio);

    /* Malformed PEM, empty input, a certificate-less random blob. */
    CHECK_FAIL(cs_key_load(garbage, sizeof garbage - 1, "bad.key", &k2, &err), CS_EINVAL,
               &err, "bad.key: not a PEM or DER private key");
    CHECK_FAIL(cs_key_load("", 0, "empty.key", &k2, &err), CS_EINVAL, &err, "empty.key");
    CHECK_FAIL(cs_key_load("hello", 5, "text", &k2, &err), CS_EINVAL, &err,
               "text: not a PEM or DER private key");
    CHECK(k2 == NULL);

    /* An unsupported curve is refused by name. */
    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp521r1");
    bio = BIO_new(BIO_s_mem());
    CHECK(other && PEM_write_bio_PrivateKey(bio, other, NULL, NULL, 0, NULL, NULL) == 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    CHECK_FAIL(cs_key_load(pem, (size_t)pem_len, "p521.key", &k2, &err), CS_EUNSUPPORTED, &err,
               "unsupported curve 'secp521r1'");
    BIO_free(bio);
    EVP_PKEY_free(other);

    /* X25519 is not a signing key type we support. */
    other = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    bio = BIO_new(BIO_s_mem());
    CHECK(other && PEM_write_bio_PrivateKey(bio, other, NULL, NULL, 0, NULL, NULL) == 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    CHECK_FAIL(cs_key_load(pem, (size_t)pem_len, "x.key", &k2, &err), CS_EUNSUPPORTED, &err,
               "unsupported key type");
    BIO_free(bio);
    EVP_PKEY_free(other);

    fx_path(path, sizeof path, "missing.key");
    CHECK_FAIL(cs_key_load_file(path, &k2, &err), CS_ENOENT, &err, "missing.key");
    CHECK(k2 == NULL);

    OPENSSL_free(der);
    cs_key_free(k);
}

/* A generator makes many keys of its kind, each different; bad params are
 * refused as cs_key_generate refuses them, and nothing is returned. */
static void test_keygen(void)
{
    cs_key_params p256 = {"ec", "P-256", 0}, bad = {"ec", "P-521", 0};
    cs_err err = {0};
    cs_keygen *gen = NULL, *sentinel = (cs_keygen *)&err;
    cs_key *a = NULL, *b = NULL;

    CHECK_OK(cs_keygen_new(&p256, &gen, &err), &err);
    CHECK_OK(cs_keygen_generate(gen, &a, &err), &err);
    CHECK_OK(cs_keygen_generate(gen, &b, &err), &err);
    CHECK(a && b && strcmp(cs_key_curve(a), "P-256") == 0 &&
          strcmp(cs_key_curve(b), "P-256") == 0);
    CHECK(a && b && EVP_PKEY_eq(cs_key_get0_pkey(a), cs_key_get0_pkey(b)) != 1);
    ERR_clear_error(); /* EVP_PKEY_eq of different keys may leave a reason */
    cs_key_free(b);
    cs_key_free(a);
    cs_keygen_free(gen);
    gen = sentinel;
    CHECK_FAIL(cs_keygen_new(&bad, &gen, &err), CS_EINVAL, &err, "unknown curve 'P-521'");
    CHECK(gen == sentinel);
    CHECK_FAIL(cs_keygen_generate(NULL, &a, &err), CS_EINVAL, &err, "no key generator");
    cs_keygen_free(NULL);
}

/* k's fingerprint equals the one of the key loaded from path with pass. */
static int same_key_pass(const cs_key *k, const char *path, const char *pass)
{
    cs_key *back = NULL;
    cs_err err = {0};
    char a[65], b[65];
    int same;

    CHECK_OK(cs_key_load_file_pass(path, pass, &back, &err), &err);
    same = back && cs_key_fingerprint(k, a, &err) == CS_OK &&
           cs_key_fingerprint(back, b, &err) == CS_OK && strcmp(a, b) == 0;
    cs_key_free(back);
    return same;
}

/* Encrypted at rest: PKCS#8 PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC,
 * read back with the passphrase only; every refusal names the file and
 * writes nothing. */
static void test_encrypted(void)
{
    cs_err err = {0};
    cs_key *k = fx_key("ec", "P-384"), *k2 = NULL, *sentinel = (cs_key *)&err;
    char path[512], plain[512], missing[512], out[512];
    char *data = NULL, *before = NULL;
    size_t len = 0, before_len = 0;
    cs_pbe pbe;
    struct stat st;

    fx_path(path, sizeof path, "enc.key");
    fx_path(plain, sizeof plain, "plain.key");
    fx_path(missing, sizeof missing, "never.key");
    CHECK_OK(cs_key_save_encrypted(k, "correct horse", path, 0, &err), &err);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK_OK(cs_file_read(path, 1 << 20, &data, &len, &err), &err);
    CHECK(data && strncmp(data, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) == 0);
    CHECK(data && !strstr(data, "correct horse"));
    CHECK_OK(cs_pbe_encrypted_key(data ? data : "", len, "enc.key", &pbe, &err), &err);
    CHECK(strcmp(pbe.scheme, "PBES2") == 0 && strcmp(pbe.cipher, "AES-256-CBC") == 0);
    CHECK(strcmp(pbe.kdf, "PBKDF2") == 0 && strcmp(pbe.prf, "hmacWithSHA256") == 0);
    CHECK(pbe.iterations == CS_KEY_PBKDF2_ITER && !pbe.legacy);
    cs_file_free(data, len);
    data = NULL;
    /* 16-byte salt: the first OCTET STRING asn1parse shows is 16 long */
    CHECK(fx_run_line(out, sizeof out, "openssl asn1parse -in enc.key | grep -m1 'OCTET STRING'"
                      " | sed 's/.*l= *\\([0-9]*\\).*/\\1/'") && strcmp(out, "16") == 0);

    CHECK(same_key_pass(k, path, "correct horse"));
    CHECK(fx_sh("openssl pkey -in enc.key -passin pass:'correct horse' -noout"));
    CHECK(fx_run(NULL, 0, "openssl pkey -in enc.key -passin pass:wrong -noout 2>/dev/null")
          != 0);

    /* Wrong, none, empty: refused, naming the file, never echoing it. */
    k2 = sentinel;
    CHECK_FAIL(cs_key_load_file_pass(path, "wrong horse", &k2, &err), CS_EVERIFY, &err,
               "enc.key: wrong passphrase or corrupt key");
    CHECK(!strstr(err.msg, "horse"));
    CHECK_FAIL(cs_key_load_file(path, &k2, &err), CS_ELOCKED, &err,
               "enc.key: encrypted private key: give its passphrase");
    CHECK(strstr(err.msg, "--passphrase-env"));
    CHECK_FAIL(cs_key_load_file_pass(path, "", &k2, &err), CS_EINVAL, &err,
               "enc.key: empty passphrase");
    CHECK(k2 == sentinel);

    /* Saving: no empty passphrase, no overwrite unless asked. */
    CHECK_FAIL(cs_key_save_encrypted(k, "", missing, 0, &err), CS_EINVAL, &err,
               "never.key: empty passphrase");
    CHECK_FAIL(cs_key_save_encrypted(k, NULL, missing, 0, &err), CS_EINVAL, &err,
               "empty passphrase");
    CHECK(stat(missing, &st) != 0);
    CHECK_OK(cs_file_read(path, 1 << 20, &before, &before_len, &err), &err);
    CHECK_FAIL(cs_key_save_encrypted(k, "other", path, 0, &err), CS_EEXIST, &err,
               "enc.key: exists");
    CHECK(file_equals(path, before, before_len));
    CHECK_OK(cs_key_save_encrypted(k, "other", path, 1, &err), &err);
    CHECK(same_key_pass(k, path, "other"));
    cs_file_free(before, before_len);

    /* A plain key loads whatever the passphrase; openssl's DER form decrypts. */
    CHECK_OK(cs_key_save(k, plain, 0, &err), &err);
    CHECK(same_key_pass(k, plain, "anything"));
    CHECK(fx_sh("openssl pkcs8 -topk8 -in plain.key -v2 aes-128-cbc -passout pass:der"
                " -outform DER -out enc.der"));
    fx_path(path, sizeof path, "enc.der");
    CHECK(same_key_pass(k, path, "der"));
    CHECK_FAIL(cs_key_load_file_pass(path, "nope", &k2, &err), CS_EVERIFY, &err,
               "enc.der: wrong passphrase or corrupt key");
    CHECK_FAIL(cs_key_load_file(path, &k2, &err), CS_ELOCKED, &err,
               "enc.der: encrypted private key");
    /* Traditional OpenSSL PEM encryption (Proc-Type: 4,ENCRYPTED) too. */
    CHECK(fx_sh("openssl ec -in plain.key -aes256 -passout pass:trad -out trad.key 2>/dev/null"));
    fx_path(path, sizeof path, "trad.key");
    CHECK(same_key_pass(k, path, "trad"));
    CHECK_FAIL(cs_key_load_file_pass(path, "nope", &k2, &err), CS_EVERIFY, &err,
               "trad.key: wrong passphrase or corrupt key");
    cs_key_free(k);
    CHECK(ERR_peek_error() == 0);
}

/* A PBKDF2 count made to stall the loader is refused before any work: the
 * parameters of 20 million rounds over bytes that were never encrypted. */
static void test_encrypted_cap(void)
{
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    X509_ALGOR *pbe = aes ? PKCS5_pbe2_set_iv_ex(aes, 20000000, NULL, 0, NULL,
                                                 NID_hmacWithSHA256, NULL)
                          : NULL;
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *digest = NULL;
    unsigned char *der = NULL;
    static const unsigned char junk[32] = {1, 2, 3};
    cs_key *k = NULL;
    cs_err err = {0};
    int n = 0;

    CHECK(pbe && sig);
    if (pbe && sig) {
        X509_SIG_getm(sig, &alg, &digest);
        CHECK(X509_ALGOR_copy(alg, pbe) == 1 && ASN1_OCTET_STRING_set(digest, junk, 32) == 1);
        n = i2d_X509_SIG(sig, &der);
    }
    CHECK(n > 0);
    if (n > 0)
        CHECK_FAIL(cs_key_load_pass((const char *)der, (size_t)n, "pw", "slow.der",
                                    &k, &err), CS_EINVAL, &err,
                   "slow.der: encrypted with 20000000 PBKDF2 iterations, more than");
    CHECK(k == NULL);
    OPENSSL_free(der);
    der = NULL;
    /* scrypt within OpenSSL's 32 MB (N = 2^15, r = 1, p = 2^17: 20 MB) but 2^32 rounds */
    X509_ALGOR_free(pbe);
    pbe = aes ? PKCS5_pbe2_set_scrypt(aes, NULL, 0, NULL, 1 << 15, 1, 1 << 17) : NULL;
    CHECK(pbe != NULL);
    n = 0;
    if (pbe) {
        X509_SIG_getm(sig, &alg, &digest);
        CHECK(X509_ALGOR_copy(alg, pbe) == 1);
        n = i2d_X509_SIG(sig, &der);
    }
    CHECK(n > 0);
    if (n > 0)
        CHECK_FAIL(cs_key_load_pass((const char *)der, (size_t)n, "pw", "scrypt.der",
                                    &k, &err), CS_EINVAL, &err,
                   "scrypt.der: encrypted with id-scrypt costing 4294967296 rounds (N*r*p), "
                   "more than the 10000000 we accept");
    CHECK(k == NULL);
    OPENSSL_free(der);
    X509_SIG_free(sig);
    X509_ALGOR_free(pbe);
    EVP_CIPHER_free(aes);
}

int main(void)
{
    if (!fx_mkdtemp("key"))
        return 1;
    test_generate();
    test_generate_refused();
    test_keygen();
    test_save_load();
    test_load_forms();
    test_encrypted();
    test_encrypted_cap();
    CHECK(ERR_peek_error() == 0); /* every failure drained OpenSSL's queue */
    fx_rmdir();
    return CHECK_DONE();
}
