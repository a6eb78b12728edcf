# The default intermediate is name-constrained: build_chain refuses names
# outside its constraints before signing, and the constraint holds past
# the policy: a leaf signed by hand with the intermediate's key for a name
# outside is rejected by OpenSSL and GnuTLS, one inside is accepted.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
check "build_chain" build_chain --out "$out"

openssl x509 -in "$out/intermediate.pem" -noout -text >"$tmp/inter.txt"
contains "nameConstraints is critical" "$tmp/inter.txt" "X509v3 Name Constraints: critical"
for want in "DNS:localhost" "DNS:test" "DNS:internal" "IP:127.0.0.0/255.0.0.0" \
    "IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF" "IP:10.0.0.0/255.0.0.0" \
    "email:.test" "URI:.internal"; do
    contains "intermediate permits $want" "$tmp/inter.txt" "$want"
done
lacks "nothing excluded" "$tmp/inter.txt" "Excluded:"

# sign_by_hand NAME SAN: a leaf for SAN, signed with openssl and the
# intermediate's key, bypassing chainsmith entirely.
sign_by_hand() {
    local name=$1 san=$2
    cat >"$tmp/$name.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tmp/$name.key" -subj "${subj:-/O=By Hand/CN=$name}" -out "$tmp/$name.csr" 2>/dev/null &&
    openssl x509 -req -in "$tmp/$name.csr" -CA "$out/intermediate.pem" \
        -CAkey "$out/intermediate.key" -set_serial "0x$(openssl rand -hex 15)" -days 2 \
        -sha384 -extfile "$tmp/$name.ext" -out "$tmp/$name.pem" 2>/dev/null &&
    cat "$tmp/$name.pem" "$out/intermediate.pem" >"$tmp/$name-chain.pem"
}

openssl_verify() {
    openssl verify -x509_strict -CAfile "$out/root.pem" -untrusted "$out/intermediate.pem" "$1"
}

gnutls_verify() {
    certtool --verify --load-ca-certificate "$out/root.pem" --infile "$1"
}

# Outside the constraints: rejected by both, for the name.
for leaf in "example.com DNS:example.com" "localhost.example.com DNS:localhost.example.com" \
    "public-ip IP:192.0.2.1" "mail-outside email:alice@example.com"; do
    set -- $leaf
    check "sign $1 by hand" sign_by_hand "$1" "$2"
    refuse "openssl verify rejects $1" openssl_verify "$tmp/$1.pem"
    contains "openssl names the violation for $1" "$tmp/last.out" "permitted subtree violation"
    refuse "GnuTLS certtool rejects $1" gnutls_verify "$tmp/$1-chain.pem"
    contains "GnuTLS names the constraint for $1" "$tmp/last.out" \
        "The certificate chain violates the signer's constraints"
done

# Inside: accepted by both, so the rejections above are about the name.
for leaf in "app.test DNS:app.test" "app.localhost DNS:app.localhost" \
    "api.svc.internal DNS:api.svc.internal,IP:10.1.2.3" "loopback IP:127.0.0.2,IP:::1" \
    "mail-inside email:alice@app.test" "spiffe-inside URI:spiffe://app.test/ns/web"; do
    set -- $leaf
    # No CN here: GnuTLS checks the CN of a leaf without DNS names as one.
    case $2 in DNS:*) subj="" ;; *) subj="/O=By Hand" ;; esac
    check "sign $1 by hand" sign_by_hand "$1" "$2"
    check "openssl verify accepts $1" openssl_verify "$tmp/$1.pem"
    check "GnuTLS certtool accepts $1" gnutls_verify "$tmp/$1-chain.pem"
done

# A URI outside: OpenSSL rejects it; GnuTLS (3.7) does not check URI
# constraints at all, so chainsmith's own check before signing is what
# holds there.
check "sign a URI outside by hand" sign_by_hand spiffe-outside "URI:spiffe://example.com/ns/web"
refuse "openssl verify rejects a URI outside" openssl_verify "$tmp/spiffe-outside.pem"
contains "openssl names the violation" "$tmp/last.out" "permitted subtree violation"

# Why chainsmith checks a CN when there is no DNS name: GnuTLS does, so a
# leaf with only an IP and a CN outside the DNS constraints fails there.
subj="/O=By Hand/CN=loopback"
check "sign an IP-only leaf with a bare CN" sign_by_hand cn-loopback "IP:127.0.0.2"
check "openssl accepts it" openssl_verify "$tmp/cn-loopback.pem"
refuse "GnuTLS rejects it for the CN" gnutls_verify "$tmp/cn-loopback-chain.pem"
unset subj

# The default server chain still verifies, for its names.
check "server chain verifies" openssl verify -x509_strict -purpose sslserver \
    -verify_hostname localhost -verify_ip ::1 -CAfile "$out/root.pem" \
    -untrusted "$out/intermediate.pem" "$out/server.pem"
check "GnuTLS verifies the server chain" certtool --verify --verify-hostname localhost \
    --load-ca-certificate "$out/root.pem" --infile "$out/server-chain.pem"

# Policy refuses before signing: a server profile for example.com stops
# the build, names the rule, and writes nothing.
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"
sed -i 's/"localhost"/"example.com"/g' "$profiles/server.lua"
snapshot=$(cd "$out" && sha256sum ./*.pem ./*.key ca.db)
refuse "build_chain refuses example.com" build_chain --out "$out" --profiles "$profiles"
contains "the refusal names name, constraints and rule" "$tmp/last.out" \
    "profile server: subject_alt_name: DNS:example.com is outside the permitted DNS names (localhost, test, internal) (issuer intermediate, rule issuer-name-constraints)"
equal "nothing changed after the refusal" "$(cd "$out" && sha256sum ./*.pem ./*.key ca.db)" \
    "$snapshot"
refuse "refused in a new folder too" build_chain --out "$tmp/never" --profiles "$profiles"
[ ! -e "$tmp/never" ] && ok || bad "a refused build created its folder"

# Widening the profile rolls the intermediate under the same root (issue
# 10 §2), and the leaf is checked against the new one, which permits it.
cp "$repo/scripts/profiles/intermediate.lua" "$profiles/intermediate.lua"
sed -i 's/dns = { "localhost", "test", "internal" }/dns = { "localhost", "test", "internal", "example.com" }/' \
    "$profiles/intermediate.lua"
root_fp=$(fingerprint "$out/root.pem")
check "a widened intermediate.lua rolls the intermediate" build_chain --out "$out" \
    --profiles "$profiles"
contains "the roll names the change" "$tmp/last.out" \
    "intermediate: re-issued (its profile changed: name_constraints.permitted.dns differs from the profile)"
equal "the root stays" "$(fingerprint "$out/root.pem")" "$root_fp"
check "the widened chain verifies example.com" openssl verify -x509_strict \
    -verify_hostname example.com -CAfile "$out/root.pem" \
    -untrusted "$out/intermediate.pem" "$out/server.pem"

# An intermediate from before the constraints is rolled under the same
# root, to one with them. It is made here by a profile that extends the
# shipped one and drops name_constraints.
old=$tmp/old-profiles
cp -r "$repo/scripts/profiles" "$old"
mv "$old/intermediate.lua" "$old/constrained.lua"
printf 'return { extends = "constrained", name_constraints = false }\n' >"$old/intermediate.lua"
check "build with an unconstrained intermediate" build_chain --out "$tmp/old" --profiles "$old"
openssl x509 -in "$tmp/old/intermediate.pem" -noout -text >"$tmp/old-inter.txt"
lacks "the old intermediate has no constraints" "$tmp/old-inter.txt" "Name Constraints"
root_fp=$(fingerprint "$tmp/old/root.pem")
check "rebuild with the shipped profiles" build_chain --out "$tmp/old"
contains "the roll says the constraints were missing" "$tmp/last.out" \
    "intermediate: re-issued (its profile changed: it has no name constraints, the profile asks for them)"
equal "the root is kept" "$(fingerprint "$tmp/old/root.pem")" "$root_fp"
openssl x509 -in "$tmp/old/intermediate.pem" -noout -text >"$tmp/old-inter.txt"
contains "the roll brings the constraints" "$tmp/old-inter.txt" "X509v3 Name Constraints: critical"

finish
