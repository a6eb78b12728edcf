# Crash safety of issuance. First the two states a crash can leave,
# made deterministically (issue_loop.lua's crash modes): files staged but
# not committed (the next open removes them) and committed but not named
# (the next open names them). Then an issuing loop is killed with SIGKILL
# at random moments, half the rounds with the test-only pause between the
# files taking their names (pki.test_hooks in the test build of the module,
# CS_HOOKS_CPATH; core/journal.h) so kills land there too. After each
# kill: the database passes integrity_check; every key at its final name has its certificate and
# chain and matches; every certificate file has its record; after the next
# open every record has its files and nothing temporary is left. Issuing
# goes on afterwards.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
out=$tmp/out
loop() {
    lua "$repo/tests/e2e/issue_loop.lua" "$repo" "$chain" "$out" "$@"
}
checked() {
    lua "$repo/tests/e2e/check_issued.lua" "$repo" "$chain" "$out" "$@"
}
sql() {
    sqlite3 -readonly "$chain/ca.db" "$1"
}
journals() {
    ls -A "$chain/pending" 2>/dev/null | grep -c '\.journal$'
}
temps() {
    ls -A "$out" 2>/dev/null | grep -c '\.tmp-'
}
records() {
    sql "select count(*) from certificates where subject like '%CN=$1-%'"
}

check "build the chain" build_chain --out "$chain"

# Killed after staging, before the commit: undone at the next open.
refuse "crash after staging" loop staged crash-staged
equal "staged: a journal is left" "$(journals)" 1
equal "staged: three temporary files" "$(temps)" 3
equal "staged: no record" "$(records staged)" 0
check "staged: as the crash left it" checked raw
check "staged: the next open" checked open
contains "staged: rolled back" "$tmp/last.out" "recovered forward=0 back=1"
[ ! -e "$out/staged-0.localhost.pem" ] && ok || bad "staged: no certificate file"

# Killed after the commit, before the names: finished at the next open.
refuse "crash after the commit" loop committed crash-committed
equal "committed: a journal is left" "$(journals)" 1
equal "committed: the record" "$(records committed)" 1
[ ! -e "$out/committed-0.localhost.key" ] && ok || bad "committed: no key yet"
check "committed: as the crash left it" checked raw
check "committed: the next open" checked open
contains "committed: rolled forward" "$tmp/last.out" "recovered forward=1 back=0"
check "committed: the key matches" openssl verify -CAfile "$chain/root.pem" \
    -untrusted "$chain/intermediate.pem" "$out/committed-0.localhost.pem"

# SIGKILL at random moments.
rounds=${CS_KILL_ROUNDS:-8}
in_window=0
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 0 ]; then delay=300000; else delay=0; fi
    # A plain command, not the loop function: $! must be the interpreter.
    CS_PLACE_DELAY_US=$delay LUA_CPATH="$CS_HOOKS_CPATH;;" LD_PRELOAD=$lua_preload "$LUA" \
        "$repo/tests/e2e/issue_loop.lua" "$repo" "$chain" "$out" "k$round" 0 \
        >"$tmp/k.out" 2>"$tmp/k.err" &
    pid=$!
    # 0.5 to 2.5 s: past ca.open, inside the loop.
    sleep "$((RANDOM % 3)).$((5 + RANDOM % 5))"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    done_n=$(wc -l <"$tmp/k.out")
    [ "$(journals)" -gt 0 ] && in_window=$((in_window + 1))
    equal "round $round: integrity" "$(sqlite3 "$chain/ca.db" 'pragma integrity_check')" ok
    check "round $round: as the kill left it" checked raw
    check "round $round: the next open" checked open
    cp "$tmp/last.out" "$tmp/round.out"
    contains "round $round: nothing temporary" "$tmp/round.out" "temps=0"
    # Every issuance the loop reported is recorded (one more may be).
    got=$(records "k$round")
    if [ "$got" -ge "$done_n" ] && [ "$got" -le $((done_n + 1)) ]; then ok; else
        bad "round $round: $got records, the loop reported $done_n"
    fi
    echo "round $round: delay ${delay}us, $done_n issued, journals pending: $(
        sed -n 's/.*recovered //p' "$tmp/round.out")"
done
if [ "$in_window" -gt 0 ]; then ok; else bad "no kill landed while a journal was open"; fi
echo "kills with a journal open: $in_window of $rounds"

# Issuing goes on.
check "issue.lua after the kills" lua "$repo/scripts/issue.lua" --chain "$chain" \
    --profile client --name after.localhost --out "$out"
check "the loop after the kills" loop again 5
check "all files complete" checked open
equal "integrity at the end" "$(sqlite3 "$chain/ca.db" 'pragma integrity_check')" ok

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
