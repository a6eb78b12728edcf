# The cap per client address holds on the plain-HTTP port too (issue 15
# section 1, docs/serve.md): with --per-address 4, four slow OCSP posts from
# 127.0.0.1 hold their workers and a fifth request from the same address is
# answered 503, while another address (127.0.0.2) is still served.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
start_server "$tmp/serve.log" --chain "$out" --http-port 0 --per-address 4 \
    || { bad "server start"; finish; exit 1; }
check "a fifth plain connection from one address is refused" python3 - "$http_port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def get(source):
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(source, 0)) as s:
        s.sendall(b"GET /crl/intermediate.crl HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        return s.recv(64)[:12]
slow = []
for _ in range(4):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Type: application/ocsp-request\r\nContent-Length: 100\r\n\r\nx")
    slow.append(s)
time.sleep(0.5)
same, other = get("127.0.0.1"), get("127.0.0.2")
print("same address:", same, "other address:", other)
sys.exit(0 if same == b"HTTP/1.1 503" and other == b"HTTP/1.1 200" else 1)
PY
cat "$tmp/last.out"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
