# Issue 10 §2: serve.lua refuses an expired or not yet valid chain (exit 1)
# in one line naming the certificate, its notAfter or notBefore and the
# command that replaces it, and that command does: renew.lua for the
# server certificate, renew.lua --intermediate for the intermediate (rolled
# under the same root), build_chain.lua --force only for the root.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build the chain" build_chain --out "$out"
redate() { lua "$repo/tests/e2e/redate.lua" "$repo" "$out" "$@"; }
# refused WHAT: serve.lua exits 1 at once, and its one line says WHAT.
refused() {
    local status=0
    timeout 20 env LD_PRELOAD="$lua_preload" "$LUA" "$repo/scripts/serve.lua" --port 0 \
        --chain "$out" >"$tmp/last.out" 2>&1 \
        || status=$?
    equal "$1: exit 1" "$status" 1
    equal "$1: one line" "$(wc -l <"$tmp/last.out")" 1
    lacks "$1: no server started" "$tmp/last.out" "serving https"
}
# served WHAT: serve.lua starts on the chain and curl verifies it.
served() {
    start_server "$tmp/serve.log" --chain "$out" || { bad "$1: start"; return; }
    check "$1: curl verifies the chain" curl -sS --fail --cacert "$out/root.pem" \
        --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
    stop_server TERM || bad "$1: stop"
}

check "make the server certificate expired" redate server expired
refused "expired server certificate"
contains "names it, notAfter" "$tmp/last.out" \
    "serve: $out/server.pem (C=SE, O=Simple Inc, OU=ABC, CN=localhost) expired on "
contains "says notAfter" "$tmp/last.out" "(notAfter); run \`lua scripts/renew.lua --out $out\`"
check "the named command" lua "$repo/scripts/renew.lua" --out "$out"
served "after renew.lua"

check "make the server certificate not yet valid" redate server future
refused "future server certificate"
contains "names it, notBefore" "$tmp/last.out" \
    "serve: $out/server.pem (C=SE, O=Simple Inc, OU=ABC, CN=localhost) not valid before "
contains "says notBefore" "$tmp/last.out" \
    "(notBefore); check the clock, or run \`lua scripts/renew.lua --out $out\`"
check "the named command" lua "$repo/scripts/renew.lua" --out "$out"
served "after renew.lua"

root_fp=$(fingerprint "$out/root.pem")
check "make the intermediate expired" redate intermediate expired
# server-chain.pem still holds the old intermediate: what is served is checked
cat "$out/server.pem" "$out/intermediate.pem" >"$out/server-chain.pem"
refused "expired intermediate"
contains "names it" "$tmp/last.out" \
    "serve: $out/intermediate.pem (C=SE, O=Simple Inc, OU=XYZ, CN=Simple Intermediate CA) expired on "
contains "names the roll" "$tmp/last.out" \
    "(notAfter); run \`lua scripts/renew.lua --intermediate --out $out\` (a new intermediate under the same root)"
check "the named command" lua "$repo/scripts/renew.lua" --intermediate --out "$out"
equal "the root stays" "$(fingerprint "$out/root.pem")" "$root_fp"
served "after the roll"

check "make the root expired" redate root expired
refused "expired root"
contains "names it" "$tmp/last.out" \
    "serve: $out/root.pem (C=SE, O=Simple Inc, CN=Simple Root CA) expired on "
contains "only the root gets --force" "$tmp/last.out" \
    "(notAfter); run \`lua scripts/build_chain.lua --force --out $out\` (a new root, which every client must trust again)"
check "the named command" build_chain --force --out "$out"
served "after build_chain.lua --force"
finish
