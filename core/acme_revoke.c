/* revokeCert (RFC 8555 7.6): signed by the account that ordered the
 * certificate (kid), or by the certificate's own key (jwk). C checks who
 * may revoke what; the Lua side revokes (the store, CRL and OCSP) and
 * answers. An account holding authorizations for every name of a
 * certificate it did not order may not revoke it here (7.6 allows it; we
 * keep to the owner and the key). */
#include "acme_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "internal.h"

/* RFC 5280 5.3.1 reasons a subscriber may give (Boulder's set): not
 * cACompromise, aACompromise (the CA's), certificateHold, removeFromCRL. */
static int reason_allowed(json_int_t reason)
{
    return reason == 0 || reason == 1 || reason == 3 || reason == 4 || reason == 5 ||
           reason == 9;
}

/* Whether der is, byte for byte, the certificate stored as pem. */
static int same_certificate(const char *pem, const unsigned char *der, size_t der_len)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *stored = NULL;
    int n = x ? i2d_X509(x, &stored) : -1;
    int same = n > 0 && (size_t)n == der_len && memcmp(stored, der, der_len) == 0;

    OPENSSL_free(stored);
    X509_free(x);
    BIO_free(bio);
    return same;
}

void csi_acme_revoke(acme_req *r)
{
    json_error_t jerr;
    const char *b64 = NULL;
    json_int_t reason = 0;
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t der_len = 0;
    X509 *x = NULL;
    cs_cert c;
    char *serial = NULL, *pem = NULL;
    int64_t revoked_at = 0;
    cs_err err = {CS_OK, ""};
    csi_acme_order o;
    cs_acme_ask *ask = NULL;
    csi_answer *answer = NULL;
    int by_key;

    memset(&o, 0, sizeof o);
    if (csi_acme_authenticate(r, CSI_SIGNER_EITHER) != 0)
        return;
    by_key = !r->has_account;
    if (!r->payload || json_unpack_ex(r->payload, &jerr, 0, "{s:s, s?I}", "certificate", &b64,
                                      "reason", &reason) != 0) {
        csi_acme_problem(r, 400, "malformed", "revokeCert: the payload must be "
                         "{\"certificate\": base64url DER, \"reason\": integer}%s%s",
                         r->payload ? ": " : "", r->payload ? jerr.text : "");
        return;
    }
    if (!reason_allowed(reason)) {
        csi_acme_problem(r, 400, "badRevocationReason", "reason %lld: allowed are 0, 1, 3, 4, "
                         "5 and 9 (RFC 5280 5.3.1)", (long long)reason);
        return;
    }
    if (cs_b64url_decode(b64, strlen(b64), "certificate", &der, &der_len, &err) != CS_OK) {
        csi_acme_problem(r, 400, "malformed", "%s", err.msg);
        return;
    }
    p = der;
    x = d2i_X509(NULL, &p, (long)der_len);
    if (!x || p != der + der_len) {
        csi_acme_problem(r, 400, "malformed", "certificate: not one DER certificate");
        goto done;
    }
    c.x509 = x;
    serial = cs_cert_serial_hex(&c);
    if (!serial) {
        csi_acme_problem(r, 500, "serverInternal", "out of memory");
        goto done;
    }
    if (csi_acme_db_certificate(r->acme->db, serial, &pem, &revoked_at, &err) != CS_OK ||
        !same_certificate(pem, der, der_len)) {
        if (err.code == CS_OK || err.code == CS_ENOENT)
            csi_acme_problem(r, 404, "malformed", "certificate %s was not issued here", serial);
        else
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        goto done;
    }
    if (revoked_at != 0) {
        csi_acme_problem(r, 400, "alreadyRevoked", "certificate %s is revoked already", serial);
        goto done;
    }
    if (by_key) {
        if (EVP_PKEY_eq(X509_get0_pubkey(x), r->key->pkey) != 1) {
            csi_acme_problem(r, 403, "unauthorized", "the request is not signed by the "
                             "certificate's key");
            goto done;
        }
    } else {
        cs_code rc = csi_acme_db_order_by_serial(r->acme->db, serial, &o, &err);
        if (rc != CS_OK && rc != CS_ENOENT) {
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
            goto done;
        }
        if (rc == CS_ENOENT || strcmp(o.account, r->account.id) != 0) {
            csi_acme_problem(r, 403, "unauthorized", "certificate %s was not ordered by this "
                             "account", serial);
            goto done;
        }
    }
    if (by_key) {
        ask = calloc(1, sizeof *ask);
        if (ask)
            ask->kind = CS_ACME_ASK_REVOKE;
    } else {
        ask = csi_acme_ask_new(CS_ACME_ASK_REVOKE, &r->account);
    }
    if (ask) {
        ask->serial_hex = strdup(serial);
        ask->reason = (int)reason;
        ask->by = by_key ? "key" : "account";
        if (!ask->serial_hex) {
            cs_acme_ask_free(ask);
            ask = NULL;
        }
    }
    if (csi_acme_ask(r, ask, &answer) != 0)
        goto done;
    if (!answer->ok) {
        const char *type = answer->type ? answer->type : "unauthorized";
        csi_acme_problem(r, csi_acme_problem_status(type), type, "%s",
                         answer->detail ? answer->detail : "refused by policy");
        goto done;
    }
    free(r->out->body);
    r->out->body = NULL;
    r->out->body_len = 0;
    r->out->status = 200;
    r->out->content_type = "text/plain";
done:
    csi_answer_free(answer);
    csi_acme_order_clear(&o);
    free(pem);
    free(serial);
    X509_free(x);
    free(der);
}
