/* pki.store: the CA database. */
#include "bindings.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
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

/* pki.open_store(path_or_url [, {node = id}]): node is this process's id on
 * a PostgreSQL database (its serial prefix); a SQLite file ignores it. */
static int store_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *node = NULL;
    cs_err err = {CS_OK, ""};
    cs_store **box;

    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "node") != 0) {
                const char *name = luaL_tolstring(L, -1, NULL);
                lua_pushnil(L);
                lua_pushfstring(L, "open_store: unknown option %s", name);
                lua_pushstring(L, cs_code_name(CS_EINVAL));
                return 3;
            }
        }
        lua_getfield(L, 2, "node");
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) {
            lua_pushnil(L);
            lua_pushliteral(L, "open_store: node: a string expected");
            lua_pushstring(L, cs_code_name(CS_EINVAL));
            return 3;
        }
        node = lua_tostring(L, -1); /* stays on the stack while used */
    }
    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, PKI_STORE);
    if (cs_store_open(path, box, &err) != CS_OK)
        return pki_fail(L, &err);
    if (node && cs_store_set_node(*box, node, &err) != CS_OK) {
        cs_store_close(*box);
        *box = NULL;
        return pki_fail(L, &err);
    }
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

/* store:issue_template(template, subject_key [, names [, cn [, profile]]]):
 * store:issue with the certificate from a pki.template */
static int store_issue_template(lua_State *L)
{
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    const cs_template *tpl = pki_checktemplate(L, 2);
    const cs_key *subject_key = pki_checkkey(L, 3);
    const char *profile = luaL_optstring(L, 6, NULL);
    cs_err err = {CS_OK, ""};
    cs_template_request req;
    cs_cert **box;

    lua_settop(L, 6);
    if (pki_template_request(L, 4, 5, &req, &err) != CS_OK)
        return pki_fail(L, &err);
    box = pki_newcert(L);
    if (cs_store_issue_template(store, tpl, &req, subject_key, profile, box, &err) != CS_OK)
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

/* One record as a plain table; status from revoked_at and now. */
static void push_record(lua_State *L, const cs_record *r, int64_t now)
{
    lua_createtable(L, 0, 14);
    lua_pushstring(L, r->serial_hex);
    lua_setfield(L, -2, "serial");
    lua_pushstring(L, r->issuer);
    lua_setfield(L, -2, "issuer");
    lua_pushstring(L, r->subject);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, r->sans);
    lua_setfield(L, -2, "sans");
    if (r->profile) {
        lua_pushstring(L, r->profile);
        lua_setfield(L, -2, "profile");
    }
    lua_pushstring(L, r->fingerprint);
    lua_setfield(L, -2, "fingerprint");
    lua_pushinteger(L, (lua_Integer)r->not_before);
    lua_setfield(L, -2, "not_before");
    lua_pushinteger(L, (lua_Integer)r->not_after);
    lua_setfield(L, -2, "not_after");
    lua_pushinteger(L, (lua_Integer)r->issued_at);
    lua_setfield(L, -2, "issued_at");
    if (r->revoked_at) {
        const char *name = cs_crl_reason_name(r->reason);
        lua_pushliteral(L, "revoked");
        lua_setfield(L, -2, "status");
        lua_pushinteger(L, (lua_Integer)r->revoked_at);
        lua_setfield(L, -2, "revoked_at");
        lua_pushstring(L, name ? name : "unknown");
        lua_setfield(L, -2, "reason");
        lua_pushinteger(L, r->reason);
        lua_setfield(L, -2, "reason_code");
    } else {
        lua_pushstring(L, r->not_after < now ? "expired" : "good");
        lua_setfield(L, -2, "status");
    }
}

/* Frees a listing if a push raises (out of memory) before the walk ends. */
typedef struct record_box {
    cs_record *list;
    size_t n;
} record_box;

static int records_gc(lua_State *L)
{
    record_box *box = lua_touserdata(L, 1);
    cs_store_records_free(box->list, box->n);
    box->list = NULL;
    box->n = 0;
    return 0;
}

/* store:list{status = "good"|"revoked"|"expired", profile = name,
 * name = substring, issuer = line, now = unix} -> {{serial, issuer, subject,
 * sans, profile, fingerprint, not_before, not_after, issued_at, status,
 * revoked_at, reason, reason_code}, ...}, in issuing order */
static int store_list(lua_State *L)
{
    static const char *const names[] = {"status", "profile", "name", "issuer", "now", NULL};
    static const char *const statuses[] = {"any", "good", "revoked", "expired", NULL};
    cs_store *store = pki_checkopen(L, 1, PKI_STORE);
    cs_store_filter f = {NULL, NULL, NULL, CS_LIST_ANY, 0};
    lua_Integer now = (lua_Integer)time(NULL);
    cs_err err = {CS_OK, ""};
    record_box *box;
    size_t n;

    if (!lua_isnoneornil(L, 2)) {
        pki_fields opts = pki_fields_at(L, 2, 2, NULL, NULL);
        pki_check_fields(&opts, names, PKI_RAISE);
        pki_field_string(&opts, "profile", PKI_RAISE, &f.profile, NULL);
        pki_field_string(&opts, "name", PKI_RAISE, &f.name, NULL);
        pki_field_string(&opts, "issuer", PKI_RAISE, &f.issuer, NULL);
        pki_field_int(&opts, "now", PKI_RAISE, &now);
        if (lua_getfield(L, 2, "status") != LUA_TNIL) {
            const char *st = lua_tostring(L, -1);
            int i;
            for (i = 0; st && statuses[i] && strcmp(statuses[i], st) != 0; i++)
                ;
            if (!st || !statuses[i])
                return luaL_argerror(L, 2, "status: expected 'any', 'good', 'revoked' or "
                                           "'expired'");
            f.status = (cs_list_status)i;
        }
        lua_pop(L, 1);
    }
    f.now = (int64_t)now;
    lua_settop(L, 2);
    box = lua_newuserdatauv(L, sizeof *box, 0);
    box->list = NULL;
    box->n = 0;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, records_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    if (cs_store_list(store, &f, &box->list, &box->n, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, box->n > INT_MAX ? 0 : (int)box->n, 0);
    for (n = 0; n < box->n; n++) {
        push_record(L, &box->list[n], f.now);
        lua_rawseti(L, -2, (lua_Integer)n + 1);
    }
    cs_store_records_free(box->list, box->n);
    box->list = NULL;
    box->n = 0;
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
    {"issue_template", store_issue_template},
    {"begin", store_begin},
    {"commit", store_commit},
    {"rollback", store_rollback},
    {"find", store_find},
    {"count", store_count},
    {"revoke", store_revoke},
    {"status", store_status},
    {"revoked", store_revoked},
    {"list", store_list},
    {"next_crl_number", store_next_crl_number},
    {"close", store_close},
    {NULL, NULL},
};

/* pki.migrate_store(sqlite_path, postgresql_url) -> {certificates, revoked,
 * crl_numbers} */
static int store_migrate(lua_State *L)
{
    const char *from = luaL_checkstring(L, 1);
    const char *to = luaL_checkstring(L, 2);
    cs_err err = {CS_OK, ""};
    cs_store_migrated n;

    if (cs_store_migrate(from, to, &n, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)n.certificates);
    lua_setfield(L, -2, "certificates");
    lua_pushinteger(L, (lua_Integer)n.revoked);
    lua_setfield(L, -2, "revoked");
    lua_pushinteger(L, (lua_Integer)n.crl_numbers);
    lua_setfield(L, -2, "crl_numbers");
    return 1;
}

const luaL_Reg pki_store_funcs[] = {
    {"open_store", store_open},
    {"migrate_store", store_migrate},
    {NULL, NULL},
};

void pki_store_register(lua_State *L)
{
    pki_new_metatable(L, PKI_STORE, store_meta, store_methods);
}
