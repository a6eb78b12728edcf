/* libFuzzer target: the file-type detection `inspect` and `lint` run on a
 * user's file, scripts/chainsmith/identify.lua over the pki module over core,
 * in an embedded Lua 5.4 with the bindings linked in. Whatever bytes the file
 * holds, identify.file returns what it found or nil and a message: it never
 * raises (a raised error aborts, as a crash would), and nothing crashes,
 * leaks or aborts below it. Each input is written to one temporary file, as
 * identify reads a path; a full collection after each input frees what the
 * objects hold, so leak checking sees a balanced run. Build with
 * -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md (seeds: any PEM, DER
 * or PKCS#12 file, or the other harnesses' seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz_common.h"

int luaopen_pki(lua_State *L);

static lua_State *L;
static int identify_ref = LUA_NOREF;
static char path[] = "/tmp/fuzz_identify.XXXXXX";
static int fd = -1;

static void remove_file(void)
{
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = mkstemp(path);
    if (fd < 0)
        fz_die(path, NULL);
    atexit(remove_file);
    L = luaL_newstate();
    if (!L)
        fz_die("luaL_newstate", NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "pki", luaopen_pki, 0);
    lua_pop(L, 1);
    if (luaL_dostring(L, "package.path = '" CS_SOURCE_DIR "/scripts/?.lua;' .. package.path\n"
                         "return require('chainsmith.identify').file") != LUA_OK) {
        fprintf(stderr, "fuzz_identify: %s\n", lua_tostring(L, -1));
        abort();
    }
    identify_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        fz_die(path, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, identify_ref);
    lua_pushstring(L, path);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_identify: identify.file raised: %s\n", lua_tostring(L, -1));
        abort();
    }
    if (lua_isnil(L, -2) && !lua_isstring(L, -1)) {
        fprintf(stderr, "fuzz_identify: nil without a message\n");
        abort();
    }
    lua_pop(L, 2);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
