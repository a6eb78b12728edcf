# Revoking a certificate of the previous intermediate (kept after a roll as
# intermediate-previous.pem: same name, another key), with real validators.
# The roll keeps the previous key beside it (0600) and signs its own CRL,
# intermediate-previous.crl, which revoke.lua signs again (with
# intermediate.crl) and serve.lua serves: openssl verify -crl_check with it
# finds the old leaf revoked. What is still not served, and said by
# revoke.lua on stderr (and in --json): the old leaf's CRL distribution
# point names intermediate.crl, signed by the new key, where openssl finds
# no CRL for it (authority key id mismatch), and serve.lua's OCSP responder
# answers for the current intermediate only ("unauthorized"). Once the
# previous intermediate has expired, a build removes its key and CRL. A
# leaf of the current intermediate is revoked as before, without a warning.
# docs/revocation.md, "Certificates of the previous intermediate".
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build the chain" build_chain --out "$out"
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
issue() { lua "$repo/scripts/issue.lua" --chain "$out" --profile client --out "$tmp/issued" "$@"; }
check "a leaf under the first intermediate" issue --name old.localhost
old=$tmp/issued/old.localhost.pem
check "roll the intermediate" lua "$repo/scripts/renew.lua" --out "$out" --intermediate
check "a leaf under the new intermediate" issue --name new.localhost
new=$tmp/issued/new.localhost.pem
check "the old leaf verifies through intermediate-previous.pem" openssl verify -x509_strict \
    -CAfile "$out/root.pem" -untrusted "$out/intermediate-previous.pem" "$old"
equal "the previous key is kept, mode 0600" "$(stat -c %a "$out/intermediate-previous.key")" 600
check "and matches intermediate-previous.pem" sh -c "[ \"\$(openssl pkey \
    -in '$out/intermediate-previous.key' -pubout)\" = \"\$(openssl x509 \
    -in '$out/intermediate-previous.pem' -noout -pubkey)\" ]"
check "the roll signed its CRL with it" openssl crl -in "$out/intermediate-previous.crl.pem" \
    -noout -CAfile "$out/intermediate-previous.pem"

# revoke.lua: exit 0, the record, and a warning naming what is not served
old_serial=$(serial_of "$old")
lua "$repo/scripts/revoke.lua" --chain "$out" --serial "$old_serial" \
    >"$tmp/revoke.out" 2>"$tmp/revoke.err"
equal "revoking the old leaf: exit 0 (recorded)" "$?" 0
contains "says revoked" "$tmp/revoke.out" "revoked $old_serial"
contains "says it signed the previous CRL too" "$tmp/revoke.out" "intermediate-previous CRL: number "
contains "warns on stderr" "$tmp/revoke.err" \
    "revoke: warning: serial $old_serial was issued by the previous intermediate ($out/intermediate-previous.pem, serial $(serial_of "$out/intermediate-previous.pem")), key id "
contains "names the CRL that lists it" "$tmp/revoke.err" \
    "it is listed in $out/intermediate-previous.crl, signed by that key (served at /crl/intermediate-previous.crl"
contains "names the CRL the leaf points at" "$tmp/revoke.err" \
    "its CRL distribution point names the current intermediate's CRL, $out/intermediate.crl, signed by another key"
contains "names the OCSP answer" "$tmp/revoke.err" "answers \"unauthorized\" for it"
contains "says what to do" "$tmp/revoke.err" "Replace the certificate (issue.lua)"
check "ca.db records it" sh -c "sqlite3 '$out/ca.db' \"select serial from certificates where revoked_at is not null\" \
    | grep -qi '$old_serial'"

# The previous key's CRL: the old leaf is revoked for a validator given it.
check "intermediate-previous.crl is signed by the previous key" openssl crl \
    -in "$out/intermediate-previous.crl.pem" -noout -CAfile "$out/intermediate-previous.pem"
refuse "openssl verify -crl_check with intermediate-previous.crl: revoked" openssl verify \
    -crl_check -CAfile "$out/root.pem" -untrusted "$out/intermediate-previous.pem" \
    -CRLfile "$out/intermediate-previous.crl.pem" "$old"
contains "certificate revoked" "$tmp/last.out" "certificate revoked"

# intermediate.crl lists the serial too, signed by the new key: usable for
# new leaves only, and it is what the old leaf's distribution point names.
check "intermediate.crl lists the old serial" sh -c \
    "openssl crl -in '$out/intermediate.crl.pem' -noout -text | grep -qi '$old_serial'"
check "intermediate.crl is signed by the new intermediate" openssl crl \
    -in "$out/intermediate.crl.pem" -noout -CAfile "$out/intermediate.pem"
refuse "openssl verify -crl_check: no CRL for the old leaf" openssl verify -crl_check \
    -CAfile "$out/root.pem" -untrusted "$out/intermediate-previous.pem" \
    -CRLfile "$out/intermediate.crl.pem" "$old"
contains "because the CRL is another key's" "$tmp/last.out" "unable to get certificate CRL"

# A leaf of the current intermediate: revoked and served, no warning.
new_serial=$(serial_of "$new")
lua "$repo/scripts/revoke.lua" --chain "$out" --serial "$new_serial" --json \
    >"$tmp/revoke.json" 2>"$tmp/revoke.err"
equal "revoking the new leaf: exit 0" "$?" 0
equal "no warning on stderr" "$(wc -c <"$tmp/revoke.err")" 0
contains "--json: an empty warnings list" "$tmp/revoke.json" '"warnings":[]'
refuse "openssl verify -crl_check: the new leaf is revoked" openssl verify -crl_check \
    -CAfile "$out/root.pem" -untrusted "$out/intermediate.pem" \
    -CRLfile "$out/intermediate.crl.pem" "$new"
contains "certificate revoked" "$tmp/last.out" "certificate revoked"

# OCSP: the responder answers for the current intermediate only.
start_server "$tmp/serve.log" --chain "$out" --http-port 0 || { bad "server start"; finish; exit 1; }
ocsp() {
    openssl ocsp -issuer "$1" -cert "$2" -url "http://127.0.0.1:$http_port/ocsp" \
        -CAfile "$out/root.pem" -verify_other "$out/intermediate.pem"
}
check "serve.lua serves the previous CRL" curl -sS --fail -o "$tmp/served.crl" \
    "http://127.0.0.1:$http_port/crl/intermediate-previous.crl"
check "the one in the folder" cmp "$tmp/served.crl" "$out/intermediate-previous.crl"
ocsp "$out/intermediate-previous.pem" "$old" >"$tmp/ocsp.out" 2>&1
contains "OCSP for the old leaf: unauthorized" "$tmp/ocsp.out" "Responder Error: unauthorized (6)"
check "OCSP for the new leaf" ocsp "$out/intermediate.pem" "$new"
contains "revoked" "$tmp/last.out" "$new: revoked"
stop_server TERM && ok || bad "SIGTERM exit status"
check "the chain is whole (both CRLs agree with ca.db)" lua "$repo/tests/e2e/check_chain.lua" \
    "$repo" "$out" "$tmp"

# Expired: the next build removes the previous key and its CRL, keeps the
# certificate (as before), and revoke.lua signs no CRL for it any more.
check "make intermediate-previous.pem expired" lua "$repo/tests/e2e/redate.lua" "$repo" "$out" \
    intermediate-previous expired
check "renew.lua --dry-run says so" lua "$repo/scripts/renew.lua" --out "$out" --dry-run
contains "the previous CRL is due" "$tmp/last.out" \
    "intermediate-previous CRL (its certificate expired: the key goes)"
check "build_chain.lua" build_chain --out "$out"
for f in intermediate-previous.key intermediate-previous.crl intermediate-previous.crl.pem; do
    if [ -e "$out/$f" ]; then bad "$f left after the previous intermediate expired"; else ok; fi
done
[ -e "$out/intermediate-previous.pem" ] && ok || bad "intermediate-previous.pem removed"
check "the chain is whole" lua "$repo/tests/e2e/check_chain.lua" "$repo" "$out" "$tmp"
finish
