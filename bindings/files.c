/* pki.mkdir, pki.write_files, pki.stage_files and pki.recover_files: folders
 * and files, written by core. */
#include "bindings.h"

#include <stdio.h>
#include <unistd.h>

#include "file.h"
#include "fileset.h"
#include "journal.h"

/* pki.mkdir(path [, mode]): create a folder and its parents (default 0700:
 * it will hold keys). An existing folder is fine. */
static int files_mkdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer mode = luaL_optinteger(L, 2, 0700);
    cs_err err = {CS_OK, ""};

    luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode out of range");
    if (cs_file_mkdir(path, (unsigned)mode, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* Push the bytes at 1 (light userdata), length 2, as a string. */
static int push_bytes(lua_State *L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

/* pki.read_file(path [, max]): the bytes of a regular file of at most max
 * bytes (default 1 MiB, at most 64 MiB), for what the scripts read
 * themselves (passwords, profiles, pages); a FIFO or a device is refused at
 * once. The string, or nil, message, code. */
static int files_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, 1 << 20);
    cs_err err = {CS_OK, ""};
    char *data = NULL;
    size_t len = 0;
    int rc;

    luaL_argcheck(L, max >= 0 && max <= (64 << 20), 2, "max not in 0..64 MiB");
    if (cs_file_read(path, (size_t)max, &data, &len, &err) != CS_OK)
        return pki_fail(L, &err);
    /* Copied in a protected call: running out of memory there must not
     * leak the buffer (which may hold a password) past our free. */
    lua_pushcfunction(L, push_bytes);
    lua_pushlightuserdata(L, data);
    lua_pushinteger(L, (lua_Integer)len);
    rc = lua_pcall(L, 2, 1, 0);
    cs_file_free(data, len);
    if (rc != LUA_OK)
        return lua_error(L);
    return 1;
}

/* One entry of pki.write_files, checked before anything is encoded. */
typedef struct entry {
    const char *path;
    const cs_key *key;
    const cs_crl *crl;
    int pem; /* crl only: PEM, not DER */
    const cs_cert *one; /* cert = c */
    const cs_cert **certs;
    size_t ncerts;
    const char *data; /* data = s: the bytes as they are */
    size_t len;
    const char *passphrase; /* key only: write it encrypted */
    int overwrite;
} entry;

/* Check entry i, the table at t, into e; a caller bug raises. A scratch
 * certificate array goes into the table at keep, to live until we return. */
static void check_entry(lua_State *L, int t, lua_Integer i, entry *e, int keep)
{
    static const char *const names[] = {"path", "key",       "cert",       "certs", "crl",
                                        "pem",  "data",      "overwrite",  "passphrase", NULL};
    char where[32];
    pki_fields f;
    void *key = NULL, *cert = NULL, *crl = NULL;
    int kinds = 0;

    if (!lua_istable(L, t))
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d]: table expected, got %s", (int)i,
                                            luaL_typename(L, t)));
    snprintf(where, sizeof where, "[%d]", (int)i);
    f = pki_fields_at(L, t, 1, where, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_string(&f, "path", PKI_RAISE | PKI_NEEDED, &e->path, NULL);
    pki_field_bool(&f, "overwrite", PKI_RAISE, &e->overwrite);
    pki_field_string(&f, "passphrase", PKI_RAISE, &e->passphrase, NULL);
    kinds += pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE, &key);
    e->key = key;
    if (pki_field_udata(&f, "cert", PKI_CERT, PKI_RAISE, &cert)) {
        e->one = cert;
        e->certs = &e->one;
        e->ncerts = 1;
        kinds++;
    }
    kinds += pki_field_string(&f, "data", PKI_RAISE, &e->data, &e->len);
    if (lua_getfield(L, t, "certs") != LUA_TNIL) {
        e->certs = pki_cert_array(L, t, "certs", 1, &e->ncerts);
        lua_rawseti(L, keep, i);
        kinds++;
    }
    if (pki_field_udata(&f, "crl", PKI_CRL, PKI_RAISE, &crl)) {
        e->crl = crl;
        kinds++;
    }
    pki_field_bool(&f, "pem", PKI_RAISE, &e->pem);
    lua_settop(L, t);
    if (kinds != 1)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d]: exactly one of key, cert, certs, crl, "
                                            "data", (int)i));
    if (e->pem && !e->crl)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d].pem: only for a crl", (int)i));
    if (e->passphrase && !e->key)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d].passphrase: only for a key", (int)i));
}

/* Check the array of entries at idx (a caller bug raises). Pushes two
 * values (the entries and a table keeping scratch arrays alive) that must
 * stay on the stack while the entries are in use; *n is the count. */
static entry *check_entries(lua_State *L, int idx, lua_Integer *n)
{
    entry *entries;
    int keep;

    luaL_checktype(L, idx, LUA_TTABLE);
    *n = (lua_Integer)lua_rawlen(L, idx);
    entries = lua_newuserdatauv(L, (size_t)(*n > 0 ? *n : 1) * sizeof *entries, 0);
    lua_newtable(L);
    keep = lua_gettop(L);
    for (lua_Integer i = 1; i <= *n; i++) {
        entries[i - 1] = (entry){NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, 0, NULL, 0};
        lua_rawgeti(L, idx, i);
        check_entry(L, keep + 1, i, &entries[i - 1], keep);
        lua_pop(L, 1); /* the entry table: still referenced from the array */
    }
    return entries;
}

/* The entries encoded into a new fileset; never raises. */
static cs_code fill(const entry *entries, lua_Integer n, cs_fileset **out, cs_err *err)
{
    cs_fileset *fs = NULL;
    cs_code rc = cs_fileset_new(&fs, err);

    for (lua_Integer i = 0; i < n && rc == CS_OK; i++) {
        const entry *e = &entries[i];
        if (e->key)
            rc = cs_fileset_add_key(fs, e->key, e->passphrase, e->path, e->overwrite, err);
        else if (e->crl)
            rc = cs_fileset_add_crl(fs, e->crl, e->pem, e->path, e->overwrite, err);
        else if (e->data)
            rc = cs_fileset_add_data(fs, e->data, e->len, e->path, e->overwrite, err);
        else
            rc = cs_fileset_add_certs(fs, e->certs, e->ncerts, e->path, e->overwrite, err);
    }
    if (rc == CS_OK)
        *out = fs;
    else
        cs_fileset_free(fs);
    return rc;
}

/* pki.write_files{ {path = p, key = k | cert = c | certs = {c, ...} | crl = l |
 * data = s, overwrite = bool, passphrase = s (key only: encrypted), pem = bool
 * (crl only: PEM, else DER)}, ... }: every file written as one step
 * (core/fileset.h).
 * true, or nil, message, code with nothing written. */
static int files_write(lua_State *L)
{
    cs_err err = {CS_OK, ""};
    cs_fileset *fs = NULL;
    lua_Integer n;
    const entry *entries;
    cs_code rc;

    lua_settop(L, 1);
    entries = check_entries(L, 1, &n);
    /* From here on nothing raises, so the fileset cannot leak. */
    rc = fill(entries, n, &fs, &err);
    if (rc == CS_OK)
        rc = cs_fileset_write(fs, &err);
    cs_fileset_free(fs);
    if (rc != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* The array of path strings at idx (nil: none) in a userdata pushed on the
 * stack (the strings stay referenced from the array); *n is the count. A
 * caller bug (not a table, not a string) raises. */
static const char **check_paths(lua_State *L, int idx, size_t *n)
{
    const char **paths;

    *n = 0;
    if (lua_isnoneornil(L, idx)) {
        lua_pushnil(L);
        return NULL;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    *n = lua_rawlen(L, idx);
    paths = lua_newuserdatauv(L, (*n > 0 ? *n : 1) * sizeof *paths, 0);
    for (size_t i = 0; i < *n; i++) {
        if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING)
            luaL_argerror(L, idx, lua_pushfstring(L, "[%d]: string expected, got %s",
                                                  (int)i + 1, luaL_typename(L, -1)));
        paths[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    return paths;
}

/* pki.stage_files(dir, store, cert, entries [, removes]): inside store's
 * open batch, which records cert (or, cert nil, gets the journal's mark),
 * write entries (as pki.write_files takes them) to temporary names listed
 * in a journal in dir (core/journal.h); removes, paths of files the new
 * state replaces, go once every file has its name. Returns a
 * pki.journal: journal:place() after the commit, journal:abort() (or
 * letting it be collected) after a rollback. Or nil, message, code with
 * nothing left behind. */
static int files_stage(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    cs_store *store = pki_checkopen(L, 2, PKI_STORE);
    const cs_cert *cert = lua_isnoneornil(L, 3) ? NULL : pki_checkcert(L, 3);
    cs_err err = {CS_OK, ""};
    cs_fileset *fs = NULL;
    const cs_file_out *files;
    const entry *entries;
    cs_journal **box;
    lua_Integer n;
    size_t nfiles, nremove;
    const char **removes;
    cs_code rc;

    lua_settop(L, 5);
    removes = check_paths(L, 5, &nremove); /* 6 */
    entries = check_entries(L, 4, &n);      /* 7, 8 */
    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, PKI_JOURNAL);
    rc = fill(entries, n, &fs, &err);
    if (rc == CS_OK) {
        files = cs_fileset_files(fs, &nfiles);
        rc = cs_journal_stage_removing(dir, store, cert, files, nfiles, removes, nremove, box,
                                       &err);
    }
    cs_fileset_free(fs);
    if (rc != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* pki.recover_files(dir, store): finish or undo the journals in dir left by
 * dead processes. Returns forward, back (counts), or nil, message, code. */
static int files_recover(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    cs_store *store = pki_checkopen(L, 2, PKI_STORE);
    cs_err err = {CS_OK, ""};
    size_t forward = 0, back = 0;

    if (cs_journal_recover(dir, store, &forward, &back, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushinteger(L, (lua_Integer)forward);
    lua_pushinteger(L, (lua_Integer)back);
    return 2;
}

/* journal:place(): true, or nil, message, code. Once only. */
static int journal_place(lua_State *L)
{
    cs_journal **box = luaL_checkudata(L, 1, PKI_JOURNAL);
    cs_err err = {CS_OK, ""};
    cs_code rc;

    if (!*box)
        return luaL_error(L, "attempt to use a closed %s", PKI_JOURNAL);
    rc = cs_journal_place(*box, &err);
    cs_journal_free(*box);
    *box = NULL;
    if (rc != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* journal:abort(), __gc, __close: undo what was not placed. */
static int journal_abort(lua_State *L)
{
    cs_journal **box = luaL_checkudata(L, 1, PKI_JOURNAL);

    cs_journal_free(*box);
    *box = NULL;
    return 0;
}

static const luaL_Reg journal_meta[] = {
    {"__gc", journal_abort},
    {"__close", journal_abort},
    {NULL, NULL},
};

static const luaL_Reg journal_methods[] = {
    {"place", journal_place},
    {"abort", journal_abort},
    {NULL, NULL},
};

#ifdef CS_TEST_HOOKS
/* pki.test_hooks.place_delay(us): the pause before each journaled file
 * takes its name (core/journal.h), for the kill-loop tests. */
static int hooks_place_delay(lua_State *L)
{
    cs_journal_test_delay((long)luaL_checkinteger(L, 1));
    return 0;
}

void pki_test_hooks(lua_State *L)
{
    static const luaL_Reg hooks[] = {
        {"place_delay", hooks_place_delay},
        {NULL, NULL},
    };
    luaL_newlib(L, hooks);
    lua_setfield(L, -2, "test_hooks");
}
#endif

/* pki.is_terminal(fd): true when file descriptor fd (0, 1 or 2) is a
 * terminal: progress lines are for people, not for logs and pipes. */
static int files_is_terminal(lua_State *L)
{
    lua_Integer fd = luaL_checkinteger(L, 1);

    luaL_argcheck(L, fd >= 0 && fd <= 2, 1, "fd: 0, 1 or 2");
    lua_pushboolean(L, isatty((int)fd) == 1);
    return 1;
}

void pki_files_register(lua_State *L)
{
    pki_new_metatable(L, PKI_JOURNAL, journal_meta, journal_methods);
}

const luaL_Reg pki_files_funcs[] = {
    {"mkdir", files_mkdir},
    {"read_file", files_read},
    {"write_files", files_write},
    {"stage_files", files_stage},
    {"recover_files", files_recover},
    {"is_terminal", files_is_terminal},
    {NULL, NULL},
};
