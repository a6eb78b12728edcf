/* The floors of leaf issuance, in plain C against OpenSSL 3, no chainsmith:
 *
 *   raw      the crypto limit: a new key and one signature per leaf, with the
 *            algorithms fetched once (a reused keygen EVP_PKEY_CTX, an EVP_MD
 *            fetched once); no certificate is built.
 *   naive    a straightforward OpenSSL 3 loop that builds and signs each leaf
 *            as the manual pages show it: EVP_PKEY_Q_keygen, X509_new,
 *            X509_set_pubkey, extensions by X509V3_EXT_nconf_nid, X509_sign,
 *            i2d_X509. Every call fetches what it needs again.
 *
 * usage: issue_floor MODE CURVE N      (MODE raw|keygen|sign|naive, CURVE P-256|P-384)
 * prints: MODE CURVE N seconds per_second cpu_seconds  (wall clock, one thread;
 *         and the process's CPU time, which other load on the machine does not inflate)
 * A benchmark: it asserts nothing beyond "the calls worked". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static void die(const char *what)
{
    fprintf(stderr, "issue_floor: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* A leaf (or, with self, the self-signed CA) built and signed the naive way. */
static X509 *naive_leaf(EVP_PKEY *ca_key, const X509 *ca, const char *curve,
                        const EVP_MD *md, int self);

int main(int argc, char **argv)
{
    const char *mode, *curve, *mdname;
    long n, i;
    EVP_PKEY *ca_key;
    X509 *ca;
    double t0, t1, c0;

    if (argc != 4)
        die("usage: issue_floor raw|keygen|sign|naive P-256|P-384 N");
    mode = argv[1];
    curve = argv[2];
    n = strtol(argv[3], NULL, 10);
    if (strcmp(curve, "P-256") && strcmp(curve, "P-384"))
        die("curve: P-256 or P-384");
    mdname = strcmp(curve, "P-384") == 0 ? "SHA384" : "SHA256";
    ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    if (!ca_key)
        die("issuer key");
    ca = naive_leaf(ca_key, NULL, curve, EVP_get_digestbyname(mdname), 1);
    c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID); /* from here on: set-up inside the loops is small */

    if (strcmp(mode, "naive") == 0) {
        const EVP_MD *md = EVP_get_digestbyname(mdname); /* as the manual shows */
        t0 = now();
        for (i = 0; i < n; i++)
            X509_free(naive_leaf(ca_key, ca, curve, md, 0));
        t1 = now();
    } else if (!strcmp(mode, "raw") || !strcmp(mode, "keygen") || !strcmp(mode, "sign")) {
        /* Fetched once: the keygen context (curve set), the digest, the signing
         * context (EVP_PKEY_sign_init once; each signature reuses it). */
        EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new_from_pkey(NULL, ca_key, NULL);
        EVP_MD *md = EVP_MD_fetch(NULL, mdname, NULL);
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0),
            OSSL_PARAM_END,
        };
        unsigned char tbs[400], sig[160], dgst[EVP_MAX_MD_SIZE]; /* tbs: about a leaf's */
        unsigned int dlen = 0;
        size_t siglen;
        int keygen = strcmp(mode, "sign") != 0, sign = strcmp(mode, "keygen") != 0;

        if (!kctx || !sctx || !md || EVP_PKEY_keygen_init(kctx) != 1 ||
            EVP_PKEY_CTX_set_params(kctx, params) != 1 || EVP_PKEY_sign_init(sctx) != 1 ||
            RAND_bytes(tbs, sizeof tbs) != 1)
            die("set-up");
        t0 = now();
        for (i = 0; i < n; i++) {
            EVP_PKEY *k = NULL;
            if (keygen && EVP_PKEY_generate(kctx, &k) != 1)
                die("keygen");
            siglen = sizeof sig;
            tbs[i % sizeof tbs] ^= 1; /* a different message each time */
            if (sign && (EVP_Digest(tbs, sizeof tbs, dgst, &dlen, md, NULL) != 1 ||
                         EVP_PKEY_sign(sctx, sig, &siglen, dgst, dlen) != 1))
                die("sign");
            EVP_PKEY_free(k);
        }
        t1 = now();
        EVP_MD_free(md);
        EVP_PKEY_CTX_free(sctx);
        EVP_PKEY_CTX_free(kctx);
    } else {
        die("mode: raw, keygen, sign or naive");
    }
    printf("%s %s %ld %.6f %.0f %.6f\n", mode, curve, n, t1 - t0, (double)n / (t1 - t0),
           clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return 0;
}

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    if (!ext || X509_add_ext(x, ext, -1) != 1)
        die("extension");
    X509_EXTENSION_free(ext);
}

static X509 *naive_leaf(EVP_PKEY *ca_key, const X509 *ca, const char *curve,
                        const EVP_MD *md, int self)
{
    EVP_PKEY *key = self ? ca_key : EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    BIGNUM *bn = BN_new();
    X509V3_CTX ctx;
    unsigned char *der = NULL;

    if (!key || !x || !name || !serial || !bn)
        die("naive: out of memory");
    if (BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        !BN_to_ASN1_INTEGER(bn, serial) || X509_set_serialNumber(x, serial) != 1 ||
        X509_set_version(x, X509_VERSION_3) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)(self ? "CA" : "host.example"), -1,
                                   -1, 0) != 1 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, self ? name : X509_get_subject_name(ca)) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400) ||
        X509_set_pubkey(x, key) != 1)
        die("naive: fields");
    X509V3_set_ctx(&ctx, self ? x : (X509 *)ca, x, NULL, NULL, 0);
    if (self) {
        add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    } else {
        add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
        add_ext(x, &ctx, NID_subject_alt_name, "DNS:host.example");
        add_ext(x, &ctx, NID_subject_key_identifier, "hash");
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (X509_sign(x, ca_key, md) <= 0 || i2d_X509(x, &der) <= 0)
        die("naive: signing");
    OPENSSL_free(der);
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_NAME_free(name);
    if (!self)
        EVP_PKEY_free(key);
    return x;
}
