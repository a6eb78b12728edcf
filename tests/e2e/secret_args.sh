# A secret given on the command line (--passphrase x, --password x) is
# refused with the usage status (2), saying why and naming the -env and
# -file options, before anything is read or written; the secret is never
# echoed back.
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 1
# refused_plain NAME OPTION SCRIPT ARGS...
refused_plain() {
    local name=$1 opt=$2
    shift 2
    lua "$repo/scripts/$@" >"$tmp/last.out" 2>&1
    equal "$name: exit 2" "$?" 2
    contains "$name: says why" "$tmp/last.out" "$opt: secrets never go on the command line"
    contains "$name: names -env" "$tmp/last.out" "give $opt-env VAR"
    contains "$name: names -file" "$tmp/last.out" "or $opt-file FILE"
    lacks "$name: never echoes it" "$tmp/last.out" "s3cret"
}
refused_plain "build_chain --passphrase" --passphrase build_chain.lua --out "$tmp/c1" \
    --passphrase s3cret
[ ! -e "$tmp/c1" ] && ok || bad "build_chain wrote nothing"
refused_plain "build_chain --passphrase=" --passphrase build_chain.lua --out "$tmp/c1" \
    --passphrase=s3cret
refused_plain "build_chain --passphrase alone" --passphrase build_chain.lua --passphrase
refused_plain "issue" --passphrase issue.lua --profile client --name a.localhost \
    --passphrase s3cret
refused_plain "revoke" --passphrase revoke.lua --serial 01 --passphrase s3cret
refused_plain "renew" --passphrase renew.lua --passphrase s3cret
refused_plain "export --password" --password export.lua --cert x.pem --out x.p12 \
    --password s3cret
refused_plain "export --key-passphrase" --key-passphrase export.lua --cert x.pem --out x.p12 \
    --key-passphrase s3cret
refused_plain "inspect --password" --password inspect.lua x.p12 --password s3cret
[ ! -e "$tmp/x.p12" ] && ok || bad "export wrote nothing"

# The right options still work, and --help does not list the refused ones.
with_env() {
    P=s3cret lua "$repo/scripts/build_chain.lua" --out "$tmp/c2" --passphrase-env P
}
check "build_chain --passphrase-env" with_env
check "--help" lua "$repo/scripts/issue.lua" --help
contains "help lists --passphrase-env" "$tmp/last.out" "--passphrase-env VAR"
lacks "help does not offer --passphrase" "$tmp/last.out" "--passphrase <"

finish
