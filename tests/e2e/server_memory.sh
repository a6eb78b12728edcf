# What the server's workers hold (issue 15 section 4, docs/serve.md "Memory"):
# - their stacks are 256 KiB, not 8 MiB, so 256 workers start under an
#   address-space limit of 1 GiB (they reserved 2 GiB before);
# - connections go to the free worker with the lowest index (CivetWeb's
#   ALTERNATIVE_QUEUE), so 100 TLS connections one after the other warm a
#   few workers, not all 256: at most 8 worker stacks hold more than the
#   8 KiB an idle worker touches (seen: 1 at 28 KiB, the other 255 at 8).
#   With CivetWeb's shared queue every worker served in turn and all 256
#   held 28 KiB (7 MB) after the same 100.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"

# Under the sanitizers the runtime reserves terabytes of shadow memory: no
# address-space limit there.
if [ -z "$lua_preload" ]; then
    (
        ulimit -v 1048576
        start_server "$tmp/limited.log" --chain "$out" --http-port 0 || { kill "$server_pid" 2>/dev/null; exit 1; }
        curl -sS --fail --max-time 5 --cacert "$out/root.pem" \
            --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
        status=$?
        stop_server TERM || status=1
        exit $status
    ) >"$tmp/limited.out" 2>&1 && ok || { bad "256 workers under ulimit -v 1 GiB"; cat "$tmp/limited.out" "$tmp/limited.log" >&2; }
fi

start_server "$tmp/serve.log" --chain "$out" --http-port 0 || { bad "server start"; finish; exit 1; }
check "100 TLS connections" python3 - "$port" "$out/root.pem" <<'EOF'
import socket, ssl, sys
port, root = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=root)
for _ in range(100):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
EOF
check "100 connections warmed at most 8 workers" python3 - "$server_pid" <<'EOF'
import re, sys
# A thread stack CivetWeb made: a 256 KiB read-write anonymous mapping right
# above its 4 KiB guard page.
stacks, prev, cur = [], None, None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        cur = None
        if (m.group(3) == "rw-p" and not m.group(4) and hi - lo == 256 * 1024 and prev
                and prev[2] == "---p" and prev[1] == lo and prev[1] - prev[0] == 4096):
            cur = [lo, 0]
            stacks.append(cur)
        prev = (lo, hi, m.group(3))
    elif line.startswith("Rss:") and cur is not None:
        cur[1] = int(line.split()[1])
rss = sorted(kb for _, kb in stacks)
print(f"{len(rss)} stacks, RSS kB: max {rss[-1] if rss else '-'}, total {sum(rss)}")
warm = [kb for kb in rss if kb > 12]
print(f"{len(warm)} stacks over 12 kB")
sys.exit(0 if len(rss) >= 256 and len(warm) <= 8 else 1)
EOF
cat "$tmp/last.out"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
