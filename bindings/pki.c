/* luaopen_pki: the module table and the four userdata types. */
#include "bindings.h"

__attribute__((visibility("default"))) int luaopen_pki(lua_State *L);

int luaopen_pki(lua_State *L)
{
    luaL_checkversion(L);
    pki_key_register(L);
    pki_cert_register(L);
    pki_store_register(L);
    pki_server_register(L);
    pki_name_register(L);
    pki_csr_register(L);
    pki_crl_register(L);
    pki_ocsp_register(L);
    pki_files_register(L);
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
#ifdef CS_TEST_HOOKS
    pki_test_hooks(L);
#endif
    lua_pushliteral(L, "0.1");
    lua_setfield(L, -2, "version");
    return 1;
}
