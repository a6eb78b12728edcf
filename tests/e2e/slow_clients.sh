# Slow and idle clients do not take the server down (issue 15 section 1):
# while 300 idle and 64 slow-body connections are held open (slow_clients.py
# says how), every probe over HTTPS and plain HTTP is answered within 2 s,
# and the server closes each attacker within the deadline it promises.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
start_server "$tmp/serve.log" --chain "$out" --http-port 0 || { bad "server start"; finish; exit 1; }
contains "OCSP is served (the slow bodies post to it)" "$tmp/serve.log" "OCSP at /ocsp"
http_port=$(sed -n 's|^plain http://localhost:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
# one source address per 30 connections: 127.0.0.2 and up (Linux routes
# all of 127/8 to lo)
check "hostile clients held off" python3 "$repo/tests/e2e/slow_clients.py" "$port" \
    "$http_port" "$out/root.pem"
cat "$tmp/last.out"
check "server still answers" curl -sS --fail --max-time 5 --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
