/* libFuzzer target: whatever bytes arrive as an OCSP request (POST body, or
 * GET path text), the responder answers or fails cleanly: no crash, no leak,
 * no abort. Build with -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "key.h"
#include "ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* good, revoked or unknown by the serial's last digit, so all three paths run. */
static cs_code lookup(void *arg, const char *issuer, const char *serial_hex,
                      cs_revocation *out, cs_err *err)
{
    size_t n = strlen(serial_hex);
    int d = n ? serial_hex[n - 1] % 3 : 2;

    (void)arg;
    (void)issuer;
    (void)err;
    memset(out, 0, sizeof *out);
    out->status = d == 0 ? CS_STATUS_GOOD : d == 1 ? CS_STATUS_REVOKED : CS_STATUS_UNKNOWN;
    out->revoked_at = d == 1 ? 1700000000 : 0;
    out->reason = d == 1 ? (int)(n % 12) - 1 : -1; /* also codes that have no name */
    return CS_OK;
}

/* The fuzzer's one responder: a self-signed P-256 CA signing for itself,
 * made on the first input and kept (libFuzzer runs inputs in one process). */
static cs_ocsp_responder *responder(void)
{
    static cs_ocsp_responder *r;
    static const cs_rdn dn[] = {{"CN", "Fuzz CA"}};
    cs_key_params kp = {"ec", "P-256", 0};
    cs_cert_spec spec;
    cs_ocsp_params p;
    cs_key *key = NULL;
    cs_cert *ca = NULL;
    cs_err err;

    if (r)
        return r;
    memset(&spec, 0, sizeof spec);
    spec.subject = dn;
    spec.subject_len = 1;
    spec.not_before = (int64_t)time(NULL) - 60;
    spec.not_after = spec.not_before + 86400;
    spec.basic_constraints.present = spec.basic_constraints.critical = 1;
    spec.basic_constraints.ca = 1;
    spec.basic_constraints.path_len = -1;
    spec.key_usage.present = spec.key_usage.critical = 1;
    spec.key_usage.bits = CS_KU_KEY_CERT_SIGN | CS_KU_CRL_SIGN;
    spec.subject_key_id = spec.authority_key_id = 1;
    if (cs_key_generate(&kp, &key, &err) != CS_OK ||
        cs_cert_sign(&spec, key, NULL, key, &ca, &err) != CS_OK)
        abort(); /* the harness itself is broken, not the input */
    memset(&p, 0, sizeof p);
    p.issuer = p.signer = ca;
    p.signer_key = key;
    p.next_update_secs = 3600;
    p.lookup = lookup;
    if (cs_ocsp_responder_new(&p, &r, &err) != CS_OK)
        abort();
    cs_cert_free(ca); /* the responder keeps its own references */
    cs_key_free(key);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_ocsp_responder *r = responder();
    cs_http_reply reply;
    unsigned char *der = NULL;
    size_t len = 0;
    char *text;
    cs_err err;

    if (cs_ocsp_respond(r, data, size, &der, &len, &err) == CS_OK)
        free(der);
    der = NULL;
    if (cs_ocsp_decode_get((const char *)data, size, &der, &len, &err) == CS_OK)
        free(der);
    text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        cs_ocsp_http(r, "GET", text, NULL, 0, &reply, &err);
        free(reply.body);
        free(text);
    }
    return 0;
}
