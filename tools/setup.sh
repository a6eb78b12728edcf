#!/bin/sh
# Install what chainsmith needs on Debian 12, then fetch CivetWeb's source.
# With --test, also what only the tests use (a browser, NSS tools, keytool,
# testssl.sh, the stock ACME clients and Debian's pebble as their oracle,
# PostgreSQL 15 for the shared-database tests: they start their own
# throwaway clusters, so the packaged cluster's service is not needed).
# Safe to run again: it installs only what is missing and fetches only once.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/.cache"

packages="build-essential cmake pkg-config libssl-dev openssl libsqlite3-dev sqlite3
libidn2-dev libjansson-dev libpq-dev liblua5.4-dev lua5.4 lua-argparse lua-cjson lua-filesystem lua-check gnutls-bin
curl dpkg-dev ca-certificates libcurl4-openssl-dev libc-ares-dev libp11-kit-dev libengine-pkcs11-openssl"

if [ "${1:-}" = "--test" ]; then
    packages="$packages chromium libnss3-tools openjdk-17-jre-headless testssl.sh bsdutils
python3 certbot lego dehydrated acme-tiny pebble python3-acme postgresql-15 postgresql-client-15 softhsm2 opensc"
fi

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    echo "setup: installing:$missing"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi

# lua-check and lua-busted pull in Lua 5.1, whose alternative then wins `lua`.
if command -v update-alternatives >/dev/null 2>&1 &&
   [ "$(lua -v 2>&1 | cut -c1-7)" != "Lua 5.4" ] && [ "$(id -u)" -eq 0 ]; then
    update-alternatives --set lua-interpreter "$(command -v lua5.4)" || true
fi

"$here/tools/fetch_civetweb.sh" "$cache/civetweb"
