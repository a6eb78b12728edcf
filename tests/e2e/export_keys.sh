# Encrypted CA keys and PKCS#12 export, with real tools: openssl reads the
# encrypted keys (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) with the
# passphrase; a missing or wrong passphrase stops build_chain.lua and
# issue.lua with nothing written; the server starts unattended; export.lua's
# bundle opens in openssl, keytool and NSS (pk12util, what Chromium and
# Firefox use), and only with its password. Secrets come from the
# environment or a file: no command takes them as arguments.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
export CS_E2E_PASS='s3cret passphrase'
export CS_E2E_WRONG='not it'
export CS_E2E_P12='p12 pass'
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" "$@"
}
export_p12() {
    lua "$repo/scripts/export.lua" "$@"
}
mode() {
    stat -c %a "$1"
}
snapshot() {
    (cd "$1" && sha256sum -- * | sort)
}
first_line() {
    head -n 1 "$1"
}

# Build: the CA keys encrypted, the server key plain.
check "build with --passphrase-env" build_chain --out "$chain" --passphrase-env CS_E2E_PASS
equal "root.key is encrypted" "$(first_line "$chain/root.key")" \
    "-----BEGIN ENCRYPTED PRIVATE KEY-----"
equal "intermediate.key is encrypted" "$(first_line "$chain/intermediate.key")" \
    "-----BEGIN ENCRYPTED PRIVATE KEY-----"
equal "server.key stays plain" "$(first_line "$chain/server.key")" "-----BEGIN PRIVATE KEY-----"
for k in root intermediate server; do
    equal "$k.key mode" "$(mode "$chain/$k.key")" 600
done
check "openssl pkey opens root.key with the passphrase" \
    openssl pkey -in "$chain/root.key" -passin env:CS_E2E_PASS -noout
refuse "openssl pkey: not with a wrong one" \
    openssl pkey -in "$chain/root.key" -passin env:CS_E2E_WRONG -noout
openssl asn1parse -in "$chain/root.key" >"$tmp/asn1.out" 2>&1
for word in ":PBES2" ":PBKDF2" ":hmacWithSHA256" ":aes-256-cbc" ":0927C0"; do
    contains "asn1parse shows $word" "$tmp/asn1.out" "$word"
done
if grep -rqF "$CS_E2E_PASS" "$chain"; then bad "the passphrase is in a file"; else ok; fi
check "verify the encrypted CA's chain" openssl verify -x509_strict -CAfile "$chain/root.pem" \
    -untrusted "$chain/intermediate.pem" "$chain/server.pem"

# Rebuild: only with the right passphrase; otherwise a clear error and no change.
before=$(snapshot "$chain")
refuse "rebuild without the passphrase" build_chain --out "$chain"
contains "says it is encrypted and how" "$tmp/last.out" \
    "root.key: encrypted private key: give its passphrase"
contains "names the flags" "$tmp/last.out" "--passphrase-env VAR or --passphrase-file FILE"
refuse "rebuild with a wrong passphrase" build_chain --out "$chain" --passphrase-env CS_E2E_WRONG
contains "wrong passphrase named" "$tmp/last.out" "root.key: wrong passphrase or corrupt key"
lacks "no --force advice for a locked CA" "$tmp/last.out" "--force"
lacks "the wrong passphrase is not echoed" "$tmp/last.out" "$CS_E2E_WRONG"
printf '%s\n' "$CS_E2E_PASS" >"$tmp/pass.txt"
: >"$tmp/empty.txt"
refuse "an empty passphrase file" build_chain --out "$chain" --passphrase-file "$tmp/empty.txt"
contains "empty refused" "$tmp/last.out" "the passphrase is empty"
refuse "an unset variable" build_chain --out "$chain" --passphrase-env CS_E2E_UNSET_VAR
contains "unset named" "$tmp/last.out" "CS_E2E_UNSET_VAR: no such environment variable"
refuse "no passphrase on the command line" build_chain --out "$chain" --passphrase x
equal "nothing changed by the refusals" "$(snapshot "$chain")" "$before"
check "rebuild with --passphrase-file (trailing newline stripped)" \
    build_chain --out "$chain" --passphrase-file "$tmp/pass.txt"
contains "everything kept" "$tmp/last.out" "intermediate: kept"
equal "nothing changed by the rebuild" "$(snapshot "$chain")" "$before"

# The server starts unattended: its key is plain.
if start_server "$tmp/serve.log" --chain "$chain"; then
    check "served over the encrypted CA's chain" curl -sSf --cacert "$chain/root.pem" \
        "https://localhost:$port/"
    stop_server TERM
else
    bad "server start"
fi

# issue.lua: the intermediate's passphrase, or nothing written.
refuse "issue without the passphrase" issue --profile client --name a.localhost --out "$tmp/i1"
contains "issue says how" "$tmp/last.out" "intermediate.key: encrypted private key"
[ ! -e "$tmp/i1" ] && ok || bad "issue without passphrase wrote $tmp/i1"
refuse "issue with a wrong passphrase" issue --profile client --name a.localhost --out "$tmp/i1" \
    --passphrase-env CS_E2E_WRONG
contains "issue: wrong passphrase" "$tmp/last.out" \
    "intermediate.key: wrong passphrase or corrupt key"
[ ! -e "$tmp/i1" ] && ok || bad "issue with a wrong passphrase wrote $tmp/i1"
equal "no record added" "$(snapshot "$chain")" "$before"
out=$tmp/issued
check "issue with --passphrase-env" issue --profile client --name alice.localhost --out "$out" \
    --passphrase-env CS_E2E_PASS
check "issue with --passphrase-file" issue --profile server --name web.localhost --out "$out" \
    --passphrase-file "$tmp/pass.txt"
check "the issued certificate verifies" openssl verify -x509_strict -CAfile "$chain/root.pem" \
    -untrusted "$chain/intermediate.pem" "$out/alice.localhost.pem"

# export.lua: a PKCS#12 bundle, AES-256-CBC / PBKDF2 / SHA-256 MAC.
p12=$tmp/alice.p12
check "export" export_p12 --cert "$out/alice.localhost.pem" --out "$p12" \
    --password-env CS_E2E_P12
equal "p12 mode" "$(mode "$p12")" 600
openssl pkcs12 -info -noout -in "$p12" -passin env:CS_E2E_P12 >"$tmp/info.out" 2>&1
contains "MAC SHA-256" "$tmp/info.out" "MAC: sha256"
contains "certificates: AES-256-CBC with PBKDF2" "$tmp/info.out" \
    "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC"
contains "key: AES-256-CBC with PBKDF2" "$tmp/info.out" \
    "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"
contains "PRF hmacWithSHA256" "$tmp/info.out" "PRF hmacWithSHA256"
lacks "no RC2" "$tmp/info.out" "RC2"
lacks "no 3DES" "$tmp/info.out" "3DES"
check "openssl reads the key back" sh -c "openssl pkcs12 -in '$p12' -passin env:CS_E2E_P12 \
    -nocerts -nodes | openssl pkey -pubout > '$tmp/p12.pub'"
openssl pkey -in "$out/alice.localhost.key" -pubout >"$tmp/key.pub"
equal "the same key" "$(cat "$tmp/p12.pub")" "$(cat "$tmp/key.pub")"
refuse "openssl: not with a wrong password" \
    openssl pkcs12 -info -noout -in "$p12" -passin env:CS_E2E_WRONG

# keytool (Java) lists the key entry with its chain.
if command -v keytool >/dev/null; then
    check "keytool lists it" keytool -list -v -storetype PKCS12 -keystore "$p12" \
        -storepass:env CS_E2E_P12
    contains "keytool: alias" "$tmp/last.out" "Alias name: alice.localhost"
    contains "keytool: a key entry" "$tmp/last.out" "Entry type: PrivateKeyEntry"
    contains "keytool: with its chain" "$tmp/last.out" "Certificate chain length: 2"
    contains "keytool: the intermediate" "$tmp/last.out" "CN=Simple Intermediate CA"
    refuse "keytool: not with a wrong password" keytool -list -storetype PKCS12 \
        -keystore "$p12" -storepass:env CS_E2E_WRONG
else
    bad "keytool is missing (tools/setup.sh --test installs openjdk-17-jre-headless)"
fi

# NSS, the store Chromium and Firefox use: pk12util imports it.
if command -v pk12util >/dev/null && command -v certutil >/dev/null; then
    nss=$tmp/nssdb
    mkdir -p "$nss"
    check "certutil: a new NSS database" certutil -N -d "sql:$nss" --empty-password
    printf '%s' "$CS_E2E_WRONG" >"$tmp/wrong.txt"
    refuse "pk12util: not with a wrong password" pk12util -i "$p12" -d "sql:$nss" \
        -w "$tmp/wrong.txt"
    printf '%s' "$CS_E2E_P12" >"$tmp/p12pass.txt"
    check "pk12util imports it" pk12util -i "$p12" -d "sql:$nss" -w "$tmp/p12pass.txt"
    check "certutil -L" certutil -L -d "sql:$nss"
    contains "NSS: the certificate with its key (u,u,u)" "$tmp/last.out" "alice.localhost"
    grep -F "alice.localhost" "$tmp/last.out" | grep -qF "u,u,u" && ok || bad "NSS: no u,u,u"
    contains "NSS: the intermediate" "$tmp/last.out" "Simple Intermediate CA"
    check "certutil -K" certutil -K -d "sql:$nss"
    contains "NSS: the private key" "$tmp/last.out" "alice.localhost"
else
    bad "pk12util or certutil is missing (tools/setup.sh --test installs libnss3-tools)"
fi

# The server's own files, found beside the certificate; a password file.
printf '%s\n' "$CS_E2E_P12" >"$tmp/p12pass-nl.txt"
check "export the server certificate" export_p12 --cert "$chain/server.pem" \
    --out "$tmp/server.p12" --password-file "$tmp/p12pass-nl.txt" --name web
check "its password is the file's first line" openssl pkcs12 -info -noout -in "$tmp/server.p12" \
    -passin env:CS_E2E_P12

# Refusals: nothing written.
refuse "export without a password" export_p12 --cert "$out/alice.localhost.pem" \
    --out "$tmp/none.p12"
contains "says how to give one" "$tmp/last.out" "--password-env VAR or --password-file FILE"
refuse "export: no password on the command line" export_p12 \
    --cert "$out/alice.localhost.pem" --out "$tmp/none.p12" --password x
refuse "export: an empty password file" export_p12 --cert "$out/alice.localhost.pem" \
    --out "$tmp/none.p12" --password-file "$tmp/empty.txt"
contains "says the password is empty" "$tmp/last.out" "the password is empty"
refuse "export: another certificate's key" export_p12 --cert "$out/alice.localhost.pem" \
    --key "$out/web.localhost.key" --out "$tmp/none.p12" --password-env CS_E2E_P12
contains "mismatch named" "$tmp/last.out" "does not belong to the certificate"
[ ! -e "$tmp/none.p12" ] && ok || bad "a refused export wrote $tmp/none.p12"
p12_before=$(sha256sum <"$p12")
refuse "export over an existing file" export_p12 --cert "$out/alice.localhost.pem" \
    --out "$p12" --password-env CS_E2E_P12
contains "exists named" "$tmp/last.out" "exists, not overwritten (pass --force to replace)"
equal "the existing bundle untouched" "$(sha256sum <"$p12")" "$p12_before"
check "export --force replaces" export_p12 --cert "$out/alice.localhost.pem" --out "$p12" \
    --password-env CS_E2E_P12 --force

# revoke.lua signs CRLs, so it needs the passphrase too: the intermediate's
# for a leaf, the root's (the same one) for the intermediate.
revoke() {
    lua "$repo/scripts/revoke.lua" --out "$chain" "$@"
}
crl_before=$(sha256sum <"$chain/intermediate.crl")
refuse "revoke without the passphrase" revoke --cert "$out/web.localhost.pem"
contains "revoke says how" "$tmp/last.out" "intermediate.key: encrypted private key"
equal "the CRL untouched" "$(sha256sum <"$chain/intermediate.crl")" "$crl_before"
refuse "revoke with a wrong passphrase" revoke --cert "$out/web.localhost.pem" \
    --passphrase-env CS_E2E_WRONG
check "revoke a leaf with the passphrase" revoke --cert "$out/web.localhost.pem" \
    --passphrase-env CS_E2E_PASS
check "revoke the intermediate (root key) with it" revoke --cert "$chain/intermediate.pem" \
    --passphrase-file "$tmp/pass.txt"
contains "signed by the root" "$tmp/last.out" "root CRL: number"

finish
