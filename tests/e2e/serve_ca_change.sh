# Issue 10 §2: a running serve.lua and a change of CA under it. A renewed
# leaf is reloaded whole (certificate, routes, OCSP signer, staple) and the
# log line says what was reloaded. A new root (build_chain.lua --force) or
# a rolled intermediate cannot be swapped into what the server built at
# start (client CAs, the OCSP responder's issuer), so it stops, exit 1,
# with "root changed: restart serve.lua" (or "intermediate changed"),
# within the poll (1 s; waited for up to 10 s), instead of serving half of
# each; restarted, everything it serves is the new chain's.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build the chain" build_chain --out "$out"
issue() { lua "$repo/scripts/issue.lua" --chain "$out" "$@"; }
check "a client certificate" issue --profile client --name alice.test --out "$tmp/old"
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# wait_log TEXT: until the log holds TEXT (10 s at most).
wait_log() {
    for _ in $(seq 1 100); do
        grep -qF -- "$1" "$tmp/serve.log" && return 0
        sleep 0.1
    done
    echo "waited in vain for '$1' in:" >&2
    cat "$tmp/serve.log" >&2
    return 1
}
# stops_with TEXT: the server exits 1 by itself, its log naming TEXT, and
# reloads nothing on the way ($reloads: the reload lines before).
stops_with() {
    local status=0
    check "the server says: $1" wait_log "$1"
    for _ in $(seq 1 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$server_pid" || status=$?
    server_pid=""
    equal "it exits 1" "$status" 1
    lacks "no claim of still serving the previous certificate" "$tmp/serve.log" \
        "still serving the previous certificate"
    equal "no half reload" "$(grep -c 'reload' "$tmp/serve.log")" "$reloads"
}
staple() {
    echo | openssl s_client -connect "127.0.0.1:$port" -servername localhost -status \
        -CAfile "$out/root.pem" 2>&1
}
# all_new: a server started on $out serves only what $out holds now.
all_new() {
    start_server "$tmp/serve.log" --chain "$out" --mtls || { bad "restart"; return; }
    local hport
    hport=$(sed -n 's|^plain http://localhost:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
    staple >"$tmp/s_client.txt"
    contains "the new chain verifies under the new root" "$tmp/s_client.txt" \
        "Verify return code: 0 (ok)"
    equal "the served leaf is server.pem" "$(sed -n '/^Server certificate/,/END CERT/p' \
        "$tmp/s_client.txt" | openssl x509 -noout -serial | cut -d= -f2)" \
        "$(serial_of "$out/server.pem")"
    contains "the staple is good" "$tmp/s_client.txt" "Cert Status: good"
    sed -n 's/^ *//; /BEGIN CERT/,/END CERT/p' "$tmp/s_client.txt" | sed '/END CERT/q' \
        >"$tmp/staple-signer.pem"
    equal "the staple is signed by the new responder" "$(fingerprint "$tmp/staple-signer.pem")" \
        "$(fingerprint "$out/ocsp.pem")"
    check "openssl ocsp: the responder answers under the new root" openssl ocsp \
        -issuer "$out/intermediate.pem" -cert "$out/server.pem" -CAfile "$out/root.pem" \
        -url "http://127.0.0.1:$hport/ocsp"
    contains "good" "$tmp/last.out" "server.pem: good"
    check "the served intermediate CRL is the new intermediate's" sh -c "curl -sf \
        http://127.0.0.1:$hport/crl/intermediate.crl | openssl crl -inform DER -noout \
        -CAfile '$out/intermediate.pem'"
    check "a client of the new chain gets in (--mtls)" curl -sS --fail \
        --cacert "$out/root.pem" --cert "$tmp/new/bob.test.pem" --key "$tmp/new/bob.test.key" \
        --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
    stop_server TERM || bad "stop"
}

# 1. A renewed leaf: one line saying all that was reloaded.
start_server "$tmp/serve.log" --chain "$out" --mtls || { bad "server start"; finish; exit 1; }
check "renew.lua --force" lua "$repo/scripts/renew.lua" --out "$out" --force
new=$(serial_of "$out/server.pem")
check "the reload names the certificate" wait_log "reloaded: serial $new: server certificate, key and chain"
contains "the routes" "$tmp/serve.log" "/root.pem, /crl/root.crl, /crl/root.crl.pem, /crl/intermediate.crl, /crl/intermediate.crl.pem, the page"
contains "the OCSP signer" "$tmp/serve.log" "OCSP signer serial $(serial_of "$out/ocsp.pem")"
contains "and the staple" "$tmp/serve.log" "; staple"
staple >"$tmp/s_client.txt"
contains "the staple is good after the reload" "$tmp/s_client.txt" "Cert Status: good"

# 2. build_chain.lua --force: a new root. The server stops.
reloads=$(grep -c 'reload' "$tmp/serve.log")
check "build_chain.lua --force under the server" build_chain --out "$out" --force
stops_with "root changed: restart serve.lua ($out/root.pem now holds SHA-256 $(fingerprint "$out/root.pem")"
check "a client of the new chain" issue --profile client --name bob.test --out "$tmp/new"
all_new
start_server "$tmp/serve.log" --chain "$out" --mtls || bad "restart"
refuse "a client of the old root is refused" curl -sS --fail --cacert "$out/root.pem" \
    --cert "$tmp/old/alice.test.pem" --key "$tmp/old/alice.test.key" \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"

# 3. A roll of the intermediate: the same root, another issuer. It stops.
reloads=$(grep -c 'reload' "$tmp/serve.log")
check "renew.lua --intermediate under the server" lua "$repo/scripts/renew.lua" --out "$out" \
    --intermediate
stops_with "intermediate changed: restart serve.lua ($out/server-chain.pem now holds SHA-256 $(fingerprint "$out/intermediate.pem")"
rm -r "$tmp/new"
check "a client of the new intermediate" issue --profile client --name bob.test --out "$tmp/new"
all_new
finish
