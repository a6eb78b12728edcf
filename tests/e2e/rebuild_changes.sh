# Editing the server profile and re-running build_chain.lua changes the
# certificate served, while the root (what users trust) stays.
. "$(dirname "$0")/lib.sh"

out=$tmp/chain
profiles=$tmp/profiles
cp -r "$repo/scripts/profiles" "$profiles"
check "first build" build_chain --out "$out" --profiles "$profiles"
root_fp=$(fingerprint "$out/root.pem")
start_server "$tmp/serve1.log" --chain "$out" || { bad "server start"; finish; exit 1; }
refuse "app.test not yet served" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "app.test:$port:127.0.0.1" "https://app.test:$port/"
stop_server TERM || bad "stop"

# Curve, validity, SANs and subject all change.
sed -i -e 's/curve = "P-384"/curve = "P-256"/' \
       -e 's/validity_days = 30,/validity_days = 20,/' \
       -e 's/dns = { "localhost" }/dns = { "localhost", "app.test" }/' \
       -e 's/{ "OU", "ABC" }/{ "OU", "Edited" }/' "$profiles/server.lua"
check "rebuild after editing server.lua" build_chain --out "$out" --profiles "$profiles"
contains "the leaf is re-issued" "$tmp/last.out" "server: re-issued"
contains "the root is kept" "$tmp/last.out" "root: kept"
equal "root unchanged" "$(fingerprint "$out/root.pem")" "$root_fp"

start_server "$tmp/serve2.log" --chain "$out" || { bad "server restart"; finish; exit 1; }
check "app.test now served, trusting only the root" curl -sS --fail --cacert "$out/root.pem" \
    --resolve "app.test:$port:127.0.0.1" -o "$tmp/page.html" "https://app.test:$port/"
contains "page shows the new subject" "$tmp/page.html" "OU=Edited"
echo | openssl s_client -connect "127.0.0.1:$port" -servername app.test \
    -CAfile "$out/root.pem" >"$tmp/s_client.txt" 2>&1
openssl x509 -noout -text <"$tmp/s_client.txt" >"$tmp/served.txt"
contains "served key is P-256" "$tmp/served.txt" "NIST CURVE: P-256"
contains "served SANs" "$tmp/served.txt" "DNS:app.test"
days=$(( ($(date -d "$(openssl x509 -noout -enddate <"$tmp/s_client.txt" | cut -d= -f2)" +%s) \
        - $(date -d "$(openssl x509 -noout -startdate <"$tmp/s_client.txt" | cut -d= -f2)" +%s)) / 86400 ))
equal "served validity is 20 days" "$days" 20
stop_server TERM || bad "stop"

# Nearing expiry: a renewal window as long as the validity re-issues every time.
sed -i 's/renew_before_days = 10,/renew_before_days = 20,/' "$profiles/server.lua"
before=$(fingerprint "$out/server.pem")
check "rebuild inside the renewal window" build_chain --out "$out" --profiles "$profiles"
contains "the leaf is renewed" "$tmp/last.out" "server: re-issued (expires within renew_before_days)"
[ "$(fingerprint "$out/server.pem")" != "$before" ] && ok || bad "a new leaf was written"
check "the renewed leaf verifies" openssl verify -x509_strict -CAfile "$out/root.pem" \
    -untrusted "$out/intermediate.pem" "$out/server.pem"

# A CA profile edit is noted, not acted on: the root users trust stays.
sed -i 's/curve = "P-384"/curve = "P-256"/' "$profiles/root.lua"
# Not missable: a line on stdout and exit status 3 (issue 10 §6).
build_chain --out "$out" --profiles "$profiles" >"$tmp/last.out" 2>"$tmp/last.err"
equal "rebuild after editing root.lua: exit 3" "$?" 3
contains "the change is noted" "$tmp/last.err" "differs from $profiles/root.lua (curve P-384, profile says P-256)"
contains "stdout says it was not applied, and how to" "$tmp/last.out" \
    "NOT APPLIED: $out/root.pem differs from $profiles/root.lua (curve P-384, profile says P-256); the root is kept"
contains "it names --force" "$tmp/last.out" "run again with --force"
contains "the root is still kept" "$tmp/last.out" "root: kept"
equal "root still the same" "$(fingerprint "$out/root.pem")" "$root_fp"
build_chain --out "$out" --profiles "$profiles" >"$tmp/last.out" 2>&1
equal "again: still exit 3 while the profile differs" "$?" 3
sed -i 's/curve = "P-256"/curve = "P-384"/' "$profiles/root.lua"
check "with the change undone: exit 0" build_chain --out "$out" --profiles "$profiles"
lacks "nothing to say" "$tmp/last.out" "NOT APPLIED"

finish
