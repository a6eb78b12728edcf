# list.lua: what the CA issued, from ca.db through store:list: every filter,
# text and --json, exit codes 0/1/2; inspect.lua on ca.db points at it.
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
check "build_chain" build_chain --out "$chain"
for n in alice bob carol; do
    check "issue $n" lua "$repo/scripts/issue.lua" --chain "$chain" --profile client \
        --name "$n.localhost" --out "$tmp/issued"
done
bob=$(openssl x509 -in "$tmp/issued/bob.localhost.pem" -noout -serial | cut -d= -f2)
check "revoke bob" lua "$repo/scripts/revoke.lua" --chain "$chain" --serial "$bob" \
    --reason keyCompromise
# one time format in all output (issue 10 §6): RFC 3339 UTC
grep -qE "^  at        [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" "$tmp/last.out" \
    && ok || bad "revoke.lua prints the time in RFC 3339 UTC"
grep -qE "next update [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" "$tmp/last.out" \
    && ok || bad "revoke.lua prints the next update in RFC 3339 UTC"
# An expired one, recorded the way issue.lua records (store:issue under the
# intermediate), with its notAfter yesterday.
cat >"$tmp/expired.lua" <<'LUA'
local pki = require "pki"
local dir = arg[1]
local inter = assert(pki.read_cert(dir .. "/intermediate.pem"))
local inter_key = assert(pki.read_key(dir .. "/intermediate.key"))
local key = assert(pki.generate_key { type = "ec", curve = "P-256" })
local store <close> = assert(pki.open_store(dir .. "/ca.db"))
local cert = assert(store:issue({
    subject = { { "CN", "old.localhost" } },
    not_before = os.time() - 3 * 86400, not_after = os.time() - 86400,
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "clientAuth" },
    subject_alt_name = { dns = { "old.localhost" } },
    subject_key_id = true, authority_key_id = true,
}, key, inter, inter_key, "client"))
print(cert:serial())
LUA
old=$(lua "$tmp/expired.lua" "$chain")
[ -n "$old" ] && ok || bad "expired certificate recorded"
alice=$(openssl x509 -in "$tmp/issued/alice.localhost.pem" -noout -serial | cut -d= -f2)

list() {
    lua "$repo/scripts/list.lua" --chain "$chain" "$@"
}

# Everything: root, intermediate, server, ocsp, three clients, the expired one.
check "list" list
out=$tmp/last.out
cp "$out" "$tmp/all.txt"
equal "a row per certificate, a header and a count" "$(wc -l <"$tmp/all.txt")" 10
contains "header" "$tmp/all.txt" "SERIAL"
contains "count line" "$tmp/all.txt" "8 certificates: 6 good, 1 revoked, 1 expired"
# row_status NAME SERIAL STATUS: the row of SERIAL says STATUS. The column
# is as wide as the longest serial, and a serial whose first random byte is
# zero is two digits shorter, so the gap is any run of spaces.
row_status() {
    if grep -qE "^$2 +$3 " "$tmp/all.txt"; then ok; else
        bad "$1: no row '$2 ... $3' in:"
        sed 's/^/    /' "$tmp/all.txt" >&2
    fi
}
row_status "alice's row" "$alice" good
row_status "bob revoked" "$bob" revoked
row_status "old expired" "$old" expired
contains "names shown" "$tmp/all.txt" "DNS:alice.localhost"
contains "profile shown" "$tmp/all.txt" "client"
grep -qE "  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z  " "$tmp/all.txt" && ok \
    || bad "not-after in RFC 3339 UTC"

check "--status revoked" list --status revoked
equal "only bob" "$(grep -c '^[0-9A-F]\{8\}' "$out")" 1
contains "bob" "$out" "$bob"
check "--status expired" list --status expired
equal "only old" "$(grep -c '^[0-9A-F]\{8\}' "$out")" 1
contains "old" "$out" "$old"
check "--status good" list --status good
equal "six good" "$(grep -c '^[0-9A-F]\{8\}' "$out")" 6
lacks "no bob among the good" "$out" "$bob"
check "--profile client" list --profile client
equal "four clients" "$(grep -c '^[0-9A-F]\{8\}' "$out")" 4
check "--name CAROL (case ignored)" list --name CAROL
equal "only carol" "$(grep -c '^[0-9A-F]\{8\}' "$out")" 1
contains "carol" "$out" "carol.localhost"
check "filters combine" list --profile client --status good --name alice
equal "only alice" "$(grep -c '^[0-9A-F]\{8\}' "$out")" 1
check "no match is no failure" list --name nobody.example
contains "zero" "$out" "0 certificates"

# --json: one document, the same records.
check "--json" list --json
cp "$out" "$tmp/all.json"
cat >"$tmp/check_json.lua" <<'LUA'
local cjson = require "cjson"
local f = assert(io.open(arg[1])); local text = f:read("a"); f:close()
local doc = cjson.decode(text)
assert(select(2, text:gsub("\n", "")) == 1, "one line")
assert(doc.count == 8 and #doc.certificates == 8 and doc.revoked == 1 and doc.expired == 1)
local by = {}
for _, c in ipairs(doc.certificates) do by[c.serial] = c end
local b = by[arg[2]]
assert(b.status == "revoked" and b.reason == "keyCompromise" and b.profile == "client")
assert(b.revoked_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"), b.revoked_at)
assert(b.names[1] == "DNS:bob.localhost" and b.subject:find("CN=bob.localhost", 1, true))
assert(by[arg[3]].status == "expired" and by[arg[3]].not_after_unix < os.time())
local a = by[arg[4]]
assert(a.status == "good" and a.revoked_at == cjson.null and #a.fingerprint == 64)
LUA
check "--json is one JSON document" lua "$tmp/check_json.lua" "$tmp/all.json" "$bob" "$old" \
    "$alice"
check "--json with a filter" list --json --status revoked
contains "one revoked" "$out" '"count":1'

# Usage: exit 2; a missing chain: exit 1, and nothing created.
lua "$repo/scripts/list.lua" --chain "$chain" --status valid >"$out" 2>&1
equal "unknown status: exit 2" "$?" 2
contains "names the choices" "$out" "'good', 'revoked', 'expired'"
lua "$repo/scripts/list.lua" --chain "$chain" --bogus >"$out" 2>&1
equal "unknown option: exit 2" "$?" 2
lua "$repo/scripts/list.lua" --chain "$tmp/none" >"$out" 2>&1
equal "no chain: exit 1" "$?" 1
contains "says what is missing" "$out" "$tmp/none/ca.db: missing"
[ ! -e "$tmp/none" ] && ok || bad "listing created something"

# inspect.lua on ca.db refuses and points at list.lua, instead of scraping PEM.
lua "$repo/scripts/inspect.lua" "$chain/ca.db" >"$out" 2>&1
equal "inspect ca.db: exit 2" "$?" 2
contains "points at list.lua" "$out" "lua scripts/list.lua --chain $chain"
lacks "no certificate scraped" "$out" "subject"

finish
