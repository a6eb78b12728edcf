# Debian's certbot, unmodified, against the ACME server the environment
# names (acmelib.sh lists the ACME_* variables; acme_pebble.sh and
# acme_chainsmith.sh set them): standalone http-01, webroot, dns-01 through
# manual hooks (a wildcard with its base), renew, revoke by account and by
# the certificate's key, EAB, unregister. After each issuance the chain
# verifies trusting only the server's root; after each revocation the
# server's own record says revoked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"
need_env ACME_DIRECTORY ACME_CA_BUNDLE ACME_ROOT ACME_HTTP_PORT ACME_DNS_MANAGEMENT \
    ACME_EAB_DIRECTORY ACME_EAB_KID ACME_EAB_HMAC ACME_EAB_ROOT
export REQUESTS_CA_BUNDLE=$ACME_CA_BUNDLE
hook=$repo/tests/acme/dns_hook.sh

# certbot as a normal process: every directory it writes under $tmp.
certbot_in() {
    local dir=$1
    shift
    timeout 180 certbot --config-dir "$dir/config" --work-dir "$dir/work" \
        --logs-dir "$dir/logs" --max-log-backups 0 --non-interactive "$@"
}

# cb NAME DIR ARGS...: certbot must succeed; on failure show the end of its log.
cb() {
    local name=$1 dir=$2
    shift 2
    local before=$failed
    check "certbot: $name" certbot_in "$dir" "$@"
    if [ "$failed" != "$before" ] && [ -f "$dir/logs/letsencrypt.log" ]; then
        tail -n 25 "$dir/logs/letsencrypt.log" | sed 's/^/    log: /' >&2
    fi
}

main=$tmp/certbot
live=$main/config/live
new_cert=(certonly --server "$ACME_DIRECTORY" --agree-tos --register-unsafely-without-email)
standalone=(--standalone --http-01-port "$ACME_HTTP_PORT" --http-01-address 127.0.0.1)

echo "certbot: standalone http-01"
cb "standalone http-01" "$main" "${new_cert[@]}" "${standalone[@]}" -d a.test --cert-name a \
    --key-type ecdsa --elliptic-curve secp256r1
verify_chain "standalone" "$live/a/cert.pem" "$live/a/chain.pem"
names_are "standalone" "$live/a/cert.pem" "a.test"

echo "certbot: webroot (python3 -m http.server serves it on the http-01 port)"
start_webroot "$tmp/webroot" || bad "webroot server start"
cb "webroot" "$main" "${new_cert[@]}" --webroot -w "$tmp/webroot" -d b.test -d www.b.test \
    --cert-name b --key-type rsa --rsa-key-size 2048
stop_webroot
contains "webroot: the server fetched the token from the webroot" "$tmp/webroot.log" \
    '"GET /.well-known/acme-challenge/'
verify_chain "webroot" "$live/b/cert.pem" "$live/b/chain.pem"
names_are "webroot" "$live/b/cert.pem" "b.test www.b.test"

echo "certbot: dns-01 through --manual hooks, a wildcard and its base"
dns_hooks=(--manual --preferred-challenges dns --manual-auth-hook "$hook certbot-auth"
           --manual-cleanup-hook "$hook certbot-cleanup")
cb "dns-01 manual hooks" "$main" "${new_cert[@]}" "${dns_hooks[@]}" -d c.test -d '*.c.test' \
    --cert-name c
verify_chain "dns-01" "$live/c/cert.pem" "$live/c/chain.pem"
names_are "dns-01" "$live/c/cert.pem" "*.c.test c.test"

echo "certbot: renew --force-renewal (standalone and manual-hook certificates)"
for name in a c; do
    before=$(serial_of "$live/$name/cert.pem")
    cb "renew $name" "$main" renew --cert-name "$name" --force-renewal \
        --no-random-sleep-on-renew
    after=$(serial_of "$live/$name/cert.pem")
    if [ "$before" != "$after" ]; then ok; else bad "renew $name: the serial did not change"; fi
    verify_chain "renewed $name" "$live/$name/cert.pem" "$live/$name/chain.pem"
done

echo "certbot: revoke by account"
assert_not_revoked "before revoking b" "$live/b/cert.pem" "$live/b/chain.pem"
cb "revoke by account" "$main" revoke --server "$ACME_DIRECTORY" --cert-name b \
    --reason superseded --no-delete-after-revoke
assert_revoked "revoked by account" "$live/b/cert.pem" "$live/b/chain.pem"

echo "certbot: revoke by the certificate's key"
cb "revoke by key" "$main" revoke --server "$ACME_DIRECTORY" --cert-path "$live/c/cert.pem" \
    --key-path "$live/c/privkey.pem" --reason keycompromise --no-delete-after-revoke
assert_revoked "revoked by key" "$live/c/cert.pem" "$live/c/chain.pem"
assert_not_revoked "a is untouched" "$live/a/cert.pem" "$live/a/chain.pem"

echo "certbot: EAB against a server that requires it"
eab=$tmp/certbot-eab
eab_account=(register --server "$ACME_EAB_DIRECTORY" --agree-tos --register-unsafely-without-email)
# certbot reads meta.externalAccountRequired and stops before asking (the
# server's own refusal is in tests/acme/hostile.py); a wrong MAC goes to the
# server, which must refuse it.
refuse "EAB: no account without a binding" certbot_in "$eab" "${eab_account[@]}"
contains "EAB: the directory says EAB is required" "$tmp/last.out" "Server requires external account binding"
# a key may start with "-": passed as --opt=VALUE, never as a separate word
wrong=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
refuse "EAB: no account with the wrong MAC key" certbot_in "$eab" "${eab_account[@]}" \
    --eab-kid "$ACME_EAB_KID" --eab-hmac-key="$wrong"
contains "EAB: the server refuses the wrong MAC" "$tmp/last.out" "Error returned by the ACME server"
cb "EAB register" "$eab" "${eab_account[@]}" --eab-kid "$ACME_EAB_KID" --eab-hmac-key="$ACME_EAB_HMAC"
cb "EAB issuance" "$eab" certonly --server "$ACME_EAB_DIRECTORY" "${standalone[@]}" -d d.test \
    --cert-name d
ACME_ROOT=$ACME_EAB_ROOT verify_chain "EAB" "$eab/config/live/d/cert.pem" "$eab/config/live/d/chain.pem"

echo "certbot: unregister deactivates the account on the server"
account=$(find "$main/config/accounts" -name regr.json -printf '%h\n' | head -n 1)
cp -r "$account" "$tmp/account"
state=$("$PY" "$repo/tests/acme/account_state.py" "$ACME_DIRECTORY" "$tmp/account" 2>&1)
equal "account valid before unregister" "$state" "valid"
cb "unregister" "$main" unregister --server "$ACME_DIRECTORY"
state=$("$PY" "$repo/tests/acme/account_state.py" "$ACME_DIRECTORY" "$tmp/account" 2>&1)
case $state in
    deactivated | urn:ietf:params:acme:error:unauthorized) ok ;;
    *) bad "after unregister the server says: $state" ;;
esac
finish
