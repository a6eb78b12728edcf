#!/bin/bash
# Signatures per second through SoftHSM2 (P-256, P-384) beside a file key,
# in the same run (build/hsm_sign, bench/hsm_sign.c, alternates them). The token is a
# throwaway one in /tmp, made with softhsm2-util; the key pairs are made on it.
#
#   bench/hsm.sh [N [ROUNDS]]     (N signatures per round, default 500; ROUNDS 5)
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
module=${CHAINSMITH_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
tmp=$(mktemp -d /tmp/cs-bench-hsm-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$tmp" >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/softhsm2.conf CHAINSMITH_PKCS11_MODULE=$module
build=${CS_BUILD_DIR:-$repo/build}
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/hsm_sign" "pkcs11:token=bench" 1234 "${1:-500}" "${2:-5}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
