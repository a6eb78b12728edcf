#include "fileset.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "file.h"
#include "internal.h"

struct cs_fileset {
    cs_file_out *files;
    int *secret; /* files[i].data came from the secure heap: wipe and free it so */
    size_t n, cap; /* files[i].path and .data are owned */
};

cs_code cs_fileset_new(cs_fileset **out, cs_err *err)
{
    cs_fileset *fs = calloc(1, sizeof *fs);

    if (!fs)
        return cs_err_set(err, CS_ENOMEM, "files: out of memory");
    *out = fs;
    return CS_OK;
}

void cs_fileset_free(cs_fileset *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++) {
        void *data = (void *)fs->files[i].data;
        if (fs->secret[i])
            OPENSSL_secure_clear_free(data, fs->files[i].len);
        else
            free(data);
        free((void *)fs->files[i].path);
    }
    free(fs->files);
    free(fs->secret);
    free(fs);
}

/* Take ownership of data (secure-heap memory when secret) as the next file.
 * On failure data is freed. */
static cs_code add(cs_fileset *fs, const char *path, void *data, size_t len, unsigned mode,
                   int overwrite, int secret, cs_err *err)
{
    char *path_copy = strdup(path);

    if (path_copy && fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 4;
        cs_file_out *files = realloc(fs->files, cap * sizeof *files);
        int *secrets = files ? realloc(fs->secret, cap * sizeof *secrets) : NULL;
        if (files)
            fs->files = files;
        if (secrets) {
            fs->secret = secrets;
            fs->cap = cap;
        }
    }
    if (!path_copy || fs->n == fs->cap) {
        free(path_copy);
        if (secret)
            OPENSSL_secure_clear_free(data, len);
        else
            free(data);
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
    }
    fs->secret[fs->n] = secret;
    fs->files[fs->n] = (cs_file_out){path_copy, data, len, mode, overwrite};
    fs->n++;
    return CS_OK;
}

cs_code cs_fileset_add_key(cs_fileset *fs, const cs_key *key, const char *path, int overwrite,
                           cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!fs || !key || !path)
        return cs_err_set(err, CS_EINVAL, "key: nothing to save");
    rc = cs_key_private_pem(key, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    return add(fs, path, pem, len, 0600, overwrite, 1, err);
}

cs_code cs_fileset_add_certs(cs_fileset *fs, const cs_cert *const *certs, size_t n,
                             const char *path, int overwrite, cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!fs || !path)
        return cs_err_set(err, CS_EINVAL, "certificate: no file name");
    rc = cs_cert_chain_pem(certs, n, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    return add(fs, path, pem, len, 0644, overwrite, 0, err);
}

cs_code cs_fileset_write(cs_fileset *fs, cs_err *err)
{
    if (!fs)
        return cs_err_set(err, CS_EINVAL, "files: nothing to write");
    return cs_file_write_all(fs->files, fs->n, err);
}
