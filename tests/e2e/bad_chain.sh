# A chain folder in a bad state: its database gone, a CA key unreadable or
# open to other users, a folder anyone may write to. Each is refused (or
# warned about) in one line that says how to fix it, and nothing is
# re-created behind the user's back.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
issue() { lua "$repo/scripts/issue.lua" --chain "$chain" "$@"; }
revoke() { lua "$repo/scripts/revoke.lua" --out "$chain" "$@"; }
renew() { lua "$repo/scripts/renew.lua" --out "$chain" "$@"; }

check "build the chain" build_chain --out "$chain"
check "issue a client" issue --profile client --name alice.test --out "$tmp/issued"
check "revoke it" revoke --cert "$tmp/issued/alice.test.pem" --reason keyCompromise
cp "$chain/ca.db" "$tmp/ca.db.backup"
root_fp=$(fingerprint "$chain/root.pem")

# --- ca.db deleted, CA keys still there ---
rm -f "$chain/ca.db" "$chain/ca.db-wal" "$chain/ca.db-shm"
crl_before=$(cat "$chain/intermediate.crl.pem")
refuse "build_chain without ca.db" build_chain --out "$chain"
contains "it names the missing database" "$tmp/last.out" "$chain/ca.db: missing, but the CA keys are there"
contains "and says to restore it" "$tmp/last.out" "Restore ca.db from a backup"
contains "or how to start over on purpose" "$tmp/last.out" "--force"
[ ! -e "$chain/ca.db" ] && ok || bad "build_chain re-created ca.db"
equal "the CRL is untouched" "$(cat "$chain/intermediate.crl.pem")" "$crl_before"
for cmd in issue revoke renew; do
    case $cmd in
    issue) refuse "issue.lua without ca.db" issue --profile server --name b.test \
        --out "$tmp/issued" ;;
    revoke) refuse "revoke.lua without ca.db" revoke --serial 01 ;;
    renew) refuse "renew.lua without ca.db" renew ;;
    esac
    contains "$cmd says to restore ca.db" "$tmp/last.out" "Restore ca.db from a backup"
    [ ! -e "$chain/ca.db" ] && ok || bad "$cmd re-created ca.db"
done
cp "$tmp/ca.db.backup" "$chain/ca.db"
check "restored, build_chain works again" build_chain --out "$chain"
equal "the root is the same" "$(fingerprint "$chain/root.pem")" "$root_fp"
revoke --cert "$tmp/issued/alice.test.pem" >"$tmp/last.out" 2>&1
equal "the restored ca.db still knows alice is revoked (exit 4)" "$?" 4
rm -f "$chain/ca.db" "$chain/ca.db-wal" "$chain/ca.db-shm"
check "--force starts a new CA on purpose" build_chain --out "$chain" --force
[ "$(fingerprint "$chain/root.pem")" != "$root_fp" ] && ok || bad "--force kept the root"


# --- a CA key that cannot be read (EACCES, not ENOENT) ---
# Root reads any file whatever its mode: as root, run the commands as
# nobody on a copy of the chain that nobody owns. nobody may not reach the
# checkout (a clone under /root is 0700): the scripts and the module run
# from a copy in the test's folder.
scripts=$repo/scripts
if [ "$(id -u)" = 0 ]; then
    cp -r "$repo/scripts" "$tmp/scripts"
    mkdir "$tmp/build"
    cp "${LUA_CPATH%%\?.so*}pki.so" "$tmp/build/pki.so"
    chmod -R a+rX "$tmp/scripts" "$tmp/build"
    scripts=$tmp/scripts
fi
as_other() {
    local script=$1
    shift
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=65534 --regid=65534 --clear-groups env -u LUA_CPATH \
            LD_PRELOAD="$lua_preload" "$LUA" "$scripts/$script" "$@"
    else
        lua "$scripts/$script" "$@"
    fi
}
chmod 711 "$tmp"
locked=$tmp/locked
cp -r "$chain" "$locked"
[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$locked"
for key in root intermediate; do
    chmod 000 "$locked/$key.key"
    as_other build_chain.lua --out "$locked" >"$tmp/last.out" 2>&1
    equal "build_chain with an unreadable $key.key fails" "$?" 1
    contains "it says permission denied" "$tmp/last.out" "$locked/$key.key: cannot read (permission denied)"
    lacks "it does not call the key missing" "$tmp/last.out" "missing"
    lacks "nor suggest replacing the CA" "$tmp/last.out" "--force"
    chmod 600 "$locked/$key.key"
done
chmod 000 "$locked/intermediate.key"
as_other issue.lua --chain "$locked" --profile server --name c.test \
    --out "$locked/issued" >"$tmp/last.out" 2>&1
equal "issue.lua with an unreadable intermediate.key fails" "$?" 1
contains "it says permission denied" "$tmp/last.out" "$locked/intermediate.key: cannot read (permission denied)"
lacks "not missing" "$tmp/last.out" "missing"
as_other revoke.lua --out "$locked" --serial 01 >"$tmp/last.out" 2>&1
equal "revoke.lua with an unreadable intermediate.key fails" "$?" 1
contains "it says permission denied" "$tmp/last.out" "permission denied"
lacks "nor suggest replacing the CA" "$tmp/last.out" "--force"

# --- CA keys open to other users, a folder anyone may write to ---
chmod 644 "$chain/root.key"
refuse "build_chain with root.key at 0644" build_chain --out "$chain"
contains "it names the key and the fix" "$tmp/last.out" \
    "$chain/root.key: mode 644 lets other users at the CA key; run \`chmod 600 $chain/root.key\`"
chmod 600 "$chain/root.key"
chmod 640 "$chain/intermediate.key"
refuse "issue.lua with intermediate.key at 0640" issue --profile server --name d.test \
    --out "$tmp/issued"
contains "it names the key and the fix" "$tmp/last.out" "chmod 600 $chain/intermediate.key"
[ ! -e "$tmp/issued/d.test.pem" ] && ok || bad "issued with an exposed CA key"
chmod 600 "$chain/intermediate.key"
chmod 777 "$chain"
check "build_chain in a 0777 folder still works" build_chain --out "$chain"
contains "with a warning naming the folder and the fix" "$tmp/last.out" \
    "warning: $chain: folder mode 777 lets other users replace the CA's files; run \`chmod 700 $chain\`"
check "issue.lua in a 0777 folder" issue --profile server --name e.test --out "$tmp/issued"
contains "warns too" "$tmp/last.out" "warning: $chain: folder mode 777"
chmod 700 "$chain"
check "build_chain in a 0700 folder" build_chain --out "$chain"
lacks "says nothing about the mode" "$tmp/last.out" "warning"

finish
