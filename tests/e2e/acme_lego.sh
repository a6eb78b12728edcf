# Debian's lego, unmodified, against the ACME server the environment names
# (acmelib.sh lists the ACME_* variables): http-01, tls-alpn-01, dns-01 for
# a wildcard through the exec provider, renew, revoke, EAB, all with a P-384
# account key. After each issuance the chain verifies trusting only the
# server's root; after the revocation the server's own record says revoked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"
need_env ACME_DIRECTORY ACME_CA_BUNDLE ACME_ROOT ACME_HTTP_PORT ACME_TLS_PORT ACME_DNS \
    ACME_DNS_MANAGEMENT ACME_EAB_DIRECTORY ACME_EAB_KID ACME_EAB_HMAC ACME_EAB_ROOT
export LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE
# dns-01 through the exec provider: our hook sets the TXT in challtestsrv;
# lego checks it through ACME_DNS (below), polling every second. Names
# sharing a TXT record (a wildcard and its base) are solved one after the
# other, EXEC_SEQUENCE_INTERVAL apart: 60 s unless told.
export EXEC_PATH=$repo/tests/acme/dns_hook.sh EXEC_PROPAGATION_TIMEOUT=60 EXEC_POLLING_INTERVAL=1 \
    EXEC_SEQUENCE_INTERVAL=1

path=$tmp/lego
certs=$path/certificates

# lego_in DIR SERVER ARGS...: lego with its files under DIR. --key-type
# ec384 makes both the account key and the certificate keys P-384.
lego_in() {
    local dir=$1 server=$2
    shift 2
    timeout 180 lego --path "$dir" --server "$server" --accept-tos --email ops@example.org \
        --key-type ec384 "$@"
}

# lg NAME ARGS...: lego (in the main folder, against ACME_DIRECTORY) must succeed.
lg() {
    local name=$1
    shift
    check "lego: $name" lego_in "$path" "$ACME_DIRECTORY" "$@"
}

http=(--http --http.port "127.0.0.1:$ACME_HTTP_PORT")
tls=(--tls --tls.port "127.0.0.1:$ACME_TLS_PORT")
dns=(--dns exec --dns.resolvers "$ACME_DNS" --dns.disable-cp)

echo "lego: http-01"
lg "http-01" "${http[@]}" -d l1.test run
verify_chain "lego http-01" "$certs/l1.test.crt" "$certs/l1.test.issuer.crt"
names_are "lego http-01" "$certs/l1.test.crt" "l1.test"
key=$(find "$path/accounts" -name '*.key' | head -n 1)
openssl pkey -in "$key" -noout -text >"$tmp/account-key.txt" 2>&1
contains "the account key is P-384" "$tmp/account-key.txt" "NIST CURVE: P-384"
openssl x509 -in "$certs/l1.test.crt" -noout -text >"$tmp/l1.txt"
contains "the certificate key is P-384" "$tmp/l1.txt" "NIST CURVE: P-384"

echo "lego: tls-alpn-01"
lg "tls-alpn-01" "${tls[@]}" -d l2.test run
verify_chain "lego tls-alpn-01" "$certs/l2.test.crt" "$certs/l2.test.issuer.crt"
names_are "lego tls-alpn-01" "$certs/l2.test.crt" "l2.test"

echo "lego: dns-01 for *.a.test and a.test"
lg "dns-01 wildcard" "${dns[@]}" -d '*.a.test' -d a.test run
verify_chain "lego dns-01" "$certs/_.a.test.crt" "$certs/_.a.test.issuer.crt"
names_are "lego dns-01" "$certs/_.a.test.crt" "*.a.test a.test"

echo "lego: renew"
before=$(serial_of "$certs/l1.test.crt")
# --days: renew when fewer days are left than this, i.e. now, whatever the
# server's validity (pebble's is five years).
lg "renew" "${http[@]}" -d l1.test renew --days 36500 --no-random-sleep
after=$(serial_of "$certs/l1.test.crt")
if [ "$before" != "$after" ]; then ok; else bad "lego renew: the serial did not change"; fi
verify_chain "lego renewed" "$certs/l1.test.crt" "$certs/l1.test.issuer.crt"

echo "lego: revoke"
cp "$certs/l2.test.crt" "$tmp/l2.crt"
cp "$certs/l2.test.issuer.crt" "$tmp/l2.issuer.crt"
assert_not_revoked "before revoking l2" "$tmp/l2.crt" "$tmp/l2.issuer.crt"
lg "revoke" -d l2.test revoke --reason 4
assert_revoked "lego revoke" "$tmp/l2.crt" "$tmp/l2.issuer.crt"
assert_not_revoked "l1 untouched" "$certs/l1.test.crt" "$certs/l1.test.issuer.crt"

echo "lego: EAB against a server that requires it"
eab=$tmp/lego-eab
# lego reads meta.externalAccountRequired and stops before asking (the
# server's own refusal is in tests/acme/hostile.py); a wrong MAC goes to the
# server, which must refuse it.
refuse "lego EAB: no account without a binding" lego_in "$eab" "$ACME_EAB_DIRECTORY" \
    "${http[@]}" -d l3.test run
contains "lego EAB: the directory says EAB is required" "$tmp/last.out" "requires External Account Binding"
wrong=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
refuse "lego EAB: no account with the wrong MAC key" lego_in "$eab" "$ACME_EAB_DIRECTORY" \
    --eab --kid "$ACME_EAB_KID" --hmac="$wrong" "${http[@]}" -d l3.test run
contains "lego EAB: the server refuses the wrong MAC" "$tmp/last.out" "urn:ietf:params:acme:error:"
check "lego: EAB" lego_in "$eab" "$ACME_EAB_DIRECTORY" --eab --kid "$ACME_EAB_KID" \
    --hmac="$ACME_EAB_HMAC" "${http[@]}" -d l3.test run
ACME_ROOT=$ACME_EAB_ROOT verify_chain "lego EAB" "$eab/certificates/l3.test.crt" \
    "$eab/certificates/l3.test.issuer.crt"
finish
