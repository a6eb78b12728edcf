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

int csi_write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;

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

/* The folder part of path ("." for a bare name), into buf. */
static int parent_of(const char *path, char *buf, size_t size)
{
    char copy[4096];

    if (strlen(path) >= sizeof copy)
        return -1;
    strcpy(copy, path);
    if (snprintf(buf, size, "%s", dirname(copy)) >= (int)size)
        return -1;
    return 0;
}

void csi_sync_dir_of(const char *path)
{
    char dir[4096];
    int fd;

    if (parent_of(path, dir, sizeof dir) != 0)
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Make the new names durable: fsync each folder that got one, once. */
static void sync_parents(const cs_file_out *files, size_t n)
{
    char dir[4096], seen[4096] = "";

    for (size_t i = 0; i < n; i++) {
        if (parent_of(files[i].path, dir, sizeof dir) != 0 || strcmp(dir, seen) == 0)
            continue;
        csi_sync_dir_of(files[i].path);
        strcpy(seen, dir);
    }
}

cs_code csi_file_exists_error(const char *path, cs_err *err)
{
    /* No hint how to replace it: the option's name is the caller's (Lua's
     * overwrite = true, the commands' --force), and the code says which case. */
    return cs_err_set(err, CS_EEXIST, "%s: exists, not overwritten", path);
}

cs_code csi_file_write_temp(const char *path, const char *tmp, const void *data, size_t len,
                           unsigned mode, cs_err *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);

    if (fd < 0)
        return cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: cannot create: %s",
                          path, strerror(errno));
    /* The umask may have removed bits; a key must be exactly 0600, no more. */
    if (fchmod(fd, (mode_t)mode) != 0 || csi_write_all(fd, data, len) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return cs_err_set(err, CS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return cs_err_set(err, CS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return CS_OK;
}

cs_code csi_file_sync_temp(const char *path, const char *tmp, cs_err *err)
{
    /* fsync acts on the file, not the descriptor: a new one will do. */
    int fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cs_err_set(err, CS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    close(fd);
    return CS_OK;
}

/* Write one file's bytes to a fresh temporary name beside it, not synced.
 * tmp receives the name; on failure nothing is left behind. */
static cs_code write_temp(const cs_file_out *f, char *tmp, size_t size, cs_err *err)
{
    unsigned char rnd[6];

    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: random name for temporary file", f->path);
    if (snprintf(tmp, size, "%s.tmp-%02x%02x%02x%02x%02x%02x", f->path, rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)size)
        return cs_err_set(err, CS_EINVAL, "%s: path too long", f->path);
    return csi_file_write_temp(f->path, tmp, f->data, f->len, f->mode, err);
}

/* Give the temporary file its name. */
static cs_code put_in_place(const cs_file_out *f, const char *tmp, cs_err *err)
{
    if (f->overwrite) {
        if (rename(tmp, f->path) != 0)
            return cs_err_set(err, CS_EIO, "%s: cannot replace: %s", f->path, strerror(errno));
        return CS_OK;
    }
    /* link() fails if the name appeared meanwhile: no race overwrites it. */
    if (link(tmp, f->path) != 0)
        return errno == EEXIST ? csi_file_exists_error(f->path, err)
                               : cs_err_set(err, CS_EIO, "%s: cannot create: %s", f->path,
                                            strerror(errno));
    unlink(tmp);
    return CS_OK;
}

cs_code cs_file_write_all(const cs_file_out *files, size_t n, cs_err *err)
{
    char (*tmp)[4096] = NULL;
    size_t written = 0, placed = 0;
    cs_code rc = CS_OK;
    struct stat st;

    for (size_t i = 0; i < n; i++) {
        if (!files[i].overwrite && lstat(files[i].path, &st) == 0)
            return csi_file_exists_error(files[i].path, err);
    }
    tmp = calloc(n ? n : 1, sizeof *tmp);
    if (!tmp)
        return cs_err_set(err, CS_ENOMEM, "writing files: out of memory");
    for (; written < n; written++) {
        rc = write_temp(&files[written], tmp[written], sizeof tmp[written], err);
        if (rc != CS_OK)
            goto done;
    }
    for (size_t i = 0; i < n && rc == CS_OK; i++)
        rc = csi_file_sync_temp(files[i].path, tmp[i], err);
    if (rc != CS_OK)
        goto done;
    for (; placed < n; placed++) {
        rc = put_in_place(&files[placed], tmp[placed], err);
        if (rc != CS_OK)
            goto done;
    }
    sync_parents(files, n);
done:
    if (rc != CS_OK && placed > 0 && err) {
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, " (already in place: %s%s)",
                 files[0].path, placed > 1 ? " and the files after it" : "");
    }
    for (size_t i = placed; i < written; i++)
        unlink(tmp[i]);
    free(tmp);
    return rc;
}

cs_code cs_file_write(const char *path, const void *data, size_t len, unsigned mode,
                      int overwrite, cs_err *err)
{
    const cs_file_out one = {path, data, len, mode, overwrite};
    return cs_file_write_all(&one, 1, err);
}

cs_code cs_file_read(const char *path, size_t max, char **out, size_t *len, cs_err *err)
{
    int fd = -1;
    char *buf = NULL;
    size_t used = 0;
    struct stat st;
    cs_code rc = CS_OK;

    /* Regular files only: a FIFO would block (in open, then in read) and a
     * device like /dev/zero never ends. stat first, so no device is even
     * opened; O_NONBLOCK, so a FIFO swapped in meanwhile cannot block
     * open, and fstat checks what was really opened. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cs_err_set(err, CS_EINVAL, "%s: not a regular file", path);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: cannot open: %s",
                          path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cs_err_set(err, CS_EINVAL, "%s: not a regular file", path);
        goto done;
    }
    if ((size_t)st.st_size > max) {
        rc = cs_err_set(err, CS_ETOOLARGE, "%s: larger than %zu bytes", path, max);
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
