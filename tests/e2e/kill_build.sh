# Crash safety of build_chain.lua --force (issue 11): a rebuild replacing
# the whole chain is killed with SIGKILL at random moments (killlib.sh).
# After each kill and the next run's recovery the folder holds the old
# chain or the new one, whole: every key matches its certificate, the
# chain verifies to the root, server-chain.pem is the server's and the
# intermediate's, each CRL agrees with ca.db (number, revoked serials, DER
# = PEM), no CRL number carries two contents, nothing temporary is left.
. "$(dirname "$0")/lib.sh"
plain_ms=400 paused_ms=2500
. "$(dirname "$0")/killlib.sh"

check "build the chain" build_chain --out "$chain"
# A revoked certificate, so the CRLs list something.
check "issue a leaf" lua "$repo/scripts/issue.lua" --chain "$chain" --profile client \
    --name leaf.localhost --out "$tmp/out"
serial=$(openssl x509 -in "$tmp/out/leaf.localhost.pem" -noout -serial | cut -d= -f2)
check "revoke it" lua "$repo/scripts/revoke.lua" --chain "$chain" --serial "$serial"
check "the chain before the kills" checked

for round in $(seq 1 "$rounds"); do
    kill_round "$round" root.pem "$repo/scripts/build_chain.lua" --out "$chain" --force
done
kill_summary

check "build_chain.lua --force after the kills" build_chain --out "$chain" --force
check "the chain at the end" checked
check "a rebuild keeps it" build_chain --out "$chain"
finish
