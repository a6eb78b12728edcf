-- pki.store: issue, find, count, bulk mode, closed use.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local path = dir .. "/ca.db"

t.case("issue a chain, find, count", function()
    local store <close> = assert(pki.open_store(path))
    assert(t.sh("stat -c %a " .. t.quote(path)) == "600")
    assert(store:count() == 0)
    local rk = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local root = assert(store:issue(t.root_spec(), rk, nil, rk, "root"))
    local ik = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local inter = assert(store:issue(t.inter_spec(), ik, root, rk, "intermediate"))
    local lk = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local leaf = assert(store:issue(t.leaf_spec(), lk, inter, ik, "server"))
    assert(store:count() == 3)
    assert(pki.verify{leaf = leaf, chain = {inter}, roots = {root}, host = "localhost"})
    local found, profile = assert(store:find(leaf:serial()))
    assert(found == leaf and profile == "server", tostring(profile))
    found, profile = assert(store:find(leaf:serial():lower(), inter:info().subject_line))
    assert(found == leaf and profile == "server")
    local ok, msg, code = store:find("0123ABCD")
    assert(ok == nil and code == "notfound" and msg:find("0123ABCD"), msg)
    ok, msg, code = store:find(leaf:serial(), "C=XX, CN=nobody")
    assert(ok == nil and code == "notfound", msg)
end)

t.case("a failed issue writes nothing", function()
    local store <close> = assert(pki.open_store(path))
    local n = store:count()
    local k = assert(pki.generate_key{type = "ed25519"})
    local spec = t.root_spec()
    spec.valdity_days = 3
    local ok, msg, code = store:issue(spec, k, nil, k, "root")
    assert(ok == nil and code == "invalid" and msg:find("valdity_days"), msg)
    spec = t.leaf_spec()
    spec.subject_alt_name = nil
    ok, msg, code = store:issue(spec, k, nil, k, "root")
    assert(ok == nil and code == "lint", tostring(code) .. " " .. tostring(msg))
    assert(store:count() == n)
end)

t.case("bulk mode: begin, many issues, commit", function()
    local store <close> = assert(pki.open_store(path))
    local n = store:count()
    local rk = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local root = assert(store:issue(t.root_spec(), rk, nil, rk, "root"))
    assert(store:begin() == true)
    for i = 1, 20 do
        assert(store:issue(t.leaf_spec("host" .. i .. ".test"), rk, root, rk, "server"))
    end
    assert(store:commit() == true)
    assert(store:count() == n + 21)
end)

t.case("data survives reopening", function()
    local store = assert(pki.open_store(path))
    assert(store:count() > 20)
    store:close()
end)

t.expect_fail("open a store in a missing folder", "notfound", "no/such/dir/ca.db",
              pki.open_store, dir .. "/no/such/dir/ca.db")

t.case("closed store raises; close twice is fine", function()
    local store = assert(pki.open_store(path))
    store:close()
    store:close()
    local ok, err = pcall(store.count, store)
    assert(not ok and err:find("attempt to use a closed pki.store"), err)
    assert(tostring(store) == "pki.store (closed)")
end)

t.case("the row holds what the certificate says", function()
    local store <close> = assert(pki.open_store(path))
    local rk = assert(pki.generate_key{type = "ec", curve = "P-384"})
    local root = assert(store:issue(t.root_spec(), rk, nil, rk, "root"))
    local lk = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local spec = t.leaf_spec("row.test")
    spec.subject_alt_name = {dns = {"row.test", "www.row.test"}, ip = {"127.0.0.1", "::1"},
                             email = {"ca@row.test"}}
    local leaf = assert(store:issue(spec, lk, root, rk, "server"))
    store:close()
    local info = leaf:info()
    local sql = ("select issuer, subject, sans, not_before, not_after, fingerprint, profile"
        .. " from certificates where serial = '%s'"):format(leaf:serial())
    local row = t.sh("sqlite3 -separator '|' " .. t.quote(path) .. " " .. t.quote(sql))
    local want = table.concat({root:info().subject_line, info.subject_line,
        "DNS:row.test, DNS:www.row.test, IP:127.0.0.1, IP:::1, email:ca@row.test",
        info.not_before, info.not_after, leaf:fingerprint(), "server"}, "|")
    assert(row == want, row .. "\n~= " .. want)
    -- The PEM column is byte for byte what cert:pem() writes.
    local pem = t.sh("sqlite3 " .. t.quote(path) .. " " .. t.quote(
        ("select pem from certificates where serial = '%s'"):format(leaf:serial())))
    assert(pem == leaf:pem(), pem) -- sh() took the newline sqlite3 adds
    -- The issued certificate's public key is the subject key's, usable as such.
    assert(leaf:check_key(lk))
    assert(info.key.curve == "P-256" and info.key.bits == 256)
end)

t.case("<close> closes", function()
    local outer
    do
        local store <close> = assert(pki.open_store(path))
        outer = store
    end
    local ok, err = pcall(outer.find, outer, "01")
    assert(not ok and err:find("closed pki.store"), err)
end)

t.expect_error("issue with a string as key", "bad argument #2 to 'issue' %(pki.key expected",
               function()
    local store <close> = assert(pki.open_store(path))
    store:issue(t.leaf_spec(), "key.pem")
end)

collectgarbage()
t.cleanup()
t.done()
