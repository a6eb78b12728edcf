#!/bin/bash
# Bulk issuance as a user writes it, against luaossl: distinct names, the
# server profile's extensions, a P-256 intermediate, a new key per leaf.
#   ours:    bench/issue_rate.lua names (the README's bulk recipe: a spec
#            per certificate, store:issue, every certificate recorded in
#            SQLite, begin/commit every BATCH) and template (the same
#            leaves from a prepared pki.template, store:issue_template)
#   luaossl: bench/issue_luaossl.lua, in-process, nothing recorded or written
# Alternating in one run, RUNS times each; prints medians (wall clock and
# per CPU-second) and the ratios. A benchmark, not a test: asserts nothing.
#   RUNS=7 N=10000 BATCH=1000; QUICK=1: RUNS=3 N=3000
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
LUA=${LUA:-lua5.4}
if [ "${QUICK:-0}" = 1 ]; then runs=${RUNS:-3}; n=${N:-3000}; else runs=${RUNS:-7}; n=${N:-10000}; fi
batch=${BATCH:-1000}
modes=${MODES:-"names template luaossl"}
# the peer: Debian's lua-luaossl (benchmark only, as serve.sh installs nginx)
if ! "$LUA" -e 'require "openssl"' >/dev/null 2>&1; then
    echo "installing lua-luaossl (benchmark only)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y lua-luaossl >/dev/null
fi
work=$(mktemp -d /tmp/cs-bench-peer-XXXXXX)
trap 'rm -rf "$work"' EXIT

one() {
    case $1 in
        luaossl) "$LUA" "$repo/bench/issue_luaossl.lua" "$n" ;;
        *) "$LUA" "$repo/bench/issue_rate.lua" "$1" P-256 "$n" "$batch" ;;
    esac
}
for m in $modes; do : >"$work/$m"; done
for _ in $(seq 1 "$runs"); do
    for m in $modes; do one "$m" >>"$work/$m"; done
done

# medians: wall rate (column 6), CPU rate (column 3 / column 5)
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
wall() { awk '{ print $6 }' "$work/$1" | median; }
cpu() { awk '{ printf "%.0f\n", $3 / $5 }' "$work/$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
printf '\nBulk issuance against luaossl: P-256, distinct names, server profile, N=%s, median of %s alternating runs\n' "$n" "$runs"
printf '%-58s %10s %10s %10s %10s\n' what certs/s "per CPU-s" "vs luaossl" "(CPU)"
lw=$(wall luaossl); lc=$(cpu luaossl)
label() {
    case $1 in
        names) echo "chainsmith: README recipe, spec per cert, recorded" ;;
        template) echo "chainsmith: pki.template, recorded (issue_template)" ;;
        luaossl) echo "luaossl: in-process, nothing recorded or written" ;;
        *) echo "chainsmith: $1" ;;
    esac
}
for m in $modes; do
    printf '%-58s %10s %10s %10s %10s\n' "$(label "$m")" "$(wall "$m")" "$(cpu "$m")" \
        "$(ratio "$(wall "$m")" "$lw")" "$(ratio "$(cpu "$m")" "$lc")"
done
