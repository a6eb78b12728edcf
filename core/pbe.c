/* Password-based encryption: name the scheme, cipher, KDF and count that a
 * PKCS#12 file or an encrypted PKCS#8 key uses, without the password. */
#include "pbe.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"

/* An object's short name, or its dotted OID when OpenSSL has none. */
static void obj_text(const ASN1_OBJECT *obj, char *buf, size_t size)
{
    int nid = OBJ_obj2nid(obj);
    const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;

    buf[0] = '\0';
    if (sn)
        snprintf(buf, size, "%s", sn);
    else if (obj && size <= INT_MAX)
        OBJ_obj2txt(buf, (int)size, obj, 1);
}

static long count(const ASN1_INTEGER *i)
{
    long v = i ? ASN1_INTEGER_get(i) : 0;
    return v > 0 ? v : 0;
}

static int legacy_nid(int nid)
{
    return nid == NID_pbe_WithSHA1And128BitRC4 || nid == NID_pbe_WithSHA1And40BitRC4 ||
           nid == NID_pbe_WithSHA1And128BitRC2_CBC || nid == NID_pbe_WithSHA1And40BitRC2_CBC ||
           nid == NID_pbeWithMD5AndRC2_CBC || nid == NID_pbeWithSHA1AndRC2_CBC ||
           nid == NID_rc2_cbc || nid == NID_rc2_40_cbc || nid == NID_rc4;
}

static void describe_pbes2(const ASN1_TYPE *param, cs_pbe *out)
{
    PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), param);
    const ASN1_OBJECT *obj = NULL;
    int kdf_nid;

    if (!p2)
        return;
    X509_ALGOR_get0(&obj, NULL, NULL, p2->encryption);
    obj_text(obj, out->cipher, sizeof out->cipher);
    out->legacy = legacy_nid(OBJ_obj2nid(obj));
    X509_ALGOR_get0(&obj, NULL, NULL, p2->keyfunc);
    obj_text(obj, out->kdf, sizeof out->kdf);
    kdf_nid = OBJ_obj2nid(obj);
    if (kdf_nid == NID_id_pbkdf2) {
        PBKDF2PARAM *kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
                                                     p2->keyfunc->parameter);
        if (kdf) {
            out->iterations = count(kdf->iter);
            if (kdf->prf) {
                X509_ALGOR_get0(&obj, NULL, NULL, kdf->prf);
                obj_text(obj, out->prf, sizeof out->prf);
            } else {
                snprintf(out->prf, sizeof out->prf, "%s", OBJ_nid2sn(NID_hmacWithSHA1));
            }
            PBKDF2PARAM_free(kdf);
        }
    }
    PBE2PARAM_free(p2);
}

void cs_pbe_describe(const X509_ALGOR *alg, cs_pbe *out)
{
    const ASN1_OBJECT *obj = NULL;
    const ASN1_TYPE *param;
    int nid;

    memset(out, 0, sizeof *out);
    if (!alg)
        return;
    ERR_set_mark(); /* parameters we cannot read are not an error worth reporting */
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    obj_text(obj, out->scheme, sizeof out->scheme);
    nid = OBJ_obj2nid(obj);
    out->legacy = legacy_nid(nid);
    param = alg->parameter;
    if (param && param->type == V_ASN1_SEQUENCE) {
        if (nid == NID_pbes2) {
            describe_pbes2(param, out);
        } else {
            PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), param);
            if (pbe) {
                out->iterations = count(pbe->iter);
                PBEPARAM_free(pbe);
            }
        }
    }
    ERR_pop_to_mark();
}

cs_code cs_pbe_encrypted_key(const char *data, size_t len, const char *what, cs_pbe *out,
                             cs_err *err)
{
    BIO *bio = NULL;
    X509_SIG *sig = NULL;
    const X509_ALGOR *alg = NULL;
    cs_code rc = CS_OK;

    if (!what)
        what = "key";
    if (!data || !out)
        return cs_err_set(err, CS_EINVAL, "%s: no data", what);
    if (len > INT_MAX)
        return cs_err_set(err, CS_EINVAL, "%s: too large", what);
    if (cs_mem_contains(data, len, "-----BEGIN")) {
        bio = BIO_new_mem_buf(data, (int)len);
        if (!bio) {
            rc = cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", what);
            goto done;
        }
        sig = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
    } else {
        const unsigned char *p = (const unsigned char *)data;
        sig = d2i_X509_SIG(NULL, &p, (long)len);
        if (sig && p != (const unsigned char *)data + len) {
            rc = cs_err_set(err, CS_EINVAL, "%s: trailing bytes after the encrypted key", what);
            goto done;
        }
    }
    if (!sig) {
        rc = cs_err_ossl(err, CS_EINVAL, "%s: not an encrypted PKCS#8 private key", what);
        goto done;
    }
    X509_SIG_get0(sig, &alg, NULL);
    cs_pbe_describe(alg, out);
done:
    X509_SIG_free(sig);
    BIO_free(bio);
    return rc;
}
