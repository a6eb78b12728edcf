#!/bin/bash
# Validations per second through the ACME validation worker, against
# pebble-challtestsrv's own http-01, tls-alpn-01 and DNS responders (the
# ones Let's Encrypt tests with), beside a bare libcurl GET loop on one
# thread for http-01. Measures; asserts nothing.
#   bench/acme_validate.sh            N=2000, workers 1 and 8
#   N=500 bench/acme_validate.sh
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${CS_BUILD_DIR:-$here/build}
bin=$build/acme_validate_bench
n=${N:-2000}

[ -x "$bin" ] || { echo "no $bin: build first (cmake --build build)" >&2; exit 1; }
command -v pebble-challtestsrv >/dev/null ||
    { echo "no pebble-challtestsrv: tools/setup.sh --test installs pebble" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
dns=$(free_port); mgmt=$(free_port); http=$(free_port); tls=$(free_port)
log=$(mktemp)
pebble-challtestsrv -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$mgmt" \
    -http01 "127.0.0.1:$http" -https01 "" -tlsalpn01 "127.0.0.1:$tls" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$mgmt/" && break
    sleep 0.05
done

ka=bench-token.THUMB
digest=$(printf '%s' "$ka" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
post() { curl -sf -o /dev/null -d "$2" "http://127.0.0.1:$mgmt/$1"; }
post add-http01 "{\"token\":\"bench-token\",\"content\":\"$ka\"}"
post add-tlsalpn01 "{\"host\":\"bench.test\",\"content\":\"$ka\"}"
post set-txt "{\"host\":\"_acme-challenge.bench.test.\",\"value\":\"$digest\"}"

echo "# $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1-3 /proc/loadavg), N=$n"
"$bin" http-floor "$n" 1 "$http" "$tls" "127.0.0.1:$dns"
for mode in http-01 tls-alpn-01 dns-01; do
    for workers in 1 8; do
        "$bin" "$mode" "$n" "$workers" "$http" "$tls" "127.0.0.1:$dns"
    done
done
