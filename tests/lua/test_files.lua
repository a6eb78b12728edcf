-- pki.write_files and pki.mkdir: keys and certificates written together,
-- nothing written when any entry fails, caller bugs raised.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local key = assert(pki.generate_key { type = "ec", curve = "P-256" })
local cert = assert(pki.sign(t.root_spec(), key))
local function mode(path)
    return t.sh("stat -c %a " .. t.quote(path))
end
local function entries()
    return t.sh("ls -A " .. t.quote(dir))
end

t.case("mkdir makes parents, 0700", function()
    assert(pki.mkdir(dir .. "/a/b") == true)
    assert(mode(dir .. "/a/b") == "700")
    assert(pki.mkdir(dir .. "/a/b") == true, "an existing folder is fine")
end)
t.expect_fail("mkdir over a file", "io", "not a folder", function()
    t.write_file(dir .. "/file", "x")
    return pki.mkdir(dir .. "/file")
end)
os.remove(dir .. "/file")

t.case("key, cert and chain written together with their modes", function()
    assert(pki.write_files {
        { path = dir .. "/k.key", key = key },
        { path = dir .. "/c.pem", cert = cert },
        { path = dir .. "/chain.pem", certs = { cert, cert } },
    } == true)
    assert(mode(dir .. "/k.key") == "600")
    assert(mode(dir .. "/c.pem") == "644")
    assert(assert(pki.read_key(dir .. "/k.key")):info().fingerprint == key:info().fingerprint)
    assert(#assert(pki.read_chain(dir .. "/chain.pem")) == 2)
    assert(t.read_file(dir .. "/c.pem") == cert:pem())
end)

t.expect_fail("an existing file stops all of them", "exists", "c%.pem: exists", function()
    return pki.write_files {
        { path = dir .. "/new.key", key = key },
        { path = dir .. "/c.pem", cert = cert },
    }
end)
t.case("... and nothing was written", function()
    assert(t.read_file(dir .. "/new.key") == nil)
    assert(not entries():find("tmp"), entries())
end)
t.expect_fail("a missing folder stops all of them", "notfound", "cannot create", function()
    return pki.write_files {
        { path = dir .. "/new.key", key = key },
        { path = dir .. "/nowhere/c.pem", cert = cert },
    }
end)
t.case("... and nothing was written", function()
    assert(t.read_file(dir .. "/new.key") == nil)
    assert(not entries():find("tmp"), entries())
end)
t.case("overwrite = true replaces", function()
    local other = assert(pki.generate_key { type = "ec", curve = "P-256" })
    assert(pki.write_files { { path = dir .. "/k.key", key = other, overwrite = true } })
    assert(pki.read_key(dir .. "/k.key"):info().fingerprint == other:info().fingerprint)
    assert(mode(dir .. "/k.key") == "600")
end)

t.case("passphrase: the key written encrypted, beside a plain one", function()
    assert(pki.write_files {
        { path = dir .. "/ca.key", key = key, passphrase = "pw" },
        { path = dir .. "/leaf.key", key = key },
    })
    assert(t.read_file(dir .. "/ca.key"):find("^%-%-%-%-%-BEGIN ENCRYPTED PRIVATE KEY"))
    assert(t.read_file(dir .. "/leaf.key"):find("^%-%-%-%-%-BEGIN PRIVATE KEY"))
    assert(mode(dir .. "/ca.key") == "600")
    assert(pki.read_key(dir .. "/ca.key", { passphrase = "pw" }):info().fingerprint
        == key:info().fingerprint)
end)
t.expect_fail("an empty passphrase stops all of them", "invalid", "x%.key: empty passphrase",
    function()
        return pki.write_files {
            { path = dir .. "/y.pem", cert = cert },
            { path = dir .. "/x.key", key = key, passphrase = "" },
        }
    end)
t.check("... and nothing was written", t.read_file(dir .. "/y.pem") == nil)
t.expect_error("passphrase on a certificate", "%[1%]%.passphrase: only for a key",
    pki.write_files, { { path = dir .. "/x", cert = cert, passphrase = "p" } })
t.expect_error("passphrase not a string", "%[1%]%.passphrase: string expected",
    pki.write_files, { { path = dir .. "/x", key = key, passphrase = true } })

-- data = s: bytes as they are (a manifest), 0644, with the same guarantees
t.case("data: written as given, 0644, no temporary left", function()
    local text = '{"a": 1}\n\0binary too\n'
    assert(pki.write_files { { path = dir .. "/m.json", data = text },
                             { path = dir .. "/empty", data = "" } } == true)
    assert(t.read_file(dir .. "/m.json") == text)
    assert(t.read_file(dir .. "/empty") == "")
    assert(t.sh("stat -c %a " .. t.quote(dir .. "/m.json")) == "644")
    assert(not entries():find("tmp"), entries())
end)
t.expect_fail("data: an existing file is kept", "exists", "m%.json: exists, not overwritten$",
    pki.write_files, { { path = dir .. "/m.json", data = "new" } })
t.case("data: overwrite = true replaces", function()
    assert(pki.write_files { { path = dir .. "/m.json", data = "new", overwrite = true } })
    assert(t.read_file(dir .. "/m.json") == "new")
end)
t.expect_error("data not a string", "%[1%]%.data: string expected, got table", pki.write_files,
    { { path = dir .. "/x", data = {} } })
t.expect_error("data and a key", "exactly one of key, cert, certs, crl, data", pki.write_files,
    { { path = dir .. "/x", key = key, data = "x" } })

t.expect_error("overwrite not a boolean", "%[1%]%.overwrite: boolean expected, got string",
    pki.write_files, { { path = dir .. "/x", cert = cert, overwrite = "false" } })
t.expect_error("entry not a table", "%[1%]: table expected", pki.write_files, { "x" })
t.expect_error("no path", "%[1%]%.path: string expected", pki.write_files, { { key = key } })
t.expect_error("two kinds", "exactly one of key, cert, certs", pki.write_files,
    { { path = dir .. "/x", key = key, cert = cert } })
t.expect_error("a cert where the key goes", "%[1%]%.key: pki%.key expected", pki.write_files,
    { { path = dir .. "/x", key = cert } })
t.expect_error("unknown field", "unknown option 'overwrit'", pki.write_files,
    { { path = dir .. "/x", key = key, overwrit = true } })
t.case("a CRL as DER and PEM", function()
    local list = assert(pki.sign_crl { issuer = cert, key = key, number = 3, revoked = {},
        next_update_days = 7 })
    assert(pki.write_files {
        { path = dir .. "/r.crl", crl = list },
        { path = dir .. "/r.crl.pem", crl = list, pem = true },
    })
    assert(mode(dir .. "/r.crl") == "644" and mode(dir .. "/r.crl.pem") == "644")
    assert(t.read_file(dir .. "/r.crl") == list:der())
    assert(t.read_file(dir .. "/r.crl.pem") == list:pem())
    os.remove(dir .. "/r.crl")
    os.remove(dir .. "/r.crl.pem")
end)
t.expect_error("pem on a certificate", "%[1%]%.pem: only for a crl", pki.write_files,
    { { path = dir .. "/x", cert = cert, pem = true } })
t.expect_error("a cert where the crl goes", "%[1%]%.crl: pki%.crl expected", pki.write_files,
    { { path = dir .. "/x", crl = cert } })
t.case("closed key raises", function()
    local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
    k:close()
    local ok, err = pcall(pki.write_files, { { path = dir .. "/x", key = k } })
    assert(not ok and err:find("attempt to use a closed pki.key"), err)
end)

-- pki.read_file: a file over its cap is "toolarge", nothing read.
t.write_file(dir .. "/big.txt", ("x"):rep(2048))
t.expect_fail("read_file over its cap", "toolarge", "big%.txt: larger than 1024 bytes", function()
    return pki.read_file(dir .. "/big.txt", 1024)
end)
t.case("read_file within its cap", function()
    assert(pki.read_file(dir .. "/big.txt", 4096) == ("x"):rep(2048))
end)

-- pki.run_bounded: each bound has its own code.
t.expect_fail("run_bounded past its time", "timeout", "^ran past", function()
    return pki.run_bounded(function() while true do end end, 0.3, 1 << 24)
end)
t.expect_fail("run_bounded past its memory", "memory", "^needed more than", function()
    return pki.run_bounded(function() return ("x"):rep(1 << 26) end, 5, 1 << 24)
end)
t.case("run_bounded within its bounds", function()
    assert(pki.run_bounded(function() return "ok" end, 5, 1 << 24) == "ok")
end)

-- pki.run_bounded_each: one child for the list, each call bounded on its
-- own, and the calls after one killed at its deadline still run.
t.case("run_bounded_each bounds each call on its own", function()
    local r = pki.run_bounded_each({
        function() return "first" end,
        function() error("refused", 0) end,
        function() return ("x"):rep(1 << 26) end, -- past its own 16 MiB
        function() return ("y"):rep(1 << 23) end, -- 8 MiB: within, after one that was not
        function() while true do end end,
        function() return "after the kill" end,
        function() return {} end,
    }, 0.5, 1 << 24)
    assert(#r == 7, #r)
    assert(r[1].value == "first" and not r[1].error)
    assert(r[2].error == "refused" and r[2].code == "invalid", r[2].error)
    assert(r[3].code == "memory" and r[3].error:find("^needed more than 16777216 bytes"))
    assert(r[4].value == ("y"):rep(1 << 23))
    assert(r[5].code == "timeout" and r[5].error:find("^ran past 0.5 seconds"), r[5].error)
    assert(r[6].value == "after the kill")
    assert(r[7].code == "invalid" and r[7].error == "returned no string")
end)
t.case("run_bounded_each: one child for the calls, a new one after a kill", function()
    -- A global set by one call is seen by the next (same process), never by
    -- the parent, nor by the child that replaces a killed one.
    local r = pki.run_bounded_each({
        function() rawset(_G, "in_child", "yes"); return "set" end,
        function() return tostring(rawget(_G, "in_child")) end,
        function() while true do end end,
        function() return tostring(rawget(_G, "in_child")) end,
    }, 0.5, 1 << 24)
    assert(r[2].value == "yes", r[2].value)
    assert(r[3].code == "timeout")
    assert(r[4].value == "nil", r[4].value)
    assert(rawget(_G, "in_child") == nil)
end)
t.expect_error("run_bounded_each takes functions only", "entry 2 is a number, not a function",
    function() return pki.run_bounded_each({ function() return "" end, 2 }, 5, 1 << 24) end)
t.case("run_bounded_each with no calls", function()
    assert(#pki.run_bounded_each({}, 5, 1 << 24) == 0)
end)

t.cleanup()
t.done()
