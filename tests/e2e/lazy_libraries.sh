# Libraries opened on first use (core/lazy.h; issues 14 and 15, RSS and
# module load): a plain `require "pki"` and a server without --acme or a
# PostgreSQL database map none of libpq, libcurl (nor the ~25 libraries it
# brings: krb5, ldap, ssh2, ...), c-ares, jansson or libidn2 (nor its
# libunistring); the process that opens a
# PostgreSQL store maps libpq, the one that serves ACME maps libcurl and
# c-ares, the one that answers the signing API maps jansson, and each works.
# Read from /proc/PID/maps of the real processes.
. "$(dirname "$0")/lib.sh"
. "$repo/tests/pg/pglib.sh"

# libs_in MAPS: the shared objects a maps file names, one per line, by file name.
libs_in() {
    awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "$1" | sort -u
}
# The libraries opened on first use, and some of libcurl's own.
lazy='^lib(pq|curl|cares|jansson|idn2|unistring|gnutls|krb5|ldap|ssh2|rtmp|nghttp2)[.-]'
# none_of NAME FILE: FILE names none of them.
none_of() {
    if grep -E "$lazy" "$2" >"$tmp/hits"; then
        bad "$1 maps: $(tr '\n' ' ' <"$tmp/hits")"
    else
        ok
    fi
}

# 1. require "pki", and everything a chain build does
cat >"$tmp/maps.lua" <<'LUA'
local pki = require "pki"
if arg[1] then -- the work of build_chain: keys, certificates, a SQLite store
    local store = assert(pki.open_store(arg[1]))
    local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
    assert(store:issue({ subject = { { "CN", "Lazy Root" } }, validity_days = 1,
        basic_constraints = { critical = true, ca = true },
        key_usage = { critical = true, "keyCertSign", "cRLSign" }, subject_key_id = true },
        k, nil, k, "root"))
end
io.write(io.open("/proc/self/maps"):read("a"))
LUA
lua "$tmp/maps.lua" >"$tmp/require.maps" 2>&1 || { bad "require pki"; cat "$tmp/require.maps" >&2; }
libs_in "$tmp/require.maps" >"$tmp/require.libs"
contains "the module itself is mapped (the check reads real maps)" "$tmp/require.libs" "pki.so"
none_of 'require "pki"' "$tmp/require.libs"
lua "$tmp/maps.lua" "$tmp/ca.db" >"$tmp/store.maps" 2>&1 ||
    { bad "SQLite store"; cat "$tmp/store.maps" >&2; }
libs_in "$tmp/store.maps" >"$tmp/store.libs"
contains "SQLite is mapped" "$tmp/store.libs" "libsqlite3"
none_of "a SQLite store" "$tmp/store.libs"

# an internationalized name: libidn2 is opened for it, and converts it
cat >"$tmp/idn.lua" <<'LUA'
local pki = require "pki"
assert(pki.normalize_name("dns", "b\u{fc}cher.example") == "xn--bcher-kva.example")
io.write(io.open("/proc/self/maps"):read("a"))
LUA
lua "$tmp/idn.lua" >"$tmp/idn.maps" 2>&1 || { bad "an IDN"; cat "$tmp/idn.maps" >&2; }
contains "an IDN maps libidn2" "$tmp/idn.maps" "/libidn2.so"

# 2. the server with the OCSP responder, after a page and an OCSP answer
out=$tmp/chain
check "build_chain" build_chain --out "$out"
check "issue a leaf" lua "$repo/scripts/issue.lua" --chain "$out" --profile server \
    --name leaf.test --out "$tmp/leaf"
start_server "$tmp/serve.log" --chain "$out" --http-port 0 ||
    { bad "server start"; finish; exit 1; }
check "a page" curl -sS --fail --max-time 10 --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" -o /dev/null "https://localhost:$port/"
check "an OCSP answer" openssl ocsp -issuer "$out/intermediate.pem" \
    -cert "$tmp/leaf/leaf.test.pem" -CAfile "$out/root.pem" \
    -url "http://127.0.0.1:$http_port/ocsp" -timeout 10
contains "... good" "$tmp/last.out" "leaf.test.pem: good"
libs_in "/proc/$server_pid/maps" >"$tmp/serve.libs"
contains "the server maps OpenSSL" "$tmp/serve.libs" "libssl.so"
none_of "serve.lua without --acme or PostgreSQL" "$tmp/serve.libs"
stop_server TERM && ok || bad "SIGTERM exit status"

# 3. ACME: libcurl and c-ares once validation starts
vport=$(/usr/bin/python3 -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
start_server "$tmp/acme.log" --chain "$out" --acme --acme-http-port "$vport" ||
    { bad "server start with --acme"; finish; exit 1; }
check "the ACME directory" curl -sS --fail --max-time 10 --cacert "$out/root.pem" \
    --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/acme/directory"
contains "... names newOrder" "$tmp/last.out" "newOrder"
libs_in "/proc/$server_pid/maps" >"$tmp/acme.libs"
contains "--acme maps libcurl" "$tmp/acme.libs" "libcurl"
contains "--acme maps c-ares" "$tmp/acme.libs" "libcares"
contains "--acme maps jansson" "$tmp/acme.libs" "libjansson"
lacks "--acme does not map libpq" "$tmp/acme.libs" "libpq"
stop_server TERM && ok || bad "SIGTERM exit status (--acme)"

# 4. PostgreSQL: libpq in the process that opens such a store, and it works
pg_start
cat >"$tmp/pg.lua" <<'LUA'
local pki = require "pki"
local store = assert(pki.open_store(arg[1], { node = "lazy" }))
local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
local root = assert(store:issue({ subject = { { "CN", "Lazy PG Root" } }, validity_days = 1,
    basic_constraints = { critical = true, ca = true },
    key_usage = { critical = true, "keyCertSign", "cRLSign" }, subject_key_id = true },
    k, nil, k, "root"))
assert(store:status(root:serial(), root:info().subject_line).status == "good")
io.write(io.open("/proc/self/maps"):read("a"))
LUA
lua "$tmp/pg.lua" "$pg_url" >"$tmp/pg.maps" 2>&1 ||
    { bad "PostgreSQL store"; cat "$tmp/pg.maps" >&2; }
contains "a PostgreSQL store maps libpq" "$tmp/pg.maps" "/libpq.so"
lacks "... and not libcurl" "$tmp/pg.maps" "/libcurl"
finish
