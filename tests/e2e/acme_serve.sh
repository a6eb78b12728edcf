# serve.lua --acme end to end (issue 12, the Lua side): the flags, a real
# ACME client (Debian's python3-acme, tests/e2e/acme_serve.py) getting
# certificates the policy decides on in Lua, its refusals reaching the client
# as problem documents, revocation that OCSP and the served CRL report before
# the next request, EAB, and the serve loop still reloading on SIGHUP and
# stopping on SIGTERM while it waits on ACME asks. The stock-client matrix
# (certbot, lego, pebble as the oracle) is tests/e2e/acme_*.sh's.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # python3-acme lives with Debian's interpreter
out=$tmp/chain
check "build_chain" build_chain --out "$out"
mkdir -p "$tmp/certs"

free_port() {
    "$PY" -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A policy whose finalize hook refuses refused.*: the refusal must reach
# the client as badCSR in the hook's words; and an order hook that refuses
# odd.* with an error type RFC 8555 lacks, which core will not send: the
# client gets serverInternal at once instead of waiting out the ask.
cat >"$tmp/policy.lua" <<'EOF'
return {
    keys = { ec = { "P-256", "P-384" }, rsa = { min_bits = 2048, max_bits = 4096 } },
    issuance = { profiles = {} },
    acme = {
        order = function(ask)
            if ask.identifiers[1].value:find("^odd%.") then
                return nil, "refused with a type RFC 8555 lacks", "notAType"
            end
            return true
        end,
        finalize = function(ask)
            for _, id in ipairs(ask.identifiers) do
                if id.value:find("^refused%.") then
                    return nil, "no certificates for " .. id.value .. " today"
                end
            end
            return true
        end,
    },
}
EOF

# A bad flag: refused before anything is bound, naming it, exit 2.
lua "$repo/scripts/serve.lua" --chain "$out" --port 0 --acme --acme-resolve 'app.test' \
    >"$tmp/bad.out" 2>&1
equal "a bad --acme-resolve exits 2" "$?" 2
contains "... naming the flag" "$tmp/bad.out" "serve: --acme-resolve: 'app.test' is not PATTERN=ADDR"
lua "$repo/scripts/serve.lua" --chain "$out" --port 0 --acme-http-port 5002 >"$tmp/bad.out" 2>&1
equal "an --acme-* flag without --acme exits 2" "$?" 2

vport=$(free_port)
start_server "$tmp/serve.log" --chain "$out" --acme --acme-http-port "$vport" \
    --acme-resolve '*.app.test=127.0.0.1' --acme-resolve 'app.test=127.0.0.1' \
    --policy "$tmp/policy.lua" || { bad "server start"; finish; exit 1; }
# the directory from the --json line (cjson writes / as \/)
json_directory() { sed -n 's|^{.*"https":{"acme":"\([^"]*\)".*|\1|p' "$1" | sed 's|\\/|/|g'; }
directory=$(json_directory "$tmp/serve.log")
equal "--json names the directory at the bound port" "$directory" \
    "https://localhost:$port/acme/directory"
contains "the banner says where and how" "$tmp/serve.log" \
    "ACME at https://localhost:$port/acme/directory"
contains "... validation ports and rules" "$tmp/serve.log" \
    "http-01 on port $vport, tls-alpn-01 on port 443, dns-01 via the system's DNS; resolve *.app.test=127.0.0.1, app.test=127.0.0.1"

"$PY" "$(dirname "$0")/acme_serve.py" issue "$directory" "$out/root.pem" "$tmp/certs" "$vport" \
    >"$tmp/client.out" 2>&1
status=$?
cat "$tmp/client.out" >&2
equal "the ACME client's checks pass" "$status" 0
passed=$((passed + $(grep -c '^ok:' "$tmp/client.out")))

# The chain verifies trusting only the root.
leaf_only() { openssl x509 -in "$1"; }
inter_of() { awk 'n>=1{print} /END CERTIFICATE/{n++}' "$1"; }
for c in app rsa; do
    f=$tmp/certs/$c.pem
    [ -s "$f" ] || { bad "$c.pem was not issued"; continue; }
    leaf_only "$f" >"$tmp/$c.leaf"
    inter_of "$f" >"$tmp/$c.inter"
    check "$c: openssl verify, root only" openssl verify -CAfile "$out/root.pem" \
        -untrusted "$tmp/$c.inter" "$tmp/$c.leaf"
    # revoked: OCSP says so, and the CRL served lists it
    openssl ocsp -issuer "$out/intermediate.pem" -cert "$tmp/$c.leaf" -CAfile "$out/root.pem" \
        -url "http://127.0.0.1:$http_port/ocsp" >"$tmp/$c.ocsp" 2>&1
    contains "$c: openssl ocsp says revoked" "$tmp/$c.ocsp" ": revoked"
    serial=$(openssl x509 -in "$tmp/$c.leaf" -noout -serial | cut -d= -f2)
    curl -s "http://127.0.0.1:$http_port/crl/intermediate.crl" -o "$tmp/crl.der"
    openssl crl -inform DER -in "$tmp/crl.der" -noout -text >"$tmp/crl.txt" 2>&1
    contains "$c: the served CRL lists it" "$tmp/crl.txt" "Serial Number: $serial"
done
check "app: revoked with keyCompromise" grep -q "Key Compromise" "$tmp/crl.txt"

contains "the log has the order decision" "$tmp/serve.log" \
    "acme: order for app.test, www.app.test: profile server, http-01, tls-alpn-01, dns-01"
contains "... the finalize" "$tmp/serve.log" "acme: finalize order"
contains "... the refusal" "$tmp/serve.log" "refused, rejectedIdentifier: name example.com"
contains "... the revocation" "$tmp/serve.log" "revoked (keyCompromise)"
contains "a type core refuses is logged" "$tmp/serve.log" "core refused the answer"
lacks "no reload for the CRL ACME wrote itself" "$tmp/serve.log" "reloaded:"

# The loop waits on ACME asks and still reloads on SIGHUP and stops on SIGTERM.
kill -HUP "$server_pid"
for _ in $(seq 1 100); do
    grep -qF "reloaded:" "$tmp/serve.log" && break
    sleep 0.1
done
contains "SIGHUP reloads with ACME on" "$tmp/serve.log" "reloaded: serial"
stop_server TERM
equal "SIGTERM stops it, exit 0" "$?" 0
contains "... saying so" "$tmp/serve.log" "stopped (SIGTERM)"

# EAB required: accounts without a binding are refused; the key is never printed.
hmac=$(openssl rand 32 | basenc --base64url | tr -d '=')
start_server "$tmp/eab.log" --chain "$out" --acme --acme-http-port "$vport" \
    --acme-resolve '*.app.test=127.0.0.1' --acme-eab-required --acme-eab-key "kid-1=$hmac" \
    || { bad "server start (EAB)"; finish; exit 1; }
directory=$(json_directory "$tmp/eab.log")
"$PY" "$(dirname "$0")/acme_serve.py" eab "$directory" "$out/root.pem" "$tmp/certs" "$vport" \
    kid-1 "$hmac" >"$tmp/client.out" 2>&1
status=$?
cat "$tmp/client.out" >&2
equal "the EAB client's checks pass" "$status" 0
passed=$((passed + $(grep -c '^ok:' "$tmp/client.out")))
contains "the banner names the key id" "$tmp/eab.log" \
    "external account binding required; key ids: kid-1"
stop_server TERM
lacks "the HMAC key is never printed" "$tmp/eab.log" "$hmac"

# Encrypted CA keys: ACME signs with the intermediate's key, so serve.lua
# --acme needs the passphrase, and says which flags give it.
export CS_E2E_PASS=acme-e2e-passphrase
check "build_chain, encrypted" build_chain --out "$tmp/enc" --passphrase-env CS_E2E_PASS
lua "$repo/scripts/serve.lua" --chain "$tmp/enc" --port 0 --acme >"$tmp/enc.out" 2>&1
equal "encrypted keys without a passphrase: exit 1" "$?" 1
contains "... naming the flags" "$tmp/enc.out" "encrypted private key: give its passphrase"
contains "... (--passphrase-env)" "$tmp/enc.out" "--passphrase-env VAR or --passphrase-file FILE"
start_server "$tmp/enc.log" --chain "$tmp/enc" --acme --passphrase-env CS_E2E_PASS \
    || bad "serve.lua --acme with --passphrase-env"
contains "... and with it, ACME is served" "$tmp/enc.log" "ACME at https://localhost:"
[ -n "$server_pid" ] && stop_server TERM

finish
