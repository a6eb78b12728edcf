#include "fileset.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "file.h"
#include "internal.h"

/* A key is the only 0600 file, and its PEM sits in OpenSSL's secure heap:
 * the mode says how to free the bytes. */
#define KEY_MODE 0600

struct cs_fileset {
    cs_file_out *files; /* files[i].path and .data are owned */
    size_t n, cap;
};

cs_code cs_fileset_new(cs_fileset **out, cs_err *err)
{
    cs_fileset *fs = calloc(1, sizeof *fs);

    if (!fs)
        return cs_err_set(err, CS_ENOMEM, "files: out of memory");
    *out = fs;
    return CS_OK;
}

static void free_data(void *data, size_t len, unsigned mode)
{
    if (mode == KEY_MODE)
        OPENSSL_secure_clear_free(data, len);
    else
        free(data);
}

void cs_fileset_free(cs_fileset *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++) {
        free_data((void *)fs->files[i].data, fs->files[i].len, fs->files[i].mode);
        free((void *)fs->files[i].path);
    }
    free(fs->files);
    free(fs);
}

/* Take ownership of data as the next file. On failure data is freed. */
static cs_code add(cs_fileset *fs, const char *path, void *data, size_t len, unsigned mode,
                   int overwrite, cs_err *err)
{
    char *path_copy = strdup(path);

    if (path_copy && fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 4;
        cs_file_out *files = realloc(fs->files, cap * sizeof *files);
        if (files) {
            fs->files = files;
            fs->cap = cap;
        }
    }
    if (!path_copy || fs->n == fs->cap) {
        free(path_copy);
        free_data(data, len, mode);
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
    }
    fs->files[fs->n++] = (cs_file_out){path_copy, data, len, mode, overwrite};
    return CS_OK;
}

cs_code cs_fileset_add_key(cs_fileset *fs, const cs_key *key, const char *passphrase,
                           const char *path, int overwrite, cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!fs || !key || !path)
        return cs_err_set(err, CS_EINVAL, "key: nothing to save");
    rc = passphrase ? csi_key_encrypted_pem(key, passphrase, path, &pem, &len, err)
                    : csi_key_private_pem(key, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    return add(fs, path, pem, len, KEY_MODE, overwrite, err);
}

cs_code cs_fileset_add_certs(cs_fileset *fs, const cs_cert *const *certs, size_t n,
                             const char *path, int overwrite, cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!fs || !path)
        return cs_err_set(err, CS_EINVAL, "certificate: no file name");
    rc = csi_cert_chain_pem(certs, n, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    return add(fs, path, pem, len, 0644, overwrite, err);
}

cs_code cs_fileset_add_crl(cs_fileset *fs, const cs_crl *crl, int pem, const char *path,
                           int overwrite, cs_err *err)
{
    char *text = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    cs_code rc;

    if (!fs || !crl || !path)
        return cs_err_set(err, CS_EINVAL, "CRL: nothing to save");
    rc = pem ? cs_crl_pem(crl, &text, &len, err) : cs_crl_der(crl, &der, &len, err);
    if (rc != CS_OK)
        return rc;
    return add(fs, path, pem ? (void *)text : (void *)der, len, 0644, overwrite, err);
}

cs_code cs_fileset_add_data(cs_fileset *fs, const void *data, size_t len, const char *path,
                            int overwrite, cs_err *err)
{
    char *copy;

    if (!fs || !path || (!data && len > 0))
        return cs_err_set(err, CS_EINVAL, "files: no file name or data");
    copy = malloc(len > 0 ? len : 1);
    if (!copy)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
    if (len > 0)
        memcpy(copy, data, len);
    return add(fs, path, copy, len, 0644, overwrite, err);
}

cs_code cs_fileset_write(cs_fileset *fs, cs_err *err)
{
    if (!fs)
        return cs_err_set(err, CS_EINVAL, "files: nothing to write");
    return cs_file_write_all(fs->files, fs->n, err);
}

const cs_file_out *cs_fileset_files(const cs_fileset *fs, size_t *n)
{
    *n = fs ? fs->n : 0;
    return fs ? fs->files : NULL;
}
