# Crash safety of renew.lua (issue 11): renewals of the server certificate
# (with the OCSP responder and the CRLs due) killed with SIGKILL at random
# moments (killlib.sh). After each kill and the next run's recovery the
# folder holds the old server certificate or the new one, whole: keys match,
# the chain verifies and is the one served, each CRL agrees with ca.db and
# no CRL number carries two contents, nothing temporary is left.
. "$(dirname "$0")/lib.sh"
plain_ms=250 paused_ms=700
. "$(dirname "$0")/killlib.sh"

check "build the chain" build_chain --out "$chain"
check "the chain before the kills" checked

for round in $(seq 1 "$rounds"); do
    kill_round "$round" server.pem "$repo/scripts/renew.lua" --out "$chain" --force
done
kill_summary

check "renew.lua after the kills" lua "$repo/scripts/renew.lua" --out "$chain" --force
check "the chain at the end" checked
finish
