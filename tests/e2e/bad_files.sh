# A FIFO or /dev/zero given as any input: every command refuses it at once,
# naming the file and saying "not a regular file" (a FIFO used to block for
# ever, /dev/zero to be read until memory ran out). The bound on each
# command is the timeout below, 20 s; it answers in well under one.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
check "build the chain" build_chain --out "$chain"
check "issue a client" lua "$repo/scripts/issue.lua" --chain "$chain" --profile client \
    --name alice.test --out "$tmp/issued"
mkfifo "$tmp/fifo"

# fast NAME BAD SCRIPT ARGS...: SCRIPT must fail, within the bound, naming BAD.
fast() {
    local name=$1 bad=$2 script=$3
    shift 3
    timeout 20 env LD_PRELOAD="$lua_preload" "$LUA" "$repo/scripts/$script.lua" "$@" \
        >"$tmp/last.out" 2>&1
    local status=$?
    [ "$status" -ne 124 ] && ok || bad "$name: still waiting after 20 s"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && ok || bad "$name: exit $status"
    contains "$name: names the file" "$tmp/last.out" "$bad: not a regular file"
}

for bad in "$tmp/fifo" /dev/zero; do
    what=${bad##*/}
    fast "build_chain --passphrase-file $what" "$bad" build_chain --out "$chain" \
        --passphrase-file "$bad"
    fast "issue --csr $what" "$bad" issue --chain "$chain" --profile server --csr "$bad" \
        --out "$tmp/issued"
    fast "issue --passphrase-file $what" "$bad" issue --chain "$chain" --profile server \
        --name b.test --out "$tmp/issued" --passphrase-file "$bad"
    fast "issue --policy $what" "$bad" issue --chain "$chain" --profile server \
        --name b.test --out "$tmp/issued" --policy "$bad"
    fast "revoke --cert $what" "$bad" revoke --out "$chain" --cert "$bad"
    fast "renew --passphrase-file $what" "$bad" renew --out "$chain" --force \
        --passphrase-file "$bad"
    fast "export --password-file $what" "$bad" export --cert "$tmp/issued/alice.test.pem" \
        --out "$tmp/alice.p12" --password-file "$bad"
    fast "export --cert $what" "$bad" export --cert "$bad" --key "$tmp/issued/alice.test.key" \
        --out "$tmp/alice.p12" --password-env HOME
    fast "inspect $what" "$bad" inspect "$bad"
    fast "inspect --password-file $what" "$bad" inspect --password-file "$bad" \
        "$chain/root.pem"
    fast "lint $what" "$bad" lint "$bad"
    fast "serve --client-ca $what" "$bad" serve --chain "$chain" --port 0 \
        --listen 127.0.0.1 --client-ca "$bad"
    [ ! -e "$tmp/alice.p12" ] && ok || bad "export wrote a file"
done

# A profile that is a FIFO: build_chain and profiles.lua refuse it too.
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"
rm "$profiles/server.lua"
mkfifo "$profiles/server.lua"
fast "build_chain with a FIFO profile" "$profiles/server.lua" build_chain --out "$chain" \
    --profiles "$profiles"
fast "profiles.lua with a FIFO profile" "$profiles/server.lua" profiles --profiles "$profiles"

finish
