# revoke.lua and the CRLs: openssl verify -crl_check passes before a
# revocation and rejects after it; the CRL is v2 with an increasing number
# and the reason; serve.lua serves the same bytes; revoking the
# intermediate makes -crl_check_all reject with the root's CRL; certtool
# reads and checks both CRLs. Refusals: exit codes, messages, nothing signed.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
revoke() {
    lua "$repo/scripts/revoke.lua" --out "$chain" "$@"
}
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" "$@"
}
crl_verify() {
    openssl verify -crl_check -CRLfile "$chain/intermediate.crl.pem" -CAfile "$chain/root.pem" \
        -untrusted "$chain/intermediate.pem" "$@"
}
crl_verify_all() {
    openssl verify -crl_check_all -CRLfile "$chain/root.crl.pem" \
        -CRLfile "$chain/intermediate.crl.pem" -CAfile "$chain/root.pem" \
        -untrusted "$chain/intermediate.pem" "$@"
}
crl_number() {
    openssl crl -in "$1" -noout -crlnumber | cut -d= -f2
}
serial() {
    openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

lua "$repo/scripts/revoke.lua" --out "$chain" --serial 01 >"$tmp/last.out" 2>&1
equal "no chain yet exits 1 (not 3: that is an unknown serial)" "$?" 1
contains "and says what to run" "$tmp/last.out" "run build_chain.lua first"

check "build the chain" build_chain --out "$chain"
contains "build_chain reports the root CRL" "$tmp/last.out" "root CRL: signed (created): number 1"
contains "and the intermediate CRL" "$tmp/last.out" "intermediate CRL: signed (created): number 1"
for f in root.crl root.crl.pem intermediate.crl intermediate.crl.pem; do
    [ -s "$chain/$f" ] && ok || bad "build_chain wrote $f"
done
equal "DER and PEM are one CRL" "$(openssl crl -in "$chain/intermediate.crl" -inform DER)" \
    "$(openssl crl -in "$chain/intermediate.crl.pem")"
check "issue a leaf" issue --profile server --name web.localhost --out "$tmp/issued"
leaf=$tmp/issued/web.localhost.pem
openssl x509 -in "$leaf" -noout -text >"$tmp/leaf.txt"
contains "the leaf names its CRL" "$tmp/leaf.txt" "URI:http://localhost:8080/crl/intermediate.crl"
contains "and the OCSP responder" "$tmp/leaf.txt" "OCSP - URI:http://localhost:8080/ocsp"
openssl x509 -in "$chain/intermediate.pem" -noout -text >"$tmp/inter.txt"
contains "the intermediate names the root's CRL" "$tmp/inter.txt" \
    "URI:http://localhost:8080/crl/root.crl"
check "verify -crl_check passes before revocation" crl_verify "$leaf"
check "verify -crl_check_all passes too" crl_verify_all "$leaf"
n0=$(crl_number "$chain/intermediate.crl.pem")

# Refusals: exit codes and messages, the CRL untouched.
before=$(sha256sum "$chain/intermediate.crl")
lua "$repo/scripts/revoke.lua" --out "$chain" --serial 0123ABCD >"$tmp/last.out" 2>&1
equal "an unknown serial exits 3" "$?" 3
contains "and says so" "$tmp/last.out" "serial 0123ABCD: not in the database"
lua "$repo/scripts/revoke.lua" --out "$chain" --cert "$leaf" --reason hold >"$tmp/last.out" 2>&1
equal "an unknown reason exits 1" "$?" 1
contains "and lists the reasons" "$tmp/last.out" "unknown reason 'hold' (one of: unspecified, keyCompromise,"
refuse "no --serial or --cert" revoke
contains "says what to give" "$tmp/last.out" "give --serial HEX or --cert FILE"
refuse "both --serial and --cert" revoke --serial 01 --cert "$leaf"
contains "says they exclude each other" "$tmp/last.out" "can not be used together"
refuse "the root cannot be revoked" revoke --cert "$chain/root.pem"
contains "says why" "$tmp/last.out" "is the root itself"
equal "refusals signed no CRL" "$(sha256sum "$chain/intermediate.crl")" "$before"

# Revoke the leaf by its certificate.
check "revoke the leaf" revoke --cert "$leaf" --reason keyCompromise
contains "revoke.lua names the CRL written" "$tmp/last.out" "$chain/intermediate.crl"
refuse "verify -crl_check now fails" crl_verify "$leaf"
contains "with certificate revoked" "$tmp/last.out" "certificate revoked"
n1=$(crl_number "$chain/intermediate.crl.pem")
[ "$((n1))" -gt "$((n0))" ] && ok || bad "the CRL number grew ($n0 -> $n1)"
openssl crl -in "$chain/intermediate.crl" -inform DER -noout -text >"$tmp/crl.txt"
contains "CRL version 2" "$tmp/crl.txt" "Version 2 (0x1)"
contains "lists the serial" "$tmp/crl.txt" "Serial Number: $(serial "$leaf")"
contains "with its reason" "$tmp/crl.txt" "Key Compromise"
contains "authority key identifier" "$tmp/crl.txt" "X509v3 Authority Key Identifier"
cat "$chain/root.pem" "$chain/intermediate.pem" >"$tmp/cas.pem"
check "openssl checks its signature" openssl crl -in "$chain/intermediate.crl.pem" -noout \
    -CAfile "$tmp/cas.pem" -verify
check "certtool reads it" certtool --crl-info --infile "$chain/intermediate.crl.pem"
contains "certtool: version 2" "$tmp/last.out" "Version: 2"
contains "certtool: one revoked" "$tmp/last.out" "Revoked certificates (1)"
check "certtool checks its signature" certtool --verify-crl \
    --load-ca-certificate "$chain/intermediate.pem" --infile "$chain/intermediate.crl.pem"
refuse "certtool --verify with the CRL rejects the leaf" certtool --verify \
    --load-ca-certificate "$tmp/cas.pem" --load-crl "$chain/intermediate.crl.pem" --infile "$leaf"

# Twice: exit 4, saying when and why; the CRL number does not move.
lua "$repo/scripts/revoke.lua" --out "$chain" --serial "$(serial "$leaf")" >"$tmp/last.out" 2>&1
equal "revoking twice exits 4" "$?" 4
contains "says when and why" "$tmp/last.out" "already revoked at "
contains "and the reason" "$tmp/last.out" "keyCompromise"
equal "no new CRL" "$(crl_number "$chain/intermediate.crl.pem")" "$n1"

# A rebuild keeps the revocations and the numbers only grow.
rm "$chain/intermediate.crl.pem"
check "rebuild signs the missing CRL" build_chain --out "$chain"
n2=$(crl_number "$chain/intermediate.crl.pem")
[ "$((n2))" -gt "$((n1))" ] && ok || bad "the CRL number grew on rebuild ($n1 -> $n2)"
refuse "still revoked after the rebuild" crl_verify "$leaf"

# serve.lua serves the files it found, over HTTPS, byte for byte.
check "start the server" start_server "$tmp/server.log" --chain "$chain"
for f in intermediate.crl intermediate.crl.pem root.crl root.crl.pem; do
    check "GET /crl/$f" curl -sS --fail --cacert "$chain/root.pem" -o "$tmp/got-$f" \
        "https://localhost:$port/crl/$f"
    check "/crl/$f matches the file" cmp "$tmp/got-$f" "$chain/$f"
done
ctype=$(curl -sS --cacert "$chain/root.pem" -o /dev/null -w '%{content_type}' \
    "https://localhost:$port/crl/intermediate.crl")
equal "DER as application/pkix-crl" "$ctype" "application/pkix-crl"
check "stop the server" stop_server TERM

# Revoke the intermediate: the root's CRL rejects every path through it.
check "issue another leaf" issue --profile server --name other.localhost --out "$tmp/issued"
other=$tmp/issued/other.localhost.pem
check "the other leaf passes -crl_check_all" crl_verify_all "$other"
r0=$(crl_number "$chain/root.crl.pem")
check "revoke the intermediate" revoke --serial "$(serial "$chain/intermediate.pem")" \
    --reason cACompromise
contains "signed by the root" "$tmp/last.out" "root CRL: number"
r1=$(crl_number "$chain/root.crl.pem")
[ "$((r1))" -gt "$((r0))" ] && ok || bad "the root CRL number grew ($r0 -> $r1)"
refuse "-crl_check_all rejects the other leaf" crl_verify_all "$other"
contains "at depth 1" "$tmp/last.out" "certificate revoked"
openssl crl -in "$chain/root.crl" -inform DER -noout -text >"$tmp/root-crl.txt"
contains "root CRL lists the intermediate" "$tmp/root-crl.txt" \
    "Serial Number: $(serial "$chain/intermediate.pem")"
contains "as a CA compromise" "$tmp/root-crl.txt" "CA Compromise"
check "certtool checks the root CRL" certtool --verify-crl \
    --load-ca-certificate "$chain/root.pem" --infile "$chain/root.crl.pem"

finish
