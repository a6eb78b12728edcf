#!/bin/bash
# HTTPS serving: scripts/serve.lua against nginx, the same page over the same
# chain, loaded by wrk on loopback. A benchmark, not a test: it asserts nothing.
#
#   bench/serve.sh                 # RUNS=3 runs of DURATION=5 s per figure, ~3 min
#   QUICK=1 bench/serve.sh         # one 2 s run per figure, ~40 s
#   RUNS=5 DURATION=10 bench/serve.sh
#   BASELINE=/path/to/other/tree bench/serve.sh   # a third column: that tree's
#                                  # serve.lua (built), in the same runs
#   AUTOGROUP_NICE=-10 bench/serve.sh   # (root) the servers' and wrk's sessions
#                                  # ahead of other sessions' work on a shared machine
#
# serve.lua gets --per-address CONNS (PER_ADDRESS to change it): wrk's
# connections all come from 127.0.0.1, and the server's cap per client address
# (a quarter of --threads, at least 8) would otherwise refuse those over it,
# e.g. 24 of 32 with THREADS=32.
#
# Placement (2 cores): each server alone on CPU 0 (all CivetWeb threads, the
# one nginx worker), wrk with one thread alone on CPU 1. UNPINNED=1 adds a
# keep-alive figure with nothing pinned and wrk on two threads.
# shellcheck disable=SC2086 # $need and the lists of pids are split on purpose
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
LUA=${LUA:-lua5.4}
if [ -n "${QUICK:-}" ]; then runs=${RUNS:-1}; dur=${DURATION:-2}; else runs=${RUNS:-3}; dur=${DURATION:-5}; fi
conns=${CONNS:-32}
threads=${THREADS:-}   # serve.lua --threads; empty: its default
per_address=${PER_ADDRESS:-$conns}
baseline=${BASELINE:-}
if [ -n "$baseline" ] && [ ! -f "$baseline/scripts/serve.lua" ]; then
    echo "BASELINE=$baseline: no scripts/serve.lua there" >&2
    exit 2
fi

need=""
command -v nginx >/dev/null 2>&1 || need="$need nginx"
command -v wrk >/dev/null 2>&1 || need="$need wrk"
if [ -n "$need" ]; then
    echo "installing$need (benchmark only)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y $need >/dev/null
fi
NGINX=$(command -v nginx)

work=$(mktemp -d /tmp/cs-bench-serve-XXXXXX)
chmod 711 "$work" # nginx's worker may run as nobody: it must reach the page
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE # through the EXIT trap: no server left behind

# Prefixes, not functions: a function run with & is a subshell, and $! must
# be the server itself.
pin=0
[ "$(nproc)" -ge 2 ] && pin=1
set_pinning() {
    if [ "$pin" = 1 ]; then on_server=(taskset -c 0); on_client=(taskset -c 1)
    else on_server=(); on_client=(); fi
}
set_pinning
# Each server, and wrk, in a session of its own. With autogroup scheduling
# (/proc/sys/kernel/sched_autogroup_enabled, on in Debian's kernels) the
# threads of a session share one scheduling entity per CPU, weighted by the
# session's load on that CPU: a server in wrk's session, which keeps CPU 1
# busy, got a small share of CPU 0 against other sessions' processes,
# whatever their nice value (nice orders threads within a session only), and
# a server with less to do (nginx) lost the most (bench/README.md, 18:00 UTC
# run). AUTOGROUP_NICE sets these sessions' nice (/proc/PID/autogroup).
# shellcheck disable=SC2016 # $1 and $@ are the inner shell's
session=(setsid sh -c 'n=$1; shift; [ -z "$n" ] || echo "$n" >/proc/self/autogroup || exit 1
    exec "$@"' sh "${AUTOGROUP_NICE:-}")
placement="server on CPU 0, wrk -t1 on CPU 1"
[ "$pin" = 1 ] || placement="one CPU: nothing pinned"
wrk_threads=1

# A port below the kernel's ephemeral range (32768 up on Linux) that no TCP
# socket uses: wrk's thousands of connections per second leave client ports
# in TIME-WAIT all over that range, and nginx cannot bind over one (seen:
# "bind() to 127.0.0.1:33740 failed (98: Address already in use)").
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        [ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return; }
    done
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "-") }'; }

# rss PID...: the summed VmRSS (or VmHWM with field=VmHWM) in kB
rss() {
    local field=$1 sum=0 p v
    shift
    for p in "$@"; do
        v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status")
        sum=$((sum + v))
    done
    echo "$sum"
}

# cpu_ticks PID...: utime + stime of the processes, all their threads
cpu_ticks() {
    local sum=0 p
    for p in "$@"; do
        sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$sum"
}
hz=$(getconf CLK_TCK)

# The chains: the default profiles (P-384 everywhere) and a P-256 copy.
p256=$work/profiles-p256
cp -r "$repo/scripts/profiles" "$p256"
sed -i 's/"P-384"/"P-256"/' "$p256"/*.lua
"$LUA" "$repo/scripts/build_chain.lua" --out "$work/p384" >/dev/null
"$LUA" "$repo/scripts/build_chain.lua" --out "$work/p256" --profiles "$p256" >/dev/null

ours_pid=""
ours_port=""
# start_tree TREE CHAIN [serve.lua flags]: sets tree_pid, tree_port
start_tree() {
    local tree=$1 log
    log=$work/serve.$(basename "$tree").log
    : >"$log" # not the last server's line
    local cap=()
    # trees from before the cap have no --per-address
    grep -q -- '--per-address' "$tree/scripts/chainsmith/serve_cli.lua" 2>/dev/null &&
        cap=(--per-address "$per_address")
    "${session[@]}" "${on_server[@]}" "$LUA" "$tree/scripts/serve.lua" --port 0 --listen 127.0.0.1 \
        --chain "$2" ${threads:+--threads "$threads"} "${cap[@]}" "${@:3}" >"$log" 2>&1 &
    tree_pid=$!
    pids+=("$tree_pid")
    tree_port=""
    for _ in $(seq 1 100); do
        tree_port=$(sed -n 's|^serving https://localhost:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$tree_port" ] && return 0
        sleep 0.1
    done
    cat "$log" >&2
    exit 1
}
start_ours() {
    start_tree "$repo" "$@"
    ours_pid=$tree_pid ours_port=$tree_port
    base_pid="" base_port=""
    if [ -n "$baseline" ]; then
        start_tree "$baseline" "$@"
        base_pid=$tree_pid base_port=$tree_port
    fi
}
stop_ours() {
    kill "$ours_pid" $base_pid
    wait "$ours_pid" $base_pid 2>/dev/null || true
}

# The page nginx serves: the bytes serve.lua serves, fetched once.
start_ours "$work/p384"
mkdir -p "$work/html" "$work/nginx/logs"
curl -sS --fail -k -o "$work/html/index.html" "https://127.0.0.1:$ours_port/"
chmod -R a+rX "$work/html"
stop_ours
page_bytes=$(wc -c <"$work/html/index.html")

ngx_pid=""
ngx_port=""
ngx_workers=""
# start_nginx CHAIN on|off: session cache and tickets on or off
start_nginx() {
    local conf=$work/nginx/nginx.conf cache tickets
    if [ "$2" = on ]; then
        cache="shared:SSL:1m"; tickets=on
    else
        cache=off; tickets=off
    fi
    ngx_port=$(free_port)
    cat >"$conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    open_file_cache max=16;
    server {
        listen 127.0.0.1:$ngx_port ssl;
        ssl_certificate $1/server-chain.pem;
        ssl_certificate_key $1/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_session_cache $cache;
        ssl_session_tickets $tickets;
        root $work/html;
        location = / {
            default_type "text/html; charset=utf-8";
            add_header X-Content-Type-Options nosniff;
            add_header Content-Security-Policy "default-src 'self'; style-src 'self' 'unsafe-inline'";
        }
    }
}
EOF
    "${session[@]}" "${on_server[@]}" "$NGINX" -c "$conf" -p "$work/nginx/" >"$work/nginx/out.log" 2>&1 &
    ngx_pid=$!
    pids+=("$ngx_pid")
    for _ in $(seq 1 100); do
        ngx_workers=$(pgrep -P "$ngx_pid" | tr '\n' ' ')
        [ -n "$ngx_workers" ] && [ -n "$(ss -Hltn "sport = :$ngx_port")" ] && return 0
        sleep 0.1
    done
    cat "$work/nginx/out.log" "$work/nginx/logs/error.log" >&2
    exit 1
}
stop_nginx() { kill -TERM "$ngx_pid"; wait "$ngx_pid" 2>/dev/null || true; }

# load NAME PORT PIDS [wrk args...]: one wrk run; appends
# "rps p99_us errors cpu_us_per_request" to $work/NAME
load() {
    local name=$1 port=$2 procs=$3 t0 t1 out rps p99 errs reqs
    shift 3
    t0=$(cpu_ticks $procs)
    out=$("${session[@]}" "${on_client[@]}" wrk -t"$wrk_threads" -c"$conns" -d"${dur}s" --latency "$@" "https://127.0.0.1:$port/")
    t1=$(cpu_ticks $procs)
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u);
               print (u == "s" ? v * 1e6 : u == "ms" ? v * 1e3 : v) }' <<<"$out")
    errs=$(awk '/Socket errors|Non-2xx/ { s = s $0 " " } END { print (s == "" ? 0 : 1) }' <<<"$out")
    [ "$errs" = 0 ] || echo "  $name: $(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ')" >&2
    echo "$rps $p99 $errs $(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$reqs" \
        'BEGIN { printf "%.1f", n ? d / hz * 1e6 / n : 0 }')" >>"$work/$name"
}

close=(-H "Connection: close")
idle_ours="" idle_ngx="" peak_ours=0 peak_ngx=0 idle_base="" peak_base=0
note_peak() {
    local a b c
    a=$(rss VmHWM "$ours_pid"); b=$(rss VmHWM $ngx_workers)
    [ "$a" -gt "$peak_ours" ] && peak_ours=$a
    [ "$b" -gt "$peak_ngx" ] && peak_ngx=$b
    if [ -n "$base_pid" ]; then
        c=$(rss VmHWM "$base_pid")
        [ "$c" -gt "$peak_base" ] && peak_base=$c
    fi
    return 0
}

echo "serve.lua vs nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'): $page_bytes-byte page," \
    "$conns connections, $runs x ${dur}s per figure, $placement" >&2

# 1. Resumption on (both servers' defaults): keep-alive and resumed handshakes.
start_ours "$work/p384"
start_nginx "$work/p384" on
curl -sS -k -o /dev/null "https://127.0.0.1:$ours_port/"
curl -sS -k -o /dev/null "https://127.0.0.1:$ngx_port/"
[ -z "$base_pid" ] || curl -sS -k -o /dev/null "https://127.0.0.1:$base_port/"
sleep 0.5
idle_ours=$(rss VmRSS "$ours_pid")
[ -z "$base_pid" ] || idle_base=$(rss VmRSS "$base_pid")
idle_ngx=$(rss VmRSS $ngx_workers)
idle_ngx_master=$(rss VmRSS "$ngx_pid")
for i in $(seq 1 "$runs"); do
    load ka_ours "$ours_port" "$ours_pid"
    load ka_ngx "$ngx_port" "$ngx_workers"
    load res_ours "$ours_port" "$ours_pid" "${close[@]}"
    load res_ngx "$ngx_port" "$ngx_workers" "${close[@]}"
    if [ -n "$base_pid" ]; then
        load ka_base "$base_port" "$base_pid"
        load res_base "$base_port" "$base_pid" "${close[@]}"
    fi
    echo "  run $i/$runs: keep-alive, resumed" >&2
done
note_peak
idle_after_ours=$(rss VmRSS "$ours_pid")
stop_ours
stop_nginx

# 1b. Optional: nothing pinned, wrk on two threads, keep-alive only.
if [ -n "${UNPINNED:-}" ]; then
    saved_pin=$pin
    pin=0 wrk_threads=2
    set_pinning
    start_ours "$work/p384"
    start_nginx "$work/p384" on
    for i in $(seq 1 "$runs"); do
        load un_ours "$ours_port" "$ours_pid"
        load un_ngx "$ngx_port" "$ngx_workers"
    done
    echo "  unpinned keep-alive" >&2
    stop_ours
    stop_nginx
    pin=$saved_pin wrk_threads=1
    set_pinning
fi

# 2. Resumption off on both: every request a full handshake, P-384 then P-256.
for curve in p384 p256; do
    start_ours "$work/$curve" --no-resumption
    start_nginx "$work/$curve" off
    for i in $(seq 1 "$runs"); do
        load "full_${curve}_ours" "$ours_port" "$ours_pid" "${close[@]}"
        load "full_${curve}_ngx" "$ngx_port" "$ngx_workers" "${close[@]}"
        [ -z "$base_pid" ] || load "full_${curve}_base" "$base_port" "$base_pid" "${close[@]}"
    done
    echo "  full handshakes, $curve leaf" >&2
    note_peak
    stop_ours
    stop_nginx
done

# col FILE N: the median of column N
col() { awk -v n="$2" '{ print $n }' "$work/$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }'; }
# ratio: requests/s, ours over nginx's; CPU ratio: nginx's server CPU time
# per request over ours, steadier than the first on a shared machine.
row() {
    local what=$1 ours=$2 ngx=$3 target=$4
    local ro rn co cn
    ro=$(col "$ours" 1); rn=$(col "$ngx" 1)
    co=$(col "$ours" 4); cn=$(col "$ngx" 4)
    printf '| %s | %.0f | %.0f | **%s×** | %s× | %s | %.1f | %.1f | %s | %s |\n' "$what" \
        "$ro" "$rn" "$(ratio "$ro" "$rn")" "$(ratio "$cn" "$co")" "$target" \
        "$(ratio "$(col "$ours" 2)" 1000)" "$(ratio "$(col "$ngx" 2)" 1000)" "$co" "$cn"
}

echo
echo "| figure | serve.lua req/s | nginx req/s | ratio | CPU ratio | target | serve.lua p99 ms | nginx p99 ms | serve.lua CPU µs/req | nginx CPU µs/req |"
echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"
row "keep-alive, $conns connections" ka_ours ka_ngx "≥ 0.9×"
[ -n "${UNPINNED:-}" ] && row "keep-alive, unpinned, wrk -t2" un_ours un_ngx ""
row "Connection: close, full handshake, P-384 leaf" full_p384_ours full_p384_ngx "≥ 1.0×"
row "Connection: close, full handshake, P-256 leaf" full_p256_ours full_p256_ngx "≥ 1.0×"
row "Connection: close, resumed handshake, P-384 leaf" res_ours res_ngx ""
echo
echo "| RSS | serve.lua | nginx worker (+ master) | target |"
echo "|---|---:|---:|---|"
printf '| idle, after one request | %.1f MB | %.1f MB (+ %.1f MB) | ≤ 10 MB |\n' \
    "$(ratio "$idle_ours" 1024)" "$(ratio "$idle_ngx" 1024)" "$(ratio "$idle_ngx_master" 1024)"
printf '| peak under load (VmHWM) | %.1f MB | %.1f MB | ≤ 20 MB |\n' \
    "$(ratio "$peak_ours" 1024)" "$(ratio "$peak_ngx" 1024)"
printf '| idle again after the keep-alive and resumed runs | %.1f MB | | |\n' \
    "$(ratio "$idle_after_ours" 1024)"

if [ -n "$baseline" ]; then
    echo
    echo "BASELINE $baseline ($(git -C "$baseline" log -1 --format=%h 2>/dev/null || echo "not a git tree")), the same runs:"
    echo
    echo "| figure | baseline req/s | nginx req/s | ratio | CPU ratio | target | baseline p99 ms | nginx p99 ms | baseline CPU µs/req | nginx CPU µs/req |"
    echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"
    row "keep-alive, $conns connections" ka_base ka_ngx "≥ 0.9×"
    row "Connection: close, full handshake, P-384 leaf" full_p384_base full_p384_ngx "≥ 1.0×"
    row "Connection: close, full handshake, P-256 leaf" full_p256_base full_p256_ngx "≥ 1.0×"
    row "Connection: close, resumed handshake, P-384 leaf" res_base res_ngx ""
    printf '\n| baseline RSS idle, after one request | %.1f MB |\n| baseline peak under load (VmHWM) | %.1f MB |\n' \
        "$(ratio "$idle_base" 1024)" "$(ratio "$peak_base" 1024)"
fi
