# Progress on slow work: issuing with an RSA 4096 key and exporting a
# PKCS#12 file say what they are doing on stderr, one line, when stderr is a
# terminal (run under script(1)'s pty); nothing of it in a log or a pipe.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"
cat >"$profiles/rsa.lua" <<'P'
return { extends = "server", description = "RSA 4096 server",
    key = { type = "rsa", bits = 4096, curve = false } }
P
check "build" build_chain --out "$chain" --profiles "$profiles"
# pty CMD...: CMD with stdin, stdout and stderr on a terminal, its output here
pty() {
    local cmd="LD_PRELOAD=$lua_preload" a
    for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
    script -qec "$cmd" /dev/null
}
issue() {
    "$LUA" "$repo/scripts/issue.lua" --chain "$chain" --profiles "$profiles" --profile rsa \
        --out "$tmp/issued" "$@"
}

pty "$LUA" "$repo/scripts/issue.lua" --chain "$chain" --profiles "$profiles" --profile rsa \
    --out "$tmp/issued" --name web.test >"$tmp/tty.out" 2>&1
contains "terminal: the RSA note" "$tmp/tty.out" "generating an RSA 4096 key…"
equal "terminal: one note" "$(grep -c 'generating' "$tmp/tty.out")" 1
contains "terminal: then issued" "$tmp/tty.out" "issued under profile rsa"
LD_PRELOAD=$lua_preload issue --name web2.test >"$tmp/log.out" 2>&1
equal "log: issued" "$?" 0
lacks "log: no note" "$tmp/log.out" "generating"
equal "the key is RSA 4096" \
    "$(openssl x509 -in "$tmp/issued/web2.test.pem" -noout -text | grep -c 'Public-Key: (4096 bit)')" 1

# an EC key is quick: no note even on a terminal
pty "$LUA" "$repo/scripts/issue.lua" --chain "$chain" --profiles "$profiles" --profile server \
    --out "$tmp/issued" --name ec.test >"$tmp/ec.out" 2>&1
lacks "EC: no note" "$tmp/ec.out" "generating"

printf 'secret-pass\n' >"$tmp/pw"
pty "$LUA" "$repo/scripts/export.lua" --cert "$tmp/issued/ec.test.pem" --out "$tmp/ec.p12" \
    --password-file "$tmp/pw" >"$tmp/p12.out" 2>&1
contains "export: the PBKDF2 note" "$tmp/p12.out" "deriving the PKCS#12 keys (PBKDF2)…"
check "export: written" test -s "$tmp/ec.p12"
lua "$repo/scripts/export.lua" --cert "$tmp/issued/ec.test.pem" --out "$tmp/ec2.p12" \
    --password-file "$tmp/pw" >"$tmp/p12log.out" 2>&1
lacks "export log: no note" "$tmp/p12log.out" "deriving"

finish
