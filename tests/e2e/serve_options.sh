# serve.lua's option values out of range: one line naming the option and
# the range, exit 2 (usage), no traceback and no server started; an
# address CivetWeb would misread (127.0.0.300 binds 127.0.1.44) is refused.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
check "build the chain" build_chain --out "$chain"

# usage NAME EXPECTED ARGS...: serve.lua must exit 2 with EXPECTED, in one line.
usage() {
    local name=$1 expected=$2
    shift 2
    timeout 20 env LD_PRELOAD="$lua_preload" "$LUA" "$repo/scripts/serve.lua" \
        --chain "$chain" "$@" >"$tmp/last.out" 2>&1
    equal "$name: exit 2" "$?" 2
    contains "$name: says what is wrong" "$tmp/last.out" "$expected"
    lacks "$name: no traceback" "$tmp/last.out" "traceback"
    equal "$name: one line" "$(wc -l <"$tmp/last.out")" 1
    lacks "$name: nothing served" "$tmp/last.out" "serving"
}

usage "--port 65536" "serve: --port: 65536 is not in 0..65535" --port 65536
usage "--http-port 70000" "serve: --http-port: 70000 is not in 0..65535" --port 0 \
    --http-port 70000
usage "--threads 1000000" "serve: --threads: 1000000 is not in 1..1024" --port 0 \
    --threads 1000000
usage "--threads 0" "serve: --threads: 0 is not in 1..1024" --port 0 --threads 0
usage "--per-address 5000" "serve: --per-address: 5000 is not in 0..1024" --port 0 \
    --per-address 5000
usage "--hsts=-1" "serve: --hsts: -1 is not in 0..999999999" --port 0 --hsts=-1
usage "--listen 127.0.0.300" \
    "serve: --listen: '127.0.0.300' is not an IPv4 or IPv6 address (nor localhost)" \
    --port 0 --listen 127.0.0.300
usage "--listen a host name" "serve: --listen: 'example.com' is not an IPv4" \
    --port 0 --listen 127.0.0.1 --listen example.com
usage "--listen [::1]" "serve: --listen: '[::1]' is not an IPv4" --port 0 --listen '[::1]'

# The limits themselves are accepted.
start_server "$tmp/serve.log" --chain "$chain" --listen 127.0.0.1 --threads 1024 \
    && ok || bad "--threads 1024 and --listen 127.0.0.1 start"
check "it serves" curl -sS --cacert "$chain/root.pem" "https://localhost:$port/"
stop_server TERM && ok || bad "SIGTERM exit status"

# A port another process listens on: one line naming the address:port taken
# and the way past it, exit 1, nothing served.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/held" &
holder=$!
for _ in $(seq 1 50); do [ -s "$tmp/held" ] && break; sleep 0.1; done
held=$(cat "$tmp/held")
lua "$repo/scripts/serve.lua" --chain "$chain" --port "$held" --no-http >"$tmp/last.out" 2>&1
equal "port in use: exit 1" "$?" 1
contains "port in use: names it" "$tmp/last.out" "127.0.0.1:$held (https) is already in use"
contains "port in use: suggests --port 0" "$tmp/last.out" "--port 0"
lacks "port in use: no listener string" "$tmp/last.out" "${held}s"
equal "port in use: one line" "$(wc -l <"$tmp/last.out")" 1
lua "$repo/scripts/serve.lua" --chain "$chain" --port 0 --http-port "$held" >"$tmp/last.out" 2>&1
equal "http port in use: exit 1" "$?" 1
contains "http port in use: names it" "$tmp/last.out" \
    "127.0.0.1:$held (plain http) is already in use"
contains "http port in use: suggests --http-port 0" "$tmp/last.out" "--http-port 0"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# --json: stdout is one JSON line naming the bound ports and the serial, the
# human lines go to stderr; both ports answer.
LD_PRELOAD=$lua_preload "$LUA" "$repo/scripts/serve.lua" --chain "$chain" --port 0 --json \
    >"$tmp/json.out" 2>"$tmp/json.err" &
server_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/json.out" ] && break; sleep 0.1; done
equal "--json: one line" "$(wc -l <"$tmp/json.out")" 1
read -r jport jhttp jserial jhost < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["https"]["port"], d["http"]["port"], d["serial"], d["https"]["hosts"][0])' "$tmp/json.out")
equal "--json: host" "$jhost" 127.0.0.1
equal "--json: serial" "$jserial" "$(openssl x509 -in "$chain/server.pem" -noout -serial | cut -d= -f2)"
check "--json: https port answers" curl -sSf --cacert "$chain/root.pem" -o /dev/null \
    "https://localhost:$jport/"
check "--json: http port answers" curl -sSf -o /dev/null "http://127.0.0.1:$jhttp/crl/root.crl"
contains "--json: human lines on stderr" "$tmp/json.err" "serving https://localhost:$jport/"
stop_server TERM && ok || bad "--json: SIGTERM exit status"

finish
