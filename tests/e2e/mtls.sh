# serve.lua with client certificates (mTLS), against curl, openssl s_client
# and gnutls-cli: ours gets in and is greeted by subject and serial; another
# CA's, an expired one, a server certificate and none (when required) are
# refused; without mTLS the server asks for nothing; bad --client-ca files
# are named and nothing starts.
. "$(dirname "$0")/lib.sh"

check "build_chain" build_chain --out "$tmp/chain"
check "build another chain" build_chain --out "$tmp/other"
cp -r "$repo/www" "$tmp/www"
chain=$tmp/chain

# make_client CHAIN_DIR NAME CN [expired]: NAME.pem (+ NAME.key) under the
# chain's intermediate, recorded in its ca.db, clientAuth only; expired:
# notAfter yesterday.
cat >"$tmp/make_client.lua" <<'EOF'
local pki = require "pki"
local dir, name, cn, expired = arg[1], arg[2], arg[3], arg[4] == "expired"
local inter = assert(pki.read_cert(dir .. "/intermediate.pem"))
local inter_key = assert(pki.read_key(dir .. "/intermediate.key"))
local key = assert(pki.generate_key { type = "ec", curve = "P-256" })
local spec = {
    subject = { { "C", "SE" }, { "O", "Simple Inc" }, { "CN", cn } },
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "clientAuth" },
    subject_alt_name = { email = { "client@example.test" } },
    subject_key_id = true,
    authority_key_id = true,
}
if expired then
    spec.not_before, spec.not_after = os.time() - 3 * 86400, os.time() - 86400
else
    spec.validity_days = 7
end
-- Recorded in the chain's ca.db, as issue.lua records: the server refuses
-- a certificate of its intermediate's that the database does not hold.
local store = assert(pki.open_store(dir .. "/ca.db"))
local cert = assert(store:issue(spec, key, inter, inter_key, "client"))
store:close()
assert(cert:save(name .. ".pem"))
assert(key:save(name .. ".key"))
EOF
make_client() {
    lua "$tmp/make_client.lua" "$@"
}
check "client certificate" make_client "$chain" "$tmp/alice" "Alice <&>"
check "expired client certificate" make_client "$chain" "$tmp/expired" "Old Timer" expired
check "other CA's client certificate" make_client "$tmp/other" "$tmp/mallory" "Mallory"
serial=$(openssl x509 -in "$tmp/alice.pem" -noout -serial | cut -d= -f2)
subject="C=SE, O=Simple Inc, CN=Alice &lt;&amp;&gt;"

# get NAME OUT [CURL ARGS...]: the hello page as client NAME ("" for none).
get() {
    local name=$1 out=$2
    shift 2
    local cert=()
    [ -n "$name" ] && cert=(--cert "$tmp/$name.pem" --key "$tmp/$name.key")
    curl -sS --fail --max-time 10 --cacert "$chain/root.pem" \
        --resolve "localhost:$port:127.0.0.1" "${cert[@]}" -o "$out" "$@" \
        "https://localhost:$port/"
}
cp "$chain/server.pem" "$tmp/server.pem"
cp "$chain/server.key" "$tmp/server.key"

# --- required -----------------------------------------------------------
start_server "$tmp/req.log" --chain "$chain" --www "$tmp/www" \
    --client-ca "$chain/root.pem" --require-client-cert || { bad "start"; finish; exit 1; }
contains "says clients must show a certificate" "$tmp/req.log" "client certificates required"
check "curl with our client certificate" get alice "$tmp/alice.html"
contains "greeted by subject and serial" "$tmp/alice.html" "$subject (serial $serial)"
contains "still the hello page" "$tmp/alice.html" "Hello, World!"
check "TLS 1.2 with our client certificate" get alice "$tmp/alice12.html" --tlsv1.2 --tls-max 1.2
contains "TLS 1.2 greets too" "$tmp/alice12.html" "(serial $serial)"
refuse "no certificate refused" get "" "$tmp/none.html"
refuse "another CA's certificate refused" get mallory "$tmp/mallory.html"
refuse "another CA's, TLS 1.2, refused" get mallory "$tmp/mallory.html" --tlsv1.2 --tls-max 1.2
refuse "expired certificate refused" get expired "$tmp/expired.html"
refuse "server certificate (serverAuth only) refused" get server "$tmp/server.html"

printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' | openssl s_client -quiet \
    -connect "127.0.0.1:$port" -servername localhost -CAfile "$chain/root.pem" \
    -verify_return_error -cert "$tmp/alice.pem" -key "$tmp/alice.key" >"$tmp/s_client.txt" 2>&1
contains "openssl s_client with our certificate" "$tmp/s_client.txt" "(serial $serial)"
openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null \
    >"$tmp/s_client_ca.txt" 2>&1
contains "acceptable CA names sent" "$tmp/s_client_ca.txt" \
    "Acceptable client certificate CA names"
contains "the root among them" "$tmp/s_client_ca.txt" "CN = Simple Root CA"
contains "the intermediate among them" "$tmp/s_client_ca.txt" "CN = Simple Intermediate CA"
printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' | gnutls-cli --x509cafile "$chain/root.pem" \
    --x509certfile "$tmp/alice.pem" --x509keyfile "$tmp/alice.key" --port "$port" \
    localhost >"$tmp/gnutls.txt" 2>&1
contains "gnutls-cli with our certificate" "$tmp/gnutls.txt" "(serial $serial)"
stop_server TERM && ok || bad "stop (required)"

# --- requested (the default with --client-ca) ----------------------------
start_server "$tmp/opt.log" --chain "$chain" --www "$tmp/www" \
    --client-ca "$chain/root.pem" || { bad "start"; finish; exit 1; }
contains "says certificates are optional" "$tmp/opt.log" "client certificates requested"
check "no certificate gets in" get "" "$tmp/anon.html"
contains "greeted as anonymous" "$tmp/anon.html" "anonymous (no client certificate)"
check "our certificate gets in" get alice "$tmp/alice2.html"
contains "and is greeted" "$tmp/alice2.html" "$subject (serial $serial)"
refuse "another CA's certificate still refused" get mallory "$tmp/mallory2.html"
refuse "expired certificate still refused" get expired "$tmp/expired2.html"
stop_server TERM && ok || bad "stop (requested)"

# --- no mTLS: no CertificateRequest at all ------------------------------
start_server "$tmp/plain.log" --chain "$chain" --www "$tmp/www" || { bad "start"; finish; exit 1; }
lacks "says nothing of client certificates" "$tmp/plain.log" "client certificates"
openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null \
    >"$tmp/s_client_plain.txt" 2>&1
contains "no CA names sent" "$tmp/s_client_plain.txt" "No client certificate CA names sent"
lacks "no acceptable CA names" "$tmp/s_client_plain.txt" "Acceptable client certificate CA names"
check "a client certificate is not asked for" get alice "$tmp/plain.html"
contains "and not looked at" "$tmp/plain.html" "anonymous (no client certificate)"
stop_server TERM && ok || bad "stop (plain)"

# --- --require-client-cert alone: the chain's own root ------------------
start_server "$tmp/own.log" --chain "$chain" --www "$tmp/www" --require-client-cert \
    || { bad "start"; finish; exit 1; }
contains "under the chain's root" "$tmp/own.log" "CN=Simple Root CA"
check "ours gets in" get alice "$tmp/own.html"
contains "greeted" "$tmp/own.html" "(serial $serial)"
refuse "none refused" get "" "$tmp/own-none.html"
stop_server TERM && ok || bad "stop (own root)"

# --- another CA's root + intermediate in one file -----------------------
cat "$tmp/other/root.pem" "$tmp/other/intermediate.pem" >"$tmp/other-cas.pem"
start_server "$tmp/foreign.log" --chain "$chain" --www "$tmp/www" \
    --client-ca "$tmp/other-cas.pem" --require-client-cert || { bad "start"; finish; exit 1; }
check "that CA's client gets in" get mallory "$tmp/foreign.html"
contains "greeted by its name" "$tmp/foreign.html" "CN=Mallory (serial"
refuse "ours is refused there" get alice "$tmp/foreign-alice.html"
stop_server TERM && ok || bad "stop (foreign)"

# --- bad --client-ca: named, nothing started ----------------------------
printf 'not a certificate\n' >"$tmp/junk.pem"
refuse "malformed --client-ca" lua "$repo/scripts/serve.lua" --port 0 --listen 127.0.0.1 \
    --chain "$chain" --www "$tmp/www" --client-ca "$tmp/junk.pem"
contains "malformed file is named" "$tmp/last.out" "$tmp/junk.pem"
lacks "nothing served" "$tmp/last.out" "serving https"
refuse "missing --client-ca" lua "$repo/scripts/serve.lua" --port 0 --listen 127.0.0.1 \
    --chain "$chain" --www "$tmp/www" --client-ca "$tmp/nothing.pem"
contains "missing file is named" "$tmp/last.out" "$tmp/nothing.pem"
refuse "a leaf as --client-ca" lua "$repo/scripts/serve.lua" --port 0 --listen 127.0.0.1 \
    --chain "$chain" --www "$tmp/www" --client-ca "$tmp/alice.pem"
contains "a leaf is not a CA" "$tmp/last.out" "is not a CA"

finish
