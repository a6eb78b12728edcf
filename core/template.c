/* Prepared certificate templates (template.h): cs_cert_sign's build done
 * once, its pieces kept encoded, and per certificate only what changes.
 *
 * Why: building a leaf from a spec spends most of its non-crypto time on
 * work that is the same for every certificate of a profile: each extension
 * built from its OpenSSL structure and encoded, the subject assembled field
 * by field and then copied whole by X509_set_subject_name (an encode and a
 * decode), the issuer key checked against its certificate, the signing
 * context fetched and set up. A template does these once; a certificate
 * copies the encoded extensions, adds its own entries to its subject in
 * place, and copies a signing context already set up. */
#include "template.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "lint.h"

/* What an extension slot of the template holds. */
enum slot { SLOT_FIXED, SLOT_SAN, SLOT_SKI };

struct cs_template {
    X509 *issuer;          /* a reference */
    EVP_PKEY *signer;      /* a reference: the issuer's key */
    const char *digest;    /* cs_key_digest_name of the signer; NULL for Ed25519 */
    char *issuer_line;
    X509_NAME_ENTRY **subject; /* the spec's subject, in order */
    unsigned char **subject_der; /* each entry as its RDN (a SET of one), DER */
    int *subject_der_len;
    int *subject_is_cn;
    size_t subject_len;
    X509_EXTENSION **ext;  /* per slot: the extension (NULL for SKI) */
    unsigned char **ext_der; /* per slot: its DER (NULL for SAN and SKI) */
    int *ext_der_len;
    enum slot *kind;
    size_t ext_len;
    unsigned char *issuer_der; /* the issuer's subject, DER */
    int issuer_der_len;
    X509_ALGOR *sigalg;    /* the signature's algorithm, as X509_sign_ctx sets it */
    unsigned char *sigalg_der;
    int sigalg_len;
    int has_san;           /* the spec had its own subjectAltName (kept in its slot) */
    int san_critical;
    int64_t duration;      /* notAfter - notBefore */
    EVP_MD_CTX *sign;      /* set up for the signer once; copied per certificate */
};

void cs_template_free(cs_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->subject_len; i++)
        X509_NAME_ENTRY_free(t->subject[i]);
    for (size_t i = 0; i < t->ext_len; i++) {
        X509_EXTENSION_free(t->ext[i]);
        OPENSSL_free(t->ext_der ? t->ext_der[i] : NULL);
    }
    free(t->ext_der);
    free(t->ext_der_len);
    OPENSSL_free(t->issuer_der);
    OPENSSL_free(t->sigalg_der);
    X509_ALGOR_free(t->sigalg);
    for (size_t i = 0; t->subject_der && i < t->subject_len; i++)
        OPENSSL_free(t->subject_der[i]);
    free(t->subject_der);
    free(t->subject_der_len);
    free(t->subject);
    free(t->subject_is_cn);
    free(t->ext);
    free(t->kind);
    free(t->issuer_line);
    EVP_MD_CTX_free(t->sign);
    EVP_PKEY_free(t->signer);
    X509_free(t->issuer);
    free(t);
}

const char *cs_template_issuer_line(const cs_template *t)
{
    return t->issuer_line;
}

/* DER: the bytes a length of n takes in a header, and a header written at p. */
static size_t head_size(size_t n)
{
    return 1 + (n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4);
}

static unsigned char *put_head(unsigned char *p, unsigned char tag, size_t n)
{
    *p++ = tag;
    if (n < 0x80) {
        *p++ = (unsigned char)n;
    } else {
        int bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
        *p++ = (unsigned char)(0x80 | bytes);
        for (int i = bytes - 1; i >= 0; i--)
            *p++ = (unsigned char)(n >> (8 * i));
    }
    return p;
}

/* A name entry as the RDN x509_name_encode makes of an entry alone in its
 * set: SET { AttributeTypeAndValue }. 1 on success, *out for OPENSSL_free. */
static int rdn_der(const X509_NAME_ENTRY *e, unsigned char **out, int *len)
{
    int n = i2d_X509_NAME_ENTRY(e, NULL);
    unsigned char *der, *q;

    if (n <= 0 || !(der = OPENSSL_malloc(head_size((size_t)n) + (size_t)n)))
        return 0;
    q = put_head(der, 0x31, (size_t)n);
    if (i2d_X509_NAME_ENTRY(e, &q) != n) {
        OPENSSL_free(der);
        return 0;
    }
    *out = der;
    *len = (int)(q - der);
    return 1;
}

/* The subject entries and extension slots of x, built from the spec. */
static cs_code take_parts(cs_template *t, X509 *x, cs_err *err)
{
    const X509_NAME *name = X509_get_subject_name(x);
    int n = X509_NAME_entry_count(name), m = X509_get_ext_count(x);

    t->subject = calloc((size_t)n + 1, sizeof *t->subject);
    t->subject_is_cn = calloc((size_t)n + 1, sizeof *t->subject_is_cn);
    t->ext = calloc((size_t)m + 1, sizeof *t->ext);
    t->kind = calloc((size_t)m + 1, sizeof *t->kind);
    t->ext_der = calloc((size_t)m + 1, sizeof *t->ext_der);
    t->ext_der_len = calloc((size_t)m + 1, sizeof *t->ext_der_len);
    t->subject_der = calloc((size_t)n + 1, sizeof *t->subject_der);
    t->subject_der_len = calloc((size_t)n + 1, sizeof *t->subject_der_len);
    if (!t->subject || !t->subject_is_cn || !t->ext || !t->kind || !t->ext_der ||
        !t->ext_der_len || !t->subject_der || !t->subject_der_len)
        return cs_err_set(err, CS_ENOMEM, "template: out of memory");
    for (int i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        t->subject[i] = X509_NAME_ENTRY_dup(e);
        if (!t->subject[i])
            return cs_err_ossl(err, CS_ENOMEM, "template: out of memory");
        t->subject_len++;
        t->subject_is_cn[i] = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_commonName;
        if (rdn_der(e, &t->subject_der[i], &t->subject_der_len[i]) != 1)
            return cs_err_ossl(err, CS_ECRYPTO, "template: encoding the subject");
    }
    for (int i = 0; i < m; i++) {
        X509_EXTENSION *e = X509_get_ext(x, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        t->kind[i] = nid == NID_subject_alt_name     ? SLOT_SAN
                     : nid == NID_subject_key_identifier ? SLOT_SKI
                                                         : SLOT_FIXED;
        if (t->kind[i] != SLOT_SKI) {
            t->ext[i] = X509_EXTENSION_dup(e);
            if (!t->ext[i])
                return cs_err_ossl(err, CS_ENOMEM, "template: out of memory");
        }
        t->ext_len++;
        if (t->kind[i] == SLOT_FIXED &&
            (t->ext_der_len[i] = i2d_X509_EXTENSION(e, &t->ext_der[i])) <= 0)
            return cs_err_ossl(err, CS_ECRYPTO, "template: encoding an extension");
    }
    return CS_OK;
}

/* The AlgorithmIdentifier X509_sign_ctx writes for the template's signer
 * (it asks the signature provider), taken from x signed once. */
static cs_code take_signature_algorithm(cs_template *t, X509 *x, cs_err *err)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int ok = mctx && EVP_MD_CTX_copy_ex(mctx, t->sign) == 1 && X509_sign_ctx(x, mctx) > 0;

    EVP_MD_CTX_free(mctx);
    if (!ok)
        return cs_err_ossl(err, CS_ECRYPTO, "template: signing with the issuer key");
    t->sigalg = X509_ALGOR_dup(X509_get0_tbs_sigalg(x));
    if (!t->sigalg || (t->sigalg_len = i2d_X509_ALGOR(t->sigalg, &t->sigalg_der)) <= 0)
        return cs_err_ossl(err, CS_ECRYPTO, "template: encoding the signature algorithm");
    return CS_OK;
}

cs_code cs_template_new(const cs_cert_spec *spec, const cs_cert *issuer,
                        const cs_key *issuer_key, cs_template **out, cs_err *err)
{
    static const cs_name placeholder = {CS_NAME_DNS, "template.invalid"};
    cs_template *t = NULL;
    cs_cert_spec local;
    X509 *x = NULL;
    cs_code rc;

    if (!spec || !issuer || !issuer_key || !out)
        return cs_err_set(err, CS_EINVAL, "template: missing spec, issuer or issuer key");
    if (spec->serial)
        return cs_err_set(err, CS_EINVAL, "template: spec.serial must be unset (each "
                                          "certificate has its own)");
    rc = csi_cert_check_issuer(issuer_key, issuer, issuer_key, err);
    if (rc != CS_OK)
        return rc;
    t = calloc(1, sizeof *t);
    if (!t)
        return cs_err_set(err, CS_ENOMEM, "template: out of memory");
    /* The build puts every extension in its place; a spec without a SAN
     * gets a stand-in so the slot where each certificate's names go is
     * known. The issuer's key stands in for the subject's: only its place
     * (the SKI slot) is kept. */
    local = *spec;
    t->has_san = spec->subject_alt_name.present;
    t->san_critical = spec->subject_alt_name.critical;
    if (!t->has_san) {
        local.subject_alt_name.present = 1;
        local.subject_alt_name.critical = 0;
        local.subject_alt_name.names = &placeholder;
        local.subject_alt_name.len = 1;
    }
    rc = csi_cert_build(&local, issuer_key, issuer, &x, err);
    if (rc == CS_OK)
        rc = take_parts(t, x, err);
    if (rc != CS_OK)
        goto done;
    if (!t->has_san) {
        for (size_t i = 0; i < t->ext_len; i++) {
            if (t->kind[i] == SLOT_SAN) {
                X509_EXTENSION_free(t->ext[i]);
                t->ext[i] = NULL;
            }
        }
    }
    t->duration = spec->not_after - spec->not_before;
    t->digest = cs_key_digest_name(issuer_key);
    t->issuer_line = csi_name_oneline(X509_get_subject_name(issuer->x509));
    t->sign = EVP_MD_CTX_new();
    if (!t->issuer_line || !t->sign) {
        rc = cs_err_set(err, CS_ENOMEM, "template: out of memory");
        goto done;
    }
    if (EVP_DigestSignInit_ex(t->sign, NULL, t->digest, NULL, NULL, issuer_key->pkey,
                              NULL) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "template: setting up the issuer key to sign");
        goto done;
    }
    rc = take_signature_algorithm(t, x, err);
    if (rc != CS_OK)
        goto done;
    t->issuer_der_len = i2d_X509_NAME(X509_get_subject_name(issuer->x509), &t->issuer_der);
    if (t->issuer_der_len <= 0) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "template: encoding the issuer's name");
        goto done;
    }
    if (X509_up_ref(issuer->x509) != 1 || EVP_PKEY_up_ref(issuer_key->pkey) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "template: holding the issuer");
        goto done;
    }
    t->issuer = issuer->x509;
    t->signer = issuer_key->pkey;
    *out = t;
    t = NULL;
done:
    X509_free(x);
    cs_template_free(t);
    return rc;
}

/* The subject: the template's entries (without its CNs when cn is given)
 * added in place to x's own name, then CN = cn. In place because
 * X509_set_subject_name copies a name by encoding and decoding it. */
static cs_code set_subject(const cs_template *t, X509 *x, const char *cn, cs_err *err)
{
    X509_NAME *name = X509_get_subject_name(x);

    for (size_t i = 0; i < t->subject_len; i++) {
        if (cn && t->subject_is_cn[i])
            continue;
        if (X509_NAME_add_entry(name, t->subject[i], -1, 0) != 1)
            return cs_err_ossl(err, CS_ENOMEM, "subject: out of memory");
    }
    if (!cn)
        return CS_OK;
    if (cn[0] == '\0')
        return cs_err_set(err, CS_EINVAL, "subject: empty value for CN");
    if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)cn, -1, -1, 0) != 1)
        return cs_err_ossl(err, CS_EINVAL, "subject: invalid CN '%s'", cn);
    return CS_OK;
}

/* Append a copy of e to x's extensions. X509_add_ext copies by encoding and
 * decoding (7 k instructions an extension); a copy made from e's parts costs
 * a fraction, and goes straight onto x's own list (X509_get0_extensions hands
 * it out read-only) once x has one. 1 on success. */
static int append_ext(X509 *x, X509_EXTENSION *e)
{
    STACK_OF(X509_EXTENSION) *list = (STACK_OF(X509_EXTENSION) *)X509_get0_extensions(x);
    X509_EXTENSION *copy;

    if (!list)
        return X509_add_ext(x, e, -1);
    copy = X509_EXTENSION_create_by_OBJ(NULL, X509_EXTENSION_get_object(e),
                                        X509_EXTENSION_get_critical(e),
                                        X509_EXTENSION_get_data(e));
    if (!copy)
        return 0;
    if (!sk_X509_EXTENSION_push(list, copy)) {
        X509_EXTENSION_free(copy);
        return 0;
    }
    return 1;
}

/* The extensions in the template's order: the encoded ones copied, the
 * certificate's own SAN and SKI made in their slots. */
static cs_code add_extensions(const cs_template *t, X509 *x, const cs_template_request *req,
                              cs_err *err)
{
    cs_code rc = CS_OK;

    for (size_t i = 0; rc == CS_OK && i < t->ext_len; i++) {
        if (t->kind[i] == SLOT_SKI) {
            ASN1_OCTET_STRING *ski = csi_cert_key_id(x);
            if (!ski)
                return cs_err_ossl(err, CS_ECRYPTO,
                                   "subjectKeyIdentifier: hashing the public key");
            rc = csi_cert_add_ext(x, NID_subject_key_identifier, ski, 0,
                                  "subjectKeyIdentifier", err);
            ASN1_OCTET_STRING_free(ski);
        } else if (t->kind[i] == SLOT_SAN && req->names_len > 0) {
            cs_cert_spec s;
            memset(&s, 0, sizeof s);
            s.subject_alt_name.present = 1;
            s.subject_alt_name.critical = t->san_critical;
            s.subject_alt_name.names = req->names;
            s.subject_alt_name.len = req->names_len;
            rc = csi_cert_add_san(x, &s, err);
        } else if (t->ext[i] && append_ext(x, t->ext[i]) != 1) {
            rc = cs_err_ossl(err, CS_ENOMEM, "certificate: adding an extension");
        }
    }
    return rc;
}

/* Is the SAN slot empty in x? x's extension k is the one after the slots
 * before it; when it is not a SAN, the slot was left out. */
static int req_san_absent(const cs_template *t, const X509 *x, size_t k, size_t n_ext)
{
    (void)t;
    return k >= n_ext ||
           OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, (int)k))) != NID_subject_alt_name;
}

/* The pieces of one certificate's TBSCertificate that are its own, each
 * encoded by OpenSSL from x's fields (so x encodes to the same bytes). */
enum { P_SERIAL, P_NOT_BEFORE, P_NOT_AFTER, P_SUBJECT, P_SPKI, P_N };

typedef struct tbs_parts {
    unsigned char *part[P_N];
    int len[P_N];
    unsigned char **ext; /* per slot: DER made for this certificate, or NULL */
    int *ext_len;
} tbs_parts;

static void parts_free(tbs_parts *p, size_t slots)
{
    for (size_t i = 0; i < P_N; i++)
        OPENSSL_free(p->part[i]);
    for (size_t i = 0; p->ext && i < slots; i++)
        OPENSSL_free(p->ext[i]);
    free(p->ext);
    free(p->ext_len);
}

/* x's subject as i2d_X509_NAME encodes it, from the template's RDNs and,
 * with cn, the one RDN of x's own (its last entry): i2d_X509_NAME would
 * encode every entry again and build the canonical form too. The length,
 * or 0 on failure; *out for OPENSSL_free. */
static int encode_subject(const cs_template *t, const X509 *x, const char *cn,
                          unsigned char **out)
{
    const X509_NAME *name = X509_get_subject_name(x);
    unsigned char *own = NULL, *der, *q;
    int own_len = 0;
    size_t body = 0;

    if (cn && !rdn_der(X509_NAME_get_entry(name, X509_NAME_entry_count(name) - 1), &own,
                       &own_len))
        return 0;
    for (size_t i = 0; i < t->subject_len; i++)
        if (!(cn && t->subject_is_cn[i]))
            body += (size_t)t->subject_der_len[i];
    body += (size_t)own_len;
    der = OPENSSL_malloc(head_size(body) + body);
    if (!der) {
        OPENSSL_free(own);
        return 0;
    }
    q = put_head(der, 0x30, body);
    for (size_t i = 0; i < t->subject_len; i++) {
        if (!(cn && t->subject_is_cn[i])) {
            memcpy(q, t->subject_der[i], (size_t)t->subject_der_len[i]);
            q += t->subject_der_len[i];
        }
    }
    if (own)
        memcpy(q, own, (size_t)own_len);
    q += own_len;
    OPENSSL_free(own);
    *out = der;
    return (int)(q - der);
}

/* The TBSCertificate of x, built from the template's encoded pieces and x's
 * own: what OpenSSL's encoder would give for x (a test compares them), for
 * a fraction of its cost, which walks every field's template twice per
 * nesting level. *out (free with OPENSSL_free) holds *len bytes. */
static cs_code encode_tbs(const cs_template *t, const X509 *x, const char *cn,
                          unsigned char **out, size_t *len, cs_err *err)
{
    static const unsigned char version3[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
    tbs_parts p;
    size_t ext_total = 0, validity, body, n_ext = (size_t)X509_get_ext_count(x), k = 0;
    unsigned char *der = NULL, *q;
    cs_code rc = CS_OK;

    memset(&p, 0, sizeof p);
    p.ext = calloc(t->ext_len + 1, sizeof *p.ext);
    p.ext_len = calloc(t->ext_len + 1, sizeof *p.ext_len);
    if (!p.ext || !p.ext_len) {
        rc = cs_err_set(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    p.len[P_SERIAL] = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &p.part[P_SERIAL]);
    p.len[P_NOT_BEFORE] = i2d_ASN1_TIME(X509_get0_notBefore(x), &p.part[P_NOT_BEFORE]);
    p.len[P_NOT_AFTER] = i2d_ASN1_TIME(X509_get0_notAfter(x), &p.part[P_NOT_AFTER]);
    p.len[P_SUBJECT] = encode_subject(t, x, cn, &p.part[P_SUBJECT]);
    p.len[P_SPKI] = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p.part[P_SPKI]);
    for (size_t i = 0; i < P_N; i++) {
        if (p.len[i] <= 0) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "certificate: encoding");
            goto done;
        }
    }
    /* x's extensions are the template's slots in order, a SAN slot left
     * empty when neither the request nor the template had names. */
    for (size_t i = 0; i < t->ext_len; i++) {
        if (t->kind[i] == SLOT_FIXED) {
            ext_total += (size_t)t->ext_der_len[i];
            k++;
            continue;
        }
        if (t->kind[i] == SLOT_SAN && req_san_absent(t, x, k, n_ext))
            continue;
        p.ext_len[i] = i2d_X509_EXTENSION(X509_get_ext(x, (int)k++), &p.ext[i]);
        if (p.ext_len[i] <= 0) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "certificate: encoding an extension");
            goto done;
        }
        ext_total += (size_t)p.ext_len[i];
    }
    validity = (size_t)p.len[P_NOT_BEFORE] + (size_t)p.len[P_NOT_AFTER];
    body = sizeof version3 + (size_t)p.len[P_SERIAL] + (size_t)t->sigalg_len +
           (size_t)t->issuer_der_len + head_size(validity) + validity +
           (size_t)p.len[P_SUBJECT] + (size_t)p.len[P_SPKI];
    if (k > 0)
        body += head_size(head_size(ext_total) + ext_total) + head_size(ext_total) + ext_total;
    der = OPENSSL_malloc(head_size(body) + body);
    if (!der) {
        rc = cs_err_set(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    q = put_head(der, 0x30, body);
    memcpy(q, version3, sizeof version3);
    q += sizeof version3;
    memcpy(q, p.part[P_SERIAL], (size_t)p.len[P_SERIAL]);
    q += p.len[P_SERIAL];
    memcpy(q, t->sigalg_der, (size_t)t->sigalg_len);
    q += t->sigalg_len;
    memcpy(q, t->issuer_der, (size_t)t->issuer_der_len);
    q += t->issuer_der_len;
    q = put_head(q, 0x30, validity);
    memcpy(q, p.part[P_NOT_BEFORE], (size_t)p.len[P_NOT_BEFORE]);
    q += p.len[P_NOT_BEFORE];
    memcpy(q, p.part[P_NOT_AFTER], (size_t)p.len[P_NOT_AFTER]);
    q += p.len[P_NOT_AFTER];
    memcpy(q, p.part[P_SUBJECT], (size_t)p.len[P_SUBJECT]);
    q += p.len[P_SUBJECT];
    memcpy(q, p.part[P_SPKI], (size_t)p.len[P_SPKI]);
    q += p.len[P_SPKI];
    if (k > 0) {
        q = put_head(q, 0xa3, head_size(ext_total) + ext_total);
        q = put_head(q, 0x30, ext_total);
        for (size_t i = 0; i < t->ext_len; i++) {
            const unsigned char *e = t->kind[i] == SLOT_FIXED ? t->ext_der[i] : p.ext[i];
            size_t elen = (size_t)(t->kind[i] == SLOT_FIXED ? t->ext_der_len[i] : p.ext_len[i]);
            if (e) {
                memcpy(q, e, elen);
                q += elen;
            }
        }
    }
    *len = (size_t)(q - der);
    *out = der;
    der = NULL;
done:
    OPENSSL_free(der);
    parts_free(&p, t->ext_len);
    return rc;
}

/* Sign tbs with the template's key and put the signature into x as
 * X509_sign_ctx would (both algorithm fields, the value with no unused
 * bits); the whole certificate's DER into *out (OPENSSL_free). */
static cs_code sign_tbs(const cs_template *t, X509 *x, const unsigned char *tbs, size_t tbs_len,
                        unsigned char **out, size_t *out_len, cs_err *err)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    size_t cap = (size_t)EVP_PKEY_get_size(t->signer), sig_len = cap, body;
    unsigned char *sig = OPENSSL_malloc(cap > 0 ? cap : 1), *der = NULL, *q;
    const ASN1_BIT_STRING *psig;
    const X509_ALGOR *palg;
    cs_code rc = CS_OK;

    if (!mctx || !sig) {
        rc = cs_err_set(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    /* FINALISE: sign from the copy itself rather than from a copy of it. */
    if (EVP_MD_CTX_copy_ex(mctx, t->sign) != 1 ||
        (EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE),
         EVP_DigestSign(mctx, sig, &sig_len, tbs, tbs_len) != 1)) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "certificate: signing");
        goto done;
    }
    /* The fields are x's own (X509_get0_* hand them out read-only): what
     * X509_sign_ctx writes into them, written here. */
    X509_get0_signature(&psig, &palg, x);
    if (X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), t->sigalg) != 1 ||
        X509_ALGOR_copy((X509_ALGOR *)palg, t->sigalg) != 1 ||
        ASN1_BIT_STRING_set((ASN1_BIT_STRING *)psig, sig, (int)sig_len) != 1) {
        rc = cs_err_ossl(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    ((ASN1_BIT_STRING *)psig)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    ((ASN1_BIT_STRING *)psig)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    body = tbs_len + (size_t)t->sigalg_len + head_size(sig_len + 1) + sig_len + 1;
    der = OPENSSL_malloc(head_size(body) + body);
    if (!der) {
        rc = cs_err_set(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    q = put_head(der, 0x30, body);
    memcpy(q, tbs, tbs_len);
    q += tbs_len;
    memcpy(q, t->sigalg_der, (size_t)t->sigalg_len);
    q += t->sigalg_len;
    q = put_head(q, 0x03, sig_len + 1);
    *q++ = 0x00; /* no unused bits */
    memcpy(q, sig, sig_len);
    q += sig_len;
    *out_len = (size_t)(q - der);
    *out = der;
    der = NULL;
done:
    OPENSSL_free(der);
    OPENSSL_free(sig);
    EVP_MD_CTX_free(mctx);
    return rc;
}

cs_code csi_template_sign_der(const cs_template *t, const cs_template_request *req,
                              const cs_key *subject_key, cs_cert **out, unsigned char **der,
                              size_t *der_len, cs_err *err)
{
    X509 *x = NULL;
    cs_cert_spec dates;
    cs_lint_report report;
    unsigned char *tbs = NULL;
    size_t tbs_len = 0;
    cs_code rc;

    if (!t || !req || !subject_key || !out || !der || !der_len)
        return cs_err_set(err, CS_EINVAL, "template: missing template, request or key");
    if (req->names_len > 0 && !req->names)
        return cs_err_set(err, CS_EINVAL, "subjectAltName: names missing");
    memset(&dates, 0, sizeof dates);
    dates.serial = req->serial;
    dates.serial_len = req->serial_len;
    dates.not_before = req->not_before ? req->not_before : (int64_t)time(NULL);
    dates.not_after = dates.not_before + t->duration;
    x = X509_new();
    if (!x)
        return cs_err_ossl(err, CS_ENOMEM, "certificate: out of memory");
    rc = set_subject(t, x, req->cn, err);
    if (rc == CS_OK &&
        (X509_set_version(x, X509_VERSION_3) != 1 ||
         X509_set_issuer_name(x, X509_get_subject_name(t->issuer)) != 1 ||
         csi_cert_set_pubkey(x, subject_key) != 1))
        rc = cs_err_ossl(err, CS_ECRYPTO, "certificate: cannot set names or key");
    if (rc == CS_OK)
        rc = csi_cert_set_serial(x, &dates, err);
    if (rc == CS_OK)
        rc = csi_cert_set_validity(x, &dates, err);
    if (rc == CS_OK)
        rc = add_extensions(t, x, req, err);
    if (rc != CS_OK)
        goto done;
    /* Every certificate is linted as cs_cert_sign lints it: the template
     * fixes most of it, but the names, the key and the dates are new. */
    cs_lint_tbs(x, t->issuer, t->signer, t->digest, &report);
    rc = cs_lint_refuse(&report, err);
    if (rc == CS_OK)
        rc = encode_tbs(t, x, req->cn, &tbs, &tbs_len, err);
    if (rc == CS_OK)
        rc = sign_tbs(t, x, tbs, tbs_len, der, der_len, err);
    if (rc == CS_OK)
        rc = csi_cert_adopt(&x, out, err);
    if (rc != CS_OK && *der) {
        OPENSSL_free(*der);
        *der = NULL;
    }
done:
    OPENSSL_free(tbs);
    X509_free(x);
    return rc;
}

cs_code cs_template_sign(const cs_template *t, const cs_template_request *req,
                         const cs_key *subject_key, cs_cert **out, cs_err *err)
{
    unsigned char *der = NULL;
    size_t len = 0;
    cs_code rc = csi_template_sign_der(t, req, subject_key, out, &der, &len, err);

    OPENSSL_free(der);
    return rc;
}
