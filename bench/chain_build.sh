#!/bin/bash
# Chain build: `lua scripts/build_chain.lua --force` into a fresh folder
# against the tutorial's Makefile of openssl steps (bench/tutorial/) for the
# same P-384 chain, alternating in one run; then the same with P-256 profiles.
# Prints medians and the ratio. BASELINE=/other/tree (built) adds that
# tree's build_chain.lua, alternating with this one's in the same runs.
# A benchmark, not a test: it asserts nothing.
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

baseline=${BASELINE:-}

# time_chainsmith NAME PROFILES [TREE]: wall-clock microseconds on stdout;
# the CPU time (user + system, the sandbox child included) appended to
# $work/cpu-NAME's kind (the letters before the run number), from bash's
# own `time` (no process around the command). On a loaded machine the wall
# clock is mostly waiting for the disk's fsyncs; the CPU time is not.
time_chainsmith() {
    local d=$work/cs-$1 profiles=$2 tree=${3:-$repo} kind=${1%%[0-9]*}
    local t0 t1 TIMEFORMAT='%3U %3S'
    t0=$(now_ns)
    { time "$LUA" "$tree/scripts/build_chain.lua" --force --out "$d" --profiles "$profiles" \
        >/dev/null; } 2>>"$work/cpu-$kind"
    t1=$(now_ns)
    rm -rf "$d"
    echo $(( (t1 - t0) / 1000 ))
}
# cpu_mean KIND: mean CPU microseconds of that kind's runs (the kernel counts
# CPU time in ticks: a mean of many runs is fair where a median is not)
cpu_mean() { awk '{ s += $1 + $2 } END { printf "%d\n", s / NR * 1000000 }' "$work/cpu-$1"; }

p256=$work/profiles-p256
cp -r "$repo/scripts/profiles" "$p256"
sed -i 's/"P-384"/"P-256"/' "$p256"/*.lua

: >"$work/tut" ; : >"$work/cs384" ; : >"$work/cs256" ; : >"$work/b384" ; : >"$work/b256"
for i in $(seq 1 "$runs"); do
    time_tutorial "$i" >>"$work/tut"
    if [ -n "$baseline" ]; then
        time_chainsmith "b$i" "$repo/scripts/profiles" "$baseline" >>"$work/b384"
    fi
    time_chainsmith "$i" "$repo/scripts/profiles" >>"$work/cs384"
    if [ -n "$baseline" ]; then
        time_chainsmith "bp$i" "$p256" "$baseline" >>"$work/b256"
    fi
    time_chainsmith "p$i" "$p256" >>"$work/cs256"
done

# The floors: interpreter start-up with the module loaded (a usual command
# line no longer loads argparse), and
# the six key generations and signatures of a chain done in-process.
: >"$work/startup"
TIMEFORMAT='%3U %3S'
for i in $(seq 1 "$runs"); do
    t0=$(now_ns)
    { time LUA_CPATH="$repo/build/?.so;;" "$LUA" -e 'require "pki"'; } 2>>"$work/cpu-startup"
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000 )) >>"$work/startup"
    # The floor as one cold process, as the command runs (CPU time only):
    # start-up, module load, the first fetches of each algorithm, the keys
    # and signatures (chain_floor.lua once), or all build_chain signs.
    for c in 384 256; do
        for what in once once_full; do
            { time LUA_CPATH="$repo/build/?.so;;" "$LUA" "$repo/bench/chain_floor.lua" "$what" \
                "P-$c"; } 2>>"$work/cpu-$what$c"
        done
    done
done
startup=$(median <"$work/startup")
startup_cpu=$(cpu_mean startup)
LUA_CPATH="$repo/build/?.so;;" "$LUA" "$repo/bench/chain_floor.lua" >"$work/floor"
floor384=$(sed -n 's/^P-384 \([0-9]*\)$/\1/p' "$work/floor")
floor256=$(sed -n 's/^P-256 \([0-9]*\)$/\1/p' "$work/floor")
full384=$(sed -n 's/^P-384 full //p' "$work/floor")
full256=$(sed -n 's/^P-256 full //p' "$work/floor")

tut=$(median <"$work/tut")
cs384=$(median <"$work/cs384")
cs256=$(median <"$work/cs256")
printf '\nChain build (root + intermediate + server), median of %d runs, microseconds\n' "$runs"
printf '%-52s %10s %8s %10s\n' "what" "median us" "ratio" "CPU us"
printf '%-52s %10d %8s\n' "tutorial Makefile (P-384, 17 processes)" "$tut" "1.0x"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
printf '%-52s %10d %8s %10d\n' "build_chain.lua --force (P-384 profiles)" "$cs384" \
    "$(ratio "$tut" "$cs384")" "$(cpu_mean "")"
printf '%-52s %10d %8s %10d\n' "build_chain.lua --force (P-256 profiles)" "$cs256" \
    "$(ratio "$tut" "$cs256")" "$(cpu_mean p)"
if [ -n "$baseline" ]; then
    b384=$(median <"$work/b384")
    b256=$(median <"$work/b256")
    printf '%-52s %10d %8s %10d\n' "baseline build_chain.lua --force (P-384)" "$b384" \
        "$(ratio "$tut" "$b384")" "$(cpu_mean b)"
    printf '%-52s %10d %8s %10d\n' "baseline build_chain.lua --force (P-256)" "$b256" \
        "$(ratio "$tut" "$b256")" "$(cpu_mean bp)"
fi
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
if [ -n "$baseline" ]; then
    printf '%-52s %8s %8s\n' "baseline P-384" "$(ratio "$b384" "$((startup + floor384))")" \
        "$(ratio "$b384" "$((startup + full384))")"
    printf '%-52s %8s %8s\n' "baseline P-256" "$(ratio "$b256" "$((startup + floor256))")" \
        "$(ratio "$b256" "$((startup + full256))")"
fi
# The same in CPU time (the floors run in-process: their wall clock is
# their CPU time, but for the start-up's), which a loaded disk does not move.
printf '\nin CPU time (start-up %d us CPU)                      3 certs    all it signs\n' \
    "$startup_cpu"
cpu_row() { # cpu_row LABEL KIND FLOOR FULL
    local c
    c=$(cpu_mean "$2")
    printf '%-52s %8s %8s\n' "$1" "$(ratio "$c" "$((startup_cpu + $3))")" \
        "$(ratio "$c" "$((startup_cpu + $4))")"
}
cpu_row "P-384" "" "$floor384" "$full384"
cpu_row "P-256" p "$floor256" "$full256"
if [ -n "$baseline" ]; then
    cpu_row "baseline P-384" b "$floor384" "$full384"
    cpu_row "baseline P-256" bp "$floor256" "$full256"
fi
# Against the floor run as one cold process (chain_floor.lua once, CPU).
printf '\nin CPU time, floor as one cold process (us: %d / %d P-384, %d / %d P-256)\n' \
    "$(cpu_mean once384)" "$(cpu_mean once_full384)" "$(cpu_mean once256)" \
    "$(cpu_mean once_full256)"
cold_row() { # cold_row LABEL KIND CURVE
    local c
    c=$(cpu_mean "$2")
    printf '%-52s %8s %8s\n' "$1" "$(ratio "$c" "$(cpu_mean "once$3")")" \
        "$(ratio "$c" "$(cpu_mean "once_full$3")")"
}
cold_row "P-384" "" 384
cold_row "P-256" p 256
if [ -n "$baseline" ]; then
    cold_row "baseline P-384" b 384
    cold_row "baseline P-256" bp 256
fi
printf 'load average %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
