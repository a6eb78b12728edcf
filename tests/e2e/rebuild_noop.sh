# A rebuild with nothing changed writes nothing: every file of the chain
# folder keeps its inode and mtime (a running server watching
# server-chain.pem must not reload and drop its TLS sessions), ca.db keeps
# its bytes, and no file appears or goes. A CA key newly encrypted is a real
# change: the keys are written again, the chain file is not.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"

# Every path under the folder with its inode, mtime (ns) and size; pending/'s
# own mtime shows a journal made or removed inside. (Not the chain folder's
# own: opening ca.db makes and removes SQLite's -wal and -shm files there,
# which hold no content; the listing shows none is left.)
snapshot() {
    find "$1" -mindepth 1 -printf '%P %i %T@ %s\n' | sort
}

check "first build" build_chain --out "$out" --profiles "$profiles"
before=$(snapshot "$out")
db_before=$(sha256sum <"$out/ca.db")
sleep 1.1 # past the mtime granularity of any file system a rewrite could hide in
check "rebuild with nothing changed" build_chain --out "$out" --profiles "$profiles"
contains "the server is kept" "$tmp/last.out" "server: kept"
equal "no file written, made or removed" "$(snapshot "$out")" "$before"
equal "ca.db holds the same bytes" "$(sha256sum <"$out/ca.db")" "$db_before"

# With a passphrase: the CA keys are encrypted (a real change), nothing else.
export CS_TEST_PASS=correct-horse
chain_entry() { snapshot "$out" | grep '^server-chain.pem '; }
server_key() { snapshot "$out" | grep '^server.key '; }
chain_before=$(chain_entry)
key_before=$(server_key)
root_before=$(snapshot "$out" | grep '^root.key ')
check "rebuild encrypting the CA keys" build_chain --out "$out" --profiles "$profiles" \
    --passphrase-env CS_TEST_PASS
[ "$(snapshot "$out" | grep '^root.key ')" != "$root_before" ] && ok ||
    bad "root.key written again, encrypted"
check "root.key is encrypted" grep -q "ENCRYPTED PRIVATE KEY" "$out/root.key"
equal "server-chain.pem untouched by the encryption" "$(chain_entry)" "$chain_before"
equal "server.key untouched by the encryption" "$(server_key)" "$key_before"

before=$(snapshot "$out")
db_before=$(sha256sum <"$out/ca.db")
sleep 1.1
check "rebuild with the passphrase, nothing changed" build_chain --out "$out" \
    --profiles "$profiles" --passphrase-env CS_TEST_PASS
equal "no file written with the keys encrypted" "$(snapshot "$out")" "$before"
equal "ca.db still the same bytes" "$(sha256sum <"$out/ca.db")" "$db_before"

# A chain file edited by hand is a difference: it is written back, whole.
echo "# edited" >>"$out/server-chain.pem"
check "rebuild after the chain file was edited" build_chain --out "$out" \
    --profiles "$profiles" --passphrase-env CS_TEST_PASS
lacks "the edit is gone" "$out/server-chain.pem" "# edited"
check "the chain file verifies" openssl verify -x509_strict -CAfile "$out/root.pem" \
    -untrusted "$out/server-chain.pem" "$out/server.pem"

finish
