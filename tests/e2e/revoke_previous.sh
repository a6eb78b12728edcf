# Revoking a certificate of the previous intermediate (kept after a roll as
# intermediate-previous.pem: same name, another key). What happens today,
# measured with real validators: revoke.lua records it in ca.db and lists
# its serial in intermediate.crl, but that CRL is signed by the current
# key, so openssl verify -crl_check finds no CRL for the old leaf
# (authority key id mismatch), and serve.lua's OCSP responder, which
# answers for the current intermediate only, says "unauthorized". revoke.lua
# warns on stderr (and in --json) that the revocation is not served. A leaf
# of the current intermediate is revoked as before, without the warning.
# The design that serves it: docs/revocation.md, "Certificates of the
# previous intermediate".
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

# revoke.lua: exit 0, the record, and a warning naming what is not served
old_serial=$(serial_of "$old")
lua "$repo/scripts/revoke.lua" --chain "$out" --serial "$old_serial" \
    >"$tmp/revoke.out" 2>"$tmp/revoke.err"
equal "revoking the old leaf: exit 0 (recorded)" "$?" 0
contains "says revoked" "$tmp/revoke.out" "revoked $old_serial"
contains "warns on stderr" "$tmp/revoke.err" \
    "revoke: warning: serial $old_serial was issued by the previous intermediate ($out/intermediate-previous.pem, serial $(serial_of "$out/intermediate-previous.pem")), key id "
contains "names the CRL that cannot serve it" "$tmp/revoke.err" \
    "signs $out/intermediate.crl, so validators find no usable CRL for it"
contains "names the OCSP answer" "$tmp/revoke.err" "answers \"unauthorized\" for it"
contains "says what to do" "$tmp/revoke.err" "replace the certificate (issue.lua)"
check "ca.db records it" sh -c "sqlite3 '$out/ca.db' \"select serial from certificates where revoked_at is not null\" \
    | grep -qi '$old_serial'"

# The CRL lists the serial, signed by the new key: usable for new leaves only.
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
ocsp "$out/intermediate-previous.pem" "$old" >"$tmp/ocsp.out" 2>&1
contains "OCSP for the old leaf: unauthorized" "$tmp/ocsp.out" "Responder Error: unauthorized (6)"
check "OCSP for the new leaf" ocsp "$out/intermediate.pem" "$new"
contains "revoked" "$tmp/last.out" "$new: revoked"
stop_server TERM && ok || bad "SIGTERM exit status"
finish
