/* luaopen_pki: the module table, the ten userdata types, and pki.type. */
#include "bindings.h"

/* Every metatable the module registers, for pki.type. */
static const char *const type_names[] = {
    PKI_KEY, PKI_KEYGEN, PKI_CERT, PKI_CSR, PKI_CRL, PKI_STORE,
    PKI_SERVER, PKI_OCSP, PKI_JOURNAL, PKI_ACME, PKI_SIGNAPI, PKI_TEMPLATE, NULL,
};

/* pki.type(x): "pki.cert", ... for the module's objects (closed ones too),
 * nil for any other value, as io.type answers nil for a non-file. The
 * metatable itself is compared, so a table claiming __name = "pki.cert"
 * is not one. */
static int pki_type(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lua_type(L, 1) == LUA_TUSERDATA && lua_getmetatable(L, 1)) {
        for (size_t i = 0; type_names[i]; i++) {
            luaL_getmetatable(L, type_names[i]);
            if (lua_rawequal(L, -1, -2)) {
                lua_pushstring(L, type_names[i]);
                return 1;
            }
            lua_pop(L, 1);
        }
    }
    lua_pushnil(L);
    return 1;
}

__attribute__((visibility("default"))) int luaopen_pki(lua_State *L);

int luaopen_pki(lua_State *L)
{
    luaL_checkversion(L);
    pki_key_register(L);
    pki_cert_register(L);
    pki_store_register(L);
    pki_server_register(L);
    pki_csr_register(L);
    pki_crl_register(L);
    pki_ocsp_register(L);
    pki_files_register(L);
    pki_acme_register(L);
    pki_signapi_register(L);
    pki_template_register(L);
    lua_newtable(L);
    luaL_setfuncs(L, pki_key_funcs, 0);
    luaL_setfuncs(L, pki_cert_funcs, 0);
    luaL_setfuncs(L, pki_store_funcs, 0);
    luaL_setfuncs(L, pki_pkcs12_funcs, 0);
    luaL_setfuncs(L, pki_server_funcs, 0);
    luaL_setfuncs(L, pki_files_funcs, 0);
    luaL_setfuncs(L, pki_bounded_funcs, 0);
    luaL_setfuncs(L, pki_name_funcs, 0);
    luaL_setfuncs(L, pki_csr_funcs, 0);
    luaL_setfuncs(L, pki_crl_funcs, 0);
    luaL_setfuncs(L, pki_ocsp_funcs, 0);
    luaL_setfuncs(L, pki_acme_funcs, 0);
    luaL_setfuncs(L, pki_signapi_funcs, 0);
    luaL_setfuncs(L, pki_template_funcs, 0);
    lua_pushcfunction(L, pki_type);
    lua_setfield(L, -2, "type");
#ifdef CS_TEST_HOOKS
    pki_test_hooks(L);
#endif
    lua_pushliteral(L, "0.1");
    lua_setfield(L, -2, "version");
    return 1;
}
