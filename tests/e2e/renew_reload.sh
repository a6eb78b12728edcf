# Renewal without downtime (issue 4, "done when"): serve.lua under a client
# load while renew.lua re-issues the server certificate, picked up once by
# the file change alone, once by SIGHUP alone, once by both; a key caught
# half-renamed keeps the old pair served. No request fails, and a new
# connection is served the new serial afterwards.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
start_server "$tmp/serve.log" --chain "$out" || { bad "server start"; finish; exit 1; }
url=https://localhost:$port

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# wait_log N TEXT: until the log has at least N lines holding TEXT.
wait_log() { wait_in "$tmp/serve.log" "$@"; }

equal "the first serial is served" "$(served_serial)" "$(serial_of "$out/server.pem")"
contains "the plain port is announced" "$tmp/serve.log" "plain http://localhost:"
equal "the plain port serves no page" "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$http_port/")" 404

# The load: one client on kept-alive connections (20 requests each), one
# opening a new connection per request, until told to stop (bounded).
load() {
    local per=$1 i urls
    urls=$(for _ in $(seq 1 "$per"); do printf -- '-o /dev/null %s/ ' "$url"; done)
    for i in $(seq 1 400); do
        [ -e "$tmp/stop" ] && break
        # shellcheck disable=SC2086
        curl -sS --max-time 10 --cacert "$out/root.pem" --resolve "localhost:$port:127.0.0.1" \
            -w '%{http_code}\n' $urls 2>>"$tmp/load.err" || echo "exit $?"
    done
}
load 20 >"$tmp/keepalive.out" &
load_a=$!
load 1 >"$tmp/single.out" &
load_b=$!
sleep 1

# 1. the files change; no signal
old=$(serial_of "$out/server.pem")
check "renew.lua --force (file change alone)" lua "$repo/scripts/renew.lua" --out "$out" --force
contains "renew says renewed" "$tmp/last.out" "renewed: serial $old -> "
new1=$(serial_of "$out/server.pem")
check "reload seen by polling" wait_log 1 "reloaded: serial $new1"

# 2. SIGHUP alone: the same files read again
kill -HUP "$server_pid"
check "reload on SIGHUP" wait_log 2 "reloaded: serial $new1"

# 3. a new key without its certificate (a pair caught half-renamed): kept
cp "$out/server.key" "$tmp/good.key"
cp "$out/intermediate.key" "$out/server.key.tmp" && mv "$out/server.key.tmp" "$out/server.key"
check "a mismatched pair is refused, not fatal" wait_log 1 "reload failed (still serving"
sleep 1.2
equal "the last good pair is still served" "$(served_serial)" "$new1"
cp "$tmp/good.key" "$out/server.key.tmp" && mv "$out/server.key.tmp" "$out/server.key"
check "the pair whole again reloads" wait_log 3 "reloaded: serial $new1"

# 4. renew and SIGHUP together
check "renew.lua --force again" lua "$repo/scripts/renew.lua" --out "$out" --force
new2=$(serial_of "$out/server.pem")
kill -HUP "$server_pid"
check "reload of the second renewal" wait_log 1 "reloaded: serial $new2"
sleep 1

touch "$tmp/stop"
wait "$load_a" "$load_b"
total=$(cat "$tmp/keepalive.out" "$tmp/single.out" | grep -c '^200$')
failed_requests=$(cat "$tmp/keepalive.out" "$tmp/single.out" | grep -vc '^200$')
echo "$total requests answered 200, $failed_requests not"
equal "no request failed" "$failed_requests" 0
[ -s "$tmp/load.err" ] && { bad "curl complained"; sed 's/^/    /' "$tmp/load.err" >&2; }
[ "$total" -ge 200 ] && ok || bad "too few requests ($total) to mean anything"

equal "a new connection gets the new serial" "$(served_serial)" "$new2"
check "curl verifies the renewed chain" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "$url/"
check "the page shows the new serial" sh -c "curl -sS --cacert '$out/root.pem' \
    --resolve 'localhost:$port:127.0.0.1' '$url/' | grep -qi '$new2'"

check "renew.lua: not due right after" lua "$repo/scripts/renew.lua" --out "$out"
contains "not due is said" "$tmp/last.out" "not due: serial $new2"
check "renew.lua --dry-run --force writes nothing" lua "$repo/scripts/renew.lua" --out "$out" \
    --dry-run --force
contains "dry run says due" "$tmp/last.out" "due: serial $new2 (--force); --dry-run"
equal "dry run kept the certificate" "$(serial_of "$out/server.pem")" "$new2"

# Due by the window: a profile asking to renew 40 days before a 30-day expiry.
mkdir "$tmp/profiles"
cp "$repo/scripts/profiles/"*.lua "$tmp/profiles/"
sed -i 's/renew_before_days = [0-9]*/renew_before_days = 40/' "$tmp/profiles/server.lua"
check "renew.lua --dry-run inside the window" lua "$repo/scripts/renew.lua" --out "$out" \
    --profiles "$tmp/profiles" --dry-run
contains "due within the window" "$tmp/last.out" "expires within renew_before_days"
check "renew.lua inside the window" lua "$repo/scripts/renew.lua" --out "$out" \
    --profiles "$tmp/profiles"
contains "renewed within the window" "$tmp/last.out" "renewed: serial $new2 -> "

# A CRL that must be signed again (here: gone) is renewed alone.
new3=$(serial_of "$out/server.pem")
rm "$out/intermediate.crl.pem"
check "renew.lua --dry-run names a missing CRL" lua "$repo/scripts/renew.lua" --out "$out" \
    --dry-run
contains "the CRL is due" "$tmp/last.out" "due: intermediate CRL (missing); --dry-run"
check "renew.lua signs the CRL again" lua "$repo/scripts/renew.lua" --out "$out"
contains "and says so" "$tmp/last.out" "intermediate CRL: signed (missing): number"
contains "keeping the server certificate" "$tmp/last.out" "server: kept, serial $new3"
check "the new CRL verifies" openssl crl -in "$out/intermediate.crl.pem" -noout \
    -CAfile "$out/intermediate.pem"

refuse "renew.lua without a chain" lua "$repo/scripts/renew.lua" --out "$tmp/nothing"
contains "missing chain says what to do" "$tmp/last.out" "build_chain.lua"

stop_server TERM && ok || bad "SIGTERM exit status"
contains "stops cleanly" "$tmp/serve.log" "stopped (SIGTERM)"

refuse "serve.lua --http-port out of range" lua "$repo/scripts/serve.lua" --port 0 \
    --chain "$out" --http-port 70000
contains "the bad port is named" "$tmp/last.out" "--http-port: 70000 is not in 0..65535"
start_server "$tmp/serve2.log" --chain "$out" --listen 127.0.0.1 || bad "restart"
http2=$(sed -n 's|^plain http://localhost:\([0-9]*\)/.*|\1|p' "$tmp/serve2.log")
refuse "a second server on the same http port" lua "$repo/scripts/serve.lua" --port 0 \
    --listen 127.0.0.1 --chain "$out" --http-port "$http2"
contains "the http port in use is named" "$tmp/last.out" "127.0.0.1:$http2"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
