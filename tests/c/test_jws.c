/* core/b64url.c, core/jwk.c and core/jws.c: strict base64url; JWS, JWKs,
 * thumbprints, EAB and JWTs made by josepy/python3-acme (what certbot signs
 * with, tests/c/jws_vectors.py) from keys OpenSSL made here; RFC vectors;
 * and every kind of bad input, each refused with the fault that picks the
 * ACME problem type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "fixtures.h"
#include "jws.h"

/* b64url */

static void check_encode(const char *in, const char *want)
{
    char buf[64];
    size_t n = cs_b64url_encode_buf((const unsigned char *)in, strlen(in), buf);
    CHECK(n == strlen(want) && strcmp(buf, want) == 0);
    CHECK(CS_B64URL_LEN(strlen(in)) == strlen(want));
    unsigned char *dec = NULL;
    size_t len = 0;
    cs_err err = {0};
    CHECK_OK(cs_b64url_decode(want, strlen(want), "t", &dec, &len, &err), &err);
    CHECK(dec && len == strlen(in) && memcmp(dec, in, len) == 0 && dec[len] == '\0');
    free(dec);
}

static void check_decode_fails(const char *in, size_t len, const char *text)
{
    unsigned char *dec = (unsigned char *)"untouched";
    size_t n = 7;
    cs_err err = {0};
    CHECK_FAIL(cs_b64url_decode(in, len, "sig", &dec, &n, &err), CS_EINVAL, &err, text);
    CHECK(strcmp((const char *)dec, "untouched") == 0 && n == 7);
}

static void test_b64url(void)
{
    /* RFC 4648 10, without the padding */
    check_encode("", "");
    check_encode("f", "Zg");
    check_encode("fo", "Zm8");
    check_encode("foo", "Zm9v");
    check_encode("foob", "Zm9vYg");
    check_encode("fooba", "Zm9vYmE");
    check_encode("foobar", "Zm9vYmFy");
    /* the URL-safe letters: 0xfb 0xff is "+/8" in standard base64 */
    check_encode("\xfb\xff", "-_8");

    char *s = NULL;
    cs_err err = {0};
    CHECK_OK(cs_b64url_encode((const unsigned char *)"\x00\x01", 2, &s, &err), &err);
    CHECK(s && strcmp(s, "AAE") == 0);
    free(s);

    check_decode_fails("Zg==", 4, "must not be padded ('=' at offset 2)");
    check_decode_fails("Zm8=", 4, "'=' at offset 3");
    check_decode_fails("Zm+v", 4, "'+' at offset 2 is not a base64url character");
    check_decode_fails("Zm/v", 4, "'/' at offset 2");
    check_decode_fails("Zm9v\n", 5, "byte 0x0a at offset 4");
    check_decode_fails("Zm 9v", 5, "byte 0x20 at offset 2");
    check_decode_fails("Zm\0v", 4, "byte 0x00 at offset 2");
    check_decode_fails("Zm9vY", 5, "length 5 is impossible");
    /* "Zh": 'h' leaves 0001 in the unused bits: same byte as "Zg", refused */
    check_decode_fails("Zh", 2, "non-zero trailing bits");
    check_decode_fails("Zm9", 3, "non-zero trailing bits");
    check_decode_fails("\xc3\xa9", 2, "byte 0xc3 at offset 0");
}

/* Signing here, for headers josepy will not write (both jwk and kid, a
 * wrong alg, a 1024-bit key): the same JWS format, made by our own hand. */

static char *b64(const void *p, size_t n)
{
    char *s = malloc(CS_B64URL_LEN(n) + 1);
    cs_b64url_encode_buf(p, n, s);
    return s;
}

/* DER ECDSA-Sig-Value to JWS's r || s of size bytes each. */
static size_t der_to_raw(const unsigned char *der, size_t len, size_t size, unsigned char *raw)
{
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)len);
    if (!sig)
        return 0;
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, (int)size);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + size, (int)size);
    ECDSA_SIG_free(sig);
    return 2 * size;
}

/* A flattened JWS over header (JSON text) and payload; ec_size 0 for RSA. */
static char *sign_jws(EVP_PKEY *pkey, const char *digest, size_t ec_size, const char *header,
                      const char *payload)
{
    char *p64 = b64(header, strlen(header));
    char *pl64 = b64(payload, strlen(payload));
    size_t inlen = strlen(p64) + 1 + strlen(pl64);
    char *input = malloc(inlen + 1);
    snprintf(input, inlen + 1, "%s.%s", p64, pl64);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024], raw[128];
    size_t siglen = sizeof sig;
    if (EVP_DigestSignInit_ex(ctx, NULL, digest, NULL, NULL, pkey, NULL) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input, inlen) != 1)
        siglen = 0;
    EVP_MD_CTX_free(ctx);
    char *s64;
    if (ec_size) {
        size_t rawlen = der_to_raw(sig, siglen, ec_size, raw);
        s64 = b64(raw, rawlen);
    } else {
        s64 = b64(sig, siglen);
    }
    size_t n = strlen(p64) + strlen(pl64) + strlen(s64) + 64;
    char *out = malloc(n);
    snprintf(out, n, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, pl64,
             s64);
    free(s64);
    free(input);
    free(pl64);
    free(p64);
    return out;
}

/* The JWK of a key as our code writes it (checked against josepy below). */
static char *jwk_of(const cs_key *key)
{
    char *json = NULL;
    cs_err err = {0};
    CHECK_OK(cs_jwk_to_json(key, &json, &err), &err);
    return json;
}

/* Parse must fail with fault and a message containing text. */
static void check_parse_fails(const char *body, size_t len, cs_jws_fault want, const char *text)
{
    cs_jws *jws = (cs_jws *)"untouched";
    cs_jws_fault fault = 0;
    cs_err err = {0};
    cs_code rc = cs_jws_parse(body, len, &jws, &fault, &err);
    CHECK(rc != CS_OK);
    CHECK(jws == (cs_jws *)"untouched");
    if (fault != want || !strstr(err.msg, text))
        fprintf(stderr, "  parse: want fault %d \"%s\", got %d \"%s\"\n", want, text, fault,
                err.msg);
    CHECK(fault == want);
    CHECK(strstr(err.msg, text) != NULL);
}

static void check_parse_fails_s(const char *body, cs_jws_fault want, const char *text)
{
    check_parse_fails(body, strlen(body), want, text);
}

/* Vectors from josepy */

struct vector {
    char *name;
    char *value;
};
static struct vector vectors[64];
static size_t nvectors;

static const char *vec(const char *name)
{
    for (size_t i = 0; i < nvectors; i++)
        if (strcmp(vectors[i].name, name) == 0)
            return vectors[i].value;
    fprintf(stderr, "no vector %s\n", name);
    check_failed++;
    return "";
}

static int load_vectors(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s/tests/c/jws_vectors.py %s", CS_PYTHON3, CS_SOURCE_DIR,
             fx_dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, p)) > 0 && nvectors < 64) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        vectors[nvectors].name = strdup(line);
        vectors[nvectors].value = strdup(tab + 1);
        nvectors++;
    }
    free(line);
    int status = pclose(p);
    if (status != 0)
        fprintf(stderr, "%s failed (status %d): is python3-acme installed?\n", cmd, status);
    return status == 0 && nvectors > 0;
}

static cs_key *keys[3];
static const char *const key_names[3] = {"ec256", "ec384", "rsa2048"};
static const char *const key_algs[3] = {"ES256", "ES384", "RS256"};

static void test_josepy_jws(void)
{
    char name[64];
    for (int i = 0; i < 3; i++) {
        cs_err err = {0};
        cs_jws_fault fault = 0;
        cs_jws *jws = NULL;
        const char *text;
        size_t len = 99;

        /* newAccount: jwk in the header */
        snprintf(name, sizeof name, "%s_jwk", key_names[i]);
        text = vec(name);
        CHECK_OK(cs_jws_parse(text, strlen(text), &jws, &fault, &err), &err);
        if (!jws)
            continue;
        CHECK(strcmp(cs_jws_alg(jws), key_algs[i]) == 0);
        CHECK(cs_jws_url(jws) && strcmp(cs_jws_url(jws),
                                        "https://127.0.0.1:8443/acme/new-account") == 0);
        /* josepy base64url-encodes the nonce bytes it is given */
        CHECK(cs_jws_nonce(jws) && strcmp(cs_jws_nonce(jws), "bm9uY2UtYnl0ZXMtMDEyMw") == 0);
        CHECK(cs_jws_kid(jws) == NULL);
        CHECK(cs_jws_jwk(jws) != NULL);
        const unsigned char *payload = cs_jws_payload(jws, &len);
        CHECK(strstr((const char *)payload, "\"termsOfServiceAgreed\": true") != NULL);
        CHECK(len == strlen((const char *)payload));
        CHECK_OK(cs_jws_verify(jws, cs_jws_jwk(jws), &fault, &err), &err);
        CHECK_OK(cs_jws_verify(jws, keys[i], &fault, &err), &err);
        /* the header's key is the one OpenSSL made */
        CHECK(EVP_PKEY_eq(cs_key_get0_pkey(cs_jws_jwk(jws)), cs_key_get0_pkey(keys[i])) == 1);
        /* another key of the same kind: a bad signature, not a bad alg */
        cs_key *other = i == 2 ? fx_key("rsa", NULL) : fx_key("ec", i ? "P-384" : "P-256");
        fault = 0;
        CHECK_FAIL(cs_jws_verify(jws, other, &fault, &err), CS_EVERIFY, &err,
                   "signature does not verify");
        CHECK(fault == CS_JWS_BAD_SIGNATURE);
        CHECK(strcmp(cs_jws_fault_problem(fault), "malformed") == 0);
        cs_key_free(other);
        /* a key of another kind: the alg does not fit */
        fault = 0;
        CHECK_FAIL(cs_jws_verify(jws, keys[(i + 1) % 3], &fault, &err), CS_EUNSUPPORTED, &err,
                   "does not fit the key");
        CHECK(fault == CS_JWS_BAD_ALG);
        CHECK(strcmp(cs_jws_fault_problem(fault), "badSignatureAlgorithm") == 0);
        cs_jws_free(jws);
        jws = NULL;

        /* later requests: kid, POST-as-GET */
        snprintf(name, sizeof name, "%s_kid_empty", key_names[i]);
        text = vec(name);
        CHECK_OK(cs_jws_parse(text, strlen(text), &jws, &fault, &err), &err);
        if (!jws)
            continue;
        CHECK(cs_jws_jwk(jws) == NULL);
        CHECK(cs_jws_kid(jws) && strcmp(cs_jws_kid(jws),
                                        "https://127.0.0.1:8443/acme/acct/1") == 0);
        payload = cs_jws_payload(jws, &len);
        CHECK(len == 0 && payload && payload[0] == '\0');
        CHECK_OK(cs_jws_verify(jws, keys[i], &fault, &err), &err);
        cs_jws_free(jws);
    }
}

static void test_josepy_jwk(void)
{
    char name[64];
    for (int i = 0; i < 3; i++) {
        cs_err err = {0};
        cs_jws_fault fault = 0;
        char tp[CS_JWK_THUMBPRINT_LEN + 1];

        /* RFC 7638 thumbprint of the OpenSSL key equals josepy's */
        CHECK_OK(cs_jwk_thumbprint(keys[i], tp, &err), &err);
        snprintf(name, sizeof name, "%s_thumbprint", key_names[i]);
        CHECK(strcmp(tp, vec(name)) == 0);
        CHECK(strlen(tp) == CS_JWK_THUMBPRINT_LEN);

        /* josepy's JWK (members in its own order) to a key and back to
         * the canonical text, which is sorted and compact */
        snprintf(name, sizeof name, "%s_public_jwk", key_names[i]);
        const char *text = vec(name);
        cs_key *k = NULL;
        CHECK_OK(cs_jwk_from_json(text, strlen(text), &k, &fault, &err), &err);
        if (!k)
            continue;
        CHECK(EVP_PKEY_eq(cs_key_get0_pkey(k), cs_key_get0_pkey(keys[i])) == 1);
        CHECK(!cs_key_is_private(k));
        char *canon = jwk_of(k);
        char *mine = jwk_of(keys[i]);
        CHECK(canon && mine && strcmp(canon, mine) == 0);
        CHECK(canon && !strchr(canon, ' '));
        const char *start = i == 2 ? "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" : "{\"crv\":\"P-";
        CHECK(canon && strncmp(canon, start, strlen(start)) == 0);
        /* the canonical text reads back to the same key */
        cs_key *again = NULL;
        if (canon) {
            CHECK_OK(cs_jwk_from_json(canon, strlen(canon), &again, &fault, &err), &err);
            CHECK(again && EVP_PKEY_eq(cs_key_get0_pkey(again), cs_key_get0_pkey(k)) == 1);
        }
        cs_key_free(again);
        free(mine);
        free(canon);
        cs_key_free(k);
    }
}

/* RFC 7638 3.1's example key and thumbprint. */
static void test_rfc7638(void)
{
    static const char jwk[] =
        "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT"
        "86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt"
        "7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n"
        "91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur"
        "-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
    cs_key *k = NULL;
    cs_err err = {0};
    cs_jws_fault fault = 0;
    char tp[CS_JWK_THUMBPRINT_LEN + 1];

    CHECK_OK(cs_jwk_from_json(jwk, strlen(jwk), &k, &fault, &err), &err);
    if (!k)
        return;
    CHECK(cs_key_bits(k) == 2048);
    CHECK_OK(cs_jwk_thumbprint(k, tp, &err), &err);
    CHECK(strcmp(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == 0);
    cs_key_free(k);
}

/* RFC 7515 A.3: the ES256 example, as a flattened JWS. */
static void test_rfc7515_es256(void)
{
    static const char jwk[] =
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
    static const char body[] =
        "{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEz"
        "MDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\",\"signature\":\"DtEhU3"
        "ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q\"}";
    cs_key *k = NULL;
    cs_jws *jws = NULL;
    cs_err err = {0};
    cs_jws_fault fault = 0;

    CHECK_OK(cs_jwk_from_json(jwk, strlen(jwk), &k, &fault, &err), &err);
    CHECK_OK(cs_jws_parse(body, strlen(body), &jws, &fault, &err), &err);
    if (k && jws) {
        CHECK_OK(cs_jws_verify(jws, k, &fault, &err), &err);
        size_t len;
        const unsigned char *p = cs_jws_payload(jws, &len);
        CHECK(len == 70 && memcmp(p, "{\"iss\":\"joe\",\r\n \"exp\":1300819380", 32) == 0);
        CHECK(!cs_jws_nonce(jws) && !cs_jws_url(jws) && !cs_jws_kid(jws) && !cs_jws_jwk(jws));
    }
    cs_jws_free(jws);
    cs_key_free(k);
}

static void test_eab(void)
{
    static const char url[] = "https://127.0.0.1:8443/acme/new-account";
    static const char hmac_b64[] = "c2VjcmV0LWhtYWMta2V5LTEyMzQ1Njc4OTAxMjM0NTY";
    const char *text = vec("eab_ec256");
    unsigned char *hmac = NULL;
    size_t hmac_len = 0;
    cs_jws *eab = NULL;
    cs_err err = {0};
    cs_jws_fault fault = 0;

    CHECK_OK(cs_b64url_decode(hmac_b64, strlen(hmac_b64), "hmac", &hmac, &hmac_len, &err), &err);
    CHECK_OK(cs_jws_parse(text, strlen(text), &eab, &fault, &err), &err);
    if (!eab || !hmac)
        goto done;
    CHECK(strcmp(cs_jws_alg(eab), "HS256") == 0);
    CHECK(cs_jws_kid(eab) && strcmp(cs_jws_kid(eab), "kid-1") == 0);
    CHECK_OK(cs_jws_verify_eab(eab, url, keys[0], hmac, hmac_len, &fault, &err), &err);
    /* a wrong MAC key */
    fault = 0;
    CHECK_FAIL(cs_jws_verify_eab(eab, url, keys[0], (const unsigned char *)"other", 5, &fault,
                                 &err), CS_EVERIFY, &err, "MAC does not verify");
    CHECK(fault == CS_JWS_BAD_SIGNATURE);
    /* bound to another account key */
    fault = 0;
    CHECK_FAIL(cs_jws_verify_eab(eab, url, keys[1], hmac, hmac_len, &fault, &err), CS_EINVAL,
               &err, "not the account's key");
    CHECK(fault == CS_JWS_MALFORMED);
    /* for another URL */
    CHECK_FAIL(cs_jws_verify_eab(eab, "https://other/acme/new-account", keys[0], hmac, hmac_len,
                                 &fault, &err), CS_EINVAL, &err, "\"url\" must be");
    /* an account JWS can't pass as HS256, nor an EAB as an account JWS */
    fault = 0;
    CHECK_FAIL(cs_jws_verify(eab, keys[0], &fault, &err), CS_EUNSUPPORTED, &err,
               "HS256 is for external account binding only");
    CHECK(fault == CS_JWS_BAD_ALG);
    cs_jws *acct = NULL;
    text = vec("ec256_jwk");
    CHECK_OK(cs_jws_parse(text, strlen(text), &acct, &fault, &err), &err);
    if (acct) {
        CHECK_FAIL(cs_jws_verify_eab(acct, url, keys[0], hmac, hmac_len, &fault, &err),
                   CS_EUNSUPPORTED, &err, "alg must be HS256");
        CHECK(fault == CS_JWS_BAD_ALG);
    }
    cs_jws_free(acct);
    /* an EAB with a nonce: made here with the same MAC key */
    {
        char hdr[256];
        snprintf(hdr, sizeof hdr,
                 "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"nonce\":\"abc\",\"url\":\"%s\"}", url);
        char *jwk = jwk_of(keys[0]);
        char *p64 = b64(hdr, strlen(hdr)), *pl64 = b64(jwk, strlen(jwk));
        char input[2048], body[2048];
        snprintf(input, sizeof input, "%s.%s", p64, pl64);
        unsigned char mac[32];
        size_t maclen = 0;
        CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hmac, hmac_len,
                        (unsigned char *)input, strlen(input), mac, sizeof mac, &maclen) != NULL);
        char *s64 = b64(mac, maclen);
        snprintf(body, sizeof body,
                 "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, pl64,
                 s64);
        cs_jws *bad = NULL;
        CHECK_OK(cs_jws_parse(body, strlen(body), &bad, &fault, &err), &err);
        if (bad)
            CHECK_FAIL(cs_jws_verify_eab(bad, url, keys[0], hmac, hmac_len, &fault, &err),
                       CS_EINVAL, &err, "must not carry a \"nonce\"");
        cs_jws_free(bad);
        free(s64);
        free(pl64);
        free(p64);
        free(jwk);
    }
done:
    cs_jws_free(eab);
    free(hmac);
}

static void test_jwt(void)
{
    const char *token = vec("jwt_es256");
    cs_jwt *jwt = NULL;
    cs_err err = {0};

    CHECK_OK(cs_jwt_parse(token, strlen(token), &jwt, &err), &err);
    if (!jwt)
        return;
    CHECK(cs_jwt_kid(jwt) && strcmp(cs_jwt_kid(jwt), "robot-1") == 0);
    CHECK_OK(cs_jwt_verify(jwt, keys[0], &err), &err);
    size_t len;
    const char *claims = cs_jwt_claims(jwt, &len);
    CHECK(strcmp(claims, vec("jwt_es256_claims")) == 0 && len == strlen(claims));
    cs_key *other = fx_key("ec", "P-256");
    CHECK_FAIL(cs_jwt_verify(jwt, other, &err), CS_EVERIFY, &err, "does not verify");
    CHECK_FAIL(cs_jwt_verify(jwt, keys[1], &err), CS_EUNSUPPORTED, &err, "P-256");
    CHECK_FAIL(cs_jwt_verify(jwt, keys[2], &err), CS_EUNSUPPORTED, &err, "P-256");
    cs_key_free(other);
    cs_jwt_free(jwt);

    /* a truncated signature (63 of 64 bytes) parses (the length is the
     * verifier's) and fails */
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", token);
    buf[strlen(buf) - 2] = '\0';
    jwt = NULL;
    CHECK_OK(cs_jwt_parse(buf, strlen(buf), &jwt, &err), &err);
    if (jwt)
        CHECK_FAIL(cs_jwt_verify(jwt, keys[0], &err), CS_EVERIFY, &err, "does not verify");
    cs_jwt_free(jwt);

    jwt = (cs_jwt *)"untouched";
    CHECK_FAIL(cs_jwt_parse("abc.def", 7, &jwt, &err), CS_EINVAL, &err,
               "header.payload.signature");
    snprintf(buf, sizeof buf, "%s.x", token);
    CHECK_FAIL(cs_jwt_parse(buf, strlen(buf), &jwt, &err), CS_EINVAL, &err,
               "'.' at offset");
    /* {"alg":"RS256"} */
    CHECK_FAIL(cs_jwt_parse("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", 28, &jwt, &err), CS_EUNSUPPORTED,
               &err, "RS256");
    /* {"alg":"none"} */
    CHECK_FAIL(cs_jwt_parse("eyJhbGciOiJub25lIn0.e30.", 24, &jwt, &err), CS_EUNSUPPORTED, &err,
               "\"none\"");
    /* {"alg":"ES256","x5u":"http://a"}: the header is ours, strict */
    char *h = b64("{\"alg\":\"ES256\",\"x5u\":\"http://a\"}", 32);
    snprintf(buf, sizeof buf, "%s.e30.AAAA", h);
    CHECK_FAIL(cs_jwt_parse(buf, strlen(buf), &jwt, &err), CS_EINVAL, &err, "x5u");
    free(h);
    /* claims that are not an object, claims with duplicates */
    snprintf(buf, sizeof buf, "eyJhbGciOiJFUzI1NiJ9.%s.AAAA", "WzFd"); /* [1] */
    CHECK_FAIL(cs_jwt_parse(buf, strlen(buf), &jwt, &err), CS_EINVAL, &err, "not a JSON object");
    h = b64("{\"jti\":\"a\",\"jti\":\"b\"}", 21);
    snprintf(buf, sizeof buf, "eyJhbGciOiJFUzI1NiJ9.%s.AAAA", h);
    CHECK_FAIL(cs_jwt_parse(buf, strlen(buf), &jwt, &err), CS_EINVAL, &err, "duplicate");
    free(h);
    CHECK(jwt == (cs_jwt *)"untouched");
}

/* Bad JWS, each with the fault that picks its ACME problem type. */
static void test_bad_jws(void)
{
    EVP_PKEY *ec = cs_key_get0_pkey(keys[0]);
    char *jwk = jwk_of(keys[0]);
    char hdr[4096];
    char *body;
    cs_err err = {0};
    cs_jws_fault fault = 0;
    cs_jws *jws = NULL;

    /* good, from our signer: the baseline the variants below break */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"n\",\"url\":\"u\"}", jwk);
    body = sign_jws(ec, "SHA256", 32, hdr, "{}");
    CHECK_OK(cs_jws_parse(body, strlen(body), &jws, &fault, &err), &err);
    if (jws)
        CHECK_OK(cs_jws_verify(jws, cs_jws_jwk(jws), &fault, &err), &err);
    cs_jws_free(jws);
    jws = NULL;

    /* truncated signature: parses, then the length is wrong */
    {
        char *cut = strdup(body);
        char *end = strrchr(cut, '"');
        memmove(end - 2, end, strlen(end) + 1); /* 86 characters to 84: 63 bytes */
        CHECK_OK(cs_jws_parse(cut, strlen(cut), &jws, &fault, &err), &err);
        if (jws) {
            CHECK_FAIL(cs_jws_verify(jws, keys[0], &fault, &err), CS_EVERIFY, &err,
                       "63-byte signature");
            CHECK(fault == CS_JWS_BAD_SIGNATURE);
        }
        cs_jws_free(jws);
        jws = NULL;
        free(cut);
    }
    /* a flipped bit in the payload */
    {
        char *flip = strdup(body);
        char *pl = strstr(flip, "\"payload\":\"") + 11;
        *pl = *pl == 'e' ? 'f' : 'e';
        CHECK_OK(cs_jws_parse(flip, strlen(flip), &jws, &fault, &err), &err);
        if (jws)
            CHECK_FAIL(cs_jws_verify(jws, keys[0], &fault, &err), CS_EVERIFY, &err,
                       "does not verify");
        cs_jws_free(jws);
        jws = NULL;
        free(flip);
    }
    /* padding on the signature */
    {
        size_t n = strlen(body) + 8;
        char *pad = malloc(n);
        snprintf(pad, n, "%.*s==\"}", (int)(strlen(body) - 2), body);
        check_parse_fails_s(pad, CS_JWS_MALFORMED,
                            "JWS \"signature\": base64url must not be padded");
        free(pad);
    }
    free(body);

    /* not JSON, not an object, the wrong members */
    check_parse_fails_s("", CS_JWS_MALFORMED, "JWS: not JSON");
    check_parse_fails_s("garbage", CS_JWS_MALFORMED, "JWS: not JSON");
    check_parse_fails_s("[]", CS_JWS_MALFORMED, "not a JSON object");
    check_parse_fails_s("{\"protected\":\"e30\",\"payload\":\"\"}", CS_JWS_MALFORMED,
                        "want exactly \"protected\", \"payload\" and \"signature\"");
    check_parse_fails_s("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\",\"x\":1}",
                        CS_JWS_MALFORMED, "left unpacked");
    check_parse_fails_s("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":1}",
                        CS_JWS_MALFORMED, "want exactly");
    check_parse_fails_s("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\","
                        "\"header\":{}}", CS_JWS_MALFORMED, "unprotected \"header\"");
    check_parse_fails_s("{\"payload\":\"\",\"signatures\":[]}", CS_JWS_MALFORMED,
                        "general JSON form");
    /* duplicate members, outside and in the protected header */
    check_parse_fails_s("{\"protected\":\"e30\",\"protected\":\"e30\",\"payload\":\"\","
                        "\"signature\":\"\"}", CS_JWS_MALFORMED, "duplicate object key");
    /* {"alg":"ES256","alg":"none"} */
    check_parse_fails_s("{\"protected\":\"eyJhbGciOiJFUzI1NiIsImFsZyI6Im5vbmUifQ\",\"payload\":"
                        "\"\",\"signature\":\"\"}", CS_JWS_MALFORMED, "duplicate object key");
    /* \u0000 in a string, outside and in the header ({"alg":"ES256","url":"a\u0000b"}) */
    check_parse_fails_s("{\"protected\":\"e\\u00000\",\"payload\":\"\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "\\u0000 is not allowed");
    {
        const char *h = "{\"alg\":\"ES256\",\"url\":\"a\\u0000b\"}";
        char *p64 = b64(h, strlen(h));
        char buf[256];
        snprintf(buf, sizeof buf, "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"\"}",
                 p64);
        check_parse_fails_s(buf, CS_JWS_MALFORMED, "JWS protected header: not JSON");
        free(p64);
    }
    /* bad UTF-8 (a lone continuation byte, an overlong '/') */
    check_parse_fails_s("{\"protected\":\"\x80\",\"payload\":\"\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "unable to decode byte 0x80");
    check_parse_fails_s("{\"protected\":\"\xc0\xaf\",\"payload\":\"\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "unable to decode byte 0xc0");
    /* embedded NUL byte in the body */
    check_parse_fails("{\"protected\":\"e30\"\0}", 20, CS_JWS_MALFORMED, "JWS: not JSON");
    /* huge numbers: jansson refuses an integer that does not fit */
    check_parse_fails_s("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\",\"n\":"
                        "123456789012345678901234567890}", CS_JWS_MALFORMED, "too big");
    /* trailing bits: "e30" is {}, "e31" the same byte with a 1 left over */
    check_parse_fails_s("{\"protected\":\"e31\",\"payload\":\"\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "non-zero trailing bits");
    check_parse_fails_s("{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "must not be padded");
    check_parse_fails_s("{\"protected\":\"e30\",\"payload\":\"e3+\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "JWS \"payload\": '+'");
    check_parse_fails_s("{\"protected\":\"\",\"payload\":\"\",\"signature\":\"\"}",
                        CS_JWS_MALFORMED, "\"protected\" is empty");

    /* header contents */
    struct {
        const char *header;
        cs_jws_fault fault;
        const char *text;
    } headers[] = {
        {"[]", CS_JWS_MALFORMED, "protected header: not a JSON object"},
        {"{}", CS_JWS_MALFORMED, "\"alg\" is missing"},
        {"{\"alg\":256}", CS_JWS_MALFORMED, "\"alg\" is not a string"},
        {"{\"alg\":\"none\"}", CS_JWS_BAD_ALG, "alg \"none\" is not supported"},
        {"{\"alg\":\"RS1\"}", CS_JWS_BAD_ALG, "alg \"RS1\""},
        {"{\"alg\":\"EdDSA\"}", CS_JWS_BAD_ALG, "alg \"EdDSA\""},
        {"{\"alg\":\"ES256\",\"nonce\":1}", CS_JWS_MALFORMED, "\"nonce\" is not a string"},
        {"{\"alg\":\"ES256\",\"url\":null}", CS_JWS_MALFORMED, "\"url\" is not a string"},
        {"{\"alg\":\"ES256\",\"kid\":[]}", CS_JWS_MALFORMED, "\"kid\" is not a string"},
        {"{\"alg\":\"ES256\",\"jwk\":\"x\"}", CS_JWS_MALFORMED, "\"jwk\" is not an object"},
        {"{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", CS_JWS_MALFORMED, "\"crit\""},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}", CS_JWS_BAD_KEY,
         "private key material (\"k\")"},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}}",
         CS_JWS_BAD_KEY, "unsupported kty \"OKP\""},
        {"{\"alg\":\"ES256\",\"jwk\":{\"crv\":\"P-256\"}}", CS_JWS_MALFORMED,
         "\"kty\" is missing"},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\","
         "\"y\":\"AA\"}}",
         CS_JWS_BAD_KEY, "unsupported curve \"P-521\""},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AA"
         "AA\"}}", CS_JWS_BAD_KEY, "must be 32 bytes each (x has 3"},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAA"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}",
         CS_JWS_BAD_KEY, "not a valid EC public key"},
        {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"AKBC\",\"e\":\"AQAB\"}}",
         CS_JWS_MALFORMED, "\"n\" has a leading zero octet"},
        {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}}",
         CS_JWS_MALFORMED, "\"n\" is empty"},
        {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"oQ\",\"e\":\"AQAB\",\"d\":\"AQ\"}}",
         CS_JWS_BAD_KEY, "private key material (\"d\")"},
        {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"oQ==\",\"e\":\"AQAB\"}}",
         CS_JWS_MALFORMED, "jwk \"n\": base64url must not be padded"},
        {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"oQ\",\"e\":65537}}",
         CS_JWS_MALFORMED, "\"e\" is not a string"},
        {"{\"alg\":\"ES256\",\"x\":1e999999}", CS_JWS_MALFORMED, "real number overflow"},
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *p64 = b64(headers[i].header, strlen(headers[i].header));
        char buf[1024];
        snprintf(buf, sizeof buf, "{\"protected\":\"%s\",\"payload\":\"\",\"signature\":\"\"}",
                 p64);
        check_parse_fails_s(buf, headers[i].fault, headers[i].text);
        free(p64);
    }

    /* both jwk and kid: parsed, both reported (the handler refuses) */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"jwk\":%s,\"kid\":\"k\",\"url\":\"u\"}", jwk);
    body = sign_jws(ec, "SHA256", 32, hdr, "");
    CHECK_OK(cs_jws_parse(body, strlen(body), &jws, &fault, &err), &err);
    CHECK(jws && cs_jws_jwk(jws) && cs_jws_kid(jws) && strcmp(cs_jws_kid(jws), "k") == 0);
    cs_jws_free(jws);
    jws = NULL;
    free(body);
    /* neither: parsed too */
    body = sign_jws(ec, "SHA256", 32, "{\"alg\":\"ES256\",\"typ\":\"ignored\"}", "");
    CHECK_OK(cs_jws_parse(body, strlen(body), &jws, &fault, &err), &err);
    CHECK(jws && !cs_jws_jwk(jws) && !cs_jws_kid(jws));
    if (jws)
        CHECK_OK(cs_jws_verify(jws, keys[0], &fault, &err), &err);
    cs_jws_free(jws);
    jws = NULL;
    free(body);

    /* wrong alg for the key: a P-256 key claiming ES384 (signed with SHA-384 even) */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES384\",\"jwk\":%s}", jwk);
    body = sign_jws(ec, "SHA384", 32, hdr, "{}");
    CHECK_OK(cs_jws_parse(body, strlen(body), &jws, &fault, &err), &err);
    if (jws) {
        fault = 0;
        CHECK_FAIL(cs_jws_verify(jws, cs_jws_jwk(jws), &fault, &err), CS_EUNSUPPORTED, &err,
                   "alg ES384 does not fit the key (this P-256 key signs ES256)");
        CHECK(fault == CS_JWS_BAD_ALG);
    }
    cs_jws_free(jws);
    jws = NULL;
    free(body);
    /* RS256 claimed for an EC key */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"RS256\",\"jwk\":%s}", jwk);
    body = sign_jws(ec, "SHA256", 32, hdr, "{}");
    CHECK_OK(cs_jws_parse(body, strlen(body), &jws, &fault, &err), &err);
    if (jws)
        CHECK_FAIL(cs_jws_verify(jws, cs_jws_jwk(jws), &fault, &err), CS_EUNSUPPORTED, &err,
                   "does not fit the key");
    cs_jws_free(jws);
    jws = NULL;
    free(body);
    free(jwk);

    /* RSA 1024 (made directly: cs_key refuses to generate it), and a
     * modulus of 600 bytes: both badPublicKey */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    CHECK(small != NULL);
    if (small) {
        BIGNUM *n = NULL;
        CHECK(EVP_PKEY_get_bn_param(small, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
        unsigned char nb[128];
        BN_bn2bin(n, nb);
        char *n64 = b64(nb, (size_t)BN_num_bytes(n));
        snprintf(hdr, sizeof hdr, "{\"alg\":\"RS256\",\"jwk\":{\"e\":\"AQAB\",\"kty\":\"RSA\","
                 "\"n\":\"%s\"}}", n64);
        body = sign_jws(small, "SHA256", 0, hdr, "{}");
        fault = 0;
        check_parse_fails_s(body, CS_JWS_BAD_KEY, "unsupported RSA key size 1024 bits");
        CHECK(strcmp(cs_jws_fault_problem(CS_JWS_BAD_KEY), "badPublicKey") == 0);
        free(body);
        free(n64);
        BN_free(n);
        EVP_PKEY_free(small);
    }
    {
        unsigned char big[600];
        memset(big, 0xab, sizeof big);
        char *n64 = b64(big, sizeof big);
        snprintf(hdr, sizeof hdr, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n64);
        cs_key *k = (cs_key *)"untouched";
        fault = 0;
        CHECK_FAIL(cs_jwk_from_json(hdr, strlen(hdr), &k, &fault, &err), CS_EUNSUPPORTED, &err,
                   "\"n\" is 600 bytes, at most 512");
        CHECK(fault == CS_JWS_BAD_KEY && k == (cs_key *)"untouched");
        /* a 2048-bit modulus with an exponent of 9 bytes */
        memset(big, 0xab, 256);
        free(n64);
        n64 = b64(big, 256);
        snprintf(hdr, sizeof hdr, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAAAAAAAAAB\"}", n64);
        CHECK_FAIL(cs_jwk_from_json(hdr, strlen(hdr), &k, &fault, &err), CS_EUNSUPPORTED, &err,
                   "\"e\" is 9 bytes");
        /* an even exponent: OpenSSL's public check refuses it */
        snprintf(hdr, sizeof hdr, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}", n64);
        CHECK_FAIL(cs_jwk_from_json(hdr, strlen(hdr), &k, &fault, &err), CS_EUNSUPPORTED, &err,
                   "not a valid RSA public key");
        free(n64);
        CHECK_FAIL(cs_jwk_from_json("{\"kty\":\"EC\"", 11, &k, &fault, &err), CS_EINVAL, &err,
                   "jwk: not JSON");
        CHECK(fault == CS_JWS_MALFORMED);
        CHECK_FAIL(cs_jwk_from_json("{\"kty\":\"EC\",\"kty\":\"RSA\"}", 24, &k, &fault, &err),
                   CS_EINVAL, &err, "duplicate");
        CHECK(k == (cs_key *)"untouched");
    }
    /* an Ed25519 key has no JWK here */
    cs_key *ed = fx_key("ed25519", NULL);
    char *s = NULL;
    char tp[CS_JWK_THUMBPRINT_LEN + 1];
    CHECK_FAIL(cs_jwk_to_json(ed, &s, &err), CS_EUNSUPPORTED, &err, "ed25519");
    CHECK_FAIL(cs_jwk_thumbprint(ed, tp, &err), CS_EUNSUPPORTED, &err, "ed25519");
    CHECK(s == NULL);
    cs_key_free(ed);
}

static int write_text(const char *name, const char *text)
{
    char path[256];
    fx_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

int main(void)
{
    test_b64url();
    test_rfc7638();
    test_rfc7515_es256();

    if (!fx_mkdtemp("jws"))
        return 1;
    keys[0] = fx_key("ec", "P-256");
    keys[1] = fx_key("ec", "P-384");
    {
        cs_key_params p = {"rsa", NULL, 2048};
        cs_err err = {0};
        CHECK_OK(cs_key_generate(&p, &keys[2], &err), &err);
    }
    for (int i = 0; i < 3; i++) {
        char path[256], file[32];
        cs_err err = {0};
        snprintf(file, sizeof file, "%s.pem", key_names[i]);
        fx_path(path, sizeof path, file);
        if (keys[i])
            CHECK_OK(cs_key_save(keys[i], path, 0, &err), &err);
    }
    CHECK(write_text("hmac.b64", "c2VjcmV0LWhtYWMta2V5LTEyMzQ1Njc4OTAxMjM0NTY\n"));
    CHECK(load_vectors());

    test_josepy_jws();
    test_josepy_jwk();
    test_eab();
    test_jwt();
    test_bad_jws();

    for (int i = 0; i < 3; i++)
        cs_key_free(keys[i]);
    for (size_t i = 0; i < nvectors; i++) {
        free(vectors[i].name);
        free(vectors[i].value);
    }
    fx_rmdir();
    return CHECK_DONE();
}
