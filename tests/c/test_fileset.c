/* core/fileset: keys, certificate chains and CRLs encoded, then written as
 * one step, with their modes; nothing written on a refusal. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crl.h"
#include "error.h"
#include "fileset.h"
#include "fixtures.h"
#include "store.h"

static int entries(void)
{
    DIR *d = opendir(fx_dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

int main(void)
{
    static const cs_rdn dn[] = {{"CN", "Fileset Root"}};
    char key_path[256], cert_path[256], der_path[256], pem_path[256];
    cs_err err = {0};
    cs_key *key = NULL, *back = NULL;
    cs_cert *cert = NULL;
    cs_crl *crl = NULL, *der = NULL, *pem = NULL;
    cs_fileset *fs = NULL;
    const cs_file_out *files;
    size_t n = 0;
    time_t now = time(NULL);

    if (!fx_mkdtemp("fileset"))
        return 1;
    umask(022);
    fx_path(key_path, sizeof key_path, "root.key");
    fx_path(cert_path, sizeof cert_path, "root.pem");
    fx_path(der_path, sizeof der_path, "root.crl");
    fx_path(pem_path, sizeof pem_path, "root.crl.pem");
    key = fx_key("ec", "P-256");
    {
        cs_cert_spec spec = fx_ca_spec(dn, 1, -1, 30);
        cs_crl_params p = {(int64_t)now, (int64_t)now + 86400, 7, NULL, 0};
        CHECK_OK(cs_cert_sign(&spec, key, NULL, key, &cert, &err), &err);
        CHECK_OK(cs_crl_sign(&p, cert, key, &crl, &err), &err);
    }
    if (!key || !cert || !crl)
        return CHECK_DONE();

    /* Nothing added: nothing listed, nothing written. */
    CHECK_OK(cs_fileset_new(&fs, &err), &err);
    files = cs_fileset_files(fs, &n);
    CHECK(n == 0);
    CHECK_OK(cs_fileset_write(fs, &err), &err);
    CHECK(entries() == 0);

    /* An empty passphrase is refused when added, naming nothing secret. */
    CHECK_FAIL(cs_fileset_add_key(fs, key, "", key_path, 0, &err), CS_EINVAL, &err, "");
    files = cs_fileset_files(fs, &n);
    CHECK(n == 0);

    CHECK_OK(cs_fileset_add_certs(fs, (const cs_cert *const *)&cert, 1, cert_path, 0, &err),
             &err);
    CHECK_OK(cs_fileset_add_crl(fs, crl, 0, der_path, 0, &err), &err);
    CHECK_OK(cs_fileset_add_crl(fs, crl, 1, pem_path, 0, &err), &err);
    CHECK_OK(cs_fileset_add_key(fs, key, NULL, key_path, 0, &err), &err);
    files = cs_fileset_files(fs, &n);
    CHECK(n == 4 && files);
    if (n == 4) {
        CHECK(files[0].mode == 0644 && files[1].mode == 0644 && files[2].mode == 0644);
        CHECK(files[3].mode == 0600 && strcmp(files[3].path, key_path) == 0);
        CHECK(files[1].len > 0 && ((const unsigned char *)files[1].data)[0] == 0x30);
        CHECK(files[2].len > 0 && memcmp(files[2].data, "-----BEGIN X509 CRL-----", 24) == 0);
    }
    CHECK_OK(cs_fileset_write(fs, &err), &err);
    CHECK(entries() == 4);
    CHECK(mode_of(key_path) == 0600 && mode_of(cert_path) == 0644);
    CHECK(mode_of(der_path) == 0644 && mode_of(pem_path) == 0644);
    CHECK_OK(cs_key_load_file(key_path, &back, &err), &err);
    CHECK_OK(cs_cert_check_key(cert, back, &err), &err);
    CHECK_OK(cs_crl_load_file(der_path, &der, &err), &err);
    CHECK_OK(cs_crl_load_file(pem_path, &pem, &err), &err);
    CHECK_OK(cs_crl_verify(der, cert, &err), &err);
    CHECK_OK(cs_crl_verify(pem, cert, &err), &err);

    /* Written again without overwrite: refused before anything is written,
     * the files as they were, nothing temporary left. */
    CHECK_FAIL(cs_fileset_write(fs, &err), CS_EEXIST, &err, cert_path);
    CHECK(entries() == 4);
    cs_fileset_free(fs);
    fs = NULL;

    /* With overwrite, an encrypted key replaces the plain one, still 0600. */
    CHECK_OK(cs_fileset_new(&fs, &err), &err);
    CHECK_OK(cs_fileset_add_key(fs, key, "correct horse", key_path, 1, &err), &err);
    CHECK_OK(cs_fileset_write(fs, &err), &err);
    CHECK(entries() == 4 && mode_of(key_path) == 0600);
    cs_key_free(back);
    back = NULL;
    CHECK(cs_key_load_file(key_path, &back, &err) != CS_OK && back == NULL);
    CHECK_OK(cs_key_load_file_pass(key_path, "correct horse", &back, &err), &err);

    /* Bad arguments: a clear refusal. */
    CHECK_FAIL(cs_fileset_add_crl(fs, NULL, 0, der_path, 0, &err), CS_EINVAL, &err, "CRL");
    CHECK_FAIL(cs_fileset_add_certs(fs, NULL, 0, NULL, 0, &err), CS_EINVAL, &err, "file name");
    CHECK_FAIL(cs_fileset_write(NULL, &err), CS_EINVAL, &err, "nothing to write");
    cs_fileset_free(fs);
    cs_fileset_free(NULL);

    cs_crl_free(pem);
    cs_crl_free(der);
    cs_crl_free(crl);
    cs_cert_free(cert);
    cs_key_free(back);
    cs_key_free(key);
    if (check_failed == 0)
        fx_rmdir();
    return CHECK_DONE();
}
