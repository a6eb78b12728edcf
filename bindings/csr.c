/* pki.csr: certificate signing requests: load (signature checked), inspect,
 * make one for a key. */
#include "bindings.h"

#include <stdio.h>
#include <string.h>

#include "csr.h"
#include "name.h"

static cs_csr **newcsr(lua_State *L)
{
    cs_csr **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL; /* created closed, as liolib does */
    luaL_setmetatable(L, PKI_CSR);
    return box;
}

void pki_push_csr(lua_State *L, cs_csr *csr)
{
    *newcsr(L) = csr;
}

static cs_csr *checkcsr(lua_State *L, int idx)
{
    return pki_checkopen(L, idx, PKI_CSR);
}

static int csr_gc(lua_State *L)
{
    cs_csr **box = luaL_checkudata(L, 1, PKI_CSR);
    if (*box) {
        cs_csr_free(*box);
        *box = NULL;
    }
    return 0;
}

static int csr_tostring(lua_State *L)
{
    cs_csr **box = luaL_checkudata(L, 1, PKI_CSR);
    cs_csr_info *info = NULL;

    if (*box == NULL) {
        lua_pushliteral(L, "pki.csr (closed)");
    } else if (cs_csr_get_info(*box, &info, NULL) == CS_OK) {
        lua_pushfstring(L, "pki.csr (%s)", info->subject[0] ? info->subject : "no subject");
        cs_csr_info_free(info);
    } else {
        lua_pushliteral(L, "pki.csr");
    }
    return 1;
}

static int csr_load(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "CSR");
    cs_err err = {CS_OK, ""};
    cs_csr **box = newcsr(L);

    if (cs_csr_load(data, len, what, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int csr_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cs_err err = {CS_OK, ""};
    cs_csr **box = newcsr(L);

    if (cs_csr_load_file(path, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* ---- pki.make_csr{key = k, subject = {{"CN", "x"}}, names = {{type=, value=}}} ---- */

/* Element i of the array at idx must be a table; else invalid naming path[i]. */
static int element_table(lua_State *L, int idx, lua_Integer i, const char *path, cs_err *err)
{
    if (lua_rawgeti(L, idx, i) != LUA_TTABLE) {
        cs_err_set(err, CS_EINVAL, "%s[%lld]: expected table, got %s", path, (long long)i,
                   luaL_typename(L, -1));
        return 0;
    }
    return 1;
}

/* Unknown keys of the table at idx are invalid data, as in a spec table
 * (with array, the integer keys 1..#t are fine too). */
static int known_fields(lua_State *L, int idx, const char *path, const char *const names[],
                        int array, cs_err *err)
{
    pki_fields f = pki_fields_at(L, idx, 1, path, err);
    return pki_check_fields(&f, names, PKI_FAIL | (array ? PKI_ARRAY : 0)) == 0;
}

/* The subject array at idx; strings stay referenced by the table. */
static int read_subject(lua_State *L, int idx, cs_rdn *rdns, size_t n, cs_err *err)
{
    static const char *const no_names[] = {NULL};
    for (size_t i = 0; i < n; i++) {
        if (!element_table(L, idx, (lua_Integer)i + 1, "csr.subject", err))
            return 0;
        if (!known_fields(L, -1, "csr.subject[]", no_names, 1, err))
            return 0;
        if (lua_rawlen(L, -1) != 2 || lua_rawgeti(L, -1, 1) != LUA_TSTRING ||
            lua_rawgeti(L, -2, 2) != LUA_TSTRING) {
            cs_err_set(err, CS_EINVAL, "csr.subject[%zu]: expected {field, value} strings",
                       i + 1);
            return 0;
        }
        rdns[i].field = lua_tostring(L, -2);
        rdns[i].value = lua_tostring(L, -1);
        if (strlen(rdns[i].field) != lua_rawlen(L, -2) ||
            strlen(rdns[i].value) != lua_rawlen(L, -1)) { /* C would cut it at the NUL */
            cs_err_set(err, CS_EINVAL, "csr.subject[%zu]: holds a NUL byte", i + 1);
            return 0;
        }
        lua_pop(L, 3);
    }
    return 1;
}

static int read_names(lua_State *L, int idx, cs_name *names, size_t n, cs_err *err)
{
    static const char *const fields[] = {"type", "value", NULL};
    for (size_t i = 0; i < n; i++) {
        const char *type = NULL;
        char where[48];
        pki_fields f;
        if (!element_table(L, idx, (lua_Integer)i + 1, "csr.names", err))
            return 0;
        snprintf(where, sizeof where, "csr.names[%zu]", i + 1);
        f = pki_fields_at(L, -1, 1, where, err);
        if (pki_check_fields(&f, fields, PKI_FAIL) < 0 ||
            pki_field_string(&f, "type", PKI_FAIL | PKI_NEEDED, &type, NULL) < 0 ||
            pki_field_string(&f, "value", PKI_FAIL | PKI_NEEDED, &names[i].value, NULL) < 0)
            return 0;
        if (!cs_name_type_from_string(type, &names[i].type)) {
            cs_err_set(err, CS_EINVAL, "%s.type: unknown name type '%s' (use dns, ip, email "
                       "or uri)", where, type);
            return 0;
        }
        lua_pop(L, 1);
    }
    return 1;
}

static int csr_make(lua_State *L)
{
    static const char *const fields[] = {"key", "subject", "names", NULL};
    static const char *const none[] = {NULL}; /* arrays: integer keys only */
    cs_err err = {CS_OK, ""};
    void *key = NULL;
    cs_rdn *rdns;
    cs_name *names;
    size_t nsubject = 0, nnames = 0;
    cs_csr **box;
    pki_fields f;
    int has;

    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, "csr", &err);
    if (pki_check_fields(&f, fields, PKI_FAIL) < 0)
        return pki_fail(L, &err);
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE | PKI_NEEDED, &key); /* a caller bug */
    has = pki_field_table(&f, "subject", PKI_FAIL); /* pushed at 2, or nil below */
    if (has < 0)
        return pki_fail(L, &err);
    if (!has)
        lua_pushnil(L);
    nsubject = has ? lua_rawlen(L, 2) : 0;
    has = pki_field_table(&f, "names", PKI_FAIL); /* pushed at 3, or nil below */
    if (has < 0)
        return pki_fail(L, &err);
    if (!has)
        lua_pushnil(L);
    nnames = has ? lua_rawlen(L, 3) : 0;
    /* Scratch arrays as userdata: the collector frees them on any exit. */
    rdns = lua_newuserdatauv(L, (nsubject ? nsubject : 1) * sizeof *rdns, 0); /* 4 */
    names = lua_newuserdatauv(L, (nnames ? nnames : 1) * sizeof *names, 0);  /* 5 */
    if ((nsubject && !known_fields(L, 2, "csr.subject", none, 1, &err)) ||
        (nnames && !known_fields(L, 3, "csr.names", none, 1, &err)) ||
        (nsubject && !read_subject(L, 2, rdns, nsubject, &err)) ||
        (nnames && !read_names(L, 3, names, nnames, &err)))
        return pki_fail(L, &err);
    box = newcsr(L);
    if (cs_csr_create(key, rdns, nsubject, names, nnames, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* ---- methods ---- */

static int csr_info(lua_State *L)
{
    const cs_csr *csr = checkcsr(L, 1);
    cs_err err = {CS_OK, ""};
    cs_csr_info *info = NULL;

    if (cs_csr_get_info(csr, &info, &err) != CS_OK)
        return pki_fail(L, &err);
    luaL_checkstack(L, 8, "csr info");
    lua_createtable(L, 0, 9);
    pki_push_rdns(L, info->subject_rdns, info->subject_rdns_len);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, info->subject);
    lua_setfield(L, -2, "subject_line");
    lua_createtable(L, (int)info->names_len, 0);
    for (size_t i = 0; i < info->names_len; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, cs_name_type_name(info->names[i].type));
        lua_setfield(L, -2, "type");
        lua_pushstring(L, info->names[i].value);
        lua_setfield(L, -2, "value");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "names");
    lua_pushboolean(L, info->ca);
    lua_setfield(L, -2, "ca");
    pki_push_key_usage(L, info->key_usage.bits);
    if (info->key_usage.critical) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "critical");
    }
    lua_setfield(L, -2, "key_usage");
    pki_push_strings(L, info->ext_key_usage.purposes, info->ext_key_usage.len);
    if (info->ext_key_usage.critical) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "critical");
    }
    lua_setfield(L, -2, "extended_key_usage");
    pki_push_strings(L, info->extensions, info->extensions_len);
    lua_setfield(L, -2, "extensions");
    lua_pushstring(L, info->signature_algorithm);
    lua_setfield(L, -2, "signature_algorithm");
    lua_createtable(L, 0, 4);
    lua_pushstring(L, info->key_type);
    lua_setfield(L, -2, "type");
    if (info->key_curve) {
        lua_pushstring(L, info->key_curve);
        lua_setfield(L, -2, "curve");
    }
    lua_pushinteger(L, info->key_bits);
    lua_setfield(L, -2, "bits");
    lua_pushstring(L, info->key_fingerprint);
    lua_setfield(L, -2, "fingerprint");
    lua_setfield(L, -2, "key");
    cs_csr_info_free(info);
    return 1;
}

static int csr_public_key(lua_State *L)
{
    const cs_csr *csr = checkcsr(L, 1);
    cs_err err = {CS_OK, ""};
    cs_key **box = pki_newkey(L);

    if (cs_csr_public_key(csr, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int csr_pem(lua_State *L)
{
    const cs_csr *csr = checkcsr(L, 1);
    cs_err err = {CS_OK, ""};
    char *pem = NULL;
    size_t len = 0;
    cs_code rc = cs_csr_pem(csr, &pem, &len, &err);

    return pki_push_buffer(L, rc, pem, len, &err);
}

static int csr_der(lua_State *L)
{
    const cs_csr *csr = checkcsr(L, 1);
    cs_err err = {CS_OK, ""};
    unsigned char *der = NULL;
    size_t len = 0;
    cs_code rc = cs_csr_der(csr, &der, &len, &err);

    return pki_push_buffer(L, rc, der, len, &err);
}

static const luaL_Reg csr_meta[] = {
    {"__gc", csr_gc},
    {"__close", csr_gc},
    {"__tostring", csr_tostring},
    {NULL, NULL},
};

static const luaL_Reg csr_methods[] = {
    {"info", csr_info},
    {"public_key", csr_public_key},
    {"pem", csr_pem},
    {"der", csr_der},
    {"close", csr_gc},
    {NULL, NULL},
};

const luaL_Reg pki_csr_funcs[] = {
    {"load_csr", csr_load},
    {"read_csr", csr_read},
    {"make_csr", csr_make},
    {NULL, NULL},
};

void pki_csr_register(lua_State *L)
{
    pki_new_metatable(L, PKI_CSR, csr_meta, csr_methods);
}
