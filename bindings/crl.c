/* pki.crl: certificate revocation lists: sign one from the store's revoked
 * entries, load, inspect, verify, save. Also the CRLReason names, shared
 * with store:revoke. */
#include "bindings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crl.h"

static cs_crl **newcrl(lua_State *L)
{
    cs_crl **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL; /* created closed, as liolib does */
    luaL_setmetatable(L, PKI_CRL);
    return box;
}

static cs_crl *checkcrl(lua_State *L, int idx)
{
    return pki_checkopen(L, idx, PKI_CRL);
}

static int crl_gc(lua_State *L)
{
    cs_crl **box = luaL_checkudata(L, 1, PKI_CRL);
    if (*box) {
        cs_crl_free(*box);
        *box = NULL;
    }
    return 0;
}

static int crl_tostring(lua_State *L)
{
    cs_crl **box = luaL_checkudata(L, 1, PKI_CRL);
    cs_crl_info *info = NULL;

    if (*box == NULL) {
        lua_pushliteral(L, "pki.crl (closed)");
    } else if (cs_crl_get_info(*box, &info, NULL) == CS_OK) {
        lua_pushfstring(L, "pki.crl (%s, number %I)", info->issuer, (lua_Integer)info->number);
        cs_crl_info_free(info);
    } else {
        lua_pushliteral(L, "pki.crl");
    }
    return 1;
}

/* A reason at idx: a name ("keyCompromise") or a code; -1 (and err) if
 * neither is allowed. */
int pki_crl_reason(lua_State *L, int idx, const char *path, cs_err *err)
{
    int code = -1;

    if (lua_type(L, idx) == LUA_TSTRING) {
        code = cs_crl_reason_code(lua_tostring(L, idx));
        if (code < 0) {
            char names[256];
            size_t used = 0;
            int i;
            names[0] = '\0';
            for (i = 0; i <= 10; i++)
                if (cs_crl_reason_name(i))
                    used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                             used ? ", " : "", cs_crl_reason_name(i));
            cs_err_set(err, CS_EINVAL, "%s: unknown reason '%.64s' (one of: %s)", path,
                       lua_tostring(L, idx), names);
        }
    } else if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        code = v >= 0 && v <= 10 && cs_crl_reason_name((int)v) ? (int)v : -1;
        if (code < 0)
            cs_err_set(err, CS_EINVAL, "%s: %lld is not an allowed CRLReason code "
                       "(0-5, 9, 10)", path, (long long)v);
    } else {
        cs_err_set(err, CS_EINVAL, "%s: expected a reason name, got %s", path,
                   luaL_typename(L, idx));
    }
    return code;
}

/* The revoked list at idx (as store:revoked returns it) into a scratch
 * userdata pushed on the stack. */
static cs_code read_revoked(lua_State *L, int idx, cs_revoked **out, size_t *n, cs_err *err)
{
    static const char *const entry_fields[] = {"serial", "revoked_at", "reason",
                                               "reason_code", "not_after", NULL};
    size_t len = lua_rawlen(L, idx), i;
    cs_revoked *arr = lua_newuserdatauv(L, (len ? len : 1) * sizeof *arr, 0);

    memset(arr, 0, (len ? len : 1) * sizeof *arr);
    for (i = 1; i <= len; i++) {
        char path[64], rp[80];
        const char *serial = NULL;
        size_t serial_len = 0;
        lua_Integer at = 0;
        int e = lua_gettop(L) + 1;
        pki_fields f;
        snprintf(path, sizeof path, "revoked[%zu]", i);
        if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE) {
            cs_code rc = cs_err_set(err, CS_EINVAL, "%s: expected table, got %s", path,
                                    luaL_typename(L, e));
            lua_settop(L, e - 1);
            return rc;
        }
        f = pki_fields_at(L, e, 1, path, err);
        if (pki_check_fields(&f, entry_fields, PKI_FAIL) < 0) {
            lua_settop(L, e - 1);
            return CS_EINVAL;
        }
        if (pki_field_string(&f, "serial", PKI_FAIL | PKI_NEEDED, &serial, &serial_len) < 0 ||
            serial_len >= sizeof arr[0].serial_hex) {
            lua_settop(L, e - 1);
            return cs_err_set(err, CS_EINVAL, "%s.serial: expected a hexadecimal string", path);
        }
        memcpy(arr[i - 1].serial_hex, serial, serial_len + 1);
        if (pki_field_int(&f, "revoked_at", PKI_FAIL | PKI_NEEDED, &at) < 0) {
            lua_settop(L, e - 1);
            return CS_EINVAL;
        }
        arr[i - 1].revoked_at = (int64_t)at;
        arr[i - 1].reason = 0;
        if (lua_getfield(L, e, "reason") != LUA_TNIL) { /* a name or a code */
            snprintf(rp, sizeof rp, "%s.reason", path);
            arr[i - 1].reason = pki_crl_reason(L, -1, rp, err);
            if (arr[i - 1].reason < 0) {
                lua_settop(L, e - 1);
                return CS_EINVAL;
            }
        }
        lua_settop(L, e - 1);
    }
    *out = arr;
    *n = len;
    return CS_OK;
}

/* pki.sign_crl{issuer = cert, key = key, number = n, revoked = {...},
 *              this_update = t, next_update = t | next_update_days = d} */
static int crl_sign(lua_State *L)
{
    static const char *const names[] = {"issuer", "key", "number", "revoked", "this_update",
                                        "next_update", "next_update_days", NULL};
    void *issuer = NULL, *key = NULL;
    cs_crl_params p;
    cs_err err = {CS_OK, ""};
    lua_Integer number = 0, this_u = (lua_Integer)time(NULL), next_u = 0, days = 0;
    int has_next, has_days, has_revoked;
    cs_crl **box;
    pki_fields f;

    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, "crl", &err);
    /* the table's shape and objects are the caller's; numbers and entries are data */
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_udata(&f, "issuer", PKI_CERT, PKI_RAISE | PKI_NEEDED, &issuer);
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE | PKI_NEEDED, &key);
    memset(&p, 0, sizeof p);
    if (pki_field_int(&f, "number", PKI_FAIL | PKI_NEEDED, &number) < 0 ||
        pki_field_int(&f, "this_update", PKI_FAIL, &this_u) < 0)
        return pki_fail(L, &err);
    has_next = pki_field_int(&f, "next_update", PKI_FAIL, &next_u);
    if (has_next < 0)
        return pki_fail(L, &err);
    has_days = pki_field_int(&f, "next_update_days", PKI_FAIL, &days);
    if (has_days < 0)
        return pki_fail(L, &err);
    if (has_next == has_days) {
        cs_err_set(&err, CS_EINVAL, "crl: exactly one of 'next_update' and "
                   "'next_update_days' is needed");
        return pki_fail(L, &err);
    }
    if (has_days) {
        if (days < 1 || days > 3650) {
            cs_err_set(&err, CS_EINVAL, "crl.next_update_days: %lld is out of range "
                       "(1 to 3650)", (long long)days);
            return pki_fail(L, &err);
        }
        next_u = this_u + days * 86400;
    }
    has_revoked = pki_field_table(&f, "revoked", PKI_FAIL); /* pushed: 2 */
    if (has_revoked < 0)
        return pki_fail(L, &err);
    if (has_revoked &&
        read_revoked(L, 2, (cs_revoked **)&p.revoked, &p.revoked_len, &err) != CS_OK)
        return pki_fail(L, &err);
    p.number = (int64_t)number;
    p.this_update = (int64_t)this_u;
    p.next_update = (int64_t)next_u;
    box = newcrl(L);
    if (cs_crl_sign(&p, issuer, key, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int crl_load(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "CRL");
    cs_err err = {CS_OK, ""};
    cs_crl **box = newcrl(L);

    if (cs_crl_load(data, len, what, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int crl_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cs_err err = {CS_OK, ""};
    cs_crl **box = newcrl(L);

    if (cs_crl_load_file(path, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int crl_pem(lua_State *L)
{
    cs_err err = {CS_OK, ""};
    char *pem = NULL;
    size_t len = 0;
    cs_code rc = cs_crl_pem(checkcrl(L, 1), &pem, &len, &err);

    return pki_push_buffer(L, rc, pem, len, &err);
}

static int crl_der(lua_State *L)
{
    cs_err err = {CS_OK, ""};
    unsigned char *der = NULL;
    size_t len = 0;
    cs_code rc = cs_crl_der(checkcrl(L, 1), &der, &len, &err);

    return pki_push_buffer(L, rc, der, len, &err);
}

/* crl:save{der = path, pem = path, overwrite = bool} */
static int crl_save(lua_State *L)
{
    static const char *const names[] = {"der", "pem", "overwrite", NULL};
    const cs_crl *crl = checkcrl(L, 1);
    const char *der = NULL, *pem = NULL;
    cs_err err = {CS_OK, ""};
    int overwrite = 0;
    pki_fields f = pki_fields_at(L, 2, 2, NULL, NULL);

    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_string(&f, "der", PKI_RAISE, &der, NULL);
    pki_field_string(&f, "pem", PKI_RAISE, &pem, NULL);
    pki_field_bool(&f, "overwrite", PKI_RAISE, &overwrite);
    if (!der && !pem)
        luaL_argerror(L, 2, "der or pem path expected");
    if (cs_crl_save(crl, der, pem, overwrite, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int crl_verify(lua_State *L)
{
    const cs_crl *crl = checkcrl(L, 1);
    const cs_cert *issuer = pki_checkcert(L, 2);
    cs_err err = {CS_OK, ""};

    if (cs_crl_verify(crl, issuer, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* Push one entry: {serial, revoked_at, reason = name, reason_code, not_after?}. */
void pki_push_revoked(lua_State *L, const cs_revoked *e)
{
    const char *name = cs_crl_reason_name(e->reason);

    lua_createtable(L, 0, 5);
    lua_pushstring(L, e->serial_hex);
    lua_setfield(L, -2, "serial");
    lua_pushinteger(L, (lua_Integer)e->revoked_at);
    lua_setfield(L, -2, "revoked_at");
    lua_pushstring(L, name ? name : "unknown");
    lua_setfield(L, -2, "reason");
    lua_pushinteger(L, e->reason);
    lua_setfield(L, -2, "reason_code");
    if (e->not_after) {
        lua_pushinteger(L, (lua_Integer)e->not_after);
        lua_setfield(L, -2, "not_after");
    }
}

static int crl_info(lua_State *L)
{
    cs_crl_info *info = NULL;
    cs_err err = {CS_OK, ""};
    size_t i;

    if (cs_crl_get_info(checkcrl(L, 1), &info, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, info->version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, info->issuer);
    lua_setfield(L, -2, "issuer_line");
    lua_pushinteger(L, (lua_Integer)info->this_update);
    lua_setfield(L, -2, "this_update");
    if (info->next_update) {
        lua_pushinteger(L, (lua_Integer)info->next_update);
        lua_setfield(L, -2, "next_update");
    }
    if (info->number >= 0) {
        lua_pushinteger(L, (lua_Integer)info->number);
        lua_setfield(L, -2, "number");
    }
    if (info->authority_key_id) {
        lua_pushstring(L, info->authority_key_id);
        lua_setfield(L, -2, "authority_key_id");
    }
    lua_pushstring(L, info->signature_algorithm);
    lua_setfield(L, -2, "signature_algorithm");
    lua_createtable(L, (int)info->revoked_len, 0);
    for (i = 0; i < info->revoked_len; i++) {
        pki_push_revoked(L, &info->revoked[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "revoked");
    cs_crl_info_free(info);
    return 1;
}

/* pki.crl_reasons() -> {"unspecified", "keyCompromise", ...}: the names
 * store:revoke and pki.sign_crl accept, in code order. */
static int crl_reasons(lua_State *L)
{
    lua_Integer n = 0;
    int i;

    lua_newtable(L);
    for (i = 0; i <= 10; i++) {
        if (cs_crl_reason_name(i)) {
            lua_pushstring(L, cs_crl_reason_name(i));
            lua_rawseti(L, -2, ++n);
        }
    }
    return 1;
}

static const luaL_Reg crl_meta[] = {
    {"__gc", crl_gc},
    {"__close", crl_gc},
    {"__tostring", crl_tostring},
    {NULL, NULL},
};

static const luaL_Reg crl_methods[] = {
    {"pem", crl_pem},
    {"der", crl_der},
    {"save", crl_save},
    {"verify", crl_verify},
    {"info", crl_info},
    {"close", crl_gc},
    {NULL, NULL},
};

const luaL_Reg pki_crl_funcs[] = {
    {"sign_crl", crl_sign},
    {"load_crl", crl_load},
    {"read_crl", crl_read},
    {"crl_reasons", crl_reasons},
    {NULL, NULL},
};

void pki_crl_register(lua_State *L)
{
    pki_new_metatable(L, PKI_CRL, crl_meta, crl_methods);
}
