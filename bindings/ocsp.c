/* pki.ocsp_responder: answers OCSP requests from the CA database. The
 * responder holds its own references to its certificates and key, so the
 * Lua values it was made from may be closed or collected; and a server
 * answering with it holds its own reference to it, so closing this one
 * never pulls it from under the server. */
#include "bindings.h"

#include <stdlib.h>

#include "ocsp.h"

/* Hours of validity when the caller names none: a day, well inside the
 * CA/B Forum's 8 hours to 10 days (BR 4.9.10). */
#define DEFAULT_NEXT_UPDATE_HOURS 24
/* A year: past this a response is no longer news about revocation. */
#define MAX_NEXT_UPDATE_HOURS (366 * 24)

static int ocsp_gc(lua_State *L)
{
    cs_ocsp_responder **box = luaL_checkudata(L, 1, PKI_OCSP);
    cs_ocsp_responder_free(*box); /* our reference; a running server keeps its own */
    *box = NULL;
    return 0;
}

static int ocsp_tostring(lua_State *L)
{
    cs_ocsp_responder **box = luaL_checkudata(L, 1, PKI_OCSP);
    if (*box == NULL)
        lua_pushliteral(L, "pki.ocsp_responder (closed)");
    else
        lua_pushfstring(L, "pki.ocsp_responder (%p)", (void *)*box);
    return 1;
}

cs_ocsp_responder *pki_checkocsp(lua_State *L, int idx)
{
    cs_ocsp_responder **box = luaL_checkudata(L, idx, PKI_OCSP);
    if (*box == NULL)
        luaL_error(L, "attempt to use a closed %s", PKI_OCSP);
    return *box;
}

/* The value at the top of the stack is not what field needs: a caller bug. */
static int argfail(lua_State *L, const char *field, const char *what)
{
    const char *got = luaL_typename(L, -1);
    return luaL_argerror(L, 1, lua_pushfstring(L, "%s: %s expected, got %s", field, what, got));
}

/* Field of the options table (index 1) as an open pki.cert; absent is NULL
 * when optional. Leaves the value on the stack. */
static const cs_cert *opt_cert(lua_State *L, const char *field, int optional)
{
    cs_cert **c;

    if (lua_getfield(L, 1, field) == LUA_TNIL && optional)
        return NULL;
    c = luaL_testudata(L, -1, PKI_CERT);
    if (c == NULL)
        argfail(L, field, "pki.cert");
    if (*c == NULL)
        luaL_error(L, "attempt to use a closed %s", PKI_CERT);
    return *c;
}

/* pki.ocsp_responder{db =, issuer =, signer = (default: issuer), key =,
 * next_update_hours = (default 24)} -> responder */
static int ocsp_new(lua_State *L)
{
    static const char *const names[] = {"db", "issuer", "signer", "key", "next_update_hours",
                                        NULL};
    cs_ocsp_params p = {0};
    cs_err err = {CS_OK, ""};
    pki_key_box *keybox;
    cs_ocsp_responder **box;
    const char *db;
    lua_Integer hours = DEFAULT_NEXT_UPDATE_HOURS;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    pki_check_option_names(L, 1, 1, names);
    if (lua_getfield(L, 1, "db") != LUA_TSTRING)
        argfail(L, "db", "string");
    db = lua_tostring(L, -1);
    p.issuer = opt_cert(L, "issuer", 0);
    p.signer = opt_cert(L, "signer", 1);
    if (!p.signer)
        p.signer = p.issuer;
    lua_getfield(L, 1, "key");
    keybox = luaL_testudata(L, -1, PKI_KEY);
    if (keybox == NULL)
        argfail(L, "key", "pki.key");
    if (keybox->key == NULL)
        luaL_error(L, "attempt to use a closed %s", PKI_KEY);
    p.signer_key = keybox->key;
    if (lua_getfield(L, 1, "next_update_hours") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            argfail(L, "next_update_hours", "integer");
        hours = lua_tointeger(L, -1);
        if (hours < 0 || hours > MAX_NEXT_UPDATE_HOURS)
            luaL_argerror(L, 1, "next_update_hours: not in 0..8784");
    }
    p.next_update_secs = (int64_t)hours * 3600;

    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL; /* created closed, as liolib does */
    luaL_setmetatable(L, PKI_OCSP);
    if (cs_ocsp_responder_open(db, &p, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* responder:respond(der_request) -> der_response */
static int ocsp_respond(lua_State *L)
{
    cs_ocsp_responder *r = pki_checkocsp(L, 1);
    size_t len;
    const char *req = luaL_checklstring(L, 2, &len);
    unsigned char *der = NULL;
    size_t der_len = 0;
    cs_err err = {CS_OK, ""};
    cs_code rc = cs_ocsp_respond(r, (const unsigned char *)req, len, &der, &der_len, &err);

    return pki_push_buffer(L, rc, der, der_len, &err);
}

/* responder:staple(cert) -> der_response */
static int ocsp_staple(lua_State *L)
{
    cs_ocsp_responder *r = pki_checkocsp(L, 1);
    const cs_cert *cert = pki_checkcert(L, 2);
    unsigned char *der = NULL;
    size_t der_len = 0;
    cs_err err = {CS_OK, ""};
    cs_code rc = cs_ocsp_response_for_cert(r, cert, &der, &der_len, &err);

    return pki_push_buffer(L, rc, der, der_len, &err);
}

/* responder:set_signer(cert, key) -> true, or nil, msg, code with the old
 * signer kept: a renewed delegated responder, picked up by a running server. */
static int ocsp_set_signer(lua_State *L)
{
    cs_ocsp_responder *r = pki_checkocsp(L, 1);
    const cs_cert *cert = pki_checkcert(L, 2);
    const cs_key *key = pki_checkkey(L, 3);
    cs_err err = {CS_OK, ""};

    if (cs_ocsp_responder_set_signer(r, cert, key, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* pki.ocsp_decode_get(text) -> der_request: the part of a GET URL after
 * the responder's path (RFC 6960 A.1). */
static int ocsp_decode_get(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    unsigned char *der = NULL;
    size_t der_len = 0;
    cs_err err = {CS_OK, ""};
    cs_code rc = cs_ocsp_decode_get(text, len, &der, &der_len, &err);

    return pki_push_buffer(L, rc, der, der_len, &err);
}

static const luaL_Reg ocsp_meta[] = {
    {"__gc", ocsp_gc},
    {"__close", ocsp_gc},
    {"__tostring", ocsp_tostring},
    {NULL, NULL},
};

static const luaL_Reg ocsp_methods[] = {
    {"respond", ocsp_respond},
    {"staple", ocsp_staple},
    {"set_signer", ocsp_set_signer},
    {"close", ocsp_gc},
    {NULL, NULL},
};

const luaL_Reg pki_ocsp_funcs[] = {
    {"ocsp_responder", ocsp_new},
    {"ocsp_decode_get", ocsp_decode_get},
    {NULL, NULL},
};

void pki_ocsp_register(lua_State *L)
{
    pki_new_metatable(L, PKI_OCSP, ocsp_meta, ocsp_methods);
}
