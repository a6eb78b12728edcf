/* libFuzzer target: whatever bytes arrive, loading them as a certificate, a
 * key, an encrypted key or a PKCS#12 file, and inspecting what loads, must fail cleanly: no crash, no leak, no
 * abort. Build with -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cert.h"
#include "key.h"
#include "pbe.h"
#include "pkcs12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_err err;
    cs_cert *cert = NULL;
    cs_key *key = NULL;
    cs_cert_info *info = NULL;
    cs_p12 *p12 = NULL;
    cs_pbe pbe;

    if (cs_cert_load((const char *)data, size, "fuzz", &cert, &err) == CS_OK) {
        char *serial = cs_cert_serial_hex(cert);
        if (cs_cert_get_info(cert, &info, &err) == CS_OK)
            cs_cert_info_free(info);
        free(serial);
        if (cs_cert_verify(cert, NULL, 0, (const cs_cert *const *)&cert, 1, "localhost", 0,
                           &err) == CS_OK)
            (void)err;
        if (cs_cert_issued_by(cert, cert, &err) == CS_OK)
            (void)err;
        cs_cert_free(cert);
    }
    if (cs_key_load((const char *)data, size, "fuzz", &key, &err) == CS_OK) {
        char fp[65];
        if (cs_key_fingerprint(key, fp, &err) == CS_OK)
            (void)fp;
        cs_key_free(key);
    }
    if (cs_pbe_encrypted_key((const char *)data, size, "fuzz", &pbe, &err) == CS_OK)
        (void)pbe;
    /* the empty password: files without MAC, or with an empty one, get walked */
    if (cs_p12_load((const char *)data, size, NULL, "fuzz", &p12, &err) == CS_OK)
        cs_p12_free(p12);
    return 0;
}
