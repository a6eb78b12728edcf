# The stock-client harness proven against the oracle (issue 12 section 4):
# Debian's pebble (and a second one that requires EAB) with
# pebble-challtestsrv as DNS, all on free loopback ports, running the same
# certbot and lego scripts and hostile requests that judge chainsmith
# (acme_chainsmith.sh). Pebble's recorded differences from RFC 8555 are
# accepted here only as recorded (hostile.py KNOWN).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acmelib.sh"

start_pebble_pair || { bad "pebble start"; finish; exit 1; }
run_acme_suites pebble --known-deviations pebble
finish
