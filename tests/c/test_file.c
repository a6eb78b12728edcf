/* core/file: atomic writes with exact modes, no silent overwrite, reads. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "file.h"
#include "fixtures.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

int main(void)
{
    char path[256], nested[256];
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    cs_err err = {0};

    CHECK(fx_mkdtemp("file"));
    fx_path(path, sizeof path, "secret.key");

    umask(022);
    CHECK_OK(cs_file_write(path, "one", 3, 0600, 0, &err), &err);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* No silent overwrite: the old content stays, no temporary file is left. */
    CHECK_FAIL(cs_file_write(path, "two", 3, 0600, 0, &err), CS_EEXIST, &err, "secret.key: exists");
    CHECK(!strstr(err.msg, "overwrite")); /* the option's name is the caller's to give */
    CHECK_OK(cs_file_read(path, 100, &data, &len, &err), &err);
    CHECK(len == 3 && memcmp(data, "one", 3) == 0);
    cs_file_free(data, len);
    CHECK(count_entries(fx_dir) == 1);

    CHECK_OK(cs_file_write(path, "three", 5, 0600, 1, &err), &err);
    CHECK_OK(cs_file_read(path, 100, &data, &len, &err), &err);
    CHECK(len == 5 && strcmp(data, "three") == 0);
    cs_file_free(data, len);

    /* A public file gets 0644 even under a strict umask, a key never more than 0600. */
    umask(077);
    fx_path(nested, sizeof nested, "cert.pem");
    CHECK_OK(cs_file_write(nested, "c", 1, 0644, 0, &err), &err);
    CHECK(stat(nested, &st) == 0 && (st.st_mode & 0777) == 0644);
    umask(022);

    CHECK_FAIL(cs_file_read(path, 2, &data, &len, &err), CS_ETOOLARGE, &err, "larger than");
    fx_path(nested, sizeof nested, "missing");
    CHECK_FAIL(cs_file_read(nested, 100, &data, &len, &err), CS_ENOENT, &err, "missing");
    CHECK_FAIL(cs_file_read(fx_dir, 100, &data, &len, &err), CS_EINVAL, &err, "not a regular");
    /* Issue 10: a FIFO blocked in open() forever, /dev/zero has no end. The
     * alarm turns a hang into a failure. */
    fx_path(nested, sizeof nested, "fifo");
    CHECK(mkfifo(nested, 0600) == 0);
    alarm(10);
    CHECK_FAIL(cs_file_read(nested, 100, &data, &len, &err), CS_EINVAL, &err,
               "fifo: not a regular file");
    CHECK_FAIL(cs_file_read("/dev/zero", 100, &data, &len, &err), CS_EINVAL, &err,
               "/dev/zero: not a regular file");
    alarm(0);
    CHECK(unlink(nested) == 0);

    /* A write into a folder that does not exist fails cleanly. */
    fx_path(nested, sizeof nested, "no/such/file");
    CHECK_FAIL(cs_file_write(nested, "x", 1, 0600, 0, &err), CS_ENOENT, &err, "cannot create");

    fx_path(nested, sizeof nested, "a/b/c");
    CHECK_OK(cs_file_mkdir(nested, 0700, &err), &err);
    CHECK(stat(nested, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    CHECK_OK(cs_file_mkdir(nested, 0700, &err), &err);
    CHECK_FAIL(cs_file_mkdir(path, 0700, &err), CS_EIO, &err, "not a folder");

    /* Several files as one step: a problem with any of them writes none. */
    {
        char a[256], b[256], bad[256];
        cs_file_out two[2];
        fx_path(a, sizeof a, "set-a.key");
        fx_path(b, sizeof b, "set-b.pem");
        fx_path(bad, sizeof bad, "missing-folder/b.pem");
        two[0] = (cs_file_out){a, "key", 3, 0600, 0};
        two[1] = (cs_file_out){path, "x", 1, 0644, 0}; /* exists */
        CHECK_FAIL(cs_file_write_all(two, 2, &err), CS_EEXIST, &err, "secret.key: exists");
        CHECK(access(a, F_OK) != 0);
        two[1] = (cs_file_out){bad, "x", 1, 0644, 0};
        CHECK_FAIL(cs_file_write_all(two, 2, &err), CS_ENOENT, &err, "missing-folder");
        CHECK(access(a, F_OK) != 0);
        two[1] = (cs_file_out){b, "cert", 4, 0644, 0};
        CHECK_OK(cs_file_write_all(two, 2, &err), &err);
        CHECK(stat(a, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 3);
        CHECK(stat(b, &st) == 0 && (st.st_mode & 0777) == 0644 && st.st_size == 4);
        two[0].overwrite = two[1].overwrite = 1;
        two[0].data = "new";
        CHECK_OK(cs_file_write_all(two, 2, &err), &err);
        CHECK_OK(cs_file_read(a, 100, &data, &len, &err), &err);
        CHECK(len == 3 && strcmp(data, "new") == 0);
        cs_file_free(data, len);
        /* dir holds secret.key, cert.pem, a/, set-a.key, set-b.pem: no temporary left */
        CHECK(count_entries(fx_dir) == 5);
    }

    CHECK(strcmp(cs_code_name(CS_EEXIST), "exists") == 0);
    CHECK(strcmp(cs_code_name(CS_EINVAL), "invalid") == 0);
    CHECK(strcmp(cs_code_name(CS_ELOCKED), "locked") == 0);
    CHECK(strcmp(cs_code_name(CS_EUNSUPPORTED), "unsupported") == 0);
    CHECK(strcmp(cs_code_name((cs_code)999), "unknown") == 0);

    CHECK(fx_rmdir() == 0);
    return CHECK_DONE();
}
