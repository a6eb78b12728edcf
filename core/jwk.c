/* JWKs (RFC 7517, 7518 6.2 and 6.3) to and from public keys, the canonical
 * text and the RFC 7638 thumbprint. The API is in jws.h. */
#include "jws.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "b64url.h"
#include "internal.h"

/* RSA moduli we take: 2048 to 4096 bits (cs_key's limits); checked on the
 * encoded length first, so a megabyte "n" is refused before any bignum
 * work. */
#define RSA_N_MAX_BYTES 512
/* OpenSSL refuses exponents over 64 bits for large moduli anyway. */
#define RSA_E_MAX_BYTES 8

static cs_code fail(cs_jws_fault *fault, cs_jws_fault f, cs_code rc)
{
    if (fault)
        *fault = f;
    return rc;
}

/* The curves JWS uses (RFC 7518 6.2.1.1) and OpenSSL's names for them. */
static const struct curve {
    const char *jwk;
    const char *group;
    size_t size; /* bytes of a coordinate */
} curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
};

static const struct curve *curve_by_jwk(const char *crv)
{
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (strcmp(crv, curves[i].jwk) == 0)
            return &curves[i];
    return NULL;
}

static const struct curve *curve_of(const EVP_PKEY *pkey)
{
    char group[64];
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1) {
        ERR_clear_error();
        return NULL;
    }
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (strcmp(group, curves[i].group) == 0 || strcmp(group, curves[i].jwk) == 0)
            return &curves[i];
    return NULL;
}

/* A member that must be a string; CS_JWS_MALFORMED when absent or not. */
static cs_code member_string(const json_t *jwk, const char *name, const char **out,
                             cs_jws_fault *fault, cs_err *err)
{
    const json_t *v = json_object_get(jwk, name);
    if (!v)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "jwk: member \"%s\" is missing", name));
    if (!json_is_string(v))
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "jwk: member \"%s\" is not a string", name));
    *out = json_string_value(v);
    return CS_OK;
}

/* A base64url member, decoded; the length is the string's (no NUL inside,
 * jansson refuses "\u0000" in what it parsed). */
static cs_code member_bytes(const json_t *jwk, const char *name, unsigned char **out,
                            size_t *len, cs_jws_fault *fault, cs_err *err)
{
    const char *s;
    cs_code rc = member_string(jwk, name, &s, fault, err);
    if (rc != CS_OK)
        return rc;
    char what[32];
    snprintf(what, sizeof what, "jwk \"%s\"", name);
    rc = cs_b64url_decode(s, json_string_length(json_object_get(jwk, name)), what, out, len, err);
    if (rc != CS_OK)
        return fail(fault, rc == CS_ENOMEM ? CS_JWS_INTERNAL : CS_JWS_MALFORMED, rc);
    return CS_OK;
}

/* Build a public key from OSSL_PARAMs; failures are the key's fault (a
 * point off the curve, a modulus OpenSSL will not take). check: run
 * OpenSSL's quick public-key check (EC: the point is on the curve and not
 * infinity; on P-256 and P-384, whose cofactor is 1, that makes it of the
 * group's order, so the full check's scalar multiplication, which cost as
 * much as the signature check itself, proves nothing more). Not for RSA: OpenSSL's RSA check (SP 800-56B)
 * runs Miller-Rabin with random bases to see whether n is a prime power,
 * so some moduli pass one time and fail the next (fuzz_jws found one): an
 * account key accepted today could then fail to load from the database
 * tomorrow. RSA gets rsa_check's fixed tests instead. */
static cs_code pkey_fromdata(const char *type, const OSSL_PARAM *params, int check_it,
                             EVP_PKEY **out, cs_jws_fault *fault, cs_err *err)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *pkey = NULL;
    cs_code rc = CS_OK;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_ossl(err, CS_ECRYPTO, "jwk: %s set-up", type));
        goto done;
    }
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1) {
        rc = fail(fault, CS_JWS_BAD_KEY,
                  cs_err_ossl(err, CS_EUNSUPPORTED, "jwk: not a valid %s public key", type));
        goto done;
    }
    if (check_it) {
        check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!check || EVP_PKEY_public_check_quick(check) != 1) {
            rc = fail(fault, CS_JWS_BAD_KEY,
                      cs_err_ossl(err, CS_EUNSUPPORTED, "jwk: not a valid %s public key", type));
            goto done;
        }
    }
    *out = pkey;
    pkey = NULL;
done:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* The odd primes below 752: a modulus divisible by one is not an RSA
 * modulus anyone generated (Boulder's goodkey tests the same). */
static const unsigned short small_primes[] = {
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
    97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181,
    191, 193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281,
    283, 293, 307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397,
    401, 409, 419, 421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503,
    509, 521, 523, 541, 547, 557, 563, 569, 571, 577, 587, 593, 599, 601, 607, 613, 617, 619,
    631, 641, 643, 647, 653, 659, 661, 673, 677, 683, 691, 701, 709, 719, 727, 733, 739, 743,
    751,
};

/* Deterministic checks of an RSA public key (see pkey_fromdata for why not
 * OpenSSL's): n odd, e odd and at least 3, no prime factor below 752. */
static cs_code rsa_check(const BIGNUM *n, const BIGNUM *e, cs_jws_fault *fault, cs_err *err)
{
    if (!BN_is_odd(n))
        return fail(fault, CS_JWS_BAD_KEY,
                    cs_err_set(err, CS_EUNSUPPORTED, "jwk: RSA modulus n is even"));
    if (!BN_is_odd(e) || BN_is_one(e))
        return fail(fault, CS_JWS_BAD_KEY,
                    cs_err_set(err, CS_EUNSUPPORTED,
                               "jwk: RSA exponent e must be odd and at least 3"));
    for (size_t i = 0; i < sizeof small_primes / sizeof small_primes[0]; i++) {
        BN_ULONG r = BN_mod_word(n, small_primes[i]);
        if (r == (BN_ULONG)-1)
            return fail(fault, CS_JWS_INTERNAL, cs_err_ossl(err, CS_ECRYPTO, "jwk: RSA check"));
        if (r == 0)
            return fail(fault, CS_JWS_BAD_KEY,
                        cs_err_set(err, CS_EUNSUPPORTED,
                                   "jwk: RSA modulus n has the small factor %u",
                                   (unsigned)small_primes[i]));
    }
    return CS_OK;
}

static cs_code ec_from_jwk(const json_t *jwk, EVP_PKEY **out, cs_jws_fault *fault, cs_err *err)
{
    const char *crv;
    unsigned char *x = NULL, *y = NULL, *point = NULL;
    size_t xlen = 0, ylen = 0;
    cs_code rc = member_string(jwk, "crv", &crv, fault, err);
    if (rc != CS_OK)
        return rc;
    const struct curve *c = curve_by_jwk(crv);
    if (!c)
        return fail(fault, CS_JWS_BAD_KEY,
                    cs_err_set(err, CS_EUNSUPPORTED,
                               "jwk: unsupported curve \"%.40s\" (use P-256 or P-384)", crv));
    rc = member_bytes(jwk, "x", &x, &xlen, fault, err);
    if (rc == CS_OK)
        rc = member_bytes(jwk, "y", &y, &ylen, fault, err);
    if (rc != CS_OK)
        goto done;
    /* RFC 7518 6.2.1.2: the full coordinate size, leading zeros kept. */
    if (xlen != c->size || ylen != c->size) {
        rc = fail(fault, CS_JWS_BAD_KEY,
                  cs_err_set(err, CS_EUNSUPPORTED,
                             "jwk: %s coordinates must be %zu bytes each (x has %zu, y %zu)",
                             c->jwk, c->size, xlen, ylen));
        goto done;
    }
    point = malloc(1 + 2 * c->size);
    if (!point) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_set(err, CS_ENOMEM, "jwk: out of memory"));
        goto done;
    }
    point[0] = 0x04; /* SEC 1 2.3.3: uncompressed */
    memcpy(point + 1, x, c->size);
    memcpy(point + 1 + c->size, y, c->size);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * c->size),
        OSSL_PARAM_construct_end(),
    };
    rc = pkey_fromdata("EC", params, 1, out, fault, err);
done:
    free(point);
    free(y);
    free(x);
    return rc;
}

/* RFC 7518 2, Base64urlUInt: the minimum number of octets, so one number
 * has one spelling (and one thumbprint). */
static cs_code check_uint(const char *name, const unsigned char *b, size_t len, size_t max,
                          cs_jws_fault *fault, cs_err *err)
{
    if (len == 0)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "jwk: \"%s\" is empty", name));
    if (b[0] == 0)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL,
                               "jwk: \"%s\" has a leading zero octet (RFC 7518 2: minimal form)",
                               name));
    if (len > max)
        return fail(fault, CS_JWS_BAD_KEY,
                    cs_err_set(err, CS_EUNSUPPORTED, "jwk: \"%s\" is %zu bytes, at most %zu",
                               name, len, max));
    return CS_OK;
}

static cs_code rsa_from_jwk(const json_t *jwk, EVP_PKEY **out, cs_jws_fault *fault, cs_err *err)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    cs_code rc = member_bytes(jwk, "n", &n, &nlen, fault, err);

    if (rc == CS_OK)
        rc = member_bytes(jwk, "e", &e, &elen, fault, err);
    if (rc == CS_OK)
        rc = check_uint("n", n, nlen, RSA_N_MAX_BYTES, fault, err);
    if (rc == CS_OK)
        rc = check_uint("e", e, elen, RSA_E_MAX_BYTES, fault, err);
    if (rc != CS_OK)
        goto done;
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    if (!bn_n || !bn_e) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_ossl(err, CS_ECRYPTO, "jwk: RSA parameters"));
        goto done;
    }
    rc = rsa_check(bn_n, bn_e, fault, err);
    if (rc != CS_OK)
        goto done;
    bld = OSSL_PARAM_BLD_new();
    if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
        !(params = OSSL_PARAM_BLD_to_param(bld))) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_ossl(err, CS_ECRYPTO, "jwk: RSA parameters"));
        goto done;
    }
    rc = pkey_fromdata("RSA", params, 0, out, fault, err);
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_e);
    BN_free(bn_n);
    free(e);
    free(n);
    return rc;
}

/* Members only a private or symmetric key has (RFC 7518 6.2.2, 6.3.2, 6.4). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

cs_code csi_jwk_from_object(const struct json_t *jwk, cs_key **out, cs_jws_fault *fault,
                            cs_err *err)
{
    const char *kty;
    EVP_PKEY *pkey = NULL;
    cs_code rc;

    if (!json_is_object(jwk))
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "jwk: not a JSON object"));
    for (size_t i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
        if (json_object_get(jwk, private_members[i]))
            return fail(fault, CS_JWS_BAD_KEY,
                        cs_err_set(err, CS_EUNSUPPORTED,
                                   "jwk: holds private key material (\"%s\"): send the public "
                                   "key only", private_members[i]));
    rc = member_string(jwk, "kty", &kty, fault, err);
    if (rc != CS_OK)
        return rc;
    if (strcmp(kty, "EC") == 0)
        rc = ec_from_jwk(jwk, &pkey, fault, err);
    else if (strcmp(kty, "RSA") == 0)
        rc = rsa_from_jwk(jwk, &pkey, fault, err);
    else
        return fail(fault, CS_JWS_BAD_KEY,
                    cs_err_set(err, CS_EUNSUPPORTED,
                               "jwk: unsupported kty \"%.40s\" (use EC or RSA)", kty));
    if (rc != CS_OK)
        return rc;
    rc = csi_key_from_public(pkey, "jwk", out, err);
    if (rc != CS_OK)
        (void)fail(fault, rc == CS_ENOMEM ? CS_JWS_INTERNAL : CS_JWS_BAD_KEY, rc);
    EVP_PKEY_free(pkey);
    return rc;
}

cs_code cs_jwk_from_json(const char *json, size_t len, cs_key **out, cs_jws_fault *fault,
                         cs_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "jwk: not JSON: %s (at byte %d)", jerr.text,
                               jerr.position));
    cs_code rc = csi_jwk_from_object(root, out, fault, err);
    json_decref(root);
    return rc;
}

/* A bignum parameter as base64url of its minimal big-endian bytes, or of
 * exactly pad bytes when pad > 0. */
static json_t *bn_param_b64(const EVP_PKEY *pkey, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char *buf = NULL;
    char *s = NULL;
    json_t *v = NULL;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
        goto done;
    int len = pad > 0 ? pad : BN_num_bytes(bn);
    if (len <= 0 || BN_num_bytes(bn) > len)
        goto done;
    buf = malloc((size_t)len);
    s = malloc(CS_B64URL_LEN((size_t)len) + 1);
    if (!buf || !s || BN_bn2binpad(bn, buf, len) != len)
        goto done;
    cs_b64url_encode_buf(buf, (size_t)len, s);
    v = json_string(s);
done:
    free(s);
    free(buf);
    BN_free(bn);
    return v;
}

cs_code cs_jwk_to_json(const cs_key *key, char **out, cs_err *err)
{
    const EVP_PKEY *pkey = key ? cs_key_get0_pkey(key) : NULL;
    json_t *obj = NULL;
    char *text = NULL;
    cs_code rc = CS_OK;

    if (!pkey)
        return cs_err_set(err, CS_EINVAL, "jwk: no key");
    if (EVP_PKEY_is_a(pkey, "EC")) {
        const struct curve *c = curve_of(pkey);
        if (!c)
            return cs_err_set(err, CS_EUNSUPPORTED, "jwk: EC key on a curve JWS has no name for");
        obj = json_pack("{s:s, s:s, s:o*, s:o*}", "crv", c->jwk, "kty", "EC", "x",
                        bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, (int)c->size), "y",
                        bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, (int)c->size));
        if (obj && json_object_size(obj) != 4) {
            json_decref(obj);
            obj = NULL;
        }
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        obj = json_pack("{s:o*, s:s, s:o*}", "e", bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0),
                        "kty", "RSA", "n", bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0));
        if (obj && json_object_size(obj) != 3) {
            json_decref(obj);
            obj = NULL;
        }
    } else {
        return cs_err_set(err, CS_EUNSUPPORTED, "jwk: a %s key has no JWK here (use EC or RSA)",
                          cs_key_type(key));
    }
    if (!obj) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "jwk: cannot read the public key's parameters");
        goto done;
    }
    /* RFC 7638 3.3: lexicographic member order, no white space. */
    text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        rc = cs_err_set(err, CS_ENOMEM, "jwk: out of memory");
        goto done;
    }
    *out = text;
done:
    json_decref(obj);
    return rc;
}

cs_code cs_jwk_thumbprint(const cs_key *key, char out[CS_JWK_THUMBPRINT_LEN + 1], cs_err *err)
{
    char *json = NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;
    cs_code rc = cs_jwk_to_json(key, &json, err);

    if (rc != CS_OK)
        return rc;
    if (EVP_Digest(json, strlen(json), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        rc = cs_err_ossl(err, CS_ECRYPTO, "jwk: SHA-256");
    else
        cs_b64url_encode_buf(md, sizeof md, out);
    free(json);
    return rc;
}
