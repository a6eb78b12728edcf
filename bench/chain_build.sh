#!/bin/bash
# Chain build: `lua scripts/build_chain.lua --force` into a fresh folder
# against the tutorial's Makefile of openssl steps (bench/tutorial/) for the
# same P-384 chain, alternating in one run; then the same with P-256 profiles.
# Prints medians and the ratio. A benchmark, not a test: it asserts nothing.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
LUA=${LUA:-lua5.4}
runs=${RUNS:-21}
work=$(mktemp -d /tmp/cs-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

# bash's own clock: no process spawned around what is timed.
now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }

# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

time_tutorial() {
    local d=$work/tut-$1
    mkdir "$d"
    local t0 t1
    t0=$(now_ns)
    make -s -C "$d" -f "$repo/bench/tutorial/Makefile" CONF="$repo/bench/tutorial" \
        >/dev/null 2>&1
    t1=$(now_ns)
    rm -rf "$d"
    echo $(( (t1 - t0) / 1000 ))
}

time_chainsmith() {
    local d=$work/cs-$1 profiles=$2
    local t0 t1
    t0=$(now_ns)
    "$LUA" "$repo/scripts/build_chain.lua" --force --out "$d" --profiles "$profiles" >/dev/null
    t1=$(now_ns)
    rm -rf "$d"
    echo $(( (t1 - t0) / 1000 ))
}

p256=$work/profiles-p256
cp -r "$repo/scripts/profiles" "$p256"
sed -i 's/"P-384"/"P-256"/' "$p256"/*.lua

: >"$work/tut" ; : >"$work/cs384" ; : >"$work/cs256"
for i in $(seq 1 "$runs"); do
    time_tutorial "$i" >>"$work/tut"
    time_chainsmith "$i" "$repo/scripts/profiles" >>"$work/cs384"
    time_chainsmith "p$i" "$p256" >>"$work/cs256"
done

# The floors: interpreter start-up with the module loaded (a usual command
# line no longer loads argparse), and
# the six key generations and signatures of a chain done in-process.
: >"$work/startup"
for i in $(seq 1 "$runs"); do
    t0=$(now_ns)
    LUA_CPATH="$repo/build/?.so;;" "$LUA" -e 'require "pki"'
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000 )) >>"$work/startup"
done
startup=$(median <"$work/startup")
LUA_CPATH="$repo/build/?.so;;" "$LUA" "$repo/bench/chain_floor.lua" >"$work/floor"
floor384=$(sed -n 's/^P-384 \([0-9]*\)$/\1/p' "$work/floor")
floor256=$(sed -n 's/^P-256 \([0-9]*\)$/\1/p' "$work/floor")
full384=$(sed -n 's/^P-384 full //p' "$work/floor")
full256=$(sed -n 's/^P-256 full //p' "$work/floor")

tut=$(median <"$work/tut")
cs384=$(median <"$work/cs384")
cs256=$(median <"$work/cs256")
printf '\nChain build (root + intermediate + server), median of %d runs, microseconds\n' "$runs"
printf '%-52s %10s %8s\n' "what" "median us" "ratio"
printf '%-52s %10d %8s\n' "tutorial Makefile (P-384, 17 processes)" "$tut" "1.0x"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
printf '%-52s %10d %8s\n' "build_chain.lua --force (P-384 profiles)" "$cs384" "$(ratio "$tut" "$cs384")"
printf '%-52s %10d %8s\n' "build_chain.lua --force (P-256 profiles)" "$cs256" "$(ratio "$tut" "$cs256")"
printf '\nFloors (what no in-process build can go below here)\n'
printf '%-52s %10d\n' "lua5.4 start-up + require pki" "$startup"
printf '%-52s %10d\n' "3 keygens + 3 signatures, in-process, P-384" "$floor384"
printf '%-52s %10d\n' "3 keygens + 3 signatures, in-process, P-256" "$floor256"
printf '%-52s %10d %8s\n' "sum of the floors, P-384" "$((startup + floor384))" \
    "$(ratio "$tut" "$((startup + floor384))")"
printf '%-52s %10d %8s\n' "sum of the floors, P-256" "$((startup + floor256))" \
    "$(ratio "$tut" "$((startup + floor256))")"
printf '%-52s %10d\n' "+ OCSP key and cert + 2 CRLs: all build_chain signs, P-384" "$full384"
printf '%-52s %10d\n' "+ OCSP key and cert + 2 CRLs: all build_chain signs, P-256" "$full256"

# issue 14 section 3: the command against its floor (target <= 1.5x), the
# floor as the issue defines it (a three-certificate chain) and the full one
printf '\nbuild_chain.lua / floor (issue 14: <= 1.5x)        3 certs    all it signs\n'
printf '%-52s %8s %8s\n' "P-384" "$(ratio "$cs384" "$((startup + floor384))")" \
    "$(ratio "$cs384" "$((startup + full384))")"
printf '%-52s %8s %8s\n' "P-256" "$(ratio "$cs256" "$((startup + floor256))")" \
    "$(ratio "$cs256" "$((startup + full256))")"
