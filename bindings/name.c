/* Names: pki.normalize_name, pki.ip_in_cidr, pki.name_constraints_permit and
 * cert:permits, over core/name.c. */
#include "bindings.h"

#include <stdlib.h>

#include "name.h"
#include "text.h"

static const char *const type_options[] = {"dns", "ip", "email", "uri", NULL};

/* The name type at idx; an unknown one is a bug in the caller and raises. */
static cs_name_type check_type(lua_State *L, int idx)
{
    cs_name_type type = CS_NAME_DNS;
    int ok = cs_name_type_from_string(type_options[luaL_checkoption(L, idx, NULL, type_options)],
                                      &type);
    (void)ok; /* luaL_checkoption only returns names cs_name_type_from_string knows */
    return type;
}

/* pki.normalize_name(type, value [, {wildcard = true}]) */
static int name_normalize(lua_State *L)
{
    static const char *const options[] = {"wildcard", NULL};
    cs_name_type type = check_type(L, 1);
    size_t len;
    const char *value = luaL_checklstring(L, 2, &len);
    unsigned flags = 0;
    cs_err err = {CS_OK, ""};
    char *out = NULL;

    if (!lua_isnoneornil(L, 3)) {
        pki_fields f = pki_fields_at(L, 3, 3, NULL, NULL);
        int wildcard = 0;
        pki_check_fields(&f, options, PKI_RAISE);
        pki_field_bool(&f, "wildcard", PKI_RAISE, &wildcard);
        if (wildcard)
            flags |= CS_NAME_WILDCARD;
    }
    if (cs_name_check_text(type, value, len, &err) != CS_OK ||
        cs_name_normalize(type, value, flags, &out, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushstring(L, out);
    free(out);
    return 1;
}

/* pki.ip_in_cidr(ip, cidr) */
static int name_ip_in_cidr(lua_State *L)
{
    const char *ip = luaL_checkstring(L, 1);
    const char *cidr = luaL_checkstring(L, 2);
    cs_err err = {CS_OK, ""};
    int in = 0;

    if (cs_ip_in_cidr(ip, cidr, &in, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, in);
    return 1;
}

/* cert:permits(type, value): in pki.cert's method table (cert.c), written
 * here beside the other name calls. */
int pki_cert_permits(lua_State *L)
{
    const cs_cert *ca = pki_checkcert(L, 1);
    cs_name_type type = check_type(L, 2);
    size_t len;
    const char *value = luaL_checklstring(L, 3, &len);
    cs_err err = {CS_OK, ""};
    int permitted = 0;

    if (cs_name_check_text(type, value, len, &err) != CS_OK)
        return pki_fail(L, &err);
    if (cs_cert_permits_name(ca, type, value, &permitted, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, permitted);
    return 1;
}

/* pki.name_constraints_permit(nc [, type, value]): would a CA carrying nc
 * (a profile's name_constraints, not signed yet) permit the name? true or
 * false, the verifier's answer as cert:permits gives it; nil, message,
 * "invalid" for a bad name or table. Without a name, only the lists are
 * read and checked: true, or nil, message, "invalid" naming the subtree. */
static int name_constraints_permit(lua_State *L)
{
    cs_name_type type = CS_NAME_DNS;
    size_t len = 0;
    const char *value = NULL;
    cs_name_constraints trees;
    cs_err err = {CS_OK, ""};
    int permitted = 1;

    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2) || !lua_isnoneornil(L, 3)) {
        type = check_type(L, 2);
        value = luaL_checklstring(L, 3, &len);
    }
    lua_settop(L, 3);
    if (pki_name_constraints_from_table(L, 1, &trees, &err) != CS_OK)
        return pki_fail(L, &err);
    if (value && (cs_name_check_text(type, value, len, &err) != CS_OK ||
                  cs_name_constraints_permit(&trees, type, value, &permitted, &err) != CS_OK))
        return pki_fail(L, &err);
    if (!value && cs_name_constraints_check(&trees, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, permitted);
    return 1;
}

/* pki.escape(s): s with control characters, NULs, broken UTF-8 and
 * backslashes escaped (cs_text_escape), for messages that show what a user
 * or a certificate gave. */
static int name_escape(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char *out = cs_text_escape_dup(s, len, 0);

    if (!out)
        return luaL_error(L, "not enough memory");
    lua_pushstring(L, out);
    free(out);
    return 1;
}

const luaL_Reg pki_name_funcs[] = {
    {"escape", name_escape},
    {"normalize_name", name_normalize},
    {"ip_in_cidr", name_ip_in_cidr},
    {"name_constraints_permit", name_constraints_permit},
    {NULL, NULL},
};
