# Issue 3's "done when", end to end with the real commands: a client
# certificate issued by issue.lua (from names, and from a CSR made by openssl)
# gets into serve.lua --require-client-cert; a peer certificate serves and
# authenticates; a server certificate from issue.lua is not a client; example.com
# cannot be issued under the default chain.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
out=$tmp/issued
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" --out "$out" "$@"
}

check "build_chain" build_chain --out "$chain"
check "issue a client certificate from names" issue --profile client --name alice.test
check "issue a client certificate from a CSR" sh -c "
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout '$tmp/bob.key' -subj '/CN=bob.test' -out '$tmp/bob.csr' 2>/dev/null &&
    LD_PRELOAD='$lua_preload' '$LUA' '$repo/scripts/issue.lua' --chain '$chain' --out '$out' \
        --profile client --csr '$tmp/bob.csr'"
check "issue a peer certificate" issue --profile peer --name peer.test --name 127.0.0.1
check "issue a server certificate" issue --profile server --name web.test

refuse "example.com is not issued" issue --profile client --name example.com
contains "the refusal names the rule" "$tmp/last.out" "rule name-constraints"
[ ! -e "$out/example.com.pem" ] && ok || bad "nothing written for example.com"

alice_serial=$(openssl x509 -in "$out/alice.test.pem" -noout -serial | cut -d= -f2)
bob_serial=$(openssl x509 -in "$out/bob.test.pem" -noout -serial | cut -d= -f2)
peer_serial=$(openssl x509 -in "$out/peer.test.pem" -noout -serial | cut -d= -f2)

# get CERT KEY OUT: the hello page as that client.
get() {
    curl -sS --fail --max-time 10 --cacert "$chain/root.pem" \
        --resolve "localhost:$port:127.0.0.1" --cert "$1" --key "$2" -o "$3" \
        "https://localhost:$port/"
}

start_server "$tmp/serve.log" --chain "$chain" --require-client-cert \
    || { bad "start"; finish; exit 1; }
check "alice (from names) gets in" get "$out/alice.test.pem" "$out/alice.test.key" "$tmp/a.html"
contains "alice is greeted by serial" "$tmp/a.html" "CN=alice.test (serial $alice_serial)"
check "bob (from his CSR) gets in" get "$out/bob.test.pem" "$tmp/bob.key" "$tmp/b.html"
contains "bob is greeted by serial" "$tmp/b.html" "CN=bob.test (serial $bob_serial)"
check "the peer certificate is a client too" \
    get "$out/peer.test.pem" "$out/peer.test.key" "$tmp/p.html"
contains "the peer is greeted" "$tmp/p.html" "(serial $peer_serial)"
refuse "a server certificate is not a client" \
    get "$out/web.test.pem" "$out/web.test.key" "$tmp/w.html"
stop_server TERM && ok || bad "stop"

# The peer certificate also serves: serve.lua from a folder holding it as the
# server's files, a client verifying it by IP against the root.
mkdir -p "$tmp/peerchain"
cp "$chain/root.pem" "$chain/intermediate.pem" "$tmp/peerchain/"
cp "$out/peer.test-chain.pem" "$tmp/peerchain/server-chain.pem"
cp "$out/peer.test.pem" "$tmp/peerchain/server.pem"
cp "$out/peer.test.key" "$tmp/peerchain/server.key"
start_server "$tmp/peer.log" --chain "$tmp/peerchain" --client-ca "$chain/root.pem" \
    --require-client-cert || { bad "start peer"; finish; exit 1; }
check "peer serves to alice, verified as 127.0.0.1" curl -sS --fail --max-time 10 \
    --cacert "$chain/root.pem" --cert "$out/alice.test.pem" --key "$out/alice.test.key" \
    -o "$tmp/peer-served.html" "https://127.0.0.1:$port/"
contains "peer greets alice" "$tmp/peer-served.html" "(serial $alice_serial)"
stop_server TERM && ok || bad "stop peer"

finish
