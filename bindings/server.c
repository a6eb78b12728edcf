/* pki.server: the embedded HTTPS server. Core borrows the leaf, chain, key,
 * client CAs, routes and OCSP responder only while start or reload runs (it
 * keeps its own references and copies; the responder is reference-counted
 * in core), so a close on the Lua side afterwards changes nothing it
 * serves. */
#include "bindings.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "signapi.h"

typedef struct server_box {
    cs_server *srv;
    pki_decider *acme; /* the ACME server (pki.acme) mounted at /acme, or NULL */
    pki_decider *api;  /* the signing API (pki.signapi) mounted at /api/v1, or NULL */
} server_box;

static void release(server_box *box)
{
    cs_server_stop(box->srv); /* no handler runs after this */
    box->srv = NULL;
    pki_decider_unref(box->acme);
    box->acme = NULL;
    pki_decider_unref(box->api);
    box->api = NULL;
}

static int server_stop(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, PKI_SERVER);
    release(box);
    return 0;
}

static server_box *check_server(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, PKI_SERVER);
    if (box->srv == NULL)
        luaL_error(L, "attempt to use a closed %s", PKI_SERVER);
    return box;
}

static int server_tostring(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, PKI_SERVER);
    if (box->srv == NULL)
        lua_pushliteral(L, "pki.server (closed)");
    else
        lua_pushfstring(L, "pki.server (port %d)", cs_server_port(box->srv));
    return 1;
}

static int server_port(lua_State *L)
{
    lua_pushinteger(L, cs_server_port(check_server(L)->srv));
    return 1;
}

/* server:http_port(): the plain-HTTP port, or nil without one. */
static int server_http_port(lua_State *L)
{
    int port = cs_server_http_port(check_server(L)->srv);
    if (port < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, port);
    return 1;
}

/* Integer field name of f, from lo to hi (else raises); absent leaves *out. */
static void read_int_in(const pki_fields *f, const char *name, lua_Integer lo, lua_Integer hi,
                        lua_Integer *out)
{
    lua_Integer v;

    if (pki_field_int(f, name, PKI_RAISE, &v) == 0)
        return;
    if (v < lo || v > hi)
        luaL_argerror(f->L, f->argn, lua_pushfstring(f->L, "%s: not in %I..%I", name, lo, hi));
    *out = v;
}

/* hosts = {"127.0.0.1", ...}: a scratch array of the strings. */
static const char **read_hosts(const pki_fields *f, size_t *n)
{
    lua_State *L = f->L;
    const char **hosts;
    size_t len;

    if (pki_field_table(f, "hosts", PKI_RAISE) == 0) {
        *n = 0;
        return lua_newuserdatauv(L, 1, 0);
    }
    len = lua_rawlen(L, -1);
    hosts = lua_newuserdatauv(L, len * sizeof *hosts + 1, 0);
    for (size_t i = 0; i < len; i++) {
        if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TSTRING)
            luaL_argerror(L, f->argn, lua_pushfstring(L, "hosts[%d]: string expected, got %s",
                                                      (int)i + 1, luaL_typename(L, -1)));
        hosts[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_remove(L, -2);
    *n = len;
    return hosts;
}

/* routes = {["/"] = {type = "text/html", body = "...", client_marker = "{{client}}",
 * plain = true}}: a scratch array. */
static cs_route *read_routes(const pki_fields *f, size_t *n)
{
    static const char *const names[] = {"type", "body", "client_marker", "plain", NULL};
    lua_State *L = f->L;
    cs_route *routes;
    size_t len = 0, i = 0;

    if (pki_field_table(f, "routes", PKI_RAISE) == 0) {
        *n = 0;
        return lua_newuserdatauv(L, 1, 0);
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        len++;
        lua_pop(L, 1);
    }
    routes = lua_newuserdatauv(L, len * sizeof *routes + 1, 0);
    memset(routes, 0, len * sizeof *routes);
    lua_pushnil(L);
    while (lua_next(L, -3) != 0) {
        int route = lua_gettop(L);
        pki_fields rf;

        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_argerror(L, f->argn, "routes: keys must be paths (strings)");
        routes[i].path = lua_tostring(L, -2);
        routes[i].content_type = "text/plain; charset=utf-8";
        rf = pki_fields_at(L, route, f->argn,
                           lua_pushfstring(L, "routes[%s]", routes[i].path), NULL);
        pki_check_fields(&rf, names, PKI_RAISE);
        pki_field_string(&rf, "body", PKI_RAISE | PKI_NEEDED, &routes[i].body,
                         &routes[i].body_len);
        pki_field_string(&rf, "type", PKI_RAISE, &routes[i].content_type, NULL);
        pki_field_string(&rf, "client_marker", PKI_RAISE, &routes[i].client_marker, NULL);
        pki_field_bool(&rf, "plain", PKI_RAISE, &routes[i].plain);
        lua_settop(L, route - 1); /* the strings stay in the route tables */
        i++;
    }
    lua_remove(L, -2);
    *n = len;
    return routes;
}

/* client_cert = "none" | "request" | "require"; absent: "request" when there
 * are client CAs to verify against, else "none". */
static cs_client_auth read_client_auth(const pki_fields *f, size_t client_ca_len)
{
    static const char *const modes[] = {"none", "request", "require", NULL};
    static const cs_client_auth values[] = {CS_CLIENT_AUTH_NONE, CS_CLIENT_AUTH_REQUEST,
                                            CS_CLIENT_AUTH_REQUIRE};
    const char *mode;

    if (pki_field_string(f, "client_cert", PKI_RAISE, &mode, NULL) == 0)
        return client_ca_len > 0 ? CS_CLIENT_AUTH_REQUEST : CS_CLIENT_AUTH_NONE;
    for (size_t i = 0; modes[i]; i++)
        if (strcmp(mode, modes[i]) == 0)
            return values[i];
    luaL_argerror(f->L, f->argn, lua_pushfstring(f->L, "client_cert: unknown value '%s' "
                                                 "(none, request or require)", mode));
    return CS_CLIENT_AUTH_NONE;
}

/* pki.start_server{hosts, port, http_port, www, cert, chain, key, routes,
 * threads, per_address, hsts_max_age, resumption, client_ca, client_cert, ocsp,
 * acme, api} */
static int server_start(lua_State *L)
{
    static const char *const names[] = {"hosts", "port", "http_port", "www", "cert", "chain",
                                        "key", "routes", "threads", "per_address",
                                        "hsts_max_age", "resumption", "client_ca",
                                        "client_cert", "ocsp", "acme", "api", NULL};
    cs_server_config cfg;
    cs_err err = {CS_OK, ""};
    server_box *box;
    pki_fields f;
    cs_handler handlers[2];
    void *leaf, *key, *ocsp = NULL;
    lua_Integer port = 0, http_port = -1, threads = 0, per_address = 0, hsts = 0;
    int resumption = 1;

    memset(&cfg, 0, sizeof cfg);
    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    /* opts holds what these point at until start returns */
    pki_field_udata(&f, "cert", PKI_CERT, PKI_RAISE | PKI_NEEDED, &leaf);
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE | PKI_NEEDED, &key);
    cfg.leaf = leaf;
    cfg.key = key;
    cfg.chain = (const cs_cert *const *)pki_cert_array(L, 1, "chain", 1, &cfg.chain_len);
    cfg.hosts = read_hosts(&f, &cfg.hosts_len);
    cfg.routes = read_routes(&f, &cfg.routes_len);
    cfg.client_ca = pki_cert_array(L, 1, "client_ca", 1, &cfg.client_ca_len);
    cfg.client_auth = read_client_auth(&f, cfg.client_ca_len);

    read_int_in(&f, "port", 0, 65535, &port);
    read_int_in(&f, "http_port", 0, 65535, &http_port); /* absent: no plain listener */
    read_int_in(&f, "threads", 0, 1024, &threads);
    read_int_in(&f, "per_address", 0, 1024, &per_address);
    read_int_in(&f, "hsts_max_age", 0, 999999999, &hsts);
    cfg.port = (int)port;
    cfg.http_port = (int)http_port;
    cfg.threads = (int)threads;
    cfg.per_address = (int)per_address;
    cfg.hsts_max_age = (long)hsts;
    pki_field_bool(&f, "resumption", PKI_RAISE, &resumption);
    cfg.no_resumption = !resumption;
    pki_field_string(&f, "www", PKI_RAISE, &cfg.document_root, NULL);
    /* /ocsp, on the plain port too (its replies are signed); core takes
     * its own reference to the responder */
    pki_field_udata(&f, "ocsp", PKI_OCSP, PKI_RAISE, &ocsp);
    cfg.ocsp = ocsp;

    box = lua_newuserdatauv(L, sizeof *box, 0);
    memset(box, 0, sizeof *box);
    luaL_setmetatable(L, PKI_SERVER);
    /* /acme, HTTPS only; the server holds a reference until it stops */
    if (lua_getfield(L, 1, "acme") != LUA_TNIL) {
        if (!luaL_testudata(L, -1, PKI_ACME))
            luaL_argerror(L, 1, lua_pushfstring(L, "acme: pki.acme expected, got %s",
                                                pki_type_of(L, -1)));
        box->acme = pki_decider_ref(L, -1, PKI_ACME);
        handlers[cfg.handlers_len++] = cs_acme_handler(pki_decider_of(box->acme));
    }
    lua_pop(L, 1);
    /* /api/v1, HTTPS only; the same */
    if (lua_getfield(L, 1, "api") != LUA_TNIL) {
        if (!luaL_testudata(L, -1, PKI_SIGNAPI))
            luaL_argerror(L, 1, lua_pushfstring(L, "api: pki.signapi expected, got %s",
                                                pki_type_of(L, -1)));
        box->api = pki_decider_ref(L, -1, PKI_SIGNAPI);
        handlers[cfg.handlers_len++] = cs_signapi_handler(pki_decider_of(box->api));
    }
    lua_pop(L, 1);
    cfg.handlers = cfg.handlers_len ? handlers : NULL;
    if (cs_server_start(&cfg, &box->srv, &err) != CS_OK) {
        pki_decider_unref(box->acme);
        box->acme = NULL;
        pki_decider_unref(box->api);
        box->api = NULL;
        return pki_fail(L, &err);
    }
    return 1;
}

/* server:reload{leaf = cert, chain = {intermediate}, key = key}: true, or
 * nil, msg, code ("mismatch" when the key is not the leaf's) with nothing
 * changed. cert is accepted for leaf, as start_server names it. */
static int server_reload(lua_State *L)
{
    static const char *const names[] = {"leaf", "cert", "chain", "key", NULL};
    server_box *box = check_server(L);
    cs_err err = {CS_OK, ""};
    pki_fields f;
    void *leaf, *key;
    const cs_cert **chain;
    size_t chain_len;

    lua_settop(L, 2);
    f = pki_fields_at(L, 2, 2, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    if (!pki_field_udata(&f, "leaf", PKI_CERT, PKI_RAISE, &leaf) &&
        !pki_field_udata(&f, "cert", PKI_CERT, PKI_RAISE, &leaf))
        pki_field_udata(&f, "leaf", PKI_CERT, PKI_RAISE | PKI_NEEDED, &leaf); /* raises */
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE | PKI_NEEDED, &key);
    chain = pki_cert_array(L, 2, "chain", 2, &chain_len);

    if (cs_server_reload(box->srv, leaf, chain, chain_len, key, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* server:set_staple(der | nil): true, or nil, msg, code. */
static int server_set_staple(lua_State *L)
{
    server_box *box = check_server(L);
    cs_err err = {CS_OK, ""};
    const char *der = NULL;
    size_t len = 0;

    if (!lua_isnoneornil(L, 2))
        der = luaL_checklstring(L, 2, &len);
    if (cs_server_set_staple(box->srv, (const unsigned char *)der, len, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* server:set_route(path, body [, content_type]): true, or nil, msg, code
 * ("notfound" for a path that was not a route at start). */
static int server_set_route(lua_State *L)
{
    server_box *box = check_server(L);
    cs_err err = {CS_OK, ""};
    const char *path = luaL_checkstring(L, 2);
    size_t len;
    const char *body = luaL_checklstring(L, 3, &len);
    const char *type = luaL_optstring(L, 4, NULL);

    if (cs_server_set_route(box->srv, path, type, body, len, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* A signal as Lua sees it: its name, nil for none. */
static int push_signal(lua_State *L, int sig)
{
    if (sig == SIGINT)
        lua_pushliteral(L, "SIGINT");
    else if (sig == SIGTERM)
        lua_pushliteral(L, "SIGTERM");
    else if (sig == SIGHUP)
        lua_pushliteral(L, "SIGHUP");
    else if (sig == 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, sig);
    return 1;
}

/* pki.wait_for_signal([timeout_ms]): "SIGINT", "SIGTERM", "SIGHUP" or nil on
 * timeout. From the first call on these three are caught for the rest of
 * the process, so one arriving between two waits is returned by the next. */
static int wait_for_signal(lua_State *L)
{
    lua_Integer timeout = luaL_optinteger(L, 1, 0);
    int sig;

    luaL_argcheck(L, timeout >= 0 && timeout <= 0x7fffffff, 1, "timeout out of range");
    sig = cs_wait_for_signal((int)timeout);
    return push_signal(L, sig);
}

/* pki.poll_signal(): "SIGINT", "SIGTERM", "SIGHUP" or nil, at once. For a
 * loop that waits elsewhere (acme:next) and must still stop and reload
 * promptly; catching starts on the first call, as with wait_for_signal. */
static int poll_signal(lua_State *L)
{
    return push_signal(L, cs_poll_signal());
}

static const luaL_Reg server_meta[] = {
    {"__gc", server_stop},
    {"__close", server_stop},
    {"__tostring", server_tostring},
    {NULL, NULL},
};

static const luaL_Reg server_methods[] = {
    {"port", server_port},
    {"http_port", server_http_port},
    {"reload", server_reload},
    {"set_staple", server_set_staple},
    {"set_route", server_set_route},
    {"stop", server_stop},
    {"close", server_stop},
    {NULL, NULL},
};

const luaL_Reg pki_server_funcs[] = {
    {"start_server", server_start},
    {"wait_for_signal", wait_for_signal},
    {"poll_signal", poll_signal},
    {NULL, NULL},
};

void pki_server_register(lua_State *L)
{
    pki_new_metatable(L, PKI_SERVER, server_meta, server_methods);
}
