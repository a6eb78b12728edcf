/* pki.store: the CA database. */
#include "bindings.h"

#include <stdlib.h>
#include <time.h>

static int store_close(lua_State *L)
{
    cs_store **box = luaL_checkudata(L, 1, PKI_STORE);
    if (*box) {
        cs_store_close(*box);
        *box = NULL;
    }
    return 0;
}

static int store_tostring(lua_State *L)
{
    cs_store **box = luaL_checkudata(L, 1, PKI_STORE);
    if (*box == NULL)
        lua_pushliteral(L, "pki.store (closed)");
    else
        lua_pushfstring(L, "pki.store (%p)", (void *)*box);
    return 1;
}

static int store_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cs_err err = {CS_OK, ""};
    cs_store **box = lua_newuserdatauv(L, sizeof *box, 0);

    *box = NULL;
    luaL_setmetatable(L, PKI_STORE);
    if (cs_store_open(path, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* store:issue(spec, subject_key, issuer_cert_or_nil, issuer_key, profile_name) */
static int store_issue(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const cs_key *subject_key, *issuer_key;
    const cs_cert *issuer = NULL;
    const char *profile;
    cs_err err = {CS_OK, ""};
    cs_cert_spec spec;
    cs_cert **box;

    luaL_checktype(L, 2, LUA_TTABLE);
    subject_key = pki_checkkey(L, 3);
    if (!lua_isnoneornil(L, 4))
        issuer = pki_checkcert(L, 4);
    if (issuer == NULL && lua_isnoneornil(L, 5))
        issuer_key = subject_key;
    else
        issuer_key = pki_checkkey(L, 5);
    profile = luaL_optstring(L, 6, NULL);
    lua_settop(L, 6);
    if (pki_spec_from_table(L, 2, &spec, &err) != CS_OK)
        return pki_fail(L, &err);
    box = pki_newcert(L);
    if (cs_store_issue(store, &spec, subject_key, issuer, issuer_key, profile, box, &err)
        != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int store_begin(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    cs_err err = {CS_OK, ""};

    if (cs_store_begin(store, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int store_commit(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    cs_err err = {CS_OK, ""};

    if (cs_store_commit(store, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int store_rollback(lua_State *L)
{
    cs_store_rollback(pki_checkopen(L, 1, PKI_STORE));
    return 0;
}

/* store:find(serial_hex [, issuer_line]) -> cert, profile_name */
static int store_find(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const char *serial = luaL_checkstring(L, 2);
    const char *issuer = luaL_optstring(L, 3, NULL);
    cs_err err = {CS_OK, ""};
    char *profile = NULL;
    cs_cert **box = pki_newcert(L);

    if (cs_store_find(store, serial, issuer, box, &profile, &err) != CS_OK)
        return pki_fail(L, &err);
    if (profile)
        lua_pushstring(L, profile);
    else
        lua_pushnil(L);
    free(profile);
    return 2;
}

static int store_count(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    cs_err err = {CS_OK, ""};
    int64_t n = 0;

    if (cs_store_count(store, &n, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* store:revoke(serial, {issuer = line, reason = name|code, at = unix}) -> true */
static int store_revoke(lua_State *L)
{
    static const char *const names[] = {"issuer", "reason", "at", NULL};
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const char *serial = luaL_checkstring(L, 2);
    const char *issuer = NULL;
    lua_Integer at = (lua_Integer)time(NULL);
    cs_err err = {CS_OK, ""};
    int reason = 0;

    if (!lua_isnoneornil(L, 3)) {
        pki_fields f = pki_fields_at(L, 3, 3, NULL, NULL);
        pki_check_fields(&f, names, PKI_RAISE);
        pki_field_string(&f, "issuer", PKI_RAISE, &issuer, NULL);
        pki_field_int(&f, "at", PKI_RAISE, &at);
        if (lua_getfield(L, 3, "reason") != LUA_TNIL) { /* a name or a code: data */
            reason = pki_crl_reason(L, -1, "reason", &err);
            if (reason < 0)
                return pki_fail(L, &err);
        }
    }
    if (cs_store_revoke(store, serial, issuer, reason, (int64_t)at, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* store:status(serial [, issuer]) -> {status = "good"|"revoked"|"unknown",
 * revoked_at, reason, reason_code, not_after} */
static int store_status(lua_State *L)
{
    static const char *const status[] = {"good", "revoked", "unknown"};
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const char *serial = luaL_checkstring(L, 2);
    const char *issuer = luaL_optstring(L, 3, NULL);
    cs_err err = {CS_OK, ""};
    cs_revocation rev;

    if (cs_store_status(store, issuer, serial, &rev, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, status[rev.status]);
    lua_setfield(L, -2, "status");
    if (rev.status == CS_STATUS_REVOKED) {
        const char *name = cs_crl_reason_name(rev.reason);
        lua_pushinteger(L, (lua_Integer)rev.revoked_at);
        lua_setfield(L, -2, "revoked_at");
        lua_pushstring(L, name ? name : "unknown");
        lua_setfield(L, -2, "reason");
        lua_pushinteger(L, rev.reason);
        lua_setfield(L, -2, "reason_code");
    }
    if (rev.status != CS_STATUS_UNKNOWN) {
        lua_pushinteger(L, (lua_Integer)rev.not_after);
        lua_setfield(L, -2, "not_after");
    }
    return 1;
}

/* store:revoked(issuer) -> {{serial, revoked_at, reason, reason_code, not_after}, ...} */
static int store_revoked(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const char *issuer = luaL_checkstring(L, 2);
    cs_err err = {CS_OK, ""};
    cs_revoked *list = NULL;
    size_t n = 0, i;

    if (cs_store_revoked(store, issuer, &list, &n, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        pki_push_revoked(L, &list[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(list);
    return 1;
}

/* store:next_crl_number(issuer) -> integer */
static int store_next_crl_number(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const char *issuer = luaL_checkstring(L, 2);
    cs_err err = {CS_OK, ""};
    int64_t n = 0;

    if (cs_store_next_crl_number(store, issuer, &n, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static const luaL_Reg store_meta[] = {
    {"__gc", store_close},
    {"__close", store_close},
    {"__tostring", store_tostring},
    {NULL, NULL},
};

static const luaL_Reg store_methods[] = {
    {"issue", store_issue},
    {"begin", store_begin},
    {"commit", store_commit},
    {"rollback", store_rollback},
    {"find", store_find},
    {"count", store_count},
    {"revoke", store_revoke},
    {"status", store_status},
    {"revoked", store_revoked},
    {"next_crl_number", store_next_crl_number},
    {"close", store_close},
    {NULL, NULL},
};

const luaL_Reg pki_store_funcs[] = {
    {"open_store", store_open},
    {NULL, NULL},
};

void pki_store_register(lua_State *L)
{
    pki_new_metatable(L, PKI_STORE, store_meta, store_methods);
}
