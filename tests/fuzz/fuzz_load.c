/* libFuzzer target: whatever bytes arrive, loading them as a certificate or
 * a key, and inspecting and linting what loads, must fail cleanly: no crash, no leak, no
 * abort. Build with -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cert.h"
#include "key.h"
#include "lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_err err;
    cs_cert *cert = NULL;
    cs_key *key = NULL;
    cs_cert_info *info = NULL;

    if (cs_cert_load((const char *)data, size, "fuzz", &cert, &err) == CS_OK) {
        char *serial = cs_cert_serial_hex(cert);
        cs_lint_report report;
        cs_lint_cert(cert, NULL, &report); /* a foreign certificate, unknown issuer */
        cs_lint_cert(cert, cert, &report); /* and as its own issuer */
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
    }
    return 0;
}
