/* luaopen_pki: the module table and the four userdata types. */
#include "bindings.h"

#include "file.h"

/* pki.mkdir(path [, mode]): create a folder and its parents (default 0700:
 * it will hold keys). An existing folder is fine. */
static int pki_mkdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer mode = luaL_optinteger(L, 2, 0700);
    cs_err err = {CS_OK, ""};

    luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode out of range");
    if (cs_file_mkdir(path, (unsigned)mode, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg pki_funcs[] = {
    {"mkdir", pki_mkdir},
    {NULL, NULL},
};

__attribute__((visibility("default"))) int luaopen_pki(lua_State *L);

int luaopen_pki(lua_State *L)
{
    luaL_checkversion(L);
    pki_key_register(L);
    pki_cert_register(L);
    pki_store_register(L);
    pki_server_register(L);
    lua_newtable(L);
    luaL_setfuncs(L, pki_key_funcs, 0);
    luaL_setfuncs(L, pki_cert_funcs, 0);
    luaL_setfuncs(L, pki_store_funcs, 0);
    luaL_setfuncs(L, pki_server_funcs, 0);
    luaL_setfuncs(L, pki_funcs, 0);
    lua_pushliteral(L, "0.1");
    lua_setfield(L, -2, "version");
    return 1;
}
