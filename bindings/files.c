/* pki.mkdir and pki.write_files: folders and files, written by core. */
#include "bindings.h"

#include "file.h"
#include "fileset.h"

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

/* One entry of pki.write_files, checked before anything is encoded. */
typedef struct entry {
    const char *path;
    const cs_key *key;
    const cs_cert *one; /* cert = c */
    const cs_cert **certs;
    size_t ncerts;
    const char *passphrase; /* key only: write it encrypted */
    int overwrite;
} entry;

/* The userdata of type tname on top of the stack, or raise naming entry
 * i's field. Its first member is the core object: NULL once closed. */
static void *field_object(lua_State *L, lua_Integer i, const char *field, const char *tname)
{
    void **box = luaL_testudata(L, -1, tname);

    if (!box)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d].%s: %s expected, got %s", (int)i, field,
                                            tname, luaL_typename(L, -1)));
    if (!*box)
        luaL_error(L, "attempt to use a closed %s", tname);
    return box;
}

/* Check entry i, the table at t, into e; a caller bug raises. A scratch
 * certificate array goes into the table at keep, to live until we return. */
static void check_entry(lua_State *L, int t, lua_Integer i, entry *e, int keep)
{
    static const char *const names[] = {"path",      "key",       "cert", "certs",
                                        "overwrite", "passphrase", NULL};
    int kinds = 0;

    if (!lua_istable(L, t))
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d]: table expected, got %s", (int)i,
                                            luaL_typename(L, t)));
    pki_check_option_names(L, t, 1, names);
    if (lua_getfield(L, t, "path") != LUA_TSTRING)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d].path: string expected", (int)i));
    e->path = lua_tostring(L, -1); /* the entry table keeps the string alive */
    e->overwrite = lua_getfield(L, t, "overwrite") != LUA_TNIL && lua_toboolean(L, -1);
    switch (lua_getfield(L, t, "passphrase")) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        e->passphrase = lua_tostring(L, -1); /* kept alive by the entry table */
        break;
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d].passphrase: string expected, got %s",
                                            (int)i, luaL_typename(L, -1)));
    }
    if (lua_getfield(L, t, "key") != LUA_TNIL) {
        const pki_key_box *box = field_object(L, i, "key", PKI_KEY);
        if (box->closed) /* closed while a server still borrows it */
            luaL_error(L, "attempt to use a closed %s", PKI_KEY);
        e->key = box->key;
        kinds++;
    }
    if (lua_getfield(L, t, "cert") != LUA_TNIL) {
        e->one = *(cs_cert **)field_object(L, i, "cert", PKI_CERT);
        e->certs = &e->one;
        e->ncerts = 1;
        kinds++;
    }
    if (lua_getfield(L, t, "certs") != LUA_TNIL) {
        e->certs = pki_cert_array(L, t, "certs", 1, &e->ncerts);
        lua_rawseti(L, keep, i);
        kinds++;
    }
    lua_settop(L, t);
    if (kinds != 1)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d]: exactly one of key, cert, certs", (int)i));
    if (e->passphrase && !e->key)
        luaL_argerror(L, 1, lua_pushfstring(L, "[%d].passphrase: only for a key", (int)i));
}

/* pki.write_files{ {path = p, key = k | cert = c | certs = {c, ...},
 * overwrite = bool, passphrase = s (key only: encrypted)}, ... }: every file written as one step (core/fileset.h).
 * true, or nil, message, code with nothing written. */
static int files_write(lua_State *L)
{
    cs_err err = {CS_OK, ""};
    cs_fileset *fs = NULL;
    lua_Integer n;
    entry *entries;
    cs_code rc;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    n = (lua_Integer)lua_rawlen(L, 1);
    entries = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *entries, 0); /* 2 */
    lua_newtable(L);                                                                /* 3 */
    for (lua_Integer i = 1; i <= n; i++) {
        entries[i - 1] = (entry){NULL, NULL, NULL, NULL, 0, NULL, 0};
        lua_rawgeti(L, 1, i);
        check_entry(L, 4, i, &entries[i - 1], 3);
        lua_pop(L, 1); /* the entry table: still referenced from argument 1 */
    }
    /* From here on nothing raises, so the fileset cannot leak. */
    rc = cs_fileset_new(&fs, &err);
    for (lua_Integer i = 0; i < n && rc == CS_OK; i++) {
        const entry *e = &entries[i];
        if (e->key && e->passphrase)
            rc = cs_fileset_add_key_encrypted(fs, e->key, e->passphrase, e->path, e->overwrite,
                                              &err);
        else if (e->key)
            rc = cs_fileset_add_key(fs, e->key, e->path, e->overwrite, &err);
        else
            rc = cs_fileset_add_certs(fs, e->certs, e->ncerts, e->path, e->overwrite, &err);
    }
    if (rc == CS_OK)
        rc = cs_fileset_write(fs, &err);
    cs_fileset_free(fs);
    if (rc != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

const luaL_Reg pki_files_funcs[] = {
    {"mkdir", files_mkdir},
    {"write_files", files_write},
    {NULL, NULL},
};
