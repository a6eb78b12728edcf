#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Make the rename durable: fsync the folder that holds the new name. */
static void sync_parent(const char *path)
{
    char copy[4096];
    int fd;

    if (strlen(path) >= sizeof copy)
        return;
    strcpy(copy, path);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

cs_code cs_file_write(const char *path, const void *data, size_t len, unsigned mode,
                      int overwrite, cs_err *err)
{
    char tmp[4096];
    unsigned char rnd[6];
    int fd = -1;
    cs_code rc = CS_OK;
    struct stat st;

    if (!overwrite && lstat(path, &st) == 0)
        return cs_err_set(err, CS_EEXIST,
                          "%s: exists, not overwritten (pass overwrite = true to replace)",
                          path);
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: random name for temporary file", path);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)sizeof tmp)
        return cs_err_set(err, CS_EINVAL, "%s: path too long", path);

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0) {
        rc = cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: cannot create: %s",
                        path, strerror(errno));
        return rc;
    }
    /* The umask may have removed bits; a key must be exactly 0600, no more. */
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = cs_err_set(err, CS_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = cs_err_set(err, CS_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    fd = -1;
    if (!overwrite) {
        /* link() fails if path appeared meanwhile: no race overwrites it. */
        if (link(tmp, path) != 0) {
            rc = errno == EEXIST
                     ? cs_err_set(err, CS_EEXIST,
                                  "%s: exists, not overwritten (pass overwrite = true to "
                                  "replace)", path)
                     : cs_err_set(err, CS_EIO, "%s: cannot create: %s", path, strerror(errno));
            goto done;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = cs_err_set(err, CS_EIO, "%s: cannot replace: %s", path, strerror(errno));
        goto done;
    }
    sync_parent(path);
    return CS_OK;
done:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

cs_code cs_file_read(const char *path, size_t max, char **out, size_t *len, cs_err *err)
{
    int fd = -1;
    char *buf = NULL;
    size_t used = 0;
    struct stat st;
    cs_code rc = CS_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: cannot open: %s",
                          path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cs_err_set(err, CS_EINVAL, "%s: not a regular file", path);
        goto done;
    }
    if ((size_t)st.st_size > max) {
        rc = cs_err_set(err, CS_EINVAL, "%s: larger than %zu bytes", path, max);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    while (used < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cs_err_set(err, CS_EIO, "%s: cannot read: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
done:
    if (buf)
        cs_file_free(buf, (size_t)st.st_size);
    close(fd);
    return rc;
}

void cs_file_free(char *data, size_t len)
{
    if (!data)
        return;
    OPENSSL_cleanse(data, len);
    free(data);
}

cs_code cs_file_mkdir(const char *path, unsigned mode, cs_err *err)
{
    char buf[4096];
    size_t len = strlen(path);
    struct stat st;

    if (len == 0 || len >= sizeof buf)
        return cs_err_set(err, CS_EINVAL, "folder name is empty or too long");
    memcpy(buf, path, len + 1);
    /* Each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return cs_err_set(err, CS_EIO, "%s: cannot create folder: %s", buf, strerror(errno));
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return cs_err_set(err, CS_EIO, "%s: exists and is not a folder", buf);
        if (i < len)
            buf[i] = '/';
    }
    return CS_OK;
}
