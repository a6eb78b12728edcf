/* Private keys: generate, load, save, inspect. Only EVP_PKEY, no per-type objects. */
#include "key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "file.h"
#include "internal.h"
#include "pbe.h"

/* A key file larger than this is not a key we wrote or could use. */
#define KEY_FILE_MAX (1024 * 1024)

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 4096
#define RSA_BITS_DEFAULT 3072

static const struct {
    const char *name;  /* what we call it */
    const char *alias; /* what OpenSSL calls it */
} curves[] = {
    {"P-256", "prime256v1"},
    {"P-384", "secp384r1"},
};

/* Our name for a curve given either spelling, or NULL if we do not support it. */
static const char *curve_name(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (strcmp(name, curves[i].name) == 0 || strcmp(name, curves[i].alias) == 0)
            return curves[i].name;
    return NULL;
}

static cs_code wrap(EVP_PKEY **pkey, cs_key **out, cs_err *err)
{
    cs_key *key = malloc(sizeof *key);

    if (!key)
        return cs_err_set(err, CS_ENOMEM, "key: out of memory");
    key->pkey = *pkey;
    key->is_private = 1;
    key->ec_params = NULL;
    key->ec_point = NULL;
    key->ec_point_len = 0;
    key->on_token = 0;
    *pkey = NULL;
    *out = key;
    return CS_OK;
}

EVP_PKEY *csi_ec_params(const char *group)
{
    unsigned char der[32];
    unsigned char *p = der;
    const unsigned char *cp = der;
    const ASN1_OBJECT *oid;
    EVP_PKEY *params = NULL;
    int nid, n;

    ERR_set_mark();
    nid = OBJ_sn2nid(group);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(group);
    oid = nid != NID_undef ? OBJ_nid2obj(nid) : NULL;
    /* ECParameters: namedCurve, the OID alone (RFC 5480 2.1.1) */
    if (oid && i2d_ASN1_OBJECT(oid, NULL) <= (int)sizeof der) {
        n = i2d_ASN1_OBJECT(oid, &p);
        if (n > 0)
            params = d2i_KeyParams(EVP_PKEY_EC, NULL, &cp, n);
    }
    ERR_pop_to_mark();
    return params;
}

struct cs_keygen {
    EVP_PKEY_CTX *ctx;   /* keygen_init done, curve or size set */
    EVP_PKEY *ec_params; /* EC: the curve, handed to each key (see struct cs_key) */
    char type[16];       /* for messages */
};

/* What p asks for, checked: OpenSSL's algorithm name, our curve name (EC,
 * else NULL) and the RSA size (else 0). CS_EINVAL naming the field. */
static cs_code check_params(const cs_key_params *p, const char **alg, const char **curve,
                            size_t *bits, cs_err *err)
{
    *curve = NULL;
    *bits = 0;
    if (!p || !p->type)
        return cs_err_set(err, CS_EINVAL, "key: missing key type (use ec, ed25519 or rsa)");
    if (strcmp(p->type, "ec") == 0) {
        *curve = p->curve ? curve_name(p->curve) : NULL;
        if (!*curve)
            return cs_err_set(err, CS_EINVAL, "key: unknown curve '%s' (use P-256 or P-384)",
                              p->curve ? p->curve : "(none)");
        *alg = "EC";
    } else if (strcmp(p->type, "ed25519") == 0) {
        *alg = "ED25519";
    } else if (strcmp(p->type, "rsa") == 0) {
        int b = p->bits == 0 ? RSA_BITS_DEFAULT : p->bits;
        if (b < RSA_BITS_MIN || b > RSA_BITS_MAX || b % 8 != 0)
            return cs_err_set(err, CS_EINVAL,
                              "key: unsupported RSA size %d bits (use 2048 to 4096, a "
                              "multiple of 8)", p->bits);
        *alg = "RSA";
        *bits = (size_t)b;
    } else {
        return cs_err_set(err, CS_EINVAL, "key: unknown key type '%s' (use ec, ed25519 or rsa)",
                          p->type);
    }
    return CS_OK;
}

cs_code cs_keygen_new(const cs_key_params *p, cs_keygen **out, cs_err *err)
{
    cs_keygen *gen = NULL;
    OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
    const char *alg = NULL, *curve = NULL;
    size_t bits = 0;
    cs_code rc = CS_OK;

    if (!out)
        return cs_err_set(err, CS_EINVAL, "key: no place for the key generator");
    rc = check_params(p, &alg, &curve, &bits, err);
    if (rc != CS_OK)
        return rc;
    if (curve)
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                     (char *)curve, 0);
    else if (bits)
        params[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits);
    gen = calloc(1, sizeof *gen);
    if (!gen)
        return cs_err_set(err, CS_ENOMEM, "key: out of memory");
    snprintf(gen->type, sizeof gen->type, "%s", p->type);
    gen->ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    if (!gen->ctx || EVP_PKEY_keygen_init(gen->ctx) != 1 ||
        EVP_PKEY_CTX_set_params(gen->ctx, params) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "key: setting up %s key generation", p->type);
        goto done;
    }
    if (strcmp(alg, "EC") == 0)
        gen->ec_params = csi_ec_params(p->curve); /* NULL: cs_cert_sign makes its own */
    *out = gen;
    gen = NULL;
done:
    cs_keygen_free(gen);
    return rc;
}

cs_code cs_keygen_generate(cs_keygen *gen, cs_key **out, cs_err *err)
{
    EVP_PKEY *pkey = NULL;
    cs_code rc;

    if (!gen || !out)
        return cs_err_set(err, CS_EINVAL, "key: no key generator");
    if (EVP_PKEY_generate(gen->ctx, &pkey) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "key: generating a %s key", gen->type);
    rc = wrap(&pkey, out, err);
    EVP_PKEY_free(pkey);
    if (rc == CS_OK && gen->ec_params && EVP_PKEY_up_ref(gen->ec_params) == 1)
        (*out)->ec_params = gen->ec_params;
    return rc;
}

void cs_keygen_free(cs_keygen *gen)
{
    if (!gen)
        return;
    EVP_PKEY_free(gen->ec_params);
    EVP_PKEY_CTX_free(gen->ctx);
    free(gen);
}

/* One key: a generator used once (the same checks and path as bulk). */
cs_code cs_key_generate(const cs_key_params *p, cs_key **out, cs_err *err)
{
    cs_keygen *gen = NULL;
    cs_code rc;

    rc = cs_keygen_new(p, &gen, err);
    if (rc == CS_OK)
        rc = cs_keygen_generate(gen, out, err);
    cs_keygen_free(gen);
    return rc;
}

/* Is this a key we support? Same limits as cs_key_generate. */
static cs_code check_supported(EVP_PKEY *pkey, const char *what, cs_err *err)
{
    char group[64];

    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return CS_OK;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)
            return cs_err_set(err, CS_EUNSUPPORTED,
                              "%s: unsupported RSA key size %d bits (use 2048 to 4096)", what,
                              bits);
        return CS_OK;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, NULL) != 1) {
            ERR_clear_error(); /* explicit curve parameters: no name to report */
            return cs_err_set(err, CS_EUNSUPPORTED,
                              "%s: unsupported EC key without a named curve (use P-256 or "
                              "P-384)", what);
        }
        if (!curve_name(group))
            return cs_err_set(err, CS_EUNSUPPORTED,
                              "%s: unsupported curve '%s' (use P-256 or P-384)", what, group);
        return CS_OK;
    }
    return cs_err_set(err, CS_EUNSUPPORTED,
                      "%s: unsupported key type '%s' (use EC P-256/P-384, Ed25519 or RSA)",
                      what, EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey)
                                                         : "unknown");
}

/* cs_key_load_pass's state for decode_private: the input, the passphrase
 * (NULL: none given), and whether the key turned out to be encrypted (so a
 * failure is reported as that, not as unreadable). */
struct private_in {
    const char *data;
    size_t len;
    const char *passphrase;
    int encrypted;
};

/* OpenSSL asks for the passphrase only when the PEM is encrypted: note it,
 * and give ours, or none (-1 stops the decoding). */
static int give_passphrase(char *buf, int size, int rwflag, void *u)
{
    struct private_in *in = u;
    size_t n;

    (void)rwflag;
    in->encrypted = 1;
    if (!in->passphrase)
        return -1;
    n = strlen(in->passphrase);
    if (size < 0 || n > (size_t)size)
        return -1; /* longer than PEM's buffer: it cannot be the right one */
    memcpy(buf, in->passphrase, n);
    return (int)n;
}

/* An EncryptedPrivateKeyInfo in DER, decrypted with in->passphrase; NULL
 * when it is not one (in->encrypted stays 0) or does not decrypt. */
static EVP_PKEY *decrypt_der(struct private_in *in, const unsigned char **der, long len)
{
    const unsigned char *p = *der;
    X509_SIG *sig = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *pkey = NULL;

    ERR_set_mark();
    sig = d2i_X509_SIG(NULL, &p, len);
    if (!sig || p != *der + len) {
        X509_SIG_free(sig);
        ERR_pop_to_mark();
        return NULL;
    }
    ERR_pop_to_mark();
    in->encrypted = 1;
    if (in->passphrase)
        p8 = PKCS8_decrypt_ex(sig, in->passphrase, (int)strlen(in->passphrase), NULL, NULL);
    if (p8)
        pkey = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
    if (pkey)
        *der = p;
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key bytes */
    X509_SIG_free(sig);
    return pkey;
}

static void *decode_private(BIO *bio, const unsigned char **der, long len, void *arg)
{
    struct private_in *in = arg;
    EVP_PKEY *pkey;

    if (!bio) {
        pkey = decrypt_der(in, der, len);
        if (pkey || in->encrypted)
            return pkey;
        return d2i_AutoPrivateKey_ex(NULL, der, len, NULL, NULL);
    }
    pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, give_passphrase, in, NULL, NULL);
    if (!pkey && csi_mem_contains(in->data, in->len, "ENCRYPTED"))
        in->encrypted = 1;
    return pkey;
}

static const csi_pem_der private_format = {decode_private, "the DER private key",
                                          "not a PEM or DER private key"};

/* Refuse a PBKDF2 count no key of ours has, before spending it. */
static cs_code check_iterations(const char *data, size_t len, const char *what, cs_err *err)
{
    cs_pbe pbe;
    cs_err ignored;

    if (cs_pbe_encrypted_key(data, len, what, &pbe, &ignored) != CS_OK)
        return CS_OK; /* not PKCS#8 EncryptedPrivateKeyInfo: nothing to check */
    if (pbe.work <= CS_KEY_PBKDF2_ITER_MAX)
        return CS_OK;
    if (pbe.iterations > 0)
        return cs_err_set(err, CS_EINVAL, "%s: encrypted with %ld PBKDF2 iterations, more "
                          "than the %d we accept", what, pbe.iterations,
                          CS_KEY_PBKDF2_ITER_MAX);
    return cs_err_set(err, CS_EINVAL, "%s: encrypted with %s costing %ld rounds (N*r*p), more "
                      "than the %d we accept", what, pbe.kdf, pbe.work, CS_KEY_PBKDF2_ITER_MAX);
}

cs_code cs_key_load_pass(const char *data, size_t len, const char *passphrase,
                         const char *what, cs_key **out, cs_err *err)
{
    struct private_in in = {data, len, passphrase, 0};
    void *obj = NULL;
    EVP_PKEY *pkey;
    cs_code rc;

    if (!what)
        what = "key";
    if (passphrase && !*passphrase)
        return cs_err_set(err, CS_EINVAL, "%s: empty passphrase", what);
    if (passphrase && data) {
        rc = check_iterations(data, len, what, err);
        if (rc != CS_OK)
            return rc;
    }
    rc = csi_load_pem_der(data, len, out, what, &private_format, &in, &obj, err);
    pkey = obj;
    if (rc != CS_OK && in.encrypted && !passphrase) { /* replaces the message */
        rc = cs_err_set(err, CS_ELOCKED,
                        "%s: encrypted private key: give its passphrase to load it (the "
                        "commands: --passphrase-env VAR or --passphrase-file FILE; Lua: "
                        "{passphrase = ...})", what);
    } else if (rc != CS_OK && in.encrypted) {
        ERR_clear_error();
        rc = cs_err_set(err, CS_EVERIFY, "%s: wrong passphrase or corrupt key", what);
    }
    if (rc == CS_OK)
        rc = check_supported(pkey, what, err);
    if (rc == CS_OK)
        rc = wrap(&pkey, out, err);
    EVP_PKEY_free(pkey);
    return rc;
}

cs_code cs_key_load(const char *data, size_t len, const char *what, cs_key **out, cs_err *err)
{
    return cs_key_load_pass(data, len, NULL, what, out, err);
}

cs_code csi_key_adopt(EVP_PKEY **pkey, const char *what, cs_key **out, cs_err *err)
{
    cs_code rc = check_supported(*pkey, what, err);

    if (rc != CS_OK)
        return rc;
    return wrap(pkey, out, err);
}

cs_code cs_key_load_file_pass(const char *path, const char *passphrase, cs_key **out,
                              cs_err *err)
{
    char *data = NULL;
    size_t len = 0;
    cs_code rc;

    if (!path)
        return cs_err_set(err, CS_EINVAL, "key: no file name");
    rc = cs_file_read(path, KEY_FILE_MAX, &data, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_key_load_pass(data, len, passphrase, path, out, err);
    cs_file_free(data, len); /* wipes: it held the private key */
    return rc;
}

cs_code cs_key_load_file(const char *path, cs_key **out, cs_err *err)
{
    return cs_key_load_file_pass(path, NULL, out, err);
}

cs_code csi_key_from_public(EVP_PKEY *pkey, const char *what, cs_key **out, cs_err *err)
{
    cs_key *key;
    cs_code rc = check_supported(pkey, what, err);

    if (rc != CS_OK)
        return rc;
    key = malloc(sizeof *key);
    if (!key)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    if (EVP_PKEY_up_ref(pkey) != 1) {
        free(key);
        return cs_err_ossl(err, CS_ECRYPTO, "%s: cannot reference the public key", what);
    }
    key->pkey = pkey;
    key->is_private = 0;
    key->ec_params = NULL;
    key->ec_point = NULL;
    key->ec_point_len = 0;
    key->on_token = 0;
    *out = key;
    return CS_OK;
}

void csi_key_keep_point(cs_key *key, const unsigned char *point, size_t len)
{
    free(key->ec_point);
    key->ec_point = len > 0 ? malloc(len) : NULL;
    key->ec_point_len = key->ec_point ? len : 0;
    if (key->ec_point)
        memcpy(key->ec_point, point, len);
}

/* The uncompressed encoding of curve's generator into buf (133 bytes hold
 * P-521's); its length, 0 on failure. */
static size_t ec_generator(const char *curve, unsigned char *buf, size_t size)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(curve));
    size_t len = 0;

    if (group)
        len = EC_POINT_point2oct(group, EC_GROUP_get0_generator(group),
                                 POINT_CONVERSION_UNCOMPRESSED, buf, size, NULL);
    EC_GROUP_free(group);
    return len;
}

/* A public key of the shape p describes, with no key generated: the
 * curve's generator for EC, the Ed25519 base point (RFC 8032 5.1), an RSA
 * modulus of p->bits one bits with e = 65537. Nobody holds their private
 * halves (each is a known point or not a product of two primes): they are
 * for linting a certificate that will never be signed, nothing else. */
cs_code csi_key_of_shape(const cs_key_params *p, cs_key **out, cs_err *err)
{
    /* RFC 8032 5.1: B's y = 4/5, encoded little-endian, x's sign bit clear */
    static const unsigned char ed25519_base[32] = {
        0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
    unsigned char point[133];
    const char *alg = NULL, *curve = NULL;
    size_t bits = 0, len;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    cs_code rc = check_params(p, &alg, &curve, &bits, err);

    if (rc != CS_OK)
        return rc;
    if (strcmp(alg, "ED25519") == 0) {
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, alg, NULL, ed25519_base,
                                              sizeof ed25519_base);
    } else {
        bld = OSSL_PARAM_BLD_new();
        n = BN_new();
        e = BN_new();
        ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
        if (!bld || !n || !e || !ctx)
            goto built;
        if (curve) {
            len = ec_generator(curve, point, sizeof point);
            if (len == 0 ||
                OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
                OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len) != 1)
                goto built;
        } else if (BN_set_word(n, 1) != 1 || BN_lshift(n, n, (int)bits) != 1 ||
                   BN_sub_word(n, 1) != 1 || BN_set_word(e, 65537) != 1 ||
                   OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
                   OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
            goto built;
        }
        params = OSSL_PARAM_BLD_to_param(bld);
        if (params && EVP_PKEY_fromdata_init(ctx) == 1)
            (void)EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    }
built:
    if (pkey)
        rc = csi_key_from_public(pkey, "key", out, err);
    else
        rc = cs_err_ossl(err, CS_ECRYPTO, "key: making a %s public key to lint with", p->type);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

static void *decode_public(BIO *bio, const unsigned char **der, long len, void *arg)
{
    (void)arg;
    return bio ? PEM_read_bio_PUBKEY_ex(bio, NULL, csi_pem_no_prompt, NULL, NULL, NULL)
               : d2i_PUBKEY_ex(NULL, der, len, NULL, NULL);
}

static const csi_pem_der public_format = {decode_public, "the DER public key",
                                         "not a PEM or DER public key (SubjectPublicKeyInfo)"};

cs_code cs_key_load_public(const char *data, size_t len, const char *what, cs_key **out,
                           cs_err *err)
{
    void *obj = NULL;
    EVP_PKEY *pkey;
    cs_code rc;

    if (!what)
        what = "public key";
    rc = csi_load_pem_der(data, len, out, what, &public_format, NULL, &obj, err);
    if (rc == CS_EINVAL && !obj && csi_mem_contains(data, len, "ENCRYPTED"))
        rc = cs_err_set(err, CS_EINVAL, "%s: encrypted, and a public key is read without a "
                        "passphrase (nothing is ever asked on the terminal): load the private "
                        "key with its passphrase", what);
    pkey = obj;
    if (rc == CS_OK)
        rc = csi_key_from_public(pkey, what, out, err);
    EVP_PKEY_free(pkey);
    return rc;
}

int cs_key_is_private(const cs_key *key)
{
    return key && key->is_private;
}

cs_code csi_key_need_private(const cs_key *key, const char *what, cs_err *err)
{
    if (!key || !key->is_private)
        return cs_err_set(err, CS_EINVAL, "%s: public key only, has no private key", what);
    return CS_OK;
}

void cs_key_free(cs_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->ec_params);
    EVP_PKEY_free(key->pkey);
    free(key->ec_point);
    free(key);
}

/* What a PEM writer put in bio, copied into the secure heap; bio's own
 * bytes are wiped. */
static cs_code secure_copy(BIO *bio, const char *what, char **out, size_t *len, cs_err *err)
{
    char *data = NULL, *copy;
    long n = BIO_get_mem_data(bio, &data);

    copy = n > 0 && data ? OPENSSL_secure_malloc((size_t)n) : NULL;
    if (copy) {
        memcpy(copy, data, (size_t)n);
        *out = copy;
        *len = (size_t)n;
    }
    if (data && n > 0)
        OPENSSL_cleanse(data, (size_t)n);
    return copy ? CS_OK : cs_err_ossl(err, CS_ENOMEM, "%s: encoding the private key", what);
}

cs_code csi_key_private_pem(const cs_key *key, const char *what, char **out, size_t *len,
                           cs_err *err)
{
    BIO *bio = NULL;
    cs_code rc = csi_key_need_private(key, what, err);

    if (rc != CS_OK)
        return rc;
    /* Secure-heap memory BIO: the PEM holds the private key. */
    bio = BIO_new(BIO_s_secmem());
    if (!bio)
        return cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", what);
    /* PEM_write_bio_PrivateKey writes PKCS#8 in OpenSSL 3. */
    if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: encoding the private key", what);
    else
        rc = secure_copy(bio, what, out, len, err);
    BIO_free(bio);
    return rc;
}

cs_code cs_key_save(const cs_key *key, const char *path, int overwrite, cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!key || !path)
        return cs_err_set(err, CS_EINVAL, "key: nothing to save");
    rc = csi_key_private_pem(key, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_file_write(path, pem, len, 0600, overwrite, err);
    OPENSSL_secure_clear_free(pem, len);
    return rc;
}

cs_code csi_key_encrypted_pem(const cs_key *key, const char *passphrase, const char *what,
                             char **out, size_t *len, cs_err *err)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_ALGOR *pbe = NULL;
    X509_SIG *sig = NULL;
    EVP_CIPHER *cipher = NULL;
    BIO *bio = NULL;
    unsigned char salt[16];
    cs_code rc = csi_key_need_private(key, what, err);

    if (rc != CS_OK)
        return rc;
    if (!passphrase || !*passphrase)
        return cs_err_set(err, CS_EINVAL, "%s: empty passphrase; a key is not encrypted "
                          "with nothing", what);
    /* NIST SP 800-132: a salt of at least 128 bits (OpenSSL 3.0 makes 64). */
    if (RAND_bytes(salt, sizeof salt) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: random salt", what);
        goto done;
    }
    cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    p8 = cipher ? EVP_PKEY2PKCS8(key->pkey) : NULL;
    pbe = p8 ? PKCS5_pbe2_set_iv_ex(cipher, CS_KEY_PBKDF2_ITER, salt, sizeof salt, NULL,
                                    NID_hmacWithSHA256, NULL)
             : NULL;
    if (!pbe) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: setting up the key's encryption", what);
        goto done;
    }
    sig = PKCS8_set0_pbe_ex(passphrase, (int)strlen(passphrase), p8, pbe, NULL, NULL);
    if (!sig) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: encrypting the private key", what);
        goto done;
    }
    pbe = NULL; /* now sig's */
    bio = BIO_new(BIO_s_secmem());
    if (!bio || PEM_write_bio_PKCS8(bio, sig) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: encoding the encrypted key", what);
        goto done;
    }
    rc = secure_copy(bio, what, out, len, err);
done:
    BIO_free(bio);
    X509_SIG_free(sig);
    X509_ALGOR_free(pbe);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_CIPHER_free(cipher);
    OPENSSL_cleanse(salt, sizeof salt);
    return rc;
}

cs_code cs_key_save_encrypted(const cs_key *key, const char *passphrase, const char *path,
                              int overwrite, cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!key || !path)
        return cs_err_set(err, CS_EINVAL, "key: nothing to save");
    rc = csi_key_encrypted_pem(key, passphrase, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_file_write(path, pem, len, 0600, overwrite, err);
    OPENSSL_secure_clear_free(pem, len);
    return rc;
}

static int write_pubkey(BIO *bio, const void *pkey)
{
    return PEM_write_bio_PUBKEY(bio, pkey);
}

cs_code cs_key_public_pem(const cs_key *key, char **out, size_t *len, cs_err *err)
{
    if (!key || !out || !len)
        return cs_err_set(err, CS_EINVAL, "key: no key");
    return csi_pem_encode(write_pubkey, key->pkey, "public key",
                         "key: encoding the public key", out, len, err);
}

const char *cs_key_type(const cs_key *key)
{
    if (!key || !key->pkey)
        return NULL;
    if (EVP_PKEY_is_a(key->pkey, "EC"))
        return "ec";
    if (EVP_PKEY_is_a(key->pkey, "ED25519"))
        return "ed25519";
    if (EVP_PKEY_is_a(key->pkey, "RSA"))
        return "rsa";
    return NULL;
}

const char *cs_key_curve(const cs_key *key)
{
    char group[64];

    if (!key || !key->pkey || !EVP_PKEY_is_a(key->pkey, "EC"))
        return NULL;
    if (EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof group, NULL) != 1) {
        ERR_clear_error();
        return NULL;
    }
    return curve_name(group);
}

int cs_key_bits(const cs_key *key)
{
    if (!key || !key->pkey)
        return 0;
    return EVP_PKEY_get_bits(key->pkey);
}

cs_code cs_key_fingerprint(const cs_key *key, char out[65], cs_err *err)
{
    unsigned char *der = NULL;
    unsigned char md[32];
    size_t mdlen = 0;
    int n;
    cs_code rc = CS_OK;

    if (!key || !out)
        return cs_err_set(err, CS_EINVAL, "key: no key");
    n = i2d_PUBKEY(key->pkey, &der);
    if (n <= 0) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "key: encoding the public key");
        goto done;
    }
    if (EVP_Q_digest(NULL, "SHA256", NULL, der, (size_t)n, md, &mdlen) != 1 ||
        mdlen != sizeof md) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "key: hashing the public key");
        goto done;
    }
    csi_hex_lower(md, sizeof md, out);
done:
    OPENSSL_free(der);
    return rc;
}

const char *csi_pkey_digest_name(const EVP_PKEY *pkey)
{
    char group[64];

    if (!pkey || EVP_PKEY_is_a(pkey, "ED25519"))
        return NULL; /* Ed25519 hashes internally (RFC 8032) */
    /* Match the hash to the key's strength (RFC 5480 4, CA/B BR 7.1.3.2). */
    if (EVP_PKEY_is_a(pkey, "EC")) {
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, NULL) != 1) {
            ERR_clear_error();
            return "SHA256";
        }
        if (curve_name(group) && strcmp(curve_name(group), "P-384") == 0)
            return "SHA384";
    }
    return "SHA256";
}

const char *cs_key_digest_name(const cs_key *key)
{
    return key ? csi_pkey_digest_name(key->pkey) : NULL;
}

EVP_PKEY *cs_key_get0_pkey(const cs_key *key)
{
    return key ? key->pkey : NULL;
}
