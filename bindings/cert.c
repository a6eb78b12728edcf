/* pki.cert: certificates: sign from a spec, load, save, inspect, verify. */
#include "bindings.h"

#include <stdlib.h>

#include "lint.h"
#include <string.h>

static int cert_gc(lua_State *L)
{
    cs_cert **box = luaL_checkudata(L, 1, PKI_CERT);
    if (*box) {
        cs_cert_free(*box);
        *box = NULL;
    }
    return 0;
}

static int cert_tostring(lua_State *L)
{
    cs_cert **box = luaL_checkudata(L, 1, PKI_CERT);
    if (*box == NULL) {
        lua_pushliteral(L, "pki.cert (closed)");
    } else {
        char *serial = cs_cert_serial_hex(*box);
        lua_pushfstring(L, "pki.cert (serial %s)", serial ? serial : "?");
        free(serial);
    }
    return 1;
}

static int cert_eq(lua_State *L)
{
    cs_cert **a = luaL_testudata(L, 1, PKI_CERT);
    cs_cert **b = luaL_testudata(L, 2, PKI_CERT);
    char fa[65], fb[65];

    if (a == NULL || b == NULL || *a == NULL || *b == NULL) {
        lua_pushboolean(L, a == b);
        return 1;
    }
    cs_cert_fingerprint(*a, fa);
    cs_cert_fingerprint(*b, fb);
    lua_pushboolean(L, strcmp(fa, fb) == 0);
    return 1;
}

/* pki.sign(spec, subject_key, issuer_cert_or_nil, issuer_key): issuer_key
 * may be left out when self-signing. */
static int cert_sign(lua_State *L)
{
    const cs_key *subject_key, *issuer_key;
    const cs_cert *issuer = NULL;
    cs_err err = {CS_OK, ""};
    cs_cert_spec spec;
    cs_cert **box;

    luaL_checktype(L, 1, LUA_TTABLE);
    subject_key = pki_checkkey(L, 2);
    if (!lua_isnoneornil(L, 3))
        issuer = pki_checkcert(L, 3);
    if (issuer == NULL && lua_isnoneornil(L, 4))
        issuer_key = subject_key;
    else
        issuer_key = pki_checkkey(L, 4);
    lua_settop(L, 4);
    if (pki_spec_from_table(L, 1, &spec, &err) != CS_OK)
        return pki_fail(L, &err);
    box = pki_newcert(L);
    if (cs_cert_sign(&spec, subject_key, issuer, issuer_key, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int cert_load(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "certificate");
    cs_err err = {CS_OK, ""};
    cs_cert **box = pki_newcert(L);

    if (cs_cert_load(data, len, what, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int cert_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cs_err err = {CS_OK, ""};
    cs_cert **box = pki_newcert(L);

    if (cs_cert_load_file(path, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int cert_read_chain(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    cs_err err = {CS_OK, ""};
    cs_cert **certs = NULL;
    size_t n = 0;

    if (cs_cert_load_chain_file(path, &certs, &n, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        /* each userdata owns a reference of its own; the array goes below */
        cs_cert **box = pki_newcert(L);
        *box = cs_cert_dup(certs[i]);
        if (*box == NULL) {
            cs_cert_free_all(certs, n);
            return luaL_error(L, "out of memory");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    cs_cert_free_all(certs, n);
    return 1;
}

static int cert_save_chain(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const cs_cert **certs;
    int overwrite;
    cs_err err = {CS_OK, ""};

    luaL_checktype(L, 2, LUA_TTABLE);
    overwrite = pki_opt_overwrite(L, 3);
    certs = pki_cert_array(L, 2, NULL, 2, &n);
    if (n == 0)
        return luaL_argerror(L, 2, "at least one pki.cert expected");
    if (cs_cert_save((const cs_cert *const *)certs, n, path, overwrite, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int cert_save(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    const char *path = luaL_checkstring(L, 2);
    int overwrite = pki_opt_overwrite(L, 3);
    cs_err err = {CS_OK, ""};

    if (cs_cert_save(&cert, 1, path, overwrite, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int cert_pem(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    cs_err err = {CS_OK, ""};
    char *pem = NULL;
    size_t len = 0;
    cs_code rc = cs_cert_pem(cert, &pem, &len, &err);

    return pki_push_buffer(L, rc, pem, len, &err);
}

static int cert_der(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    cs_err err = {CS_OK, ""};
    unsigned char *der = NULL;
    size_t len = 0;
    cs_code rc = cs_cert_der(cert, &der, &len, &err);

    return pki_push_buffer(L, rc, der, len, &err);
}

/* cert:fingerprint(["sha256" | "sha1"]) */
static int cert_fingerprint(lua_State *L)
{
    static const char *const digests[] = {"sha256", "sha1", NULL};
    const cs_cert *cert = pki_checkcert(L, 1);
    char fp[65];

    if (luaL_checkoption(L, 2, "sha256", digests) == 1)
        cs_cert_fingerprint_sha1(cert, fp);
    else
        cs_cert_fingerprint(cert, fp);
    if (fp[0] == '\0')
        return luaL_error(L, "fingerprint: out of memory");
    lua_pushstring(L, fp);
    return 1;
}

/* cert:issued_by(issuer): true, or false and the reason. */
static int cert_issued_by(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    const cs_cert *issuer = pki_checkcert(L, 2);
    cs_err err = {CS_OK, ""};

    if (cs_cert_issued_by(cert, issuer, &err) != CS_OK) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int cert_serial(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    char *serial = cs_cert_serial_hex(cert);

    if (serial == NULL)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, serial);
    free(serial);
    return 1;
}

static int cert_check_key(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    const cs_key *key = pki_checkkey(L, 2);
    cs_err err = {CS_OK, ""};

    if (cs_cert_check_key(cert, key, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int cert_info(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    cs_err err = {CS_OK, ""};
    cs_cert_info *info = NULL;

    if (cs_cert_get_info(cert, &info, &err) != CS_OK)
        return pki_fail(L, &err);
    pki_push_info(L, info);
    cs_cert_info_free(info);
    return 1;
}

/* pki.verify{leaf = cert, chain = {...}, roots = {...} | anchor = cert, host = "x",
 * time = unix}: anchor is the one trusted certificate, self-signed or not. */
static int cert_verify(lua_State *L)
{
    static const char *const names[] = {"leaf", "chain", "roots", "anchor", "host", "time",
                                        NULL};
    const cs_cert **chain, **roots;
    size_t chain_len, roots_len;
    const char *host = NULL;
    lua_Integer at = 0;
    void *leaf = NULL, *anchor = NULL;
    cs_err err = {CS_OK, ""};
    cs_code rc;
    pki_fields f;

    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_udata(&f, "leaf", PKI_CERT, PKI_RAISE | PKI_NEEDED, &leaf);
    pki_field_udata(&f, "anchor", PKI_CERT, PKI_RAISE, &anchor);
    pki_field_string(&f, "host", PKI_RAISE, &host, NULL);
    pki_field_int(&f, "time", PKI_RAISE, &at);
    chain = pki_cert_array(L, 1, "chain", 1, &chain_len);
    roots = pki_cert_array(L, 1, "roots", 1, &roots_len);
    if (anchor && lua_getfield(L, 1, "roots") != LUA_TNIL)
        return luaL_argerror(L, 1, "give roots or anchor, not both");
    if (anchor)
        rc = cs_cert_verify_anchored(leaf, (const cs_cert *const *)chain, chain_len, anchor,
                                     host, (int64_t)at, &err);
    else
        rc = cs_cert_verify(leaf, (const cs_cert *const *)chain, chain_len,
                            (const cs_cert *const *)roots, roots_len, host, (int64_t)at, &err);
    if (rc != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static void push_rule_fields(lua_State *L, const cs_lint_rule *rule)
{
    lua_pushstring(L, rule->name);
    lua_setfield(L, -2, "rule");
    lua_pushstring(L, rule->level == CS_LINT_ERROR ? "error" : "warning");
    lua_setfield(L, -2, "level");
    lua_pushstring(L, rule->source);
    lua_setfield(L, -2, "source");
}

/* A lint report as { {rule=, level=, message=, source=}, ..., dropped = n }
 * (dropped only when findings were dropped). */
static void push_report(lua_State *L, const cs_lint_report *r)
{
    size_t i;

    lua_createtable(L, (int)r->n, 0);
    for (i = 0; i < r->n; i++) {
        lua_createtable(L, 0, 4);
        push_rule_fields(L, r->findings[i].rule);
        lua_pushstring(L, r->findings[i].message);
        lua_setfield(L, -2, "message");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    if (r->dropped > 0) {
        lua_pushinteger(L, (lua_Integer)r->dropped);
        lua_setfield(L, -2, "dropped");
    }
}

/* pki.lint(cert [, issuer_cert]): { {rule=, level=, message=, source=}, ... },
 * empty when clean. Without issuer a self-issued cert is its own issuer and
 * the issuer's rules are skipped for any other. */
static int cert_lint(lua_State *L)
{
    const cs_cert *cert = pki_checkcert(L, 1);
    const cs_cert *issuer = lua_isnoneornil(L, 2) ? NULL : pki_checkcert(L, 2);
    cs_lint_report report;

    cs_lint_cert(cert, issuer, &report);
    push_report(L, &report);
    return 1;
}

/* pki.lint_spec(spec, {key = k | key_shape = {type=, curve=, bits=},
 * issuer = cert}): what pki.lint would find in the certificate pki.sign
 * would make from spec (issuer absent: self-signed), as pki.lint's table,
 * without signing. A spec or shape that is wrong: nil, message, code. */
static int cert_lint_spec(lua_State *L)
{
    static const char *const names[] = {"key", "key_shape", "issuer", NULL};
    cs_key_params shape = {NULL, NULL, 0};
    cs_key *key = NULL;
    cs_cert *issuer = NULL;
    cs_err err = {CS_OK, ""};
    cs_cert_spec spec;
    cs_lint_report report;
    pki_fields f;
    int has_shape;

    luaL_checktype(L, 1, LUA_TTABLE);
    f = pki_fields_at(L, 2, 2, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE, (void **)&key);
    pki_field_udata(&f, "issuer", PKI_CERT, PKI_RAISE, (void **)&issuer);
    lua_settop(L, 2);
    has_shape = pki_field_table(&f, "key_shape", PKI_RAISE) == 1; /* pushed at 3 */
    if (has_shape == (key != NULL))
        return luaL_argerror(L, 2, "give either key or key_shape");
    if (has_shape && pki_key_params(L, 3, 2, "key_shape", &shape, &err) < 0)
        return pki_fail(L, &err);
    if (pki_spec_from_table(L, 1, &spec, &err) != CS_OK)
        return pki_fail(L, &err);
    if (cs_cert_lint_spec(&spec, key, has_shape ? &shape : NULL, issuer, &report,
                          &err) != CS_OK)
        return pki_fail(L, &err);
    push_report(L, &report);
    return 1;
}

/* pki.lint_rules(): every rule { {rule=, level=, source=, summary=}, ... }. */
static int cert_lint_rules(lua_State *L)
{
    size_t n, i;
    const cs_lint_rule *rules = cs_lint_rules(&n);

    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_createtable(L, 0, 4);
        push_rule_fields(L, &rules[i]);
        lua_pushstring(L, rules[i].summary);
        lua_setfield(L, -2, "summary");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static const luaL_Reg cert_meta[] = {
    {"__gc", cert_gc},
    {"__close", cert_gc},
    {"__tostring", cert_tostring},
    {"__eq", cert_eq},
    {NULL, NULL},
};

static const luaL_Reg cert_methods[] = {
    {"save", cert_save},
    {"pem", cert_pem},
    {"der", cert_der},
    {"fingerprint", cert_fingerprint},
    {"serial", cert_serial},
    {"check_key", cert_check_key},
    {"issued_by", cert_issued_by},
    {"permits", pki_cert_permits},
    {"info", cert_info},
    {"close", cert_gc},
    {NULL, NULL},
};

/* pki.usage_names() -> {key_usage = {"digitalSignature", ...},
 * extended_key_usage = {"serverAuth", ...}}: the names a spec may use (an
 * extended usage may also be a dotted OID), for messages that list them. */
static int cert_usage_names(lua_State *L)
{
    const char *name;
    size_t i;

    lua_createtable(L, 0, 2);
    lua_createtable(L, 7, 0);
    for (i = 0; i < 7; i++) {
        lua_pushstring(L, cs_key_usage_names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "key_usage");
    lua_newtable(L);
    for (i = 0; (name = cs_cert_purpose_name(i)) != NULL; i++) {
        lua_pushstring(L, name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "extended_key_usage");
    return 1;
}

const luaL_Reg pki_cert_funcs[] = {
    {"usage_names", cert_usage_names},
    {"sign", cert_sign},
    {"load_cert", cert_load},
    {"read_cert", cert_read},
    {"read_chain", cert_read_chain},
    {"save_chain", cert_save_chain},
    {"verify", cert_verify},
    {"lint", cert_lint},
    {"lint_spec", cert_lint_spec},
    {"lint_rules", cert_lint_rules},
    {NULL, NULL},
};

void pki_cert_register(lua_State *L)
{
    pki_new_metatable(L, PKI_CERT, cert_meta, cert_methods);
}
