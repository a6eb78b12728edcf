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

/* pki.ocsp_responder{db =, issuer =, signer = (default: issuer), key =,
 * next_update_hours = (default 24)} -> responder */
static int ocsp_new(lua_State *L)
{
    static const char *const names[] = {"db", "issuer", "signer", "key", "next_update_hours",
                                        NULL};
    cs_ocsp_params p = {0};
    cs_err err = {CS_OK, ""};
    cs_ocsp_responder **box;
    pki_fields f;
    const char *db;
    void *issuer, *signer = NULL, *key;
    lua_Integer hours = DEFAULT_NEXT_UPDATE_HOURS;

    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    /* the table holds what these point at until open returns */
    pki_field_string(&f, "db", PKI_RAISE | PKI_NEEDED, &db, NULL);
    pki_field_udata(&f, "issuer", PKI_CERT, PKI_RAISE | PKI_NEEDED, &issuer);
    pki_field_udata(&f, "signer", PKI_CERT, PKI_RAISE, &signer);
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE | PKI_NEEDED, &key);
    if (pki_field_int(&f, "next_update_hours", PKI_RAISE, &hours) &&
        (hours < 0 || hours > MAX_NEXT_UPDATE_HOURS))
        luaL_argerror(L, 1, lua_pushfstring(L, "next_update_hours: not in 0..%d",
                                            MAX_NEXT_UPDATE_HOURS));
    p.issuer = issuer;
    p.signer = signer ? signer : issuer;
    p.signer_key = key;
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
