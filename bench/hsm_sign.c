/* Signatures per second through a PKCS#11 token beside a key in memory (a
 * file key), same process, alternating: for each curve, ROUNDS rounds of N
 * signatures with each key in turn, the same 300 bytes signed each time
 * (about a TBSCertificate's size) with the digest the CA uses for the key
 * (SHA-256 for P-256, SHA-384 for P-384). Prints the median rate over the
 * rounds by wall clock and per CPU second of this process (SoftHSM2 signs
 * in-process, so its work is counted; a network HSM's would not be).
 *
 *   hsm_sign URI PIN [N [ROUNDS]]    (URI: pkcs11:token=LABEL; bench/hsm.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "hsm.h"
#include "key.h"

static double seconds(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* n signatures with key: wall and CPU rates into *wall, *cpu; 0, or -1. */
static int block(const cs_key *key, int n, double *wall, double *cpu)
{
    unsigned char msg[300], sig[512];
    double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    int i;

    memset(msg, 0x5a, sizeof msg);
    for (i = 0; i < n; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        size_t len = sizeof sig;
        int ok = ctx && EVP_DigestSignInit_ex(ctx, NULL, cs_key_digest_name(key), NULL, NULL,
                                              cs_key_get0_pkey(key), NULL) == 1 &&
                 EVP_DigestSign(ctx, sig, &len, msg, sizeof msg) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
            return -1;
    }
    *wall = n / (seconds(CLOCK_MONOTONIC) - w0);
    *cpu = n / (seconds(CLOCK_PROCESS_CPUTIME_ID) - c0);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const curves[] = {"P-256", "P-384"};
    const char *uri = argc > 2 ? argv[1] : NULL, *pin = argc > 2 ? argv[2] : NULL;
    int n = argc > 3 ? atoi(argv[3]) : 500, rounds = argc > 4 ? atoi(argv[4]) : 5;
    size_t c;

    if (!uri || n <= 0 || rounds <= 0 || rounds > 64) {
        fprintf(stderr, "usage: hsm_sign pkcs11:token=LABEL PIN [N [ROUNDS]]\n");
        return 2;
    }
    printf("| curve | key | signatures/s (wall) | per CPU-s | token / file (CPU) |\n");
    printf("|---|---|---:|---:|---:|\n");
    for (c = 0; c < sizeof curves / sizeof curves[0]; c++) {
        cs_key_params p = {"ec", curves[c], 0};
        cs_key *keys[2] = {NULL, NULL};
        double wall[2][64], cpu[2][64], w, u;
        char obj[512];
        cs_err err = {CS_OK, ""};
        int r, k;

        snprintf(obj, sizeof obj, "%s;object=bench-%s-%ld", uri, curves[c], (long)time(NULL));
        if (cs_key_generate(&p, &keys[0], &err) != CS_OK ||
            cs_hsm_generate_key(obj, pin, &p, &keys[1], &err) != CS_OK) {
            fprintf(stderr, "hsm_sign: %s\n", err.msg);
            return 1;
        }
        for (k = 0; k < 2; k++) /* warm up */
            if (block(keys[k], n / 10 + 1, &w, &u) != 0)
                return fprintf(stderr, "hsm_sign: signing failed\n"), 1;
        for (r = 0; r < rounds; r++)
            for (k = 0; k < 2; k++)
                if (block(keys[k], n, &wall[k][r], &cpu[k][r]) != 0)
                    return fprintf(stderr, "hsm_sign: signing failed\n"), 1;
        for (k = 0; k < 2; k++) {
            qsort(wall[k], (size_t)rounds, sizeof(double), by_value);
            qsort(cpu[k], (size_t)rounds, sizeof(double), by_value);
        }
        printf("| %s | file (in memory) | %.0f | %.0f | |\n", curves[c], wall[0][rounds / 2],
               cpu[0][rounds / 2]);
        printf("| %s | SoftHSM2 token | %.0f | %.0f | %.2f |\n", curves[c], wall[1][rounds / 2],
               cpu[1][rounds / 2], cpu[1][rounds / 2] / cpu[0][rounds / 2]);
        cs_key_free(keys[0]);
        cs_key_free(keys[1]);
    }
    return 0;
}
