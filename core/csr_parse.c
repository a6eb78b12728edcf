/* Reading an EC CSR without OpenSSL 3.0's public-key decoder.
 *
 * Why: d2i_X509_REQ decodes the subjectPublicKeyInfo through an
 * OSSL_DECODER whose context it builds by walking every provider's decoders
 * (1.4 M instructions for a P-256 CSR, most of loading one), and verifying
 * the signature then exports that key again. Here the CSR is read piece by
 * piece with d2i of each piece; the key is a copy of the curve's parameters
 * (made once per process) with the CSR's point set into it, and the
 * signature is checked over the CertificationRequestInfo bytes as they came
 * (what PKCS #10 signs). Anything else, or anything unusual (BER, another
 * version, a key that is not EC on a named curve we support, parameters in
 * the signature algorithm), goes the general way: csi_csr_parse answers 0
 * and csr.c calls d2i_X509_REQ. */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "internal.h"

/* The curves the fast way knows, each with two parameter keys: a provider
 * one (its copies verify and sign) and an ASN.1-method one (cs_cert_sign's
 * public-key copy, struct cs_key's ec_params). Made once, kept for the
 * process's life. */
static struct {
    int nid;
    const char *name;
    EVP_PKEY *provider, *legacy;
} curves[] = {
    {NID_X9_62_prime256v1, "P-256", NULL, NULL},
    {NID_secp384r1, "P-384", NULL, NULL},
};
#define N_CURVES (sizeof curves / sizeof curves[0])
static CRYPTO_ONCE curves_once = CRYPTO_ONCE_STATIC_INIT;

static void curves_init(void)
{
    for (size_t i = 0; i < N_CURVES; i++) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        char *group = (char *)curves[i].name;
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
            OSSL_PARAM_END,
        };
        ERR_set_mark();
        if (ctx && EVP_PKEY_paramgen_init(ctx) == 1 && EVP_PKEY_CTX_set_params(ctx, params) == 1)
            (void)EVP_PKEY_paramgen(ctx, &curves[i].provider);
        curves[i].legacy = csi_ec_params(curves[i].name);
        ERR_pop_to_mark();
        EVP_PKEY_CTX_free(ctx);
    }
}

/* The index of the curve nid in curves, with both keys made; -1 if none. */
static int curve_index(int nid)
{
    if (!CRYPTO_THREAD_run_once(&curves_once, curves_init))
        return -1;
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].nid == nid && curves[i].provider && curves[i].legacy)
            return (int)i;
    return -1;
}

/* One DER element at *p (before end), definite length, of this tag in
 * the universal class (context: context-specific). *content, *clen: its
 * content; *p moves past it. 1, or 0. */
static int element(const unsigned char **p, const unsigned char *end, int tag, int context,
                   const unsigned char **content, long *clen)
{
    const unsigned char *q = *p;
    long len;
    int t, cls, r;

    if (q >= end)
        return 0;
    r = ASN1_get_object(&q, &len, &t, &cls, end - q);
    if ((r & 0x80) || r == 0x21 || t != tag ||
        cls != (context ? V_ASN1_CONTEXT_SPECIFIC : V_ASN1_UNIVERSAL) || len > end - q)
        return 0;
    *content = q;
    *clen = len;
    *p = q + len;
    return 1;
}

/* The next element of tag at *p, decoded by d2i, which must read it whole;
 * NULL otherwise. *p moves past it. */
static void *next(const unsigned char **p, const unsigned char *end, int tag,
                  void *(*d2i)(void *, const unsigned char **, long), void (*free_fn)(void *))
{
    const unsigned char *start = *p, *content, *q = start;
    long clen;
    void *v;

    if (!element(p, end, tag, 0, &content, &clen))
        return NULL;
    v = d2i(NULL, &q, *p - start);
    if (v && q != *p) {
        free_fn(v);
        v = NULL;
    }
    return v;
}

#define NEXT(type, p, end, tag)                                                              \
    ((type *)next(p, end, tag, (void *(*)(void *, const unsigned char **, long))d2i_##type, \
                  (void (*)(void *))type##_free))

void csi_csr_parsed_free(csi_csr_parsed *p)
{
    if (!p)
        return;
    X509_REQ_free(p->req);
    EVP_PKEY_free(p->key);
    memset(p, 0, sizeof *p);
}

/* A BIT STRING with no unused bits (a key's point, a signature). */
static int whole_bytes(const ASN1_BIT_STRING *b)
{
    return b && (b->flags & 0x07) == 0 && b->length > 0;
}

int csi_csr_parse(const unsigned char *der, long len, long *used, csi_csr_parsed *out)
{
    const unsigned char *p = der, *end, *c, *cri, *ci, *ci_end, *s, *s_end, *a, *a_end;
    long clen;
    ASN1_INTEGER *version = NULL;
    X509_NAME *subject = NULL;
    X509_ALGOR *key_alg = NULL, *sig_alg = NULL;
    ASN1_BIT_STRING *point = NULL, *sig = NULL;
    STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
    X509_REQ *req = NULL;
    EVP_PKEY *key = NULL;
    const ASN1_OBJECT *obj;
    const void *pval;
    unsigned char *penc = NULL;
    int ptype, curve, pk_nid = NID_undef, ok = 0;

    memset(out, 0, sizeof *out);
    ERR_set_mark();
    /* CertificationRequest ::= SEQUENCE { info, signatureAlgorithm, signature } */
    if (!element(&p, der + len, V_ASN1_SEQUENCE, 0, &c, &clen))
        goto done;
    *used = p - der;
    end = c + clen;
    /* CertificationRequestInfo ::= SEQUENCE { version 0, subject, SPKI, [0] attributes } */
    cri = c;
    if (!element(&c, end, V_ASN1_SEQUENCE, 0, &ci, &clen))
        goto done;
    ci_end = ci + clen;
    out->cri = cri;
    out->cri_len = (size_t)(c - cri);
    if (!(version = NEXT(ASN1_INTEGER, &ci, ci_end, V_ASN1_INTEGER)) ||
        ASN1_INTEGER_get(version) != 0 ||
        !(subject = NEXT(X509_NAME, &ci, ci_end, V_ASN1_SEQUENCE)) ||
        !element(&ci, ci_end, V_ASN1_SEQUENCE, 0, &s, &clen))
        goto done;
    /* SubjectPublicKeyInfo: id-ecPublicKey on a named curve, the point */
    s_end = s + clen;
    if (!(key_alg = NEXT(X509_ALGOR, &s, s_end, V_ASN1_SEQUENCE)) ||
        !(point = NEXT(ASN1_BIT_STRING, &s, s_end, V_ASN1_BIT_STRING)) || s != s_end ||
        !whole_bytes(point))
        goto done;
    X509_ALGOR_get0(&obj, &ptype, &pval, key_alg);
    if (OBJ_obj2nid(obj) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT ||
        (curve = curve_index(OBJ_obj2nid(pval))) < 0)
        goto done;
    /* attributes [0] IMPLICIT SET OF Attribute */
    if (!element(&ci, ci_end, 0, 1, &a, &clen) || ci != ci_end)
        goto done;
    a_end = a + clen;
    attrs = sk_X509_ATTRIBUTE_new_null();
    while (attrs && a < a_end) {
        X509_ATTRIBUTE *attr = NEXT(X509_ATTRIBUTE, &a, a_end, V_ASN1_SEQUENCE);
        if (!attr || !sk_X509_ATTRIBUTE_push(attrs, attr)) {
            X509_ATTRIBUTE_free(attr);
            goto done;
        }
    }
    /* signatureAlgorithm: ECDSA with a digest, no parameters; signature */
    if (!attrs || !(sig_alg = NEXT(X509_ALGOR, &c, end, V_ASN1_SEQUENCE)) ||
        !(sig = NEXT(ASN1_BIT_STRING, &c, end, V_ASN1_BIT_STRING)) || c != end ||
        !whole_bytes(sig))
        goto done;
    X509_ALGOR_get0(&obj, &ptype, NULL, sig_alg);
    if (ptype != V_ASN1_UNDEF ||
        !OBJ_find_sigid_algs(OBJ_obj2nid(obj), &out->md_nid, &pk_nid) ||
        pk_nid != NID_X9_62_id_ecPublicKey || out->md_nid == NID_undef)
        goto done;

    /* The key: the curve's parameters copied, the point set (checked on the
     * curve by the provider). */
    key = EVP_PKEY_dup(curves[curve].provider);
    if (!key || EVP_PKEY_set1_encoded_public_key(key, point->data, (size_t)point->length) != 1)
        goto done;
    /* The request as d2i_X509_REQ would give it, but for its key object:
     * the SPKI is set as read (cs_csr keeps the key). */
    req = X509_REQ_new();
    penc = OPENSSL_memdup(point->data, (size_t)point->length);
    if (!req || !penc || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
        X509_REQ_set_subject_name(req, subject) != 1 ||
        X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req),
                               OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                               OBJ_nid2obj(curves[curve].nid), penc, point->length) != 1)
        goto done;
    penc = NULL;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++)
        if (X509_REQ_add1_attr(req, sk_X509_ATTRIBUTE_value(attrs, i)) != 1)
            goto done;
    if (X509_REQ_set1_signature_algo(req, sig_alg) != 1)
        goto done;
    X509_REQ_set0_signature(req, sig);
    sig = NULL;
    out->req = req;
    out->key = key;
    out->ec_params = curves[curve].legacy;
    req = NULL;
    key = NULL;
    ok = 1;
done:
    ERR_pop_to_mark();
    OPENSSL_free(penc);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    ASN1_BIT_STRING_free(sig);
    ASN1_BIT_STRING_free(point);
    X509_ALGOR_free(sig_alg);
    X509_ALGOR_free(key_alg);
    sk_X509_ATTRIBUTE_pop_free(attrs, X509_ATTRIBUTE_free);
    X509_NAME_free(subject);
    ASN1_INTEGER_free(version);
    if (!ok)
        memset(out, 0, sizeof *out);
    return ok;
}

int csi_csr_verify_signed(EVP_PKEY *key, int md_nid, const unsigned char *tbs, size_t tbs_len,
                          const ASN1_BIT_STRING *sig)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int ok;

    ERR_set_mark();
    ok = mctx && whole_bytes(sig) &&
         EVP_DigestVerifyInit_ex(mctx, NULL, OBJ_nid2sn(md_nid), NULL, NULL, key, NULL) == 1 &&
         EVP_DigestVerify(mctx, sig->data, (size_t)sig->length, tbs, tbs_len) == 1;
    ERR_pop_to_mark();
    EVP_MD_CTX_free(mctx);
    return ok;
}
