# The chain build_chain.lua makes validates strictly, trusting only the root,
# in OpenSSL and in GnuTLS; it is kept or replaced as documented; bad input
# writes nothing.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"
cp "$tmp/last.out" "$tmp/build1.log"
contains "summary names the leaf" "$tmp/build1.log" "CN=localhost"
contains "summary shows SANs" "$tmp/build1.log" "DNS:localhost, IP:127.0.0.1, IP:::1"
contains "summary shows fingerprints" "$tmp/build1.log" "SHA-256"

check "openssl verify -x509_strict, root only" openssl verify -x509_strict -CAfile "$out/root.pem" \
    -untrusted "$out/intermediate.pem" "$out/server.pem"
check "openssl verify as a TLS server for localhost" openssl verify -x509_strict \
    -purpose sslserver -verify_hostname localhost -verify_ip 127.0.0.1 \
    -CAfile "$out/root.pem" -untrusted "$out/intermediate.pem" "$out/server.pem"
refuse "openssl verify without the intermediate" openssl verify -x509_strict \
    -CAfile "$out/root.pem" "$out/server.pem"
check "GnuTLS certtool verifies the served chain" certtool --verify \
    --load-ca-certificate "$out/root.pem" --infile "$out/server-chain.pem"
check "GnuTLS certtool checks the host name" certtool --verify --verify-hostname localhost \
    --load-ca-certificate "$out/root.pem" --infile "$out/server-chain.pem"
refuse "GnuTLS certtool rejects another host" certtool --verify --verify-hostname example.com \
    --load-ca-certificate "$out/root.pem" --infile "$out/server-chain.pem"

for k in root intermediate server ocsp; do
    equal "$k.key is 0600" "$(stat -c %a "$out/$k.key")" 600
done
equal "server-chain.pem holds two certificates" \
    "$(grep -c 'BEGIN CERTIFICATE' "$out/server-chain.pem")" 2
equal "database records four certificates (with the OCSP responder)" \
    "$(sqlite3 "$out/ca.db" 'select count(*) from certificates')" 4
equal "database is 0600" "$(stat -c %a "$out/ca.db")" 600
lacks "no key in the summary" "$tmp/build1.log" "PRIVATE KEY"

# The leaf is clean: what the tutorial got wrong is not there.
openssl x509 -in "$out/server.pem" -noout -text >"$tmp/leaf.txt"
contains "P-384 leaf signed with SHA-384" "$tmp/leaf.txt" "ecdsa-with-SHA384"
contains "leaf is not a CA" "$tmp/leaf.txt" "CA:FALSE"
contains "leaf is for TLS servers" "$tmp/leaf.txt" "TLS Web Server Authentication"
contains "leaf SANs" "$tmp/leaf.txt" "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
lacks "no nsCertType on the leaf" "$tmp/leaf.txt" "Netscape"
contains "leaf subject" "$tmp/leaf.txt" "Subject: C = SE, O = Simple Inc, OU = ABC, CN = localhost"
openssl x509 -in "$out/intermediate.pem" -noout -text >"$tmp/inter.txt"
contains "intermediate pathlen 0" "$tmp/inter.txt" "CA:TRUE, pathlen:0"
contains "intermediate key usage" "$tmp/inter.txt" "Certificate Sign, CRL Sign"
openssl x509 -in "$out/root.pem" -noout -text >"$tmp/root.txt"
contains "root basicConstraints critical" "$tmp/root.txt" "X509v3 Basic Constraints: critical"
contains "root subject" "$tmp/root.txt" "Subject: C = SE, O = Simple Inc, CN = Simple Root CA"

# Run again: everything is kept.
root_fp=$(fingerprint "$out/root.pem")
server_fp=$(fingerprint "$out/server.pem")
check "rebuild" build_chain --out "$out"
contains "root kept" "$tmp/last.out" "root: kept"
contains "server kept" "$tmp/last.out" "server: kept"
equal "root unchanged" "$(fingerprint "$out/root.pem")" "$root_fp"
equal "server unchanged" "$(fingerprint "$out/server.pem")" "$server_fp"

# --force replaces it all.
check "rebuild --force" build_chain --out "$out" --force
[ "$(fingerprint "$out/root.pem")" != "$root_fp" ] && ok || bad "--force made a new root"
check "new chain verifies" openssl verify -x509_strict -CAfile "$out/root.pem" \
    -untrusted "$out/intermediate.pem" "$out/server.pem"
equal "database records eight certificates" \
    "$(sqlite3 "$out/ca.db" 'select count(*) from certificates')" 8

# A policy violation stops the build and writes nothing.
cp -r "$repo/scripts/profiles" "$tmp/bad"
sed -i 's/validity_days = 30,/validity_days = 400,/' "$tmp/bad/server.lua"
snapshot=$(cd "$out" && sha256sum ./*.pem ./*.key ca.db)
refuse "policy refuses a 400-day leaf" build_chain --out "$out" --profiles "$tmp/bad"
contains "violation names profile, field and rule" "$tmp/last.out" \
    "profile server: lint: cabf-leaf-validity-398-days: validity: 400 days for a TLS server certificate (at most 398) (BR 6.3.2)"
equal "nothing changed after the refusal" "$(cd "$out" && sha256sum ./*.pem ./*.key ca.db)" "$snapshot"
refuse "policy refusal in a new folder" build_chain --out "$tmp/never" --profiles "$tmp/bad"
[ ! -e "$tmp/never" ] && ok || bad "a refused build created its folder"

refuse "a missing profiles folder" build_chain --out "$tmp/never" --profiles "$tmp/nowhere"
contains "it names the missing profile" "$tmp/last.out" "$tmp/nowhere/root.lua: cannot open"
[ ! -e "$tmp/never" ] && ok || bad "a failed build created its folder"

# A profile is data: it cannot reach os, io or require.
cp -r "$repo/scripts/profiles" "$tmp/evil"
sed -i '1i os.execute("touch '"$tmp"'/pwned")' "$tmp/evil/server.lua"
refuse "a profile calling os.execute fails to load" build_chain --out "$tmp/evil-out" \
    --profiles "$tmp/evil"
contains "the error names the file and line" "$tmp/last.out" "server.lua:1:"
[ ! -e "$tmp/pwned" ] && ok || bad "the profile ran os.execute"

# A CA key is never overwritten without --force.
rm "$out/root.pem"
key_sum=$(sha256sum <"$out/root.key")
refuse "a lone root.key stops the build" build_chain --out "$out"
contains "the error says how to go on" "$tmp/last.out" "--force"
equal "root.key untouched" "$(sha256sum <"$out/root.key")" "$key_sum"

finish
