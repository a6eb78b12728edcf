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
equal "each fails, invalid" "$(grep -c ': nil invalid ' "$tmp/loads.out")" 6
# an encrypted private key is not malformed, only locked
equal "an encrypted key is locked" "$(grep -c '^load_key .*: nil locked ' "$tmp/loads.out")" 2
contains "an encrypted key read as public says so" "$tmp/loads.out" \
    "load_public_key enc-pkcs8.pem: nil invalid public key: encrypted"
check "inspect an encrypted key" in_pty "$LUA $repo/scripts/inspect.lua $tmp/enc-trad.pem"
lacks "inspect asks nothing" "$tmp/last.out" "pass phrase"
refuse "inspect a certificate with encrypted headers" in_pty \
    "$LUA $repo/scripts/inspect.lua $tmp/enc-cert.pem; exit \$?"
lacks "inspect asks nothing (certificate)" "$tmp/last.out" "pass phrase"

# A BER certificate (indefinite length, or a length in more octets than it
# needs) parsed, and inspect and lint said nothing and exited 0.
openssl x509 -in "$tmp/cert.pem" -outform DER -out "$tmp/cert.der"
cat >"$tmp/ber.lua" <<'EOF'
package.path = arg[1] .. "/tests/lua/?.lua;" .. package.path
local h = require "hostile"
local f = assert(io.open(arg[2] .. "/cert.der", "rb"))
local der = f:read("a")
f:close()
local function write(name, data)
    local out = assert(io.open(arg[2] .. "/" .. name, "wb"))
    out:write(data)
    out:close()
end
write("indefinite.der", h.indefinite(der))
-- 30 82 LL LL: the same length in three octets, 30 83 00 LL LL
assert(der:byte(2) == 0x82)
write("long.der", "\x30\x83\x00" .. der:sub(3))
EOF
lua "$tmp/ber.lua" "$repo" "$tmp"
for f in indefinite long; do
    { echo "-----BEGIN CERTIFICATE-----"; base64 -w 64 "$tmp/$f.der"
      echo "-----END CERTIFICATE-----"; } >"$tmp/$f.pem"
    check "openssl reads $f.der (it accepts BER)" \
        openssl x509 -inform DER -in "$tmp/$f.der" -noout
    for form in der pem; do
        for cmd in inspect lint; do
            refuse "$cmd refuses $f.$form" lua "$repo/scripts/$cmd.lua" "$tmp/$f.$form"
            contains "$cmd: says not DER ($f.$form)" "$tmp/last.out" "not DER"
            equal "$cmd: one line ($f.$form)" "$(wc -l <"$tmp/last.out")" 1
        done
    done
done
check "inspect reads the DER one" lua "$repo/scripts/inspect.lua" "$tmp/cert.der"
lua "$repo/scripts/lint.lua" "$tmp/cert.der" >"$tmp/last.out" 2>&1
contains "lint reads the DER one (and finds openssl's CA without keyUsage)" "$tmp/last.out" \
    "CN=a.test"
cat "$tmp/indefinite.pem" "$tmp/cert.pem" >"$tmp/two.pem"
check "read_chain names the certificate" lua -e "local c, e, code = require('pki').read_chain('$tmp/two.pem')
    assert(c == nil and e:find('certificate 1: not DER', 1, true), e)
    assert(code == 'unsupported', code)"

finish
