# renew.lua --json: one JSON document on stdout saying whether it renewed
# (exit 0 either way; the human lines go to stderr).
. "$(dirname "$0")/lib.sh"

chain=$tmp/chain
check "build" build_chain --out "$chain"
field() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {}, {"d": d})
print(json.dumps(v) if isinstance(v, (list, dict, bool)) else v)' "$@"
}
before=$(openssl x509 -in "$chain/server.pem" -noout -serial | cut -d= -f2)

lua "$repo/scripts/renew.lua" --out "$chain" --json >"$tmp/nodue.json" 2>"$tmp/nodue.err"
equal "not due: exit 0" "$?" 0
equal "not due: one line" "$(wc -l <"$tmp/nodue.json")" 1
equal "not due: due" "$(field "$tmp/nodue.json" 'd["due"]')" false
equal "not due: renewed nothing" "$(field "$tmp/nodue.json" 'd["renewed"]')" "[]"
equal "not due: the serial" "$(field "$tmp/nodue.json" 'd["server"]["serial"]')" "$before"
contains "not due: words on stderr" "$tmp/nodue.err" "not due: serial $before"

lua "$repo/scripts/renew.lua" --out "$chain" --json --force --dry-run >"$tmp/dry.json" 2>/dev/null
equal "dry run: exit 0" "$?" 0
equal "dry run: due" "$(field "$tmp/dry.json" 'd["due"] and d["dry_run"]')" true
equal "dry run: renewed nothing" "$(field "$tmp/dry.json" 'd["renewed"]')" "[]"

lua "$repo/scripts/renew.lua" --out "$chain" --json --force >"$tmp/done.json" 2>"$tmp/done.err"
equal "renewed: exit 0" "$?" 0
equal "renewed: one line" "$(wc -l <"$tmp/done.json")" 1
after=$(openssl x509 -in "$chain/server.pem" -noout -serial | cut -d= -f2)
equal "renewed: server" "$(field "$tmp/done.json" '"server" in d["renewed"]')" true
equal "renewed: new serial" "$(field "$tmp/done.json" 'd["server"]["serial"]')" "$after"
equal "renewed: previous serial" "$(field "$tmp/done.json" 'd["server"]["previous_serial"]')" \
    "$before"
contains "renewed: words on stderr" "$tmp/done.err" "renewed: serial $before -> $after"

finish
