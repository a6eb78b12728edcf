# Shared by the end-to-end tests: a temp folder, the interpreter CMake found,
# a tally that ends in "N passed, N failed", and a server started on a free port.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LUA=${CS_LUA:-lua5.4}
# Under the sanitizer build LD_PRELOAD carries ASan for the uninstrumented
# interpreter; curl and certtool must not get it (they hang with it).
lua_preload=${LD_PRELOAD:-}
unset LD_PRELOAD
tmp=$(mktemp -d /tmp/cs-e2e-XXXXXX)
passed=0
failed=0
server_pid=""

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $*" >&2; }

# check NAME CMD...: CMD must succeed.
check() {
    local name=$1
    shift
    if "$@" >"$tmp/last.out" 2>&1; then ok; else bad "$name"; sed 's/^/    /' "$tmp/last.out" >&2; fi
}

# refuse NAME CMD...: CMD must fail.
refuse() {
    local name=$1
    shift
    if "$@" >"$tmp/last.out" 2>&1; then bad "$name (succeeded)"; else ok; fi
}

# contains NAME FILE TEXT: FILE must contain TEXT (fixed string).
contains() {
    if grep -qF -- "$3" "$2"; then ok; else bad "$1: no '$3' in:"; sed 's/^/    /' "$2" >&2; fi
}

lacks() {
    if grep -qF -- "$3" "$2"; then bad "$1: unexpected '$3'"; else ok; fi
}

equal() {
    if [ "$2" = "$3" ]; then ok; else bad "$1: '$2' != '$3'"; fi
}

lua() {
    LD_PRELOAD=$lua_preload "$LUA" "$@"
}

build_chain() {
    lua "$repo/scripts/build_chain.lua" "$@"
}

# start_server LOG ARGS...: serve.lua on a free port; sets server_pid, port
# (and http_port when it listens for plain HTTP).
start_server() {
    local log=$1
    shift
    # A plain command, not the lua function: $! must be the server itself.
    # --json: stdout holds one JSON line once bound; the rest goes to stderr.
    LD_PRELOAD=$lua_preload "$LUA" "$repo/scripts/serve.lua" --port 0 --json "$@" >"$log" 2>&1 &
    server_pid=$!
    port=""
    for _ in $(seq 1 100); do
        port=$(sed -n 's|^{.*"https":{[^}]*"port":\([0-9]*\).*|\1|p' "$log")
        if [ -n "$port" ]; then
            http_port=$(sed -n 's|^{"http":{"port":\([0-9]*\).*|\1|p' "$log")
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "server did not start:" >&2
    cat "$log" >&2
    return 1
}

# stop_server SIGNAL: send it, wait, return the server's exit status.
stop_server() {
    local status=0
    kill "-$1" "$server_pid"
    wait "$server_pid" || status=$?
    server_pid=""
    return $status
}

# served_serial: the serial of the certificate the server on $port sends.
served_serial() {
    echo | openssl s_client -connect "127.0.0.1:$port" 2>/dev/null | openssl x509 -noout -serial \
        | cut -d= -f2
}

# wait_in FILE N TEXT: until FILE has at least N lines holding TEXT (20 s at most).
wait_in() {
    for _ in $(seq 1 200); do
        [ "$(grep -cF -- "$3" "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    echo "waited in vain for $2 x '$3' in $1:" >&2
    cat "$1" >&2
    return 1
}

fingerprint() {
    openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
