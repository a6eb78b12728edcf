/* Certificate revocation lists: a v2 CRL built from the store's revoked
 * entries and signed by the CA, as RFC 5280 5 describes it.
 *
 * Entries go in serial order (X509_CRL_sort), so the same revocations give
 * the same bytes but for the times, the number and the signature. Expired
 * certificates stay listed: RFC 5280 5 allows dropping them, but keeping
 * them costs a few bytes and answers a verifier that checks at a past time. */
#include "crl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "file.h"
#include "internal.h"

#define CRL_FILE_MAX (64u << 20) /* 64 MiB: about a million entries */

struct cs_crl {
    X509_CRL *crl;
};

static cs_code wrap(X509_CRL **crl, cs_crl **out, cs_err *err)
{
    cs_crl *c = malloc(sizeof *c);

    if (!c)
        return cs_err_set(err, CS_ENOMEM, "CRL: out of memory");
    c->crl = *crl;
    *crl = NULL;
    *out = c;
    return CS_OK;
}

void cs_crl_free(cs_crl *crl)
{
    if (!crl)
        return;
    X509_CRL_free(crl->crl);
    free(crl);
}

/* ---- building ---- */

/* The serial as stored (hex) as an ASN1_INTEGER; NULL if not hex, too long
 * or zero. */
static ASN1_INTEGER *serial_integer(const char *hex)
{
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    size_t i, len = strlen(hex);

    if (len == 0 || len > 40)
        return NULL;
    for (i = 0; i < len; i++)
        if (!isxdigit((unsigned char)hex[i]))
            return NULL;
    if (BN_hex2bn(&bn, hex) == (int)len && !BN_is_zero(bn))
        ai = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return ai;
}

static cs_code add_entry(X509_CRL *crl, const cs_revoked *e, size_t i, cs_err *err)
{
    X509_REVOKED *r = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = NULL;
    ASN1_ENUMERATED *reason = NULL;
    cs_code rc = CS_OK;

    if (e->reason != 0 && !cs_crl_reason_name(e->reason)) {
        rc = cs_err_set(err, CS_EINVAL, "CRL entry %zu (serial %s): reason %d is not allowed",
                        i + 1, e->serial_hex, e->reason);
        goto done;
    }
    serial = serial_integer(e->serial_hex);
    if (!serial) {
        ERR_clear_error();
        rc = cs_err_set(err, CS_EINVAL, "CRL entry %zu: serial '%.48s' is not a positive "
                        "hexadecimal number of at most 20 bytes", i + 1, e->serial_hex);
        goto done;
    }
    r = X509_REVOKED_new();
    when = ASN1_TIME_set(NULL, (time_t)e->revoked_at);
    if (!r || !when || X509_REVOKED_set_serialNumber(r, serial) != 1 ||
        X509_REVOKED_set_revocationDate(r, when) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CRL entry %zu (serial %s)", i + 1, e->serial_hex);
        goto done;
    }
    /* RFC 5280 5.3.1: the reason code SHOULD be absent rather than unspecified. */
    if (e->reason != 0) {
        reason = ASN1_ENUMERATED_new();
        if (!reason || ASN1_ENUMERATED_set(reason, e->reason) != 1 ||
            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) != 1) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "CRL entry %zu (serial %s): reasonCode", i + 1,
                             e->serial_hex);
            goto done;
        }
    }
    if (X509_CRL_add0_revoked(crl, r) != 1) {
        rc = cs_err_ossl(err, CS_ENOMEM, "CRL entry %zu: out of memory", i + 1);
        goto done;
    }
    r = NULL;
done:
    ASN1_ENUMERATED_free(reason);
    ASN1_TIME_free(when);
    ASN1_INTEGER_free(serial);
    X509_REVOKED_free(r);
    return rc;
}

/* The issuer may sign CRLs (RFC 5280 4.2.1.3 cRLSign, 4.2.1.9 a CA), holds
 * a subject key identifier for the AKI, and issuer_key is its key. */
static cs_code check_issuer(const cs_cert *issuer, const cs_key *issuer_key, cs_err *err)
{
    X509 *x = issuer->x509;
    uint32_t ku;
    cs_code rc = csi_key_need_private(issuer_key, "CRL issuer key", err);

    if (rc != CS_OK)
        return rc;
    /* X509_get_key_usage caches the extensions; a bad extension reads as none. */
    ku = X509_get_key_usage(x);
    if (X509_check_ca(x) < 1)
        return cs_err_set(err, CS_EINVAL, "CRL issuer: not a CA certificate");
    if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) && !(ku & KU_CRL_SIGN))
        return cs_err_set(err, CS_EINVAL, "CRL issuer: keyUsage lacks cRLSign "
                          "(RFC 5280 4.2.1.3)");
    if (!X509_get0_subject_key_id(x))
        return cs_err_set(err, CS_EINVAL, "CRL issuer: no subjectKeyIdentifier for the CRL's "
                          "authorityKeyIdentifier (RFC 5280 5.2.1)");
    if (cs_cert_check_key(issuer, issuer_key, err) != CS_OK)
        return cs_err_set(err, CS_EMISMATCH, "CRL issuer certificate and key do not match");
    return CS_OK;
}

cs_code cs_crl_sign(const cs_crl_params *p, const cs_cert *issuer, const cs_key *issuer_key,
                    cs_crl **out, cs_err *err)
{
    X509_CRL *crl = NULL;
    ASN1_TIME *this_t = NULL, *next_t = NULL;
    ASN1_INTEGER *number = NULL;
    AUTHORITY_KEYID *akid = NULL;
    EVP_MD_CTX *mctx = NULL;
    size_t i;
    cs_code rc = CS_OK;

    if (!p || !issuer || !issuer_key || !out || (p->revoked_len > 0 && !p->revoked))
        return cs_err_set(err, CS_EINVAL, "CRL: missing parameters, issuer or key");
    if (p->number <= 0)
        return cs_err_set(err, CS_EINVAL, "CRL number %lld: must be positive (RFC 5280 5.2.3)",
                          (long long)p->number);
    if (p->this_update <= 0 || p->next_update <= p->this_update)
        return cs_err_set(err, CS_EINVAL, "CRL: nextUpdate must come after thisUpdate");
    rc = check_issuer(issuer, issuer_key, err);
    if (rc != CS_OK)
        return rc;

    crl = X509_CRL_new();
    this_t = ASN1_TIME_set(NULL, (time_t)p->this_update);
    next_t = ASN1_TIME_set(NULL, (time_t)p->next_update);
    number = ASN1_INTEGER_new();
    akid = AUTHORITY_KEYID_new();
    if (!crl || !this_t || !next_t || !number || !akid) {
        rc = cs_err_ossl(err, CS_ENOMEM, "CRL: out of memory");
        goto done;
    }
    /* RFC 5280 5.1.2.1: v2 (the value 1), needed for extensions. */
    if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->x509)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, this_t) != 1 ||
        X509_CRL_set1_nextUpdate(crl, next_t) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CRL: cannot set issuer or times");
        goto done;
    }
    for (i = 0; i < p->revoked_len; i++) {
        rc = add_entry(crl, &p->revoked[i], i, err);
        if (rc != CS_OK)
            goto done;
    }
    if (X509_CRL_sort(crl) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CRL: sorting entries");
        goto done;
    }
    /* RFC 5280 5.2.3 cRLNumber and 5.2.1 authorityKeyIdentifier: MUST, non-critical. */
    akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(issuer->x509));
    if (ASN1_INTEGER_set_int64(number, p->number) != 1 || !akid->keyid ||
        X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CRL: extensions");
        goto done;
    }
    mctx = EVP_MD_CTX_new();
    if (!mctx) {
        rc = cs_err_ossl(err, CS_ENOMEM, "CRL: out of memory");
        goto done;
    }
    if (EVP_DigestSignInit_ex(mctx, NULL, cs_key_digest_name(issuer_key), NULL, NULL,
                              issuer_key->pkey, NULL) != 1 ||
        X509_CRL_sign_ctx(crl, mctx) <= 0) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CRL: signing");
        goto done;
    }
    rc = wrap(&crl, out, err);
done:
    EVP_MD_CTX_free(mctx);
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(number);
    ASN1_TIME_free(next_t);
    ASN1_TIME_free(this_t);
    X509_CRL_free(crl);
    return rc;
}

/* ---- loading and encoding ---- */

static void *decode_crl(BIO *bio, const unsigned char **der, long len, void *arg)
{
    (void)arg;
    return bio ? PEM_read_bio_X509_CRL(bio, NULL, csi_pem_no_prompt, NULL)
               : d2i_X509_CRL(NULL, der, len);
}

static const csi_pem_der crl_format = {decode_crl, "the DER CRL", "not a PEM or DER CRL"};

cs_code cs_crl_load(const char *data, size_t len, const char *what, cs_crl **out, cs_err *err)
{
    void *obj = NULL;
    X509_CRL *crl;
    cs_code rc;

    if (!what)
        what = "CRL";
    rc = csi_load_pem_der(data, len, out, what, &crl_format, NULL, &obj, err);
    crl = obj;
    if (rc == CS_OK)
        rc = wrap(&crl, out, err);
    X509_CRL_free(crl);
    return rc;
}

cs_code cs_crl_load_file(const char *path, cs_crl **out, cs_err *err)
{
    char *data = NULL;
    size_t len = 0;
    cs_code rc;

    if (!path || !out)
        return cs_err_set(err, CS_EINVAL, "CRL: no file name");
    rc = cs_file_read(path, CRL_FILE_MAX, &data, &len, err);
    if (rc == CS_OK)
        rc = cs_crl_load(data, len, path, out, err);
    cs_file_free(data, len);
    return rc;
}

static int write_crl(BIO *bio, const void *crl)
{
    return PEM_write_bio_X509_CRL(bio, (X509_CRL *)crl);
}

cs_code cs_crl_pem(const cs_crl *crl, char **out, size_t *len, cs_err *err)
{
    if (!crl || !out || !len)
        return cs_err_set(err, CS_EINVAL, "CRL: none");
    return csi_pem_encode(write_crl, crl->crl, "CRL", "CRL: encoding PEM", out, len, err);
}

cs_code cs_crl_der(const cs_crl *crl, unsigned char **out, size_t *len, cs_err *err)
{
    if (!crl || !out || !len)
        return cs_err_set(err, CS_EINVAL, "CRL: none");
    return csi_der_encode(crl->crl, ASN1_ITEM_rptr(X509_CRL), "CRL", out, len, err);
}

cs_code cs_crl_save(const cs_crl *crl, const char *der_path, const char *pem_path,
                    int overwrite, cs_err *err)
{
    unsigned char *der = NULL;
    char *pem = NULL;
    size_t der_len = 0, pem_len = 0, n = 0;
    cs_file_out files[2];
    cs_code rc = CS_OK;

    if (!crl || (!der_path && !pem_path))
        return cs_err_set(err, CS_EINVAL, "CRL: no CRL or no file name");
    if (der_path) {
        rc = cs_crl_der(crl, &der, &der_len, err);
        if (rc != CS_OK)
            goto done;
        files[n++] = (cs_file_out){der_path, der, der_len, 0644, overwrite};
    }
    if (pem_path) {
        rc = cs_crl_pem(crl, &pem, &pem_len, err);
        if (rc != CS_OK)
            goto done;
        files[n++] = (cs_file_out){pem_path, pem, pem_len, 0644, overwrite};
    }
    rc = cs_file_write_all(files, n, err);
done:
    free(pem);
    free(der);
    return rc;
}

cs_code cs_crl_verify(const cs_crl *crl, const cs_cert *issuer, cs_err *err)
{
    EVP_PKEY *pub;
    int ok;

    if (!crl || !issuer)
        return cs_err_set(err, CS_EINVAL, "CRL: no CRL or issuer");
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl->crl), X509_get_subject_name(issuer->x509)) != 0)
        return cs_err_set(err, CS_EVERIFY, "CRL issuer name does not match the certificate's "
                          "subject");
    pub = X509_get0_pubkey(issuer->x509);
    ERR_set_mark();
    ok = pub && X509_CRL_verify(crl->crl, pub) == 1;
    ERR_pop_to_mark();
    if (!ok)
        return cs_err_set(err, CS_EVERIFY, "CRL signature does not verify with the issuer's "
                          "key");
    return CS_OK;
}

/* ---- inspecting ---- */

void cs_crl_info_free(cs_crl_info *info)
{
    if (!info)
        return;
    free(info->issuer);
    free(info->authority_key_id);
    free(info->signature_algorithm);
    free(info->revoked);
    free(info);
}

/* The reasonCode of an entry: 0 when absent; -1 when it does not parse. */
static int entry_reason(const X509_REVOKED *r)
{
    int crit = -1, reason = 0;
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);

    if (e) {
        reason = (int)ASN1_ENUMERATED_get(e);
        ASN1_ENUMERATED_free(e);
    } else if (crit != -1) {
        reason = -1;
    }
    return reason;
}

/* The revoked entries into info: 1, 0 when one cannot be read, -1 when out
 * of memory. */
static int fill_entries(cs_crl_info *info, X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
    int i, n = sk_X509_REVOKED_num(revs);

    if (n <= 0)
        return 1;
    info->revoked = calloc((size_t)n, sizeof *info->revoked);
    if (!info->revoked)
        return -1;
    for (i = 0; i < n; i++) {
        const X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
        cs_revoked *e = &info->revoked[i];
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        /* BN_bn2hex writes whole bytes, upper case: the store's form */
        int ok = hex && hex[0] != '-' && strlen(hex) < sizeof e->serial_hex;

        if (ok)
            memcpy(e->serial_hex, hex, strlen(hex) + 1);
        OPENSSL_free(hex);
        BN_free(bn);
        if (!ok || !csi_asn1_time_unix(X509_REVOKED_get0_revocationDate(r), &e->revoked_at))
            return 0;
        e->reason = entry_reason(r);
        if (e->reason < 0)
            return 0;
        info->revoked_len++;
    }
    return 1;
}

cs_code cs_crl_get_info(const cs_crl *crl, cs_crl_info **out, cs_err *err)
{
    cs_crl_info *info = NULL;
    X509_CRL *c;
    ASN1_INTEGER *number = NULL;
    AUTHORITY_KEYID *akid = NULL;
    const ASN1_TIME *next;
    int crit = -1;
    cs_code rc = CS_EINVAL;
    const char *what = "dates";

    if (!crl || !out)
        return cs_err_set(err, CS_EINVAL, "CRL info: no CRL");
    c = crl->crl;
    info = calloc(1, sizeof *info);
    if (!info)
        goto nomem;
    info->version = (int)X509_CRL_get_version(c) + 1;
    info->issuer = csi_name_oneline(X509_CRL_get_issuer(c));
    info->signature_algorithm =
        strdup(OBJ_nid2ln(X509_CRL_get_signature_nid(c)) ? OBJ_nid2ln(X509_CRL_get_signature_nid(c))
                                                         : "unknown");
    if (!info->issuer || !info->signature_algorithm)
        goto nomem;
    if (!csi_asn1_time_unix(X509_CRL_get0_lastUpdate(c), &info->this_update))
        goto bad;
    next = X509_CRL_get0_nextUpdate(c);
    if (next && !csi_asn1_time_unix(next, &info->next_update))
        goto bad;
    what = "cRLNumber";
    info->number = -1;
    number = X509_CRL_get_ext_d2i(c, NID_crl_number, &crit, NULL);
    if (number) {
        if (ASN1_INTEGER_get_int64(&info->number, number) != 1)
            goto bad;
    } else if (crit != -1) {
        goto bad;
    }
    what = "authorityKeyIdentifier";
    crit = -1;
    akid = X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, &crit, NULL);
    if (akid && akid->keyid) {
        int n = ASN1_STRING_length(akid->keyid);
        info->authority_key_id = malloc((size_t)n * 2 + 1);
        if (!info->authority_key_id)
            goto nomem;
        csi_hex_lower(ASN1_STRING_get0_data(akid->keyid), (size_t)n, info->authority_key_id);
    } else if (!akid && crit != -1) {
        goto bad;
    }
    what = "revoked entries";
    switch (fill_entries(info, c)) {
    case -1:
        goto nomem;
    case 0:
        goto bad;
    }
    *out = info;
    info = NULL;
    rc = CS_OK;
    goto done;
nomem:
    rc = cs_err_set(err, CS_ENOMEM, "CRL info: out of memory");
    goto done;
bad:
    rc = cs_err_set(err, CS_EINVAL, "CRL info: %s: cannot be read", what);
done:
    ERR_clear_error();
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(number);
    cs_crl_info_free(info);
    return rc;
}
