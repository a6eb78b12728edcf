# Debian's acme-tiny (a ~200-line Python client), unmodified, against the
# ACME server the environment names (acmelib.sh lists the ACME_* variables):
# an RSA-2048 account key, a CSR made with openssl, http-01 from a web root.
# --disable-check: acme-tiny would first fetch its own answer at the name
# itself, which only the ACME server resolves (to 127.0.0.1). The chain it
# prints verifies trusting only the server's root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"
need_env ACME_DIRECTORY ACME_CA_BUNDLE ACME_ROOT ACME_HTTP_PORT

dir=$tmp/acme-tiny
web=$tmp/acme-tiny-web
mkdir -p "$dir"
(umask 077 && openssl genrsa -out "$dir/account.key" 2048 2>/dev/null &&
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/t1.key") ||
    bad "acme-tiny: keys"
openssl req -new -key "$dir/t1.key" -subj "/CN=t1.test" -addext "subjectAltName=DNS:t1.test" \
    -out "$dir/t1.csr" 2>/dev/null || bad "acme-tiny: CSR"

start_webroot "$web" || bad "acme-tiny: web root server start"
echo "acme-tiny: t1.test over http-01"
# Python's urllib takes the ACME server's TLS trust from SSL_CERT_FILE.
if SSL_CERT_FILE=$ACME_CA_BUNDLE timeout 180 acme-tiny --account-key "$dir/account.key" \
    --csr "$dir/t1.csr" --acme-dir "$web/.well-known/acme-challenge" \
    --directory-url "$ACME_DIRECTORY" --disable-check \
    --contact mailto:ops@example.org >"$dir/chain.pem" 2>"$dir/log"; then
    ok
else
    bad "acme-tiny: issue"
    sed 's/^/    /' "$dir/log" >&2
fi
stop_webroot
contains "acme-tiny: the server fetched the token from the web root" "$web.log" \
    '"GET /.well-known/acme-challenge/'
# the leaf first, the rest of the chain after it
awk '/BEGIN CERT/{n++} n==1' "$dir/chain.pem" >"$dir/t1.crt"
awk '/BEGIN CERT/{n++} n>1' "$dir/chain.pem" >"$dir/t1.rest"
verify_chain "acme-tiny" "$dir/t1.crt" "$dir/t1.rest"
names_are "acme-tiny" "$dir/t1.crt" "t1.test"
finish
