# A throwaway PostgreSQL 15 cluster for one test, shared by the tests that
# need one: source it after tests/e2e/lib.sh, call pg_start, use $pg_url.
# initdb + pg_ctl as the `postgres` user (via runuser when we are root; as
# ourselves otherwise), a Unix socket in a temp folder, no TCP, no systemd.
# The cluster is stopped and removed when the test exits, even on failure
# (pg_stop runs from the EXIT trap, before lib.sh's cleanup).
pg_bin=${CS_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir=""
pg_url=""
pg_pids="" # processes the test started against the cluster: ended before it stops

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_stop() {
    local p
    for p in $pg_pids; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    pg_pids=""
    if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1
    fi
    if [ -n "$pg_dir" ]; then
        rm -rf "$pg_dir"
    fi
    pg_dir=""
}

# pg_start [postgres -c options...]: start the cluster, set pg_url (database
# "chainsmith", user postgres, trust over the socket only).
pg_start() {
    if [ ! -x "$pg_bin/initdb" ]; then
        echo "pglib: $pg_bin/initdb: missing; run tools/setup.sh --test (postgresql-15)" >&2
        exit 1
    fi
    pg_dir=$(mktemp -d /tmp/cs-pg-XXXXXX)
    chmod 755 "$pg_dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$pg_dir"
    fi
    trap 'pg_stop; cleanup' EXIT
    local opts="-k $pg_dir -c listen_addresses= -c max_connections=60"
    local o
    for o in "$@"; do
        opts="$opts -c $o"
    done
    if ! as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres --no-locale -E UTF8 \
        >"$pg_dir/initdb.log" 2>&1; then
        echo "pglib: initdb failed:" >&2
        cat "$pg_dir/initdb.log" >&2
        exit 1
    fi
    if ! as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/data/server.log" -w -t 120 \
        -o "$opts" start >/dev/null; then
        echo "pglib: pg_ctl start failed:" >&2
        cat "$pg_dir/data/server.log" >&2
        exit 1
    fi
    as_pg "$pg_bin/../bin/createdb" -h "$pg_dir" -U postgres chainsmith || exit 1
    pg_url="postgresql:///chainsmith?host=$pg_dir&user=postgres"
}

# psql_q SQL: one value (or rows, |-separated) from the test's database.
psql_q() {
    /usr/lib/postgresql/15/bin/psql -X -q -A -t -h "$pg_dir" -U postgres -d chainsmith \
        -v ON_ERROR_STOP=1 -c "$1"
}

# psql_q_stdin SQL: SQL run with the lines of stdin in the temp table x (s).
psql_q_stdin() {
    /usr/lib/postgresql/15/bin/psql -X -q -A -t -h "$pg_dir" -U postgres -d chainsmith \
        -v ON_ERROR_STOP=1 -c "CREATE TEMP TABLE x (s text)" -c "COPY x FROM STDIN" -c "$1"
}
