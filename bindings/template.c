/* pki.template: a spec compiled once for an issuer (core/template.h), and
 * the certificates signed from it. */
#include "bindings.h"

#include <string.h>

static int template_close(lua_State *L)
{
    cs_template **box = luaL_checkudata(L, 1, PKI_TEMPLATE);
    cs_template_free(*box);
    *box = NULL;
    return 0;
}

static int template_tostring(lua_State *L)
{
    cs_template **box = luaL_checkudata(L, 1, PKI_TEMPLATE);
    if (*box == NULL)
        lua_pushliteral(L, "pki.template (closed)");
    else
        lua_pushfstring(L, "pki.template (%p)", (void *)*box);
    return 1;
}

cs_template *pki_checktemplate(lua_State *L, int idx)
{
    return pki_checkopen(L, idx, PKI_TEMPLATE);
}

cs_code pki_template_request(lua_State *L, int idx_names, int idx_cn, cs_template_request *req,
                             cs_err *err)
{
    memset(req, 0, sizeof *req);
    if (!lua_isnoneornil(L, idx_cn)) {
        size_t len;
        if (lua_type(L, idx_cn) != LUA_TSTRING)
            return cs_err_set(err, CS_EINVAL, "cn: expected string, got %s",
                              pki_type_of(L, idx_cn));
        req->cn = lua_tolstring(L, idx_cn, &len);
        if (strlen(req->cn) != len)
            return cs_err_set(err, CS_EINVAL, "cn: holds a NUL byte");
    }
    if (lua_isnoneornil(L, idx_names)) {
        lua_pushnil(L); /* the scratch value the caller expects */
        return CS_OK;
    }
    if (lua_type(L, idx_names) != LUA_TTABLE) {
        lua_pushnil(L);
        return cs_err_set(err, CS_EINVAL, "names: expected table, got %s",
                          pki_type_of(L, idx_names));
    }
    return pki_names_from_table(L, idx_names, "names", &req->names, &req->names_len, err);
}

/* pki.template(spec, issuer_cert, issuer_key) -> template. The spec as
 * pki.sign takes it, with validity_days (each certificate starts when it is
 * signed), no not_before or not_after. */
static int template_new(lua_State *L)
{
    static const char *const absolute[] = {"not_before", "not_after", NULL};
    cs_err err = {CS_OK, ""};
    const cs_cert *issuer;
    const cs_key *issuer_key;
    cs_cert_spec spec;
    cs_template **box;

    luaL_checktype(L, 1, LUA_TTABLE);
    issuer = pki_checkcert(L, 2);
    issuer_key = pki_checkkey(L, 3);
    lua_settop(L, 3);
    for (size_t i = 0; absolute[i]; i++) {
        if (lua_getfield(L, 1, absolute[i]) != LUA_TNIL) {
            cs_err_set(&err, CS_EINVAL, "spec.%s: a template takes validity_days (each "
                       "certificate starts when it is signed)", absolute[i]);
            return pki_fail(L, &err);
        }
        lua_pop(L, 1);
    }
    if (pki_spec_from_table(L, 1, &spec, &err) != CS_OK)
        return pki_fail(L, &err);
    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, PKI_TEMPLATE);
    if (cs_template_new(&spec, issuer, issuer_key, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* template:sign(subject_key [, names [, cn]]) -> cert, nothing recorded */
static int template_sign(lua_State *L)
{
    cs_template *tpl = pki_checktemplate(L, 1);
    const cs_key *key = pki_checkkey(L, 2);
    cs_err err = {CS_OK, ""};
    cs_template_request req;
    cs_cert **box;

    lua_settop(L, 4);
    if (pki_template_request(L, 3, 4, &req, &err) != CS_OK)
        return pki_fail(L, &err);
    box = pki_newcert(L);
    if (cs_template_sign(tpl, &req, key, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

const luaL_Reg pki_template_funcs[] = {
    {"template", template_new},
    {NULL, NULL},
};

void pki_template_register(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__gc", template_close},
        {"__close", template_close},
        {"__tostring", template_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"sign", template_sign},
        {"close", template_close},
        {NULL, NULL},
    };

    pki_new_metatable(L, PKI_TEMPLATE, meta, methods);
}
