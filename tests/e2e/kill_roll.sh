# Crash safety of an intermediate roll (issue 10 §2): build_chain.lua
# --roll-intermediate killed with SIGKILL at random moments (killlib.sh).
# After each kill and the next run's recovery the folder holds the old
# intermediate or the new one, whole (check_chain.lua: keys match, the
# chain verifies to the root, server-chain.pem and the CRLs agree with
# ca.db), and the root is never touched.
. "$(dirname "$0")/lib.sh"
plain_ms=400 paused_ms=2500
. "$(dirname "$0")/killlib.sh"

check "build the chain" build_chain --out "$chain"
root_fp=$(fingerprint "$chain/root.pem")
check "the chain before the kills" checked

for round in $(seq 1 "$rounds"); do
    kill_round "$round" intermediate.pem "$repo/scripts/build_chain.lua" --out "$chain" \
        --roll-intermediate
    equal "round $round: the root is the same" "$(fingerprint "$chain/root.pem")" "$root_fp"
done
kill_summary

check "a roll after the kills" build_chain --out "$chain" --roll-intermediate
check "the chain at the end" checked
equal "the root at the end" "$(fingerprint "$chain/root.pem")" "$root_fp"
finish
