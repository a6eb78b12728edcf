/* libFuzzer target: whatever bytes arrive as an OCSP request (POST body, or
 * GET path text), the responder answers or fails cleanly: no crash, no leak,
 * no abort. Build with -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md.
 *
 * The responder's CA key is the same in every run (its scalar is a hash of a
 * fixed text: a fuzzing key, not a secret), so requests for it keep their
 * CertIDs across runs and a saved corpus stays useful. With CS_FUZZ_SEEDS=dir
 * the harness writes requests for that CA into dir before the fuzzing
 * starts: give dir as the corpus too. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "fuzz_common.h"
#include "internal.h"
#include "key.h"
#include "ocsp.h"

static cs_ocsp_responder *responder;

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

/* One request for serials (each with digest md), maybe with a nonce, written
 * as DER (POST body) and as base64 (GET text). */
static void seed(const char *dir, const char *name, X509 *ca, const EVP_MD *md,
                 const long *serials, size_t n, int nonce)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    unsigned char *der = NULL;
    char file[256];
    int len;

    if (!req)
        fz_die("OCSP_REQUEST_new", NULL);
    for (size_t i = 0; i < n; i++) {
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        OCSP_CERTID *id = NULL;
        if (!s || ASN1_INTEGER_set(s, serials[i]) != 1)
            fz_die("serial", NULL);
        id = OCSP_cert_id_new(md, X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), s);
        ASN1_INTEGER_free(s);
        if (!id || !OCSP_request_add0_id(req, id))
            fz_die("CertID", NULL);
    }
    if (nonce) {
        static const unsigned char val[16] = "fuzz nonce 0123";
        if (OCSP_request_add1_nonce(req, (unsigned char *)val, (int)sizeof val) != 1)
            fz_die("nonce", NULL);
    }
    len = i2d_OCSP_REQUEST(req, &der);
    if (len <= 0)
        fz_die("i2d_OCSP_REQUEST", NULL);
    snprintf(file, sizeof file, "%s.der", name);
    fz_seed(dir, file, der, (size_t)len);
    {
        char b64[4096];
        int blen = len < 3000 ? EVP_EncodeBlock((unsigned char *)b64, der, len) : 0;
        snprintf(file, sizeof file, "%s.b64", name);
        if (blen > 0)
            fz_seed(dir, file, b64, (size_t)blen);
    }
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
}

static void seeds(const char *dir, const cs_cert *ca)
{
    static const long one[] = {0x10}, two[] = {0x11}, three[] = {0x12};
    static const long many[] = {0x0a, 0x0b, 0x0c, 0x7fffffffL};

    seed(dir, "good", ca->x509, EVP_sha1(), one, 1, 1);
    seed(dir, "revoked", ca->x509, EVP_sha1(), two, 1, 1);
    seed(dir, "unknown", ca->x509, EVP_sha1(), three, 1, 0);
    seed(dir, "sha256", ca->x509, EVP_sha256(), one, 1, 0);
    seed(dir, "sha384-many", ca->x509, EVP_sha384(), many, 4, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cs_key *key = fz_fixed_key("chainsmith fuzz_ocsp CA");
    cs_cert *ca = fz_ca(key, "Fuzz CA");
    cs_ocsp_params p;
    cs_err err;

    (void)argc;
    (void)argv;
    memset(&p, 0, sizeof p);
    p.issuer = p.signer = ca;
    p.signer_key = key;
    p.next_update_secs = 3600;
    p.lookup = lookup;
    if (cs_ocsp_responder_new(&p, &responder, &err) != CS_OK)
        fz_die("responder", &err);
    if (fz_seed_dir())
        seeds(fz_seed_dir(), ca);
    cs_cert_free(ca); /* the responder keeps its own references */
    cs_key_free(key);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cs_http_reply reply;
    unsigned char *der = NULL;
    size_t len = 0;
    char *text;
    cs_err err;

    if (cs_ocsp_respond(responder, data, size, &der, &len, &err) == CS_OK)
        free(der);
    der = NULL;
    if (cs_ocsp_decode_get((const char *)data, size, &der, &len, &err) == CS_OK)
        free(der);
    text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        cs_ocsp_http(responder, "GET", text, NULL, 0, &reply, &err);
        free(reply.body);
        free(text);
    }
    return 0;
}
