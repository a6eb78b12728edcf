/* libFuzzer target: what an ACME client or a signing-API caller sends to
 * core/jws.c, core/jwk.c and core/b64url.c. The first byte picks the
 * reader, the rest is its input:
 *   0: cs_jws_parse (a request body); what parses is verified with its own
 *      jwk and with the fixed key, checked as an EAB, and its jwk's
 *      canonical text and thumbprint made;
 *   1: cs_jwk_from_json (keyChange's oldKey, stored keys);
 *   2: cs_jwt_parse and cs_jwt_verify (signing-API tokens);
 *   3: cs_b64url_decode.
 * Beyond no crash, leak or abort, two invariants abort when broken: a
 * decoded base64url string encodes back to itself (one spelling per byte
 * string), and a JWK's canonical text reads back to the same key with the
 * same text. With CS_FUZZ_SEEDS=dir, seeds that verify with the fixed key
 * (a P-256 key hashed from a fixed text) go there. Build with -DCS_FUZZ=ON
 * and CC=clang; see tests/fuzz/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "fuzz_common.h"
#include "jws.h"

#define URL "https://127.0.0.1:8443/acme/new-account"

static cs_key *fixed;
static const unsigned char hmac_key[] = "fuzzing HMAC key, not a secret";

static char *b64(const void *p, size_t n)
{
    char *s = malloc(CS_B64URL_LEN(n) + 1);
    if (!s)
        fz_die("out of memory", NULL);
    cs_b64url_encode_buf(p, n, s);
    return s;
}

/* header and payload base64url-encoded, and the signature over them by the
 * fixed key (ES256) or MAC with hmac_key (HS256): a JWS's or a JWT's three
 * parts. */
static void sign_parts(const char *header, const char *payload, int hs256, char **p64,
                       char **pl64, char **s64)
{
    char input[4096];
    unsigned char sig[128], raw[64];
    size_t siglen = sizeof sig;

    *p64 = b64(header, strlen(header));
    *pl64 = b64(payload, strlen(payload));
    snprintf(input, sizeof input, "%s.%s", *p64, *pl64);
    if (hs256) {
        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hmac_key, sizeof hmac_key - 1,
                       (unsigned char *)input, strlen(input), sig, sizeof sig, &siglen))
            fz_die("HMAC", NULL);
        *s64 = b64(sig, siglen);
        return;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const unsigned char *der = sig;
    if (!ctx ||
        EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, cs_key_get0_pkey(fixed), NULL) !=
            1 ||
        EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input, strlen(input)) != 1)
        fz_die("signing a seed", NULL);
    EVP_MD_CTX_free(ctx);
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)siglen);
    if (!es)
        fz_die("ECDSA signature", NULL);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    *s64 = b64(raw, 64);
}

/* A flattened JWS (JSON) or a compact JWT. */
static char *sign(const char *header, const char *payload, int hs256, int compact)
{
    char *p64, *pl64, *s64;
    sign_parts(header, payload, hs256, &p64, &pl64, &s64);
    size_t n = strlen(p64) + strlen(pl64) + strlen(s64) + 64;
    char *out = malloc(n);
    if (!out)
        fz_die("out of memory", NULL);
    if (compact)
        snprintf(out, n, "%s.%s.%s", p64, pl64, s64);
    else
        snprintf(out, n, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
                 p64, pl64, s64);
    free(s64);
    free(pl64);
    free(p64);
    return out;
}

static void seed(const char *dir, const char *name, unsigned char mode, const char *text)
{
    size_t len = strlen(text);
    unsigned char *buf = malloc(len + 1);
    if (!buf)
        fz_die("out of memory", NULL);
    buf[0] = mode;
    memcpy(buf + 1, text, len);
    fz_seed(dir, name, buf, len + 1);
    free(buf);
}

/* RFC 7638 3.1's example key. */
static const char rsa_jwk[] =
    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zw"
    "u1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w"
    "6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI"
    "SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awa"
    "pJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

static void seeds(const char *dir)
{
    char *jwk = NULL, header[1024], *s;
    cs_err err = {0};

    if (cs_jwk_to_json(fixed, &jwk, &err) != CS_OK)
        fz_die("jwk", &err);
    snprintf(header, sizeof header,
             "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"abcDEF123_-\",\"url\":\"" URL "\"}", jwk);
    s = sign(header, "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:a@b.test\"]}", 0, 0);
    seed(dir, "jws-jwk", 0, s);
    free(s);
    s = sign("{\"alg\":\"ES256\",\"kid\":\"https://127.0.0.1:8443/acme/acct/1\","
             "\"nonce\":\"n\",\"url\":\"https://127.0.0.1:8443/acme/order/1\"}", "", 0, 0);
    seed(dir, "jws-kid-empty", 0, s);
    free(s);
    snprintf(header, sizeof header, "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"" URL "\"}");
    s = sign(header, jwk, 1, 0);
    seed(dir, "jws-eab", 0, s);
    free(s);
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"jwk\":%s,\"url\":\"" URL "\"}",
             rsa_jwk);
    s = sign(header, "{}", 0, 0);
    seed(dir, "jws-rsa", 0, s);
    free(s);
    seed(dir, "jwk-ec", 1, jwk);
    seed(dir, "jwk-rsa", 1, rsa_jwk);

    s = sign("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"robot\"}",
             "{\"aud\":\"https://127.0.0.1:8443/api/v1/sign\",\"jti\":\"1\",\"iat\":1,"
             "\"exp\":300}", 0, 1);
    seed(dir, "jwt", 2, s);
    free(s);
    seed(dir, "b64", 3, "Zm9vYmE");
    free(jwk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixed = fz_fixed_key("fuzz_jws");
    if (fz_seed_dir())
        seeds(fz_seed_dir());
    return 0;
}

/* The canonical text of key reads back to the same key and text. */
static void check_canonical(const cs_key *key)
{
    char *json = NULL, *again_json = NULL;
    char tp[CS_JWK_THUMBPRINT_LEN + 1];
    cs_key *again = NULL;
    cs_jws_fault fault;
    cs_err err = {0};

    if (cs_jwk_to_json(key, &json, &err) != CS_OK)
        fz_die("canonical JWK of a key that parsed", &err);
    if (cs_jwk_from_json(json, strlen(json), &again, &fault, &err) != CS_OK)
        fz_die("canonical JWK does not read back", &err);
    if (EVP_PKEY_eq(cs_key_get0_pkey(key), cs_key_get0_pkey(again)) != 1)
        fz_die("canonical JWK reads back to another key", NULL);
    if (cs_jwk_to_json(again, &again_json, &err) != CS_OK || strcmp(json, again_json) != 0)
        fz_die("canonical JWK text is not stable", &err);
    if (cs_jwk_thumbprint(key, tp, &err) != CS_OK || strlen(tp) != CS_JWK_THUMBPRINT_LEN)
        fz_die("thumbprint", &err);
    free(again_json);
    cs_key_free(again);
    free(json);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cs_jws_fault fault;
    cs_err err = {0};

    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] & 3) {
    case 0: {
        cs_jws *jws = NULL;
        if (cs_jws_parse(in, len, &jws, &fault, &err) != CS_OK)
            break;
        size_t plen;
        (void)cs_jws_payload(jws, &plen);
        if (cs_jws_jwk(jws)) {
            (void)cs_jws_verify(jws, cs_jws_jwk(jws), &fault, &err);
            check_canonical(cs_jws_jwk(jws));
        }
        (void)cs_jws_verify(jws, fixed, &fault, &err);
        (void)cs_jws_verify_eab(jws, URL, fixed, hmac_key, sizeof hmac_key - 1, &fault, &err);
        cs_jws_free(jws);
        break;
    }
    case 1: {
        cs_key *key = NULL;
        if (cs_jwk_from_json(in, len, &key, &fault, &err) == CS_OK) {
            check_canonical(key);
            cs_key_free(key);
        }
        break;
    }
    case 2: {
        cs_jwt *jwt = NULL;
        if (cs_jwt_parse(in, len, &jwt, &err) == CS_OK) {
            size_t clen;
            (void)cs_jwt_kid(jwt);
            (void)cs_jwt_claims(jwt, &clen);
            (void)cs_jwt_verify(jwt, fixed, &err);
            cs_jwt_free(jwt);
        }
        break;
    }
    default: {
        unsigned char *out = NULL;
        size_t n = 0;
        if (cs_b64url_decode(in, len, "fuzz", &out, &n, &err) == CS_OK) {
            char *back = NULL;
            if (cs_b64url_encode(out, n, &back, &err) != CS_OK)
                fz_die("encode", &err);
            if (strlen(back) != len || memcmp(back, in, len) != 0)
                fz_die("base64url has a second spelling", NULL);
            free(back);
            free(out);
        }
        break;
    }
    }
    return 0;
}
