# trust.lua against the real tools in sandboxes: the system store in a
# prefix (update-ca-certificates with its folder options, never /etc/ssl),
# NSS databases in a temp HOME (Chromium's and a Firefox profile), a Java
# keystore file. Install twice is one entry; uninstall removes only what is
# chainsmith's by name and fingerprint; errors touch nothing.
. "$(dirname "$0")/lib.sh"

export HOME=$tmp/home
export CHAINSMITH_SYSTEM_ROOT=$tmp/sys # this machine's real store is never touched
mkdir -p "$HOME"
lua_bin=$(command -v "$LUA")
chain=$tmp/chain
nssdb=$HOME/.pki/nssdb
ff=$HOME/.mozilla/firefox/abcd.default-release
local_dir=$tmp/sys/usr/local/share/ca-certificates
bundle=$tmp/sys/etc/ssl/certs/ca-certificates.crt
ks=$tmp/java.p12

trust() { lua "$repo/scripts/trust.lua" "$@"; }
count() { # FILE TEXT: how many lines of FILE hold TEXT
    grep -cF -- "$2" "$1"
}
nss_list() { certutil -d "sql:$1" -L; }
java_list() { keytool -list -keystore "$ks" -storepass changeit; }
# bundle_has PEM: the system bundle holds that certificate (by fingerprint)
bundle_has() {
    local want f found=1
    want=$(fingerprint "$1")
    rm -rf "$tmp/split" && mkdir "$tmp/split"
    awk -v d="$tmp/split" '/BEGIN CERT/ { n++ } n { print > (d "/" n ".pem") }' "$bundle"
    for f in "$tmp"/split/*.pem; do
        [ -f "$f" ] && [ "$(fingerprint "$f")" = "$want" ] && found=0
    done
    return $found
}
selfsigned() { # NAME: an unrelated CA certificate in $tmp/NAME.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=$1" -days 2 -out "$tmp/$1.pem" 2>/dev/null
}

# --- errors before any chain: nothing written -------------------------------
mkdir -p "$tmp/empty"
refuse "no chain built" trust install --store nss --out "$tmp/empty"
contains "no chain: names root.pem" "$tmp/last.out" "root.pem"
contains "no chain: says how to build one" "$tmp/last.out" "build_chain.lua"
equal "no chain: no NSS database made" "$(ls -A "$HOME")" ""
equal "no chain: no manifest" "$(ls -A "$tmp/empty")" ""

check "build_chain" build_chain --out "$chain"
fp=$(fingerprint "$chain/root.pem" | tr -d : | tr A-F a-f)
short=$(printf %s "$fp" | cut -c1-16)
nick="chainsmith Simple Root CA $short"

refuse "unknown store" trust install --store nsss --out "$chain"
contains "unknown store: named" "$tmp/last.out" "nsss"

mkdir -p "$tmp/leafroot"
cp "$chain/server.pem" "$tmp/leafroot/root.pem"
refuse "a leaf is never installed" trust install --store nss --out "$tmp/leafroot"
contains "leaf refused: says why" "$tmp/last.out" "not a self-signed CA"
equal "leaf refused: no NSS database made" "$(ls -A "$HOME")" ""

# --- pre-existing entries that are not ours ----------------------------------
selfsigned other
mkdir -p "$local_dir" "$nssdb" "$ff"
cp "$tmp/other.pem" "$local_dir/other.crt"
certutil -d "sql:$nssdb" -N --empty-password
certutil -d "sql:$nssdb" -A -t "C,," -n "someone else" -i "$tmp/other.pem"
certutil -d "sql:$ff" -N --empty-password
keytool -importcert -noprompt -keystore "$ks" -storepass changeit -alias unrelated \
    -file "$tmp/other.pem" >/dev/null 2>&1

check "status before install" trust status --out "$chain" --java-keystore "$ks"
contains "status: system not installed" "$tmp/last.out" "system not installed"
contains "status: chromium not installed" "$tmp/last.out" "nss    not installed chromium $nssdb"
contains "status: firefox profile found" "$tmp/last.out" "nss    not installed firefox $ff"
contains "status: java not installed" "$tmp/last.out" "java   not installed $ks"

# --- install, twice ----------------------------------------------------------
for round in 1 2; do
    check "install round $round" trust install --store system,nss,java --out "$chain" \
        --java-keystore "$ks"
done
contains "second install says already installed" "$tmp/last.out" "already installed"
check "system: the file is there" test -f "$local_dir/chainsmith-$short.crt"
check "system: the bundle holds the root" bundle_has "$chain/root.pem"
check "system: the bundle keeps the other root" bundle_has "$tmp/other.pem"
nss_list "$nssdb" >"$tmp/nss.txt"
equal "chromium: one entry after two installs" "$(count "$tmp/nss.txt" "$nick")" 1
contains "chromium: trusted for TLS" "$tmp/nss.txt" "C,,"
nss_list "$ff" >"$tmp/ff.txt"
equal "firefox: one entry" "$(count "$tmp/ff.txt" "$nick")" 1
java_list >"$tmp/java.txt"
equal "java: one alias" "$(count "$tmp/java.txt" "chainsmith-$short")" 1
check "manifest written" test -f "$chain/trust.json"
contains "manifest names the fingerprint" "$chain/trust.json" "$fp"
certutil -d "sql:$nssdb" -L -n "$nick" -a >"$tmp/entry.pem"
equal "never the leaf: the NSS entry is the root" "$(fingerprint "$tmp/entry.pem")" \
    "$(fingerprint "$chain/root.pem")"

check "status after install" trust status --out "$chain" --java-keystore "$ks"
contains "status: system installed" "$tmp/last.out" "system installed"
contains "status: chromium installed" "$tmp/last.out" "nss    installed chromium $nssdb"
contains "status: java installed" "$tmp/last.out" "java   installed $ks"
check "status --json" trust status --json --out "$chain" --java-keystore "$ks"
cp "$tmp/last.out" "$tmp/status.json"
json_ok() {
    FP=$fp lua -e '
        local doc = require("cjson").decode(io.read("a"))
        assert(doc.root.fingerprint == os.getenv("FP"), "fingerprint")
        local n = 0
        for _, s in ipairs(doc.stores) do
            assert(s.state == "installed", s.store .. " " .. s.state)
            n = n + 1
        end
        assert(n == 4, "4 locations, got " .. n)' <"$tmp/status.json"
}
check "status --json: every location installed" json_ok

# --- uninstall: only ours ----------------------------------------------------
check "uninstall" trust uninstall --store system,nss,java --out "$chain" --java-keystore "$ks"
check "system: our file is gone" test ! -e "$local_dir/chainsmith-$short.crt"
check "system: the other file stays" test -f "$local_dir/other.crt"
refuse "system: the bundle no longer holds the root" bundle_has "$chain/root.pem"
check "system: the bundle keeps the other root" bundle_has "$tmp/other.pem"
nss_list "$nssdb" >"$tmp/nss.txt"
lacks "chromium: our entry is gone" "$tmp/nss.txt" "$nick"
contains "chromium: the other entry stays" "$tmp/nss.txt" "someone else"
nss_list "$ff" >"$tmp/ff.txt"
lacks "firefox: our entry is gone" "$tmp/ff.txt" "$nick"
java_list >"$tmp/java.txt"
lacks "java: our alias is gone" "$tmp/java.txt" "chainsmith-"
contains "java: the other alias stays" "$tmp/java.txt" "unrelated"
check "manifest gone with the last entry" test ! -e "$chain/trust.json"
check "uninstall again: nothing to do" trust uninstall --store nss --out "$chain"
contains "uninstall again says so" "$tmp/last.out" "nothing of chainsmith's"

# --- our name, someone else's certificate: left alone ------------------------
cp "$tmp/other.pem" "$local_dir/chainsmith-$short.crt"
refuse "install refuses a name that holds another certificate" \
    trust install --store system --out "$chain"
contains "... and says so" "$tmp/last.out" "holds another certificate"
check "uninstall leaves it" trust uninstall --store system --out "$chain"
check "... the file is still there" cmp "$tmp/other.pem" "$local_dir/chainsmith-$short.crt"
rm "$local_dir/chainsmith-$short.crt"

# --- a rebuilt root: the manifest still finds the old one --------------------
check "install nss" trust install --store nss --out "$chain"
check "rebuild the chain" build_chain --out "$chain" --force
new_short=$(fingerprint "$chain/root.pem" | tr -d : | tr A-F a-f | cut -c1-16)
check "status shows the earlier root" trust status --out "$chain"
contains "... as installed, earlier" "$tmp/last.out" "an earlier root"
check "uninstall after the rebuild" trust uninstall --store nss --out "$chain"
nss_list "$nssdb" >"$tmp/nss.txt"
lacks "the old root is gone" "$tmp/nss.txt" "chainsmith"
contains "the other entry stays" "$tmp/nss.txt" "someone else"

# --- default stores, root or not ---------------------------------------------
check "install with the default stores" trust install --out "$chain"
contains "default: system (prefix given)" "$tmp/last.out" "system $local_dir"
contains "default: java skipped, said why" "$tmp/last.out" "skipped java"
check "install java too" trust install --store java --out "$chain" --java-keystore "$ks"
check "uninstall with the default stores" trust uninstall --out "$chain"
java_list >"$tmp/java.txt"
lacks "default uninstall: java, which the manifest names, is emptied too" "$tmp/java.txt" \
    "chainsmith-"
contains "... its other alias stays" "$tmp/java.txt" "unrelated"
check "default uninstall: system emptied" test ! -e "$local_dir/chainsmith-$new_short.crt"

mkdir -p "$tmp/fakeid"
printf '#!/bin/sh\necho 1000\n' >"$tmp/fakeid/id"
chmod +x "$tmp/fakeid/id"
as_user() { # a fake `id` says uid 1000; the sanitizer runtime still comes first
    env -u CHAINSMITH_SYSTEM_ROOT PATH="$tmp/fakeid:$PATH" LD_PRELOAD="$lua_preload" "$@"
}
refuse "system without root and without a prefix" as_user \
    "$lua_bin" "$repo/scripts/trust.lua" install --store system --out "$chain"
contains "... says to use sudo" "$tmp/last.out" "sudo"
check "... touched nothing" test ! -e "$chain/trust.json"
check "default stores without root" as_user \
    "$lua_bin" "$repo/scripts/trust.lua" install --out "$chain"
contains "... skips system, saying why" "$tmp/last.out" "skipped system"
contains "... installs into nss" "$tmp/last.out" \
    "installed \"chainsmith Simple Root CA $new_short\""
check "uninstall without root" as_user \
    "$lua_bin" "$repo/scripts/trust.lua" uninstall --out "$chain"

# --- tools missing (PATH without them) ---------------------------------------
mkdir -p "$tmp/bare"
ln -s "$(command -v id)" "$tmp/bare/id"
bare() {
    env PATH="$tmp/bare" LD_PRELOAD="$lua_preload" "$lua_bin" "$repo/scripts/trust.lua" "$@"
}
refuse "nss without certutil" bare install --store nss --out "$chain"
contains "... says to install libnss3-tools" "$tmp/last.out" "libnss3-tools"
refuse "java without keytool" bare install --store java --out "$chain" --java-keystore "$ks"
contains "... says keytool is missing" "$tmp/last.out" "keytool not found"
check "status without the tools" bare status --out "$chain"
contains "status: nss not available" "$tmp/last.out" "nss    not available"
contains "status: java not available" "$tmp/last.out" "java   not available"
check "nothing installed by the failures" test ! -e "$chain/trust.json"

finish
