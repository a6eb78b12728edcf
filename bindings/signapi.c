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
 * next, answer, close and the object's lifetime are bindings/decider.c's;
 * this file reads the config, pushes asks and reads answers. */
#include "bindings.h"

#include <stdlib.h>
#include <string.h>

#include "signapi.h"

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

static void set_string(lua_State *L, const char *name, const char *value)
{
    if (!value)
        return;
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

/* The next ask as api:next gives it (decider.c: 1 pushed, 0 none, -1 err). */
static int next_ask(lua_State *L, void *api, int timeout_ms, cs_err *err)
{
    cs_signapi_ask *ask = NULL;

    if (cs_signapi_next(api, timeout_ms, &ask, err) != CS_OK)
        return -1;
    if (!ask)
        return 0;
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

/* api:answer(id, {ok, error, detail, chain, serial}) ("invalid": a sign
 * answer without chain or serial). */
static const char *const answer_fields[] = {"ok", "error", "detail", "chain", "serial", NULL};

static cs_code answer(void *api, uint64_t id, const pki_answer *a, const pki_fields *f,
                      cs_err *err)
{
    cs_signapi_decision d = {.ok = a->ok, .detail = a->detail, .chain_pem = a->chain_pem,
                             .serial_hex = a->serial_hex};

    pki_field_string(f, "error", PKI_RAISE, &d.error, NULL);
    return cs_signapi_answer(api, id, &d, err);
}

static void close_api(void *api)
{
    cs_signapi_close(api);
}

static void free_api(void *api)
{
    cs_signapi_free(api);
}

static const pki_decider_type signapi_type = {PKI_SIGNAPI, close_api, free_api, next_ask,
                                              answer_fields, answer};

/* pki.signapi{db, base_url, mtls, token_keys, ask_timeout_ms}: a
 * pki.signapi, or nil, message, code. */
static int signapi_new(lua_State *L)
{
    static const char *const names[] = {"db", "base_url", "mtls", "token_keys",
                                        "ask_timeout_ms", NULL};
    cs_signapi_config cfg;
    cs_err err = {CS_OK, ""};
    pki_fields f;
    pki_decider_box *box;
    cs_signapi *api;
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
    box = pki_decider_push(L, &signapi_type);
    if (cs_signapi_new(&cfg, &api, &err) != CS_OK)
        return pki_fail(L, &err);
    pki_decider_open(L, box, &signapi_type, api);
    return 1;
}

const luaL_Reg pki_signapi_funcs[] = {
    {"signapi", signapi_new},
    {NULL, NULL},
};

void pki_signapi_register(lua_State *L)
{
    pki_decider_register(L, &signapi_type);
}
