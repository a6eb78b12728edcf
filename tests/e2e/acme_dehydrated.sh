# Debian's dehydrated (0.7.0, a Bash client), unmodified, against the ACME
# server the environment names (acmelib.sh lists the ACME_* variables):
# register, two names over http-01 from a web root, P-384 certificate keys,
# revoke. dehydrated 0.7.0 makes its account key RSA (4096 bits: RS256), so
# this is also the RSA-account client. After the issuance the chain verifies
# trusting only the server's root; after the revocation the server's own
# record says revoked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"
need_env ACME_DIRECTORY ACME_CA_BUNDLE ACME_ROOT ACME_HTTP_PORT

base=$tmp/dehydrated
web=$tmp/dehydrated-web
mkdir -p "$base"
# dehydrated reads a config file (shell); curl carries the TLS trust.
cat >"$base/config" <<CONF
CA="$ACME_DIRECTORY"
BASEDIR="$base"
WELLKNOWN="$web/.well-known/acme-challenge"
CHALLENGETYPE="http-01"
KEY_ALGO=secp384r1
CONTACT_EMAIL="ops@example.org"
CURL_OPTS="--cacert $ACME_CA_BUNDLE"
CONF

# 600 s: dehydrated parses JSON in Bash, a grep or two per field, which
# took over 180 s for one issuance against pebble on a loaded machine.
dh() {
    timeout 600 dehydrated --config "$base/config" "$@"
}

start_webroot "$web" || bad "dehydrated: web root server start"
echo "dehydrated: register"
check "dehydrated: register" dh --register --accept-terms
echo "dehydrated: d1.test and www.d1.test over http-01"
check "dehydrated: issue" dh --cron --domain d1.test --domain www.d1.test
stop_webroot
contains "dehydrated: the server fetched the token from the web root" "$web.log" \
    '"GET /.well-known/acme-challenge/'
certs=$base/certs/d1.test
verify_chain "dehydrated" "$certs/cert.pem" "$certs/chain.pem"
names_are "dehydrated" "$certs/cert.pem" "d1.test www.d1.test"
openssl x509 -in "$certs/cert.pem" -noout -text >"$tmp/d1.txt"
contains "dehydrated: the certificate key is P-384" "$tmp/d1.txt" "NIST CURVE: P-384"
key=$(find "$base/accounts" -name account_key.pem | head -n 1)
openssl pkey -in "$key" -noout -text >"$tmp/dh-account.txt" 2>&1
contains "dehydrated: the account key is RSA" "$tmp/dh-account.txt" "Private-Key: (4096 bit"

echo "dehydrated: revoke"
cp "$certs/cert.pem" "$tmp/d1.crt"
cp "$certs/chain.pem" "$tmp/d1.chain"
assert_not_revoked "before dehydrated revokes d1" "$tmp/d1.crt" "$tmp/d1.chain"
check "dehydrated: revoke" dh --revoke "$certs/cert.pem"
assert_revoked "dehydrated revoke" "$tmp/d1.crt" "$tmp/d1.chain"
finish
