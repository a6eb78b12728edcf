# build_chain.lua's options: the usual forms are read without argparse, every
# other form goes through it; both give the same build, and argparse's
# errors and help still come out.
. "$(dirname "$0")/lib.sh"

p256=$tmp/p256
cp -r "$repo/scripts/profiles" "$p256"
sed -i 's/"P-384"/"P-256"/' "$p256"/*.lua

check "--out DIR --profiles DIR --force (read directly)" \
    build_chain --out "$tmp/a" --profiles "$p256" --force
contains "it built into DIR" "$tmp/last.out" "$tmp/a/root.pem (trust this)"
contains "with the profiles given" "$tmp/last.out" "EC P-256"
check "--out=DIR (argparse's form)" build_chain --out="$tmp/b" --profiles "$p256"
contains "it built into DIR" "$tmp/last.out" "$tmp/b/root.pem (trust this)"
check "--force --out DIR, any order, profiles by default" build_chain --force --out "$tmp/c"
contains "the default profiles are P-384" "$tmp/last.out" "EC P-384"
check "a repeated option: the last one counts, as argparse has it" \
    build_chain --out "$tmp/d1" --out "$tmp/d2" --profiles "$p256"
[ ! -e "$tmp/d1" ] && [ -e "$tmp/d2/ca.db" ] && ok || bad "repeated --out"

check "--help" build_chain --help
contains "--help prints the usage" "$tmp/last.out" "Usage: build_chain.lua"
contains "and each option" "$tmp/last.out" "Re-create the whole chain"
refuse "--out without a value" build_chain --out
contains "argparse says what is missing" "$tmp/last.out" "option '--out' requires an argument"
refuse "an option's value that looks like an option" build_chain --out --force
contains "argparse explains" "$tmp/last.out" "option '--out' requires an argument"
refuse "an unknown option" build_chain --out "$tmp/never" --bogus
contains "it is named" "$tmp/last.out" "unknown option '--bogus'"
[ ! -e "$tmp/never" ] && ok || bad "a refused command line created its folder"

finish
