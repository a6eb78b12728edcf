#!/bin/bash
# Module load and chain build in instructions (callgrind): stable on a
# shared, loaded machine where bench/chain_build.sh's wall-clock figures are
# not. For this tree and, with BASELINE=/other/tree (built), that tree's
# module and scripts in the same run:
#   lua5.4 -e ''                          the interpreter alone
#   lua5.4 -e 'require "pki"'             + the module and its libraries
#   dlopen libssl, libcrypto, libsqlite3  what the module's libraries alone cost
#   chain_floor.lua once                  + one P-384 chain in-process: the floor
#   chain_floor.lua once_full             + the OCSP responder and 2 CRLs: the
#                                           floor of all build_chain signs
#   build_chain.lua --force               the command (P-384 profiles)
# CURVE=P-256 makes the floors and the profiles P-256 (the shipped ones with
# "P-384" replaced). A benchmark, not a test: it asserts nothing.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
LUA=${LUA:-lua5.4}
baseline=${BASELINE:-}
work=$(mktemp -d /tmp/cs-bench-load-XXXXXX)
trap 'rm -rf "$work"' EXIT
curve=${CURVE:-P-384}
cp -r "$repo/scripts/profiles" "$work/profiles"
sed -i "s/\"P-384\"/\"$curve\"/" "$work/profiles"/*.lua
if ! command -v valgrind >/dev/null 2>&1; then
    echo "installing valgrind (benchmark only)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y valgrind >/dev/null
fi

# instructions TREE CMD...: Ir of the process, with TREE's module first.
# build_chain.lua forks a child to run the profiles it reads (the sandbox:
# one per profile before 2026-12-02, one for all of them since);
# callgrind's count in a child starts from the parent's at the fork, so the
# parent's is the largest, and is the one reported: the children's own work
# (running the profiles) is left out, in both trees.
instructions() {
    local tree=$1
    shift
    if ! LUA_CPATH="$tree/build/?.so;;" valgrind --tool=callgrind \
        --callgrind-out-file="$work/cg.%p" "$@" >"$work/out" 2>"$work/err"; then
        # e.g. a profile's sandbox child past its deadline: ten times slower
        # under valgrind on a loaded machine
        echo "failed under valgrind: $*" >&2
        grep -v '^==' "$work/err" "$work/out" >&2
        exit 1
    fi
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/err" | sort -n | tail -1
    rm -f "$work"/cg.*
}
libs="assert(package.loadlib('libssl.so.3', '*')) assert(package.loadlib('libsqlite3.so.0', '*'))"

row() { # row TREE: one line of figures for TREE
    local tree=$1 bare req libs_only floor full chain
    bare=$(instructions "$tree" "$LUA" -e '')
    req=$(instructions "$tree" "$LUA" -e 'require "pki"')
    libs_only=$(instructions "$tree" "$LUA" -e "$libs")
    floor=$(instructions "$tree" "$LUA" "$repo/bench/chain_floor.lua" once "$curve")
    full=$(instructions "$tree" "$LUA" "$repo/bench/chain_floor.lua" once_full "$curve")
    rm -rf "$work/chain"
    chain=$(instructions "$tree" "$LUA" "$tree/scripts/build_chain.lua" --force --out "$work/chain" \
        --profiles "$work/profiles")
    awk -v label="$2" -v bare="$bare" -v req="$req" -v libs="$libs_only" -v floor="$floor" \
        -v full="$full" -v chain="$chain" 'BEGIN { m = 1000000
        printf "%-28s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %7.2fx %7.2fx\n", label,
               bare / m, (req - bare) / m, (libs - bare) / m, floor / m, full / m, chain / m,
               chain / floor, chain / full }' 
}

printf 'Million instructions (callgrind), %s, load average %s\n' "$curve" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %10s %10s %10s %10s %10s %10s %8s %8s\n' "tree" "lua alone" "require" \
    "its libs" "floor" "full floor" "build" "/floor" "/full"
[ -z "$baseline" ] || row "$baseline" "baseline"
row "$repo" "this tree"
