/* pki.key: private keys. The private half never crosses into Lua. */
#include "bindings.h"

#include <string.h>

#include "hsm.h"

static int key_gc(lua_State *L)
{
    cs_key **box = luaL_checkudata(L, 1, PKI_KEY);
    cs_key_free(*box);
    *box = NULL;
    return 0;
}

static int key_tostring(lua_State *L)
{
    cs_key **box = luaL_checkudata(L, 1, PKI_KEY);
    if (*box == NULL) {
        lua_pushliteral(L, "pki.key (closed)");
    } else {
        const char *curve = cs_key_curve(*box);
        const char *pub = cs_key_is_private(*box) ? "" : ", public only";
        if (curve)
            lua_pushfstring(L, "pki.key (%s %s%s)", cs_key_type(*box), curve, pub);
        else
            lua_pushfstring(L, "pki.key (%s %d%s)", cs_key_type(*box),
                            cs_key_bits(*box), pub);
    }
    return 1;
}

int pki_key_params(lua_State *L, int idx, int argn, const char *where, cs_key_params *p,
                   cs_err *err)
{
    static const char *const names[] = {"type", "curve", "bits", NULL};
    pki_fields f = pki_fields_at(L, idx, argn, where, err);
    lua_Integer bits = 0;
    char path[64];

    if (pki_check_fields(&f, names, PKI_FAIL) < 0 ||
        pki_field_string(&f, "type", PKI_FAIL, &p->type, NULL) < 0 ||
        pki_field_string(&f, "curve", PKI_FAIL, &p->curve, NULL) < 0 ||
        pki_field_int(&f, "bits", PKI_FAIL, &bits) < 0)
        return -1;
    if (bits < 0 || bits > 16384) {
        cs_err_set(err, CS_EINVAL, "%s: %lld is out of range",
                   pki_field_path(&f, "bits", path, sizeof path), (long long)bits);
        return -1;
    }
    p->bits = (int)bits;
    if (p->type == NULL) {
        cs_err_set(err, CS_EINVAL, "%s: missing field 'type' (\"ec\", \"ed25519\" or \"rsa\")",
                   where);
        return -1;
    }
    return 0;
}

static int key_generate(lua_State *L)
{
    cs_key_params p = {NULL, NULL, 0};
    cs_err err = {CS_OK, ""};
    cs_key **box;

    if (pki_key_params(L, 1, 1, "key", &p, &err) < 0)
        return pki_fail(L, &err);
    box = pki_newkey(L);
    if (cs_key_generate(&p, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* pki.keygen: many keys of one kind (bulk issuance). */

static int keygen_close(lua_State *L)
{
    cs_keygen **box = luaL_checkudata(L, 1, PKI_KEYGEN);
    cs_keygen_free(*box);
    *box = NULL;
    return 0;
}

static int keygen_tostring(lua_State *L)
{
    cs_keygen **box = luaL_checkudata(L, 1, PKI_KEYGEN);
    if (*box == NULL)
        lua_pushliteral(L, "pki.keygen (closed)");
    else
        lua_pushfstring(L, "pki.keygen (%p)", (void *)*box);
    return 1;
}

/* pki.key_generator{type = ..., curve = ..., bits = ...} -> keygen */
static int keygen_new(lua_State *L)
{
    cs_key_params p = {NULL, NULL, 0};
    cs_err err = {CS_OK, ""};
    cs_keygen **box;

    if (pki_key_params(L, 1, 1, "key", &p, &err) < 0)
        return pki_fail(L, &err);
    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, PKI_KEYGEN);
    if (cs_keygen_new(&p, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* keygen:generate() -> key */
static int keygen_generate(lua_State *L)
{
    cs_keygen *gen = pki_checkopen(L, 1, PKI_KEYGEN);
    cs_err err = {CS_OK, ""};
    cs_key **box = pki_newkey(L);

    if (cs_keygen_generate(gen, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* The optional {passphrase = s} table at idx (with overwrite too when
 * allow_overwrite; with pin too when pin is not NULL): the passphrase or
 * NULL; *overwrite and *pin set when asked. A wrong type or an unknown
 * option is the caller's bug and raises; an empty passphrase is data,
 * refused by core. */
static const char *opt_secrets(lua_State *L, int idx, int allow_overwrite, int *overwrite,
                               const char **pin)
{
    static const char *const load_names[] = {"passphrase", "pin", NULL};
    static const char *const save_names[] = {"passphrase", "overwrite", NULL};
    const char *pass = NULL;
    pki_fields f;

    if (lua_isnoneornil(L, idx))
        return NULL;
    f = pki_fields_at(L, idx, idx, NULL, NULL);
    pki_check_fields(&f, allow_overwrite ? save_names : load_names, PKI_RAISE);
    pki_field_string(&f, "passphrase", PKI_RAISE, &pass, NULL);
    if (allow_overwrite)
        pki_field_bool(&f, "overwrite", PKI_RAISE, overwrite);
    if (pin)
        pki_field_string(&f, "pin", PKI_RAISE, pin, NULL);
    return pass;
}

static const char *opt_passphrase(lua_State *L, int idx, int allow_overwrite, int *overwrite)
{
    return opt_secrets(L, idx, allow_overwrite, overwrite, NULL);
}

/* pki.load_key(pem_or_der [, what [, {passphrase = s}]]) */
static int key_load(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "key");
    const char *pass = opt_passphrase(L, 3, 0, NULL);
    cs_err err = {CS_OK, ""};
    cs_key **box = pki_newkey(L);

    if (cs_key_load_pass(data, len, pass, what, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

static int key_load_public(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "public key");
    cs_err err = {CS_OK, ""};
    cs_key **box = pki_newkey(L);

    if (cs_key_load_public(data, len, what, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* pki.read_key(path_or_uri [, {passphrase = s, pin = s}]): a pkcs11: URI
 * (core/hsm.h) is opened on its token with the pin. */
static int key_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *pin = NULL;
    const char *pass = opt_secrets(L, 2, 0, NULL, &pin);
    cs_err err = {CS_OK, ""};
    cs_key **box = pki_newkey(L);
    cs_code rc;

    if (cs_hsm_is_uri(path))
        rc = cs_hsm_load_key(path, pin, box, &err);
    else
        rc = cs_key_load_file_pass(path, pass, box, &err);
    if (rc != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* pki.generate_token_key(uri, {type = ..., curve = ..., bits = ...}, {pin = s}):
 * a key pair made on the token (core/hsm.h, cs_hsm_generate_key). */
static int key_generate_on_token(lua_State *L)
{
    const char *uri = luaL_checkstring(L, 1);
    cs_key_params p = {NULL, NULL, 0};
    cs_err err = {CS_OK, ""};
    const char *pin = NULL;
    cs_key **box;

    if (pki_key_params(L, 2, 2, "key", &p, &err) < 0)
        return pki_fail(L, &err);
    (void)opt_secrets(L, 3, 0, NULL, &pin);
    box = pki_newkey(L);
    if (cs_hsm_generate_key(uri, pin, &p, box, &err) != CS_OK)
        return pki_fail(L, &err);
    return 1;
}

/* key:save(path [, {overwrite = bool, passphrase = s}]): with a passphrase,
 * encrypted PKCS#8 (core/key.h, cs_key_save_encrypted). */
static int key_save(lua_State *L)
{
    const cs_key *key = pki_checkkey(L, 1);
    const char *path = luaL_checkstring(L, 2);
    int overwrite = 0;
    const char *pass = opt_passphrase(L, 3, 1, &overwrite);
    cs_err err = {CS_OK, ""};
    cs_code rc;

    if (pass)
        rc = cs_key_save_encrypted(key, pass, path, overwrite, &err);
    else
        rc = cs_key_save(key, path, overwrite, &err);
    if (rc != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int key_public_pem(lua_State *L)
{
    const cs_key *key = pki_checkkey(L, 1);
    cs_err err = {CS_OK, ""};
    char *pem = NULL;
    size_t len = 0;

    cs_code rc = cs_key_public_pem(key, &pem, &len, &err);

    return pki_push_buffer(L, rc, pem, len, &err); /* a public key: no need to wipe */
}

static int key_info(lua_State *L)
{
    const cs_key *key = pki_checkkey(L, 1);
    const char *curve = cs_key_curve(key);
    cs_err err = {CS_OK, ""};
    char fp[65];

    if (cs_key_fingerprint(key, fp, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, 0, 5);
    lua_pushboolean(L, cs_key_is_private(key));
    lua_setfield(L, -2, "private");
    lua_pushstring(L, cs_key_type(key));
    lua_setfield(L, -2, "type");
    if (curve) {
        lua_pushstring(L, curve);
        lua_setfield(L, -2, "curve");
    }
    lua_pushinteger(L, cs_key_bits(key));
    lua_setfield(L, -2, "bits");
    lua_pushstring(L, fp);
    lua_setfield(L, -2, "fingerprint");
    lua_pushboolean(L, cs_key_on_token(key));
    lua_setfield(L, -2, "on_token");
    return 1;
}

static const luaL_Reg key_meta[] = {
    {"__gc", key_gc},
    {"__close", key_gc},
    {"__tostring", key_tostring},
    {NULL, NULL},
};

static const luaL_Reg key_methods[] = {
    {"save", key_save},
    {"public_pem", key_public_pem},
    {"info", key_info},
    {"close", key_gc},
    {NULL, NULL},
};

const luaL_Reg pki_key_funcs[] = {
    {"generate_key", key_generate},
    {"load_key", key_load},
    {"load_public_key", key_load_public},
    {"read_key", key_read},
    {"generate_token_key", key_generate_on_token},
    {"key_generator", keygen_new},
    {NULL, NULL},
};

void pki_key_register(lua_State *L)
{
    static const luaL_Reg keygen_meta[] = {
        {"__gc", keygen_close},
        {"__close", keygen_close},
        {"__tostring", keygen_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg keygen_methods[] = {
        {"generate", keygen_generate},
        {"close", keygen_close},
        {NULL, NULL},
    };

    pki_new_metatable(L, PKI_KEY, key_meta, key_methods);
    pki_new_metatable(L, PKI_KEYGEN, keygen_meta, keygen_methods);
}
