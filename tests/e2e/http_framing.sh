# One meaning for every request (issue 15 section 3): ambiguous framing is a
# 400 and the connection is closed, so a request pipelined behind it is
# never served; over HTTPS and plain HTTP, with raw sockets (http_framing.py).
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
start_server "$tmp/serve.log" --chain "$out" --http-port 0 || { bad "server start"; finish; exit 1; }
contains "OCSP is served" "$tmp/serve.log" "OCSP at /ocsp"
check "ambiguous framing refused" python3 "$repo/tests/e2e/http_framing.py" "$port" \
    "$http_port" "$out/root.pem"
cat "$tmp/last.out"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
