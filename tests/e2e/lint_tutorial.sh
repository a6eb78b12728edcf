# lint.lua against the tutorial's chain (bench/tutorial/Makefile, the openssl
# steps chainsmith replaces): it must name the P-384 keys signing with SHA-256
# and the leaf's nsCertType; the chain build_chain.lua makes has no error;
# unreadable input is exit status 2 naming the file.
. "$(dirname "$0")/lib.sh"
# The tests' LUA_CPATH names only the module we built; --json also needs the
# system's lua-cjson (";;" adds the default path).
export LUA_CPATH="${LUA_CPATH:-};;"

lint() {
    lua "$repo/scripts/lint.lua" "$@"
}

# run_lint OUT ARGS...: lint.lua's stdout to OUT, stderr to OUT.err; prints the status.
run_lint() {
    local out=$1 status=0
    shift
    lint "$@" >"$out" 2>"$out.err" || status=$?
    echo "$status"
}

# json_check FILE CODE: CODE runs with doc = FILE decoded by lua-cjson.
json_check() {
    lua -e "local doc = require('cjson').decode(io.read('a')); $2" <"$1"
}

# findings FILE N OUT: the "level rule" lines of certificate N of FILE in OUT.
findings() {
    awk -v head="$1 [$2] " 'index($0, head) == 1 { on = 1; next }
        /^[^ ]/ { on = 0 } on && /^  (error|warning) / { print $1, $2 }' "$3" | tr -d ':'
}

tut=$tmp/tutorial
mkdir "$tut"
check "the tutorial's Makefile builds its chain" \
    make -s -C "$tut" -f "$repo/bench/tutorial/Makefile" CONF="$repo/bench/tutorial"

cd "$tut" || exit 1
equal "lint.lua on the tutorial's chain exits 1" \
    "$(run_lint "$tmp/tut.out" root.crt intermediate.crt server.crt)" 1
cp "$tmp/tut.out" "$tmp/tutorial-findings.txt"
contains "P-384 root signed with SHA-256" "$tmp/tut.out" \
    "error cabf-ecdsa-digest-matches-curve: signature: P-384 key signed with SHA256 (use SHA384)"
equal "root: only the digest" "$(findings root.crt 1 "$tmp/tut.out")" \
    "error cabf-ecdsa-digest-matches-curve"
equal "intermediate: short serial, digest" "$(findings intermediate.crt 1 "$tmp/tut.out")" \
    "$(printf '%s\n' "error cabf-serial-entropy" "error cabf-ecdsa-digest-matches-curve")"
equal "server: short serial, nsCertType, keyEncipherment on EC, digest" \
    "$(findings server.crt 1 "$tmp/tut.out")" \
    "$(printf '%s\n' "error cabf-serial-entropy" "error cabf-no-obsolete-extensions" \
        "error rfc5480-ec-key-usage" "error cabf-ecdsa-digest-matches-curve")"
contains "the leaf's nsCertType is named" "$tmp/tut.out" \
    "error cabf-no-obsolete-extensions: nsCertType: obsolete Netscape extension"
contains "the subject heads each certificate" "$tmp/tut.out" \
    "server.crt [1] C=SE, O=Simple Inc, OU=ABC, CN=localhost"

# The served chain file alone: the leaf is checked against the next certificate.
equal "lint.lua on server-chain.crt exits 1" "$(run_lint "$tmp/chain.out" server-chain.crt)" 1
equal "chain file: the leaf against the intermediate" \
    "$(findings server-chain.crt 1 "$tmp/chain.out" | grep -c ecdsa-digest)" 1
contains "chain file: the intermediate's issuer is not given" "$tmp/chain.out" \
    "(issuer not given: the rules that need it were skipped)"

# --json: the same findings, parsed back by lua-cjson.
equal "--json exits 1 too" "$(run_lint "$tmp/tut.json" --json server.crt intermediate.crt)" 1
check "--json is JSON with the leaf's findings" json_check "$tmp/tut.json" '
    local leaf = doc.certificates[1]
    assert(leaf.file == "server.crt" and leaf.subject:find("CN=localhost") and leaf.issuer_known)
    local seen = {}
    for _, x in ipairs(leaf.findings) do seen[x.rule] = x.level end
    assert(seen["cabf-no-obsolete-extensions"] == "error")
    assert(seen["cabf-ecdsa-digest-matches-curve"] == "error")
    assert(#doc.unreadable == 0)'
cd "$tmp" || exit 1

# chainsmith's own chain: no error, no finding at all.
out=$tmp/chain
check "build_chain" build_chain --out "$out"
equal "lint.lua on build_chain.lua's chain exits 0" \
    "$(run_lint "$tmp/ours.out" "$out/root.pem" "$out/intermediate.pem" "$out/server.pem" \
        "$out/server-chain.pem")" 0
lacks "no error in our chain" "$tmp/ours.out" "  error "
lacks "no warning in our chain" "$tmp/ours.out" "  warning "
equal "every certificate has no findings" "$(grep -c '^  no findings$' "$tmp/ours.out")" 5
lint --json "$out/server-chain.pem" >"$tmp/ours.json"
check "--json on our chain is JSON with empty finding lists" json_check "$tmp/ours.json" '
    assert(#doc.certificates == 2)
    for _, c in ipairs(doc.certificates) do
        assert(type(c.findings) == "table" and #c.findings == 0)
    end'

contains "an empty finding list is a JSON array" "$tmp/ours.json" '"findings":[]'

# A DER certificate is read too.
openssl x509 -in "$out/server.pem" -outform DER -out "$tmp/server.der"
equal "a DER certificate lints clean" "$(run_lint "$tmp/der.out" "$tmp/server.der" \
    "$out/intermediate.pem")" 0

# Bad input: exit 2 and the file named; the readable files are still linted.
printf '\x30\x82\x01\x00not a certificate' >"$tmp/bad.der"
equal "malformed DER exits 2" "$(run_lint "$tmp/bad.out" "$tmp/bad.der")" 2
contains "malformed DER is named" "$tmp/bad.out.err" "$tmp/bad.der: not a PEM or DER certificate"
equal "missing file exits 2" "$(run_lint "$tmp/missing.out" "$tmp/nope.pem" "$out/root.pem")" 2
contains "missing file is named" "$tmp/missing.out.err" "$tmp/nope.pem: cannot open"
contains "the other file is still linted" "$tmp/missing.out" "root.pem [1] C=SE"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$tmp/bad.pem"
equal "malformed PEM exits 2" "$(run_lint "$tmp/badpem.out" "$tmp/bad.pem")" 2
contains "malformed PEM is named" "$tmp/badpem.out.err" "$tmp/bad.pem: certificate 1"
equal "no file: usage, exit 2" "$(run_lint "$tmp/usage.out")" 2
contains "no file: usage names the argument" "$tmp/usage.out.err" "missing argument 'files'"
equal "unknown option: exit 2" "$(run_lint "$tmp/opt.out" --jsn x.pem)" 2

finish
