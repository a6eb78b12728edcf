# Issue 10 §1: a revoked client certificate no longer gets in. alice and bob
# get client certificates from issue.lua, serve.lua --require-client-cert
# admits both, revoke.lua revokes alice; from the moment it returns alice is
# refused at the handshake (curl with her certificate), and so is each
# session she saved before (TLS 1.3 ticket, TLS 1.2 ticket, TLS 1.2 without
# tickets), while bob and a client of a foreign --client-ca the database has
# never heard of still get in.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
out=$tmp/issued
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" --out "$out" "$@"
}

check "build_chain" build_chain --out "$chain"
check "issue alice" issue --profile client --name alice.test
check "issue bob" issue --profile client --name bob.test

# A client CA of someone else's, and carol, a client of it.
cat >"$tmp/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:carol@example.org
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
check "a foreign client CA and carol" sh -c "cd '$tmp' &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out froot.key &&
    openssl req -x509 -new -config ext.cnf -extensions root -key froot.key \
        -subj '/CN=Foreign Root' -days 2 -out froot.pem &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out carol.key &&
    openssl req -new -config ext.cnf -key carol.key -subj '/CN=carol' -out carol.csr &&
    openssl x509 -req -in carol.csr -CA froot.pem -CAkey froot.key -CAcreateserial \
        -extfile ext.cnf -extensions client -days 2 -out carol.pem"

alice_serial=$(openssl x509 -in "$out/alice.test.pem" -noout -serial | cut -d= -f2)

# get NAME CERT KEY: the hello page as that client, in $tmp/NAME.html.
get() {
    rm -f "$tmp/$1.html"
    curl -sS --fail --max-time 10 --cacert "$chain/root.pem" \
        --resolve "localhost:$port:127.0.0.1" --cert "$2" --key "$3" -o "$tmp/$1.html" \
        "https://localhost:$port/"
}

request='GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
# s_client as alice (certificate and key offered in any case) with ARGS.
alice_sclient() {
    printf "$request" | openssl s_client -connect "127.0.0.1:$port" -servername localhost \
        -CAfile "$chain/root.pem" -cert "$out/alice.test.pem" -key "$out/alice.test.key" \
        -ign_eof "$@" 2>&1
}

start_server "$tmp/serve.log" --chain "$chain" --mtls --client-ca "$tmp/froot.pem" \
    --require-client-cert || { bad "start"; finish; exit 1; }
contains "serve.lua says revoked clients are refused" "$tmp/serve.log" \
    "revoked client certificates are refused"

check "alice gets in" get alice "$out/alice.test.pem" "$out/alice.test.key"
contains "alice is greeted" "$tmp/alice.html" "CN=alice.test (serial $alice_serial)"
check "bob gets in" get bob "$out/bob.test.pem" "$out/bob.test.key"
check "carol (foreign CA) gets in" get carol "$tmp/carol.pem" "$tmp/carol.key"

# Sessions alice saves now: a request first, so the TLS 1.3 tickets (sent
# after the handshake) arrive before s_client writes the session out.
kinds="tls13 tls12 tls12-noticket"
args() {
    case $1 in
    tls13) echo "-tls1_3" ;;
    tls12) echo "-tls1_2" ;;
    tls12-noticket) echo "-tls1_2 -no_ticket" ;;
    esac
}
for kind in $kinds; do
    # shellcheck disable=SC2046
    alice_sclient $(args "$kind") -sess_out "$tmp/$kind.sess" >"$tmp/last.out"
done
# With tickets there is a session to save. Without, there is none: the
# server keeps no session ids while it checks client certificates (OpenSSL
# would resume one without asking it), so s_client writes nothing; before
# that, this session resumed after the revocation too.
for kind in tls13 tls12; do
    [ -s "$tmp/$kind.sess" ] && ok || bad "alice saved a $kind session"
done
# Tickets resume before the revocation (so the checks below see a
# resumption refused, not one that never happens).
for kind in tls13 tls12; do
    # shellcheck disable=SC2046
    alice_sclient $(args "$kind") -sess_in "$tmp/$kind.sess" >"$tmp/$kind.before"
    contains "alice's $kind session resumes" "$tmp/$kind.before" "Reused, TLSv1."
    contains "the resumed $kind session greets alice" "$tmp/$kind.before" \
        "CN=alice.test (serial $alice_serial)"
done

check "revoke alice" lua "$repo/scripts/revoke.lua" --out "$chain" \
    --cert "$out/alice.test.pem" --reason keyCompromise

# From here on, with no wait: revoke.lua has returned.
refuse "alice is refused" get alice "$out/alice.test.pem" "$out/alice.test.key"
[ ! -e "$tmp/alice.html" ] && ok || bad "alice got a page"
for version in -tls1_3 -tls1_2; do
    alice_sclient "$version" >"$tmp/full.after"
    contains "a full $version handshake ends in certificate_revoked" "$tmp/full.after" \
        "alert certificate revoked"
    lacks "and gets no page" "$tmp/full.after" "CN=alice.test (serial"
done
for kind in $kinds; do
    [ -s "$tmp/$kind.sess" ] || continue # no session id to offer (see above)
    # shellcheck disable=SC2046
    alice_sclient $(args "$kind") -sess_in "$tmp/$kind.sess" >"$tmp/$kind.after"
    lacks "alice's $kind session is not resumed" "$tmp/$kind.after" "Reused, "
    lacks "alice's $kind session gets no page" "$tmp/$kind.after" "CN=alice.test (serial"
    contains "alice's $kind session ends in certificate_revoked" "$tmp/$kind.after" \
        "alert certificate revoked"
done
check "bob still gets in" get bob "$out/bob.test.pem" "$out/bob.test.key"
contains "bob is greeted" "$tmp/bob.html" "CN=bob.test (serial"
check "carol (foreign CA, unknown to ca.db) still gets in" \
    get carol "$tmp/carol.pem" "$tmp/carol.key"
contains "carol is greeted" "$tmp/carol.html" "CN=carol (serial"
stop_server TERM && ok || bad "stop"

# Without asking for client certificates nothing changes: no lookups, and a
# page for anyone.
start_server "$tmp/plain.log" --chain "$chain" || { bad "start plain"; finish; exit 1; }
lacks "no client check announced" "$tmp/plain.log" "revoked client certificates"
check "the page without mTLS" curl -sS --fail --max-time 10 --cacert "$chain/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
stop_server TERM && ok || bad "stop plain"

finish
