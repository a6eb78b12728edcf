# serve.lua --api end to end (issue 12 section 3, docs/api.md): curl signs a
# CSR with a client certificate issue.lua made and with a one-time token
# josepy made (tests/c/make_jwt.py), the chain verifies trusting only the
# root, a revocation through the API is seen by openssl ocsp and the served
# CRL before the next request, policy.api's refusals reach the caller in
# its words, a revoked client certificate and a replayed token are refused,
# and the flags are checked before anything is bound.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # josepy lives with Debian's interpreter
chain=$tmp/chain
out=$tmp/issued
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" --out "$out" "$@"
}
check "build_chain" build_chain --out "$chain"
check "issue robot" issue --profile client --name robot.test
check "issue gone" issue --profile client --name gone.test
gone_serial=$(openssl x509 -in "$out/gone.test.pem" -noout -serial | cut -d= -f2)
check "revoke gone" lua "$repo/scripts/revoke.lua" --chain "$chain" --serial "$gone_serial"

# A token key, and a CSR for app.test.
check "token key" sh -c "cd '$tmp' &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out tok.key 2>/dev/null &&
    openssl pkey -in tok.key -pubout -out tok.pub &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout app.key \
        -subj /CN=app.test -addext subjectAltName=DNS:app.test -out app.csr 2>/dev/null"
"$PY" -c 'import json, sys
csr = open(sys.argv[1]).read()
json.dump({"csr": csr, "profile": "server"}, open(sys.argv[2], "w"))
json.dump({"csr": csr, "profile": "intermediate"}, open(sys.argv[3], "w"))
json.dump({"csr": csr}, open(sys.argv[4], "w"))' "$tmp/app.csr" "$tmp/sign.json" \
    "$tmp/inter.json" "$tmp/default.json"

# policy.api: server and client profiles, a sign hook refusing robots' sub "nobody"
cat >"$tmp/policy.lua" <<'EOF'
return {
    keys = { ec = { "P-256", "P-384" }, rsa = { min_bits = 2048, max_bits = 4096 } },
    issuance = { profiles = {} },
    api = {
        sign = function(ask, profile)
            if ask.sub == "nobody" then
                return nil, "nobody gets a " .. profile .. " certificate (rule api-sub)"
            end
            return true
        end,
    },
}
EOF

# Bad flags: refused before anything is bound, naming them, exit 2.
lua "$repo/scripts/serve.lua" --chain "$chain" --port 0 --api-token-key "k=$tmp/tok.pub" \
    >"$tmp/bad.out" 2>&1
equal "--api-token-key without --api exits 2" "$?" 2
contains "... naming it" "$tmp/bad.out" "--api-token-key: only the signing API uses it"
lua "$repo/scripts/serve.lua" --chain "$chain" --port 0 --api --api-token-key "k" \
    >"$tmp/bad.out" 2>&1
equal "a bad --api-token-key exits 2" "$?" 2
contains "... saying what it wants" "$tmp/bad.out" "want KID=FILE"
lua "$repo/scripts/serve.lua" --chain "$chain" --port 0 --api >"$tmp/bad.out" 2>&1
equal "--api without a way to authenticate exits 1" "$?" 1
contains "... saying how" "$tmp/bad.out" "give --mtls (client certificates) or --api-token-key"

# The serve loop logs a decision after answering it, so the reply can reach
# curl before the line reaches the log (seen on a loaded machine): wait for
# it a little (at most 10 s) before looking.
logged() {
    for _ in $(seq 100); do grep -qF -- "$2" "$1" && return; sleep 0.1; done
}

start_server "$tmp/serve.log" --chain "$chain" --mtls --api --api-token-key "robot-1=$tmp/tok.pub" \
    --policy "$tmp/policy.lua" || { bad "server start"; finish; exit 1; }
base="https://localhost:$port"
api=$(grep '^{' "$tmp/serve.log" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["https"]["api"])')
equal "--json names the API at the bound port" "$api" "$base/api/v1"
contains "the banner says where and who may call" "$tmp/serve.log" \
    "signing API at $base/api/v1 (callers: client certificates this CA issued; tokens of key ids robot-1"

# call NAME METHOD PATH [curl options...]: the body in $tmp/NAME, the status in $status
call() {
    local name=$1 method=$2 path=$3
    shift 3
    status=$(curl -sS --max-time 30 --cacert "$chain/root.pem" \
        --resolve "localhost:$port:127.0.0.1" -X "$method" -o "$tmp/$name" -w '%{http_code}' \
        "$@" "https://localhost:$port$path")
}
as_robot="--cert $out/robot.test.pem --key $out/robot.test.key"
json='Content-Type: application/json'
# token NAME AUD JTI [SUB]: a token by robot-1's key, in $tmp/NAME.tok
token() {
    local now
    now=$(date +%s)
    "$PY" "$repo/tests/c/make_jwt.py" "$tmp/tok.key" robot-1 \
        "{\"aud\":\"$2\",\"iat\":$now,\"exp\":$((now + 120)),\"jti\":\"$3\"${4:+,\"sub\":\"$4\"}}" \
        >"$tmp/$1.tok"
}
field() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# with the client certificate
# shellcheck disable=SC2086
call mtls.json POST /api/v1/sign $as_robot -H "$json" --data-binary "@$tmp/sign.json"
equal "sign with a client certificate: 201" "$status" 201
field "$tmp/mtls.json" chain >"$tmp/mtls.pem"
openssl x509 -in "$tmp/mtls.pem" >"$tmp/mtls.leaf"
awk 'n>=1{print} /END CERTIFICATE/{n++}' "$tmp/mtls.pem" >"$tmp/mtls.inter"
check "... the chain verifies, root only" openssl verify -CAfile "$chain/root.pem" \
    -untrusted "$tmp/mtls.inter" "$tmp/mtls.leaf"
check "... for app.test" sh -c "openssl x509 -in '$tmp/mtls.leaf' -noout -ext subjectAltName |
    grep -q 'DNS:app.test'"
serial=$(field "$tmp/mtls.json" serial)
logged "$tmp/serve.log" "issued serial $serial (profile server)"
contains "the log names the caller and the serial" "$tmp/serve.log" \
    "api: sign by client certificate"
contains "... and the serial" "$tmp/serve.log" "issued serial $serial (profile server)"
check "... recorded in ca.db" lua "$repo/scripts/list.lua" --chain "$chain" --name app.test
# shellcheck disable=SC2086
call read.json GET "/api/v1/certificates/$serial" $as_robot
equal "read it back: 200" "$status" 200
equal "... good" "$(field "$tmp/read.json" status)" good

# with a token; the same token again is refused
token t1 "$base/api/v1/sign" "jti-$$-1"
call tok.json POST /api/v1/sign -H "Authorization: Bearer $(cat "$tmp/t1.tok")" -H "$json" \
    --data-binary "@$tmp/default.json"
equal "sign with a token (no profile named: server): 201" "$status" 201
logged "$tmp/serve.log" "api: sign by token robot-1"
contains "the log names the token's key id" "$tmp/serve.log" "api: sign by token robot-1"
call replay.json POST /api/v1/sign -H "Authorization: Bearer $(cat "$tmp/t1.tok")" -H "$json" \
    --data-binary "@$tmp/sign.json"
equal "the same token again: 401" "$status" 401
contains "... used before" "$tmp/replay.json" "was used before"

# refusals: policy's hook, a profile not open to callers, a revoked client
token t2 "$base/api/v1/sign" "jti-$$-2" nobody
call hook.json POST /api/v1/sign -H "Authorization: Bearer $(cat "$tmp/t2.tok")" -H "$json" \
    --data-binary "@$tmp/sign.json"
equal "policy.api.sign refuses: 403" "$status" 403
contains "... in its words" "$tmp/hook.json" "nobody gets a server certificate (rule api-sub)"
# shellcheck disable=SC2086
call inter.json POST /api/v1/sign $as_robot -H "$json" --data-binary "@$tmp/inter.json"
equal "an intermediate asked for: 400" "$status" 400
contains "... badProfile" "$tmp/inter.json" '"error":"badProfile"'
call gone.json POST /api/v1/sign --cert "$out/gone.test.pem" --key "$out/gone.test.key" \
    -H "$json" --data-binary "@$tmp/sign.json"
# the server refuses a revoked client at the handshake (OCSP responder on), or the API does
if [ "$status" = 000 ] || [ "$status" = 403 ]; then ok; else bad "a revoked client got $status"; fi

# revoke through the API: OCSP and the served CRL say so at once
printf '{"serial":"%s","reason":"keyCompromise"}' "$serial" >"$tmp/revoke.json"
# shellcheck disable=SC2086
call revoked.json POST /api/v1/revoke $as_robot -H "$json" --data-binary "@$tmp/revoke.json"
equal "revoke: 200" "$status" 200
openssl ocsp -issuer "$chain/intermediate.pem" -cert "$tmp/mtls.leaf" -CAfile "$chain/root.pem" \
    -url "http://127.0.0.1:$http_port/ocsp" >"$tmp/ocsp.out" 2>&1
contains "openssl ocsp says revoked" "$tmp/ocsp.out" ": revoked"
curl -s "http://127.0.0.1:$http_port/crl/intermediate.crl" -o "$tmp/crl.der"
check "the served CRL lists it" sh -c "openssl crl -inform DER -in '$tmp/crl.der' -noout -text |
    grep -qi 'Serial Number: $serial'"
# shellcheck disable=SC2086
call again.json POST /api/v1/revoke $as_robot -H "$json" --data-binary "@$tmp/revoke.json"
equal "revoking again: 409" "$status" 409
# the intermediate is not the callers' to revoke
inter_serial=$(openssl x509 -in "$chain/intermediate.pem" -noout -serial | cut -d= -f2)
printf '{"serial":"%s"}' "$inter_serial" >"$tmp/rinter.json"
# shellcheck disable=SC2086
call rinter.out POST /api/v1/revoke $as_robot -H "$json" --data-binary "@$tmp/rinter.json"
equal "revoking the intermediate: 403" "$status" 403
contains "... not one API callers may revoke" "$tmp/rinter.out" "not one API callers may revoke"

check "SIGTERM stops it" stop_server TERM
finish
