/* Journals: see journal.h. A journal is text, one item a line:
 *
 *   chainsmith journal 1
 *   serial 3F09...                     (a certificate's journal: its record
 *   issuer C=SE, O=Simple Inc, CN=...   tells whether it was committed)
 *   mark 5c1e...                       (or a marked one: the store's mark)
 *   file <overwrite 0|1> <mode octal> <temporary path>\t<final path>
 *   remove <path>                      (a file the new state has no place for)
 *   end
 *
 * Removals are done once every file has its name, and only then: a key
 * re-made in the other form (a token's NAME.key.uri for NAME.key, or back)
 * takes the old form away in the same step, and recovery does it again
 * when the kill came between (unlink of a file already gone is fine).
 *
 * It is written under NAME.journal-new, locked, fsynced, then renamed to
 * NAME.journal; the temporary files are created only after that, so a
 * NAME.journal-new whose lock is free never has files to clean. The flock
 * is held on the open file until the journal is removed: the kernel drops it
 * when the process dies, which is how recovery tells a dead issuance from a
 * live one. */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "internal.h"

#define MAGIC "chainsmith journal 1"
#define JOURNAL_MAX 65536
#define KEY_MODE 0600
#define JOURNAL_TRIES 8

/* The pause before each file takes its name, in microseconds: 0, but for
 * the kill-loop tests, which build a module of their own with
 * CS_TEST_HOOKS (tests/CMakeLists.txt) to land their kills there. */
#ifdef CS_TEST_HOOKS
static long place_delay_us; /* test builds only: no other global state */

void cs_journal_test_delay(long us)
{
    place_delay_us = us > 0 ? us : 0;
}
#define PLACE_DELAY_US place_delay_us
#else
#define PLACE_DELAY_US 0L
#endif

typedef struct jfile {
    char *tmp;
    char *path;
    unsigned mode;
    int overwrite;
} jfile;

struct cs_journal {
    char *jpath; /* dir/NAME.journal */
    int fd;      /* holds the flock; -1 once released */
    jfile *files;
    size_t n;
    char **removes; /* removed once the files have their names */
    size_t nremove;
    size_t written; /* temporary files on disk */
    int placed;
};

/* A parsed journal. */
typedef struct jtext {
    char *serial;
    char *issuer;
    char *mark;
    jfile *files;
    size_t n;
    char **removes;
    size_t nremove;
} jtext;

static void jfiles_free(jfile *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(files[i].tmp);
        free(files[i].path);
    }
    free(files);
}

static void paths_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

static void jtext_free(jtext *t)
{
    free(t->serial);
    free(t->issuer);
    free(t->mark);
    jfiles_free(t->files, t->n);
    paths_free(t->removes, t->nremove);
    memset(t, 0, sizeof *t);
}

static int random_hex(char *out, size_t bytes)
{
    unsigned char rnd[16];

    if (bytes > sizeof rnd || RAND_bytes(rnd, (int)bytes) != 1)
        return -1;
    csi_hex_lower(rnd, bytes, out);
    return 0;
}

/* fsync each distinct folder of files (consecutive duplicates skipped). */
static void sync_parents(const jfile *files, size_t n)
{
    char dir[4096], last[4096] = "";

    for (size_t i = 0; i < n; i++) {
        char copy[4096];
        if (strlen(files[i].path) >= sizeof copy)
            continue;
        strcpy(copy, files[i].path);
        snprintf(dir, sizeof dir, "%s", dirname(copy));
        if (strcmp(dir, last) == 0)
            continue;
        csi_sync_dir_of(files[i].path);
        strcpy(last, dir);
    }
}

/* ---- reading a journal ---- */

/* Parse text into t. 0, or -1 if it is not a whole journal. */
static int parse(const char *text, jtext *t)
{
    const char *p = text;
    int ended = 0;

    memset(t, 0, sizeof *t);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len;
        if (!nl)
            break; /* every line ends in a newline */
        len = (size_t)(nl - p);
        if (p == text) {
            if (len != strlen(MAGIC) || memcmp(p, MAGIC, len) != 0)
                goto bad;
        } else if (len > 7 && memcmp(p, "serial ", 7) == 0 && !t->serial) {
            if (!(t->serial = csi_dup_n(p + 7, len - 7)))
                goto bad;
        } else if (len > 7 && memcmp(p, "issuer ", 7) == 0 && !t->issuer) {
            if (!(t->issuer = csi_dup_n(p + 7, len - 7)))
                goto bad;
        } else if (len > 5 && memcmp(p, "mark ", 5) == 0 && !t->mark) {
            if (!(t->mark = csi_dup_n(p + 5, len - 5)))
                goto bad;
        } else if (len > 5 && memcmp(p, "file ", 5) == 0) {
            char *line = csi_dup_n(p + 5, len - 5), *tab, *paths;
            unsigned mode = 0;
            int over = 0, used = 0;
            jfile *grown = realloc(t->files, (t->n + 1) * sizeof *grown);
            if (grown)
                t->files = grown;
            if (!line || !grown || sscanf(line, "%d %o %n", &over, &mode, &used) != 2 ||
                used == 0 || !(tab = strchr(line + used, '\t'))) {
                free(line);
                goto bad;
            }
            paths = line + used;
            *tab = '\0';
            t->files[t->n].tmp = strdup(paths);
            t->files[t->n].path = strdup(tab + 1);
            t->files[t->n].mode = mode;
            t->files[t->n].overwrite = over != 0;
            t->n++;
            free(line);
            if (!t->files[t->n - 1].tmp || !t->files[t->n - 1].path)
                goto bad;
        } else if (len > 7 && memcmp(p, "remove ", 7) == 0) {
            char **grown = realloc(t->removes, (t->nremove + 1) * sizeof *grown);
            if (!grown)
                goto bad;
            t->removes = grown;
            if (!(t->removes[t->nremove] = csi_dup_n(p + 7, len - 7)))
                goto bad;
            t->nremove++;
        } else if (len == 3 && memcmp(p, "end", 3) == 0) {
            ended = 1;
        } else {
            goto bad;
        }
        p = nl + 1;
    }
    if (ended && ((t->serial && t->issuer && !t->mark) || (t->mark && !t->serial && !t->issuer)))
        return 0;
bad:
    jtext_free(t);
    return -1;
}

/* Does path still name the file open on fd? */
static int same_file(int fd, const char *path)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

/* Lock the journal at path, waiting for its process when wait is set. 0:
 * locked, *fd set; 1: a live process holds it; 2: it is gone (removed
 * meanwhile); -1: error (errno). */
static int lock_journal(const char *path, int wait, int *fd)
{
    int f = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), got;

    if (f < 0)
        return errno == ENOENT ? 2 : -1;
    do
        got = flock(f, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
    while (got != 0 && errno == EINTR);
    if (got != 0) {
        int e = errno;
        close(f);
        if (e == EWOULDBLOCK)
            return 1;
        errno = e;
        return -1;
    }
    /* Whoever held it before us may have removed it: then it is not ours. */
    if (!same_file(f, path)) {
        close(f);
        return 2;
    }
    *fd = f;
    return 0;
}

/* ---- placing files ---- */

/* Give files[from..] their names, in order; files whose temporary file is
 * gone were placed before (recovery after a crash mid-way). On failure the
 * rest are removed and err names the file. delay_us > 0 (a test hook) sleeps
 * before each file. */
static cs_code place_files(const jfile *files, size_t n, long delay_us, cs_err *err)
{
    cs_code rc = CS_OK;
    size_t i;

    for (i = 0; i < n && rc == CS_OK; i++) {
        const jfile *f = &files[i];
        struct stat tst, fst;
        if (delay_us > 0) {
            struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        if (lstat(f->tmp, &tst) != 0) {
            if (errno != ENOENT)
                rc = cs_err_set(err, CS_EIO, "%s: %s", f->tmp, strerror(errno));
            continue;
        }
        if (f->overwrite) {
            if (rename(f->tmp, f->path) != 0)
                rc = cs_err_set(err, CS_EIO, "%s: cannot replace: %s", f->path,
                                strerror(errno));
            continue;
        }
        /* link() fails if the name exists: nothing outside is overwritten. */
        if (link(f->tmp, f->path) != 0) {
            int e = errno;
            /* Linked before a crash, the temporary name not yet removed. */
            if (!(e == EEXIST && lstat(f->path, &fst) == 0 && fst.st_ino == tst.st_ino &&
                  fst.st_dev == tst.st_dev)) {
                rc = e == EEXIST
                         ? cs_err_set(err, CS_EEXIST, "%s: appeared while being issued, not "
                                      "overwritten", f->path)
                         : cs_err_set(err, CS_EIO, "%s: cannot create: %s", f->path,
                                      strerror(e));
                continue;
            }
        }
        unlink(f->tmp);
    }
    /* After a failure, what is left must not take its name (a key without
     * its certificate): it goes, the failed one included. */
    if (rc != CS_OK)
        for (size_t k = i - 1; k < n; k++)
            unlink(files[k].tmp);
    sync_parents(files, n);
    return rc;
}

/* Remove paths (a missing one was removed before: a replay after a
 * crash), then fsync their folders. On failure the rest are still tried
 * and err names the first that stayed. */
static cs_code remove_files(char *const *paths, size_t n, cs_err *err)
{
    cs_code rc = CS_OK;

    for (size_t i = 0; i < n; i++) {
        if (unlink(paths[i]) != 0 && errno != ENOENT && rc == CS_OK)
            rc = cs_err_set(err, CS_EIO, "%s: cannot remove the replaced file: %s", paths[i],
                            strerror(errno));
        csi_sync_dir_of(paths[i]);
    }
    return rc;
}

/* ---- recovery ---- */

/* Finish or undo the journal at path (the caller holds its lock). 1
 * forward, 0 back, -1 error (err set; the journal stays for the next try). */
static int recover_one(const char *path, cs_store *store, cs_err *err)
{
    char *text = NULL;
    size_t len = 0;
    jtext t;
    cs_cert *found = NULL;
    cs_err ferr = {CS_OK, ""};
    cs_code rc;
    int dir = -1;

    if (cs_file_read(path, JOURNAL_MAX, &text, &len, err) != CS_OK)
        return -1;
    if (parse(text, &t) != 0) {
        cs_file_free(text, len);
        /* Renamed into place only once whole: a torn one is not ours. */
        cs_err_set(err, CS_EINVAL, "%s: not a chainsmith journal (left in place: remove it "
                   "to go on)", path);
        return -1;
    }
    cs_file_free(text, len);
    if (t.mark) {
        int marked = 0;
        rc = cs_store_mark_find(store, t.mark, &marked, &ferr);
        if (rc == CS_OK && !marked)
            rc = CS_ENOENT;
    } else {
        rc = cs_store_find(store, t.serial, t.issuer, &found, NULL, &ferr);
        cs_cert_free(found);
    }
    if (rc == CS_OK) {
        dir = 1;
        /* Every file was written before the commit. A target that appeared
         * meanwhile (from outside chainsmith) is not replaced: that file
         * and the rest of the set are dropped, and the record stays, as
         * cs_journal_place leaves it; the open that recovers goes on. */
        cs_err perr;
        if (place_files(t.files, t.n, 0, &perr) == CS_OK)
            (void)remove_files(t.removes, t.nremove, &perr);
    } else if (rc == CS_ENOENT) {
        dir = 0;
        for (size_t i = 0; i < t.n; i++)
            unlink(t.files[i].tmp);
        sync_parents(t.files, t.n);
    } else {
        if (err)
            *err = ferr;
        jtext_free(&t);
        return -1;
    }
    jtext_free(&t);
    /* Done either way (a failed placement removed what was left). */
    unlink(path);
    return dir;
}

/* The journal at path, locked by us (fd): a -new one died before listing
 * any file and goes; a whole one is recovered. */
static cs_code settle(const char *path, int is_new, cs_store *store, size_t *forward,
                      size_t *back, cs_err *err)
{
    int r;

    if (is_new) {
        unlink(path);
        return CS_OK;
    }
    r = recover_one(path, store, err);
    if (r < 0)
        return err ? err->code : CS_EIO;
    if (r == 1 && forward)
        (*forward)++;
    else if (r == 0 && back)
        (*back)++;
    return CS_OK;
}

/* Which of claim's targets the live journal at path writes too: 0 none, 1
 * only targets we replace anyway (wait for it: its files are newer than
 * what it replaces, older than ours), -1 one we must not overwrite
 * (CS_EEXIST in err). A journal gone meanwhile writes nothing. */
static int claimed(const char *path, const jfile *claim, size_t n, cs_err *err)
{
    char *text = NULL;
    size_t tlen = 0;
    jtext t;
    cs_err rerr;
    int found = 0;

    if (cs_file_read(path, JOURNAL_MAX, &text, &tlen, &rerr) != CS_OK)
        return 0; /* placed and removed meanwhile */
    if (parse(text, &t) == 0) {
        for (size_t i = 0; i < t.n && found >= 0; i++)
            for (size_t k = 0; k < n && found >= 0; k++) {
                if (strcmp(t.files[i].path, claim[k].path) != 0)
                    continue;
                if (claim[k].overwrite) {
                    found = 1;
                } else {
                    cs_err_set(err, CS_EEXIST, "%s: exists, not overwritten (another "
                               "issuance is writing it)", claim[k].path);
                    found = -1;
                }
            }
        jtext_free(&t);
    }
    cs_file_free(text, tlen);
    return found;
}

/* Scan dir: recover journals whose process is gone; with claim (n > 0),
 * CS_EEXIST when a live journal writes one of claim's targets that claim
 * may not replace, and a wait for it to finish when it writes one that
 * claim replaces (so an older CRL never lands over a newer one). */
static cs_code scan(const char *dir, cs_store *store, const jfile *claim, size_t n,
                    size_t *forward, size_t *back, cs_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    cs_code rc = CS_OK;

    if (!d) {
        if (errno == ENOENT)
            return CS_OK;
        return cs_err_set(err, CS_EIO, "%s: cannot read: %s", dir, strerror(errno));
    }
    while (rc == CS_OK && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        int is_new = len > 12 && strcmp(de->d_name + len - 12, ".journal-new") == 0;
        int is_journal = len > 8 && strcmp(de->d_name + len - 8, ".journal") == 0;
        int fd = -1, got;
        if (!is_new && !is_journal)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        got = lock_journal(path, 0, &fd);
        if (got == 1 && is_journal && n > 0) {
            int c = claimed(path, claim, n, err);
            if (c < 0) {
                rc = CS_EEXIST;
                continue;
            }
            /* A live journal is past its commit (the caller holds the
             * write lock): its placing takes milliseconds. */
            got = c == 1 ? lock_journal(path, 1, &fd) : 1;
        }
        if (got == 0) {
            rc = settle(path, is_new, store, forward, back, err);
            close(fd);
        } else if (got < 0) {
            rc = cs_err_set(err, CS_EIO, "%s: cannot open: %s", path, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

cs_code cs_journal_recover(const char *dir, cs_store *store, size_t *forward, size_t *back,
                           cs_err *err)
{
    if (!dir || !store)
        return cs_err_set(err, CS_EINVAL, "cs_journal_recover: missing argument");
    if (forward)
        *forward = 0;
    if (back)
        *back = 0;
    return scan(dir, store, NULL, 0, forward, back, err);
}

/* ---- staging ---- */

static int exists(const cs_file_out *f, struct stat *st)
{
    return !f->overwrite && lstat(f->path, st) == 0;
}

/* The cert's serial (upper-case hex of its bytes) and issuer line, as the
 * store records them; free both with free(). */
static cs_code cert_keys(const cs_cert *cert, char **serial, char **issuer, cs_err *err)
{
    const ASN1_INTEGER *ai = X509_get0_serialNumber(cert->x509);
    int n = ASN1_STRING_length(ai);
    char *s = NULL, *line = NULL;

    if (n <= 0 || n > 20)
        return cs_err_set(err, CS_EINVAL, "journal: certificate serial out of range");
    s = malloc(2 * (size_t)n + 1);
    line = csi_name_oneline(X509_get_issuer_name(cert->x509));
    if (!s || !line) {
        free(s);
        free(line);
        return cs_err_set(err, CS_ENOMEM, "journal: out of memory");
    }
    csi_hex_lower(ASN1_STRING_get0_data(ai), (size_t)n, s);
    for (char *c = s; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    if (strpbrk(line, "\n\r")) {
        free(s);
        free(line);
        return cs_err_set(err, CS_EINVAL, "journal: issuer name holds a line break");
    }
    *serial = s;
    *issuer = line;
    return CS_OK;
}

/* dir from the root (the mark's path is checked by other processes, from
 * other folders); free with free(). NULL with errno set on failure. */
static char *absolute(const char *dir)
{
    char cwd[4096], *out;

    if (dir[0] == '/')
        return strdup(dir);
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    out = malloc(strlen(cwd) + strlen(dir) + 2);
    if (out)
        sprintf(out, "%s/%s", cwd, dir);
    return out;
}

/* The journal's text: a certificate's (serial, issuer) or a mark (name);
 * free with free(). */
static char *journal_text(const char *serial, const char *issuer, const char *mark,
                          const jfile *files, size_t n, char *const *removes,
                          size_t nremove)
{
    size_t cap = strlen(MAGIC) + 64, used;
    char *out;

    cap += mark ? strlen(mark) : strlen(serial) + strlen(issuer);
    for (size_t i = 0; i < n; i++)
        cap += strlen(files[i].tmp) + strlen(files[i].path) + 32;
    for (size_t i = 0; i < nremove; i++)
        cap += strlen(removes[i]) + 16;
    out = malloc(cap);
    if (!out)
        return NULL;
    if (mark)
        used = (size_t)snprintf(out, cap, "%s\nmark %s\n", MAGIC, mark);
    else
        used = (size_t)snprintf(out, cap, "%s\nserial %s\nissuer %s\n", MAGIC, serial,
                                issuer);
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "file %d %o %s\t%s\n",
                                 files[i].overwrite, files[i].mode, files[i].tmp,
                                 files[i].path);
    for (size_t i = 0; i < nremove; i++)
        used += (size_t)snprintf(out + used, cap - used, "remove %s\n", removes[i]);
    snprintf(out + used, cap - used, "end\n");
    return out;
}

cs_code cs_journal_stage(const char *dir, cs_store *store, const cs_cert *cert,
                         const cs_file_out *files, size_t n, cs_journal **out, cs_err *err)
{
    return cs_journal_stage_removing(dir, store, cert, files, n, NULL, 0, out, err);
}

/* Is path one of files' targets? */
static int is_target(const char *path, const cs_file_out *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].path, path) == 0)
            return 1;
    return 0;
}

cs_code cs_journal_stage_removing(const char *dir, cs_store *store, const cs_cert *cert,
                                  const cs_file_out *files, size_t n,
                                  const char *const *removes, size_t nremove,
                                  cs_journal **out, cs_err *err)
{
    cs_journal *j = NULL;
    char *serial = NULL, *issuer = NULL, *text = NULL, *newpath = NULL, *real = NULL;
    const cs_file_out **order = NULL;
    char name[33], rnd[13];
    size_t k = 0;
    struct stat st;
    cs_code rc = CS_OK;

    if (!dir || !store || (!files && n) || (!removes && nremove) || !out)
        return cs_err_set(err, CS_EINVAL, "cs_journal_stage: missing argument");
    for (size_t i = 0; i < n; i++) {
        if (!files[i].path || strpbrk(files[i].path, "\t\n\r"))
            return cs_err_set(err, CS_EINVAL, "%s: a file name with a tab or line break",
                              files[i].path ? files[i].path : "(null)");
        if (exists(&files[i], &st))
            return csi_file_exists_error(files[i].path, err);
    }
    for (size_t i = 0; i < nremove; i++) {
        if (!removes[i] || !removes[i][0] || strpbrk(removes[i], "\t\n\r"))
            return cs_err_set(err, CS_EINVAL, "%s: a file to remove with an empty name, a tab "
                              "or a line break", removes[i] ? removes[i] : "(null)");
        /* it would take away what this journal just placed */
        if (is_target(removes[i], files, n))
            return cs_err_set(err, CS_EINVAL, "%s: both written and removed by one journal",
                              removes[i]);
    }
    rc = cs_file_mkdir(dir, 0700, err);
    if (rc != CS_OK)
        return rc;

    j = calloc(1, sizeof *j);
    order = calloc(n ? n : 1, sizeof *order);
    if (!j || !order) {
        free(j);
        free(order);
        return cs_err_set(err, CS_ENOMEM, "journal: out of memory");
    }
    j->fd = -1;
    j->files = calloc(n ? n : 1, sizeof *j->files);
    j->removes = calloc(nremove ? nremove : 1, sizeof *j->removes);
    if (!j->files || !j->removes) {
        rc = cs_err_set(err, CS_ENOMEM, "journal: out of memory");
        goto done;
    }
    for (; j->nremove < nremove; j->nremove++)
        if (!(j->removes[j->nremove] = strdup(removes[j->nremove]))) {
            rc = cs_err_set(err, CS_ENOMEM, "journal: out of memory");
            goto done;
        }
    /* Keys last: placed in this order, a key never has its name before its
     * certificate. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if ((files[i].mode == KEY_MODE) == (pass == 1))
                order[k++] = &files[i];
    for (size_t i = 0; i < n; i++, j->n++) {
        jfile *f = &j->files[i];
        size_t len = strlen(order[i]->path) + 20;
        f->path = strdup(order[i]->path);
        f->tmp = malloc(len);
        f->mode = order[i]->mode;
        f->overwrite = order[i]->overwrite;
        if (!f->path || !f->tmp || random_hex(rnd, 6) != 0) {
            rc = cs_err_set(err, CS_ENOMEM, "journal: out of memory");
            j->n++;
            goto done;
        }
        snprintf(f->tmp, len, "%s.tmp-%s", order[i]->path, rnd);
    }

    /* Journals of dead processes first (they may hold our names), then the
     * live ones' claims. The caller holds the database's write lock, so a
     * live journal is past its commit: its files are about to take their
     * names. */
    rc = scan(dir, store, j->files, j->n, NULL, NULL, err);
    if (rc == CS_OK && !cert)
        rc = cs_store_mark_prune(store, err); /* needs the open batch: checks it */
    if (rc != CS_OK)
        goto done;
    /* Again: a dead one's files may just have taken their names. */
    for (size_t i = 0; i < n; i++) {
        if (exists(&files[i], &st)) {
            rc = csi_file_exists_error(files[i].path, err);
            goto done;
        }
    }

    if (cert) {
        rc = cert_keys(cert, &serial, &issuer, err);
        if (rc != CS_OK)
            goto done;
    } else if (!(real = absolute(dir))) {
        rc = cs_err_set(err, CS_EIO, "%s: cannot name it from the root: %s", dir,
                        strerror(errno));
        goto done;
    }
    newpath = malloc(strlen(dir) + 48);
    j->jpath = malloc(strlen(dir) + 48);
    if (!newpath || !j->jpath) {
        rc = cs_err_set(err, CS_ENOMEM, "journal: out of memory");
        goto done;
    }
    /* Between our open and our flock, a recovery elsewhere may take the new
     * file for a dead one's and remove it: then we start again. */
    for (int tries = 0; j->fd < 0 && tries < JOURNAL_TRIES; tries++) {
        int got;
        if (random_hex(name, 16) != 0) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "journal: random name");
            goto done;
        }
        sprintf(newpath, "%s/%s.journal-new", dir, name);
        sprintf(j->jpath, "%s/%s.journal", dir, name);
        j->fd = open(newpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->fd < 0) {
            rc = cs_err_set(err, CS_EIO, "%s: cannot create: %s", newpath, strerror(errno));
            goto done;
        }
        got = flock(j->fd, LOCK_EX | LOCK_NB);
        if (got != 0 || !same_file(j->fd, newpath)) {
            close(j->fd);
            j->fd = -1;
        }
    }
    if (j->fd < 0) {
        rc = cs_err_set(err, CS_EIO, "%s: cannot create a journal (%d tries)", dir,
                        JOURNAL_TRIES);
        goto done;
    }
    /* A marked journal: its name, recorded in the batch, is the mark. */
    if (!cert) {
        char *abs = malloc(strlen(real) + 48);
        if (abs) {
            sprintf(abs, "%s/%s.journal", real, name);
            rc = cs_store_mark_add(store, name, abs, err);
            free(abs);
        } else {
            rc = cs_err_set(err, CS_ENOMEM, "journal: out of memory");
        }
    }
    text = rc == CS_OK ? journal_text(serial, issuer, cert ? NULL : name, j->files, j->n,
                                      j->removes, j->nremove)
                       : NULL;
    if (!text) {
        if (rc == CS_OK)
            rc = cs_err_set(err, CS_ENOMEM, "journal: out of memory");
        unlink(newpath);
        close(j->fd);
        j->fd = -1;
        goto done;
    }
    if (csi_write_all(j->fd, text, strlen(text)) != 0 || fsync(j->fd) != 0 ||
        rename(newpath, j->jpath) != 0) {
        rc = cs_err_set(err, CS_EIO, "%s: cannot write: %s", newpath, strerror(errno));
        unlink(newpath);
        close(j->fd);
        j->fd = -1;
        goto done;
    }
    csi_sync_dir_of(j->jpath);

    for (; j->written < j->n; j->written++) {
        const jfile *f = &j->files[j->written];
        rc = csi_file_write_temp(f->path, f->tmp, order[j->written]->data,
                                order[j->written]->len, f->mode, err);
        if (rc != CS_OK)
            goto done;
    }
    /* All written, then all synced (internal.h: one journal flush, not n). */
    for (size_t i = 0; i < j->n && rc == CS_OK; i++)
        rc = csi_file_sync_temp(j->files[i].path, j->files[i].tmp, err);
    if (rc != CS_OK)
        goto done;
    /* The temporary names must survive a power loss once the record does. */
    sync_parents(j->files, j->n);
    *out = j;
    j = NULL;
done:
    cs_journal_free(j);
    free(newpath);
    free(real);
    free(text);
    free(serial);
    free(issuer);
    free(order);
    return rc;
}

cs_code cs_journal_place(cs_journal *j, cs_err *err)
{
    cs_code rc;

    if (!j || j->placed || j->fd < 0)
        return cs_err_set(err, CS_EINVAL, "cs_journal_place: not a staged journal");
    rc = place_files(j->files, j->n, PLACE_DELAY_US, err);
    /* Only once the new files are in: a failed placement keeps the old. */
    if (rc == CS_OK)
        rc = remove_files(j->removes, j->nremove, err);
    /* Placed or, after a failure, removed: the journal has nothing left. */
    j->placed = 1;
    unlink(j->jpath);
    close(j->fd);
    j->fd = -1;
    return rc;
}

void cs_journal_free(cs_journal *j)
{
    if (!j)
        return;
    if (!j->placed) {
        for (size_t i = 0; i < j->written; i++)
            unlink(j->files[i].tmp);
        if (j->fd >= 0 && j->jpath)
            unlink(j->jpath);
    }
    if (j->fd >= 0)
        close(j->fd);
    jfiles_free(j->files, j->n);
    paths_free(j->removes, j->nremove);
    free(j->jpath);
    free(j);
}
