# Where certificates point: root.lua's public_base_url is the "{base}" of
# every CRL and OCSP URL the profiles put in certificates, and serve.lua's
# plain-HTTP listener defaults to its port. A chain built with a base on a
# free port: the leaf's and intermediate's URLs carry it, serve.lua listens
# there with no --http-port, and `openssl ocsp` reaches the responder at the
# URL read from the certificate. --http-port elsewhere warns; the port taken
# warns with what it means.
. "$(dirname "$0")/lib.sh"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

chain=$tmp/chain
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"
base_port=$(free_port)
https_port=$(free_port)
sed -i "s|public_base_url = \"http://localhost:8080\"|public_base_url = \"http://localhost:$base_port\"|" \
    "$profiles/root.lua"
contains "root.lua edited" "$profiles/root.lua" "http://localhost:$base_port"
check "build" build_chain --out "$chain" --profiles "$profiles"

ocsp_url=$(openssl x509 -in "$chain/server.pem" -noout -ocsp_uri)
equal "leaf OCSP URL" "$ocsp_url" "http://localhost:$base_port/ocsp"
openssl x509 -in "$chain/server.pem" -noout -ext crlDistributionPoints >"$tmp/leaf_crl" 2>&1
contains "leaf CRL DP" "$tmp/leaf_crl" "URI:http://localhost:$base_port/crl/intermediate.crl"
openssl x509 -in "$chain/intermediate.pem" -noout -ext crlDistributionPoints >"$tmp/int_crl" 2>&1
contains "intermediate CRL DP" "$tmp/int_crl" "URI:http://localhost:$base_port/crl/root.crl"
check "client issued" lua "$repo/scripts/issue.lua" --chain "$chain" --profiles "$profiles" \
    --profile client --name alice.test --out "$tmp/issued"
equal "client OCSP URL" "$(openssl x509 -in "$tmp/issued/alice.test.pem" -noout -ocsp_uri)" \
    "http://localhost:$base_port/ocsp"

# serve.lua with no --http-port listens on the base URL's port
LD_PRELOAD=$lua_preload "$LUA" "$repo/scripts/serve.lua" --chain "$chain" --port "$https_port" \
    >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q '^serial' "$tmp/serve.log" && break
    sleep 0.1
done
contains "plain port from the base URL" "$tmp/serve.log" "plain http://localhost:$base_port/"
check "openssl ocsp at the certificate's URL" openssl ocsp -issuer "$chain/intermediate.pem" \
    -cert "$chain/server.pem" -url "$ocsp_url" -CAfile "$chain/root.pem"
contains "good" "$tmp/last.out" "server.pem: good"
check "CRL at the certificate's URL" curl -sSf -o "$tmp/got.crl" \
    "http://localhost:$base_port/crl/intermediate.crl"
check "CRL parses" openssl crl -inform DER -in "$tmp/got.crl" -noout
stop_server TERM

# --http-port elsewhere: serves there, warns that certificates point elsewhere
other=$(free_port)
start_server "$tmp/other.log" --chain "$chain" --http-port "$other"
contains "elsewhere warned" "$tmp/other.log" \
    "--http-port $other, but the certificates name http://localhost:$base_port"
stop_server TERM

# the base port taken: https still served, the warning says what it means
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("ready", flush=True); time.sleep(60)' \
    "$base_port" >"$tmp/holder.out" &
holder=$!
for _ in $(seq 1 50); do grep -q ready "$tmp/holder.out" && break; sleep 0.1; done
LD_PRELOAD=$lua_preload "$LUA" "$repo/scripts/serve.lua" --chain "$chain" --port "$https_port" \
    >"$tmp/taken.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q '^serial' "$tmp/taken.log" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
contains "fallback says what it means" "$tmp/taken.log" \
    "Certificates name http://localhost:$base_port/...: their CRL and OCSP checks will reach whoever listens there, or fail"
contains "https still served" "$tmp/taken.log" "serving https://localhost:$https_port/"
stop_server TERM
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# a base URL with a path: one line naming the field, nothing written
cp -r "$repo/scripts/profiles" "$tmp/badprofiles"
sed -i 's|public_base_url = "http://localhost:8080"|public_base_url = "http://localhost:8080/pki/"|' \
    "$tmp/badprofiles/root.lua"
refuse "bad base refused" build_chain --out "$tmp/badchain" --profiles "$tmp/badprofiles"
contains "bad base named" "$tmp/last.out" "root.lua: public_base_url: 'http://localhost:8080/pki/'"
equal "bad base one line" "$(wc -l <"$tmp/last.out")" 1
refuse "nothing written" test -e "$tmp/badchain"

finish
