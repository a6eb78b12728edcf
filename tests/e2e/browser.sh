# A real browser: headless Chromium (its own certificate verifier) loads the
# hello page once the root, and only the root, is in its NSS store, and
# refuses it before.
. "$(dirname "$0")/lib.sh"

chromium_get() { # PROFILE URL: print the DOM Chromium loaded, empty when refused
    HOME=$tmp/home timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$tmp/$1" --dump-dom "$2" 2>/dev/null
}

out=$tmp/chain
check "build_chain" build_chain --out "$out"
start_server "$tmp/serve.log" --chain "$out" || { bad "server start"; finish; exit 1; }
url=https://localhost:$port/

mkdir -p "$tmp/home/.pki/nssdb"
check "empty NSS store" certutil -d "sql:$tmp/home/.pki/nssdb" -N --empty-password
chromium_get untrusted "$url" >"$tmp/untrusted.html"
lacks "Chromium refuses the page before the root is trusted" "$tmp/untrusted.html" \
    "Hello, World!"

check "trust the root in NSS" certutil -d "sql:$tmp/home/.pki/nssdb" -A -t "C,," \
    -n chainsmith-test-root -i "$out/root.pem"
chromium_get trusted "$url" >"$tmp/trusted.html"
contains "Chromium loads the page over the chain" "$tmp/trusted.html" "Hello, World!"
contains "... and shows the chain it was served" "$tmp/trusted.html" "Simple Intermediate CA"
stop_server TERM || bad "stop"

# The tutorial's mistake, for contrast: a server that sends the leaf alone.
cp -r "$out" "$tmp/leaf-only"
cp "$out/server.pem" "$tmp/leaf-only/server-chain.pem"
start_server "$tmp/serve2.log" --chain "$tmp/leaf-only" || { bad "server start"; finish; exit 1; }
chromium_get leafonly "https://localhost:$port/" >"$tmp/leafonly.html"
lacks "Chromium refuses a server that sends the leaf without the intermediate" \
    "$tmp/leafonly.html" "Hello, World!"
stop_server TERM || bad "stop"

finish
