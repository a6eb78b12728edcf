# migrate_db.lua: a chain's SQLite ca.db with revocations and CRL numbers
# copied into PostgreSQL (a throwaway cluster): the same records, statuses
# and reasons; the next CRL continues the number sequence; the source is
# not changed; and each refusal copies nothing: a target that is not
# empty, a target that is not a URL, a missing source, open journals,
# rows in a table this build does not copy.
. "$(dirname "$0")/lib.sh"
. "$repo/tests/pg/pglib.sh"

chain=$tmp/chain
migrate() {
    lua "$repo/scripts/migrate_db.lua" "$@"
}
crl_number() { # the intermediate CRL's number, decimal
    openssl crl -in "$chain/intermediate.crl.pem" -noout -crlnumber | cut -d= -f2 |
        { read -r hex; echo $((hex)); }
}

check "build the chain (SQLite)" build_chain --out "$chain"
for n in 1 2 3; do
    check "issue $n" lua "$repo/scripts/issue.lua" --chain "$chain" --profile client \
        --name "m$n.clients.internal" --out "$tmp/out"
done
s1=$(openssl x509 -in "$tmp/out/m1.clients.internal.pem" -noout -serial | cut -d= -f2)
s2=$(openssl x509 -in "$tmp/out/m2.clients.internal.pem" -noout -serial | cut -d= -f2)
s3=$(openssl x509 -in "$tmp/out/m3.clients.internal.pem" -noout -serial | cut -d= -f2)
check "revoke 1" lua "$repo/scripts/revoke.lua" --chain "$chain" --serial "$s1" \
    --reason keyCompromise
check "revoke 2" lua "$repo/scripts/revoke.lua" --chain "$chain" --serial "$s2" \
    --reason superseded
number_before=$(crl_number)
lua "$repo/scripts/list.lua" --chain "$chain" >"$tmp/list.sqlite"
sum_before=$(sha256sum "$chain/ca.db" | cut -d' ' -f1)
records=$(sqlite3 -readonly "$chain/ca.db" "select count(*) from certificates")

pg_start
check "migrate" migrate --chain "$chain" --to "$pg_url" --json
contains "counts" "$tmp/last.out" "\"certificates\":$records"
contains "revoked counted" "$tmp/last.out" "\"revoked\":2"
contains "CRL numbers counted" "$tmp/last.out" "\"crl_numbers\":2"
lacks "no password or parameters echoed" "$tmp/last.out" "host="
equal "source unchanged" "$(sha256sum "$chain/ca.db" | cut -d' ' -f1)" "$sum_before"
equal "rows" "$(psql_q "SELECT count(*) FROM certificates")" "$records"
equal "statuses and reasons" \
    "$(psql_q "SELECT serial || ' ' || status || ' ' || coalesce(reason, -1)
               FROM certificates WHERE serial IN ('$s1', '$s2', '$s3') ORDER BY serial")" \
    "$(printf '%s\n' "$s1 revoked 1" "$s2 revoked 4" "$s3 good -1" | sort)"
lua "$repo/scripts/list.lua" --chain "$chain" --db "$pg_url" >"$tmp/list.pg"
check "list.lua on PostgreSQL shows what it showed on SQLite" diff "$tmp/list.sqlite" "$tmp/list.pg"
equal "PEM copied byte for byte" \
    "$(psql_q "SELECT md5(replace(string_agg(pem, '' ORDER BY serial), E'\\n', ''))
               FROM certificates")" \
    "$(sqlite3 -readonly "$chain/ca.db" "select pem from certificates order by serial" |
        { tr -d '\n'; } | md5sum | cut -d' ' -f1)"

# The next CRL, signed against PostgreSQL, continues the sequence and
# lists the migrated revocations.
rm "$chain/ca.db"
check "revoke 3 on PostgreSQL" lua "$repo/scripts/revoke.lua" --chain "$chain" --db "$pg_url" \
    --serial "$s3"
equal "CRL number continues" "$(crl_number)" "$((number_before + 1))"
openssl crl -in "$chain/intermediate.crl.pem" -noout -text >"$tmp/crl.txt"
for s in "$s1" "$s2" "$s3"; do
    contains "CRL lists $s" "$tmp/crl.txt" "Serial Number: $s"
done
start_server "$tmp/serve.log" --chain "$chain" --db "$pg_url"
openssl ocsp -issuer "$chain/intermediate.pem" -serial "0x$s1" -CAfile "$chain/root.pem" \
    -url "http://127.0.0.1:$http_port/ocsp" >"$tmp/ocsp.txt" 2>&1
contains "OCSP: revoked" "$tmp/ocsp.txt" "0x$s1: revoked"
contains "OCSP: the reason" "$tmp/ocsp.txt" "Reason: keyCompromise"
stop_server TERM
# ACME and the signing API keep their tables in SQLite only: refused at start, by name.
for what in "--acme:ACME" "--api --mtls:the signing API"; do
    # shellcheck disable=SC2086 # the flags split on purpose
    refuse "serve ${what%%:*} on PostgreSQL" timeout 60 env LD_PRELOAD="$lua_preload" "$LUA" \
        "$repo/scripts/serve.lua" \
        --chain "$chain" --db "$pg_url" --port 0 ${what%%:*}
    contains "serve ${what%%:*} on PostgreSQL says why" "$tmp/last.out" \
        "${what#*:} keeps its accounts, orders and tokens in SQLite only"
done

# ---- refusals: nothing copied ----
check "rebuild a SQLite chain" build_chain --out "$tmp/chain2"
count=$(psql_q "SELECT count(*) FROM certificates")
refuse "into a database that is not empty" migrate --chain "$tmp/chain2" --to "$pg_url"
contains "says why" "$tmp/last.out" "already holds $count certificates"
equal "nothing copied" "$(psql_q "SELECT count(*) FROM certificates")" "$count"
migrate --chain "$tmp/chain2" --to "$tmp/other.db" >"$tmp/last.out" 2>&1
equal "a target that is not a URL: usage" "$?" 2
contains "names it" "$tmp/last.out" "not a postgresql:// URL"
refuse "a missing source" migrate --from "$tmp/none.db" --to "$pg_url"
contains "names it" "$tmp/last.out" "$tmp/none.db: no such database"
as_pg "$pg_bin/createdb" -h "$pg_dir" -U postgres empty
empty_url="postgresql:///empty?host=$pg_dir&user=postgres"
cp "$tmp/chain2/ca.db" "$tmp/marks.db"
touch "$tmp/live.journal"
sqlite3 "$tmp/marks.db" "insert into journal_marks values ('j', '$tmp/live.journal')"
refuse "open journals" migrate --from "$tmp/marks.db" --to "$empty_url"
contains "says why" "$tmp/last.out" "1 journals are still open"
cp "$tmp/chain2/ca.db" "$tmp/extra.db"
# schema 4's ACME tables are not copied yet: a used signing-API token is state
sqlite3 "$tmp/extra.db" "insert into acme_used_tokens values ('jti-1', 4102444800)"
refuse "rows this build does not copy" migrate --from "$tmp/extra.db" --to "$empty_url"
contains "names the table" "$tmp/last.out" "table acme_used_tokens holds 1 rows"
equal "nothing copied to the empty database" \
    "$(/usr/lib/postgresql/15/bin/psql -X -A -t -h "$pg_dir" -U postgres -d empty -c \
        "SELECT count(*) FROM pg_tables WHERE tablename = 'certificates'")" 0
check "the clean copy then goes in" migrate --chain "$tmp/chain2" --to "$empty_url"

finish
