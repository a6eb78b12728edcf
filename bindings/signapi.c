/* pki.signapi: the Lua face of core/signapi.h (the signing API, docs/api.md,
 * and its decision queue). The contract with scripts/chainsmith/api_service.lua:
 *
 *   local api = assert(pki.signapi{
 *     db = "chain/ca.db",                  -- the CA database (required)
 *     base_url = "https://localhost:8443", -- external URL, no trailing '/' (required);
 *                                          -- a token's aud must be base_url .. request path
 *     mtls = true,                         -- client certificates authenticate (optional)
 *     token_keys = { ["robot-1"] = "<SPKI PEM, P-256>" },  -- tokens authenticate (optional)
 *     ask_timeout_ms = 10000,              -- optional: how long a request waits for Lua
 *   })                                     -- nil, message, code on bad input
 *   local server = pki.start_server{ ..., api = api }  -- mounts /api/v1 (HTTPS only);
 *                                                      -- the server keeps api alive
 *
 *   local ask = api:next(timeout_ms)  -- nil on timeout; nil, "closed", "notfound" once
 *                                     -- closed and drained; else a table:
 *   { id = <integer>, kind = "sign" | "revoke",
 *     auth = "mtls" | "token", client = "<subject line>" | "<kid>",
 *     client_serial = "<HEX>" (mtls), sub = "<token sub>" or nil,
 *     csr = "<DER>", profile = "<name>" or nil,      -- sign: the CSR parses, signature ok
 *     serial = "<HEX>", reason = <CRLReason code> }  -- revoke: in ca.db, not revoked
 *
 *   api:answer(id, { ok = true, chain = "<PEM leaf + intermediate>", serial = "<HEX>" })  -- sign
 *   api:answer(id, { ok = true })                                                      -- revoke
 *   api:answer(id, { ok = false, error = "rejected", detail = "..." })  -- any refusal
 *       -- returns true, or nil, message, code ("notfound": nobody waits for that id)
 *   api:close()   -- waiting requests get 503; next() drains then says closed
 *
 * Never called from a worker thread: the queue is the only way in. */
#include "bindings.h"

#include <stdlib.h>
#include <string.h>

#include "signapi.h"

/* Shared by the userdata and every server mounting it: the last one to let
 * go frees it (a server's handler must never outlive it, whatever order the
 * collector finalizes them in). Touched only from the Lua thread. */
struct pki_signapi_ref {
    cs_signapi *api;
    int refs;
};

typedef struct signapi_box {
    pki_signapi_ref *ref;
} signapi_box;

void pki_signapi_unref(pki_signapi_ref *ref)
{
    if (ref && --ref->refs == 0) {
        cs_signapi_free(ref->api);
        free(ref);
    }
}

pki_signapi_ref *pki_signapi_ref_get(lua_State *L, int idx)
{
    signapi_box *box = luaL_checkudata(L, idx, PKI_SIGNAPI);

    if (!box->ref)
        luaL_error(L, "attempt to use a closed %s", PKI_SIGNAPI);
    box->ref->refs++;
    return box->ref;
}

cs_signapi *pki_signapi_of(const pki_signapi_ref *ref)
{
    return ref->api;
}

static cs_signapi *check_api(lua_State *L)
{
    signapi_box *box = luaL_checkudata(L, 1, PKI_SIGNAPI);

    if (!box->ref)
        luaL_error(L, "attempt to use a closed %s", PKI_SIGNAPI);
    return box->ref->api;
}

static int signapi_gc(lua_State *L)
{
    signapi_box *box = luaL_checkudata(L, 1, PKI_SIGNAPI);

    if (box->ref) {
        cs_signapi_close(box->ref->api);
        pki_signapi_unref(box->ref);
        box->ref = NULL;
    }
    return 0;
}

static int signapi_close(lua_State *L)
{
    cs_signapi_close(check_api(L));
    return 0;
}

static int signapi_tostring(lua_State *L)
{
    signapi_box *box = luaL_checkudata(L, 1, PKI_SIGNAPI);

    lua_pushstring(L, box->ref ? PKI_SIGNAPI : PKI_SIGNAPI " (closed)");
    return 1;
}

/* token_keys = { [kid] = PEM, ... } as a scratch array left on the stack
 * (the options table holds the strings). */
static void read_token_keys(const pki_fields *f, cs_signapi_config *cfg)
{
    lua_State *L = f->L;
    cs_signapi_token_key *keys;
    size_t n = 0, i = 0;

    if (!pki_field_table(f, "token_keys", PKI_RAISE)) {
        lua_pushnil(L); /* the same stack shape either way */
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        n++;
        lua_pop(L, 1);
    }
    keys = lua_newuserdatauv(L, (n + 1) * sizeof *keys, 0);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, f->argn,
                          "token_keys: { [\"key id\"] = \"public key PEM\" } expected");
        keys[i].kid = lua_tostring(L, -2);
        keys[i].public_pem = lua_tostring(L, -1);
        i++;
        lua_pop(L, 1);
    }
    cfg->token_keys = keys;
    cfg->token_keys_len = n;
}

/* pki.signapi{db, base_url, mtls, token_keys, ask_timeout_ms}: a
 * pki.signapi, or nil, message, code. */
static int signapi_new(lua_State *L)
{
    static const char *const names[] = {"db", "base_url", "mtls", "token_keys",
                                        "ask_timeout_ms", NULL};
    cs_signapi_config cfg;
    cs_err err = {CS_OK, ""};
    pki_fields f;
    signapi_box *box;
    pki_signapi_ref *ref;
    lua_Integer ms = 0;

    memset(&cfg, 0, sizeof cfg);
    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_string(&f, "db", PKI_RAISE | PKI_NEEDED, &cfg.db_path, NULL);
    pki_field_string(&f, "base_url", PKI_RAISE | PKI_NEEDED, &cfg.base_url, NULL);
    pki_field_bool(&f, "mtls", PKI_RAISE, &cfg.mtls);
    if (pki_field_int(&f, "ask_timeout_ms", PKI_RAISE, &ms) == 1 && (ms < 1 || ms > 3600000))
        luaL_argerror(L, 1, "ask_timeout_ms: not in 1..3600000");
    cfg.ask_timeout_ms = (int)ms;
    read_token_keys(&f, &cfg);
    box = lua_newuserdatauv(L, sizeof *box, 0);
    box->ref = NULL;
    luaL_setmetatable(L, PKI_SIGNAPI);
    ref = malloc(sizeof *ref);
    if (!ref)
        return luaL_error(L, "out of memory");
    ref->refs = 1;
    if (cs_signapi_new(&cfg, &ref->api, &err) != CS_OK) {
        free(ref);
        return pki_fail(L, &err);
    }
    box->ref = ref;
    return 1;
}

static void set_string(lua_State *L, const char *name, const char *value)
{
    if (!value)
        return;
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

/* api:next([timeout_ms]): the next ask as a table, nil on timeout, or nil,
 * message, "notfound" once closed and drained. */
static int signapi_next(lua_State *L)
{
    cs_signapi *api = check_api(L);
    lua_Integer ms = luaL_optinteger(L, 2, 0);
    cs_signapi_ask *ask = NULL;
    cs_err err = {CS_OK, ""};

    luaL_argcheck(L, ms >= 0 && ms <= 0x7fffffff, 2, "timeout out of range");
    if (cs_signapi_next(api, (int)ms, &ask, &err) != CS_OK)
        return pki_fail(L, &err);
    if (!ask) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, (lua_Integer)ask->id);
    lua_setfield(L, -2, "id");
    set_string(L, "kind", cs_signapi_ask_kind_name(ask->kind));
    set_string(L, "auth", ask->auth);
    set_string(L, "client", ask->client);
    set_string(L, "client_serial", ask->client_serial);
    set_string(L, "sub", ask->sub);
    if (ask->kind == CS_SIGNAPI_ASK_SIGN) {
        lua_pushlstring(L, (const char *)ask->csr_der, ask->csr_len);
        lua_setfield(L, -2, "csr");
        set_string(L, "profile", ask->profile);
    } else {
        set_string(L, "serial", ask->serial_hex);
        lua_pushinteger(L, ask->reason);
        lua_setfield(L, -2, "reason");
    }
    cs_signapi_ask_free(ask);
    return 1;
}

/* api:answer(id, {ok, error, detail, chain, serial}): true, or nil,
 * message, code ("notfound": nobody waits for id; "invalid": a sign answer
 * without chain or serial). */
static int signapi_answer(lua_State *L)
{
    static const char *const names[] = {"ok", "error", "detail", "chain", "serial", NULL};
    cs_signapi *api = check_api(L);
    lua_Integer id = luaL_checkinteger(L, 2);
    cs_signapi_decision d;
    cs_err err = {CS_OK, ""};
    pki_fields f;

    memset(&d, 0, sizeof d);
    lua_settop(L, 3);
    f = pki_fields_at(L, 3, 3, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_bool(&f, "ok", PKI_RAISE | PKI_NEEDED, &d.ok);
    pki_field_string(&f, "error", PKI_RAISE, &d.error, NULL);
    pki_field_string(&f, "detail", PKI_RAISE, &d.detail, NULL);
    pki_field_string(&f, "chain", PKI_RAISE, &d.chain_pem, NULL);
    pki_field_string(&f, "serial", PKI_RAISE, &d.serial_hex, NULL);
    if (cs_signapi_answer(api, (uint64_t)id, &d, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg signapi_meta[] = {
    {"__gc", signapi_gc},
    {"__close", signapi_gc},
    {"__tostring", signapi_tostring},
    {NULL, NULL},
};

static const luaL_Reg signapi_methods[] = {
    {"next", signapi_next},
    {"answer", signapi_answer},
    {"close", signapi_close},
    {NULL, NULL},
};

const luaL_Reg pki_signapi_funcs[] = {
    {"signapi", signapi_new},
    {NULL, NULL},
};

void pki_signapi_register(lua_State *L)
{
    pki_new_metatable(L, PKI_SIGNAPI, signapi_meta, signapi_methods);
}
