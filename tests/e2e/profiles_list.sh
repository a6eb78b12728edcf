# profiles.lua lists every profile with its description and key settings;
# a broken profile is listed with its error and makes the exit status 1.
. "$(dirname "$0")/lib.sh"

profiles() {
    lua "$repo/scripts/profiles.lua" "$@"
}

check "profiles.lua lists the shipped profiles" profiles
cp "$tmp/last.out" "$tmp/list.txt"
for name in client intermediate ocsp peer root server; do
    grep -q "^$name " "$tmp/list.txt" && ok || bad "no entry for $name"
done
equal "sorted by name" "$(grep -o '^[a-z]*' "$tmp/list.txt" | tr '\n' ' ')" \
    "client intermediate ocsp peer root server "
contains "a description" "$tmp/list.txt" "TLS client certificate (clientAuth), P-256, 30 days"
contains "client settings" "$tmp/list.txt" \
    "leaf, issuer intermediate, EC P-256, 30 days, EKU clientAuth, no wildcards"
contains "peer settings show extends" "$tmp/list.txt" \
    "leaf, extends server, issuer intermediate, EC P-384, 30 days, EKU serverAuth clientAuth, no wildcards"
contains "intermediate settings" "$tmp/list.txt" "CA (path length 0), issuer root, EC P-384, 1825 days"
contains "intermediate constraints" "$tmp/list.txt" "permits DNS localhost, test, internal"
contains "intermediate IP constraints" "$tmp/list.txt" "permits IP 127.0.0.0/8, ::1/128, 10.0.0.0/8"
contains "root settings" "$tmp/list.txt" "CA, self-signed, EC P-384, 3650 days"

# A folder of its own: a wildcard-allowing child, a broken profile, junk.
dir=$tmp/profiles
cp -r "$repo/scripts/profiles" "$dir"
printf 'return { extends = "server", allow_wildcard = true }\n' >"$dir/wild.lua"
printf 'local x = 1\nos.execute("touch %s/pwned")\nreturn {}\n' "$tmp" >"$dir/evil.lua"
echo "not a profile" >"$dir/README.txt"
refuse "a broken profile makes the exit status 1" profiles --profiles "$dir"
cp "$tmp/last.out" "$tmp/broken.txt"
contains "the broken profile is listed with file, line and name" "$tmp/broken.txt" \
    "evil          error: $dir/evil.lua:2: 'os' is not available in a profile"
contains "the others are still listed" "$tmp/broken.txt" "peer          Service-to-service"
contains "no description is said" "$tmp/broken.txt" "wild          (no description)"
contains "wildcards allowed is shown" "$tmp/broken.txt" "wildcards allowed"
contains "the count of failures" "$tmp/broken.txt" "profiles: 1 of 8 failed to load"
lacks "junk is not listed" "$tmp/broken.txt" "README"
[ ! -e "$tmp/pwned" ] && ok || bad "the broken profile ran os.execute"

refuse "a missing folder" profiles --profiles "$tmp/nowhere"
contains "it is named" "$tmp/last.out" "profiles: cannot open $tmp/nowhere"
mkdir "$tmp/empty"
refuse "an empty folder" profiles --profiles "$tmp/empty"
contains "it says so" "$tmp/last.out" "profiles: no profiles (NAME.lua) in $tmp/empty"
refuse "an unknown option" profiles --profile "$dir"
contains "argparse names it" "$tmp/last.out" "unknown option '--profile'"
check "--help" profiles --help
contains "help names --profiles" "$tmp/last.out" "--profiles"

finish
