/* Copy a SQLite CA database into an empty PostgreSQL one (store.h,
 * cs_store_migrate): every certificate with its status, revocation time
 * and reason, profile and issue time, and every issuer's last CRL number,
 * in one PostgreSQL transaction: all or nothing. The source is opened
 * read-only and never changed.
 *
 * Refused, naming what is in the way: live journal marks (a journal file
 * still there: a command on that chain finishes or undoes it first; spent
 * marks are not copied), rows in tables this
 * build does not copy (another feature's state would be left behind), a
 * target that already holds certificates or CRL numbers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "internal.h"
#include "store.h"
#include "store_pg.h"

/* What is read; a source table outside this list with rows refuses the
 * migration. sqlite_* are SQLite's own; journal_marks is only checked. */
static const char *const copied[] = {"certificates", "crl_numbers", "journal_marks"};

static cs_code sqlite_fail(sqlite3 *db, const char *path, const char *doing, cs_err *err)
{
    return cs_err_set(err, CS_EDB, "%s: %s: %s", path, doing, sqlite3_errmsg(db));
}

/* One integer from a query, or -1 (err set). */
static int64_t one_int(sqlite3 *db, const char *path, const char *sql, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        sqlite_fail(db, path, "reading", err);
    sqlite3_finalize(st);
    return v;
}

/* How many journal marks name a journal file that is still there (a
 * command cut short, its files not yet placed or undone), or -1 (err set).
 * A mark whose file is gone is spent: the next batch prunes it, and it is
 * not copied. */
static int64_t live_marks(sqlite3 *db, const char *path, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t live = 0;
    struct stat sb;
    int step;

    if (sqlite3_prepare_v2(db, "SELECT path FROM journal_marks", -1, &st, NULL) != SQLITE_OK) {
        sqlite_fail(db, path, "reading journal marks", err);
        return -1;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *journal = (const char *)sqlite3_column_text(st, 0);
        if (journal && (lstat(journal, &sb) == 0 || errno != ENOENT))
            live++;
    }
    if (step != SQLITE_DONE) {
        sqlite_fail(db, path, "reading journal marks", err);
        live = -1;
    }
    sqlite3_finalize(st);
    return live;
}

/* CS_OK when no table outside copied[] holds rows. */
static cs_code check_tables(sqlite3 *db, const char *path, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    cs_code rc = CS_OK;
    int step;

    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                           " AND name NOT LIKE 'sqlite_%'", -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(db, path, "listing tables", err);
    while (rc == CS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        char sql[256];
        int64_t rows;
        size_t i;
        int known = 0;

        for (i = 0; i < sizeof copied / sizeof copied[0]; i++)
            known |= name && strcmp(name, copied[i]) == 0;
        if (known || !name || strchr(name, '"'))
            continue;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", name);
        rows = one_int(db, path, sql, err);
        if (rows < 0)
            rc = CS_EDB;
        else if (rows > 0)
            rc = cs_err_set(err, CS_EINVAL, "%s: table %s holds %lld rows that the PostgreSQL "
                            "store does not take; nothing was copied", path, name,
                            (long long)rows);
    }
    sqlite3_finalize(st);
    return rc;
}

static cs_code copy_certificates(sqlite3 *db, const char *path, csi_pg *pg,
                                 cs_store_migrated *n, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    cs_code rc = CS_OK;
    int step;

    if (sqlite3_prepare_v2(db, "SELECT pem, profile, issued_at, revoked_at, reason"
                           " FROM certificates ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(db, path, "reading certificates", err);
    while (rc == CS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int revoked = sqlite3_column_type(st, 3) != SQLITE_NULL;
        rc = csi_pg_import_cert(pg, (const char *)sqlite3_column_text(st, 0),
                                (size_t)sqlite3_column_bytes(st, 0),
                                (const char *)sqlite3_column_text(st, 1),
                                sqlite3_column_int64(st, 2),
                                revoked ? sqlite3_column_int64(st, 3) : 0,
                                revoked ? sqlite3_column_int(st, 4) : -1, err);
        if (rc == CS_OK) {
            n->certificates++;
            n->revoked += revoked;
        }
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = sqlite_fail(db, path, "reading certificates", err);
    sqlite3_finalize(st);
    return rc;
}

static cs_code copy_crl_numbers(sqlite3 *db, const char *path, csi_pg *pg,
                                cs_store_migrated *n, cs_err *err)
{
    sqlite3_stmt *st = NULL;
    cs_code rc = CS_OK;
    int step;

    if (sqlite3_prepare_v2(db, "SELECT issuer, last FROM crl_numbers ORDER BY issuer", -1, &st,
                           NULL) != SQLITE_OK)
        return sqlite_fail(db, path, "reading CRL numbers", err);
    while (rc == CS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = csi_pg_import_crl_number(pg, (const char *)sqlite3_column_text(st, 0),
                                      sqlite3_column_int64(st, 1), err);
        if (rc == CS_OK)
            n->crl_numbers++;
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = sqlite_fail(db, path, "reading CRL numbers", err);
    sqlite3_finalize(st);
    return rc;
}

cs_code cs_store_migrate(const char *from, const char *to, cs_store_migrated *out, cs_err *err)
{
    cs_store_migrated n = {0, 0, 0};
    sqlite3 *db = NULL;
    csi_pg *pg = NULL;
    struct stat sb;
    int64_t version, marks, in_target = 0;
    cs_code rc = CS_OK;

    if (!from || !to || !out)
        return cs_err_set(err, CS_EINVAL, "cs_store_migrate: missing argument");
    if (csi_store_is_url(from))
        return cs_err_set(err, CS_EINVAL, "--from: must be a SQLite file, not a URL");
    if (!csi_store_is_url(to))
        return cs_err_set(err, CS_EINVAL, "--to: %.200s: not a postgresql:// URL", to);
    /* sqlite3_open_v2 read-only does not create, but say it our way. */
    if (stat(from, &sb) != 0)
        return cs_err_set(err, CS_ENOENT, "%s: no such database", from);
    if (sqlite3_open_v2(from, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = sqlite_fail(db, from, "opening", err);
        goto done;
    }
    sqlite3_busy_timeout(db, 60000);
    /* One read transaction: a consistent snapshot even if a node writes. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sqlite_fail(db, from, "reading", err);
        goto done;
    }
    version = one_int(db, from, "PRAGMA user_version", err);
    if (version < 0) {
        rc = CS_EDB;
        goto done;
    }
    if (version < 3) {
        rc = cs_err_set(err, CS_EINVAL, "%s: schema version %lld: open it once with this build "
                        "(any command on its chain) to bring it to version 3 first", from,
                        (long long)version);
        goto done;
    }
    marks = live_marks(db, from, err);
    if (marks < 0) {
        rc = CS_EDB;
        goto done;
    }
    if (marks > 0) {
        rc = cs_err_set(err, CS_EINVAL, "%s: %lld journals are still open (a command was cut "
                        "short): run any command on its chain to finish them, then migrate",
                        from, (long long)marks);
        goto done;
    }
    rc = check_tables(db, from, err);
    if (rc != CS_OK)
        goto done;

    rc = csi_pg_open(to, &pg, err);
    if (rc == CS_OK)
        rc = csi_pg_set_node(pg, "migrated", err);
    if (rc == CS_OK)
        rc = csi_pg_count(pg, &in_target, err);
    if (rc != CS_OK)
        goto done;
    if (in_target > 0) {
        rc = cs_err_set(err, CS_EEXIST, "--to: the database already holds %lld certificates; "
                        "nothing was copied (migrate into an empty one)", (long long)in_target);
        goto done;
    }
    rc = csi_pg_begin(pg, err);
    if (rc == CS_OK)
        rc = copy_certificates(db, from, pg, &n, err);
    if (rc == CS_OK)
        rc = copy_crl_numbers(db, from, pg, &n, err);
    if (rc == CS_OK)
        rc = csi_pg_commit(pg, err);
    if (rc != CS_OK && err) {
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, " (nothing was copied)");
    }
    if (rc == CS_OK)
        *out = n;
done:
    csi_pg_close(pg); /* rolls back an open batch */
    if (db)
        sqlite3_close(db);
    return rc;
}
