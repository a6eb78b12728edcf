#!/bin/bash
# Where the idle server's RSS is: scripts/serve.lua (OCSP responder on, plain
# HTTP port, defaults otherwise) after one HTTPS page, its /proc/PID/smaps
# summed by kind: each shared library, the worker stacks (CivetWeb's 256 KiB
# thread stacks), the heap and the other anonymous memory. With
# BASELINE=/other/tree (built), that tree's server too, in the same run.
# SERVE_ARGS adds serve.lua flags (e.g. "--threads 64"); the environment
# passes through (e.g. MALLOC_ARENA_MAX=2).
# A benchmark, not a test: it asserts nothing.
# shellcheck disable=SC2086 # SERVE_ARGS is split on purpose
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
LUA=${LUA:-lua5.4}
baseline=${BASELINE:-}
work=$(mktemp -d /tmp/cs-bench-rss-XXXXXX)
pid=""
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

LUA_CPATH="$repo/build/?.so;;" "$LUA" "$repo/scripts/build_chain.lua" --out "$work/chain" >/dev/null

measure() { # measure TREE LABEL
    local tree=$1 port=""
    LUA_CPATH="$tree/build/?.so;;" "$LUA" "$tree/scripts/serve.lua" --chain "$work/chain" \
        --port 0 --http-port 0 --json ${SERVE_ARGS:-} >"$work/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        port=$(sed -n 's|^{.*"https":{[^}]*"port":\([0-9]*\).*|\1|p' "$work/serve.log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    curl -sS --fail --max-time 10 --cacert "$work/chain/root.pem" \
        --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
    sleep 1
    python3 - "$pid" "$2" <<'PY'
import re, sys
pid, label = sys.argv[1], sys.argv[2]
kinds, other, prev, cur = {}, {}, None, None
for line in open(f"/proc/{pid}/smaps"):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        lo, hi, perm, path = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
        if path.startswith("/"):
            cur = path.rsplit("/", 1)[1]
        elif path:
            cur = path
        elif (perm == "rw-p" and hi - lo == 256 * 1024 and prev and prev[2] == "---p"
              and prev[1] == lo):
            cur = "worker stacks (256 KiB each)"
        else:
            cur = "other anonymous (malloc arenas, TLS caches)"
        prev = (lo, hi, perm)
    elif line.startswith("Rss:"):
        kinds[cur] = kinds.get(cur, 0) + int(line.split()[1])
    elif line.startswith(("Private_Dirty:", "Pss:")):
        key = line.split(":")[0]
        other[key] = other.get(key, 0) + int(line.split()[1])
total = sum(kinds.values())
print(f"\n{label}: VmRSS {total / 1024:.1f} MB, PSS {other['Pss'] / 1024:.1f} MB, "
      f"private dirty {other['Private_Dirty'] / 1024:.1f} MB")
for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]):
    if v >= 64:
        print(f"  {v / 1024:6.2f} MB  {k}")
small = [v for v in kinds.values() if v < 64]
print(f"  {sum(small) / 1024:6.2f} MB  the rest ({len(small)} mappings under 64 kB)")
PY
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$baseline" ] || measure "$baseline" "baseline $baseline"
measure "$repo" "this tree"
