# Several CA and OCSP nodes on one PostgreSQL database (issue 13): three
# chain folders (copies of one build, as three machines would hold them),
# one throwaway PostgreSQL 15 cluster.
# - 3 nodes issue 3 x 3,000 certificates at once (batches of 100), beside
#   issue.lua on each node: count(DISTINCT serial) = count(*), each node's
#   serials carry its prefix, every serial a node printed is recorded;
# - revoke on node A -> `openssl ocsp` against serve.lua on nodes B and C
#   says revoked on the first query after revoke.lua returns (the bound is
#   0: each answer reads the status from PostgreSQL when it is asked);
# - SIGKILL a node mid-issue (durable mode: reserve, sign, record): the
#   others finish, every certificate it reported is recorded whole, at most
#   the one serial it had reserved stays pending (burnt, never reused);
# - the CRL signed by any node lists every revocation, CRL numbers distinct.
. "$(dirname "$0")/lib.sh"
. "$repo/tests/pg/pglib.sh"

per=${CS_PG_NODES_COUNT:-3000}
pg_start
url=$pg_url
node() { # node NAME MODE COUNT...
    local name=$1
    shift
    lua "$repo/tests/pg/pg_node.lua" "$repo" "$tmp/$name" "$url" "$name" "$@"
}
issue_cli() { # issue_cli NODE NAME
    lua "$repo/scripts/issue.lua" --chain "$tmp/$1" --db "$url" --node "$1" --profile client \
        --name "$2" --out "$tmp/out-$1"
}

check "build the chain on node a" build_chain --out "$tmp/a" --db "$url" --node a
lacks "no ca.db beside a PostgreSQL database" <(ls "$tmp/a") "ca.db"
cp -a "$tmp/a" "$tmp/b"
cp -a "$tmp/a" "$tmp/c"
cp -a "$tmp/a" "$tmp/k"
base=$(psql_q "SELECT count(*) FROM certificates")
equal "the build recorded root, intermediate, server, ocsp" "$base" 4

# ---- 3 x $per concurrently ----
for n in a b c; do
    node "$n" bulk "$per" >"$tmp/$n.out" 2>"$tmp/$n.err" &
    eval "pid_$n=$!"
done
cli_ok=0
for i in 1 2 3; do
    for n in a b c; do
        issue_cli "$n" "cli-$n-$i.localhost" >>"$tmp/cli.out" 2>&1 && cli_ok=$((cli_ok + 1))
    done
done
for n in a b c; do
    eval "pid=\$pid_$n"
    if wait "$pid"; then ok; else bad "node $n failed:"; cat "$tmp/$n.err" >&2; fi
    equal "node $n printed every serial" "$(wc -l <"$tmp/$n.out")" "$per"
done
equal "issue.lua on each node beside the loops" "$cli_ok" 9
total=$((base + 3 * per + 9))
equal "records" "$(psql_q "SELECT count(*) FROM certificates")" "$total"
equal "distinct serials" "$(psql_q "SELECT count(DISTINCT serial) FROM certificates")" "$total"
equal "none pending" "$(psql_q "SELECT count(*) FROM certificates WHERE status = 'pending'")" 0
equal "each node's serials carry its prefix" \
    "$(psql_q "SELECT count(DISTINCT node || substr(serial, 1, 6)) FROM certificates
               WHERE node IN ('a', 'b', 'c')")" 3
equal "19-octet serials" \
    "$(psql_q "SELECT count(*) FROM certificates WHERE length(serial) <> 38")" 0
equal "every printed serial is recorded, good, once" \
    "$(cat "$tmp/a.out" "$tmp/b.out" "$tmp/c.out" | psql_q_stdin \
        "SELECT count(DISTINCT x.s) FROM x JOIN certificates c ON c.serial = x.s
         AND c.status = 'good' AND c.pem IS NOT NULL")" "$((3 * per))"
check "list.lua on node c counts them" lua "$repo/scripts/list.lua" --chain "$tmp/c" \
    --db "$url" --json
contains "list.lua sees every record" "$tmp/last.out" "\"count\":$total"

# ---- revoke on A, OCSP from B and C ----
start_node_server() { # NAME: serve.lua on node NAME; sets http_NAME, pid_srv_NAME
    start_server "$tmp/serve-$1.log" --chain "$tmp/$1" --db "$url" --node "$1"
    eval "http_$1=$http_port; pid_srv_$1=$server_pid"
    pg_pids="$pg_pids $server_pid"
    server_pid=""
}
start_node_server b
start_node_server c
serial=$(sed -n 1p "$tmp/a.out")
ocsp_ask() { # ocsp_ask NODE SERIAL: the verdict line from that node's responder
    local p
    eval "p=\$http_$1"
    openssl ocsp -issuer "$tmp/a/intermediate.pem" -serial "0x$2" -CAfile "$tmp/a/root.pem" \
        -url "http://127.0.0.1:$p/ocsp" 2>&1
}
for n in b c; do
    ocsp_ask "$n" "$serial" >"$tmp/ocsp-$n.before"
    contains "node $n: response verifies" "$tmp/ocsp-$n.before" "Response verify OK"
    contains "node $n: good before" "$tmp/ocsp-$n.before" "0x$serial: good"
done
check "revoke on node a" lua "$repo/scripts/revoke.lua" --chain "$tmp/a" --db "$url" --node a \
    --serial "$serial" --reason keyCompromise
# No wait, no retry: the first query after revoke.lua returned (bound 0).
for n in b c; do
    ocsp_ask "$n" "$serial" >"$tmp/ocsp-$n.after"
    contains "node $n: revoked at once" "$tmp/ocsp-$n.after" "0x$serial: revoked"
    contains "node $n: with the reason" "$tmp/ocsp-$n.after" "Reason: keyCompromise"
done
refuse "revoke again on node b: already revoked" lua "$repo/scripts/revoke.lua" \
    --chain "$tmp/b" --db "$url" --node b --serial "$serial"
contains "node b names the first revocation" "$tmp/last.out" "already revoked"
equal "one revocation recorded" \
    "$(psql_q "SELECT count(*) FROM certificates WHERE status = 'revoked'")" 1

# ---- SIGKILL a node mid-issue ----
# A plain command, not the node function: $! must be the node itself.
LD_PRELOAD=$lua_preload "$LUA" "$repo/tests/pg/pg_node.lua" "$repo" "$tmp/k" "$url" k durable 0 \
    >"$tmp/k.out" 2>"$tmp/k.err" &
pid_k=$!
pg_pids="$pg_pids $pid_k"
node a durable 200 >"$tmp/a2.out" 2>"$tmp/a2.err" &
pid_a2=$!
node b bulk 500 >"$tmp/b2.out" 2>"$tmp/b2.err" &
pid_b2=$!
for _ in $(seq 1 1200); do
    [ "$(wc -l <"$tmp/k.out")" -ge 50 ] && break
    kill -0 "$pid_k" 2>/dev/null || break
    sleep 0.1
done
kill -9 "$pid_k" 2>/dev/null
wait "$pid_k" 2>/dev/null
printed_k=$(wc -l <"$tmp/k.out")
if [ "$printed_k" -ge 50 ]; then ok; else bad "node k issued $printed_k before the kill"; fi
if wait "$pid_a2"; then ok; else bad "node a went on:"; cat "$tmp/a2.err" >&2; fi
if wait "$pid_b2"; then ok; else bad "node b went on:"; cat "$tmp/b2.err" >&2; fi
equal "node a issued all after the kill" "$(wc -l <"$tmp/a2.out")" 200
equal "node b issued all after the kill" "$(wc -l <"$tmp/b2.out")" 500
recorded_k=$(psql_q "SELECT count(*) FROM certificates WHERE node = 'k' AND status = 'good'")
# The kill may land after a record and before its line: one more at most.
if [ "$recorded_k" -ge "$printed_k" ] && [ "$recorded_k" -le $((printed_k + 1)) ]; then ok
else bad "node k: $recorded_k recorded, $printed_k printed"; fi
pending_k=$(psql_q "SELECT count(*) FROM certificates WHERE node = 'k' AND status = 'pending'")
if [ "$pending_k" -le 1 ]; then ok; else bad "node k left $pending_k pending"; fi
equal "every serial node k printed is recorded whole" \
    "$(psql_q_stdin "SELECT count(*) FROM x JOIN certificates c ON c.serial = x.s
        AND c.status = 'good' AND c.pem IS NOT NULL AND c.fingerprint IS NOT NULL" \
        <"$tmp/k.out")" "$printed_k"
equal "nothing half-recorded anywhere" \
    "$(psql_q "SELECT count(*) FROM certificates WHERE status <> 'pending'
               AND (pem IS NULL OR subject IS NULL OR fingerprint IS NULL)")" 0
equal "still one row per serial" \
    "$(psql_q "SELECT count(*) - count(DISTINCT serial) FROM certificates")" 0
check "node k starts again and issues" node k durable 20
equal "a pending serial stays unused" \
    "$(psql_q "SELECT count(*) FROM certificates WHERE node = 'k' AND status = 'pending'")" \
    "$pending_k"

# ---- the CRL from any node lists every revocation ----
revoke_on() { # revoke_on NODE SERIAL
    lua "$repo/scripts/revoke.lua" --chain "$tmp/$1" --db "$url" --node "$1" --serial "$2" \
        --reason superseded >>"$tmp/revokes.out" 2>&1
}
revoke_on a "$(sed -n 2p "$tmp/b.out")" &
r1=$!
revoke_on b "$(sed -n 2p "$tmp/c.out")" &
r2=$!
revoke_on c "$(sed -n 2p "$tmp/a.out")" &
r3=$!
for p in $r1 $r2 $r3; do
    if wait "$p"; then ok; else bad "a concurrent revocation failed:"; cat "$tmp/revokes.out" >&2; fi
done
revoked_total=$(psql_q "SELECT count(*) FROM certificates WHERE status = 'revoked'")
equal "four revocations" "$revoked_total" 4
psql_q "SELECT serial FROM certificates WHERE status = 'revoked'" >"$tmp/revoked.txt"
for n in a b c; do
    check "node $n signs the CRL" node "$n" crl "$tmp/$n.crl"
    cut -f1 "$tmp/last.out" >>"$tmp/crl-numbers.txt"
    openssl crl -inform DER -in "$tmp/$n.crl" -noout -text >"$tmp/$n.crl.txt" 2>&1
    listed=0
    while read -r s; do
        grep -q "Serial Number: $s" "$tmp/$n.crl.txt" && listed=$((listed + 1))
    done <"$tmp/revoked.txt"
    equal "node $n's CRL lists every revocation" "$listed" 4
    check "node $n's CRL verifies" openssl crl -inform DER -in "$tmp/$n.crl" \
        -CAfile "$tmp/a/intermediate.pem" -noout
done
equal "CRL numbers distinct across nodes" "$(sort -u "$tmp/crl-numbers.txt" | wc -l)" 3

for n in b c; do
    eval "pid=\$pid_srv_$n"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
