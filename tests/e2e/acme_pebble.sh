# The stock-client harness proven against the oracle (issue 12 section 4):
# Debian's pebble (and a second one that requires EAB) with
# pebble-challtestsrv as DNS, all on free loopback ports, and the same
# certbot and lego scripts that judge chainsmith (acme_chainsmith.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"

start_pebble_pair || { bad "pebble start"; finish; exit 1; }
for client in certbot lego; do
    [ -f "$repo/tests/e2e/acme_$client.sh" ] || continue
    start=$(date +%s)
    if bash "$repo/tests/e2e/acme_$client.sh"; then ok; else bad "$client against pebble"; fi
    echo "$client against pebble: $(($(date +%s) - start)) s"
done
finish
