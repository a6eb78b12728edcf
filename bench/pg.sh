#!/bin/bash
# The CA database on PostgreSQL beside SQLite, in the same run: issuance
# per second (durable per certificate, bulk batches of 100) from 1 and 3
# processes, and OCSP answers per second (status lookup + one signature)
# from 1 and 3 responders. PostgreSQL is a throwaway 15 cluster with its
# defaults (fsync on, synchronous_commit on), its data in /tmp beside the
# SQLite files, reached over its Unix socket.
#
#   bench/pg.sh [N]        (N certificates per run, default 2000)
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
LUA=${LUA:-lua5.4}
n=${1:-2000}
tmp=$(mktemp -d /tmp/cs-bench-pg-XXXXXX)
cleanup() { rm -rf "$tmp"; }
. "$repo/tests/pg/pglib.sh"
trap 'pg_stop; cleanup' EXIT
pg_start

run() { # run LABEL DB MODE N BATCH PROCS
    local label=$1 db=$2 mode=$3 count=$4 batch=$5 procs=$6 i t0 t1 total=0
    t0=$(date +%s.%N)
    for i in $(seq 1 "$procs"); do
        local target=$db
        [ "$db" = sqlite ] && target="$tmp/ca-${label// /_}.db" # one file, shared
        "$LUA" "$here/pg_issue.lua" "$target" "$mode" "$count" "$batch" "node$i" \
            >"$tmp/out-$i" &
    done
    wait
    t1=$(date +%s.%N)
    for i in $(seq 1 "$procs"); do
        total=$(awk -v t="$total" '{ print t + $4 }' "$tmp/out-$i")
    done
    printf '%-34s %6d x %d  %8.0f /s (sum of processes)  %6.1f s wall\n' \
        "$label" "$count" "$procs" "$total" "$(echo "$t1 - $t0" | bc)"
}

echo "chainsmith CA database: SQLite and PostgreSQL 15, P-256 leaves, $(date -u +%F)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "sqlite durable" sqlite durable "$n" 1 1
run "postgresql durable" "$pg_url" durable "$n" 1 1
run "sqlite bulk (batches of 100)" sqlite bulk "$n" 100 1
run "postgresql bulk (batches of 100)" "$pg_url" bulk "$n" 100 1
run "sqlite durable, 3 processes" sqlite durable "$n" 1 3
run "postgresql durable, 3 nodes" "$pg_url" durable "$n" 1 3
run "sqlite bulk, 3 processes" sqlite bulk "$n" 100 3
run "postgresql bulk, 3 nodes" "$pg_url" bulk "$n" 100 3
q=$((n * 5))
run "ocsp answers, sqlite, 1 responder" sqlite ocsp "$q" 200 1
run "ocsp answers, sqlite, 3 responders" sqlite ocsp "$q" 200 3
run "ocsp answers, postgresql, 1 node" "$pg_url" ocsp "$q" 200 1
run "ocsp answers, postgresql, 3 nodes" "$pg_url" ocsp "$q" 200 3
