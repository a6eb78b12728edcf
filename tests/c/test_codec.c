/* core/codec.c through every loader and encoder that uses it: the same
 * checks, the same messages, nothing written and OpenSSL's queue left empty
 * on failure. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cert.h"
#include "check.h"
#include "csr.h"
#include "fixtures.h"
#include "key.h"
#include "pbe.h"

/* Where a loader must not write: a sentinel that is not a real object. */
static char sentinel;
#define UNTOUCHED ((void *)&sentinel)

/* data followed by one more byte, for "trailing bytes". */
static char *with_extra_byte(const unsigned char *data, size_t len)
{
    char *buf = malloc(len + 1);
    if (buf) {
        memcpy(buf, data, len);
        buf[len] = '\0';
    }
    return buf;
}

static void test_loaders(void)
{
    static const cs_rdn dn[] = {{"CN", "codec"}};
    cs_err err = {0};
    cs_key *key = NULL, *k = UNTOUCHED;
    cs_cert *self = NULL, *c = UNTOUCHED;
    cs_csr *req = NULL, *r = UNTOUCHED;
    cs_pbe pbe;
    cs_cert_spec spec;
    unsigned char *der = NULL, *mine = NULL;
    size_t mine_len = 0;
    char *extra = NULL;
    int n;
    BIO *bio = NULL;
    char *pem = NULL;
    long pem_len;

    key = fx_key("ec", "P-256");
    spec = fx_ca_spec(dn, 1, -1, 1);
    CHECK_OK(cs_cert_sign(&spec, key, NULL, key, &self, &err), &err);
    CHECK_OK(cs_csr_create(key, dn, 1, NULL, 0, &req, &err), &err);

    /* no data, no out: the same message from each loader */
    CHECK_FAIL(cs_cert_load(NULL, 0, "a.pem", &c, &err), CS_EINVAL, &err, "a.pem: no data");
    CHECK_FAIL(cs_cert_load("x", 1, NULL, NULL, &err), CS_EINVAL, &err, "certificate: no data");
    CHECK_FAIL(cs_csr_load(NULL, 0, NULL, &r, &err), CS_EINVAL, &err, "CSR: no data");
    CHECK_FAIL(cs_key_load(NULL, 0, NULL, &k, &err), CS_EINVAL, &err, "key: no data");
    CHECK_FAIL(cs_key_load_public(NULL, 0, NULL, &k, &err), CS_EINVAL, &err,
               "public key: no data");
    CHECK_FAIL(cs_pbe_encrypted_key("x", 1, "e.key", NULL, &err), CS_EINVAL, &err,
               "e.key: no data");

    /* DER with one byte too many: named per type, the object dropped */
    n = i2d_X509(cs_cert_get0_x509(self), &der);
    extra = with_extra_byte(der, (size_t)n);
    CHECK_FAIL(cs_cert_load(extra, (size_t)n + 1, "long.der", &c, &err), CS_EINVAL, &err,
               "long.der: trailing bytes after the DER certificate");
    CHECK(ERR_peek_error() == 0);
    /* the encoder gives the bytes OpenSSL's i2d gives */
    CHECK_OK(cs_cert_der(self, &mine, &mine_len, &err), &err);
    CHECK(mine_len == (size_t)n && memcmp(mine, der, mine_len) == 0);
    free(mine);
    free(extra);
    OPENSSL_free(der);
    der = NULL;

    CHECK_OK(cs_csr_der(req, &mine, &mine_len, &err), &err);
    extra = with_extra_byte(mine, mine_len);
    CHECK_FAIL(cs_csr_load(extra, mine_len + 1, "long.csr", &r, &err), CS_EINVAL, &err,
               "long.csr: trailing bytes after the DER CSR");
    CHECK_OK(cs_csr_load(extra, mine_len, "ok.csr", &r, &err), &err);
    cs_csr_free(r);
    r = UNTOUCHED;
    free(extra);
    free(mine);

    n = i2d_PrivateKey(cs_key_get0_pkey(key), &der);
    extra = with_extra_byte(der, (size_t)n);
    CHECK_FAIL(cs_key_load(extra, (size_t)n + 1, "long.key", &k, &err), CS_EINVAL, &err,
               "long.key: trailing bytes after the DER private key");
    free(extra);
    OPENSSL_free(der);
    der = NULL;

    n = i2d_PUBKEY(cs_key_get0_pkey(key), &der);
    extra = with_extra_byte(der, (size_t)n);
    CHECK_FAIL(cs_key_load_public(extra, (size_t)n + 1, "long.pub", &k, &err), CS_EINVAL,
               &err, "long.pub: trailing bytes after the DER public key");
    free(extra);
    OPENSSL_free(der);
    der = NULL;

    /* an encrypted key: DER refused as such by cs_key_load (which says how to
     * give the passphrase), read by cs_pbe */
    bio = BIO_new(BIO_s_mem());
    CHECK(i2d_PKCS8PrivateKey_bio(bio, cs_key_get0_pkey(key), EVP_aes_256_cbc(), "pw", 2,
                                  NULL, NULL) == 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    CHECK_FAIL(cs_key_load(pem, (size_t)pem_len, "enc.der", &k, &err), CS_ELOCKED, &err,
               "enc.der: encrypted private key: give its passphrase");
    CHECK(ERR_peek_error() == 0);
    CHECK_OK(cs_pbe_encrypted_key(pem, (size_t)pem_len, "enc.der", &pbe, &err), &err);
    CHECK(strcmp(pbe.scheme, "PBES2") == 0 && strcmp(pbe.cipher, "AES-256-CBC") == 0);
    extra = with_extra_byte((const unsigned char *)pem, (size_t)pem_len);
    CHECK_FAIL(cs_pbe_encrypted_key(extra, (size_t)pem_len + 1, "long.enc", &pbe, &err),
               CS_EINVAL, &err, "long.enc: trailing bytes after the encrypted key");
    free(extra);
    BIO_free(bio);

    /* neither PEM nor DER: each names what it wanted, the queue ends empty */
    CHECK_FAIL(cs_cert_load("junk", 4, "j", &c, &err), CS_EINVAL, &err,
               "j: not a PEM or DER certificate");
    CHECK(ERR_peek_error() == 0);
    CHECK_FAIL(cs_csr_load("junk", 4, "j", &r, &err), CS_EINVAL, &err,
               "j: not a PEM or DER certificate request");
    CHECK_FAIL(cs_key_load("junk", 4, "j", &k, &err), CS_EINVAL, &err,
               "j: not a PEM or DER private key");
    CHECK_FAIL(cs_key_load_public("-----BEGIN PUBLIC KEY-----\n", 27, "j", &k, &err),
               CS_EINVAL, &err, "j: not a PEM or DER public key (SubjectPublicKeyInfo)");
    CHECK(ERR_peek_error() == 0);
    CHECK_FAIL(cs_pbe_encrypted_key("junk", 4, "j", &pbe, &err), CS_EINVAL, &err,
               "j: not an encrypted PKCS#8 private key");

    /* nothing written on any failure above */
    CHECK(k == UNTOUCHED && c == UNTOUCHED && r == UNTOUCHED);

    cs_csr_free(req);
    cs_cert_free(self);
    cs_key_free(key);
}

/* PEM out: the bytes OpenSSL writes, NUL-terminated, read back by the loaders. */
static void test_pem_writers(void)
{
    static const cs_rdn dn[] = {{"CN", "codec"}};
    cs_err err = {0};
    cs_key *key = NULL, *pub = NULL;
    cs_csr *req = NULL, *again = NULL;
    char *pem = NULL, *want = NULL;
    size_t len = 0;
    long want_len;
    BIO *bio = BIO_new(BIO_s_mem());

    key = fx_key("ed25519", NULL);
    CHECK_OK(cs_key_public_pem(key, &pem, &len, &err), &err);
    CHECK(bio && PEM_write_bio_PUBKEY(bio, cs_key_get0_pkey(key)) == 1);
    want_len = BIO_get_mem_data(bio, &want);
    CHECK(pem && len == (size_t)want_len && memcmp(pem, want, len) == 0 && pem[len] == '\0');
    CHECK_OK(cs_key_load_public(pem, len, "pub.pem", &pub, &err), &err);
    free(pem);
    pem = NULL;

    CHECK_OK(cs_csr_create(key, dn, 1, NULL, 0, &req, &err), &err);
    CHECK_OK(cs_csr_pem(req, &pem, &len, &err), &err);
    CHECK(pem && strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----\n", 36) == 0 &&
          pem[len] == '\0');
    CHECK_OK(cs_csr_load(pem, len, "req.pem", &again, &err), &err);
    CHECK_FAIL(cs_csr_pem(NULL, &pem, &len, &err), CS_EINVAL, &err, "CSR: none");
    CHECK_FAIL(cs_key_public_pem(NULL, &pem, &len, &err), CS_EINVAL, &err, "key: no key");

    free(pem);
    BIO_free(bio);
    cs_csr_free(again);
    cs_csr_free(req);
    cs_key_free(pub);
    cs_key_free(key);
}

int main(void)
{
    test_loaders();
    test_pem_writers();
    return CHECK_DONE();
}
