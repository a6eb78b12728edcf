#!/bin/bash
# ACME orders completed per second (issue 12 section 5): Debian's pebble
# (PEBBLE_VA_NOSLEEP=1, the oracle) and chainsmith's `serve.lua --acme`,
# driven by the same client (build/acme_orders, bench/acme_orders.c; the
# older Python one, bench/acme_orders.py, with DRIVER=py) in the same run,
# with many accounts at once. Reports orders/s, p50/p99 of a complete order
# (newOrder -> http-01 -> finalize -> download), the server's peak RSS,
# and chainsmith's rate as a multiple of pebble's. A benchmark: it asserts
# nothing.
#
#   bench/acme_orders.sh                  # ORDERS=500 per server, ACCOUNTS=32
#   QUICK=1 bench/acme_orders.sh          # ORDERS=200
#   SERVERS=pebble ACCOUNTS=64 PROCS=2 POLL_MS=20 bench/acme_orders.sh
#   SERVERS=chainsmith SERVE_LOG=/tmp/serve.log bench/acme_orders.sh
#   DRIVER=py PROCS=2 bench/acme_orders.sh   # the Python client (~20 ms CPU per order)
#   ROUNDS=2 bench/acme_orders.sh         # pebble, chainsmith, pebble, chainsmith
#   PERF=/tmp/acme.perf bench/acme_orders.sh  # perf record of each server: /tmp/acme.perf.NAME
#   TIMEOUT=20 bench/acme_orders.sh       # a request unanswered 20 s is a stall (default 60)
#   SERVERS="pebble baseline chainsmith" BASELINE=/work/main bench/acme_orders.sh
#                                         # baseline: another tree's serve.lua (built there)
#
# chainsmith runs when serve.lua has --acme; otherwise its row says so.
# Both servers see the same validation set-up: names *.bench.test resolve
# to 127.0.0.1 (pebble through pebble-challtestsrv's DNS, chainsmith through
# --acme-resolve) and http-01 is answered by pebble-challtestsrv.
# Placement: nothing pinned -- on 2 cores, server and client share them.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
orders=${ORDERS:-500}
[ -n "${QUICK:-}" ] && orders=${ORDERS:-200}
accounts=${ACCOUNTS:-32}
procs=${PROCS:-2}
poll=${POLL_MS:-20}
servers=${SERVERS:-pebble chainsmith}
rounds=${ROUNDS:-1}
driver=${DRIVER:-c}
driver_bin=${CS_BUILD_DIR:-$repo/build}/acme_orders
LUA=${LUA:-lua5.4}
if [ "$driver" = c ] && [ ! -x "$driver_bin" ]; then
    echo "no $driver_bin: build first (cmake --build build --target acme_orders)" >&2
    exit 1
fi

# the test harness's helpers: free ports, the TLS cert, pebble's start
. "$repo/tests/e2e/lib.sh"
. "$repo/tests/e2e/acmelib.sh"

read -r ACME_HTTP_PORT ACME_TLS_PORT dns dnsm p1 m1 <<<"$(free_ports 6)"
export ACME_HTTP_PORT ACME_TLS_PORT
# challtestsrv answers http-01 here (the tests' clients answer their own)
pebble-challtestsrv -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$dnsm" \
    -http01 "127.0.0.1:$ACME_HTTP_PORT" -https01 "" -tlsalpn01 "" \
    -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$tmp/challtestsrv.log" 2>&1 &
acme_pids="$acme_pids $!"
export ACME_DNS=127.0.0.1:$dns
challtestsrv=http://127.0.0.1:$dnsm
wait_http "$challtestsrv/dns-request-history" || exit 1

# drive NAME PID DIRECTORY CA: one measured run; appends a row to
# $tmp/rows unless the server stalled (then returns 3, nothing appended).
drive() {
    local result status=0 perf_pid=""
    # PERF=PREFIX: record the server's profile during the run (PREFIX.NAME)
    if [ -n "${PERF:-}" ]; then
        perf record -q -F 499 -g -p "$2" -o "$PERF.$1" 2>/dev/null &
        perf_pid=$!
    fi
    if [ "$driver" = c ]; then
        result=$("$driver_bin" --directory "$3" --ca-bundle "$4" \
            --challtestsrv "$challtestsrv" --accounts "$accounts" --orders "$orders" \
            --poll-ms "$poll" --server-pid "$2" --timeout "${TIMEOUT:-60}") || status=$?
    else
        result=$("$PY" "$repo/bench/acme_orders.py" --directory "$3" --ca-bundle "$4" \
            --challtestsrv "$challtestsrv" --accounts "$accounts" --orders "$orders" \
            --procs "$procs" --poll-ms "$poll" --server-pid "$2" --timeout "${TIMEOUT:-60}") || status=$?
    fi
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"
        wait "$perf_pid" 2>/dev/null
    fi
    echo "$1: $result" >&2
    [ "$status" = 3 ] && return 3
    echo "$1 $result" >>"$tmp/rows"
}

: >"$tmp/rows"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$tmp/load"
for server in $(for _ in $(seq 1 "$rounds"); do echo $servers; done); do
    case $server in
    pebble)
        # pebble 2.4.0 sometimes wedges under this load (every request
        # waits on its store lock): a stalled run is dropped and the next
        # attempt gets a fresh pebble; the table says how many stalled.
        make_tls_cert "$tmp/tls" || exit 1
        stalls=0
        for _ in $(seq 1 "${ATTEMPTS:-4}"); do
            start_pebble pebble "$p1" "$m1"
            pid=${acme_pids##* }
            wait_http "https://127.0.0.1:$p1/dir" --cacert "$tmp/tls/ca.pem" || { cat "$tmp/pebble.log"; exit 1; }
            drive pebble "$pid" "https://127.0.0.1:$p1/dir" "$tmp/tls/ca.pem"
            status=$?
            kill "$pid"
            wait "$pid" 2>/dev/null
            [ "$status" = 3 ] || break
            stalls=$((stalls + 1))
        done
        echo "$stalls" >"$tmp/pebble.stalls"
        [ "$status" = 3 ] && echo "pebble {\"note\": \"stalled in all $stalls attempts\"}" >>"$tmp/rows"
        ;;
    chainsmith | baseline)
        # baseline: serve.lua of the tree in BASELINE (its build/pki.so)
        here=$repo
        if [ "$server" = baseline ]; then
            [ -f "${BASELINE:-}/scripts/serve.lua" ] ||
                { echo "baseline: BASELINE=$BASELINE has no scripts/serve.lua" >&2; exit 2; }
            repo=$BASELINE
        fi
        if ! lua "$repo/scripts/serve.lua" --help 2>/dev/null | grep -q -- '--acme-resolve'; then
            repo=$here
            echo "$server {\"note\": \"chainsmith ACME not built (serve.lua has no --acme)\"}" >>"$tmp/rows"
            continue
        fi
        rm -rf "$tmp/chain" # a fresh CA and ca.db for every run
        build_chain --out "$tmp/chain" >/dev/null || exit 1
        start_server "$tmp/serve.log" --chain "$tmp/chain" --acme --acme-http-port "$ACME_HTTP_PORT" \
            --acme-tls-port "$ACME_TLS_PORT" --acme-resolve '*.test=127.0.0.1' \
            --acme-dns-resolver "$ACME_DNS" || exit 1
        repo=$here
        directory=$(acme_directory_of "$tmp/serve.log")
        drive "$server" "$server_pid" "$directory" "$tmp/chain/root.pem"
        stop_server TERM
        # SERVE_LOG=FILE: keep serve.lua's log (its decisions, any error)
        [ -n "${SERVE_LOG:-}" ] && cp "$tmp/serve.log" "$SERVE_LOG"
        ;;
    *) echo "unknown server '$server' (pebble, chainsmith, baseline)" >&2; exit 2 ;;
    esac
done

echo
echo "ACME orders: $orders orders, $accounts accounts at once, driver $driver, polls every $poll ms"
echo "$(date -u '+%F %H:%M') UTC; $(cat "$tmp/load"); after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -s "$tmp/pebble.stalls" ] && [ "$(cat "$tmp/pebble.stalls")" != 0 ] &&
    echo "pebble stalled (wedged on its store lock) in $(cat "$tmp/pebble.stalls") attempt(s) before this run"
"$PY" - "$tmp/rows" <<'EOF'
import json, sys
rows = []
for line in open(sys.argv[1]):
    name, result = line.split(" ", 1)
    rows.append((name, json.loads(result)))
base = None  # the pebble row before (with ROUNDS, the same round's)
print("| server | orders/s | per server CPU-s | p50 ms | p99 ms | errors | RSS idle / peak MB "
      "| client CPU ms/order | vs pebble |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, r in rows:
    if "note" in r:
        print(f"| {name} | {r['note']} | | | | | | | |")
        continue
    if name == "pebble":
        base = r["orders_per_s"]
    rss = f"{r['rss_idle_kb'] / 1024:.1f} / {r['rss_peak_kb'] / 1024:.1f}"
    ratio = f"{r['orders_per_s'] / base:.2f}x" if base and r["orders_per_s"] else ""
    per_cpu = f"{r['orders'] / r['server_cpu_s']:.0f}" if r.get("server_cpu_s") else "-"
    client = f"{r['client_cpu_s'] * 1000 / r['orders']:.2f}" if r["orders"] else "-"
    print(f"| {name} | {r['orders_per_s']:.1f} | {per_cpu} | {r['p50_ms'] or 0:.0f} | {r['p99_ms'] or 0:.0f} "
          f"| {r['errors']} | {rss} | {client} | {ratio} |")
    if r.get("first_error"):
        print(f"  {name} first error: {r['first_error']}")
print()
print("Where an order's time goes (mean ms per step; status reads while waiting per order):")
for name, r in rows:
    if r.get("phase_ms"):
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["phase_ms"].items())
        print(f"  {name}: {steps}; {r['polls_per_order'] or 0:.1f} polls")
EOF
