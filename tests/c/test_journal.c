/* core/journal: files staged in a transaction, named after its commit, and
 * what recovery does with a journal whose process died: forward when the
 * transaction committed (the certificate's record, or the mark), back when
 * not. Deaths are real: a child process stages and leaves with _exit. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "fixtures.h"
#include "journal.h"
#include "store.h"

static char db[256], pending[256];
static const cs_rdn root_dn[] = {{"CN", "Journal Root"}};

/* How many names in dir contain text. */
static int count(const char *dir, const char *text)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, text) != NULL;
    closedir(d);
    return n;
}

static int exists(const char *name)
{
    char path[256];
    struct stat st;

    fx_path(path, sizeof path, name);
    return stat(path, &st) == 0;
}

/* The bytes of fx_dir/name equal text? */
static int holds(const char *name, const char *text)
{
    size_t len = 0;
    char *data = fx_read_file(name, &len);
    int same = data && len == strlen(text) && memcmp(data, text, len) == 0;

    free(data);
    return same;
}

/* One file fx_dir/name holding text. */
static cs_file_out file(const char *name, const char *text, int overwrite)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];

    fx_path(p, 256, name);
    return (cs_file_out){p, text, strlen(text), 0644, overwrite};
}

/* Stage one file in a marked journal inside a batch; commit when asked;
 * then leave without placing, as a crash would (the child's _exit). */
static void crash_child(const char *name, const char *text, int commit)
{
    cs_store *s = NULL;
    cs_journal *j = NULL;
    cs_err err = {0};
    cs_file_out f = file(name, text, 1);

    if (cs_store_open(db, &s, &err) != CS_OK || cs_store_begin(s, &err) != CS_OK ||
        cs_journal_stage(pending, s, NULL, &f, 1, &j, &err) != CS_OK)
        _exit(2);
    if (commit && cs_store_commit(s, &err) != CS_OK)
        _exit(3);
    _exit(0);
}

static int run_child(const char *name, const char *text, int commit)
{
    int status = -1;
    pid_t pid = fork();

    if (pid == 0)
        crash_child(name, text, commit);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A live journal: a child stages name (overwrite as given), commits, tells
 * the parent through fd, then places after 300 ms. Returns its pid. */
static pid_t live_child(const char *name, const char *text, int fd)
{
    pid_t pid = fork();

    if (pid == 0) {
        cs_store *s = NULL;
        cs_journal *j = NULL;
        cs_err err = {0};
        cs_file_out f = file(name, text, 1);
        struct timespec ts = {0, 300000000};
        if (cs_store_open(db, &s, &err) != CS_OK || cs_store_begin(s, &err) != CS_OK ||
            cs_journal_stage(pending, s, NULL, &f, 1, &j, &err) != CS_OK ||
            cs_store_commit(s, &err) != CS_OK || write(fd, "c", 1) != 1)
            _exit(2);
        nanosleep(&ts, NULL);
        _exit(cs_journal_place(j, &err) == CS_OK ? 0 : 3);
    }
    return pid;
}

/* Two journals writing one file: one we replace waits for the live one (so
 * ours, the newer, lands last); one we may not overwrite is refused. */
static void live(cs_store *s)
{
    cs_err err = {0};
    cs_journal *j = NULL;
    int fds[2], status = -1;
    char c;
    pid_t pid;
    cs_file_out f;

    CHECK(pipe(fds) == 0);
    pid = live_child("shared.crl", "older", fds[1]);
    CHECK(pid > 0 && read(fds[0], &c, 1) == 1);
    f = file("shared.crl", "newer", 1);
    CHECK_OK(cs_store_begin(s, &err), &err);
    CHECK_OK(cs_journal_stage(pending, s, NULL, &f, 1, &j, &err), &err);
    CHECK(holds("shared.crl", "older")); /* the live one finished first */
    CHECK_OK(cs_store_commit(s, &err), &err);
    CHECK_OK(cs_journal_place(j, &err), &err);
    cs_journal_free(j);
    j = NULL;
    CHECK(holds("shared.crl", "newer"));
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    pid = live_child("claimed.pem", "theirs", fds[1]);
    CHECK(pid > 0 && read(fds[0], &c, 1) == 1);
    f = file("claimed.pem", "ours", 0);
    CHECK_OK(cs_store_begin(s, &err), &err);
    CHECK_FAIL(cs_journal_stage(pending, s, NULL, &f, 1, &j, &err), CS_EEXIST, &err,
               "claimed.pem: exists");
    cs_store_rollback(s);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(holds("claimed.pem", "theirs"));
    close(fds[0]);
    close(fds[1]);
}

/* A child stages new.uri and the removal of old.key, commits, and dies
 * before placing (a kill between the commit and the names). */
static void removal_child(const char *old)
{
    pid_t pid = fork();
    int status = -1;

    if (pid == 0) {
        cs_store *s = NULL;
        cs_journal *j = NULL;
        cs_err err = {0};
        cs_file_out f = file("new.uri", "pkcs11:token=ca;object=k", 1);
        if (cs_store_open(db, &s, &err) != CS_OK || cs_store_begin(s, &err) != CS_OK ||
            cs_journal_stage_removing(pending, s, NULL, &f, 1, &old, 1, &j, &err) != CS_OK ||
            cs_store_commit(s, &err) != CS_OK)
            _exit(2);
        _exit(0);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
}

/* Removals: done once the files have their names; replayed by recovery
 * forward (a second time is fine: the file is gone already); never done
 * back; a path both written and removed, or with a line break, refused. */
static void removals(cs_store *s)
{
    cs_err err = {0};
    cs_journal *j = NULL;
    char old[256], gone[256];
    const char *one = old;
    size_t fwd = 9, back = 9;
    cs_file_out f = file("placed.uri", "uri", 1);

    fx_path(old, sizeof old, "old.key");
    fx_path(gone, sizeof gone, "never-there.key");
    CHECK(fx_write_file(old, "old key", 7) == 0);
    {
        const char *both[] = {old, gone};
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_OK(cs_journal_stage_removing(pending, s, NULL, &f, 1, both, 2, &j, &err), &err);
        CHECK(exists("old.key")); /* staged: nothing removed yet */
        CHECK_OK(cs_store_commit(s, &err), &err);
        CHECK_OK(cs_journal_place(j, &err), &err);
        cs_journal_free(j);
        j = NULL;
        CHECK(holds("placed.uri", "uri") && !exists("old.key"));
    }

    /* Killed after the commit: recovery places new.uri, then removes. */
    CHECK(fx_write_file(old, "old key", 7) == 0);
    removal_child(old);
    CHECK(exists("old.key") && !exists("new.uri") && count(pending, ".journal") == 1);
    CHECK_OK(cs_journal_recover(pending, s, &fwd, &back, &err), &err);
    CHECK(fwd == 1 && back == 0);
    CHECK(holds("new.uri", "pkcs11:token=ca;object=k") && !exists("old.key"));
    CHECK(count(fx_dir, ".tmp-") == 0 && count(pending, ".journal") == 0);

    /* Rolled back: the file to remove stays. */
    CHECK(fx_write_file(old, "old key", 7) == 0);
    f = file("rolled.uri", "uri", 1);
    CHECK_OK(cs_store_begin(s, &err), &err);
    CHECK_OK(cs_journal_stage_removing(pending, s, NULL, &f, 1, &one, 1, &j, &err), &err);
    cs_store_rollback(s);
    cs_journal_free(j);
    j = NULL;
    CHECK(exists("old.key") && !exists("rolled.uri"));

    /* Refused, nothing staged. */
    {
        char target[256];
        const char *self = target, *nl = "a\nb.key";
        fx_path(target, sizeof target, "self.uri");
        f = file("self.uri", "uri", 1);
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_FAIL(cs_journal_stage_removing(pending, s, NULL, &f, 1, &self, 1, &j, &err),
                   CS_EINVAL, &err, "both written and removed");
        CHECK_FAIL(cs_journal_stage_removing(pending, s, NULL, &f, 1, &nl, 1, &j, &err),
                   CS_EINVAL, &err, "line break");
        cs_store_rollback(s);
        CHECK(j == NULL && !exists("self.uri") && exists("old.key"));
        CHECK(count(fx_dir, ".tmp-") == 0 && count(pending, ".journal") == 0);
    }
}

int main(void)
{
    cs_err err = {0};
    cs_store *s = NULL;
    cs_key *key = NULL;
    cs_cert *root = NULL;
    cs_journal *j = NULL;
    size_t fwd = 9, back = 9;
    int found = -1;

    if (!fx_mkdtemp("journal"))
        return 1;
    umask(022);
    fx_path(db, sizeof db, "ca.db");
    fx_path(pending, sizeof pending, "pending");
    key = fx_key("ec", "P-256");
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (!key || !s)
        return CHECK_DONE();

    /* A missing pending folder: nothing to recover. */
    CHECK_OK(cs_journal_recover(pending, s, &fwd, &back, &err), &err);
    CHECK(fwd == 0 && back == 0);

    /* A certificate's journal: temporary names until the commit, then the
     * final names, the journal gone. */
    {
        cs_cert_spec spec = fx_ca_spec(root_dn, 1, -1, 30);
        cs_file_out f[2];
        f[0] = file("root.key", "key bytes", 0);
        f[0].mode = 0600;
        f[1] = file("root.pem", "cert bytes", 0);
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_OK(cs_store_issue(s, &spec, key, NULL, key, "root", &root, &err), &err);
        CHECK_OK(cs_journal_stage(pending, s, root, f, 2, &j, &err), &err);
        CHECK(count(fx_dir, ".tmp-") == 2 && count(pending, ".journal") == 1);
        CHECK(!exists("root.pem") && !exists("root.key"));
        CHECK_OK(cs_store_commit(s, &err), &err);
        CHECK_OK(cs_journal_place(j, &err), &err);
        cs_journal_free(j);
        j = NULL;
        CHECK(holds("root.pem", "cert bytes") && holds("root.key", "key bytes"));
        CHECK(count(fx_dir, ".tmp-") == 0 && count(pending, ".journal") == 0);
    }
    if (!root)
        return CHECK_DONE();

    /* Rolled back: freeing the journal undoes it. */
    {
        cs_file_out f = file("undone.pem", "x", 0);
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_OK(cs_journal_stage(pending, s, NULL, &f, 1, &j, &err), &err);
        cs_store_rollback(s);
        cs_journal_free(j);
        j = NULL;
        CHECK(!exists("undone.pem") && count(fx_dir, ".tmp-") == 0);
        CHECK(count(pending, ".journal") == 0);
    }

    /* Refusals leave nothing: a mark needs a batch; an existing target
     * without overwrite; a name with a tab. */
    {
        cs_file_out f = file("loose.pem", "x", 0);
        cs_file_out taken = file("root.pem", "y", 0);
        cs_file_out tab = file("a\tb.pem", "z", 0);
        CHECK_FAIL(cs_journal_stage(pending, s, NULL, &f, 1, &j, &err), CS_EINVAL, &err,
                   "open batch");
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_FAIL(cs_journal_stage(pending, s, NULL, &taken, 1, &j, &err), CS_EEXIST, &err,
                   "root.pem: exists");
        CHECK_FAIL(cs_journal_stage(pending, s, NULL, &tab, 1, &j, &err), CS_EINVAL, &err,
                   "tab or line break");
        cs_store_rollback(s);
        CHECK(j == NULL && !exists("loose.pem") && holds("root.pem", "cert bytes"));
        CHECK(count(fx_dir, ".tmp-") == 0 && count(pending, ".journal") == 0);
    }

    /* Killed after the commit, before the names: recovery names them. */
    CHECK(run_child("forward.crl", "committed", 1) == 0);
    CHECK(!exists("forward.crl") && count(fx_dir, ".tmp-") == 1);
    CHECK(count(pending, ".journal") == 1);
    /* Killed before the commit; its staging first finished the dead one. */
    CHECK(run_child("back.crl", "not committed", 0) == 0);
    CHECK(holds("forward.crl", "committed"));
    CHECK(count(fx_dir, ".tmp-") == 1 && count(pending, ".journal") == 1);
    /* Recovery removes it. */
    CHECK_OK(cs_journal_recover(pending, s, &fwd, &back, &err), &err);
    CHECK(fwd == 0 && back == 1);
    CHECK(holds("forward.crl", "committed") && !exists("back.crl"));
    CHECK(count(fx_dir, ".tmp-") == 0 && count(pending, ".journal") == 0);

    /* A placed journal's mark goes at the next marked batch. */
    {
        char name[64] = "", path[300];
        DIR *d;
        struct dirent *e;
        cs_file_out f = file("next.crl", "next", 1);
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_OK(cs_journal_stage(pending, s, NULL, &f, 1, &j, &err), &err);
        d = opendir(pending);
        while (d && (e = readdir(d)) != NULL)
            if (strstr(e->d_name, ".journal"))
                snprintf(name, sizeof name, "%.32s", e->d_name);
        if (d)
            closedir(d);
        CHECK_OK(cs_store_commit(s, &err), &err);
        CHECK_OK(cs_journal_place(j, &err), &err);
        cs_journal_free(j);
        j = NULL;
        CHECK_OK(cs_store_mark_find(s, name, &found, &err), &err);
        CHECK(found == 1);
        f = file("after.crl", "after", 1);
        CHECK_OK(cs_store_begin(s, &err), &err);
        CHECK_OK(cs_journal_stage(pending, s, NULL, &f, 1, &j, &err), &err);
        CHECK_OK(cs_store_mark_find(s, name, &found, &err), &err);
        CHECK(found == 0);
        cs_store_rollback(s);
        cs_journal_free(j);
        j = NULL;

        /* A journal that is not one: refused, left in place, named. */
        snprintf(path, sizeof path, "%s/bad.journal", pending);
        CHECK(fx_write_file(path, "not a journal\n", 14) == 0);
        CHECK_FAIL(cs_journal_recover(pending, s, &fwd, &back, &err), CS_EINVAL, &err,
                   "not a chainsmith journal");
        CHECK(count(pending, "bad.journal") == 1);
        unlink(path);
    }

    live(s);
    CHECK(count(fx_dir, ".tmp-") == 0 && count(pending, ".journal") == 0);

    removals(s);

    cs_cert_free(root);
    cs_store_close(s);
    cs_key_free(key);
    if (check_failed == 0)
        fx_rmdir();
    return CHECK_DONE();
}
