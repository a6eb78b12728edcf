/* What the C unit tests build on: a temporary directory, keys, a CA and a leaf
 * spec, files in the directory, shell commands run there. Header-only so that
 * the CHECK_OK in a helper counts in the test that calls it (check.h keeps
 * its counters per file); static inline so a test need not use them all. */
#ifndef CS_FIXTURES_H
#define CS_FIXTURES_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cert.h"
#include "check.h"
#include "error.h"
#include "file.h"
#include "key.h"

/* The test's temporary directory, made by fx_mkdtemp. */
static char fx_dir[64] __attribute__((unused));

/* /tmp/cs-test-TAG-XXXXXX made and named in fx_dir; 0 (and why) if not. */
static inline int fx_mkdtemp(const char *tag)
{
    snprintf(fx_dir, sizeof fx_dir, "/tmp/cs-test-%s-XXXXXX", tag);
    if (!mkdtemp(fx_dir)) {
        perror("mkdtemp");
        return 0;
    }
    return 1;
}

/* fx_dir and everything left in it removed: 0, or -1 (and why). */
static inline int fx_rmdir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", fx_dir);
        return -1;
    }
    return 0;
}

/* fx_dir/name in buf. */
static inline void fx_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", fx_dir, name);
}

/* A new key (a CHECK_OK in the calling test); NULL if that failed. */
static inline cs_key *fx_key(const char *type, const char *curve)
{
    cs_key_params p = {type, curve, 0};
    cs_key *k = NULL;
    cs_err err = {0};

    CHECK_OK(cs_key_generate(&p, &k, &err), &err);
    return k;
}

/* What every spec here shares: the subject, valid from a minute ago (clock
 * skew between us and openssl verify) for days, critical basicConstraints
 * and keyUsage, both key identifiers. */
static inline cs_cert_spec fx_spec(const cs_rdn *dn, size_t len, int days)
{
    cs_cert_spec s;
    time_t now = time(NULL);

    memset(&s, 0, sizeof s);
    s.subject = dn;
    s.subject_len = len;
    s.not_before = (int64_t)now - 60;
    s.not_after = (int64_t)now + (int64_t)days * 86400;
    s.basic_constraints.present = 1;
    s.basic_constraints.critical = 1;
    s.basic_constraints.path_len = -1;
    s.key_usage.present = 1;
    s.key_usage.critical = 1;
    s.subject_key_id = 1;
    s.authority_key_id = 1;
    return s;
}

/* A CA: keyCertSign and cRLSign; path_len -1 for no limit. */
static inline cs_cert_spec fx_ca_spec(const cs_rdn *dn, size_t len, int path_len, int days)
{
    cs_cert_spec s = fx_spec(dn, len, days);

    s.basic_constraints.ca = 1;
    s.basic_constraints.path_len = path_len;
    s.key_usage.bits = CS_KU_KEY_CERT_SIGN | CS_KU_CRL_SIGN;
    return s;
}

/* A leaf: digitalSignature, the one extKeyUsage purpose eku[0], and the
 * subjectAltName names (absent when names_len is 0). The arrays must outlive
 * the spec. */
static inline cs_cert_spec fx_leaf_spec(const cs_rdn *dn, size_t len, const char *const *eku,
                                        const cs_name *names, size_t names_len, int days)
{
    cs_cert_spec s = fx_spec(dn, len, days);

    s.key_usage.bits = CS_KU_DIGITAL_SIGNATURE;
    s.ext_key_usage.present = 1;
    s.ext_key_usage.purposes = eku;
    s.ext_key_usage.len = 1;
    s.subject_alt_name.present = names_len > 0;
    s.subject_alt_name.names = names_len > 0 ? names : NULL;
    s.subject_alt_name.len = names_len;
    return s;
}

/* c saved as fx_dir/name (a CHECK_OK in the calling test). */
static inline void fx_save_cert(const cs_cert *c, const char *name, int overwrite)
{
    char path[256];
    cs_err err = {0};

    fx_path(path, sizeof path, name);
    CHECK_OK(cs_cert_save(&c, 1, path, overwrite, &err), &err);
}

/* The len bytes of data as the file path: 0; -1 if it could not be opened,
 * -2 if not all written. */
static inline int fx_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -2;
}

/* fx_write_file as two CHECKs in the calling test: opened, then written. */
static inline void fx_check_write(const char *path, const void *data, size_t len)
{
    int rc = fx_write_file(path, data, len);

    CHECK(rc != -1);
    if (rc != -1)
        CHECK(rc == 0);
}

/* fx_dir/name read whole (a CHECK_OK in the calling test); free with
 * cs_file_free(data, *len). */
static inline char *fx_read_file(const char *name, size_t *len)
{
    char path[256];
    char *data = NULL;
    cs_err err = {0};

    fx_path(path, sizeof path, name);
    CHECK_OK(cs_file_read(path, 1 << 20, &data, len, &err), &err);
    return data;
}

/* fx_run's work; loud names a command that failed on stderr. */
static inline int fx_vrun(char *out, size_t cap, int loud, const char *fmt, va_list ap)
{
    char cmd[4096];
    int n;
    size_t used = 0;
    FILE *p;

    if (out && cap > 0)
        out[0] = '\0';
    n = snprintf(cmd, sizeof cmd, "cd '%s' && ", fx_dir);
    if (vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap) >= (int)(sizeof cmd - (size_t)n)) {
        fprintf(stderr, "command too long: %s\n", cmd);
        return -1;
    }
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out && cap > 0) {
        while (used + 1 < cap) {
            size_t got = fread(out + used, 1, cap - 1 - used, p);
            if (got == 0)
                break;
            used += got;
        }
        out[used] = '\0';
    }
    {
        char sink[256];
        while (fread(sink, 1, sizeof sink, p) > 0)
            ;
    }
    n = pclose(p);
    n = WIFEXITED(n) ? WEXITSTATUS(n) : -1;
    if (n != 0 && loud)
        fprintf(stderr, "command failed (exit %d): %s\n", n, cmd);
    return n;
}

/* A shell command run in fx_dir; its stdout (up to cap - 1 bytes, none if
 * out is NULL) in out; the exit status, or -1. */
static inline int fx_run(char *out, size_t cap, const char *fmt, ...) CS_PRINTF(3, 4);
static inline int fx_run(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = fx_vrun(out, cap, 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* fx_run keeping the first line of the output, without its newline: 1 if
 * the command exited 0 and printed something, else 0. */
static inline int fx_run_line(char *out, size_t cap, const char *fmt, ...) CS_PRINTF(3, 4);
static inline int fx_run_line(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = fx_vrun(out, cap, 0, fmt, ap);
    va_end(ap);
    out[strcspn(out, "\r\n")] = '\0';
    return rc == 0 && out[0] != '\0';
}

/* A setup command run in fx_dir: 1 if it exited 0; if not, 0 and the
 * command named on stderr. */
static inline int fx_sh(const char *fmt, ...) CS_PRINTF(1, 2);
static inline int fx_sh(const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = fx_vrun(NULL, 0, 1, fmt, ap);
    va_end(ap);
    return rc == 0;
}

#endif
