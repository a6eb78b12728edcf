/* PEM and DER in and out, shared by the loaders and encoders of keys, CSRs,
 * certificates and encrypted keys, so each reads its input the same way. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "internal.h"

cs_code csi_load_check(const char *data, size_t len, const void *out, const char *what,
                      cs_err *err)
{
    if (!data || !out)
        return cs_err_set(err, CS_EINVAL, "%s: no data", what);
    if (len > INT_MAX) /* a memory BIO's and d2i's limit */
        return cs_err_set(err, CS_EINVAL, "%s: too large", what);
    return CS_OK;
}

int csi_pem_no_prompt(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

cs_code csi_load_pem_der(const char *data, size_t len, const void *out, const char *what,
                        const csi_pem_der *fmt, void *arg, void **obj, cs_err *err)
{
    const unsigned char *p = (const unsigned char *)data;
    BIO *bio = NULL;
    cs_code rc;

    *obj = NULL;
    rc = csi_load_check(data, len, out, what, err);
    if (rc != CS_OK)
        return rc;
    /* PEM first; DER only for what cannot be PEM, so the reasons reported are
     * those of the parser that was meant. */
    if (csi_mem_contains(data, len, "-----BEGIN")) {
        bio = BIO_new_mem_buf(data, (int)len);
        if (!bio)
            return cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", what);
        *obj = fmt->decode(bio, NULL, 0, arg);
        BIO_free(bio);
    } else {
        *obj = fmt->decode(NULL, &p, (long)len, arg);
        if (*obj && p != (const unsigned char *)data + len)
            return cs_err_set(err, CS_EINVAL, "%s: trailing bytes after %s", what, fmt->der);
    }
    if (!*obj)
        return cs_err_ossl(err, CS_EINVAL, "%s: %s", what, fmt->not_this);
    return CS_OK;
}

cs_code csi_der_encode(const void *val, const ASN1_ITEM *it, const char *what,
                      unsigned char **out, size_t *len, cs_err *err)
{
    unsigned char *buf;
    unsigned char *p;
    int n;

    n = ASN1_item_i2d((const ASN1_VALUE *)val, NULL, it);
    if (n <= 0)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: encoding DER", what);
    buf = malloc((size_t)n);
    if (!buf)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    p = buf;
    if (ASN1_item_i2d((const ASN1_VALUE *)val, &p, it) != n) {
        free(buf);
        return cs_err_ossl(err, CS_ECRYPTO, "%s: encoding DER", what);
    }
    *out = buf;
    *len = (size_t)n;
    return CS_OK;
}

cs_code csi_pem_encode(int (*write)(BIO *bio, const void *obj), const void *obj,
                      const char *what, const char *fail, char **out, size_t *len,
                      cs_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    cs_code rc;

    if (!bio || write(bio, obj) != 1)
        rc = cs_err_ossl(err, CS_ECRYPTO, "%s", fail);
    else
        rc = csi_bio_copy(bio, what, out, len, err);
    BIO_free(bio);
    return rc;
}

cs_code csi_bio_copy(BIO *bio, const char *what, char **out, size_t *len, cs_err *err)
{
    char *data = NULL;
    char *copy;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0 || !data)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: encoding", what);
    copy = malloc((size_t)n + 1);
    if (!copy)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *out = copy;
    *len = (size_t)n;
    return CS_OK;
}
