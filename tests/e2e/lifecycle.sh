# Issue 4's "done when", against a running serve.lua: a revoked certificate
# is reported revoked by `openssl ocsp` (POST and GET to /ocsp on the plain
# port) and rejected by `openssl verify -crl_check` with the CRL the server
# serves; the server staples its own status (good, then revoked after its
# certificate is revoked and it reloads). The plain port serves nothing else.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
check "build the chain" build_chain --out "$chain"
check "issue a leaf" lua "$repo/scripts/issue.lua" --chain "$chain" --profile server \
    --name web.localhost --out "$tmp/issued"
leaf=$tmp/issued/web.localhost.pem
start_server "$tmp/serve.log" --chain "$chain" || exit 1
hport=$http_port
[ -n "$hport" ] && ok || bad "serve.lua names its plain-HTTP port"
contains "serve.lua answers OCSP" "$tmp/serve.log" "OCSP at /ocsp"
plain=http://127.0.0.1:$hport

ocsp_query() {
    openssl ocsp -issuer "$chain/intermediate.pem" -cert "$1" -url "$plain/ocsp" \
        -CAfile "$chain/root.pem" -nonce
}
crl_verify() {
    openssl verify -crl_check -CRLfile "$tmp/served.crl" -CAfile "$chain/root.pem" \
        -untrusted "$chain/intermediate.pem" "$1"
}
fetch_crl() {
    curl -sf "$plain/crl/intermediate.crl" -o "$tmp/served.der" &&
        openssl crl -inform DER -in "$tmp/served.der" -out "$tmp/served.crl"
}
staple_status() {
    echo | openssl s_client -connect "127.0.0.1:$port" -servername localhost -status \
        -CAfile "$chain/root.pem" 2>/dev/null | sed -n 's/^ *Cert Status: //p'
}

# Before: good everywhere.
check "openssl ocsp over POST" ocsp_query "$leaf"
contains "says good" "$tmp/last.out" "web.localhost.pem: good"
contains "the response verifies (delegated signer, nonce)" "$tmp/last.out" "Response verify OK"
openssl ocsp -issuer "$chain/intermediate.pem" -cert "$leaf" -reqout "$tmp/req.der" \
    -no_nonce >/dev/null 2>&1
get_path=$(base64 -w0 "$tmp/req.der" | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')
check "GET /ocsp/{base64}" curl -sf "$plain/ocsp/$get_path" -o "$tmp/get.der"
check "the GET answer verifies" openssl ocsp -respin "$tmp/get.der" -issuer \
    "$chain/intermediate.pem" -cert "$leaf" -CAfile "$chain/root.pem"
contains "and says good" "$tmp/last.out" "web.localhost.pem: good"
# Two POSTs on one keep-alive connection: the body is read whole, so the
# connection stays and the second answer is as good as the first.
ocsp_post() {
    curl -sv --data-binary @"$tmp/req.der" -H "Content-Type: application/ocsp-request" \
        "$plain/ocsp" -o "$tmp/post1.der" --next --data-binary @"$tmp/req.der" \
        -H "Content-Type: application/ocsp-request" "$plain/ocsp" -o "$tmp/post2.der"
}
check "two OCSP POSTs on one connection" ocsp_post
contains "the connection is kept" "$tmp/last.out" "Re-using existing connection"
check "the second answer verifies" openssl ocsp -respin "$tmp/post2.der" -issuer \
    "$chain/intermediate.pem" -cert "$leaf" -CAfile "$chain/root.pem"
contains "and says good" "$tmp/last.out" "web.localhost.pem: good"
check "fetch the CRL over plain http" fetch_crl
check "verify -crl_check passes before revocation" crl_verify "$leaf"
equal "the server staples good for itself" "$(staple_status)" "good"

# Revoke, then: OCSP says revoked at once (it reads ca.db), and the served
# CRL follows within the server's one-second file poll.
check "revoke.lua" lua "$repo/scripts/revoke.lua" --out "$chain" --cert "$leaf" \
    --reason keyCompromise
ocsp_query "$leaf" >"$tmp/ocsp.out" 2>&1
contains "openssl ocsp says revoked" "$tmp/ocsp.out" "web.localhost.pem: revoked"
contains "with the reason" "$tmp/ocsp.out" "Reason: keyCompromise"
for _ in $(seq 1 50); do
    fetch_crl && ! cmp -s "$tmp/served.der" "$chain/intermediate.crl" || break
    sleep 0.1
done
equal "the server serves the new CRL" "$(sha256sum <"$tmp/served.der")" \
    "$(sha256sum <"$chain/intermediate.crl")"
refuse "verify -crl_check rejects the revoked leaf" crl_verify "$leaf"
contains "as revoked" "$tmp/last.out" "certificate revoked"
check "the server's own certificate still passes" crl_verify "$chain/server.pem"

# Bad requests get an OCSP answer, not a crash.
curl -sf --data-binary "not an ocsp request" -H "Content-Type: application/ocsp-request" \
    "$plain/ocsp" -o "$tmp/junk.der"
openssl ocsp -respin "$tmp/junk.der" -resp_text -noverify >"$tmp/junk.txt" 2>&1
contains "junk is answered malformedRequest" "$tmp/junk.txt" "malformedrequest"
equal "the plain port serves no page" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$plain/")" 404
equal "nor the root (a trust anchor only over https)" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$plain/root.pem")" 404

# The server's own certificate revoked: revoke.lua rewrites the CRL the
# server watches, and the reload that follows staples the new status.
check "revoke the server's certificate" lua "$repo/scripts/revoke.lua" --out "$chain" \
    --cert "$chain/server.pem" --reason superseded
for _ in $(seq 1 50); do
    [ "$(staple_status)" = revoked ] && break
    sleep 0.1
done
equal "the staple says revoked once the new CRL is reloaded" "$(staple_status)" "revoked"

# The delegated responder (30 days) renewed under a running server: the
# server signs with the new one from then on, without a restart.
mkdir -p "$tmp/profiles"
cp "$repo"/scripts/profiles/*.lua "$tmp/profiles/"
sed -i 's/renew_before_days = [0-9]*/renew_before_days = 40/' "$tmp/profiles/ocsp.lua"
cp "$chain/ocsp.pem" "$tmp/old-ocsp.pem"
check "renew.lua renews the due OCSP responder" lua "$repo/scripts/renew.lua" --out "$chain" \
    --profiles "$tmp/profiles"
contains "and says so" "$tmp/last.out" "ocsp: re-issued"
contains "keeping the server's certificate" "$tmp/last.out" "server: kept"
ocsp_signed_by() {
    openssl ocsp -issuer "$chain/intermediate.pem" -cert "$leaf" -url "$plain/ocsp" \
        -VAfile "$1" -no_nonce 2>&1 | grep -q "Response verify OK"
}
for _ in $(seq 1 50); do
    ocsp_signed_by "$chain/ocsp.pem" && break
    sleep 0.1
done
check "responses are signed by the new responder" ocsp_signed_by "$chain/ocsp.pem"
refuse "and no longer by the old one" ocsp_signed_by "$tmp/old-ocsp.pem"

check "SIGTERM stops the server" stop_server TERM
finish
