/* libFuzzer target: whatever bytes arrive, loading them as a certificate, a
 * key, a public key or a CSR, normalizing them as a name, and inspecting what loads, must fail cleanly: no crash, no leak, no
 * abort. Build with -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "csr.h"
#include "key.h"
#include "name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_err err;
    cs_cert *cert = NULL;
    cs_key *key = NULL;
    cs_cert_info *info = NULL;

    if (cs_cert_load((const char *)data, size, "fuzz", &cert, &err) == CS_OK) {
        char *serial = cs_cert_serial_hex(cert);
        if (cs_cert_get_info(cert, &info, &err) == CS_OK)
            cs_cert_info_free(info);
        free(serial);
        if (cs_cert_verify(cert, NULL, 0, (const cs_cert *const *)&cert, 1, "localhost", 0,
                           &err) == CS_OK)
            (void)err;
        cs_cert_free(cert);
    }
    if (cs_key_load((const char *)data, size, "fuzz", &key, &err) == CS_OK) {
        char fp[65];
        if (cs_key_fingerprint(key, fp, &err) == CS_OK)
            (void)fp;
        cs_key_free(key);
        key = NULL;
    }
    if (cs_key_load_public((const char *)data, size, "fuzz", &key, &err) == CS_OK)
        cs_key_free(key);
    {
        cs_csr *csr = NULL;
        cs_csr_info *ci = NULL;
        if (cs_csr_load((const char *)data, size, "fuzz", &csr, &err) == CS_OK) {
            if (cs_csr_get_info(csr, &ci, &err) == CS_OK)
                cs_csr_info_free(ci);
            cs_csr_free(csr);
        }
    }
    {
        /* Names are C strings: the bytes up to the first NUL, each type. */
        char *s = malloc(size + 1);
        if (s) {
            memcpy(s, data, size);
            s[size] = '\0';
            for (int t = CS_NAME_DNS; t <= CS_NAME_URI; t++) {
                char *out = NULL;
                int in = 0;
                if (cs_name_normalize((cs_name_type)t, s, CS_NAME_WILDCARD, &out, &err) == CS_OK)
                    free(out);
                if (cs_ip_in_cidr(s, "10.0.0.0/8", &in, &err) == CS_OK)
                    (void)in;
            }
            free(s);
        }
    }
    return 0;
}
