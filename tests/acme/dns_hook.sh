#!/bin/sh
# dns-01 records for the stock clients, kept in pebble-challtestsrv
# (ACME_DNS_MANAGEMENT, exported by the test wrapper):
#   certbot --manual-auth-hook "dns_hook.sh certbot-auth"    (CERTBOT_DOMAIN,
#   certbot --manual-cleanup-hook "dns_hook.sh certbot-cleanup"  CERTBOT_VALIDATION)
#   lego --dns exec with EXEC_PATH=dns_hook.sh: "present|cleanup FQDN VALUE"
# challtestsrv keeps every value set for a name (a wildcard and its base
# share _acme-challenge.NAME) until clear-txt drops them all.
set -eu
: "${ACME_DNS_MANAGEMENT:?the challtestsrv management URL}"

post() {
    curl -sS --fail --max-time 10 -o /dev/null -d "$2" "$ACME_DNS_MANAGEMENT/$1"
}

case $1 in
    certbot-auth)
        post set-txt "{\"host\":\"_acme-challenge.$CERTBOT_DOMAIN.\",\"value\":\"$CERTBOT_VALIDATION\"}" ;;
    certbot-cleanup)
        post clear-txt "{\"host\":\"_acme-challenge.$CERTBOT_DOMAIN.\"}" ;;
    present)
        post set-txt "{\"host\":\"$2\",\"value\":\"$3\"}" ;;
    cleanup)
        post clear-txt "{\"host\":\"$2\"}" ;;
    *)
        echo "dns_hook.sh: unknown action '$1'" >&2
        exit 2 ;;
esac
