# Two processes issue 1,000 certificates each on one ca.db at the same time
# (chainsmith.ca in a loop, with issue.lua's files), while issue.lua runs
# beside them: every issuance recorded, every serial distinct, every file
# present, parsing and matching its key, nothing temporary left. Then two
# issue.lua runs race for one name, several times: one wins, the other is
# told the name exists, and nothing else is written.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
out=$tmp/out
per=${CS_CONCURRENT_COUNT:-1000}
loop() {
    lua "$repo/tests/e2e/issue_loop.lua" "$repo" "$chain" "$out" "$@"
}
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" --profile client "$@"
}
sql() {
    sqlite3 -readonly "$chain/ca.db" "$1"
}

check "build the chain" build_chain --out "$chain"
base=$(sql "select count(*) from certificates")

loop a "$per" >"$tmp/a.out" 2>"$tmp/a.err" &
a=$!
loop b "$per" >"$tmp/b.out" 2>"$tmp/b.err" &
b=$!
cli_ok=0
for i in $(seq 1 10); do
    issue --name "cli-$i.localhost" --out "$out" >>"$tmp/cli.out" 2>&1 && cli_ok=$((cli_ok + 1))
done
if wait "$a"; then ok; else bad "loop a failed:"; cat "$tmp/a.err" >&2; fi
if wait "$b"; then ok; else bad "loop b failed:"; cat "$tmp/b.err" >&2; fi
equal "issue.lua beside the loops" "$cli_ok" 10
equal "loop a issued all" "$(wc -l <"$tmp/a.out")" "$per"
equal "loop b issued all" "$(wc -l <"$tmp/b.out")" "$per"

total=$((2 * per + 10))
equal "records" "$(sql "select count(*) from certificates")" "$((base + total))"
equal "distinct serials" "$(sql "select count(distinct serial) from certificates")" \
    "$((base + total))"
equal "client records" "$(sql "select count(*) from certificates where profile = 'client'")" \
    "$total"
equal "integrity" "$(sqlite3 "$chain/ca.db" 'pragma integrity_check')" ok
equal "no duplicate serial among the loops' output" \
    "$(cat "$tmp/a.out" "$tmp/b.out" | cut -d' ' -f2 | sort -u | wc -l)" "$((2 * per))"
check "every file present, parsing, matching its key and its record" \
    lua "$repo/tests/e2e/check_issued.lua" "$repo" "$chain" "$out" open
contains "counted" "$tmp/last.out" "certs=$total temps=0"
# A sample through openssl: the certificate verifies and matches its key.
for f in a-0 b-$((per - 1)) cli-10; do
    check "openssl verify $f" openssl verify -CAfile "$chain/root.pem" \
        -untrusted "$chain/intermediate.pem" "$out/$f.localhost.pem"
    equal "openssl: $f key matches" \
        "$(openssl x509 -in "$out/$f.localhost.pem" -noout -pubkey | sha256sum)" \
        "$(openssl pkey -in "$out/$f.localhost.key" -pubout | sha256sum)"
done

# One name, two issuers at once: exactly one wins.
race=$tmp/race
for i in 1 2 3 4 5; do
    issue --name "race-$i.localhost" --out "$race" >"$tmp/r1.out" 2>&1 &
    r1=$!
    issue --name "race-$i.localhost" --out "$race" >"$tmp/r2.out" 2>&1 &
    r2=$!
    won=0
    wait "$r1" && won=$((won + 1))
    wait "$r2" && won=$((won + 1))
    equal "race $i: one winner" "$won" 1
    # Both outputs in one file, so the loser's message is checked wherever it is.
    cat "$tmp/r1.out" "$tmp/r2.out" >"$tmp/race.out"
    contains "race $i: the loser is told" "$tmp/race.out" "race-$i.localhost.pem: exists"
done
equal "race: one record per name" \
    "$(sql "select count(*) from certificates where subject like '%race-%'")" 5
check "race: files complete" lua "$repo/tests/e2e/check_issued.lua" "$repo" "$chain" "$race" \
    open "%race-%"
contains "race: counted" "$tmp/last.out" "certs=5 temps=0"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
