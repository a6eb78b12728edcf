# Issue 10 §8: files that made the library prompt on the terminal or passed
# for certificates. Under a pseudo-terminal (script), nothing may ask for a
# pass phrase: each load fails at once with one line.
. "$(dirname "$0")/lib.sh"

key=$tmp/key.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
openssl pkey -in "$key" -aes256 -passout pass:secret -out "$tmp/enc-pkcs8.pem"
openssl ec -in "$key" -aes128 -passout pass:secret -out "$tmp/enc-trad.pem" 2>/dev/null
grep -q "Proc-Type: 4,ENCRYPTED" "$tmp/enc-trad.pem" && ok || bad "a traditional encrypted key"
openssl req -x509 -key "$key" -subj /CN=a.test -out "$tmp/cert.pem"
openssl req -new -key "$key" -subj /CN=a.test -out "$tmp/csr.pem"
# PEM whose headers say encrypted: OpenSSL asks for the pass phrase before
# it looks at what is inside.
encrypted_pem() {
    printf -- '-----BEGIN %s-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,%s\n\n' \
        "$1" 00112233445566778899AABBCCDDEEFF
    sed '1d;$d' "$2"
    printf -- '-----END %s-----\n' "$1"
}
encrypted_pem CERTIFICATE "$tmp/cert.pem" >"$tmp/enc-cert.pem"
encrypted_pem "CERTIFICATE REQUEST" "$tmp/csr.pem" >"$tmp/enc-csr.pem"
encrypted_pem "X509 CRL" "$tmp/cert.pem" >"$tmp/enc-crl.pem"
encrypted_pem "PUBLIC KEY" "$tmp/cert.pem" >"$tmp/enc-pub.pem"

cat >"$tmp/loads.lua" <<'EOF'
local pki = require "pki"
local dir = arg[1]
local function read(name)
    local f = assert(io.open(dir .. "/" .. name, "rb"))
    local s = f:read("a")
    f:close()
    return s
end
for _, case in ipairs {
    { "load_public_key", "enc-pkcs8.pem" }, { "load_public_key", "enc-trad.pem" },
    { "load_public_key", "enc-pub.pem" }, { "load_key", "enc-pkcs8.pem" },
    { "load_key", "enc-trad.pem" }, { "load_cert", "enc-cert.pem" },
    { "load_csr", "enc-csr.pem" }, { "load_crl", "enc-crl.pem" },
} do
    local r, err, code = pki[case[1]](read(case[2]))
    print(("%s %s: %s %s %s"):format(case[1], case[2], tostring(r), code, err))
end
EOF
# in_pty CMD: CMD on a pseudo-terminal, stdin at end of file, at most 20 s.
in_pty() {
    LD_PRELOAD=$lua_preload timeout 20 script -qec "$*" /dev/null </dev/null
}
check "every load returns" in_pty "$LUA $tmp/loads.lua $tmp"
cp "$tmp/last.out" "$tmp/loads.out"
lacks "no pass phrase asked" "$tmp/loads.out" "pass phrase"
equal "each fails, invalid" "$(grep -c ': nil invalid ' "$tmp/loads.out")" 8
contains "an encrypted key read as public says so" "$tmp/loads.out" \
    "load_public_key enc-pkcs8.pem: nil invalid public key: encrypted"
check "inspect an encrypted key" in_pty "$LUA $repo/scripts/inspect.lua $tmp/enc-trad.pem"
lacks "inspect asks nothing" "$tmp/last.out" "pass phrase"
refuse "inspect a certificate with encrypted headers" in_pty \
    "$LUA $repo/scripts/inspect.lua $tmp/enc-cert.pem; exit \$?"
lacks "inspect asks nothing (certificate)" "$tmp/last.out" "pass phrase"

finish
