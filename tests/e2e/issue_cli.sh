# issue.lua: from names and from openssl CSRs (PEM and DER), the files and
# their modes, openssl verify of the result; refusals leave nothing written.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" "$@"
}
# records: how many certificates ca.db holds.
cat >"$tmp/count.lua" <<'EOF'
local pki = require "pki"
local store <close> = assert(pki.open_store(arg[1]))
print(store:count())
EOF
records() {
    lua "$tmp/count.lua" "$chain/ca.db"
}
verify() {
    openssl verify -x509_strict -CAfile "$chain/root.pem" -untrusted "$chain/intermediate.pem" "$@"
}
mode() {
    stat -c %a "$1"
}

refuse "no chain yet" issue --profile client --name a.localhost --out "$tmp/none"
contains "says what to run" "$tmp/last.out" "run build_chain.lua first"
[ ! -e "$tmp/none" ] && ok || bad "nothing written without a chain"

check "build the chain" build_chain --out "$chain"
base=$(records)

# From names: a key is generated, and written 0600 beside the certificate.
out=$tmp/names
check "issue from names" issue --profile client --name alice.localhost --name alice@localhost \
    --out "$out"
cp "$tmp/last.out" "$tmp/names.out"
contains "summary: SANs" "$tmp/names.out" "DNS:alice.localhost, EMAIL:alice@localhost"
contains "summary: serial" "$tmp/names.out" "serial"
contains "summary: files" "$tmp/names.out" "$out/alice.localhost.pem"
equal "key mode" "$(mode "$out/alice.localhost.key")" 600
equal "certificate mode" "$(mode "$out/alice.localhost.pem")" 644
check "the certificate verifies against the root" verify "$out/alice.localhost.pem"
check "as a TLS client certificate" verify -purpose sslclient "$out/alice.localhost.pem"
refuse "not as a TLS server certificate" verify -purpose sslserver "$out/alice.localhost.pem"
check "the chain file verifies" openssl verify -x509_strict -CAfile "$chain/root.pem" \
    -untrusted "$out/alice.localhost-chain.pem" "$out/alice.localhost.pem"
equal "the chain file is leaf + intermediate" \
    "$(grep -c 'BEGIN CERTIFICATE' "$out/alice.localhost-chain.pem")" 2
openssl x509 -in "$out/alice.localhost.pem" -noout -text >"$tmp/alice.txt"
contains "client profile: clientAuth" "$tmp/alice.txt" "TLS Web Client Authentication"
lacks "client profile: no serverAuth" "$tmp/alice.txt" "TLS Web Server Authentication"
equal "key matches certificate" "$(openssl pkey -in "$out/alice.localhost.key" -pubout)" \
    "$(openssl x509 -in "$out/alice.localhost.pem" -noout -pubkey)"
equal "one record more" "$(records)" $((base + 1))

fp=$(fingerprint "$out/alice.localhost.pem")
refuse "existing files are not overwritten" issue --profile client --name alice.localhost \
    --out "$out"
contains "names the file" "$tmp/last.out" "alice.localhost"
contains "says the command's option" "$tmp/last.out" "exists, not overwritten (pass --force to replace)"
lacks "not the Lua option" "$tmp/last.out" "overwrite = true"
equal "the certificate is untouched" "$(fingerprint "$out/alice.localhost.pem")" "$fp"
equal "no record for the refused issue" "$(records)" $((base + 1))
check "--force replaces them" issue --profile client --name alice.localhost --out "$out" --force
[ "$(fingerprint "$out/alice.localhost.pem")" != "$fp" ] && ok || bad "--force wrote a new one"

# From CSRs made by openssl req: the key never leaves its owner.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/bob.key" \
    -out "$tmp/bob.csr" -subj /CN=bob.localhost -addext subjectAltName=DNS:bob.localhost \
    2>/dev/null
openssl req -in "$tmp/bob.csr" -outform DER -out "$tmp/bob.der"
for form in csr der; do
    out=$tmp/csr-$form
    check "issue from a $form CSR" issue --profile client --csr "$tmp/bob.$form" --out "$out"
    check "$form: verifies" verify "$out/bob.localhost.pem"
    [ ! -e "$out/bob.localhost.key" ] && ok || bad "$form: no key written for a CSR"
    equal "$form: the CSR's key is certified" "$(openssl pkey -in "$tmp/bob.key" -pubout)" \
        "$(openssl x509 -in "$out/bob.localhost.pem" -noout -pubkey)"
done

# Refusals: the reason, exit 1, no file and no record.
n=$(records)
nothing_written() {
    [ ! -e "$1" ] && ok || bad "$2: $1 was written"
    equal "$2: no record" "$(records)" "$n"
}
refuse "example.com under the default chain" issue --profile server --name example.com \
    --out "$tmp/r1"
contains "names the rule" "$tmp/last.out" \
    "name example.com: outside the nameConstraints of"
contains "names the rule" "$tmp/last.out" "(rule name-constraints)"
nothing_written "$tmp/r1" "example.com"

refuse "validity over the maximum" issue --profile server --name localhost --days 31 \
    --out "$tmp/r2"
contains "validity refusal" "$tmp/last.out" "validity_days: 31 days is more than the 30"
nothing_written "$tmp/r2" "validity"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
    -out "$tmp/ca.csr" -subj /CN=ca.localhost -addext basicConstraints=critical,CA:TRUE \
    2>/dev/null
refuse "CA:TRUE requested" issue --profile server --csr "$tmp/ca.csr" --out "$tmp/r3"
contains "CA:TRUE refusal" "$tmp/last.out" "(rule no-ca-request)"
nothing_written "$tmp/r3" "CA:TRUE"

# The subject changed after signing: the CSR parses, its signature fails.
cat >"$tmp/forge.lua" <<'EOF'
local f = assert(io.open(arg[1], "rb"))
local der = f:read("a")
f:close()
f = assert(io.open(arg[2], "wb"))
f:write((der:gsub("bob", "bOb", 1)))
f:close()
EOF
lua "$tmp/forge.lua" "$tmp/bob.der" "$tmp/forged.der"
refuse "forged CSR" issue --profile client --csr "$tmp/forged.der" --out "$tmp/r4"
contains "forged CSR names the file" "$tmp/last.out" "$tmp/forged.der"
contains "forged CSR: proof of possession" "$tmp/last.out" "CSR signature does not verify"
nothing_written "$tmp/r4" "forged"

head -c 40 "$tmp/bob.der" >"$tmp/short.der"
refuse "malformed DER CSR" issue --profile client --csr "$tmp/short.der" --out "$tmp/r5"
contains "malformed CSR names the file" "$tmp/last.out" "$tmp/short.der"
nothing_written "$tmp/r5" "malformed"

refuse "wildcard in the wrong place" issue --profile server --name 'a.*.localhost' \
    --out "$tmp/r6"
contains "wildcard refusal names the name" "$tmp/last.out" "a.*.localhost"
nothing_written "$tmp/r6" "wildcard"

refuse "neither --csr nor --name" issue --profile server --out "$tmp/r7"
contains "usage error" "$tmp/last.out" "give --csr FILE or at least one --name NAME"
refuse "both --csr and --name" issue --profile server --csr "$tmp/bob.csr" --name a.localhost \
    --out "$tmp/r7"
nothing_written "$tmp/r7" "usage"

# A wildcard, under a profile that allows it: the file is named for it.
cp -r "$repo/scripts/profiles" "$tmp/profiles"
echo 'return { extends = "server", allow_wildcard = true }' >"$tmp/profiles/wild.lua"
check "a wildcard with allow_wildcard" issue --profiles "$tmp/profiles" --profile wild \
    --name '*.app.localhost' --out "$tmp/wild"
check "the wildcard verifies" verify "$tmp/wild/wildcard.app.localhost.pem"
openssl x509 -in "$tmp/wild/wildcard.app.localhost.pem" -noout -ext subjectAltName \
    >"$tmp/wild.txt"
contains "the wildcard SAN" "$tmp/wild.txt" "DNS:*.app.localhost"
n=$(records)

# A policy file: the README's client example refuses other names.
cat >"$tmp/policy.lua" <<EOF
local policy = require "policy"
policy.issuance.profiles.client = { allow = { ".clients.localhost" }, max_validity_days = 7 }
return policy
EOF
refuse "a name outside the policy" issue --policy "$tmp/policy.lua" --profile client \
    --name bob.localhost --out "$tmp/r8"
contains "policy refusal" "$tmp/last.out" \
    "name bob.localhost: not allowed for profile client (rule client.allow)"
nothing_written "$tmp/r8" "policy"
check "a name inside the policy" issue --policy "$tmp/policy.lua" --profile client \
    --name a.clients.localhost --out "$tmp/p"
check "and it verifies" verify "$tmp/p/a.clients.localhost.pem"

finish
