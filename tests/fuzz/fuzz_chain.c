/* libFuzzer target: whatever bytes a chain file holds (PEM blocks in any
 * number and order with text between them, or one DER certificate),
 * cs_cert_load_chain_file reads all of it or fails cleanly, and what loads
 * goes through inspection and verification as the server and `inspect` use
 * it: first certificate the leaf, the rest untrusted, the last also the
 * root. No crash, no leak, no abort. The loader reads a path: each input is
 * written to one temporary file first. With CS_FUZZ_SEEDS=dir, chains of the
 * harness's own certificates are written there. Build with -DCS_FUZZ=ON and
 * CC=clang; see tests/fuzz/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

static char path[] = "/tmp/fuzz_chain.XXXXXX";
static int fd = -1;

static void remove_file(void)
{
    unlink(path);
}

static void append(char **buf, size_t *len, const char *s, size_t n)
{
    char *grown = realloc(*buf, *len + n);

    if (!grown)
        fz_die("out of memory", NULL);
    memcpy(grown + *len, s, n);
    *buf = grown;
    *len += n;
}

static void seeds(const char *dir)
{
    cs_key *rk = fz_fixed_key("chainsmith fuzz_chain root");
    cs_key *ik = fz_fixed_key("chainsmith fuzz_chain intermediate");
    cs_key *lk = fz_fixed_key("chainsmith fuzz_chain leaf");
    cs_cert *root = fz_ca(rk, "Fuzz Root");
    cs_cert *mid = fz_issue(ik, "Fuzz Intermediate", root, rk, 1);
    cs_cert *leaf = fz_issue(lk, "localhost", mid, ik, 0);
    const cs_cert *order[] = {leaf, mid, root};
    char *chain = NULL, *pem = NULL;
    unsigned char *der = NULL;
    size_t clen = 0, len = 0;
    cs_err err;

    for (size_t i = 0; i < 3; i++) {
        if (cs_cert_pem(order[i], &pem, &len, &err) != CS_OK)
            fz_die("PEM", &err);
        if (i == 1)
            append(&chain, &clen, "subject=CN = Fuzz Intermediate\n", 31);
        append(&chain, &clen, pem, len);
        if (i == 0)
            fz_seed(dir, "leaf.pem", pem, len);
        free(pem);
    }
    fz_seed(dir, "chain.pem", chain, clen);
    fz_seed(dir, "chain-2.pem", chain, clen - (clen / 3));
    if (cs_cert_der(leaf, &der, &len, &err) != CS_OK)
        fz_die("DER", &err);
    fz_seed(dir, "leaf.der", der, len);
    free(der);
    free(chain);
    cs_cert_free(leaf);
    cs_cert_free(mid);
    cs_cert_free(root);
    cs_key_free(lk);
    cs_key_free(ik);
    cs_key_free(rk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = mkstemp(path);
    if (fd < 0)
        fz_die(path, NULL);
    atexit(remove_file);
    if (fz_seed_dir())
        seeds(fz_seed_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cs_cert **certs = NULL;
    size_t n = 0;
    cs_err err;

    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        fz_die(path, NULL);
    if (cs_cert_load_chain_file(path, &certs, &n, &err) != CS_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        cs_cert_info *info = NULL;
        char *serial = cs_cert_serial_hex(certs[i]);
        if (cs_cert_get_info(certs[i], &info, &err) == CS_OK)
            cs_cert_info_free(info);
        free(serial);
        if (i + 1 < n && cs_cert_issued_by(certs[i], certs[i + 1], &err) == CS_OK)
            (void)err;
    }
    if (cs_cert_verify(certs[0], (const cs_cert *const *)certs + 1, n - 1,
                       (const cs_cert *const *)certs + n - 1, 1, "localhost", 0, &err) == CS_OK)
        (void)err;
    cs_cert_free_all(certs, n);
    return 0;
}
