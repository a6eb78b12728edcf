/* Password-based encryption: name the scheme, cipher, KDF and count that a
 * PKCS#12 file or an encrypted PKCS#8 key uses, without the password. */
#include "pbe.h"

#include <limits.h>
#include <stdint.h>
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

/* N * r * p, saturating: scrypt's cost in BlockMix rounds of r blocks, about
 * what a PBKDF2-HMAC-SHA256 round costs each. A value that does not fit
 * (ASN1_INTEGER_get_uint64 fails) counts as the most. */
static long scrypt_work(const SCRYPT_PARAMS *sp)
{
    uint64_t n = 0, r = 0, p = 0, w;

    if (ASN1_INTEGER_get_uint64(&n, sp->costParameter) != 1 ||
        ASN1_INTEGER_get_uint64(&r, sp->blockSize) != 1 ||
        ASN1_INTEGER_get_uint64(&p, sp->parallelizationParameter) != 1)
        return LONG_MAX;
    w = n;
    if (r && w > (uint64_t)LONG_MAX / r)
        return LONG_MAX;
    w *= r;
    if (p && w > (uint64_t)LONG_MAX / p)
        return LONG_MAX;
    return (long)(w * p);
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
        out->work = out->iterations;
    } else if (kdf_nid == NID_id_scrypt) {
        SCRYPT_PARAMS *sp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS),
                                                      p2->keyfunc->parameter);
        if (sp) {
            out->work = scrypt_work(sp);
            SCRYPT_PARAMS_free(sp);
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
                out->iterations = out->work = count(pbe->iter);
                PBEPARAM_free(pbe);
            }
        }
    }
    ERR_pop_to_mark();
}

static void *decode_pkcs8(BIO *bio, const unsigned char **der, long len, void *arg)
{
    (void)arg;
    return bio ? PEM_read_bio_PKCS8(bio, NULL, csi_pem_no_prompt, NULL)
               : d2i_X509_SIG(NULL, der, len);
}

static const csi_pem_der pkcs8_format = {decode_pkcs8, "the encrypted key",
                                        "not an encrypted PKCS#8 private key"};

cs_code cs_pbe_encrypted_key(const char *data, size_t len, const char *what, cs_pbe *out,
                             cs_err *err)
{
    void *obj = NULL;
    X509_SIG *sig;
    const X509_ALGOR *alg = NULL;
    cs_code rc;

    if (!what)
        what = "key";
    rc = csi_load_pem_der(data, len, out, what, &pkcs8_format, NULL, &obj, err);
    sig = obj;
    if (rc == CS_OK) {
        X509_SIG_get0(sig, &alg, NULL);
        cs_pbe_describe(alg, out);
    }
    X509_SIG_free(sig);
    return rc;
}
