# Issue 10 through the commands: what issue.lua refuses, how inspect.lua and
# lint.lua show hostile names; nothing written on a refusal.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" "$@"
}
check "build the chain" build_chain --out "$chain"
[ -s "$chain/ocsp.pem" ] && ok || bad "build_chain makes the OCSP responder"

# §1: a delegated OCSP signer from issue.lua could forge status answers.
refuse "no OCSP signer from issue.lua" issue --profile ocsp --name ocsp2.test --out "$tmp/o"
contains "names the rule" "$tmp/last.out" "(rule no-ocsp-signer)"
[ ! -e "$tmp/o" ] && ok || bad "nothing written for a refused OCSP signer"

finish
