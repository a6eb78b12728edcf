/* The CA database: issue, batch, find, count, persistence, refusals. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "check.h"
#include "fixtures.h"
#include "store.h"
#include "store_text.h"

#define N_BATCH 150
#define N_SINGLE 50
#define N_LEAVES (N_BATCH + N_SINGLE)

static int write_file(const char *path, const void *data, size_t len, off_t at)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    int ok;

    if (fd < 0)
        return -1;
    ok = pwrite(fd, data, len, at) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* Bytes 18-19 of a database's header (2, 2: WAL) and its user_version
 * (bytes 60-63, big-endian): 0 if the file says so, -1 if not. */
static int header_is(const char *path, int wal, unsigned version)
{
    unsigned char h[64];
    int fd = open(path, O_RDONLY);
    int ok;

    if (fd < 0)
        return -1;
    ok = read(fd, h, sizeof h) == (ssize_t)sizeof h;
    close(fd);
    if (!ok || (wal && (h[18] != 2 || h[19] != 2)))
        return -1;
    return ((unsigned)h[60] << 24 | (unsigned)h[61] << 16 | (unsigned)h[62] << 8 | h[63]) ==
                   version
               ? 0
               : -1;
}

/* Entries in fx_dir whose name starts with prefix. */
static int entries(const char *prefix)
{
    DIR *d = opendir(fx_dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static int64_t count(cs_store *s)
{
    int64_t n = -1;
    cs_err err;

    if (cs_store_count(s, &n, &err) != CS_OK)
        return -1;
    return n;
}

static const char *const server_auth[] = {"serverAuth"};

/* A leaf for host-i.test; with_san 0 makes cs_cert_sign refuse it (CS_ELINT). */
static void leaf_spec(cs_cert_spec *spec, cs_rdn *cn, char *host, size_t host_size,
                      cs_name *san, int i, int with_san)
{
    snprintf(host, host_size, "host-%d.test", i);
    cn->field = "CN";
    cn->value = host;
    san->type = CS_NAME_DNS;
    san->value = host;
    *spec = fx_leaf_spec(cn, 1, server_auth, san, with_san ? 1 : 0, 30);
}

static int issue_leaf(cs_store *s, int i, const cs_key *key, const cs_cert *root,
                      const cs_key *root_key, cs_cert **out, cs_err *err)
{
    cs_cert_spec spec;
    cs_rdn cn;
    cs_name san;
    char host[64];

    leaf_spec(&spec, &cn, host, sizeof host, &san, i, 1);
    return cs_store_issue(s, &spec, key, root, root_key, "server", out, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The text forms both stores write (core/store_text.c): a serial as typed
 * by someone becomes the stored form, or is refused with out untouched. */
static void test_store_text(void)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } serials[] = {
        {"0a1b", "0A1B"}, {"a1b", "0A1B"}, {"000A1B", "0A1B"}, {"ff", "FF"},
        {"0", "00"}, {"0000", "00"}, {"1", "01"},
        {"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
        {"0fffffffffffffffffffffffffffffffffffffff", "0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
        {"00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
        {"1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", NULL}, /* 41 digits: 21 octets */
        {"", NULL}, {"0x1A", NULL}, {"1A ", NULL}, {" 1A", NULL}, {"1g", NULL}, {"-1", NULL},
    };
    static const unsigned char bytes[] = {0x00, 0x0a, 0x1b};
    static const unsigned char zeros[] = {0x00, 0x00};
    const cs_name names[] = {{CS_NAME_DNS, "localhost"}, {CS_NAME_IP, "127.0.0.1"},
                             {CS_NAME_EMAIL, "a@b.test"}, {CS_NAME_URI, "https://a.test/x"}};
    char out[CSI_SERIAL_HEX_MAX + 3], again[CSI_SERIAL_HEX_MAX + 1];
    char *sans;
    size_t i;

    for (i = 0; i < sizeof serials / sizeof serials[0]; i++) {
        int rc;

        strcpy(out, "untouched");
        rc = csi_canon_serial(serials[i].in, out);
        if (serials[i].want)
            CHECK(rc == 0 && strcmp(out, serials[i].want) == 0);
        else
            CHECK(rc == -1 && strcmp(out, "untouched") == 0);
        if (serials[i].want ? rc != 0 || strcmp(out, serials[i].want) != 0 : rc != -1)
            fprintf(stderr, "  serial \"%s\": got %d \"%s\"\n", serials[i].in, rc, out);
    }
    /* whole bytes, no leading zero byte, "00" for zero; canonical already */
    csi_hex_bytes(bytes, sizeof bytes, out);
    CHECK(strcmp(out, "0A1B") == 0);
    CHECK(csi_canon_serial(out, again) == 0 && strcmp(again, out) == 0);
    csi_hex_bytes(zeros, sizeof zeros, out);
    CHECK(strcmp(out, "00") == 0);
    csi_hex_bytes(bytes, 0, out);
    CHECK(strcmp(out, "00") == 0);
    /* the SAN column: every type's tag, in the order given */
    sans = csi_sans_text(names, 4);
    CHECK(sans && strcmp(sans, "DNS:localhost, IP:127.0.0.1, email:a@b.test, "
                               "URI:https://a.test/x") == 0);
    free(sans);
    sans = csi_sans_text(names, 0);
    CHECK(sans && strcmp(sans, "") == 0);
    free(sans);
}

int main(void)
{
    cs_err err = {0};
    cs_store *s = NULL;
    cs_key *root_key = NULL, *leaf_key = NULL;
    cs_cert *root = NULL, *leaves[N_LEAVES] = {0}, *got = NULL;
    cs_cert *const sentinel = (cs_cert *)&err; /* never a real cert: "*out untouched" */
    cs_cert_info *root_info = NULL;
    char *serials[N_LEAVES + 1] = {0};
    char db[512], side[600], garbage[512], v99[512], missing[512];
    char *profile = NULL;
    const cs_key_params p256 = {"ec", "P-256", 0};
    const cs_rdn root_cn[] = {{"CN", "Test Root"}};
    cs_cert_spec root_spec;
    struct stat st;
    int i, n_ok;

    test_store_text();
    if (!fx_mkdtemp("store"))
        return 1;
    fx_path(db, sizeof db, "ca.db");
    fx_path(garbage, sizeof garbage, "garbage.db");
    fx_path(v99, sizeof v99, "v99.db");
    fx_path(missing, sizeof missing, "no/such/dir/ca.db");

    CHECK(cs_store_schema_version() == 4);
    cs_store_close(NULL); /* NULL is fine */

    /* A new store: created 0600. */
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (!s)
        return CHECK_DONE();
    CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(count(s) == 0);
    /* Built under a temporary name and linked into place: it arrives in WAL
     * mode with its schema, and the temporary name is gone. */
    CHECK(header_is(db, 1, 4) == 0);
    CHECK(entries("ca.db.new-") == 0);

    /* The root, self-signed. */
    CHECK_OK(cs_key_generate(&p256, &root_key, &err), &err);
    CHECK_OK(cs_key_generate(&p256, &leaf_key, &err), &err);
    root_spec = fx_ca_spec(root_cn, 1, -1, 30);
    CHECK_OK(cs_store_issue(s, &root_spec, root_key, NULL, root_key, "root", &root, &err),
             &err);
    if (!root || !root_key || !leaf_key)
        return CHECK_DONE();
    CHECK(count(s) == 1);
    /* The WAL side files share the database's mode. */
    snprintf(side, sizeof side, "%s-wal", db);
    CHECK(stat(side, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_OK(cs_cert_get_info(root, &root_info, &err), &err);
    if (!root_info)
        return CHECK_DONE();

    /* spec.serial set: refused, nothing written. */
    {
        static const unsigned char one[] = {1};
        cs_cert_spec bad = root_spec;
        bad.serial = one;
        bad.serial_len = 1;
        got = sentinel;
        CHECK_FAIL(cs_store_issue(s, &bad, root_key, NULL, root_key, "root", &got, &err),
                   CS_EINVAL, &err, "serial");
        CHECK(got == sentinel);
        CHECK(count(s) == 1);
    }

    /* Bulk: N_BATCH leaves in one transaction, a refused one in the middle. */
    CHECK_OK(cs_store_begin(s, &err), &err);
    /* A begin inside the batch nests: its rollback undoes only its own
     * issue, its commit leaves the issue to the outer commit. */
    {
        cs_cert *undone = NULL, *kept = NULL;
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK(issue_leaf(s, 90001, leaf_key, root, root_key, &undone, &err) == CS_OK);
        CHECK(count(s) == 2);
        cs_store_rollback(s);
        CHECK(count(s) == 1);
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK(issue_leaf(s, 90002, leaf_key, root, root_key, &kept, &err) == CS_OK);
        CHECK_OK(cs_store_commit(s, &err), &err);
        CHECK(count(s) == 2);
        cs_store_rollback(s); /* the outer batch: the nested commit goes with it */
        CHECK(count(s) == 1);
        CHECK_FAIL(cs_store_commit(s, &err), CS_EINVAL, &err, "no batch");
        cs_cert_free(undone);
        cs_cert_free(kept);
    }
    CHECK_OK(cs_store_begin(s, &err), &err);
    n_ok = 0;
    for (i = 0; i < N_BATCH; i++) {
        if (issue_leaf(s, i, leaf_key, root, root_key, &leaves[i], &err) == CS_OK)
            n_ok++;
        else
            fprintf(stderr, "leaf %d: %s\n", i, err.msg);
        if (i == N_BATCH / 2) {
            cs_cert_spec spec;
            cs_rdn cn;
            cs_name san;
            char host[64];
            leaf_spec(&spec, &cn, host, sizeof host, &san, 9999, 0);
            got = sentinel;
            CHECK_FAIL(cs_store_issue(s, &spec, leaf_key, root, root_key, "server", &got,
                                      &err),
                       CS_ELINT, &err, "");
            CHECK(got == sentinel);
            CHECK(count(s) == 1 + i + 1); /* the batch's rows so far are still there */
        }
    }
    CHECK(n_ok == N_BATCH);
    CHECK(count(s) == 1 + N_BATCH);
    CHECK_OK(cs_store_commit(s, &err), &err);
    CHECK_FAIL(cs_store_commit(s, &err), CS_EINVAL, &err, "no batch");
    CHECK(count(s) == 1 + N_BATCH);

    /* One commit per certificate. */
    n_ok = 0;
    for (i = N_BATCH; i < N_LEAVES; i++) {
        if (issue_leaf(s, i, leaf_key, root, root_key, &leaves[i], &err) == CS_OK)
            n_ok++;
        else
            fprintf(stderr, "leaf %d: %s\n", i, err.msg);
    }
    CHECK(n_ok == N_SINGLE);
    CHECK(count(s) == 1 + N_LEAVES);

    /* A refused issue outside a batch: nothing written. */
    {
        cs_cert_spec spec;
        cs_rdn cn;
        cs_name san;
        char host[64];
        leaf_spec(&spec, &cn, host, sizeof host, &san, 9998, 0);
        got = sentinel;
        CHECK_FAIL(cs_store_issue(s, &spec, leaf_key, root, root_key, "server", &got, &err),
                   CS_ELINT, &err, "");
        CHECK(got == sentinel);
        CHECK(count(s) == 1 + N_LEAVES);
    }

    /* A batch rolled back leaves nothing. */
    CHECK_OK(cs_store_begin(s, &err), &err);
    for (i = 0; i < 3; i++) {
        got = NULL;
        CHECK_OK(issue_leaf(s, 5000 + i, leaf_key, root, root_key, &got, &err), &err);
        cs_cert_free(got);
    }
    CHECK(count(s) == 1 + N_LEAVES + 3);
    cs_store_rollback(s);
    cs_store_rollback(s); /* no batch: a no-op */
    CHECK(count(s) == 1 + N_LEAVES);

    /* Serials: distinct, at most 16 bytes, positive with the top bit clear. */
    {
        int small = 1, distinct = 1;
        serials[0] = cs_cert_serial_hex(root);
        for (i = 0; i < N_LEAVES; i++) {
            const ASN1_INTEGER *ai;
            BIGNUM *bn;
            if (!leaves[i]) {
                small = 0;
                continue;
            }
            ai = X509_get0_serialNumber(cs_cert_get0_x509(leaves[i]));
            bn = ASN1_INTEGER_to_BN(ai, NULL);
            if (!bn || BN_is_negative(bn) || BN_is_zero(bn) || BN_num_bits(bn) > 127 ||
                BN_num_bytes(bn) > 16)
                small = 0;
            BN_free(bn);
            serials[i + 1] = cs_cert_serial_hex(leaves[i]);
        }
        for (i = 0; i <= N_LEAVES; i++)
            if (!serials[i])
                small = 0;
        CHECK(small);
        if (small) {
            qsort(serials, N_LEAVES + 1, sizeof serials[0], cmp_str);
            for (i = 1; i <= N_LEAVES; i++)
                if (strcmp(serials[i - 1], serials[i]) == 0)
                    distinct = 0;
        }
        CHECK(distinct);
    }

    /* Find: by serial (lower case), with and without the issuer. */
    {
        char *hex = cs_cert_serial_hex(leaves[7]);
        char fp_want[65], fp_got[65];
        size_t k;
        CHECK(hex != NULL);
        if (hex) {
            for (k = 0; hex[k]; k++)
                hex[k] = (char)tolower((unsigned char)hex[k]);
            cs_cert_fingerprint(leaves[7], fp_want);

            got = NULL;
            profile = NULL;
            CHECK_OK(cs_store_find(s, hex, NULL, &got, &profile, &err), &err);
            if (got) {
                cs_cert_fingerprint(got, fp_got);
                CHECK(strcmp(fp_got, fp_want) == 0);
            }
            CHECK(profile && strcmp(profile, "server") == 0);
            cs_cert_free(got);
            free(profile);

            got = NULL;
            profile = NULL;
            CHECK_OK(cs_store_find(s, hex, root_info->subject, &got, &profile, &err), &err);
            if (got) {
                cs_cert_fingerprint(got, fp_got);
                CHECK(strcmp(fp_got, fp_want) == 0);
            }
            cs_cert_free(got);
            free(profile);

            /* NULL profile pointer: not wanted. */
            got = NULL;
            CHECK_OK(cs_store_find(s, hex, NULL, &got, NULL, &err), &err);
            cs_cert_free(got);

            got = sentinel;
            CHECK_FAIL(cs_store_find(s, hex, "CN=Someone Else", &got, &profile, &err),
                       CS_ENOENT, &err, "not in the database");
            CHECK(got == sentinel);
            free(hex);
        }
        got = sentinel;
        CHECK_FAIL(cs_store_find(s, "01", NULL, &got, &profile, &err), CS_ENOENT, &err,
                   "serial 01: not in the database");
        CHECK(got == sentinel);
        CHECK_FAIL(cs_store_find(s, "xyz", NULL, &got, &profile, &err), CS_EINVAL, &err,
                   "xyz");
        CHECK_FAIL(cs_store_find(s, "", NULL, &got, &profile, &err), CS_EINVAL, &err,
                   "serial");
        CHECK(got == sentinel);
    }

    /* Reopen: everything persisted. */
    cs_store_close(s);
    s = NULL;
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (s) {
        char *hex = cs_cert_serial_hex(root);
        CHECK(count(s) == 1 + N_LEAVES);
        got = NULL;
        profile = NULL;
        CHECK_OK(cs_store_find(s, hex ? hex : "00", NULL, &got, &profile, &err), &err);
        CHECK(profile && strcmp(profile, "root") == 0);
        cs_cert_free(got);
        free(profile);
        free(hex);
        cs_store_close(s);
        s = NULL;
    }

    /* Not a database: CS_EDB naming the path, and the file left as it was. */
    CHECK(write_file(garbage, "not a database", 14, 0) == 0);
    s = NULL;
    CHECK_FAIL(cs_store_open(garbage, &s, &err), CS_EDB, &err, garbage);
    CHECK(s == NULL);
    CHECK(stat(garbage, &st) == 0 && st.st_size == 14);

    /* A schema newer than this build: user_version lives at offset 60 of the
     * header, big-endian (the WAL is checkpointed away on the last close). */
    CHECK_OK(cs_store_open(v99, &s, &err), &err);
    cs_store_close(s);
    s = NULL;
    {
        static const unsigned char ver99[4] = {0, 0, 0, 99};
        CHECK(write_file(v99, ver99, sizeof ver99, 60) == 0);
    }
    CHECK_FAIL(cs_store_open(v99, &s, &err), CS_EDB, &err,
               "database schema version 99 is newer than this build (4)");
    CHECK(s == NULL);

    /* A folder that does not exist: nothing created. */
    CHECK_FAIL(cs_store_open(missing, &s, &err), CS_ENOENT, &err, missing);
    CHECK(s == NULL);

    /* An empty file at the path (a crash while an older build created it
     * in place, or made by hand) is set up where it is. */
    {
        char empty[512];
        cs_store *e = NULL;
        fx_path(empty, sizeof empty, "empty.db");
        CHECK(write_file(empty, "", 0, 0) == 0);
        CHECK_OK(cs_store_open(empty, &e, &err), &err);
        CHECK(e && count(e) == 0);
        cs_store_close(e);
        CHECK(header_is(empty, 1, 4) == 0);
        CHECK(entries("empty.db.new-") == 0);
    }

    /* Clean up. */
    for (i = 0; i <= N_LEAVES; i++)
        free(serials[i]);
    for (i = 0; i < N_LEAVES; i++)
        cs_cert_free(leaves[i]);
    cs_cert_info_free(root_info);
    cs_cert_free(root);
    cs_key_free(root_key);
    cs_key_free(leaf_key);
    fx_rmdir();
    return CHECK_DONE();
}
