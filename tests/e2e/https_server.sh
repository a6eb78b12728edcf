# serve.lua over the chain, with real clients: curl and GnuTLS trusting only
# the root, openssl s_client counting the certificates sent, old TLS refused,
# no listing, no escape from www/, clear refusals, clean stops.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
cp -r "$repo/www" "$tmp/www"
mkdir "$tmp/www/private"
echo "inside" >"$tmp/www/private/note.txt"

start_server "$tmp/serve.log" --chain "$out" --www "$tmp/www" || { bad "server start"; finish; exit 1; }
url=https://localhost:$port

check "curl trusting only the root" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o "$tmp/page.html" "$url/"
contains "hello page" "$tmp/page.html" "Hello, World!"
contains "page shows the leaf" "$tmp/page.html" "C=SE, O=Simple Inc, OU=ABC, CN=localhost"
contains "page shows the intermediate" "$tmp/page.html" "CN=Simple Intermediate CA"
contains "page tells how to trust the root" "$tmp/page.html" "lua scripts/trust.lua install"
lacks "no hand-run certutil" "$tmp/page.html" "certutil"
contains "page names the bound address" "$tmp/page.html" "https://localhost:$port/"
[ "$port" = 8443 ] || lacks "page names no other port" "$tmp/page.html" "8443"
contains "page shows the root fingerprint" "$tmp/page.html" "$(fingerprint "$out/root.pem")"
refuse "curl without the root refuses" curl -sS --fail --resolve "localhost:$port:127.0.0.1" "$url/"
check "root.pem offered for download" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o "$tmp/dl.pem" "$url/root.pem"
equal "downloaded root is the root" "$(fingerprint "$tmp/dl.pem")" "$(fingerprint "$out/root.pem")"
check "static file" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o "$tmp/style.css" "$url/style.css"

echo | openssl s_client -connect "127.0.0.1:$port" -servername localhost -showcerts \
    -CAfile "$out/root.pem" -verify_return_error >"$tmp/s_client.txt" 2>&1
equal "server sends leaf + intermediate" "$(grep -c 'BEGIN CERTIFICATE' "$tmp/s_client.txt")" 2
contains "s_client verifies to the root" "$tmp/s_client.txt" "Verify return code: 0 (ok)"
check "GnuTLS client trusting only the root" sh -c "echo | gnutls-cli --x509cafile '$out/root.pem' \
    --port '$port' localhost"
refuse "TLS 1.1 is refused" openssl s_client -connect "127.0.0.1:$port" -tls1_1 </dev/null
refuse "TLS 1.0 is refused" curl -sS --cacert "$out/root.pem" --tlsv1.0 --tls-max 1.1 \
    --resolve "localhost:$port:127.0.0.1" "$url/"
check "TLS 1.2 works" curl -sS --fail --cacert "$out/root.pem" --tlsv1.2 --tls-max 1.2 \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "$url/"
if grep -q "::1" "$tmp/serve.log"; then
    check "IPv6 loopback" curl -sS --fail --cacert "$out/root.pem" -o /dev/null \
        --resolve "localhost:$port:::1" "$url/"
fi

status=$(curl -s -o "$tmp/listing" -w '%{http_code}' --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" "$url/private/")
[ "$status" = 403 ] || [ "$status" = 404 ] && ok || bad "directory listing answered $status"
lacks "no listing" "$tmp/listing" "note.txt"
curl -s --path-as-is --cacert "$out/root.pem" --resolve "localhost:$port:127.0.0.1" \
    -o "$tmp/escape" "$url/../../../../etc/passwd"
lacks "no path escape" "$tmp/escape" "root:"
curl -s --path-as-is --cacert "$out/root.pem" --resolve "localhost:$port:127.0.0.1" \
    -o "$tmp/escape2" "$url/%2e%2e/%2e%2e/%2e%2e/etc/passwd"
lacks "no encoded path escape" "$tmp/escape2" "root:"

# Connection: close is answered with Connection: close (clients stop there).
curl -sS -i --cacert "$out/root.pem" -H 'Connection: close' --resolve "localhost:$port:127.0.0.1" \
    -o "$tmp/close.txt" "$url/"
contains "Connection: close is answered in kind" "$tmp/close.txt" "Connection: close"
# Resumption on by default, off with --no-resumption.
reconnect() {
    echo | openssl s_client -connect "127.0.0.1:$1" -tls1_2 -reconnect 2>&1 \
        | grep -E '^(New|Reused),' | tail -1 | cut -d, -f1
}
equal "sessions resume by default" "$(reconnect "$port")" Reused

# A second server on the same port says so.
refuse "port in use" lua "$repo/scripts/serve.lua" --port "$port" --listen 127.0.0.1 \
    --chain "$out" --www "$tmp/www"
contains "port in use is named" "$tmp/last.out" "$port"

stop_server TERM && ok || bad "SIGTERM exit status"
contains "stops cleanly on SIGTERM" "$tmp/serve.log" "stopped (SIGTERM)"
start_server "$tmp/serve2.log" --chain "$out" --www "$tmp/www" || bad "restart"
stop_server INT && ok || bad "SIGINT exit status"
contains "stops cleanly on Ctrl-C" "$tmp/serve2.log" "stopped (SIGINT)"

start_server "$tmp/serve3.log" --chain "$out" --www "$tmp/www" --no-resumption || bad "restart"
equal "--no-resumption: every handshake is new" "$(reconnect "$port")" New
stop_server TERM && ok || bad "SIGTERM exit status"

# Refusals: a key that does not match, files missing.
cp -r "$out" "$tmp/mismatch"
cp "$out/intermediate.key" "$tmp/mismatch/server.key"
refuse "mismatched key" lua "$repo/scripts/serve.lua" --port 0 --chain "$tmp/mismatch"
contains "mismatch is named" "$tmp/last.out" "does not match"
refuse "missing chain" lua "$repo/scripts/serve.lua" --port 0 --chain "$tmp/nothing"
contains "missing chain says what to do" "$tmp/last.out" "build_chain.lua"

finish
