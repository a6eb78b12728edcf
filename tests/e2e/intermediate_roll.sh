# Issue 10 §2: an expired, expiring or changed intermediate is rolled under
# the root clients already trust (build_chain.lua, renew.lua), never by
# replacing the root: a new key and certificate signed by the same root,
# the server certificate, the OCSP responder and the intermediate's CRL
# follow, in one journal. issue.lua's hint for an expired intermediate
# names the command that rolls it, and works again afterwards.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build the chain" build_chain --out "$out"
root_fp=$(fingerprint "$out/root.pem")
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
issue() { lua "$repo/scripts/issue.lua" --chain "$out" "$@"; }
renew() { lua "$repo/scripts/renew.lua" --out "$out" "$@"; }
# rolled WHAT: the chain in $out is whole under the same root and a new
# intermediate (its serial not $old_inter) that signed everything below.
rolled() {
    local what=$1 new
    new=$(serial_of "$out/intermediate.pem")
    equal "$what: the root is the same" "$(fingerprint "$out/root.pem")" "$root_fp"
    [ "$new" != "$old_inter" ] && ok || bad "$what: the intermediate serial is still $new"
    check "$what: the server certificate verifies under the new intermediate" \
        openssl verify -x509_strict -CAfile "$out/root.pem" -untrusted "$out/intermediate.pem" \
        "$out/server.pem"
    check "$what: so does the OCSP responder" openssl verify -x509_strict \
        -CAfile "$out/root.pem" -untrusted "$out/intermediate.pem" "$out/ocsp.pem"
    check "$what: the intermediate CRL is signed by the new intermediate" \
        openssl crl -in "$out/intermediate.crl.pem" -noout -CAfile "$out/intermediate.pem"
    check "$what: the root CRL still by the root" \
        openssl crl -in "$out/root.crl.pem" -noout -CAfile "$out/root.pem"
    equal "$what: server-chain.pem holds the new intermediate" \
        "$(sed -n '/END CERT/,$p' "$out/server-chain.pem" | sed 1d | openssl x509 -noout -serial \
        | cut -d= -f2)" "$new"
    equal "$what: the replaced intermediate is kept" \
        "$(serial_of "$out/intermediate-previous.pem")" "$old_inter"
    check "$what: the chain is whole" lua "$repo/tests/e2e/check_chain.lua" "$repo" "$out" \
        "$tmp/seen"
}

check "a leaf under the first intermediate" issue --profile server --name early.test \
    --out "$tmp/issued"

# 1. Expired: issue.lua names the roll, build_chain.lua does it.
mkdir "$tmp/seen"
check "make the intermediate expired" lua "$repo/tests/e2e/redate.lua" "$repo" "$out" \
    intermediate expired
old_inter=$(serial_of "$out/intermediate.pem")
refuse "issue.lua refuses under an expired intermediate" issue --profile server \
    --name late.test --out "$tmp/issued"
contains "issue.lua names the date" "$tmp/last.out" "intermediate.pem (C=SE, O=Simple Inc, OU=XYZ, CN=Simple Intermediate CA) expired on "
contains "issue.lua names the command that rolls it" "$tmp/last.out" \
    "run \`lua scripts/renew.lua --intermediate --out $out\`"
lacks "issue.lua does not send to --force" "$tmp/last.out" "--force"
check "build_chain.lua rolls the expired intermediate" build_chain --out "$out"
contains "the roll is said" "$tmp/last.out" "intermediate: re-issued (expired on "
contains "the root is kept" "$tmp/last.out" "root: kept"
contains "nothing to trust again" "$tmp/last.out" "root.pem is unchanged, so nothing is trusted again"
rolled "expired"
check "issue.lua works after the roll" issue --profile server --name late.test \
    --out "$tmp/issued"
check "and its leaf verifies" openssl verify -x509_strict -CAfile "$out/root.pem" \
    -untrusted "$out/intermediate.pem" "$tmp/issued/late.test.pem"
check "a rebuild right after keeps the new intermediate" build_chain --out "$out"
contains "kept" "$tmp/last.out" "intermediate: kept"

# 2. Within renew_before_days: renew.lua rolls it; what the previous one
# issued still verifies through intermediate-previous.pem.
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"
sed -i 's/renew_before_days = 180,/renew_before_days = 1900,/' "$profiles/intermediate.lua"
old_inter=$(serial_of "$out/intermediate.pem")
check "renew.lua --dry-run" renew --profiles "$profiles" --dry-run
contains "the intermediate is due" "$tmp/last.out" "within renew_before_days (1900)"
equal "dry run wrote nothing" "$(serial_of "$out/intermediate.pem")" "$old_inter"
check "renew.lua rolls the expiring intermediate" renew --profiles "$profiles"
contains "renew.lua says so" "$tmp/last.out" "intermediate: re-issued (expires "
rolled "expiring"
check "a leaf of the previous intermediate still verifies" openssl verify -x509_strict \
    -CAfile "$out/root.pem" -untrusted "$out/intermediate-previous.pem" \
    "$tmp/issued/late.test.pem"

# 3. Its profile changed: rolled without --force (no new root to trust).
cp "$repo/scripts/profiles/intermediate.lua" "$profiles/intermediate.lua"
sed -i 's/validity_days = 1825,/validity_days = 1500,/' "$profiles/intermediate.lua"
old_inter=$(serial_of "$out/intermediate.pem")
check "build_chain.lua after editing intermediate.lua" build_chain --out "$out" \
    --profiles "$profiles"
contains "the profile change rolls it" "$tmp/last.out" \
    "intermediate: re-issued (its profile changed: validity 1825 days, profile says 1500)"
rolled "profile change"

# 4. Asked for: build_chain.lua --roll-intermediate, renew.lua --intermediate.
old_inter=$(serial_of "$out/intermediate.pem")
check "build_chain.lua --roll-intermediate" build_chain --out "$out" --profiles "$profiles" \
    --roll-intermediate
contains "asked for" "$tmp/last.out" "intermediate: re-issued (--roll-intermediate)"
rolled "--roll-intermediate"
old_inter=$(serial_of "$out/intermediate.pem")
check "renew.lua --intermediate" renew --profiles "$profiles" --intermediate
contains "asked for" "$tmp/last.out" "intermediate: re-issued (--intermediate)"
rolled "renew.lua --intermediate"

# 5. A root profile change still rolls nothing: only --force replaces the root.
sed -i 's/validity_days = 3650,/validity_days = 3000,/' "$profiles/root.lua"
old_inter=$(serial_of "$out/intermediate.pem")
build_chain --out "$out" --profiles "$profiles" >"$tmp/last.out" 2>&1
equal "build_chain.lua after editing root.lua: exit 3 (not applied)" "$?" 3
contains "says the root change is not applied" "$tmp/last.out" "NOT APPLIED"
contains "root kept" "$tmp/last.out" "root: kept"
contains "intermediate kept" "$tmp/last.out" "intermediate: kept"
equal "same intermediate" "$(serial_of "$out/intermediate.pem")" "$old_inter"

# 6. The OCSP responder a new serve.lua answers with is the new one.
start_server "$tmp/serve.log" --chain "$out" || { bad "server start"; finish; exit 1; }
hport=$http_port
check "openssl ocsp for the new server certificate" openssl ocsp \
    -issuer "$out/intermediate.pem" -cert "$out/server.pem" -url "http://127.0.0.1:$hport/ocsp" \
    -CAfile "$out/root.pem" -resp_text
contains "good" "$tmp/last.out" "server.pem: good"
contains "verified under the root" "$tmp/last.out" "Response verify OK"
sed -n 's/^ *//; /BEGIN CERT/,/END CERT/p' "$tmp/last.out" >"$tmp/responder.pem"
equal "signed by the new responder" "$(fingerprint "$tmp/responder.pem")" \
    "$(fingerprint "$out/ocsp.pem")"
stop_server TERM || bad "stop"

# 7. An encrypted chain stays encrypted through a roll.
enc=$tmp/enc
export CS_PASS=correct-horse
check "build an encrypted chain" build_chain --out "$enc" --passphrase-env CS_PASS
snapshot=$(cd "$enc" && sha256sum ./*.pem ./*.key ./*.crl ca.db)
refuse "no roll without the passphrase" build_chain --out "$enc" --roll-intermediate
contains "the refusal is about the passphrase" "$tmp/last.out" "passphrase"
equal "nothing written" "$(cd "$enc" && sha256sum ./*.pem ./*.key ./*.crl ca.db)" "$snapshot"
check "roll with the passphrase" build_chain --out "$enc" --roll-intermediate \
    --passphrase-env CS_PASS
contains "the new intermediate key is encrypted" "$enc/intermediate.key" \
    "BEGIN ENCRYPTED PRIVATE KEY"
check "issue.lua opens it" issue --chain "$enc" --profile server --name enc.test \
    --out "$tmp/issued-enc" --passphrase-env CS_PASS

finish
