# The stock-client matrix against chainsmith (issue 12 section 4): the same
# certbot and lego scripts and hostile requests that acme_pebble.sh proves
# against Debian's pebble, now against `serve.lua --acme` -- one server and
# a second that requires EAB, each with its own chain -- with
# pebble-challtestsrv as the DNS for dns-01. Revocation is checked where
# chainsmith publishes it: OCSP and the served CRL. No known deviations:
# every hostile request must get the RFC's answer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"

# Fail (never skip) until the ACME server is built: this test is not in the
# ctest list before then (tests/CMakeLists.txt).
if ! lua "$repo/scripts/serve.lua" --help 2>/dev/null | grep -q -- '--acme-dns-resolver'; then
    bad "chainsmith ACME not built: serve.lua has no --acme-dns-resolver"
    finish
    exit 1
fi

read -r ACME_HTTP_PORT ACME_TLS_PORT dns dnsm <<<"$(free_ports 4)"
export ACME_HTTP_PORT ACME_TLS_PORT
start_challtestsrv "$dns" "$dnsm"
wait_http "$ACME_DNS_MANAGEMENT/dns-request-history" || { bad "challtestsrv start"; finish; exit 1; }

# The shipped server profile refuses wildcards (allow_wildcard = false);
# certbot and lego both ask for one over dns-01, so the servers here issue
# under a copy that allows them -- the one change from the shipped profiles.
cp -r "$repo/scripts/profiles" "$tmp/profiles"
sed -i 's/^\( *allow_wildcard = \)false,/\1true,/' "$tmp/profiles/server.lua"
grep -q '^ *allow_wildcard = true,' "$tmp/profiles/server.lua" ||
    { bad "could not allow wildcards in a copy of profiles/server.lua"; finish; exit 1; }

validation=(--acme --acme-http-port "$ACME_HTTP_PORT" --acme-tls-port "$ACME_TLS_PORT"
            --acme-resolve '*.test=127.0.0.1' --acme-dns-resolver "$ACME_DNS"
            --profiles "$tmp/profiles")

# serve CHAIN LOG ARGS...: build a chain and serve it with ACME; sets
# directory (from --json) and keeps the pid for the cleanup.
serve() {
    local chain=$1 log=$2
    shift 2
    build_chain --out "$chain" >"$tmp/build.out" 2>&1 || { cat "$tmp/build.out" >&2; return 1; }
    start_server "$log" --chain "$chain" --http-port 0 "${validation[@]}" "$@" || return 1
    acme_pids="$acme_pids $server_pid"
    server_pid=""
    directory=$(acme_directory_of "$log")
    [ -n "$directory" ] || { echo "no ACME directory in:" >&2; cat "$log" >&2; return 1; }
}

serve "$tmp/chain" "$tmp/serve.log" || { bad "serve.lua --acme start"; finish; exit 1; }
export ACME_DIRECTORY=$directory
export ACME_CA_BUNDLE=$tmp/chain/root.pem ACME_ROOT=$tmp/chain/root.pem
export ACME_OCSP_URL=http://127.0.0.1:$http_port/ocsp
export ACME_CRL=http://127.0.0.1:$http_port/crl/intermediate.crl

export ACME_EAB_KID=kid-1
ACME_EAB_HMAC=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')
export ACME_EAB_HMAC
serve "$tmp/chain-eab" "$tmp/serve-eab.log" --acme-eab-required \
    --acme-eab-key "$ACME_EAB_KID=$ACME_EAB_HMAC" || { bad "serve.lua --acme (EAB) start"; finish; exit 1; }
export ACME_EAB_DIRECTORY=$directory ACME_EAB_ROOT=$tmp/chain-eab/root.pem
# certbot and lego trust one bundle for both servers' TLS.
cat "$tmp/chain/root.pem" "$tmp/chain-eab/root.pem" >"$tmp/tls-roots.pem"
export ACME_CA_BUNDLE=$tmp/tls-roots.pem

run_acme_suites chainsmith
finish
