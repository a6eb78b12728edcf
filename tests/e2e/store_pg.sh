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

# A responder's connection outlives a restart of PostgreSQL: the next read
# reconnects (reads retry once on a new connection; writes fail and the
# next call reconnects).
cat >"$tmp/restart.lua" <<'LUA'
local pki = require "pki"
local url, restart = arg[1], arg[2]
local store = assert(pki.open_store(url, { node = "r" }))
local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
local spec = { subject = { { "CN", "Restart Root" } }, validity_days = 1,
    basic_constraints = { critical = true, ca = true },
    key_usage = { critical = true, "keyCertSign", "cRLSign" }, subject_key_id = true }
local root = assert(store:issue(spec, k, nil, k, "root"))
local issuer = root:info().subject_line
assert(store:status(root:serial(), issuer).status == "good")
assert(os.execute(restart))
local st, err = store:status(root:serial(), issuer)
assert(st and st.status == "good", err)
assert(store:revoke(root:serial(), { issuer = issuer, reason = "superseded" }))
assert(os.execute(restart))
local ok, werr = store:revoke(root:serial(), { issuer = issuer })
assert(ok == nil and werr:find("already revoked"), werr)
print("reconnected")
LUA
# PostgreSQL itself runs without the ASan preload the Lua side needs.
restart_cmd="$(declare -f as_pg); as_pg $pg_bin/pg_ctl -D $pg_dir/data -m fast -w restart >/dev/null"
check "reads and writes after PostgreSQL restarts" env LD_PRELOAD="$lua_preload" "$LUA" \
    "$tmp/restart.lua" "$lua_url" "env -u LD_PRELOAD bash -c '$restart_cmd'"
contains "reconnected" "$tmp/last.out" "reconnected"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
