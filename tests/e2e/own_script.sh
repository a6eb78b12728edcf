# Using the module from your own Lua (docs/lua-api.md): the example in the
# doc runs as it is, with only what `eval "$(lua5.4 scripts/env.lua)"` sets;
# `cmake --install` puts pki.so where lua5.4 looks by default.
. "$(dirname "$0")/lib.sh"

unset LUA_CPATH LUA_CPATH_5_4 LUA_PATH LUA_PATH_5_4
work=$tmp/work
mkdir -p "$work"
check "build_chain" build_chain --out "$work/chain"

# The block after the marker, verbatim.
awk '/<!-- tests\/e2e\/own_script.sh runs the next block -->/ { found = 1; next }
     found && /^```lua$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$repo/docs/lua-api.md" >"$tmp/example.lua"
[ "$(wc -l <"$tmp/example.lua")" -ge 15 ] && ok || bad "example found in docs/lua-api.md"

# Without the environment, a script of one's own cannot find the module.
(cd "$work" && lua "$tmp/example.lua") >"$tmp/last.out" 2>&1 && bad "found pki unaided" || ok

# --build: this build's module (the tree may hold others, build-asan...).
check "env.lua" lua "$repo/scripts/env.lua" --build "$CS_BUILD_DIR"
cp "$tmp/last.out" "$tmp/env.sh"
contains "exports the module's folder" "$tmp/env.sh" "export LUA_CPATH_5_4='$CS_BUILD_DIR/?.so;;'"
contains "exports the scripts" "$tmp/env.sh" "export LUA_PATH_5_4='$repo/scripts/?.lua;;'"
run_example() {
    # shellcheck disable=SC1090
    (eval "$(cat "$tmp/env.sh")" && cd "$work" && lua "$tmp/example.lua")
}
check "the example runs" run_example
cp "$tmp/last.out" "$tmp/example.out"
contains "it listed its certificate" "$tmp/example.out" "good"
contains "under its profile's subject" "$tmp/example.out" "OU=Lab, CN=robot1.localhost"
check "it wrote the chain" openssl verify -x509_strict -CAfile "$work/chain/root.pem" \
    -untrusted "$work/robot1.pem" "$work/robot1.pem"
check "with the client purpose" openssl verify -purpose sslclient \
    -CAfile "$work/chain/root.pem" -untrusted "$work/robot1.pem" "$work/robot1.pem"
equal "the key is private" "$(stat -c %a "$work/robot1.key")" 600
check "recorded under its name" lua "$repo/scripts/list.lua" --chain "$work/chain" \
    --profile lab-client
contains "listed by list.lua" "$tmp/last.out" "robot1.localhost"

# A variable already set stays, after ours.
LUA_PATH_5_4='/opt/x/?.lua;;' lua "$repo/scripts/env.lua" >"$tmp/last.out" 2>&1
contains "keeps what was set" "$tmp/last.out" "scripts/?.lua;/opt/x/?.lua;;'"
lua "$repo/scripts/env.lua" --bogus >"$tmp/last.out" 2>&1
equal "usage: exit 2" "$?" 2
lua "$repo/scripts/env.lua" --build "$tmp/nowhere" >"$tmp/last.out" 2>&1
equal "no module there: exit 1" "$?" 1
contains "says where it looked" "$tmp/last.out" "env: no pki module in $tmp/nowhere"

# make install: the module lands in a folder that lua5.4 searches by default
# under the default prefix (/usr/local).
check "cmake --install" cmake --install "$CS_BUILD_DIR" --prefix "$tmp/prefix"
so=$(cd "$tmp/prefix" && find . -name pki.so | sed 's|^\./||')
[ -n "$so" ] && ok || bad "pki.so installed"
default=$(lua -e 'print(package.cpath)')
case ";$default;" in
    *";/usr/local/${so%pki.so}?.so;"*) ok ;;
    *) bad "installed as $so, not on lua5.4's default cpath ($default)" ;;
esac

finish
