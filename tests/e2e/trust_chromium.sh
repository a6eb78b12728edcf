# Issue 4's "done when" for the trust store: a real headless Chromium with an
# isolated HOME refuses the hello page before `trust.lua install`, loads it
# after, and refuses it again after `trust.lua uninstall`.
. "$(dirname "$0")/lib.sh"

export HOME=$tmp/home
mkdir -p "$HOME"
runs=0

# chromium_get NAME URL: the DOM to $tmp/NAME.html, Chromium's log to
# $tmp/NAME.log (where a refused certificate is named). One browser at a time,
# a fresh profile each, bounded by timeout.
chromium_get() {
    runs=$((runs + 1))
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$tmp/profile-$runs" --dump-dom "$2" \
        >"$tmp/$1.html" 2>"$tmp/$1.log"
}

# refused_as_untrusted NAME LOG: Chromium logged ERR_CERT_AUTHORITY_INVALID,
# by name (Chromium 156) or by number (150 logs only "net_error -202").
refused_as_untrusted() {
    if grep -Eq "ERR_CERT_AUTHORITY_INVALID|net_error -202([^0-9]|$)" "$2"; then ok; else
        bad "$1: no ERR_CERT_AUTHORITY_INVALID (net_error -202) in:"; sed 's/^/    /' "$2" >&2
    fi
}

# no_cert_error NAME LOG: no certificate error at all (net errors -200 to -299).
no_cert_error() {
    if grep -Eq "ERR_CERT|net_error -2[0-9][0-9]([^0-9]|$)" "$2"; then
        bad "$1:"; sed 's/^/    /' "$2" >&2
    else ok; fi
}

trust() {
    lua "$repo/scripts/trust.lua" "$@" --out "$tmp/chain"
}

check "build_chain" build_chain --out "$tmp/chain"
start_server "$tmp/serve.log" --chain "$tmp/chain" || { bad "server start"; finish; exit 1; }
url=https://localhost:$port/

chromium_get before "$url"
lacks "before install: no hello page" "$tmp/before.html" "Hello, World!"
refused_as_untrusted "before install: Chromium names the untrusted issuer" "$tmp/before.log"

check "install --store nss" trust install --store nss
contains "install says where" "$tmp/last.out" "$HOME/.pki/nssdb"
certutil -d "sql:$HOME/.pki/nssdb" -L >"$tmp/nss.txt" 2>&1
contains "the NSS store holds the root" "$tmp/nss.txt" "chainsmith Simple Root CA"
contains "... trusted to issue TLS server certificates" "$tmp/nss.txt" "C,,"
chromium_get after "$url"
contains "after install: Chromium loads the hello page" "$tmp/after.html" "Hello, World!"
no_cert_error "after install: no certificate error" "$tmp/after.log"

check "uninstall --store nss" trust uninstall --store nss
chromium_get again "$url"
lacks "after uninstall: no hello page" "$tmp/again.html" "Hello, World!"
refused_as_untrusted "after uninstall: the certificate error is back" "$tmp/again.log"
stop_server TERM || bad "stop"

finish
