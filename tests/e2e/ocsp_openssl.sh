# The OCSP responder against the real `openssl ocsp` client, without a
# server: openssl writes the request, a small Lua script answers it from the
# chain's ca.db, openssl reads and verifies the answer. Good, then revoked
# with its reason after revoke.lua; signed by the intermediate and by the
# delegated responder (chain/ocsp.pem); the GET form; a malformed request.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
cat >"$tmp/respond.lua" <<'EOF'
-- respond.lua CHAIN SIGNER IN OUT [get]: answer the DER request in IN (or,
-- with "get", the GET form's text) from CHAIN/ca.db, signed by SIGNER
-- ("intermediate" or "ocsp"), into OUT.
local pki = require "pki"
local chain, signer, input, output, form = arg[1], arg[2], arg[3], arg[4], arg[5]
local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
end
local r = assert(pki.ocsp_responder {
    db = chain .. "/ca.db",
    issuer = assert(pki.read_cert(chain .. "/intermediate.pem")),
    signer = assert(pki.read_cert(chain .. "/" .. signer .. ".pem")),
    key = assert(pki.read_key(chain .. "/" .. signer .. ".key")),
    next_update_hours = 1,
})
local req = read(input)
if form == "get" then
    req = assert(pki.ocsp_decode_get(req))
end
local f = assert(io.open(output, "wb"))
f:write(assert(r:respond(req)))
f:close()
EOF
respond() {
    lua "$tmp/respond.lua" "$chain" "$@"
}
# ask NAME [openssl options]: a request for server.pem with a nonce, in req.der.
ask() {
    rm -f "$tmp/req.der"
    check "$1: openssl writes the request" openssl ocsp -issuer "$chain/intermediate.pem" \
        "${@:2}" -cert "$chain/server.pem" -reqout "$tmp/req.der" -nonce
}
# read_back NAME [trust options]: openssl verifies resp.der against req.der
# (nonce included) and prints it, in $tmp/text; then the one-line verdict
# for server.pem (CertID hashed with $digest, if set) in $tmp/verdict.
digest=""
read_back() {
    local name=$1
    shift
    check "$name: openssl verifies the response and nonce" openssl ocsp -reqin "$tmp/req.der" \
        -respin "$tmp/resp.der" -issuer "$chain/intermediate.pem" "$@" -resp_text
    cp "$tmp/last.out" "$tmp/text"
    check "$name: openssl reads the status" openssl ocsp -respin "$tmp/resp.der" \
        -issuer "$chain/intermediate.pem" "$@" $digest -cert "$chain/server.pem" -no_nonce
    cp "$tmp/last.out" "$tmp/verdict"
}

check "build the chain" build_chain --out "$chain"
contains "the summary names the responder's files" "$tmp/last.out" \
    "$chain/ocsp.pem + $chain/ocsp.key (the OCSP responder)"
equal "ocsp.key is 0600" "$(stat -c %a "$chain/ocsp.key")" 600
check "the responder certificate chains to the root" openssl verify -x509_strict \
    -purpose ocsphelper -CAfile "$chain/root.pem" -untrusted "$chain/intermediate.pem" "$chain/ocsp.pem"
openssl x509 -in "$chain/ocsp.pem" -noout -text >"$tmp/ocsp.txt"
contains "OCSPSigning only" "$tmp/ocsp.txt" "X509v3 Extended Key Usage: 
                OCSP Signing"
contains "id-pkix-ocsp-nocheck" "$tmp/ocsp.txt" "OCSP No Check"
lacks "no subjectAltName (BR 7.1.2.8)" "$tmp/ocsp.txt" "Subject Alternative Name"
cat "$chain/ocsp.pem" "$chain/intermediate.pem" >"$tmp/ocsp-chain.pem"
check "GnuTLS accepts it under the name constraints" certtool --verify --verify-profile=low \
    --load-ca-certificate "$chain/root.pem" --infile "$tmp/ocsp-chain.pem"

# A profiles folder from before ocsp.lua builds the other three, as before.
cp -r "$repo/scripts/profiles" "$tmp/old-profiles"
rm "$tmp/old-profiles/ocsp.lua"
check "build without ocsp.lua" build_chain --out "$tmp/old" --profiles "$tmp/old-profiles"
[ ! -e "$tmp/old/ocsp.pem" ] && [ ! -e "$tmp/old/ocsp.key" ] && ok || bad "no ocsp files"
equal "three certificates recorded" \
    "$(sqlite3 "$tmp/old/ca.db" 'select count(*) from certificates')" 3
# Kept on a rebuild, like the server certificate.
check "rebuild" build_chain --out "$chain"
contains "the responder is kept" "$tmp/last.out" "ocsp: kept"

# Signed by the intermediate itself.
ask "intermediate"
check "respond (intermediate)" respond intermediate "$tmp/req.der" "$tmp/resp.der"
read_back "intermediate" -CAfile "$chain/root.pem"
contains "intermediate: verified" "$tmp/text" "Response verify OK"
contains "intermediate: good" "$tmp/text" "Cert Status: good"
contains "intermediate: nonce echoed" "$tmp/text" "OCSP Nonce"
contains "intermediate: SHA-384 for the P-384 CA" "$tmp/text" "ecdsa-with-SHA384"
contains "intermediate: summary" "$tmp/verdict" "server.pem: good"

# Signed by the delegated responder: openssl checks OCSPSigning and that
# the intermediate issued it, trusting only the root.
check "respond (delegated)" respond ocsp "$tmp/req.der" "$tmp/resp.der"
read_back "delegated" -CAfile "$chain/root.pem"
contains "delegated: verified" "$tmp/text" "Response verify OK"
contains "delegated: good" "$tmp/text" "Cert Status: good"
contains "delegated: the signer's certificate is included" "$tmp/text" "CN=ocsp.localhost"
contains "delegated: summary" "$tmp/verdict" "server.pem: good"
# Trusted directly (-VAfile), as a client configured with the responder does.
check "delegated: -VAfile" openssl ocsp -reqin "$tmp/req.der" -respin "$tmp/resp.der" \
    -issuer "$chain/intermediate.pem" -VAfile "$chain/ocsp.pem"
contains "delegated: -VAfile verified" "$tmp/last.out" "Response verify OK"
# Another root: the same answer does not verify.
check "another chain" build_chain --out "$tmp/other"
refuse "delegated: rejected under another root" openssl ocsp -reqin "$tmp/req.der" \
    -respin "$tmp/resp.der" -issuer "$chain/intermediate.pem" -CAfile "$tmp/other/root.pem"
contains "rejected as unverifiable" "$tmp/last.out" "Response Verify Failure"

# SHA-256 CertIDs.
digest=-sha256
ask "sha256" $digest
check "respond (sha256)" respond ocsp "$tmp/req.der" "$tmp/resp.der"
read_back "sha256" -CAfile "$chain/root.pem"
contains "sha256: CertID hash" "$tmp/text" "Hash Algorithm: sha256"
contains "sha256: good" "$tmp/text" "Cert Status: good"
contains "sha256: summary" "$tmp/verdict" "server.pem: good"
digest=""

# The GET form (RFC 6960 A.1): URL-encoded base64 of the request.
ask "get"
openssl base64 -A -in "$tmp/req.der" | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g' >"$tmp/req.url"
check "respond (GET form)" respond ocsp "$tmp/req.url" "$tmp/resp.der" get
read_back "get" -CAfile "$chain/root.pem"
contains "get: good" "$tmp/text" "Cert Status: good"

# Revoked with revoke.lua: the next answer says so, with time and reason.
serial=$(openssl x509 -in "$chain/server.pem" -noout -serial | cut -d= -f2)
check "revoke the server certificate" lua "$repo/scripts/revoke.lua" --out "$chain" \
    --serial "$serial" --reason keyCompromise
ask "revoked"
check "respond (revoked)" respond ocsp "$tmp/req.der" "$tmp/resp.der"
read_back "revoked" -CAfile "$chain/root.pem"
contains "revoked: verified" "$tmp/text" "Response verify OK"
contains "revoked: status" "$tmp/text" "Cert Status: revoked"
contains "revoked: reason" "$tmp/text" "Revocation Reason: keyCompromise (0x1)"
contains "revoked: time" "$tmp/text" "Revocation Time:"
contains "revoked: summary" "$tmp/verdict" "server.pem: revoked"
# The intermediate signs the same.
check "respond (revoked, intermediate)" respond intermediate "$tmp/req.der" "$tmp/resp.der"
read_back "revoked (intermediate)" -CAfile "$chain/root.pem"
contains "revoked (intermediate): status" "$tmp/text" "Cert Status: revoked"

# A malformed request is answered, not an error.
printf 'GET / HTTP/1.1\r\n' >"$tmp/junk"
check "respond (junk)" respond ocsp "$tmp/junk" "$tmp/resp.der"
openssl ocsp -respin "$tmp/resp.der" -resp_text >"$tmp/junk.out" 2>&1
contains "junk: malformedRequest" "$tmp/junk.out" "Responder Error: malformedrequest (1)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
