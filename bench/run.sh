#!/bin/sh
# Every benchmark, one after the other. `make bench` runs this (a few
# minutes); QUICK=1 makes each one shorter. The 1 M scale run is its own
# target, `make bench-scale` (bench/scale.lua 1000000).
set -eu
here=$(dirname "$0")
"$here/chain_build.sh"
"$here/serve.sh"
"$here/issue.sh"
"$here/issue_peer.sh"
if [ "${QUICK:-0}" = 1 ]; then max=20000; else max=${SCALE_MAX:-100000}; fi
printf '\nScale: bulk P-256 issuance into one database, up to %s certificates\n' "$max"
${LUA:-lua5.4} "$here/scale.lua" "$max"
printf '\nCrash-safe files and revocation\n'
${LUA:-lua5.4} "$here/issue_files.lua" 300
${LUA:-lua5.4} "$here/revocation.lua" 10000 1000 2000
printf '\nThe CA database: PostgreSQL beside SQLite (a throwaway cluster)\n'
if [ "${QUICK:-0}" = 1 ]; then "$here/pg.sh" 300; else "$here/pg.sh" 1000; fi
printf '\nSignatures through a PKCS#11 token (SoftHSM2) beside a file key\n'
if [ "${QUICK:-0}" = 1 ]; then "$here/hsm.sh" 200 3; else "$here/hsm.sh" 1000 7; fi
