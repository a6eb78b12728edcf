# One vocabulary across the scripts (issue 10 §3): every script has -h/--help,
# --version and exit 2 on a usage error; --chain DIR names the chain folder
# wherever one is read (--out only as an alias note); --json prints one JSON
# document; `-` reads stdin for inspect, lint and issue --csr.
. "$(dirname "$0")/lib.sh"

scripts="build_chain serve issue revoke renew trust export profiles inspect lint list env"
# The scripts that read the folder build_chain.lua writes.
chain_readers="build_chain serve issue revoke renew trust list"
version=$(lua -e 'package.cpath = os.getenv("CS_BUILD_DIR") .. "/?.so;" .. package.cpath
                  print(require("pki").version)')

for s in $scripts; do
    check "$s --help" lua "$repo/scripts/$s.lua" --help
    cp "$tmp/last.out" "$tmp/$s.help"
    contains "$s --help shows -h, --help" "$tmp/$s.help" "-h, --help"
    contains "$s --help shows --version" "$tmp/$s.help" "--version"
    contains "$s --help states the exit codes" "$tmp/$s.help" \
        "Exit status: 0 done, 1 failed, 2 usage"
    check "$s -h" lua "$repo/scripts/$s.lua" -h
    check "$s --version" lua "$repo/scripts/$s.lua" --version
    equal "$s --version prints the version" "$(cat "$tmp/last.out")" "chainsmith $version"
    lua "$repo/scripts/$s.lua" --no-such-flag >"$tmp/last.out" 2>&1
    equal "$s: an unknown flag is exit 2 (usage)" "$?" 2
    contains "$s: an unknown flag is named" "$tmp/last.out" "unknown option '--no-such-flag'"
    # --out is never the chain folder but as the note on the older spelling
    # (past the usage lines: an --out option says what it writes)
    sed -n '/^Options:/,$p' "$tmp/$s.help" | grep -E -- "--out( |$)" \
        | grep -v "older spelling" | grep -vE "^   --out [A-Z]+ +.*(write|written)" >"$tmp/outs"
    if [ -s "$tmp/outs" ]; then
        bad "$s --help: --out used for something else than what the command writes:"
        cat "$tmp/outs" >&2
    else
        ok
    fi
done
for s in $chain_readers; do
    contains "$s reads the chain folder as --chain DIR" "$tmp/$s.help" "--chain DIR"
done
for s in build_chain renew trust revoke; do
    contains "$s notes its --out alias" "$tmp/$s.help" "(--out DIR: the older spelling"
done
# A usage error found after parsing is exit 2 too.
lua "$repo/scripts/issue.lua" --profile server >"$tmp/last.out" 2>&1
equal "issue without --name or --csr is exit 2" "$?" 2
lua "$repo/scripts/trust.lua" status --store nope >"$tmp/last.out" 2>&1
equal "trust --store nope is exit 2" "$?" 2

# JSON: one document on stdout, parsed by python3.
json() {
    python3 -c 'import json,sys; json.load(sys.stdin)' <"$1" && ok \
        || { bad "$2: not one JSON document:"; sed 's/^/    /' "$1" >&2; }
}
chain=$tmp/chain
lua "$repo/scripts/build_chain.lua" --chain "$chain" --json >"$tmp/build.json" 2>"$tmp/err"
equal "build_chain --chain --json exit" "$?" 0
json "$tmp/build.json" "build_chain --json"
contains "build_chain --json lists the server" "$tmp/build.json" '"name":"server"'
# the old spelling still works, and a second run keeps everything
check "build_chain --out (alias)" lua "$repo/scripts/build_chain.lua" --out "$chain" --json
json "$tmp/last.out" "build_chain --out --json"
contains "a rebuild keeps the root" "$tmp/last.out" '"action":"kept"'
lua "$repo/scripts/issue.lua" --chain "$chain" --profile client --name a.localhost \
    --out "$tmp/issued" --json >"$tmp/issue.json"
equal "issue --json exit" "$?" 0
json "$tmp/issue.json" "issue --json"
contains "issue --json names the files" "$tmp/issue.json" "a.localhost.pem"
serial=$(openssl x509 -in "$tmp/issued/a.localhost.pem" -noout -serial | cut -d= -f2)
lua "$repo/scripts/revoke.lua" --chain "$chain" --serial "$serial" --json >"$tmp/revoke.json"
equal "revoke --json exit" "$?" 0
json "$tmp/revoke.json" "revoke --json"
contains "revoke --json has the CRL number" "$tmp/revoke.json" '"number":'
lua "$repo/scripts/revoke.lua" --out "$chain" --serial "$serial" >"$tmp/last.out" 2>&1
equal "revoke --out (alias) again: already revoked, exit 4" "$?" 4
check "profiles --json" lua "$repo/scripts/profiles.lua" --json
json "$tmp/last.out" "profiles --json"
contains "profiles --json lists server" "$tmp/last.out" '"name":"server"'
check "trust status --chain --json" lua "$repo/scripts/trust.lua" status --chain "$chain" \
    --store java --java-keystore "$tmp/none.jks" --json
json "$tmp/last.out" "trust status --json"
check "list --json" lua "$repo/scripts/list.lua" --chain "$chain" --json
json "$tmp/last.out" "list --json"
PASS=secret-pw check "export --json" lua "$repo/scripts/export.lua" \
    --cert "$tmp/issued/a.localhost.pem" --out "$tmp/a.p12" --password-env PASS --json
json "$tmp/last.out" "export --json"

# `-` is stdin, with the same answers as the file.
lua "$repo/scripts/inspect.lua" --json - <"$chain/server-chain.pem" >"$tmp/stdin.json"
equal "inspect - exit" "$?" 0
lua "$repo/scripts/inspect.lua" --json "$chain/server-chain.pem" >"$tmp/file.json"
# Compared without the file's name, and without the seconds left, which tick
# between the two runs on a loaded machine.
same='s/"file":"[^"]*",\{0,1\}//; s/"seconds_left":-\{0,1\}[0-9]*,\{0,1\}//g'
equal "inspect - reads what the file holds" "$(sed "$same" "$tmp/stdin.json")" \
    "$(sed "$same" "$tmp/file.json")"
lua "$repo/scripts/inspect.lua" - </dev/null >"$tmp/last.out" 2>&1
equal "inspect - on empty stdin is exit 2" "$?" 2
contains "inspect - on empty stdin says so" "$tmp/last.out" "stdin is empty"
lua "$repo/scripts/lint.lua" --json - <"$chain/server-chain.pem" >"$tmp/lint.json"
equal "lint - exit" "$?" 0
json "$tmp/lint.json" "lint --json -"
contains "lint - checks the server against the intermediate" "$tmp/lint.json" \
    '"index":2'
openssl x509 -in "$chain/root.pem" -outform DER | lua "$repo/scripts/lint.lua" - \
    >"$tmp/last.out" 2>&1
equal "lint - reads DER" "$?" 0
head -c 5000000 /dev/zero | lua "$repo/scripts/lint.lua" - >"$tmp/last.out" 2>&1
equal "lint - past the cap is exit 2" "$?" 2
contains "lint - past the cap says so" "$tmp/last.out" "stdin is larger than"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/b.key" \
    -subj /CN=b.localhost -addext subjectAltName=DNS:b.localhost -out "$tmp/b.csr" 2>/dev/null
lua "$repo/scripts/issue.lua" --chain "$chain" --profile client --csr - --out "$tmp/issued" \
    <"$tmp/b.csr" >"$tmp/last.out" 2>&1
equal "issue --csr - exit" "$?" 0
[ -f "$tmp/issued/b.localhost.pem" ] && [ ! -f "$tmp/issued/b.localhost.key" ] && ok \
    || bad "issue --csr - wrote the certificate and no key"
echo "not a csr" | lua "$repo/scripts/issue.lua" --chain "$chain" --profile client --csr - \
    --out "$tmp/issued2" >"$tmp/last.out" 2>&1
equal "issue --csr - with garbage is exit 1" "$?" 1
[ ! -e "$tmp/issued2" ] && ok || bad "issue --csr - with garbage wrote nothing"
finish
