/* Helpers shared by the pki module's files: failures, closed objects, options. */
#include "bindings.h"

#include <stdio.h>
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

/* ---- the field readers ---- */

pki_fields pki_fields_at(lua_State *L, int idx, int argn, const char *where, cs_err *err)
{
    pki_fields f = {L, lua_absindex(L, idx), argn, where, err};

    if (!lua_istable(L, f.t)) {
        if (f.t == argn || !where) /* the argument itself: "table expected, got nil" */
            luaL_typeerror(L, argn, "table");
        luaL_argerror(L, argn, lua_pushfstring(L, "%s: table expected, got %s", where,
                                              luaL_typename(L, f.t)));
    }
    return f;
}

const char *pki_field_path(const pki_fields *f, const char *name, char *buf, size_t size)
{
    if (f->where)
        snprintf(buf, size, "%s.%s", f->where, name);
    else
        snprintf(buf, size, "%s", name);
    return buf;
}

const char *pki_type_of(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx))
        return "float";
    return luaL_typename(L, idx);
}

/* The value on top has the wrong type: pop it and raise or fail as how says. */
static int wrong_type(const pki_fields *f, const char *name, const char *want, int how)
{
    lua_State *L = f->L;
    char path[128];

    pki_field_path(f, name, path, sizeof path);
    if (!(how & PKI_FAIL))
        luaL_argerror(L, f->argn, lua_pushfstring(L, "%s: %s expected, got %s", path, want,
                                                  pki_type_of(L, -1)));
    cs_err_set(f->err, CS_EINVAL, "%s: expected %s, got %s", path, want, pki_type_of(L, -1));
    lua_pop(L, 1);
    return -1;
}

/* Field name is absent (nil on top): 0, or as how says when PKI_NEEDED. */
static int absent(const pki_fields *f, const char *name, const char *want, int how)
{
    if (!(how & PKI_NEEDED)) {
        lua_pop(f->L, 1);
        return 0;
    }
    if (!(how & PKI_FAIL))
        return wrong_type(f, name, want, how);
    cs_err_set(f->err, CS_EINVAL, "%s: missing field '%s'", f->where ? f->where : "table", name);
    lua_pop(f->L, 1);
    return -1;
}

int pki_check_fields(const pki_fields *f, const char *const names[], int how)
{
    lua_State *L = f->L;
    int top = lua_gettop(L);
    lua_Integer len = (how & PKI_ARRAY) ? (lua_Integer)lua_rawlen(L, f->t) : 0;

    lua_pushnil(L);
    while (lua_next(L, f->t) != 0) {
        int known = lua_type(L, -2) == LUA_TSTRING
                        ? pki_name_in(names, lua_tostring(L, -2))
                        : lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                              lua_tointeger(L, -2) <= len;
        if (!known && !(how & PKI_FAIL)) {
            if (lua_type(L, -2) == LUA_TSTRING)
                luaL_argerror(L, f->argn, lua_pushfstring(L, "unknown option '%s'",
                                                          lua_tostring(L, -2)));
            luaL_argerror(L, f->argn, lua_pushfstring(L, "unexpected %s key in options",
                                                      luaL_typename(L, -2)));
        }
        if (!known) {
            if (lua_type(L, -2) == LUA_TSTRING)
                cs_err_set(f->err, CS_EINVAL, "%s: unknown field '%s'",
                           f->where ? f->where : "table", lua_tostring(L, -2));
            else if (lua_isinteger(L, -2))
                cs_err_set(f->err, CS_EINVAL, "%s: unknown field [%lld]",
                           f->where ? f->where : "table", (long long)lua_tointeger(L, -2));
            else
                cs_err_set(f->err, CS_EINVAL, "%s: unexpected %s key",
                           f->where ? f->where : "table", pki_type_of(L, -2));
            lua_settop(L, top);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

int pki_field_string(const pki_fields *f, const char *name, int how, const char **out,
                     size_t *len)
{
    int ty = lua_getfield(f->L, f->t, name);

    if (ty == LUA_TNIL)
        return absent(f, name, "string", how);
    if (ty != LUA_TSTRING)
        return wrong_type(f, name, "string", how);
    *out = lua_tolstring(f->L, -1, len); /* the table keeps it alive */
    /* Read as a C string, a value with a NUL would be cut there silently
     * ("good.test\0.evil.com" issued as good.test). */
    if (!len && strlen(*out) != lua_rawlen(f->L, -1)) {
        char path[128];
        pki_field_path(f, name, path, sizeof path);
        if (!(how & PKI_FAIL))
            luaL_argerror(f->L, f->argn, lua_pushfstring(f->L, "%s: holds a NUL byte", path));
        cs_err_set(f->err, CS_EINVAL, "%s: holds a NUL byte", path);
        lua_pop(f->L, 1);
        return -1;
    }
    lua_pop(f->L, 1);
    return 1;
}

int pki_field_int(const pki_fields *f, const char *name, int how, lua_Integer *out)
{
    int isnum = 0, ty = lua_getfield(f->L, f->t, name);
    lua_Integer v;

    if (ty == LUA_TNIL)
        return absent(f, name, "integer", how);
    v = ty == LUA_TNUMBER ? lua_tointegerx(f->L, -1, &isnum) : 0;
    if (!isnum)
        return wrong_type(f, name, "integer", how);
    *out = v;
    lua_pop(f->L, 1);
    return 1;
}

int pki_field_bool(const pki_fields *f, const char *name, int how, int *out)
{
    int ty = lua_getfield(f->L, f->t, name);

    if (ty == LUA_TNIL)
        return absent(f, name, "boolean", how);
    if (ty != LUA_TBOOLEAN)
        return wrong_type(f, name, "boolean", how);
    *out = lua_toboolean(f->L, -1);
    lua_pop(f->L, 1);
    return 1;
}

int pki_field_udata(const pki_fields *f, const char *name, const char *tname, int how,
                    void **out)
{
    void **box;

    if (lua_getfield(f->L, f->t, name) == LUA_TNIL)
        return absent(f, name, tname, how);
    box = luaL_testudata(f->L, -1, tname);
    if (!box)
        return wrong_type(f, name, tname, how);
    if (!*box)
        luaL_error(f->L, "attempt to use a closed %s", tname);
    *out = *box;
    lua_pop(f->L, 1); /* the table keeps the userdata alive */
    return 1;
}

int pki_field_table(const pki_fields *f, const char *name, int how)
{
    int ty = lua_getfield(f->L, f->t, name);

    if (ty == LUA_TNIL)
        return absent(f, name, "table", how);
    if (ty != LUA_TTABLE)
        return wrong_type(f, name, "table", how);
    return 1;
}

int pki_opt_overwrite(lua_State *L, int idx)
{
    static const char *const names[] = {"overwrite", NULL};
    pki_fields f;
    int overwrite = 0;

    if (lua_isnoneornil(L, idx))
        return 0;
    f = pki_fields_at(L, idx, idx, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_bool(&f, "overwrite", PKI_RAISE, &overwrite);
    return overwrite;
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
