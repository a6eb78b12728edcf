/* libFuzzer target: whatever bytes arrive, loading them as a certificate, a
 * key, a public key, a CSR, an encrypted key or a PKCS#12 file, normalizing them
 * as a name, and inspecting and linting what loads, must fail cleanly: no crash, no leak, no
 * abort. Build with -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "csr.h"
#include "key.h"
#include "lint.h"
#include "name.h"
#include "pbe.h"
#include "pkcs12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* ASan's defaults for this harness (ASAN_OPTIONS still wins). OpenSSL 3's
 * decoders allocate and free thousands of small blocks per input, and with
 * ASan's 256 MB quarantine every one of them landed on a fresh page: page
 * faults were a fifth of the run and RSS reached 600 MB. A 32 MB quarantine
 * still holds the last thousands of inputs' frees (use after free is still
 * caught within one input); 8 frames of allocation stack and no 0xbe fill of
 * new blocks cut the rest. 3,000 runs from the same corpus: 32.0 CPU s and
 * 607 MB before, 16.3 CPU s and 157 MB after (tests/fuzz/README.md). */
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32:malloc_context_size=8:max_malloc_fill_size=0";
}

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
        cs_lint_report report;
        cs_lint_cert(cert, NULL, &report); /* a foreign certificate, unknown issuer */
        cs_lint_cert(cert, cert, &report); /* and as its own issuer */
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
    if (cs_pbe_encrypted_key((const char *)data, size, "fuzz", &pbe, &err) == CS_OK)
        (void)pbe;
    /* the empty password: files without MAC, or with an empty one, get walked */
    if (cs_p12_load((const char *)data, size, NULL, "fuzz", &p12, &err) == CS_OK)
        cs_p12_free(p12);
    return 0;
}
