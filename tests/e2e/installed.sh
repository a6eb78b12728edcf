# After `cmake --install`, the commands find the installed module and pages
# by themselves: no LUA_CPATH, no source tree.
. "$(dirname "$0")/lib.sh"

prefix=$tmp/prefix
check "cmake --install" cmake --install "$CS_BUILD_DIR" --prefix "$prefix"
scripts=$prefix/share/chainsmith/scripts
[ -n "$(find "$prefix" -name pki.so)" ] && ok || bad "module installed"
[ -f "$scripts/build_chain.lua" ] && ok || bad "scripts installed"

unset LUA_CPATH LUA_CPATH_5_4
cd "$tmp" || exit 1
check "installed build_chain.lua" lua "$scripts/build_chain.lua" --out "$tmp/chain"
contains "it built the chain" "$tmp/last.out" "server: created"
check "installed profiles.lua lists the installed profiles" lua "$scripts/profiles.lua"
contains "it lists peer" "$tmp/last.out" "extends server"
check "installed inspect.lua" lua "$scripts/inspect.lua" "$tmp/chain/server-chain.pem"
contains "inspect shows the served chain in order" "$tmp/last.out" \
    "order      in order: each certificate is issued by the next"
check "installed inspect.lua --json finds lua-cjson" lua "$scripts/inspect.lua" --json \
    "$tmp/chain/server.key"
contains "inspect --json of the key" "$tmp/last.out" '"kind":"private_key"'
lacks "inspect never prints the key" "$tmp/last.out" "PRIVATE KEY"
check "installed issue.lua issues with the installed profiles and policy" \
    lua "$scripts/issue.lua" --chain "$tmp/chain" --profile client --name a.localhost \
    --out "$tmp/issued"
[ -f "$tmp/issued/a.localhost.pem" ] && ok || bad "issue.lua wrote the certificate"
LD_PRELOAD=$lua_preload "$LUA" "$scripts/serve.lua" --port 0 --chain "$tmp/chain" \
    >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    port=$(sed -n 's|^serving https://localhost:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
    [ -n "$port" ] && break
    sleep 0.1
done
check "installed serve.lua serves the installed page" curl -sS --fail \
    --cacert "$tmp/chain/root.pem" --resolve "localhost:$port:127.0.0.1" \
    -o "$tmp/page.html" "https://localhost:$port/"
contains "hello page" "$tmp/page.html" "Hello, World!"
stop_server TERM || bad "stop"

finish
