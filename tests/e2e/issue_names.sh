# Issue 10 through the commands: what issue.lua refuses, how inspect.lua and
# lint.lua show hostile names; nothing written on a refusal.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
issue() {
    lua "$repo/scripts/issue.lua" --chain "$chain" "$@"
}
check "build the chain" build_chain --out "$chain"
[ -s "$chain/ocsp.pem" ] && ok || bad "build_chain makes the OCSP responder"

# §1: a delegated OCSP signer from issue.lua could forge status answers.
refuse "no OCSP signer from issue.lua" issue --profile ocsp --name ocsp2.test --out "$tmp/o"
contains "names the rule" "$tmp/last.out" "(rule no-ocsp-signer)"
[ ! -e "$tmp/o" ] && ok || bad "nothing written for a refused OCSP signer"

# §8: an IPv4-only certificate could not be issued: its CN (the IP) was
# checked as a DNS name against the intermediate's nameConstraints.
for req in "server 10.1.2.3" "server 127.0.0.2" "client 10.9.9.9" "server ::1"; do
    set -- $req
    check "issue $1 for $2 alone" issue --profile "$1" --name "$2" --out "$tmp/ip"
    base=$tmp/ip/$(echo "$2" | tr ':' '_')
    check "openssl verifies $2" openssl verify -x509_strict -CAfile "$chain/root.pem" \
        -untrusted "$chain/intermediate.pem" -verify_ip "$2" "$base.pem"
    check "GnuTLS verifies $2" certtool --verify --load-ca-certificate "$chain/root.pem" \
        --infile "$base-chain.pem"
    contains "GnuTLS: trusted" "$tmp/last.out" "Verified. The certificate is trusted"
    openssl x509 -in "$base.pem" -noout -subject -ext subjectAltName >"$tmp/ip.txt"
    lacks "$2 is not the CN" "$tmp/ip.txt" "CN"
done

# §8: --days 0x10 was 16 days (tonumber reads hex): decimal digits only.
for d in 0x10 1e1 7.0 " 7" +7 0 99999999999999999999; do
    refuse "--days '$d' refused" issue --profile server --name days.localhost --days "$d" \
        --out "$tmp/d"
    contains "--days '$d': says why" "$tmp/last.out" \
        "--days: expected a whole number >= 1 in decimal digits, got '$d'"
done
[ ! -e "$tmp/d" ] && ok || bad "nothing written for a bad --days"
check "--days 16" issue --profile server --name days.localhost --days 16 --out "$tmp/d"
equal "16 days" "$(openssl x509 -in "$tmp/d/days.localhost.pem" -noout -dates |
    sed 's/.*=//' | while read -r t; do date -d "$t" +%s; done |
    { read -r a; read -r b; echo $(((b - a) / 86400)); })" 16

# Hostile files, signed for real (tests/lua/hostile.lua): ESC and a newline
# in a CN, a NUL inside a DNS name.
cat >"$tmp/hostile.lua" <<'EOF'
package.path = arg[1] .. "/tests/lua/?.lua;" .. package.path
local h = require "hostile"
local dir = arg[2]
local key = dir .. "/k.pem"
local function run(cmd)
    assert(os.execute("env -u LD_PRELOAD " .. cmd))
end
run(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s"):format(key))
-- make(out, kind, cn, san, from, to): openssl's request or leaf, patched.
local function make(out, kind, cn, san, from, to)
    local der = dir .. "/x.der"
    run(("openssl req %s -key %s -subj '/CN=%s' %s -outform DER -out %s"):format(
        kind == "cert" and "-x509 -addext basicConstraints=critical,CA:FALSE "
            .. "-addext extendedKeyUsage=serverAuth" or "-new",
        key, cn, san and ("-addext subjectAltName=DNS:" .. san) or "", der))
    local f = assert(io.open(der, "rb"))
    local data = f:read("a")
    f:close()
    while data:find(from, 1, true) do
        data = h.patch(data, from, to, key, dir)
    end
    f = assert(io.open(dir .. "/" .. out, "wb"))
    f:write(data)
    f:close()
end
make("esc.der", "cert", "evil_[2J_line", "x.test", "evil_[2J_line", "evil\27[2J\nline")
make("esc-csr.der", "csr", "evil_[2J_line", "esc.localhost", "evil_[2J_line", "evil\27[2J\nline")
make("nul.der", "cert", "good.test", "good.test_.evil.com", "good.test_.evil.com",
    "good.test\0.evil.com")
make("nul-csr.der", "csr", "good.test", "good.test_.evil.com", "good.test_.evil.com",
    "good.test\0.evil.com")
EOF
lua "$tmp/hostile.lua" "$repo" "$tmp"
# clean NAME FILE: FILE holds no control character but newline and tab.
clean() {
    if LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$2"; then
        bad "$1: control characters in:"; cat -A "$2" | sed 's/^/    /' >&2
    else
        ok
    fi
}

# §8: ESC [2J and a newline in a CN are shown escaped by inspect and lint.
check "inspect a CN with ESC" lua "$repo/scripts/inspect.lua" "$tmp/esc.der"
clean "inspect: nothing raw" "$tmp/last.out"
contains "inspect: the CN escaped, on one line" "$tmp/last.out" 'CN=evil\x1b[2J\x0aline'
check "inspect --json a CN with ESC" lua "$repo/scripts/inspect.lua" --json "$tmp/esc.der"
clean "inspect --json: nothing raw" "$tmp/last.out"
contains "inspect --json: the CN escaped" "$tmp/last.out" 'CN=evil\\x1b[2J\\x0aline'
refuse "lint a CN not in the SAN" lua "$repo/scripts/lint.lua" "$tmp/esc.der"
clean "lint: nothing raw" "$tmp/last.out"
contains "lint: the CN escaped" "$tmp/last.out" 'evil\x1b[2J\x0aline'
refuse "issue: a name with ESC" issue --profile server --name "$(printf '\033[2Jx.localhost')" \
    --out "$tmp/e"
clean "issue: nothing raw" "$tmp/last.out"
contains "issue: the name escaped" "$tmp/last.out" "DNS name '\\x1b[2Jx.localhost'"
[ ! -e "$tmp/e" ] && ok || bad "nothing written for a name with ESC"

# §1: a NUL inside a name was cut at: issued as DNS:good.test, shown clean.
check "inspect a SAN with a NUL" lua "$repo/scripts/inspect.lua" "$tmp/nul.der"
clean "inspect: no NUL" "$tmp/last.out"
contains "inspect: the SAN escaped" "$tmp/last.out" 'DNS:good.test\x00.evil.com'
check "inspect --json a SAN with a NUL" lua "$repo/scripts/inspect.lua" --json "$tmp/nul.der"
contains "inspect --json: the SAN escaped" "$tmp/last.out" '"good.test\\x00.evil.com"'
lacks "inspect --json: not the clean name" "$tmp/last.out" '"value":"good.test"'
refuse "issue: a CSR with a NUL in a SAN" issue --profile server --csr "$tmp/nul-csr.der" \
    --out "$tmp/n"
contains "issue: names the field, escaped" "$tmp/last.out" \
    "subjectAltName DNS name 'good.test\\x00.evil.com': control characters"
[ ! -e "$tmp/n" ] && ok || bad "nothing written for a CSR with a NUL"
refuse "issue: a CSR with ESC in its CN" issue --profile server --csr "$tmp/esc-csr.der" \
    --out "$tmp/n"
clean "issue: the CN not raw" "$tmp/last.out"
contains "issue: names the CN, escaped" "$tmp/last.out" "subject CN 'evil\\x1b[2J\\x0aline'"
[ ! -e "$tmp/n" ] && ok || bad "nothing written for a CSR with ESC"

finish
