# Shared by the ACME client tests (issue 12 section 4): free ports, the
# pebble-challtestsrv DNS every run uses, Debian's pebble as the oracle, and
# the checks made after each issuance and revocation. Sourced after lib.sh.
#
# The client scripts (acme_certbot.sh, acme_lego.sh) take the server under
# test from the environment (notes: Seam 4), so the same script judges
# pebble and chainsmith:
#   ACME_DIRECTORY       directory URL
#   ACME_CA_BUNDLE       PEM that verifies the ACME server's TLS
#   ACME_ROOT            PEM of the issuing root (the only trust for openssl verify)
#   ACME_HTTP_PORT       where the server's http-01 validation connects
#   ACME_TLS_PORT        where its tls-alpn-01 validation connects
#   ACME_DNS             host:port of the pebble-challtestsrv DNS the server asks
#   ACME_DNS_MANAGEMENT  URL of that challtestsrv's management API (TXT records)
#   ACME_EAB_DIRECTORY   directory URL of a second server that requires EAB,
#   ACME_EAB_KID, ACME_EAB_HMAC   and a key it knows,
#   ACME_EAB_ROOT        and the root it issues under
#   ACME_OCSP_URL, ACME_CRL       revocation checks (chainsmith; pebble has no OCSP)
#   ACME_STATUS_URL      pebble's management "cert-status-by-serial/" URL, the
#                        oracle's own revocation record, checked when set

# Debian's python3-acme lives with Debian's interpreter; a python3 earlier
# in PATH (pyenv, a venv) would not see it.
PY=/usr/bin/python3

# free_ports N: N distinct ports that nobody listens on now (TCP and UDP:
# the DNS port takes both). The kernel picks them; the small race until our
# servers bind them is accepted -- fixed ports such as 5002 would collide
# with other tests on the machine. One python start for all of them: it
# costs over a second on a loaded machine.
free_ports() {
    "$PY" -S - "$1" <<'EOF'
import socket, sys
held = []
while len(held) < int(sys.argv[1]):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", t.getsockname()[1]))
    except OSError:
        continue
    held += [(t, u)]
print(" ".join(str(t.getsockname()[1]) for t, _ in held))
EOF
}

# wait_http URL [CURL ARGS...]: poll until URL answers (any status), up to 60 s.
wait_http() {
    local url=$1
    shift
    for _ in $(seq 1 600); do
        if curl -s -o /dev/null --max-time 2 "$@" "$url"; then return 0; fi
        sleep 0.1
    done
    echo "no answer from $url" >&2
    return 1
}

acme_pids=""
acme_cleanup() {
    local pid
    for pid in $acme_pids; do kill "$pid" 2>/dev/null; done
    for pid in $acme_pids; do wait "$pid" 2>/dev/null; done
    acme_pids=""
    cleanup
}
trap acme_cleanup EXIT

# start_challtestsrv DNS_PORT MANAGEMENT_PORT: pebble-challtestsrv as the
# DNS for *.test (A 127.0.0.1, no AAAA so validation never wanders to ::1)
# and the TXT store for dns-01; its own challenge responders stay off, the
# clients answer the challenges. Exports ACME_DNS, ACME_DNS_MANAGEMENT.
start_challtestsrv() {
    pebble-challtestsrv -dns01 "127.0.0.1:$1" -management "127.0.0.1:$2" \
        -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
        >"$tmp/challtestsrv.log" 2>&1 &
    acme_pids="$acme_pids $!"
    export ACME_DNS="127.0.0.1:$1"
    export ACME_DNS_MANAGEMENT="http://127.0.0.1:$2"
}

# make_tls_cert DIR: a throwaway CA and a cert for localhost/127.0.0.1 signed
# by it, for the ACME server's own HTTPS (Debian's pebble ships no test cert).
make_tls_cert() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=acme test TLS root" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
        -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign \
        2>/dev/null &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout "$dir/key.pem" -out "$dir/req.pem" 2>/dev/null &&
    openssl x509 -req -in "$dir/req.pem" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -out "$dir/cert.pem" \
        -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
        2>/dev/null
}

# start_pebble NAME PORT MANAGEMENT_PORT [EAB_KID EAB_HMAC]: Debian's pebble
# on loopback, validating against ACME_HTTP_PORT/ACME_TLS_PORT and resolving
# through ACME_DNS; with a kid and key, a pebble that requires EAB. Needs
# the TLS cert in $tmp/tls. Does not wait: see wait_http.
start_pebble() {
    local name=$1 port=$2 mport=$3 eab_kid=${4:-} eab_hmac=${5:-} eab=''
    if [ -n "$eab_kid" ]; then
        eab=$(printf ', "externalAccountBindingRequired": true, "externalAccountMACKeys": {"%s": "%s"}' \
              "$eab_kid" "$eab_hmac")
    fi
    cat >"$tmp/$name.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$mport",
 "certificate": "$tmp/tls/cert.pem", "privateKey": "$tmp/tls/key.pem",
 "httpPort": $ACME_HTTP_PORT, "tlsPort": $ACME_TLS_PORT, "ocspResponderURL": ""$eab}}
EOF
    # NOSLEEP: validate at once; NONCEREJECT=0: no random badNonce (clients
    # retry, but a harness should not lean on that); AUTHZREUSE=0: every
    # order is validated afresh, so each challenge type really runs.
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
        pebble -config "$tmp/$name.json" -dnsserver "$ACME_DNS" >"$tmp/$name.log" 2>&1 &
    acme_pids="$acme_pids $!"
}

# start_pebble_pair: the oracle set-up -- challtestsrv, a pebble, a second
# pebble that requires EAB -- with every ACME_* variable exported.
start_pebble_pair() {
    local mgmt dns dnsm p1 m1 p2 m2
    read -r ACME_HTTP_PORT ACME_TLS_PORT dns dnsm p1 m1 p2 m2 <<<"$(free_ports 8)"
    export ACME_HTTP_PORT ACME_TLS_PORT
    start_challtestsrv "$dns" "$dnsm"
    make_tls_cert "$tmp/tls" || return 1
    export ACME_CA_BUNDLE=$tmp/tls/ca.pem
    export ACME_EAB_KID=kid-1
    # 48 random bytes in base64url, like pebble's own EAB examples
    ACME_EAB_HMAC=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
    export ACME_EAB_HMAC
    start_pebble pebble "$p1" "$m1"
    start_pebble pebble-eab "$p2" "$m2" "$ACME_EAB_KID" "$ACME_EAB_HMAC"
    export ACME_DIRECTORY=https://127.0.0.1:$p1/dir
    export ACME_EAB_DIRECTORY=https://127.0.0.1:$p2/dir
    wait_http "$ACME_DNS_MANAGEMENT/dns-request-history" || { cat "$tmp/challtestsrv.log" >&2; return 1; }
    wait_http "$ACME_DIRECTORY" --cacert "$ACME_CA_BUNDLE" || { cat "$tmp/pebble.log" >&2; return 1; }
    wait_http "$ACME_EAB_DIRECTORY" --cacert "$ACME_CA_BUNDLE" || { cat "$tmp/pebble-eab.log" >&2; return 1; }
    # pebble makes a fresh root each start; its management API hands it out.
    mgmt=https://127.0.0.1:$m1
    curl -sS --fail --cacert "$ACME_CA_BUNDLE" -o "$tmp/pebble-root.pem" "$mgmt/roots/0" || return 1
    export ACME_ROOT=$tmp/pebble-root.pem
    export ACME_STATUS_URL=$mgmt/cert-status-by-serial/
    curl -sS --fail --cacert "$ACME_CA_BUNDLE" -o "$tmp/pebble-eab-root.pem" \
        "https://127.0.0.1:$m2/roots/0" || return 1
    export ACME_EAB_ROOT=$tmp/pebble-eab-root.pem
}

# start_webroot DIR: serve DIR over plain HTTP on the http-01 port
# (python3 -m http.server, its log in DIR.log), for the clients that put
# their http-01 answers in a web root (certbot --webroot, dehydrated,
# acme-tiny); sets web_pid. stop_webroot: stop it.
start_webroot() {
    mkdir -p "$1/.well-known/acme-challenge"
    "$PY" -m http.server "$ACME_HTTP_PORT" --bind 127.0.0.1 --directory "$1" >"$1.log" 2>&1 &
    web_pid=$!
    acme_pids="$acme_pids $web_pid"
    wait_http "http://127.0.0.1:$ACME_HTTP_PORT/"
}
stop_webroot() {
    kill "$web_pid"
    wait "$web_pid" 2>/dev/null
}

# set_txt NAME VALUE / clear_txt NAME: dns-01 records in challtestsrv.
set_txt() {
    curl -sS --fail --max-time 10 -d "{\"host\":\"$1.\",\"value\":\"$2\"}" \
        "$ACME_DNS_MANAGEMENT/set-txt"
}
clear_txt() {
    curl -sS --fail --max-time 10 -d "{\"host\":\"$1.\"}" "$ACME_DNS_MANAGEMENT/clear-txt"
}

# verify_chain NAME LEAF CHAIN: the leaf chains to ACME_ROOT, trusting only
# that root, with CHAIN (the rest of what the server sent) as untrusted.
verify_chain() {
    check "$1: openssl verify against the root only" \
        openssl verify -x509_strict -CAfile "$ACME_ROOT" -untrusted "$3" "$2"
}

# names_are NAME LEAF "a.test b.test": the leaf's SAN dNSNames, sorted.
names_are() {
    local got
    got=$(openssl x509 -in "$2" -noout -ext subjectAltName 2>/dev/null |
          tr ',' '\n' | sed -n 's/^ *DNS://p' | LC_ALL=C sort | tr '\n' ' ')
    equal "$1: names" "${got% }" "$3"
}

serial_of() {
    openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

# assert_revoked NAME LEAF CHAIN: the server's own record says revoked --
# OCSP and CRL when the server has them, pebble's management status when set.
# At least one must be set, or this is a failure (nothing would be checked).
assert_revoked() {
    local name=$1 leaf=$2 chain=$3 checked=0 serial
    serial=$(serial_of "$leaf")
    if [ -n "${ACME_OCSP_URL:-}" ]; then
        checked=1
        openssl ocsp -issuer "$chain" -cert "$leaf" -url "$ACME_OCSP_URL" \
            -CAfile "$ACME_ROOT" -no_nonce >"$tmp/ocsp.out" 2>&1
        contains "$name: OCSP says revoked" "$tmp/ocsp.out" ": revoked"
    fi
    if [ -n "${ACME_CRL:-}" ]; then
        checked=1
        case $ACME_CRL in
            http*) curl -sS --fail --max-time 10 --cacert "$ACME_CA_BUNDLE" -o "$tmp/crl" "$ACME_CRL" ;;
            *) cp "$ACME_CRL" "$tmp/crl" ;;
        esac
        openssl crl -in "$tmp/crl" -inform "$(head -c 5 "$tmp/crl" | grep -q -- '-----' && echo PEM || echo DER)" \
            -noout -text >"$tmp/crl.txt" 2>&1
        contains "$name: the CRL lists it" "$tmp/crl.txt" "Serial Number: $serial"
    fi
    if [ -n "${ACME_STATUS_URL:-}" ]; then
        checked=1
        curl -sS --fail --max-time 10 --cacert "$ACME_CA_BUNDLE" \
            -o "$tmp/status.json" "$ACME_STATUS_URL$serial" || true
        contains "$name: the server's record says revoked" "$tmp/status.json" '"Status": "Revoked"'
    fi
    [ "$checked" = 1 ] || bad "$name: no way to check revocation (set ACME_OCSP_URL/ACME_CRL)"
}

# assert_valid NAME LEAF: the server's record does not say revoked.
assert_not_revoked() {
    local serial
    serial=$(serial_of "$2")
    if [ -n "${ACME_STATUS_URL:-}" ]; then
        curl -sS --max-time 10 --cacert "$ACME_CA_BUNDLE" -o "$tmp/status.json" "$ACME_STATUS_URL$serial"
        contains "$1: the server's record says valid" "$tmp/status.json" '"Status": "Valid"'
    fi
    if [ -n "${ACME_OCSP_URL:-}" ]; then
        openssl ocsp -issuer "$3" -cert "$2" -url "$ACME_OCSP_URL" -CAfile "$ACME_ROOT" \
            -no_nonce >"$tmp/ocsp.out" 2>&1
        contains "$1: OCSP says good" "$tmp/ocsp.out" ": good"
    fi
}

# need_env VAR...: the client scripts refuse to run half-configured.
need_env() {
    local v missing=""
    for v in "$@"; do
        [ -n "${!v:-}" ] || missing="$missing $v"
    done
    if [ -n "$missing" ]; then
        echo "missing environment:$missing (run through acme_pebble.sh or acme_chainsmith.sh)" >&2
        exit 2
    fi
}

# run_acme_suites SERVER_NAME [HOSTILE ARGS...]: the certbot, lego,
# dehydrated and acme-tiny scripts and the hostile requests against the
# server the ACME_* variables name, each timed. ACME_SUITES (a list of
# certbot lego dehydrated tiny hostile; all by default) runs some of them
# only, when working on one.
run_acme_suites() {
    local server=$1 start suite
    shift
    for suite in ${ACME_SUITES:-certbot lego dehydrated tiny hostile}; do
        start=$(date +%s)
        case $suite in
        hostile)
            echo "hostile requests"
            if "$PY" "$repo/tests/acme/hostile.py" --directory "$ACME_DIRECTORY" \
                --ca-bundle "$ACME_CA_BUNDLE" --http-port "$ACME_HTTP_PORT" \
                --eab-directory "$ACME_EAB_DIRECTORY" "$@"; then
                ok
            else
                bad "hostile requests against $server"
            fi
            ;;
        certbot | lego | dehydrated | tiny)
            if bash "$repo/tests/e2e/acme_$suite.sh"; then ok; else bad "$suite against $server"; fi
            ;;
        *) bad "ACME_SUITES: no suite '$suite' (certbot lego dehydrated tiny hostile)" ;;
        esac
        echo "$suite against $server: $(($(date +%s) - start)) s"
    done
}

# acme_directory_of LOG: the ACME directory URL from serve.lua --json's
# line (JSON may escape "/" as "\/").
acme_directory_of() {
    sed -n 's|^{.*"https":{"acme":"\([^"]*\)".*|\1|p' "$1" | sed 's|\\/|/|g'
}
