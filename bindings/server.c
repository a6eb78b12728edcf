/* pki.server: the embedded HTTPS server. Core borrows the leaf, chain, key,
 * client CAs, routes and OCSP responder only while start or reload runs (it
 * keeps its own references and copies; the responder is reference-counted
 * in core), so a close on the Lua side afterwards changes nothing it
 * serves. */
#include "bindings.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct server_box {
    cs_server *srv;
} server_box;

static void release(server_box *box)
{
    cs_server_stop(box->srv); /* no handler runs after this */
    box->srv = NULL;
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

/* The value at the top of the stack is not what field needs: a caller bug. */
static int argfail(lua_State *L, const char *field, const char *what)
{
    const char *got = luaL_typename(L, -1);
    return luaL_argerror(L, 1, lua_pushfstring(L, "%s: %s expected, got %s", field, what, got));
}

/* hosts = {"127.0.0.1", ...}: a scratch array of the strings. */
static const char **read_hosts(lua_State *L, size_t *n)
{
    const char **hosts;
    size_t len;

    if (lua_getfield(L, 1, "hosts") == LUA_TNIL) {
        *n = 0;
        return lua_newuserdatauv(L, 1, 0);
    }
    if (!lua_istable(L, -1))
        argfail(L, "hosts", "table of strings");
    len = lua_rawlen(L, -1);
    hosts = lua_newuserdatauv(L, len * sizeof *hosts + 1, 0);
    for (size_t i = 0; i < len; i++) {
        if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TSTRING)
            argfail(L, "hosts[i]", "string");
        hosts[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_remove(L, -2);
    *n = len;
    return hosts;
}

/* routes = {["/"] = {type = "text/html", body = "...", client_marker = "{{client}}",
 * plain = true}}: a scratch array. */
static cs_route *read_routes(lua_State *L, size_t *n)
{
    static const char *const names[] = {"type", "body", "client_marker", "plain", NULL};
    cs_route *routes;
    size_t len = 0, i = 0;

    if (lua_getfield(L, 1, "routes") == LUA_TNIL) {
        *n = 0;
        return lua_newuserdatauv(L, 1, 0);
    }
    if (!lua_istable(L, -1))
        argfail(L, "routes", "table");
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
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_argerror(L, 1, "routes: keys must be paths (strings)");
        routes[i].path = lua_tostring(L, -2);
        if (!lua_istable(L, route))
            argfail(L, "routes[path]", "{type = ..., body = ...}");
        pki_check_option_names(L, route, 1, names);
        if (lua_getfield(L, route, "body") != LUA_TSTRING)
            argfail(L, "routes[path].body", "string");
        routes[i].body = lua_tolstring(L, -1, &routes[i].body_len);
        switch (lua_getfield(L, route, "type")) {
        case LUA_TNIL:
            routes[i].content_type = "text/plain; charset=utf-8";
            break;
        case LUA_TSTRING:
            routes[i].content_type = lua_tostring(L, -1);
            break;
        default:
            argfail(L, "routes[path].type", "string");
        }
        switch (lua_getfield(L, route, "client_marker")) {
        case LUA_TNIL:
            break;
        case LUA_TSTRING:
            routes[i].client_marker = lua_tostring(L, -1);
            break;
        default:
            argfail(L, "routes[path].client_marker", "string");
        }
        switch (lua_getfield(L, route, "plain")) {
        case LUA_TNIL:
            break;
        case LUA_TBOOLEAN:
            routes[i].plain = lua_toboolean(L, -1);
            break;
        default:
            argfail(L, "routes[path].plain", "boolean");
        }
        lua_settop(L, route - 1);
        i++;
    }
    lua_remove(L, -2);
    *n = len;
    return routes;
}

/* client_cert = "none" | "request" | "require"; absent: "request" when there
 * are client CAs to verify against, else "none". */
static cs_client_auth read_client_auth(lua_State *L, size_t client_ca_len)
{
    static const char *const modes[] = {"none", "request", "require", NULL};
    static const cs_client_auth values[] = {CS_CLIENT_AUTH_NONE, CS_CLIENT_AUTH_REQUEST,
                                            CS_CLIENT_AUTH_REQUIRE};
    const char *mode;
    int type = lua_getfield(L, 1, "client_cert");

    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return client_ca_len > 0 ? CS_CLIENT_AUTH_REQUEST : CS_CLIENT_AUTH_NONE;
    }
    if (type != LUA_TSTRING)
        argfail(L, "client_cert", "string");
    mode = lua_tostring(L, -1);
    for (size_t i = 0; modes[i]; i++) {
        if (strcmp(mode, modes[i]) == 0) {
            lua_pop(L, 1);
            return values[i];
        }
    }
    luaL_argerror(L, 1, lua_pushfstring(L, "client_cert: unknown value '%s' (none, request "
                                        "or require)", mode));
    return CS_CLIENT_AUTH_NONE;
}

/* pki.start_server{hosts, port, http_port, www, cert, chain, key, routes,
 * threads, per_address, hsts_max_age, resumption, client_ca, client_cert, ocsp} */
static int server_start(lua_State *L)
{
    static const char *const names[] = {"hosts", "port", "http_port", "www", "cert", "chain",
                                        "key", "routes", "threads", "per_address",
                                        "hsts_max_age", "resumption", "client_ca",
                                        "client_cert", "ocsp", NULL};
    cs_server_config cfg;
    cs_err err = {CS_OK, ""};
    server_box *box;
    pki_key_box *keybox;
    cs_cert **leaf;
    const cs_cert **chain;
    lua_Integer v;

    memset(&cfg, 0, sizeof cfg);
    cfg.http_port = -1; /* absent: no plain listener */
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    pki_check_option_names(L, 1, 1, names);

    lua_getfield(L, 1, "cert");
    leaf = luaL_testudata(L, -1, PKI_CERT);
    if (leaf == NULL)
        argfail(L, "cert", "pki.cert");
    if (*leaf == NULL)
        luaL_error(L, "attempt to use a closed %s", PKI_CERT);
    lua_getfield(L, 1, "key");
    keybox = luaL_testudata(L, -1, PKI_KEY);
    if (keybox == NULL)
        argfail(L, "key", "pki.key");
    if (keybox->key == NULL)
        luaL_error(L, "attempt to use a closed %s", PKI_KEY);
    lua_pop(L, 2); /* opts holds both until start returns */
    cfg.leaf = *leaf;
    cfg.key = keybox->key;

    chain = pki_cert_array(L, 1, "chain", 1, &cfg.chain_len);
    cfg.chain = (const cs_cert *const *)chain;

    cfg.hosts = read_hosts(L, &cfg.hosts_len);
    cfg.routes = read_routes(L, &cfg.routes_len);
    cfg.client_ca = pki_cert_array(L, 1, "client_ca", 1, &cfg.client_ca_len);
    cfg.client_auth = read_client_auth(L, cfg.client_ca_len);

    if (lua_getfield(L, 1, "port") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            argfail(L, "port", "integer");
        v = lua_tointeger(L, -1);
        if (v < 0 || v > 65535)
            luaL_argerror(L, 1, "port: not in 0..65535");
        cfg.port = (int)v;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "http_port") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            argfail(L, "http_port", "integer");
        v = lua_tointeger(L, -1);
        if (v < 0 || v > 65535)
            luaL_argerror(L, 1, "http_port: not in 0..65535");
        cfg.http_port = (int)v;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "threads") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            argfail(L, "threads", "integer");
        v = lua_tointeger(L, -1);
        if (v < 0 || v > 1024)
            luaL_argerror(L, 1, "threads: not in 0..1024");
        cfg.threads = (int)v;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "per_address") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            argfail(L, "per_address", "integer");
        v = lua_tointeger(L, -1);
        if (v < 0 || v > 1024)
            luaL_argerror(L, 1, "per_address: not in 0..1024");
        cfg.per_address = (int)v;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "hsts_max_age") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            argfail(L, "hsts_max_age", "integer");
        v = lua_tointeger(L, -1);
        if (v < 0 || v > 999999999)
            luaL_argerror(L, 1, "hsts_max_age: not in 0..999999999");
        cfg.hsts_max_age = (long)v;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "resumption") != LUA_TNIL) {
        if (!lua_isboolean(L, -1))
            argfail(L, "resumption", "boolean");
        cfg.no_resumption = !lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "www") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            argfail(L, "www", "string");
        cfg.document_root = lua_tostring(L, -1);
    }
    /* (www stays on the stack until start returns) */

    /* /ocsp, on the plain port too (its replies are signed); core takes
     * its own reference to the responder */
    if (lua_getfield(L, 1, "ocsp") != LUA_TNIL) {
        if (luaL_testudata(L, -1, PKI_OCSP) == NULL)
            argfail(L, "ocsp", "pki.ocsp_responder");
        cfg.ocsp = pki_checkocsp(L, lua_gettop(L));
    }
    lua_pop(L, 1);

    box = lua_newuserdatauv(L, sizeof *box, 0);
    memset(box, 0, sizeof *box);
    luaL_setmetatable(L, PKI_SERVER);
    if (cs_server_start(&cfg, &box->srv, &err) != CS_OK)
        return pki_fail(L, &err);
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
    pki_key_box *keybox;
    cs_cert **leaf;
    const cs_cert **chain;
    size_t chain_len;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    pki_check_option_names(L, 2, 2, names);
    if (lua_getfield(L, 2, "leaf") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_getfield(L, 2, "cert");
    }
    leaf = luaL_testudata(L, -1, PKI_CERT);
    if (leaf == NULL)
        return luaL_argerror(L, 2, lua_pushfstring(L, "leaf: pki.cert expected, got %s",
                                                   luaL_typename(L, -1)));
    if (*leaf == NULL)
        return luaL_error(L, "attempt to use a closed %s", PKI_CERT);
    lua_getfield(L, 2, "key");
    keybox = luaL_testudata(L, -1, PKI_KEY);
    if (keybox == NULL)
        return luaL_argerror(L, 2, lua_pushfstring(L, "key: pki.key expected, got %s",
                                                   luaL_typename(L, -1)));
    if (keybox->key == NULL)
        return luaL_error(L, "attempt to use a closed %s", PKI_KEY);
    chain = pki_cert_array(L, 2, "chain", 2, &chain_len);

    if (cs_server_reload(box->srv, *leaf, chain, chain_len, keybox->key, &err) != CS_OK)
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

/* pki.wait_for_signal([timeout_ms]): "SIGINT", "SIGTERM", "SIGHUP" or nil on
 * timeout. From the first call on these three are caught for the rest of
 * the process, so one arriving between two waits is returned by the next. */
static int wait_for_signal(lua_State *L)
{
    lua_Integer timeout = luaL_optinteger(L, 1, 0);
    int sig;

    luaL_argcheck(L, timeout >= 0 && timeout <= 0x7fffffff, 1, "timeout out of range");
    sig = cs_wait_for_signal((int)timeout);
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
    {NULL, NULL},
};

void pki_server_register(lua_State *L)
{
    pki_new_metatable(L, PKI_SERVER, server_meta, server_methods);
}
