/* What checking one ACME request's JWS costs (core/jws.c): parse the
 * flattened JWS (jansson, strict base64url, the header's jwk made a key)
 * and verify its signature, against the floor of the signature check
 * alone (EVP_DigestVerify on the same bytes, key and DER signature made
 * once). Per CPU second of this process, for ES256, ES384 and RS256.
 *
 *   build/jws_verify N DIR   # N rounds each; writes DIR/<alg>.jws and .jwk
 *                            # for bench/jws_verify.py (josepy, the same JWS)
 *
 * Columns: jws = parse + verify with the header's jwk (a newAccount);
 * jwk = cs_jwk_from_json alone (what a kid request pays for the account's
 * stored key); verify = cs_jws_verify alone, key ready; floor =
 * EVP_DigestVerify alone, DER signature and key ready.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "jws.h"
#include "key.h"

static double cpu_now(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static char *b64(const void *p, size_t n)
{
    char *s = malloc(CS_B64URL_LEN(n) + 1);
    cs_b64url_encode_buf(p, n, s);
    return s;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void run(const char *alg, const char *type, const char *curve, int bits, long n,
                const char *dir)
{
    cs_key_params p = {type, curve, bits};
    cs_key *key = NULL;
    cs_err err = {0};
    char *jwk = NULL, header[4096], input[8192], body[16384];
    unsigned char der[1024], raw[128];
    size_t der_len = sizeof der, sig_len;
    const char *digest = strcmp(alg, "ES384") == 0 ? "SHA384" : "SHA256";

    if (cs_key_generate(&p, &key, &err) != CS_OK || cs_jwk_to_json(key, &jwk, &err) != CS_OK) {
        fprintf(stderr, "%s: %s\n", alg, err.msg);
        exit(1);
    }
    EVP_PKEY *pkey = cs_key_get0_pkey(key);
    snprintf(header, sizeof header,
             "{\"alg\":\"%s\",\"jwk\":%s,\"nonce\":\"bm9uY2UtMDEyMzQ1Njc4OQ\","
             "\"url\":\"https://localhost:8443/acme/new-order\"}", alg, jwk);
    const char *payload = "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}]}";
    char *p64 = b64(header, strlen(header)), *pl64 = b64(payload, strlen(payload));
    snprintf(input, sizeof input, "%s.%s", p64, pl64);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (EVP_DigestSignInit_ex(ctx, NULL, digest, NULL, NULL, pkey, NULL) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, (unsigned char *)input, strlen(input)) != 1) {
        fprintf(stderr, "%s: signing failed\n", alg);
        exit(1);
    }
    EVP_MD_CTX_free(ctx);
    const unsigned char *sig = der;
    sig_len = der_len;
    if (curve) {
        size_t size = strcmp(curve, "P-384") == 0 ? 48 : 32;
        const unsigned char *d = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)der_len);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)size);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + size, (int)size);
        ECDSA_SIG_free(es);
        sig = raw;
        sig_len = 2 * size;
    }
    char *s64 = b64(sig, sig_len);
    snprintf(body, sizeof body, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
             p64, pl64, s64);
    char name[32];
    snprintf(name, sizeof name, "%s.jws", alg);
    write_file(dir, name, body);
    snprintf(name, sizeof name, "%s.jwk", alg);
    write_file(dir, name, jwk);

    /* the floor: the signature check alone, DER, key ready */
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        EVP_MD_CTX *v = EVP_MD_CTX_new();
        if (EVP_DigestVerifyInit_ex(v, NULL, digest, NULL, NULL, pkey, NULL) != 1 ||
            EVP_DigestVerify(v, der, der_len, (unsigned char *)input, strlen(input)) != 1) {
            fprintf(stderr, "%s: floor verify failed\n", alg);
            exit(1);
        }
        EVP_MD_CTX_free(v);
    }
    double floor_s = cpu_now() - t0;

    /* ours: parse (the header's jwk becomes a key) and verify with that key */
    t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        cs_jws *jws = NULL;
        cs_jws_fault fault;
        if (cs_jws_parse(body, strlen(body), &jws, &fault, &err) != CS_OK ||
            cs_jws_verify(jws, cs_jws_jwk(jws), &fault, &err) != CS_OK) {
            fprintf(stderr, "%s: %s\n", alg, err.msg);
            exit(1);
        }
        cs_jws_free(jws);
    }
    double ours_s = cpu_now() - t0;

    /* the pieces: the jwk made a key (what a request signed with kid pays
     * for its account's stored JWK), and verify alone with a key ready */
    t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        cs_key *k = NULL;
        cs_jws_fault fault;
        if (cs_jwk_from_json(jwk, strlen(jwk), &k, &fault, &err) != CS_OK) {
            fprintf(stderr, "%s: %s\n", alg, err.msg);
            exit(1);
        }
        cs_key_free(k);
    }
    double jwk_s = cpu_now() - t0;
    cs_jws *once = NULL;
    cs_jws_fault fault;
    if (cs_jws_parse(body, strlen(body), &once, &fault, &err) != CS_OK)
        exit(1);
    t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        if (cs_jws_verify(once, key, &fault, &err) != CS_OK) {
            fprintf(stderr, "%s: %s\n", alg, err.msg);
            exit(1);
        }
    }
    double verify_s = cpu_now() - t0;
    cs_jws_free(once);
    printf("%-6s  %10.0f  %10.0f  %10.0f  %10.0f  %6.2f\n", alg, n / ours_s, n / jwk_s,
           n / verify_s, n / floor_s, floor_s / ours_s);
    free(s64);
    free(pl64);
    free(p64);
    free(jwk);
    cs_key_free(key);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000;
    const char *dir = argc > 2 ? argv[2] : ".";
    printf("%-6s  %10s  %10s  %10s  %10s  %6s\n", "alg", "jws/CPU-s", "jwk/CPU-s",
           "verify/CPU-s", "floor/CPU-s", "jws:floor");
    run("ES256", "ec", "P-256", 0, n, dir);
    run("ES384", "ec", "P-384", 0, n, dir);
    run("RS256", "rsa", NULL, 2048, n, dir);
    return 0;
}
