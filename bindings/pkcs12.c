/* Password-protected files: PKCS#12 bundles, and what an encrypted key says
 * about itself without its password. */
#include "bindings.h"

#include "pbe.h"
#include "pkcs12.h"

static void set_str(lua_State *L, const char *field, const char *value)
{
    if (value && *value) {
        lua_pushstring(L, value);
        lua_setfield(L, -2, field);
    }
}

/* {scheme =, cipher =, kdf =, prf =, iterations =, legacy =}; empty fields left out. */
static void push_pbe(lua_State *L, const cs_pbe *pbe)
{
    lua_createtable(L, 0, 6);
    set_str(L, "scheme", pbe->scheme);
    set_str(L, "cipher", pbe->cipher);
    set_str(L, "kdf", pbe->kdf);
    set_str(L, "prf", pbe->prf);
    if (pbe->iterations > 0) {
        lua_pushinteger(L, pbe->iterations);
        lua_setfield(L, -2, "iterations");
    }
    lua_pushboolean(L, pbe->legacy);
    lua_setfield(L, -2, "legacy");
}

/* pki.load_pkcs12(der, password_or_nil [, what]) */
static int p12_load(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *password = luaL_optstring(L, 2, NULL);
    const char *what = luaL_optstring(L, 3, "PKCS#12");
    cs_err err = {CS_OK, ""};
    cs_p12 *p12 = NULL;

    if (cs_p12_load(data, len, password, what, &p12, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_createtable(L, 0, 5);
    if (p12->cert) {
        cs_cert **box = pki_newcert(L);
        *box = p12->cert;
        p12->cert = NULL;
        lua_setfield(L, -2, "cert");
    }
    if (p12->key) {
        cs_key **box = pki_newkey(L);
        *box = p12->key;
        p12->key = NULL;
        lua_setfield(L, -2, "key");
    }
    lua_createtable(L, (int)p12->certs_len, 0);
    for (size_t i = 0; i < p12->certs_len; i++) {
        cs_cert **box = pki_newcert(L);
        *box = p12->certs[i];
        p12->certs[i] = NULL;
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "certs");
    if (p12->mac_present) {
        lua_createtable(L, 0, 2);
        set_str(L, "digest", p12->mac_digest);
        lua_pushinteger(L, p12->mac_iterations);
        lua_setfield(L, -2, "iterations");
        lua_setfield(L, -2, "mac");
    }
    lua_createtable(L, 0, 2);
    if (p12->certs_pbe.scheme[0]) {
        push_pbe(L, &p12->certs_pbe);
        lua_setfield(L, -2, "certs");
    }
    if (p12->key_pbe.scheme[0]) {
        push_pbe(L, &p12->key_pbe);
        lua_setfield(L, -2, "key");
    }
    lua_setfield(L, -2, "encryption");
    cs_p12_free(p12);
    return 1;
}

/* pki.encrypted_key_info(pem_or_der [, what]) */
static int p12_encrypted_key_info(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *what = luaL_optstring(L, 2, "key");
    cs_err err = {CS_OK, ""};
    cs_pbe pbe;

    if (cs_pbe_encrypted_key(data, len, what, &pbe, &err) != CS_OK)
        return pki_fail(L, &err);
    push_pbe(L, &pbe);
    return 1;
}

/* pki.write_pkcs12{path =, cert =, key =, chain = {cert, ...}, password =,
 * friendly_name =, overwrite =} -> true, or nil, message, code. */
static int p12_write(lua_State *L)
{
    static const char *const names[] = {"path",          "cert",     "key",       "chain",
                                        "friendly_name", "password", "overwrite", NULL};
    const char *path = NULL, *password = NULL, *friendly = NULL;
    void *cert = NULL, *key = NULL;
    const cs_cert **chain;
    size_t chain_len = 0;
    int overwrite = 0;
    cs_err err = {CS_OK, ""};
    pki_fields f;

    lua_settop(L, 1);
    f = pki_fields_at(L, 1, 1, NULL, NULL);
    pki_check_fields(&f, names, PKI_RAISE);
    pki_field_string(&f, "path", PKI_RAISE | PKI_NEEDED, &path, NULL);
    pki_field_string(&f, "password", PKI_RAISE, &password, NULL);
    pki_field_string(&f, "friendly_name", PKI_RAISE, &friendly, NULL);
    pki_field_udata(&f, "cert", PKI_CERT, PKI_RAISE | PKI_NEEDED, &cert);
    pki_field_udata(&f, "key", PKI_KEY, PKI_RAISE | PKI_NEEDED, &key);
    chain = pki_cert_array(L, 1, "chain", 1, &chain_len);
    pki_field_bool(&f, "overwrite", PKI_RAISE, &overwrite);
    if (!password) /* absent: data the caller did not have, not a bug */
        password = "";
    if (cs_p12_write(cert, key, chain, chain_len, friendly, password, path, overwrite, &err)
        != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

const luaL_Reg pki_pkcs12_funcs[] = {
    {"write_pkcs12", p12_write},
    {"load_pkcs12", p12_load},
    {"encrypted_key_info", p12_encrypted_key_info},
    {NULL, NULL},
};
