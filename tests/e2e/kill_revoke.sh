# Crash safety of revocation (issue 11): a loop revoking certificates one
# after another (revoke_loop.lua, through chainsmith.ca as revoke.lua) is
# killed with SIGKILL at random moments (killlib.sh). After each kill and
# the next run's recovery the intermediate's CRL lists exactly what ca.db
# records as revoked, carries the number ca.db last handed out, its DER and
# PEM agree, no CRL number was published with two contents, and nothing
# temporary is left. Every revocation the loop reported is recorded.
. "$(dirname "$0")/lib.sh"
plain_ms=800 paused_ms=1500
. "$(dirname "$0")/killlib.sh"

check "build the chain" build_chain --out "$chain"
# Enough serials that the first paused rounds still have work (a fast disk
# revokes over 100 a second: with 100 leaves, every round after the third
# had nothing left to revoke, and once no kill landed in a journal).
leaves=400
check "issue $leaves leaves" lua "$repo/tests/e2e/issue_loop.lua" "$repo" "$chain" "$tmp/out" \
    leaf "$leaves"
cut -d' ' -f2 "$tmp/last.out" >"$tmp/serials"
revoked() {
    sqlite3 -readonly "$chain/ca.db" "select count(*) from certificates where revoked_at is not null"
}

for round in $(seq 1 "$rounds"); do
    kill_round "$round" intermediate.crl.pem "$repo/tests/e2e/revoke_loop.lua" "$repo" \
        "$chain" "$tmp/serials"
    done_n=$(grep -c '^revoked ' "$tmp/k.out")
    got=$(revoked)
    total=$((${total:-0} + done_n))
    # Every revocation the loop reported is recorded (one more may be).
    if [ "$got" -ge "$total" ] && [ "$got" -le $((total + 1)) ]; then ok; else
        bad "round $round: $got revoked, the loops reported $total"
    fi
    total=$got
done
kill_summary

check "revoke.lua after the kills" lua "$repo/tests/e2e/revoke_loop.lua" "$repo" "$chain" \
    "$tmp/serials"
equal "all revoked at the end" "$(revoked)" "$leaves"
check "the chain at the end" checked
finish
