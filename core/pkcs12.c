/* cs_p12_load: a PKCS#12 file's key, certificates and protection;
 * cs_p12_encode and cs_p12_write: a new one, AES-256 and PBKDF2 only. */
#include "pkcs12.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "file.h"
#include "internal.h"

void cs_p12_free(cs_p12 *p12)
{
    if (!p12)
        return;
    cs_cert_free(p12->cert);
    cs_key_free(p12->key);
    cs_cert_free_all(p12->certs, p12->certs_len); /* NULL entries are fine */
    free(p12);
}

static void describe_mac(const PKCS12 *p12, cs_p12 *res)
{
    const X509_ALGOR *alg = NULL;
    const ASN1_INTEGER *iter = NULL;
    const ASN1_OBJECT *obj = NULL;
    int nid;

    res->mac_present = PKCS12_mac_present(p12);
    if (!res->mac_present)
        return;
    PKCS12_get0_mac(NULL, &alg, NULL, &iter, p12);
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    nid = OBJ_obj2nid(obj);
    if (nid != NID_undef && OBJ_nid2sn(nid))
        snprintf(res->mac_digest, sizeof res->mac_digest, "%s", OBJ_nid2sn(nid));
    else if (obj)
        OBJ_obj2txt(res->mac_digest, (int)sizeof res->mac_digest, obj, 1);
    res->mac_iterations = iter ? ASN1_INTEGER_get(iter) : 1; /* RFC 7292: DEFAULT 1 */
}

/* Refuse a key derivation cost (a count, or scrypt's N*r*p) no file of ours
 * has, before spending it. */
static cs_code check_count(long work, const char *which, const char *what, cs_err *err)
{
    if (work <= CS_KEY_PBKDF2_ITER_MAX)
        return CS_OK;
    return cs_err_set(err, CS_EINVAL, "%s: %s asks for %ld iterations, more than the %d we "
                      "accept", what, which, work, CS_KEY_PBKDF2_ITER_MAX);
}

/* Why a safe or a shrouded key did not decrypt, once the MAC (if any) passed. */
static cs_code decrypt_failed(const cs_pbe *pbe, const cs_p12 *res, const char *what,
                              cs_err *err)
{
    if (pbe->legacy) {
        ERR_clear_error();
        return cs_err_set(err, CS_ECRYPTO, "%s: encrypted with %s, a legacy scheme OpenSSL 3 "
                          "does not load by default (export it again without -legacy)", what,
                          pbe->cipher[0] ? pbe->cipher : pbe->scheme);
    }
    if (!res->mac_present)
        return cs_err_ossl(err, CS_EVERIFY, "%s: cannot decrypt: wrong password or corrupt "
                           "PKCS#12 (it has no MAC to tell which)", what);
    return cs_err_ossl(err, CS_EINVAL, "%s: cannot decrypt the PKCS#12 contents", what);
}

/* One bag: keep the first key, every X.509 certificate; note the key's scheme. */
static cs_code read_bag(const PKCS12_SAFEBAG *bag, const char *pass, int passlen,
                        const char *what, cs_p12 *res, EVP_PKEY **pkey, STACK_OF(X509) *certs,
                        cs_err *err)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509 *x = NULL;
    cs_code rc = CS_OK;

    switch (PKCS12_SAFEBAG_get_nid(bag)) {
    case NID_keyBag:
        if (!*pkey) {
            *pkey = EVP_PKCS82PKEY(PKCS12_SAFEBAG_get0_p8inf(bag));
            if (!*pkey)
                rc = cs_err_ossl(err, CS_EINVAL, "%s: the private key does not parse", what);
        }
        break;
    case NID_pkcs8ShroudedKeyBag:
        if (!*pkey) {
            const X509_ALGOR *alg = NULL;
            X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
            cs_pbe_describe(alg, &res->key_pbe);
            rc = check_count(res->key_pbe.work, "the key's encryption", what, err);
            if (rc != CS_OK)
                break;
            p8 = PKCS12_decrypt_skey(bag, pass, passlen);
            if (!p8) {
                rc = decrypt_failed(&res->key_pbe, res, what, err);
                break;
            }
            *pkey = EVP_PKCS82PKEY(p8);
            if (!*pkey)
                rc = cs_err_ossl(err, CS_EINVAL, "%s: the private key does not parse", what);
        }
        break;
    case NID_certBag:
        if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
            break; /* an SDSI certificate: nothing we read */
        x = PKCS12_SAFEBAG_get1_cert(bag);
        if (!x || !sk_X509_push(certs, x)) {
            rc = cs_err_ossl(err, CS_EINVAL, "%s: a certificate does not parse", what);
            break;
        }
        x = NULL;
        break;
    default: /* CRLs, secrets, nested safes: not shown */
        break;
    }
    X509_free(x);
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key bytes */
    return rc;
}

/* Every safe: plain or password-encrypted. Our own walk rather than
 * PKCS12_parse, which refuses a file without MAC once a password is given. */
static cs_code read_safes(const PKCS12 *p12, const char *pass, const char *what, cs_p12 *res,
                          EVP_PKEY **pkey, STACK_OF(X509) *certs, cs_err *err)
{
    STACK_OF(PKCS7) *safes = NULL;
    STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
    int passlen = pass ? (int)strlen(pass) : 0;
    cs_code rc = CS_OK;

    safes = PKCS12_unpack_authsafes(p12);
    if (!safes)
        return cs_err_ossl(err, CS_EINVAL, "%s: cannot read the PKCS#12 contents", what);
    for (int i = 0; rc == CS_OK && i < sk_PKCS7_num(safes); i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        int nid = OBJ_obj2nid(p7->type);

        if (nid == NID_pkcs7_data) {
            bags = PKCS12_unpack_p7data(p7);
        } else if (nid == NID_pkcs7_encrypted) {
            cs_pbe pbe;
            memset(&pbe, 0, sizeof pbe);
            if (p7->d.encrypted && p7->d.encrypted->enc_data)
                cs_pbe_describe(p7->d.encrypted->enc_data->algorithm, &pbe);
            if (!res->certs_pbe.scheme[0])
                res->certs_pbe = pbe;
            rc = check_count(pbe.work, "the certificates' encryption", what, err);
            if (rc != CS_OK)
                break;
            bags = PKCS12_unpack_p7encdata(p7, pass, passlen);
            if (!bags) {
                rc = decrypt_failed(&pbe, res, what, err);
                break;
            }
        } else {
            rc = cs_err_set(err, CS_EINVAL, "%s: public-key encrypted PKCS#12 contents are "
                            "not supported", what);
            break;
        }
        if (!bags) {
            rc = cs_err_ossl(err, CS_EINVAL, "%s: cannot read the PKCS#12 contents", what);
            break;
        }
        for (int j = 0; rc == CS_OK && j < sk_PKCS12_SAFEBAG_num(bags); j++)
            rc = read_bag(sk_PKCS12_SAFEBAG_value(bags, j), pass, passlen, what, res, pkey,
                          certs, err);
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
        bags = NULL;
    }
    sk_PKCS7_pop_free(safes, PKCS7_free);
    return rc;
}

/* Which form of the password opens the MAC: as given, or for an empty one
 * NULL or "" (the two encode differently, and both are in use). 0 if none. */
static int check_mac(PKCS12 *p12, const char *password, const char **pass)
{
    int ok = 0;

    ERR_set_mark();
    if (!PKCS12_mac_present(p12)) {
        *pass = password && *password ? password : NULL;
        ok = 1;
    } else if (password && *password) {
        *pass = password;
        ok = PKCS12_verify_mac(p12, password, -1) == 1;
    } else if (PKCS12_verify_mac(p12, NULL, 0) == 1) {
        *pass = NULL;
        ok = 1;
    } else if (PKCS12_verify_mac(p12, "", 0) == 1) {
        *pass = "";
        ok = 1;
    }
    ERR_pop_to_mark();
    return ok;
}

cs_code cs_p12_load(const char *data, size_t len, const char *password, const char *what,
                    cs_p12 **out, cs_err *err)
{
    PKCS12 *p12 = NULL;
    cs_p12 *res = NULL;
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    STACK_OF(X509) *ca = NULL;
    const char *pass = NULL;
    const unsigned char *p;
    cs_code rc = CS_OK;
    int n;

    if (!what)
        what = "PKCS#12";
    rc = csi_load_check(data, len, out, what, err);
    if (rc != CS_OK)
        return rc;
    p = (const unsigned char *)data;
    p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (!p12) {
        rc = cs_err_ossl(err, CS_EINVAL, "%s: not a PKCS#12 file", what);
        goto done;
    }
    if (p != (const unsigned char *)data + len) {
        rc = cs_err_set(err, CS_EINVAL, "%s: trailing bytes after the PKCS#12 data", what);
        goto done;
    }
    res = calloc(1, sizeof *res);
    if (!res) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
        goto done;
    }
    describe_mac(p12, res);
    if (res->mac_present) {
        rc = check_count(res->mac_iterations, "the MAC", what, err);
        if (rc != CS_OK)
            goto done;
    }
    if (!check_mac(p12, password, &pass)) {
        rc = cs_err_set(err, CS_EVERIFY, "%s: wrong password%s or corrupt PKCS#12 "
                        "(MAC check failed)", what, password && *password ? "" : " (none given)");
        goto done;
    }
    ca = sk_X509_new_null();
    if (!ca) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
        goto done;
    }
    rc = read_safes(p12, pass, what, res, &pkey, ca, err);
    if (rc != CS_OK)
        goto done;
    if (pkey) {
        /* the certificate of the key, wherever it sits in the file */
        for (int i = 0; !x && i < sk_X509_num(ca); i++) {
            ERR_set_mark();
            if (X509_check_private_key(sk_X509_value(ca, i), pkey) == 1)
                x = sk_X509_delete(ca, i);
            ERR_pop_to_mark();
        }
        rc = csi_key_adopt(&pkey, what, &res->key, err);
        if (rc != CS_OK)
            goto done;
    }
    if (x) {
        rc = csi_cert_adopt(&x, &res->cert, err);
        if (rc != CS_OK)
            goto done;
    }
    n = sk_X509_num(ca);
    if (n > 0) {
        res->certs = calloc((size_t)n, sizeof *res->certs);
        if (!res->certs) {
            rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
            goto done;
        }
        for (int i = 0; i < n; i++) {
            X509 *c = sk_X509_value(ca, i);
            rc = csi_cert_adopt(&c, &res->certs[i], err);
            if (rc != CS_OK)
                goto done;
            sk_X509_set(ca, i, NULL); /* now owned by res->certs[i] */
            res->certs_len = (size_t)i + 1;
        }
    }
    *out = res;
    res = NULL;
done:
    sk_X509_pop_free(ca, X509_free);
    X509_free(x);
    EVP_PKEY_free(pkey);
    cs_p12_free(res);
    PKCS12_free(p12);
    return rc;
}

/* The chain as a stack, without cert itself (a chain file starts with it). */
static cs_code chain_stack(const cs_cert *cert, const cs_cert *const *chain, size_t chain_len,
                           const char *what, STACK_OF(X509) **out, cs_err *err)
{
    STACK_OF(X509) *ca = sk_X509_new_null();

    if (!ca)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    for (size_t i = 0; i < chain_len; i++) {
        if (!chain[i])
            continue;
        if (X509_cmp(chain[i]->x509, cert->x509) == 0)
            continue;
        if (!sk_X509_push(ca, chain[i]->x509)) { /* borrowed: freed with sk_X509_free */
            sk_X509_free(ca);
            return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
        }
    }
    *out = ca;
    return CS_OK;
}

/* cs_p12_encode, what naming the file in messages. */
static cs_code encode(const cs_cert *cert, const cs_key *key, const cs_cert *const *chain,
                      size_t chain_len, const char *friendly_name, const char *password,
                      const char *what, unsigned char **out, size_t *len, cs_err *err)
{
    STACK_OF(X509) *ca = NULL;
    PKCS12 *p12 = NULL;
    EVP_MD *sha256 = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    cs_code rc;

    if (!cert || !key)
        return cs_err_set(err, CS_EINVAL, "%s: a certificate and its key are needed", what);
    if (!out || !len)
        return cs_err_set(err, CS_EINVAL, "%s: nowhere to put it", what);
    if (!password || !*password)
        return cs_err_set(err, CS_EINVAL, "%s: empty password; the file holds a private key, "
                          "give it a password", what);
    rc = csi_key_need_private(key, what, err);
    if (rc != CS_OK)
        return rc;
    if (cs_cert_check_key(cert, key, err) != CS_OK)
        return cs_err_set(err, CS_EMISMATCH, "%s: the key does not belong to the certificate",
                          what);
    rc = chain_stack(cert, chain, chain_len, what, &ca, err);
    if (rc != CS_OK)
        return rc;
    /* A cipher NID makes OpenSSL use PBES2 with that cipher and PBKDF2
     * (hmacWithSHA256, 3.0's default PRF) for both the key and the
     * certificates; mac_iter -1: no MAC yet, set below with SHA-256. */
    p12 = PKCS12_create_ex(password, friendly_name, key->pkey, cert->x509, ca,
                           NID_aes_256_cbc, NID_aes_256_cbc, CS_P12_ITER, -1, 0, NULL, NULL);
    if (!p12) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: building the PKCS#12 file", what);
        goto done;
    }
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256 || PKCS12_set_mac(p12, password, -1, NULL, 0, CS_P12_ITER, sha256) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s: computing the MAC", what);
        goto done;
    }
    rc = csi_der_encode(p12, ASN1_ITEM_rptr(PKCS12), what, &der, &der_len, err);
    if (rc != CS_OK)
        goto done;
    *out = der;
    *len = der_len;
done:
    EVP_MD_free(sha256);
    PKCS12_free(p12);
    sk_X509_free(ca);
    return rc;
}

cs_code cs_p12_encode(const cs_cert *cert, const cs_key *key, const cs_cert *const *chain,
                      size_t chain_len, const char *friendly_name, const char *password,
                      unsigned char **out, size_t *len, cs_err *err)
{
    return encode(cert, key, chain, chain_len, friendly_name, password, "PKCS#12", out, len,
                  err);
}

void cs_p12_der_free(unsigned char *der, size_t len)
{
    if (!der)
        return;
    OPENSSL_cleanse(der, len); /* encrypted, but no reason to leave it about */
    free(der);
}

cs_code cs_p12_write(const cs_cert *cert, const cs_key *key, const cs_cert *const *chain,
                     size_t chain_len, const char *friendly_name, const char *password,
                     const char *path, int overwrite, cs_err *err)
{
    unsigned char *der = NULL;
    size_t len = 0;
    cs_code rc;

    if (!path)
        return cs_err_set(err, CS_EINVAL, "PKCS#12: no file name");
    rc = encode(cert, key, chain, chain_len, friendly_name, password, path, &der, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_file_write(path, der, len, 0600, overwrite, err);
    cs_p12_der_free(der, len);
    return rc;
}
