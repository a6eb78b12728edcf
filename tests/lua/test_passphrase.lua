-- Encrypted CA keys: chain.build{passphrase =} encrypts the root and
-- intermediate keys (the server key stays plain), reopens them only with
-- the passphrase, encrypts a plain CA in place; ca.open{passphrase =};
-- chainsmith.secret reads passphrases from the environment or a file.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local chain = require "chainsmith.chain"
local ca_mod = require "chainsmith.ca"
local secret = require "chainsmith.secret"

local profiles = "../../scripts/profiles"
local base = t.tmpdir()
local dir = base .. "/chain"
local pass = "tr0ub4dor & 3"

local function header(path)
    return (t.read_file(path) or ""):match("^%-%-%-%-%-BEGIN ([%u ]+)%-%-%-%-%-")
end
local function snapshot(d)
    return t.sh("cd " .. t.quote(d) .. " && sha256sum * | sort")
end

t.case("build with a passphrase: CA keys encrypted, the server key plain", function()
    assert(chain.build { out = dir, profiles = profiles, passphrase = pass })
    assert(header(dir .. "/root.key") == "ENCRYPTED PRIVATE KEY")
    assert(header(dir .. "/intermediate.key") == "ENCRYPTED PRIVATE KEY")
    assert(header(dir .. "/server.key") == "PRIVATE KEY")
    assert(pki.read_key(dir .. "/server.key"), "serve.lua reads it unattended")
    local e = assert(pki.encrypted_key_info(t.read_file(dir .. "/root.key")))
    assert(e.cipher == "AES-256-CBC" and e.prf == "hmacWithSHA256")
end)

local before = snapshot(dir)
t.expect_fail("rebuild without the passphrase: says so and how", "locked",
    "root%.key: encrypted private key: give its passphrase.*%-%-passphrase%-env",
    chain.build, { out = dir, profiles = profiles })
t.expect_fail("rebuild with a wrong one: no --force hint", "verify",
    "root%.key: wrong passphrase or corrupt key$",
    chain.build, { out = dir, profiles = profiles, passphrase = "wrong" })
t.check("... nothing written", snapshot(dir) == before)
t.case("rebuild with the right one keeps everything", function()
    local report = assert(chain.build { out = dir, profiles = profiles, passphrase = pass })
    for _, r in ipairs(report) do
        assert(r.action == "kept", r.name .. " " .. r.action)
    end
end)

t.expect_fail("ca.open without the passphrase", "locked",
    "intermediate%.key: encrypted private key", ca_mod.open,
    { dir = dir, profiles = profiles })
t.expect_fail("ca.open with a wrong one", "verify",
    "intermediate%.key: wrong passphrase or corrupt key", ca_mod.open,
    { dir = dir, profiles = profiles, passphrase = "nope" })
t.case("ca.open with the passphrase issues", function()
    local ca <close> = assert(ca_mod.open { dir = dir, profiles = profiles, passphrase = pass })
    local r = assert(ca:issue { profile = "client", names = { "p.localhost" } })
    assert(r.cert:issued_by(ca.cert))
end)

t.case("a plain CA is encrypted in place, its certificates kept", function()
    local d = base .. "/plain"
    assert(chain.build { out = d, profiles = profiles })
    assert(header(d .. "/root.key") == "PRIVATE KEY")
    local root_pem = t.read_file(d .. "/root.pem")
    local fp = pki.read_key(d .. "/intermediate.key"):info().fingerprint
    local report = assert(chain.build { out = d, profiles = profiles, passphrase = pass })
    assert(report[1].action == "kept" and report[1].why == "key now encrypted")
    assert(report[3].action == "kept" and not report[3].why)
    assert(header(d .. "/root.key") == "ENCRYPTED PRIVATE KEY")
    assert(header(d .. "/intermediate.key") == "ENCRYPTED PRIVATE KEY")
    assert(header(d .. "/server.key") == "PRIVATE KEY")
    assert(t.read_file(d .. "/root.pem") == root_pem)
    assert(pki.read_key(d .. "/intermediate.key", { passphrase = pass }):info().fingerprint
        == fp)
end)

-- chainsmith.secret
local file = base .. "/pass.txt"
t.case("secret: from a file, one trailing newline dropped", function()
    t.write_file(file, "line one\n")
    assert(secret.read({ passphrase_file = file }, "passphrase") == "line one")
    t.write_file(file, "crlf\r\n")
    assert(secret.read({ passphrase_file = file }, "passphrase") == "crlf")
    t.write_file(file, "two\n\n")
    assert(secret.read({ passphrase_file = file }, "passphrase") == "two\n")
    t.write_file(file, " spaces kept ")
    assert(secret.read({ passphrase_file = file }, "passphrase") == " spaces kept ")
end)
t.case("secret: from the environment", function()
    local home = os.getenv("HOME")
    if home and home ~= "" then
        assert(secret.read({ password_env = "HOME" }, "password") == home)
    end
end)
t.check("secret: none given is false", secret.read({}, "passphrase") == false)
t.expect_fail("secret: an empty file", nil, "%-%-passphrase%-file .*: the passphrase is empty",
    function()
        t.write_file(file, "\n")
        local v, err = secret.read({ passphrase_file = file }, "passphrase")
        return v, err, nil
    end)
t.expect_fail("secret: a missing file", nil, "%-%-passphrase%-file: .*none%.txt",
    function()
        local v, err = secret.read({ passphrase_file = base .. "/none.txt" }, "passphrase")
        return v, err, nil
    end)
t.expect_fail("secret: an unset variable", nil,
    "%-%-password%-env CS_NO_SUCH_VARIABLE_X: no such environment variable",
    function()
        local v, err = secret.read({ password_env = "CS_NO_SUCH_VARIABLE_X" }, "password")
        return v, err, nil
    end)
t.expect_fail("secret: both", nil, "give one of %-%-passphrase%-env and %-%-passphrase%-file",
    function()
        local v, err = secret.read({ passphrase_env = "A", passphrase_file = "B" }, "passphrase")
        return v, err, nil
    end)

t.cleanup()
t.done()
