/* libFuzzer target: whatever bytes arrive as a CRL (PEM or DER, as
 * `inspect` and the revocation scripts load them), loading, inspecting,
 * verifying against a CA and encoding again fail cleanly or succeed: no
 * crash, no leak, no abort. With CS_FUZZ_SEEDS=dir, CRLs signed by the
 * harness's CA (the same in every run) are written there first. Build with
 * -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "fuzz_common.h"

static cs_cert *ca;

static void seeds(const char *dir, const cs_key *key)
{
    static const cs_revoked revoked[] = {
        {"01", 1700000000, 1, 0},   /* keyCompromise */
        {"7F00FF", 1700000100, 0, 0}, /* unspecified: no reasonCode */
        {"00A1B2C3D4E5F60718293A4B5C6D7E8F", 1700000200, 4, 0},
    };
    for (size_t n = 0; n <= 3; n += 3) {
        cs_crl_params p = {1700000000, 1700086400, (int64_t)n + 1, revoked, n};
        cs_crl *crl = NULL;
        unsigned char *der = NULL;
        char *pem = NULL, name[32];
        size_t len = 0;
        cs_err err;
        if (cs_crl_sign(&p, ca, key, &crl, &err) != CS_OK)
            fz_die("CRL", &err);
        if (cs_crl_der(crl, &der, &len, &err) != CS_OK)
            fz_die("CRL DER", &err);
        snprintf(name, sizeof name, "crl-%zu.der", n);
        fz_seed(dir, name, der, len);
        free(der);
        if (cs_crl_pem(crl, &pem, &len, &err) != CS_OK)
            fz_die("CRL PEM", &err);
        snprintf(name, sizeof name, "crl-%zu.pem", n);
        fz_seed(dir, name, pem, len);
        free(pem);
        cs_crl_free(crl);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cs_key *key = fz_fixed_key("chainsmith fuzz_crl CA");

    (void)argc;
    (void)argv;
    ca = fz_ca(key, "Fuzz CRL CA");
    if (fz_seed_dir())
        seeds(fz_seed_dir(), key);
    cs_key_free(key);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cs_crl *crl = NULL;
    cs_crl_info *info = NULL;
    unsigned char *der = NULL;
    char *pem = NULL;
    size_t len = 0;
    cs_err err;

    if (cs_crl_load((const char *)data, size, "fuzz", &crl, &err) != CS_OK)
        return 0;
    if (cs_crl_get_info(crl, &info, &err) == CS_OK)
        cs_crl_info_free(info);
    if (cs_crl_verify(crl, ca, &err) == CS_OK)
        (void)err;
    if (cs_crl_der(crl, &der, &len, &err) == CS_OK)
        free(der);
    if (cs_crl_pem(crl, &pem, &len, &err) == CS_OK)
        free(pem);
    cs_crl_free(crl);
    return 0;
}
