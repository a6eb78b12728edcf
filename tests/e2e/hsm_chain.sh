# CA keys on a PKCS#11 token (SoftHSM2, a token folder of this test's own):
# build_chain.lua --hsm makes the root, intermediate and OCSP responder keys
# on the token, and chain/ holds only their URIs; the chain validates as the
# file-key one does (openssl, GnuTLS); a leaf issued and revoked through the
# token shows in the CRL and in an OCSP answer that serve.lua signs through
# its own copy of the token; bad input (wrong PIN, missing token or object, a
# PIN in the URI or on the command line) is refused by name, nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hsmlib.sh"

ca_token "$tmp/hsm"
printf '1234\n' >"$tmp/pin"
chmod 600 "$tmp/pin"

chain=$tmp/chain
check "build_chain --hsm makes the CA keys on the token" \
    build_chain --out "$chain" --hsm "pkcs11:token=ca" --pin-env CS_PIN
for name in root intermediate ocsp; do
    contains "$name.key.uri names the token" "$chain/$name.key.uri" "pkcs11:token=ca;object="
    if [ -e "$chain/$name.key" ]; then bad "$name.key written beside the token key"; else ok; fi
done
# no private key anywhere in chain/ but the server's own TLS key
keys=$(grep -l "PRIVATE KEY" "$chain"/* 2>/dev/null | xargs -n1 basename | tr '\n' ' ')
equal "the only private key in chain/ is the server's" "$keys" "server.key "
check "the token holds the three key pairs" sh -c \
    "pkcs11-tool --module '$module' --token-label ca --login --pin 1234 -O 2>/dev/null |
     grep -c 'Private Key Object' | grep -qx 3"

check "openssl verifies the chain trusting only the root" openssl verify -CAfile "$chain/root.pem" \
    -untrusted "$chain/intermediate.pem" "$chain/server.pem"
check "GnuTLS certtool verifies the chain" sh -c \
    "cat '$chain/server.pem' '$chain/intermediate.pem' |
     certtool --verify --load-ca-certificate '$chain/root.pem'"
check "openssl verifies the root's CRL signature" openssl crl -inform DER \
    -in "$chain/root.crl" -CAfile "$chain/root.pem" -noout
check "a second build keeps the chain (keys read from the token)" \
    build_chain --out "$chain" --pin-file "$tmp/pin"
contains "all kept" "$tmp/last.out" "intermediate: kept"

# issue and revoke with the intermediate on the token
check "issue.lua signs through the token" lua "$repo/scripts/issue.lua" --chain "$chain" \
    --profile server --name leaf.test --out "$tmp/issued" --pin-env CS_PIN
leaf=$tmp/issued/leaf.test.pem
check "openssl verifies the leaf" openssl verify -CAfile "$chain/root.pem" \
    -untrusted "$chain/intermediate.pem" "$leaf"
serial=$(openssl x509 -in "$leaf" -noout -serial | cut -d= -f2)
check "revoke.lua signs the CRL through the token" lua "$repo/scripts/revoke.lua" \
    --chain "$chain" --serial "$serial" --reason keyCompromise --pin-env CS_PIN
check "the CRL lists the leaf and verifies" sh -c \
    "openssl crl -inform DER -in '$chain/intermediate.crl' -noout -text | grep -qi '$serial' &&
     cat '$chain/root.pem' '$chain/intermediate.pem' >'$tmp/cas.pem' &&
     openssl crl -inform DER -in '$chain/intermediate.crl' -CAfile '$tmp/cas.pem' -noout"

# renew.lua rolls the intermediate: the new key is made on the same token
old_uri=$(cat "$chain/intermediate.key.uri")
check "renew.lua --intermediate rolls through the token" lua "$repo/scripts/renew.lua" \
    --chain "$chain" --intermediate --pin-env CS_PIN
contains "the new intermediate key is on the token" "$chain/intermediate.key.uri" \
    "pkcs11:token=ca;object=chainsmith-intermediate-"
if [ "$(cat "$chain/intermediate.key.uri")" != "$old_uri" ] && [ ! -e "$chain/intermediate.key" ]
then ok; else bad "the rolled intermediate's key is not a new token key"; fi
equal "the previous key stays on the token, named beside intermediate-previous.pem" \
    "$(cat "$chain/intermediate-previous.key.uri")" "$old_uri"
if [ -e "$chain/intermediate-previous.key" ]; then bad "a previous key file beside its URI"
else ok; fi
check "the previous intermediate's CRL is signed through the token" openssl crl \
    -in "$chain/intermediate-previous.crl.pem" -noout -CAfile "$chain/intermediate-previous.pem"
check "openssl verifies the renewed server certificate" openssl verify \
    -CAfile "$chain/root.pem" -untrusted "$chain/intermediate.pem" "$chain/server.pem"

# serve.lua on a copy of the token: one process per token
token_home "$tmp/hsm-serve"
cp -a "$tmp/hsm/tokens/." "$tmp/hsm-serve/tokens/"
if SOFTHSM2_CONF=$tmp/hsm-serve/softhsm2.conf start_server "$tmp/serve.log" --chain "$chain" \
    --http-port 0 --pin-env CS_PIN; then
    ok
    openssl ocsp -issuer "$chain/intermediate.pem" -cert "$leaf" -CAfile "$chain/root.pem" \
        -url "http://127.0.0.1:$http_port/ocsp" >"$tmp/ocsp.out" 2>&1
    contains "openssl ocsp: the answer verifies" "$tmp/ocsp.out" "Response verify OK"
    contains "openssl ocsp: revoked" "$tmp/ocsp.out" ": revoked"
    openssl ocsp -issuer "$chain/intermediate.pem" -cert "$chain/server.pem" \
        -CAfile "$chain/root.pem" -url "http://127.0.0.1:$http_port/ocsp" >"$tmp/ocsp2.out" 2>&1
    contains "openssl ocsp: the server's certificate is good" "$tmp/ocsp2.out" ": good"
    # eight clients at once: the workers sign one at a time through the token
    pids=""
    for i in 1 2 3 4 5 6 7 8; do
        openssl ocsp -issuer "$chain/intermediate.pem" -cert "$leaf" -CAfile "$chain/root.pem" \
            -url "http://127.0.0.1:$http_port/ocsp" >"$tmp/par$i.out" 2>&1 &
        pids="$pids $!"
    done
    for pid in $pids; do
        wait "$pid" || true
    done
    equal "eight concurrent OCSP answers verify" \
        "$(cat "$tmp"/par*.out | grep -c "Response verify OK")" 8
    check "serve stops on SIGTERM" stop_server TERM
else
    bad "serve.lua did not start with the OCSP key on the token"
fi

# bad input: each refused by name, nothing written
snapshot() { (cd "$chain" && find . -type f -newer "$tmp/mark" | sort); }
touch "$tmp/mark"
sleep 1
export CS_WRONG=9999
refuse "wrong PIN" lua "$repo/scripts/issue.lua" --chain "$chain" --profile server \
    --name other.test --out "$tmp/other" --pin-env CS_WRONG
contains "wrong PIN: named" "$tmp/last.out" "PKCS#11 token 'ca': wrong PIN"
refuse "no PIN" lua "$repo/scripts/issue.lua" --chain "$chain" --profile server \
    --name other.test --out "$tmp/other"
contains "no PIN: says how to give it" "$tmp/last.out" "no PIN given"
refuse "--pin VALUE" lua "$repo/scripts/issue.lua" --chain "$chain" --profile server \
    --name other.test --out "$tmp/other" --pin 1234
contains "--pin VALUE: refused as a secret on the command line" "$tmp/last.out" \
    "secrets never go on the command line"
equal "--pin VALUE: usage exit status" "$(lua "$repo/scripts/issue.lua" --chain "$chain" \
    --profile server --name o.test --pin 1234 >/dev/null 2>&1; echo $?)" 2
if [ -e "$tmp/other" ]; then bad "a refused issue wrote $tmp/other"; else ok; fi

# a token or object that is not there (the URI file edited, as after a restore elsewhere)
cp "$chain/intermediate.key.uri" "$tmp/uri.saved"
echo "pkcs11:token=nosuch;object=x" >"$chain/intermediate.key.uri"
refuse "missing token" lua "$repo/scripts/issue.lua" --chain "$chain" --profile server \
    --name other.test --out "$tmp/other" --pin-env CS_PIN
contains "missing token: named" "$tmp/last.out" "PKCS#11 token 'nosuch': no such token"
echo "pkcs11:token=ca;object=chainsmith-gone" >"$chain/intermediate.key.uri"
refuse "missing object" lua "$repo/scripts/issue.lua" --chain "$chain" --profile server \
    --name other.test --out "$tmp/other" --pin-env CS_PIN
contains "missing object: named" "$tmp/last.out" "no private key labelled 'chainsmith-gone'"
cp "$tmp/uri.saved" "$chain/intermediate.key.uri"
touch "$tmp/mark"
if [ -e "$tmp/other" ]; then bad "a refused issue wrote $tmp/other"; else ok; fi

# build_chain: a PIN in the --hsm URI, a missing token, a wrong PIN: nothing written
fresh=$tmp/fresh
refuse "--hsm with pin-value" build_chain --out "$fresh" --hsm "pkcs11:token=ca?pin-value=1234"
contains "--hsm pin-value: refused" "$tmp/last.out" "a PIN never goes in the URI"
equal "--hsm pin-value: usage exit status" "$(build_chain --out "$fresh" \
    --hsm "pkcs11:token=ca;pin-value=1234" >/dev/null 2>&1; echo $?)" 2
refuse "--hsm missing token" build_chain --out "$fresh" --hsm "pkcs11:token=nosuch" \
    --pin-env CS_PIN
contains "--hsm missing token: named" "$tmp/last.out" "PKCS#11 token 'nosuch': no such token"
refuse "--hsm wrong PIN" build_chain --out "$fresh" --hsm "pkcs11:token=ca" --pin-env CS_WRONG
contains "--hsm wrong PIN: named" "$tmp/last.out" "wrong PIN"
for f in root.pem root.key.uri root.key intermediate.pem; do
    if [ -e "$fresh/$f" ]; then bad "a refused build wrote $f"; else ok; fi
done
check "no new objects on the token after the refusals" sh -c \
    "pkcs11-tool --module '$module' --token-label ca --login --pin 1234 -O 2>/dev/null |
     grep -c 'Private Key Object' | grep -qx 5"

equal "nothing in chain/ changed" "$(snapshot)" ""

# malformed URIs, from Lua: each refused by what is wrong
cat >"$tmp/read_key.lua" <<'LUA'
-- read_key.lua URI: print why pki.read_key refuses URI; exit 1 if it does not
local key, err = require("pki").read_key(arg[1], { pin = "1234" })
io.write(tostring(err), "\n")
os.exit(key == nil and 0 or 1)
LUA
uri_error() { # uri_error URI TEXT: pki.read_key refuses URI saying TEXT
    lua "$tmp/read_key.lua" "$1" >"$tmp/uri.out" 2>&1 || bad "read_key accepted $1"
    contains "URI $1" "$tmp/uri.out" "$2"
}
uri_error "pkcs11:token=ca" "needs token= and object="
uri_error "pkcs11:token=ca;object=a%2" "object: bad or empty value"
uri_error "pkcs11:token=ca;object=x;serial=1" "unsupported attribute 'serial'"
uri_error "pkcs11:token=ca;object=x?pin-source=file:/etc/pin" "pin-source: a PIN never goes in the URI"
uri_error "pkcs11:token=c%61;object=nothere" "token 'ca': no private key labelled 'nothere'"
uri_error "pkcs11:token=ca;object=x?module-path=/nonexistent.so" \
    "PKCS#11 module /nonexistent.so: cannot load it"

# --force without --hsm: back to key files, the URI files gone
check "build_chain --force without --hsm" build_chain --out "$chain" --force
for name in root intermediate ocsp; do
    if [ -e "$chain/$name.key" ] && [ ! -e "$chain/$name.key.uri" ]; then ok
    else bad "$name: not back to a key file after --force"; fi
done

finish
