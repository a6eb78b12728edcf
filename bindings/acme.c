/* pki.acme: the Lua face of core/acme.h (the ACME server and its decision
 * queue). The contract with scripts/chainsmith/acme_service.lua:
 *
 *   local acme = assert(pki.acme{
 *     db = "chain/ca.db",                     -- the CA database (required)
 *     base_url = "https://localhost:8443",    -- external URL, no trailing '/' (required);
 *                                             -- JWS "url" must be base_url .. request path
 *     terms = "https://localhost:8443/terms", -- meta.termsOfService (optional)
 *     eab = { required = false,               -- optional
 *             keys = { ["kid-1"] = "<b64url HMAC key>" } },
 *     chain = "<PEM>",                        -- appended after the leaf on download (optional)
 *     validation = { http_port = 5002, tls_port = 5001,        -- all optional
 *                    resolve = { "*.test=127.0.0.1" },
 *                    dns_resolver = "127.0.0.1:8053",
 *                    workers = 8, timeout_ms = 10000 },
 *     ask_timeout_ms = 10000,                 -- optional: how long a request waits for Lua
 *     order_lifetime = 86400,                 -- optional, seconds
 *   })                                        -- nil, message, code on bad input
 *   local server = pki.server{ ..., acme = acme }  -- mounts /acme (HTTPS only);
 *                                                  -- the server keeps acme alive
 *
 *   local ask = acme:next(timeout_ms)  -- nil on timeout; nil, "closed", "not found"
 *                                      -- once closed and drained; else a table:
 *   { id = <integer>, kind = "account" | "order" | "finalize" | "revoke",
 *     account = { id = "<account id>", contact = {"mailto:..."}, eab_kid = "kid-1" or nil },
 *     identifiers = { {type = "dns", value = "a.test"}, ... },  -- order, finalize
 *     order = "<order id>", profile = "<from the order answer>",-- finalize
 *     csr = "<DER>",      -- finalize; C already checked: it parses, its signature holds,
 *                         -- its names == the order's identifiers, its key != the account key
 *     parsed_csr = pki.csr, -- finalize: the same CSR as the request parsed it (absent when
 *                         -- the finalize was queued again from ca.db at start-up)
 *     serial = "<HEX>", reason = 0, by = "account" | "key" }   -- revoke; C already checked
 *                                                              -- the requester may revoke it
 *
 *   acme:answer(id, { ok = true })                                     -- account, revoke
 *   acme:answer(id, { ok = true, profile = "server",
 *                     challenges = {"http-01", "tls-alpn-01", "dns-01"} })  -- order
 *   acme:answer(id, { ok = true, chain = "<PEM leaf (+ intermediate)>", serial = "<HEX>" })
 *                                                                      -- finalize
 *   acme:answer(id, { ok = false, type = "rejectedIdentifier", detail = "..." })
 *       -- any refusal; type is an RFC 8555 error type without the urn prefix
 *       -- (finalize refusals: "badCSR"); returns true, or nil, message, code
 *       -- ("not found": nobody waits for that id any more)
 *   acme:close()   -- waiting requests get 503; next() drains then says closed
 *
 * next, answer, close and the object's lifetime are bindings/decider.c's;
 * this file reads the config, pushes asks and reads answers. */
#include "bindings.h"

#include <stdlib.h>
#include <string.h>

#include "acme.h"

/* An array of strings at field name of f (absent: 0 entries), as a scratch
 * userdata left on the stack. */
static const char **string_array(const pki_fields *f, const char *name, size_t *n)
{
    lua_State *L = f->L;
    const char **out;
    size_t i, len;

    *n = 0;
    if (!pki_field_table(f, name, PKI_RAISE))
        return lua_newuserdatauv(L, 1, 0), NULL;
    len = lua_rawlen(L, -1);
    out = lua_newuserdatauv(L, (len + 1) * sizeof *out, 0);
    for (i = 0; i < len; i++) {
        lua_rawgeti(L, -2, (lua_Integer)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, f->argn, lua_pushfstring(L, "%s[%d]: string expected, got %s",
                                                      name, (int)i + 1, pki_type_of(L, -1)));
        out[i] = lua_tostring(L, -1); /* the table, held by the options, keeps it */
        lua_pop(L, 1);
    }
    lua_remove(L, -2);
    *n = len;
    return out;
}

static void read_int(const pki_fields *f, const char *name, lua_Integer hi, int *out)
{
    lua_Integer v;

    if (pki_field_int(f, name, PKI_RAISE, &v) == 0)
        return;
    if (v < 0 || v > hi)
        luaL_argerror(f->L, f->argn, lua_pushfstring(f->L, "%s: not in 0..%I", name, hi));
    *out = (int)v;
}

/* eab = {required = bool, keys = {kid = "b64url", ...}} */
static void read_eab(lua_State *L, const pki_fields *f, cs_acme_config *cfg)
{
    static const char *const names[] = {"required", "keys", NULL};
    pki_fields e;
    cs_acme_eab_key *keys;
    size_t n = 0, i = 0;

    if (!pki_field_table(f, "eab", PKI_RAISE))
        return;
    e = pki_fields_at(L, -1, f->argn, "eab", NULL);
    pki_check_fields(&e, names, PKI_RAISE);
    pki_field_bool(&e, "required", PKI_RAISE, &cfg->eab_required);
    if (pki_field_table(&e, "keys", PKI_RAISE)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            n++;
            lua_pop(L, 1);
        }
        keys = lua_newuserdatauv(L, (n + 1) * sizeof *keys, 0);
        lua_pushnil(L);
        while (lua_next(L, -3)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, f->argn, "eab.keys: { [\"key id\"] = \"base64url HMAC key\" }");
            keys[i].kid = lua_tostring(L, -2);
            keys[i].hmac_b64url = lua_tostring(L, -1);
            i++;
            lua_pop(L, 1);
        }
        cfg->eab_keys = keys;
        cfg->eab_keys_len = n;
        /* keep the scratch array below the keys table, which holds the strings */
        lua_insert(L, -3);
        lua_pop(L, 1);
    }
}

/* The next ask as acme:next gives it (decider.c: 1 pushed, 0 none, -1 err). */
static int next_ask(lua_State *L, void *acme, int timeout_ms, cs_err *err)
{
    cs_acme_ask *ask = NULL;
    size_t i;

    if (cs_acme_next(acme, timeout_ms, &ask, err) != CS_OK)
        return -1;
    if (!ask)
        return 0;
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)ask->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, cs_acme_ask_kind_name(ask->kind));
    lua_setfield(L, -2, "kind");
    if (ask->account_id) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, ask->account_id);
        lua_setfield(L, -2, "id");
        pki_push_strings(L, ask->contact, ask->contact_len);
        lua_setfield(L, -2, "contact");
        if (ask->eab_kid) {
            lua_pushstring(L, ask->eab_kid);
            lua_setfield(L, -2, "eab_kid");
        }
        lua_setfield(L, -2, "account");
    }
    if (ask->identifiers_len > 0) {
        lua_createtable(L, (int)ask->identifiers_len, 0);
        for (i = 0; i < ask->identifiers_len; i++) {
            lua_createtable(L, 0, 2);
            lua_pushstring(L, ask->identifiers[i].type);
            lua_setfield(L, -2, "type");
            lua_pushstring(L, ask->identifiers[i].value);
            lua_setfield(L, -2, "value");
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "identifiers");
    }
    if (ask->order_id) {
        lua_pushstring(L, ask->order_id);
        lua_setfield(L, -2, "order");
    }
    if (ask->profile) {
        lua_pushstring(L, ask->profile);
        lua_setfield(L, -2, "profile");
    }
    if (ask->csr_der) {
        lua_pushlstring(L, (const char *)ask->csr_der, ask->csr_len);
        lua_setfield(L, -2, "csr");
    }
    if (ask->csr) { /* parsed by the request's thread: the Lua loop need not */
        pki_push_csr(L, ask->csr);
        ask->csr = NULL;
        lua_setfield(L, -2, "parsed_csr");
    }
    if (ask->serial_hex) {
        lua_pushstring(L, ask->serial_hex);
        lua_setfield(L, -2, "serial");
        lua_pushinteger(L, ask->reason);
        lua_setfield(L, -2, "reason");
        lua_pushstring(L, ask->by);
        lua_setfield(L, -2, "by");
    }
    cs_acme_ask_free(ask);
    return 1;
}

/* acme:answer(id, {ok, type, detail, profile, challenges, chain, serial}). */
static const char *const answer_fields[] = {"ok", "type", "detail", "profile", "challenges",
                                            "chain", "serial", NULL};

static cs_code answer(void *acme, uint64_t id, const pki_answer *a, const pki_fields *f,
                      cs_err *err)
{
    cs_acme_decision d = {.ok = a->ok, .detail = a->detail, .chain_pem = a->chain_pem,
                          .serial_hex = a->serial_hex};

    pki_field_string(f, "type", PKI_RAISE, &d.type, NULL);
    pki_field_string(f, "profile", PKI_RAISE, &d.profile, NULL);
    d.challenges = string_array(f, "challenges", &d.challenges_len);
    return cs_acme_answer(acme, id, &d, err);
}

static void close_acme(void *acme)
{
    cs_acme_close(acme);
}

static void free_acme(void *acme)
{
    cs_acme_free(acme);
}

static const pki_decider_type acme_type = {PKI_ACME, close_acme, free_acme, next_ask,
                                           answer_fields, answer};

/* pki.acme{db, base_url, terms, eab, chain, validation, ask_timeout_ms,
 * order_lifetime, nonce_capacity}: a pki.acme, or nil, message, code. */
static int acme_new(lua_State *L)
{
    static const char *const names[] = {"db", "base_url", "terms", "eab", "chain",
                                        "validation", "ask_timeout_ms", "order_lifetime",
                                        "nonce_capacity", NULL};
    static const char *const vnames[] = {"http_port", "tls_port", "resolve", "dns_resolver",
                                         "workers", "timeout_ms", NULL};
    cs_acme_config cfg;
    cs_err err = {CS_OK, ""};
    pki_fields f, v;
    pki_decider_box *box;
    cs_acme *acme;

    memset(&cfg, 0, sizeof cfg);
    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_string(&f, "db", PKI_RAISE | PKI_NEEDED, &cfg.db_path, NULL);
    pki_field_string(&f, "base_url", PKI_RAISE | PKI_NEEDED, &cfg.base_url, NULL);
    pki_field_string(&f, "terms", PKI_RAISE, &cfg.terms, NULL);
    pki_field_string(&f, "chain", PKI_RAISE, &cfg.chain_pem, NULL);
    read_int(&f, "ask_timeout_ms", 3600000, &cfg.ask_timeout_ms);
    read_int(&f, "order_lifetime", 30 * 86400, &cfg.order_lifetime_s);
    read_int(&f, "nonce_capacity", 1 << 24, &cfg.nonce_capacity);
    read_eab(L, &f, &cfg);
    if (pki_field_table(&f, "validation", PKI_RAISE)) {
        v = pki_fields_at(L, -1, 1, "validation", NULL);
        pki_check_fields(&v, vnames, PKI_RAISE);
        read_int(&v, "http_port", 65535, &cfg.validation.http_port);
        read_int(&v, "tls_port", 65535, &cfg.validation.tls_port);
        read_int(&v, "workers", 1024, &cfg.validation.workers);
        read_int(&v, "timeout_ms", 3600000, &cfg.validation.timeout_ms);
        pki_field_string(&v, "dns_resolver", PKI_RAISE, &cfg.validation.dns_resolver, NULL);
        cfg.validation.resolve = string_array(&v, "resolve", &cfg.validation.resolve_len);
    }
    box = pki_decider_push(L, &acme_type);
    if (cs_acme_new(&cfg, &acme, &err) != CS_OK)
        return pki_fail(L, &err);
    pki_decider_open(L, box, &acme_type, acme);
    return 1;
}

const luaL_Reg pki_acme_funcs[] = {
    {"acme", acme_new},
    {NULL, NULL},
};

void pki_acme_register(lua_State *L)
{
    pki_decider_register(L, &acme_type);
}
