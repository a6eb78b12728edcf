/* Helpers shared by the pki module's files: failures, closed objects, options. */
#include "bindings.h"

#include <stdlib.h>
#include <string.h>

int pki_fail(lua_State *L, const cs_err *err)
{
    lua_pushnil(L);
    lua_pushstring(L, err->msg[0] ? err->msg : cs_code_name(err->code));
    lua_pushstring(L, cs_code_name(err->code));
    return 3;
}

void *pki_checkopen(lua_State *L, int idx, const char *tname)
{
    void **box = luaL_checkudata(L, idx, tname);
    if (*box == NULL)
        luaL_error(L, "attempt to use a closed %s", tname);
    return *box;
}

cs_key *pki_checkkey(lua_State *L, int idx)
{
    return pki_checkopen(L, idx, PKI_KEY);
}

cs_cert *pki_checkcert(lua_State *L, int idx)
{
    return pki_checkopen(L, idx, PKI_CERT);
}

cs_key **pki_newkey(lua_State *L)
{
    cs_key **box = lua_newuserdatauv(L, sizeof *box, 1);
    *box = NULL; /* created closed, as liolib does */
    luaL_setmetatable(L, PKI_KEY);
    return box;
}

cs_cert **pki_newcert(lua_State *L)
{
    cs_cert **box = lua_newuserdatauv(L, sizeof *box, 1);
    *box = NULL;
    luaL_setmetatable(L, PKI_CERT);
    return box;
}

void pki_pushcert(lua_State *L, cs_cert *cert)
{
    if (cert == NULL)
        luaL_error(L, "out of memory");
    *pki_newcert(L) = cert;
}

int pki_name_in(const char *const names[], const char *name)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

void pki_check_option_names(lua_State *L, int idx, int argn, const char *const names[])
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            if (!pki_name_in(names, k))
                luaL_argerror(L, argn, lua_pushfstring(L, "unknown option '%s'", k));
        } else {
            luaL_argerror(L, argn, lua_pushfstring(L, "unexpected %s key in options",
                                                  luaL_typename(L, -2)));
        }
        lua_pop(L, 1);
    }
}

int pki_field_boolean(lua_State *L, int idx, const char *field)
{
    int value;

    lua_getfield(L, idx, field);
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: boolean expected, got %s", field,
                                              luaL_typename(L, -1)));
    value = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return value;
}

int pki_opt_overwrite(lua_State *L, int idx)
{
    static const char *const names[] = {"overwrite", NULL};

    if (lua_isnoneornil(L, idx))
        return 0;
    pki_check_option_names(L, idx, idx, names);
    return pki_field_boolean(L, idx, "overwrite");
}

const cs_cert **pki_cert_array(lua_State *L, int idx, const char *field, int argn, size_t *n)
{
    const cs_cert **arr;
    lua_Integer len;

    idx = lua_absindex(L, idx);
    if (field)
        lua_getfield(L, idx, field);
    else
        lua_pushvalue(L, idx);
    if (field == NULL)
        field = "certificates";
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *n = 0;
        return lua_newuserdatauv(L, 1, 0);
    }
    if (!lua_istable(L, -1))
        luaL_argerror(L, argn, lua_pushfstring(L, "%s: table of pki.cert expected, got %s",
                                               field, luaL_typename(L, -1)));
    len = (lua_Integer)lua_rawlen(L, -1);
    arr = lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof *arr, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        cs_cert **box;
        lua_rawgeti(L, -2, i);
        box = luaL_testudata(L, -1, PKI_CERT);
        if (box == NULL)
            luaL_argerror(L, argn, lua_pushfstring(L, "%s[%d]: pki.cert expected, got %s",
                                                   field, (int)i, luaL_typename(L, -1)));
        if (*box == NULL)
            luaL_error(L, "attempt to use a closed %s", PKI_CERT);
        arr[i - 1] = *box;
        lua_pop(L, 1);
    }
    lua_remove(L, -2);
    *n = (size_t)len;
    return arr;
}

void pki_new_metatable(lua_State *L, const char *tname, const luaL_Reg *meta,
                       const luaL_Reg *methods)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

int pki_push_buffer(lua_State *L, cs_code rc, void *buf, size_t len, const cs_err *err)
{
    if (rc != CS_OK)
        return pki_fail(L, err);
    lua_pushlstring(L, buf, len);
    free(buf);
    return 1;
}

void pki_push_strings(lua_State *L, char *const *s, size_t n)
{
    lua_createtable(L, (int)n, 1); /* room for a "critical" field */
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, s[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

void pki_push_rdns(lua_State *L, const cs_rdn *rdns, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, rdns[i].field);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, rdns[i].value);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

void pki_push_key_usage(lua_State *L, unsigned bits)
{
    lua_Integer n = 0;

    lua_createtable(L, 7, 1); /* room for a "critical" field */
    for (unsigned bit = 0; bit < 7; bit++) {
        if (bits & (1u << bit)) {
            lua_pushstring(L, cs_key_usage_names[bit]);
            lua_rawseti(L, -2, ++n);
        }
    }
}
