#!/bin/bash
# Leaf issuance: the C floors (bench/issue_floor.c) and chainsmith from Lua
# (bench/issue_rate.lua), each run RUNS times in a fresh process; prints
# medians, the reference beside each figure, and the ratios.
#   RUNS=5 (default)   QUICK=1: 3 runs, N=2000 (P-384: 300)
# A benchmark, not a test: it asserts nothing.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
LUA=${LUA:-lua5.4}
floor=${FLOOR:-$repo/build/issue_floor}
if [ "${QUICK:-0}" = 1 ]; then
    runs=${RUNS:-3}; n=${N:-2000}; n384=${N384:-300}
else
    runs=${RUNS:-5}; n=${N:-10000}; n384=${N384:-2000}
fi
batch=${BATCH:-1000}
work=$(mktemp -d /tmp/cs-bench-issue-XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -x "$floor" ] || { echo "no $floor: run make build first" >&2; exit 1; }

# median of column $1 of the lines on stdin
median() { awk -v c="$1" '{ print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# run NAME CMD...: RUNS times, lines appended to $work/NAME
run() {
    local name=$1; shift
    : >"$work/$name"
    for _ in $(seq 1 "$runs"); do "$@" >>"$work/$name"; done
}

echo "issuance benchmark: $runs runs each, N=$n (P-384: $n384), batch $batch" >&2
for c in P-256 P-384; do
    m=$n; [ "$c" = P-384 ] && m=$n384
    for mode in raw keygen sign naive; do
        run "floor-$mode-$c" "$floor" "$mode" "$c" "$m"
    done
done
run "lua-bulk-P-256" "$LUA" "$repo/bench/issue_rate.lua" bulk P-256 "$n" "$batch"
run "lua-durable-P-256" "$LUA" "$repo/bench/issue_rate.lua" durable P-256 "$n"
run "lua-csr-P-256" "$LUA" "$repo/bench/issue_rate.lua" csr P-256 "$n" "$batch"
run "lua-nodb-P-256" "$LUA" "$repo/bench/issue_rate.lua" nodb P-256 "$n"
run "lua-keygen-P-256" "$LUA" "$repo/bench/issue_rate.lua" keygen P-256 "$n"
run "lua-bulk-P-384" "$LUA" "$repo/bench/issue_rate.lua" bulk P-384 "$n384" "$batch"

# The disk's fsync: 4 KiB synchronous writes, what a durable commit waits for.
dd if=/dev/zero of="$work/dd" bs=4k count=200 oflag=dsync 2>"$work/dd.txt" || true
fsync_us=$(awk '/copied/ { print $(NF-3) / 200 * 1e6 }' "$work/dd.txt" | cut -d. -f1)
# fsync calls per durable certificate (if strace is here)
fsyncs=""
if command -v strace >/dev/null; then
    strace -f -c -e trace=fsync,fdatasync -o "$work/strace.txt" \
        "$LUA" "$repo/bench/issue_rate.lua" durable P-256 500 >/dev/null 2>&1 || true
    fsyncs=$(awk '$NF == "fdatasync" || $NF == "fsync" { s += $4 } END { printf "%.1f", s / 500 }' \
        "$work/strace.txt")
fi

rate() { median 5 <"$work/$1"; }     # per second, floor lines
lrate() { median 6 <"$work/$1"; }    # per second, Lua lines
# per second of CPU time: column $2 is the CPU seconds, column 3 the count
cpurate() { awk -v c="$2" '{ printf "%.0f\n", $3 / $c }' "$work/$1" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
lcpu() { awk '{ print $5 / $3 * 1e6 }' "$work/$1" | sort -g | awk '{ a[NR] = $1 } END { printf "%.0f", a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
# row WHAT WALL_RATE RATIO REFERENCE [CPU_RATE]
row() { printf '%-52s %10s %10s %9s  %s\n' "$1" "$2" "${5:-}" "$3" "$4"; }
frow() { row "$1" "$(rate "$2")" "$3" "$4" "$(cpurate "$2" 6)"; }
lrow() { row "$1" "$(lrate "$2")" "$3" "$4" "$(cpurate "$2" 5)"; }

printf '\nLeaf issuance, median of %d runs (wall clock, one thread)\n' "$runs"
row "what" "certs/s" "vs naive" "reference / target" "per CPU-s"
for c in P-256 P-384; do
    naive=$(rate "floor-naive-$c")
    printf -- '-- %s\n' "$c"
    frow "C floor: keygen alone, fetched once" "floor-keygen-$c" "" \
        "$( [ $c = P-256 ] && echo "issue: 37,700/s" )"
    frow "C floor: sign alone, fetched once" "floor-sign-$c" "" \
        "$( [ $c = P-256 ] && echo "issue: 52,000/s" )"
    frow "C floor: keygen + sign (the crypto limit)" "floor-raw-$c" \
        "$(ratio "$(rate "floor-raw-$c")" "$naive")" \
        "$( [ $c = P-256 ] && echo "issue: ~21,900/s" || echo "issue: ~750/s")"
    frow "C: straightforward OpenSSL 3 loop (build + sign)" "floor-naive-$c" "1.00x" \
        "$( [ $c = P-256 ] && echo "issue: ~2,400/s; luaossl ~3,600/s" )"
done
bulk=$(lrate lua-bulk-P-256)
naive=$(rate floor-naive-P-256)
printf -- '-- chainsmith from Lua, P-256 (new key each, recorded unless said)\n'
lrow "bulk: begin/commit every $batch, $n certs" lua-bulk-P-256 "$(ratio "$bulk" "$naive")" \
    "target >= 5,000/s"
lrow "durable: one commit (fsync) per cert" lua-durable-P-256 \
    "$(ratio "$(lrate lua-durable-P-256)" "$naive")" "fsync ${fsync_us} us, ${fsyncs:-?} per cert"
lrow "signing CSRs (parse, check, issue), bulk" lua-csr-P-256 \
    "$(ratio "$(lrate lua-csr-P-256)" "$naive")" "no keygen; CSR signature checked"
lrow "no database: pki.sign, new key each" lua-nodb-P-256 \
    "$(ratio "$(lrate lua-nodb-P-256)" "$naive")" "luaossl ~3,600/s"
lrow "key generator alone (pki.key_generator)" lua-keygen-P-256 "" ""
b384=$(lrate lua-bulk-P-384)
printf -- '-- chainsmith from Lua, P-384\n'
lrow "bulk: begin/commit every $batch, $n384 certs" lua-bulk-P-384 \
    "$(ratio "$b384" "$(rate floor-naive-P-384)")" "target >= 500/s; limit $(rate floor-raw-P-384)/s"
printf '\nCPU time per certificate (median, microseconds): bulk %s, durable %s, CSR %s, P-384 bulk %s\n' \
    "$(lcpu lua-bulk-P-256)" "$(lcpu lua-durable-P-256)" "$(lcpu lua-csr-P-256)" \
    "$(lcpu lua-bulk-P-384)"
printf 'Peak memory (VmHWM, median): bulk %s kB, durable %s kB, CSR %s kB (1,000 CSRs held)\n' \
    "$(median 7 <"$work/lua-bulk-P-256")" "$(median 7 <"$work/lua-durable-P-256")" \
    "$(median 7 <"$work/lua-csr-P-256")"
printf 'Database after %s certs: %s bytes (%s per certificate)\n' "$n" \
    "$(median 8 <"$work/lua-bulk-P-256")" \
    "$(awk -v s="$(median 8 <"$work/lua-bulk-P-256")" -v n="$n" 'BEGIN { printf "%.0f", s / n }')"
