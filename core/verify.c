/* cs_cert_verify: a chain up to a trust anchor, strictly, for a host or an IP;
 * cs_cert_verify_anchored: the same up to one certificate the caller vouches for. */
#include "cert.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* Is host an IPv4 or IPv6 literal? Then it is matched against IP SANs only. */
static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* partial: the chain may end at any certificate of roots, self-signed or not
 * (X509_V_FLAG_PARTIAL_CHAIN); every other check stays. */
static cs_code verify_chain(const cs_cert *leaf, const cs_cert *const *untrusted,
                            size_t untrusted_len, const cs_cert *const *roots, size_t roots_len,
                            int partial, const char *host, int64_t at_time, cs_err *err)
{
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *chain = NULL;
    X509_VERIFY_PARAM *param;
    cs_code rc = CS_ECRYPTO;
    size_t i;
    int ok;

    if (!leaf || !leaf->x509)
        return cs_err_set(err, CS_EINVAL, "verify: no certificate to verify");
    if (roots_len == 0 || !roots)
        return cs_err_set(err, CS_EINVAL, "verify: no trust anchor");
    if (untrusted_len > 0 && !untrusted)
        return cs_err_set(err, CS_EINVAL, "verify: untrusted certificates missing");
    if (host && !*host)
        return cs_err_set(err, CS_EINVAL, "verify: empty host name");

    store = X509_STORE_new();
    chain = sk_X509_new_null();
    ctx = X509_STORE_CTX_new();
    if (!store || !chain || !ctx) {
        rc = cs_err_ossl(err, CS_ENOMEM, "verify: out of memory");
        goto done;
    }
    for (i = 0; i < roots_len; i++) {
        if (!roots[i] || !roots[i]->x509) {
            rc = cs_err_set(err, CS_EINVAL, "verify: root %zu is missing", i + 1);
            goto done;
        }
        /* Adds a reference; a root given twice is not an error. */
        if (!X509_STORE_add_cert(store, roots[i]->x509)) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "verify: adding root %zu", i + 1);
            goto done;
        }
    }
    for (i = 0; i < untrusted_len; i++) {
        if (!untrusted[i] || !untrusted[i]->x509) {
            rc = cs_err_set(err, CS_EINVAL, "verify: untrusted certificate %zu is missing",
                            i + 1);
            goto done;
        }
        /* The stack borrows: freed with sk_X509_free, not sk_X509_pop_free. */
        if (!sk_X509_push(chain, untrusted[i]->x509)) {
            rc = cs_err_ossl(err, CS_ENOMEM, "verify: out of memory");
            goto done;
        }
    }
    if (!X509_STORE_CTX_init(ctx, store, leaf->x509, chain)) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "verify: setting up");
        goto done;
    }

    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    if (partial)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (at_time != 0) {
        if ((int64_t)(time_t)at_time != at_time) {
            rc = cs_err_set(err, CS_EINVAL, "verify: time %lld out of range",
                            (long long)at_time);
            goto done;
        }
        X509_VERIFY_PARAM_set_time(param, (time_t)at_time); /* sets USE_CHECK_TIME */
    }
    if (host) {
        ok = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                                 : X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (!ok) {
            rc = cs_err_ossl(err, CS_EINVAL, "verify: bad host name \"%s\"", host);
            goto done;
        }
        /* No wildcard matching across labels, no partial wildcards ("f*.example"). */
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }

    ok = X509_verify_cert(ctx);
    if (ok != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        X509 *current = X509_STORE_CTX_get_current_cert(ctx);
        char *subject = current ? csi_name_oneline(X509_get_subject_name(current)) : NULL;
        if (e == X509_V_OK) /* failed before any check, e.g. out of memory */
            rc = cs_err_ossl(err, CS_EVERIFY, "verify: could not build the chain");
        else if (subject && subject[0])
            rc = cs_err_set(err, CS_EVERIFY, "verify: %s (depth %d, subject %s)",
                            X509_verify_cert_error_string(e), depth, subject);
        else
            rc = cs_err_set(err, CS_EVERIFY, "verify: %s (depth %d)",
                            X509_verify_cert_error_string(e), depth);
        free(subject);
        goto done;
    }
    rc = CS_OK;

done:
    ERR_clear_error(); /* whatever the path, the queue ends empty */
    X509_STORE_CTX_free(ctx);
    sk_X509_free(chain);
    X509_STORE_free(store);
    return rc;
}

cs_code cs_cert_verify(const cs_cert *leaf, const cs_cert *const *untrusted,
                       size_t untrusted_len, const cs_cert *const *roots, size_t roots_len,
                       const char *host, int64_t at_time, cs_err *err)
{
    return verify_chain(leaf, untrusted, untrusted_len, roots, roots_len, 0, host, at_time, err);
}

cs_code cs_cert_verify_anchored(const cs_cert *leaf, const cs_cert *const *untrusted,
                                size_t untrusted_len, const cs_cert *anchor, const char *host,
                                int64_t at_time, cs_err *err)
{
    if (!anchor || !anchor->x509)
        return cs_err_set(err, CS_EINVAL, "verify: no anchor");
    /* The only trusted certificate: the chain cannot end anywhere else. */
    return verify_chain(leaf, untrusted, untrusted_len, &anchor, 1, 1, host, at_time, err);
}

cs_code cs_cert_issued_by(const cs_cert *cert, const cs_cert *issuer, cs_err *err)
{
    EVP_PKEY *pub;
    int e, ok;

    if (!cert || !cert->x509 || !issuer || !issuer->x509)
        return cs_err_set(err, CS_EINVAL, "issued by: no certificate");
    /* Names, key identifiers and the issuer's keyCertSign, as chain building does. */
    e = X509_check_issued(issuer->x509, cert->x509);
    if (e != X509_V_OK) {
        ERR_clear_error();
        return cs_err_set(err, CS_EVERIFY, "%s", X509_verify_cert_error_string(e));
    }
    ERR_set_mark(); /* an unreadable issuer key is just "does not verify" */
    pub = X509_get0_pubkey(issuer->x509);
    ok = pub && X509_verify(cert->x509, pub) == 1;
    ERR_pop_to_mark();
    if (!ok)
        return cs_err_set(err, CS_EVERIFY, "signature does not verify with the issuer's key");
    return CS_OK;
}
