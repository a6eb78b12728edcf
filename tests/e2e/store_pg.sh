# The CA database on PostgreSQL: the C unit test (tests/c/test_store_pg.c)
# and the Lua module test (tests/lua/test_store_pg.lua), each against a
# fresh database of one throwaway cluster.
. "$(dirname "$0")/lib.sh"
. "$repo/tests/pg/pglib.sh"

pg_start
check "C: test_store_pg" env CS_PG_URL="$pg_url" "$CS_BUILD_DIR/tests/test_store_pg"
tail -1 "$tmp/last.out"
as_pg "$pg_bin/createdb" -h "$pg_dir" -U postgres lua_test
lua_url="postgresql:///lua_test?host=$pg_dir&user=postgres"
check "Lua: test_store_pg" env CS_PG_URL="$lua_url" LD_PRELOAD="$lua_preload" "$LUA" \
    "$repo/tests/lua/test_store_pg.lua"
tail -1 "$tmp/last.out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
