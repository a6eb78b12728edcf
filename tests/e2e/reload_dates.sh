# A reload checks dates as startup does: a running serve.lua handed an
# expired or not yet valid leaf, or a chain whose intermediate is expired,
# keeps serving the certificate it has, says so once on stderr naming the
# file and the dates, and takes the next good files. (serve_expired.sh is
# the startup side.)
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build the chain" build_chain --out "$out"
redate() { lua "$repo/tests/e2e/redate.lua" "$repo" "$out" "$@"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# put FILE SOURCE: replace FILE by SOURCE's bytes in one rename, as core does.
put() { cp "$2" "$1.tmp" && mv "$1.tmp" "$1"; }

# Not start_server: without --json, stdout and stderr are told apart.
LD_PRELOAD=$lua_preload "$LUA" "$repo/scripts/serve.lua" --port 0 --listen 127.0.0.1 \
    --chain "$out" >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
check "the server starts" wait_in "$tmp/serve.out" 1 "serving https://"
port=$(sed -n 's|^serving https://localhost:\([0-9]*\)/.*|\1|p' "$tmp/serve.out")

good=$(serial_of "$out/server.pem")
equal "the first serial is served" "$(served_serial)" "$good"
mkdir "$tmp/good"
cp "$out/server.pem" "$out/server-chain.pem" "$out/intermediate.pem" "$tmp/good/"

# 1. an expired leaf
check "make the server certificate expired" redate server expired
expired=$(serial_of "$out/server.pem")
check "the expired leaf is refused" wait_in "$tmp/serve.err" 1 "expired on"
contains "says what it keeps" "$tmp/serve.err" \
    "reload failed (still serving the previous certificate, serial $good, retrying): "
contains "names the file, the certificate and its serial" "$tmp/serve.err" \
    "$out/server-chain.pem certificate 1 (C=SE, O=Simple Inc, OU=ABC, CN=localhost, serial $expired, valid "
contains "and the date it ended" "$tmp/serve.err" "(notAfter): not served"
lacks "no reload is claimed" "$tmp/serve.out" "reloaded:"
equal "the old serial is still served" "$(served_serial)" "$good"
check "curl still verifies the chain" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
sleep 2
equal "said once, not every second" "$(grep -c 'expired on' "$tmp/serve.err")" 1

# 2. a leaf not valid yet
check "make the server certificate not yet valid" redate server future
future=$(serial_of "$out/server.pem")
check "the future leaf is refused" wait_in "$tmp/serve.err" 1 "serial $future, valid "
contains "says notBefore" "$tmp/serve.err" "(notBefore): not served"
equal "the old serial is still served" "$(served_serial)" "$good"

# 3. a good leaf beside an expired intermediate (same key and name, re-signed)
put "$out/server.pem" "$tmp/good/server.pem"
check "make the intermediate expired" redate intermediate expired
cat "$tmp/good/server.pem" "$out/intermediate.pem" >"$tmp/mixed.pem"
put "$out/server-chain.pem" "$tmp/mixed.pem"
check "the expired intermediate is refused" wait_in "$tmp/serve.err" 1 \
    "$out/server-chain.pem certificate 2 (C=SE, O=Simple Inc, OU=XYZ, CN=Simple Intermediate CA"
contains "with the date it ended" "$tmp/serve.err" "(notAfter): not served"
kill -0 "$server_pid" 2>/dev/null && ok || bad "the server stopped on an expired intermediate"
equal "the old serial is still served" "$(served_serial)" "$good"

# 4. the good files again, then a renewal: reloads go on
put "$out/intermediate.pem" "$tmp/good/intermediate.pem"
put "$out/server-chain.pem" "$tmp/good/server-chain.pem"
check "the good chain reloads" wait_in "$tmp/serve.out" 1 "reloaded: serial $good"
check "renew.lua" lua "$repo/scripts/renew.lua" --out "$out" --force
new=$(serial_of "$out/server.pem")
check "the renewal reloads" wait_in "$tmp/serve.out" 1 "reloaded: serial $new"
equal "the new serial is served" "$(served_serial)" "$new"
lacks "failures stay off stdout" "$tmp/serve.out" "reload failed"

stop_server TERM && ok || bad "SIGTERM exit status"
finish
