/* See fuzz_common.h. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

void fz_die(const char *what, const cs_err *err)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, err ? err->msg : "failed");
    abort();
}

cs_key *fz_fixed_key(const char *text)
{
    /* PKCS#8 PrivateKeyInfo of a P-256 ECPrivateKey, up to its 32 bytes */
    static const unsigned char prefix[] = {
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
        0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20};
    unsigned char der[sizeof prefix + 32];
    unsigned int n = 0;
    cs_key *key = NULL;
    cs_err err;

    memcpy(der, prefix, sizeof prefix);
    if (EVP_Digest(text, strlen(text), der + sizeof prefix, &n, EVP_sha256(), NULL) != 1 ||
        n != 32)
        fz_die("digest", NULL);
    if (cs_key_load((const char *)der, sizeof der, "fuzz key", &key, &err) != CS_OK)
        fz_die("fixed key", &err);
    return key;
}

static void ca_spec(cs_cert_spec *spec, const cs_rdn *dn)
{
    memset(spec, 0, sizeof *spec);
    spec->subject = dn;
    spec->subject_len = 1;
    spec->not_before = (int64_t)time(NULL) - 60;
    spec->not_after = spec->not_before + 86400;
    spec->basic_constraints.present = spec->basic_constraints.critical = 1;
    spec->basic_constraints.ca = 1;
    spec->basic_constraints.path_len = -1;
    spec->key_usage.present = spec->key_usage.critical = 1;
    spec->key_usage.bits = CS_KU_KEY_CERT_SIGN | CS_KU_CRL_SIGN;
    spec->subject_key_id = spec->authority_key_id = 1;
}

cs_cert *fz_ca(const cs_key *key, const char *cn)
{
    cs_rdn dn[] = {{"CN", cn}};
    cs_cert_spec spec;
    cs_cert *ca = NULL;
    cs_err err;

    ca_spec(&spec, dn);
    if (cs_cert_sign(&spec, key, NULL, key, &ca, &err) != CS_OK)
        fz_die("CA", &err);
    return ca;
}

cs_cert *fz_issue(const cs_key *key, const char *cn, const cs_cert *ca, const cs_key *ca_key,
                  int intermediate)
{
    static const cs_name san[] = {{CS_NAME_DNS, "localhost"}, {CS_NAME_IP, "127.0.0.1"}};
    static const char *const server_auth[] = {"serverAuth"};
    cs_rdn dn[] = {{"CN", cn}};
    cs_cert_spec spec;
    cs_cert *out = NULL;
    cs_err err;

    ca_spec(&spec, dn);
    if (!intermediate) {
        spec.basic_constraints.ca = 0;
        spec.key_usage.bits = CS_KU_DIGITAL_SIGNATURE;
        spec.ext_key_usage.present = 1;
        spec.ext_key_usage.purposes = server_auth;
        spec.ext_key_usage.len = 1;
        spec.subject_alt_name.present = 1;
        spec.subject_alt_name.names = san;
        spec.subject_alt_name.len = 2;
    }
    if (cs_cert_sign(&spec, key, ca, ca_key, &out, &err) != CS_OK)
        fz_die(cn, &err);
    return out;
}

const char *fz_seed_dir(void)
{
    const char *dir = getenv("CS_FUZZ_SEEDS");
    return dir && *dir ? dir : NULL;
}

void fz_seed(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fz_die(path, NULL);
}
