/* CSRs: load (PEM or DER) and verify their signature, inspect what they ask
 * for, create one for a key. What a CSR asks for is only a request: policy and
 * the profile decide what is issued; this file reports it faithfully. */
#include "csr.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "file.h"
#include "internal.h"
#include "name.h"

/* A CSR file larger than this is not a CSR. */
#define CSR_FILE_MAX (1024 * 1024)

struct cs_csr {
    X509_REQ *req;
    cs_key *key; /* its public key, public only; checked supported at load */
    /* Read the fast way (csr_parse.c): the DER as read, where its signed
     * part lies, its digest. NULL der: read by d2i_X509_REQ, or made here. */
    unsigned char *der;
    size_t der_len, cri_off, cri_len;
    int md_nid;
};

void cs_csr_free(cs_csr *csr)
{
    if (!csr)
        return;
    cs_key_free(csr->key);
    X509_REQ_free(csr->req);
    free(csr->der);
    free(csr);
}

cs_code cs_csr_verify(const cs_csr *csr, const char *what, cs_err *err)
{
    EVP_PKEY *pkey;
    int r;

    if (!what)
        what = "CSR";
    if (!csr)
        return cs_err_set(err, CS_EINVAL, "%s: no CSR", what);
    if (csr->der) {
        const ASN1_BIT_STRING *sig = NULL;
        X509_REQ_get0_signature(csr->req, &sig, NULL);
        r = csi_csr_verify_signed(csr->key->pkey, csr->md_nid, csr->der + csr->cri_off,
                                  csr->cri_len, sig);
    } else {
        pkey = X509_REQ_get0_pubkey(csr->req);
        if (!pkey)
            return cs_err_ossl(err, CS_EINVAL, "%s: CSR has no readable public key", what);
        r = X509_REQ_verify_ex(csr->req, pkey, NULL, NULL);
    }
    if (r != 1) {
        /* 0: a signature that does not match; < 0: one that cannot even be
         * checked. Either way the requester has not shown it holds the key. */
        ERR_clear_error();
        return cs_err_set(err, CS_EVERIFY,
                          "%s: CSR signature does not verify (proof of possession failed)",
                          what);
    }
    return CS_OK;
}

/* Take ownership of *req: check its key and signature, then wrap it. */
static cs_code wrap(X509_REQ **req, const char *what, cs_csr **out, cs_err *err)
{
    cs_csr *csr = NULL;
    EVP_PKEY *pkey = X509_REQ_get0_pubkey(*req);
    cs_code rc;

    if (!pkey)
        return cs_err_ossl(err, CS_EINVAL, "%s: CSR has no readable public key", what);
    csr = calloc(1, sizeof *csr);
    if (!csr)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    csr->req = *req;
    rc = cs_csr_verify(csr, what, err);
    if (rc == CS_OK)
        rc = csi_key_from_public(pkey, what, &csr->key, err);
    if (rc != CS_OK) {
        csr->req = NULL; /* still the caller's */
        cs_csr_free(csr);
        return rc;
    }
    *req = NULL;
    *out = csr;
    return CS_OK;
}

/* What decode_req read: a CSR the fast way (fast.req set) or d2i_X509_REQ's. */
typedef struct loaded {
    X509_REQ *req;
    csi_csr_parsed fast;
    unsigned char *der; /* the fast CSR's DER, copied */
    size_t der_len;
} loaded;

static void loaded_free(loaded *l)
{
    if (!l)
        return;
    X509_REQ_free(l->req);
    csi_csr_parsed_free(&l->fast);
    free(l->der);
    free(l);
}

/* The CSR in the DER at *der (len bytes; *der moves past it): the fast way
 * when it reads it, else d2i_X509_REQ. NULL when neither does. */
static loaded *read_req(const unsigned char **der, long len)
{
    loaded *l = calloc(1, sizeof *l);
    long used = 0;

    if (!l)
        return NULL;
    if (csi_csr_parse(*der, len, &used, &l->fast)) {
        l->der = malloc((size_t)used);
        if (!l->der) {
            loaded_free(l);
            return NULL;
        }
        memcpy(l->der, *der, (size_t)used);
        l->der_len = (size_t)used;
        l->fast.cri = l->der + (l->fast.cri - *der);
        *der += used;
        return l;
    }
    l->req = d2i_X509_REQ(NULL, der, len);
    if (!l->req) {
        free(l);
        return NULL;
    }
    return l;
}

static void *decode_req(BIO *bio, const unsigned char **der, long len, void *arg)
{
    unsigned char *data = NULL;
    const unsigned char *p;
    long dlen = 0;
    loaded *l;

    (void)arg;
    if (!bio)
        return read_req(der, len);
    /* PEM also takes the older "NEW CERTIFICATE REQUEST" label */
    if (PEM_bytes_read_bio(&data, &dlen, NULL, PEM_STRING_X509_REQ, bio, csi_pem_no_prompt,
                           NULL) != 1)
        return NULL;
    p = data;
    l = read_req(&p, dlen);
    OPENSSL_free(data);
    return l;
}

static const csi_pem_der req_format = {decode_req, "the DER CSR",
                                      "not a PEM or DER certificate request"};

/* A CSR read the fast way into a cs_csr: its signature checked over the
 * bytes as read, its key kept with the curve's parameters for signing. */
static cs_code wrap_fast(loaded *l, const char *what, cs_csr **out, cs_err *err)
{
    cs_csr *csr = calloc(1, sizeof *csr);
    cs_code rc;

    if (!csr)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    csr->req = l->fast.req;
    l->fast.req = NULL;
    csr->der = l->der;
    l->der = NULL;
    csr->der_len = l->der_len;
    csr->cri_off = (size_t)(l->fast.cri - csr->der);
    csr->cri_len = l->fast.cri_len;
    csr->md_nid = l->fast.md_nid;
    rc = csi_key_from_public(l->fast.key, what, &csr->key, err);
    if (rc == CS_OK && EVP_PKEY_up_ref(l->fast.ec_params) == 1) {
        const unsigned char *point;
        int point_len;

        csr->key->ec_params = l->fast.ec_params;
        /* the SPKI's point as read (csi_csr_parse set it, no key object) */
        if (X509_PUBKEY_get0_param(NULL, &point, &point_len, NULL,
                                   X509_REQ_get_X509_PUBKEY(csr->req)) == 1 && point_len > 0)
            csi_key_keep_point(csr->key, point, (size_t)point_len);
    }
    if (rc == CS_OK)
        rc = cs_csr_verify(csr, what, err);
    if (rc != CS_OK) {
        cs_csr_free(csr);
        return rc;
    }
    *out = csr;
    return CS_OK;
}

cs_code cs_csr_load(const char *data, size_t len, const char *what, cs_csr **out, cs_err *err)
{
    void *obj = NULL;
    loaded *l;
    cs_code rc;

    if (!what)
        what = "CSR";
    rc = csi_load_pem_der(data, len, out, what, &req_format, NULL, &obj, err);
    l = obj;
    if (rc == CS_OK)
        rc = l->fast.req ? wrap_fast(l, what, out, err) : wrap(&l->req, what, out, err);
    loaded_free(l);
    return rc;
}

cs_code cs_csr_load_file(const char *path, cs_csr **out, cs_err *err)
{
    char *data = NULL;
    size_t len = 0;
    cs_code rc;

    rc = cs_file_read(path, CSR_FILE_MAX, &data, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_csr_load(data, len, path, out, err);
    cs_file_free(data, len);
    return rc;
}

/* ---- creating ---- */

static cs_code add_san_request(X509_REQ *req, const cs_name *names, size_t n, cs_err *err)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gen = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_EXTENSION *ext = NULL;
    cs_code rc = CS_OK;

    if (!gens) {
        rc = cs_err_ossl(err, CS_ENOMEM, "subjectAltName: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rc = cs_name_general(&names[i], 0, "subjectAltName", &gen, err);
        if (rc != CS_OK)
            goto done;
        if (!sk_GENERAL_NAME_push(gens, gen)) {
            rc = cs_err_ossl(err, CS_ENOMEM, "subjectAltName: out of memory");
            goto done;
        }
        gen = NULL;
    }
    ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    exts = sk_X509_EXTENSION_new_null();
    if (!ext || !exts || !sk_X509_EXTENSION_push(exts, ext)) {
        rc = cs_err_ossl(err, CS_ENOMEM, "subjectAltName: out of memory");
        goto done;
    }
    ext = NULL;
    if (X509_REQ_add_extensions(req, exts) != 1)
        rc = cs_err_ossl(err, CS_ECRYPTO, "subjectAltName: cannot add the extension request");
done:
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(gens);
    return rc;
}

cs_code cs_csr_create(const cs_key *key, const cs_rdn *subject, size_t subject_len,
                      const cs_name *names, size_t names_len, cs_csr **out, cs_err *err)
{
    X509_REQ *req = NULL;
    X509_NAME *name = NULL;
    EVP_MD_CTX *mctx = NULL;
    cs_code rc;

    if (!key || !out || (subject_len > 0 && !subject) || (names_len > 0 && !names))
        return cs_err_set(err, CS_EINVAL, "CSR: missing key, subject or names");
    rc = csi_key_need_private(key, "CSR key", err);
    if (rc != CS_OK)
        return rc;
    rc = csi_subject_build(subject, subject_len, &name, err);
    if (rc != CS_OK)
        return rc;
    req = X509_REQ_new();
    if (!req) {
        rc = cs_err_ossl(err, CS_ENOMEM, "CSR: out of memory");
        goto done;
    }
    if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
        X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key->pkey) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CSR: cannot set the subject or key");
        goto done;
    }
    if (names_len > 0) {
        rc = add_san_request(req, names, names_len, err);
        if (rc != CS_OK)
            goto done;
    }
    mctx = EVP_MD_CTX_new();
    if (!mctx) {
        rc = cs_err_ossl(err, CS_ENOMEM, "CSR: out of memory");
        goto done;
    }
    if (EVP_DigestSignInit_ex(mctx, NULL, cs_key_digest_name(key), NULL, NULL, key->pkey,
                              NULL) != 1 ||
        X509_REQ_sign_ctx(req, mctx) <= 0) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "CSR: signing");
        goto done;
    }
    rc = wrap(&req, "CSR", out, err);
done:
    EVP_MD_CTX_free(mctx);
    X509_REQ_free(req);
    X509_NAME_free(name);
    return rc;
}

/* ---- reading ---- */

cs_code cs_csr_public_key(const cs_csr *csr, cs_key **out, cs_err *err)
{
    cs_code rc;

    if (!csr || !out)
        return cs_err_set(err, CS_EINVAL, "CSR: none");
    rc = csi_key_from_public(csr->key->pkey, "CSR", out, err);
    /* the curve's parameters go along: signing for this key copies them */
    if (rc == CS_OK && csr->key->ec_params && EVP_PKEY_up_ref(csr->key->ec_params) == 1) {
        (*out)->ec_params = csr->key->ec_params;
        if (csr->key->ec_point)
            csi_key_keep_point(*out, csr->key->ec_point, csr->key->ec_point_len);
    }
    return rc;
}

static int write_req(BIO *bio, const void *req)
{
    return PEM_write_bio_X509_REQ(bio, req);
}

/* A CSR read the fast way is written as it was read. */
static int write_csr(BIO *bio, const void *obj)
{
    const cs_csr *csr = obj;

    if (!csr->der)
        return write_req(bio, csr->req);
    return PEM_write_bio(bio, PEM_STRING_X509_REQ, "", csr->der, (long)csr->der_len) > 0;
}

cs_code cs_csr_pem(const cs_csr *csr, char **out, size_t *len, cs_err *err)
{
    if (!csr || !out || !len)
        return cs_err_set(err, CS_EINVAL, "CSR: none");
    return csi_pem_encode(write_csr, csr, "CSR", "CSR: encoding PEM", out, len, err);
}

cs_code cs_csr_der(const cs_csr *csr, unsigned char **out, size_t *len, cs_err *err)
{
    if (!csr || !out || !len)
        return cs_err_set(err, CS_EINVAL, "CSR: none");
    if (csr->der) {
        *out = malloc(csr->der_len);
        if (!*out)
            return cs_err_set(err, CS_ENOMEM, "CSR: out of memory");
        memcpy(*out, csr->der, csr->der_len);
        *len = csr->der_len;
        return CS_OK;
    }
    return csi_der_encode(csr->req, ASN1_ITEM_rptr(X509_REQ), "CSR", out, len, err);
}

void cs_csr_info_free(cs_csr_info *info)
{
    if (!info)
        return;
    free(info->subject);
    csi_info_free_rdns(info->subject_rdns, info->subject_rdns_len);
    csi_names_free(info->names, info->names_len);
    for (size_t i = 0; info->ext_key_usage.purposes && i < info->ext_key_usage.len; i++)
        free(info->ext_key_usage.purposes[i]);
    free(info->ext_key_usage.purposes);
    for (size_t i = 0; info->extensions && i < info->extensions_len; i++)
        free(info->extensions[i]);
    free(info->extensions);
    free(info->signature_algorithm);
    free(info);
}

/* An info.c reader's result: 1 read; else failed, naming the extension in
 * *bad when it does not parse (-1), not when out of memory (0). */
static int failed(int ok, const char *name, const char **bad)
{
    if (ok < 0)
        *bad = name;
    return ok != 1;
}

/* Fill what the extension request asks for (read as info.c reads a
 * certificate's); the name of the extension that does not parse in *bad,
 * or 0 when out of memory. */
static int fill_requested(cs_csr_info *info, const STACK_OF(X509_EXTENSION) *exts,
                          const char **bad)
{
    BASIC_CONSTRAINTS *bc;
    GENERAL_NAMES *gens;
    int crit = -1, ok;

    bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL); /* -1: absent */
    if (!bc && crit != -1) {
        *bad = "basicConstraints";
        return 0;
    }
    info->ca = bc && bc->ca;
    BASIC_CONSTRAINTS_free(bc);

    if (failed(csi_info_key_usage(exts, &info->key_usage.present, &info->key_usage.critical,
                                 &info->key_usage.bits), "keyUsage", bad) ||
        failed(csi_info_ext_key_usage(exts, &info->ext_key_usage.present,
                                     &info->ext_key_usage.critical,
                                     &info->ext_key_usage.purposes, &info->ext_key_usage.len),
               "extendedKeyUsage", bad))
        return 0;

    gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
    if (!gens && crit != -1) {
        *bad = "subjectAltName";
        return 0;
    }
    if (gens) {
        ok = csi_info_general_names(gens, &info->names, &info->names_len);
        GENERAL_NAMES_free(gens);
        if (!ok)
            return 0;
    }
    return csi_info_ext_names(exts, &info->extensions, &info->extensions_len);
}

cs_code cs_csr_get_info(const cs_csr *csr, cs_csr_info **out, cs_err *err)
{
    cs_csr_info *info = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    const char *bad = NULL;
    cs_code rc = CS_OK;

    if (!csr || !out)
        return cs_err_set(err, CS_EINVAL, "CSR info: no CSR");
    info = calloc(1, sizeof *info);
    if (!info)
        return cs_err_set(err, CS_ENOMEM, "CSR info: out of memory");
    info->subject = csi_name_oneline(X509_REQ_get_subject_name(csr->req));
    if (!info->subject ||
        !csi_info_rdns(X509_REQ_get_subject_name(csr->req), &info->subject_rdns,
                      &info->subject_rdns_len)) {
        rc = cs_err_set(err, CS_ENOMEM, "CSR info: out of memory");
        goto done;
    }
    X509_REQ_get0_signature(csr->req, NULL, &alg);
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    info->signature_algorithm = obj ? csi_info_obj_name(obj) : NULL;
    if (!info->signature_algorithm) {
        rc = cs_err_set(err, CS_ENOMEM, "CSR info: out of memory");
        goto done;
    }
    info->key_type = cs_key_type(csr->key);
    info->key_curve = cs_key_curve(csr->key);
    info->key_bits = cs_key_bits(csr->key);
    rc = cs_key_fingerprint(csr->key, info->key_fingerprint, err);
    if (rc != CS_OK)
        goto done;

    /* No extension request at all is fine: NULL with an empty error queue. */
    ERR_set_mark();
    exts = X509_REQ_get_extensions(csr->req);
    if (!exts && ERR_peek_last_error() != 0) {
        ERR_clear_last_mark();
        rc = cs_err_ossl(err, CS_EINVAL, "CSR: extensionRequest: cannot be read");
        goto done;
    }
    ERR_pop_to_mark();
    if (!fill_requested(info, exts, &bad)) {
        if (bad)
            rc = cs_err_ossl(err, CS_EINVAL, "CSR: requested %s: cannot be read", bad);
        else
            rc = cs_err_set(err, CS_ENOMEM, "CSR info: out of memory");
        goto done;
    }
    *out = info;
    info = NULL;
done:
    ERR_clear_error();
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    cs_csr_info_free(info);
    return rc;
}
