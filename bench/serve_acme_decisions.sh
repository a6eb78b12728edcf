#!/bin/bash
# The cost of a Lua decision on an ACME request (serve.lua --acme): requests
# that wait for the serve loop's answer beside one that does not, same
# server, same client, same run (bench/serve_acme_decisions.py says what is
# timed). Measures; never asserts. Knobs: N (200) requests per kind.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-200}
LUA=${LUA:-lua5.4}
tmp=$(mktemp -d /tmp/cs-bench-acme-XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$LUA" "$repo/scripts/build_chain.lua" --out "$tmp/chain" >/dev/null
"$LUA" "$repo/scripts/serve.lua" --chain "$tmp/chain" --port 0 --json --acme \
    --acme-resolve '*.app.test=127.0.0.1' >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do
    grep -q '"acme"' "$tmp/serve.out" 2>/dev/null && break
    sleep 0.1
done
directory=$(sed -n 's|^{.*"https":{"acme":"\([^"]*\)".*|\1|p' "$tmp/serve.out" | sed 's|\\/|/|g')
echo "serve.lua --acme at $directory; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
/usr/bin/python3 "$repo/bench/serve_acme_decisions.py" "$directory" "$tmp/chain/root.pem" "$N"
