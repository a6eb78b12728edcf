-- chainsmith.ca: issuing from names and from CSRs under the default chain,
-- the records in ca.db, and every refusal leaving nothing recorded.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local chain = require "chainsmith.chain"
local ca_mod = require "chainsmith.ca"

local profiles = "../../scripts/profiles"
local dir = t.tmpdir() .. "/chain"
assert(chain.build { out = dir, profiles = profiles })
local root = assert(pki.read_cert(dir .. "/root.pem"))
local inter = assert(pki.read_cert(dir .. "/intermediate.pem"))

local function count()
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    return store:count()
end

local function has(list, v)
    for _, x in ipairs(list or {}) do
        if x == v then
            return true
        end
    end
    return false
end

t.expect_fail("a missing chain says what to run", "notfound",
    "/none/intermediate%.key: missing; run build_chain%.lua first %(build_chain%.lua %-%-out ",
    ca_mod.open,
    { dir = t.tmpdir() .. "/none", profiles = profiles })
t.expect_fail("a chain without its database", "notfound",
    "ca%.db: missing, but the CA keys are there.*Restore ca%.db from a backup",
    function()
        local d = t.tmpdir()
        for _, f in ipairs { "root.pem", "intermediate.pem", "intermediate.key" } do
            t.write_file(d .. "/" .. f, t.read_file(dir .. "/" .. f))
        end
        return ca_mod.open { dir = d, profiles = profiles }
    end)

local ca = assert(ca_mod.open { dir = dir, profiles = profiles })
local before = count()

-- Issued from names: a key is generated; the profile decides the rest.
local client_name = "alice.localhost"
t.case("names: issued, verified, recorded", function()
    local r = assert(ca:issue { profile = "client", names = { client_name, "alice@localhost" } })
    assert(r.key and r.cert:check_key(r.key))
    assert(r.chain[1] == r.cert and r.chain[2] == inter)
    assert(pki.verify { leaf = r.cert, chain = { inter }, roots = { root } })
    local info = r.cert:info()
    assert(info.subject_alt_name.dns[1] == client_name)
    assert(info.subject_alt_name.email[1] == "alice@localhost")
    assert(info.subject[#info.subject][1] == "CN" and info.subject[#info.subject][2] == client_name)
    assert(has(info.extended_key_usage, "clientAuth") and not has(info.extended_key_usage,
        "serverAuth"))
    assert(not info.basic_constraints.ca)
    assert(r.serial == r.cert:serial() and #r.dropped == 0)
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    local found, prof = assert(store:find(r.serial))
    assert(found == r.cert and prof == "client")
    assert(count() == before + 1)
end)

t.case("names: types inferred, IPs canonical, duplicates dropped", function()
    local r = assert(ca:issue { profile = "server",
        names = { "app.localhost", "127.0.0.2", "0:0::1", "APP.localhost",
                  { type = "dns", value = "b.localhost" } } })
    local san = r.cert:info().subject_alt_name
    assert(table.concat(san.dns, ",") == "app.localhost,b.localhost", table.concat(san.dns, ","))
    assert(table.concat(san.ip, ",") == "127.0.0.2,::1", table.concat(san.ip, ","))
end)

t.case("a profile that extends another: peer has both purposes", function()
    local r = assert(ca:issue { profile = "peer", names = { "svc.internal" } })
    local info = r.cert:info()
    assert(has(info.extended_key_usage, "serverAuth") and has(info.extended_key_usage,
        "clientAuth"))
    assert(info.subject_line:find("OU=Services", 1, true), info.subject_line)
end)

t.case("validity_days below the profile's", function()
    local r = assert(ca:issue { profile = "server", names = { "localhost" }, validity_days = 3 })
    local info = r.cert:info()
    assert((info.not_after - info.not_before) // 86400 == 3)
end)

t.case("IDN converted to A-labels", function()
    local r = assert(ca:issue { profile = "server", names = { "bücher.localhost" } })
    assert(r.cert:info().subject_alt_name.dns[1] == "xn--bcher-kva.localhost")
end)

t.case("URIs only: no CN; email first: CN is the email", function()
    local r = assert(ca:issue { profile = "client", names = { "spiffe://a.test/ns/x" } })
    local info = r.cert:info()
    assert(info.subject_alt_name.uri[1] == "spiffe://a.test/ns/x")
    for _, rdn in ipairs(info.subject) do
        assert(rdn[1] ~= "CN", "no CN for a URI-only certificate")
    end
    r = assert(ca:issue { profile = "client", names = { "spiffe://a.test/x", "bo@a.test" } })
    info = r.cert:info()
    assert(info.subject[#info.subject][2] == "bo@a.test", info.subject_line)
end)

-- A profile that allows wildcards, in a copy of the profiles folder.
local wild_profiles = t.tmpdir()
t.sh(("cp %s/*.lua %s/"):format(profiles, wild_profiles))
t.write_file(wild_profiles .. "/wild.lua", 'return { extends = "server", allow_wildcard = true }')
t.case("wildcard under a profile with allow_wildcard", function()
    local c <close> = assert(ca_mod.open { dir = dir, profiles = wild_profiles })
    local r = assert(c:issue { profile = "wild", names = { "*.app.localhost" } })
    assert(r.cert:info().subject_alt_name.dns[1] == "*.app.localhost")
    assert(pki.verify { leaf = r.cert, chain = { inter }, roots = { root },
        host = "x.app.localhost" })
end)

-- Issued from a CSR: the key stays with its owner.
local csr_key = assert(pki.generate_key { type = "ec", curve = "P-256" })
t.case("CSR object: signed with its key, no key returned", function()
    local csr = assert(pki.make_csr { key = csr_key, subject = { { "CN", "bob.localhost" } },
        names = { { type = "dns", value = "bob.localhost" } } })
    local r = assert(ca:issue { profile = "client", csr = csr })
    assert(r.key == nil)
    assert(r.cert:check_key(csr_key))
    assert(pki.verify { leaf = r.cert, chain = { inter }, roots = { root } })
    assert(r.cert:info().subject_alt_name.dns[1] == "bob.localhost")
end)

-- CSRs from openssl req: PEM, DER, requested extensions, CA:TRUE.
local tmp = t.tmpdir()
local function openssl_csr(name, extra)
    local key, csr = tmp .. "/" .. name .. ".key", tmp .. "/" .. name .. ".csr"
    t.sh(("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
        .. "-out %s -subj /CN=%s %s 2>&1"):format(key, csr, name, extra or ""))
    return assert(t.read_file(csr), "openssl req made no CSR")
end

local function der_of(path)
    t.sh(("openssl req -in %s -outform DER -out %s.der"):format(path, path))
    return assert(t.read_file(path .. ".der"))
end

t.case("CSR as PEM: the CN as name when there is no SAN", function()
    local r = assert(ca:issue { profile = "server", csr = openssl_csr("old.localhost") })
    assert(r.cert:info().subject_alt_name.dns[1] == "old.localhost")
end)

t.case("CSR as DER, extra extensions dropped and listed", function()
    openssl_csr("der.localhost", "-addext subjectAltName=DNS:der.localhost "
        .. "-addext keyUsage=digitalSignature,keyCertSign -addext nsComment=hello")
    local bytes = der_of(tmp .. "/der.localhost.csr")
    local r = assert(ca:issue { profile = "server", csr = bytes })
    local info = r.cert:info()
    assert(info.subject_alt_name.dns[1] == "der.localhost")
    assert(not has(info.key_usage, "keyCertSign"), "the profile decides the key usage")
    assert(has(r.dropped, "keyUsage (keyCertSign)") and has(r.dropped, "nsComment"),
        table.concat(r.dropped, ", "))
end)

-- Refusals: each names the rule or field; nothing is recorded.
local n = count()
local forged = openssl_csr("forged.localhost")
local der_forged = der_of(tmp .. "/forged.localhost.csr"):gsub("forged", "fOrged", 1)
t.expect_fail("forged CSR (signature does not match)", "verify",
    "^request%.csr: CSR signature does not verify", ca.issue, ca,
    { profile = "server", csr = der_forged })
t.expect_fail("CA:TRUE requested", "policy", "CA:TRUE requested.*%(rule no%-ca%-request%)",
    ca.issue, ca, { profile = "server",
        csr = openssl_csr("ca.localhost", "-addext basicConstraints=critical,CA:TRUE") })
t.expect_fail("validity over the profile's maximum", "policy",
    "^validity_days: 31 days is more than the 30 allowed for profile server "
    .. "%(rule profile%.validity_days%)$", ca.issue, ca,
    { profile = "server", names = { "localhost" }, validity_days = 31 })
t.expect_fail("example.com refused by the intermediate's nameConstraints", "policy",
    "^name example%.com: outside the nameConstraints of .*Simple Intermediate CA: "
    .. "outside the permitted DNS names %(localhost, test, internal%) "
    .. "%(rule name%-constraints%)$", ca.issue, ca,
    { profile = "server", names = { "example.com" } })
t.expect_fail("an IP outside the nameConstraints lists the permitted IP ranges", "policy",
    "^name 8%.8%.8%.8: outside the nameConstraints of .*: outside the permitted IP names "
    .. "%(127%.0%.0%.0/8, ::1/128, 10%.0%.0%.0/8%) %(rule name%-constraints%)$", ca.issue, ca,
    { profile = "server", names = { "8.8.8.8" } })
t.expect_fail("wildcard under a profile without allow_wildcard", "policy",
    "^name %*%.a%.localhost: wildcards are not allowed for profile client %(set "
    .. "allow_wildcard = true in %.%./%.%./scripts/profiles/client%.lua to permit them%) "
    .. "%(rule allow%-wildcard%)$", ca.issue, ca,
    { profile = "client", names = { "*.a.localhost" } })
t.expect_fail("wildcard not the whole left-most label", "invalid", "^name a%.%*%.localhost: ",
    ca.issue, ca, { profile = "server", names = { "a.*.localhost" } })
t.expect_fail("wildcard inside a label", "invalid", "^name a%*%.b%.localhost: ",
    ca.issue, ca, { profile = "server", names = { "a*.b.localhost" } })
t.expect_fail("invalid IDN refused", "invalid", "^name xn%-%-a%.localhost: ", ca.issue, ca,
    { profile = "server", names = { "xn--a.localhost" } })
t.expect_fail("a server certificate with only an email", "policy",
    "cabf%-leaf%-san%-present: subjectAltName: no dNSName or iPAddress", ca.issue, ca,
    { profile = "server", names = { "a@localhost" } })
t.expect_fail("a CA profile is not issued", "policy", "%(rule leaf%-profile%)", ca.issue, ca,
    { profile = "intermediate", names = { "localhost" } })
t.expect_fail("unknown profile, with the ones there are", "notfound",
    "no profile 'nope' in .*%(there are: client, intermediate, ocsp, peer, root, server%)",
    ca.issue, ca, { profile = "nope", names = { "localhost" } })
t.expect_fail("both csr and names", "invalid", "exactly one of 'csr' and 'names'", ca.issue, ca,
    { profile = "server", names = { "localhost" }, csr = forged })
t.expect_fail("unknown request field", "invalid", "^request: unknown field 'name'$", ca.issue, ca,
    { profile = "server", name = { "localhost" } })
t.expect_fail("a certificate where the CSR goes", "invalid",
    "^request%.csr: expected a pki%.csr or a PEM/DER string, got userdata$", ca.issue, ca,
    { profile = "server", csr = root })
t.expect_fail("malformed CSR string", "invalid", "request%.csr", ca.issue, ca,
    { profile = "server", csr = "not a CSR" })
t.expect_fail("failing files record nothing", "io", "^disk full$", ca.issue, ca,
    { profile = "server", names = { "localhost" } },
    { files = function() return nil, "disk full", "io" end })
t.case("nothing recorded by any refusal", function()
    assert(count() == n, ("%d records, expected %d"):format(count(), n))
end)

-- A policy with an allow list, given to open().
t.case("custom policy: refusals name the rule, allowed names pass", function()
    local policy = require "policy"
    local config = { profiles = { client = { allow = { ".clients.localhost" },
        max_validity_days = 7 } } }
    local c <close> = assert(ca_mod.open { dir = dir, profiles = profiles, config = config })
    local r, err, code = c:issue { profile = "client", names = { "x.localhost" } }
    assert(r == nil and code == "policy", err)
    assert(err == "name x.localhost: not allowed for profile client (rule client.allow)", err)
    r = assert(c:issue { profile = "client", names = { "a.clients.localhost" } })
    local info = r.cert:info()
    assert((info.not_after - info.not_before) // 86400 == 7, "the policy's maximum is the default")
    assert(policy.issuance ~= config)
end)

-- A policy of data alone (scripts/policy.lua's table without engine.new):
-- the engine is added when the CA opens, its own rule included.
t.case("a policy of data alone gets the engine", function()
    local data = { keys = { ec = { "P-256" } }, rules = {
            { name = "no-peers", check = function(p)
                if p.name == "peer" then return nil, "profile", "no peers here" end
                return true
            end },
        }, issuance = { profiles = { client = { deny = { "x.localhost" } } } } }
    local c <close> = assert(ca_mod.open { dir = dir, profiles = profiles, policy = data })
    local r, err, code = c:issue { profile = "client", names = { "x.localhost" } }
    assert(r == nil and code == "policy", err)
    assert(err == "name x.localhost: denied for profile client by 'x.localhost' "
        .. "(rule client.deny)", err)
    r, err = c:issue { profile = "peer", names = { "p.localhost" } }
    assert(r == nil and err:find("(rule no-peers)", 1, true), err)
    assert(c:issue { profile = "client", names = { "y.localhost" } })
end)

-- A profile built in Lua: the same checks as a file, the same policy.
n = count()
local function client_table()
    return {
        name = "lab-client",
        issuer = "intermediate",
        key = { type = "ec", curve = "P-256" },
        validity_days = 5,
        subject = { { "O", "Lab" } },
        basic_constraints = { critical = true, ca = false },
        key_usage = { critical = true, "digitalSignature" },
        extended_key_usage = { "clientAuth" },
        subject_key_id = true,
        authority_key_id = true,
    }
end
t.case("profile table: issued under it, recorded under its name", function()
    local given = client_table()
    local r = assert(ca:issue { profile = given, names = { "lab.localhost" } })
    local info = r.cert:info()
    assert(info.subject[1][1] == "O" and info.subject[1][2] == "Lab")
    assert((info.not_after - info.not_before) // 86400 == 5)
    assert(has(info.extended_key_usage, "clientAuth"))
    assert(r.profile == "lab-client" and given.name == "lab-client", r.profile)
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    local _, recorded = assert(store:find(r.serial))
    assert(recorded == "lab-client", recorded)
    n = n + 1
end)
t.case("profile table extending a file profile", function()
    local r = assert(ca:issue { profile = { extends = "client", validity_days = 3 },
        names = { "ext.localhost" } })
    local info = r.cert:info()
    assert(has(info.extended_key_usage, "clientAuth") and r.profile == "inline")
    assert((info.not_after - info.not_before) // 86400 == 3)
    n = n + 1
end)
t.expect_fail("profile table: a misspelt field, as in a file", "invalid",
    "^profile table lab%-client: unknown field 'validty_days'", function()
        local p = client_table()
        p.validty_days, p.validity_days = 5, nil
        return ca:issue { profile = p, names = { "x.localhost" } }
    end)
t.expect_fail("profile table: a missing field, as in a file", "invalid",
    "^profile table lab%-client: missing field 'issuer'$", function()
        local p = client_table()
        p.issuer = nil
        return ca:issue { profile = p, names = { "x.localhost" } }
    end)
t.expect_fail("profile table: a bad name", "invalid", "name: 'a/b' is not a profile name",
    ca.issue, ca, { profile = { name = "a/b" }, names = { "x.localhost" } })
t.expect_fail("profile table: the policy applies (a CA profile)", "policy",
    "%(rule leaf%-profile%)", function()
        local p = client_table()
        p.basic_constraints = { critical = true, ca = true }
        p.key_usage = { critical = true, "keyCertSign", "cRLSign" }
        return ca:issue { profile = p, names = { "x.localhost" } }
    end)
t.expect_fail("profile table: a wildcard without allow_wildcard", "policy",
    "wildcards are not allowed for profile lab%-client %(set allow_wildcard = true in "
    .. "profile table lab%-client to permit them%)",
    ca.issue, ca, { profile = client_table(), names = { "*.lab.localhost" } })
t.expect_fail("profile: neither a name nor a table", "invalid",
    "^request%.profile: expected a profile name or a profile table, got number$",
    ca.issue, ca, { profile = 5, names = { "x.localhost" } })
t.case("nothing recorded by the refused profile tables", function()
    assert(count() == n, ("%d records, expected %d"):format(count(), n))
end)

-- The root's signature is trusted from ca.open on, its dates are not: a
-- root that expires while a server holds the CA open stops issuance.
t.case("a root past its notAfter since ca.open: refused, nothing recorded", function()
    local held, records = ca.root_dates, count()
    ca.root_dates = { not_before = held.not_before, not_after = os.time() - 60 }
    local r, err, code = ca:issue { profile = "server", names = { "late.localhost" } }
    ca.root_dates = held
    assert(r == nil and code == "verify", tostring(code))
    assert(err:find("the root CA certificate: expired on ", 1, true), err)
    assert(count() == records, ("%d records, expected %d"):format(count(), records))
    assert(ca:issue { profile = "server", names = { "late.localhost" } })
end)

t.expect_error("an unknown option raises", "unknown option 'wirte'", ca.issue, ca,
    { profile = "server", names = { "localhost" } }, { wirte = print })

ca:close()
t.expect_error("a closed CA", "closed", ca.issue, ca, { profile = "server", names = { "x" } })

t.cleanup()
t.done()
