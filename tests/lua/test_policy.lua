-- policy.lua and the profile loader: every rule, every field check, the sandbox.
package.path = "../../scripts/?.lua;" .. package.path
local policy = require "policy"
local profile = require "chainsmith.profile"

local t = require "testlib"
local case = t.check

local tmp = t.tmpdir()

local function write(name, text)
    local f = assert(io.open(tmp .. "/" .. name .. ".lua", "w"))
    f:write(text)
    f:close()
end

-- The shipped profiles load and pass.
for _, name in ipairs { "root", "intermediate", "server" } do
    local p, err = profile.load("../../scripts/profiles", name)
    case("load " .. name, p ~= nil, err)
    if p then
        local ok, why = policy.check(p)
        case("policy passes " .. name, ok, why)
    end
end

local function server(changes)
    local p = assert(profile.load("../../scripts/profiles", "server"))
    for k, v in pairs(changes) do
        p[k] = v
    end
    return p
end

-- Each rule refuses with profile, field and rule named. The RFC 5280 and
-- CA/B rules are the core's lint (one source, one level: docs/lint.md), run
-- on the certificate the profile would make; policy.lua adds the keys.
local violations = {
    { "leaf validity over 398 days", server { validity_days = 400 },
      "profile server: lint: cabf-leaf-validity-398-days: validity: 400 days for a TLS "
      .. "server certificate (at most 398) (BR 6.3.2)" },
    { "unknown curve", server { key = { type = "ec", curve = "P-521" } },
      "profile server: key.curve: curve P-521 is not allowed (use P-256 or P-384) " ..
      "(rule allowed-key)" },
    { "small RSA", server { key = { type = "rsa", bits = 1024 } },
      "profile server: key.bits: RSA 1024 bits is not allowed (2048 to 4096) (rule allowed-key)" },
    { "unknown key type", server { key = { type = "dsa" } },
      "profile server: key.type: key type dsa is not allowed (ec, ed25519 or rsa) " ..
      "(rule allowed-key)" },
    { "CN not in SAN", server { subject = { { "CN", "other.test" } } },
      "profile server: lint: cabf-leaf-cn-in-san: subject: commonName 'other.test' is not in "
      .. "subjectAltName (BR 7.1.4.3)" },
    { "a server named by an email alone", server { subject = { { "O", "Simple Inc" } },
        subject_alt_name = { email = { "a@localhost" } } },
      "profile server: lint: cabf-leaf-san-present: subjectAltName: no dNSName or iPAddress "
      .. "in a TLS server certificate (BR 7.1.2.7.12; RFC 5280 4.2.1.6)" },
}
for _, v in ipairs(violations) do
    local name, p, want = v[1], v[2], v[3]
    local ok, why = policy.check(p)
    case(name, not ok and why == want, why)
end

-- A delegated OCSP responder: a CN and no SAN; not with another purpose.
local responder = server { extended_key_usage = { "OCSPSigning" },
    subject = { { "CN", "Simple OCSP Responder" } } }
responder.subject_alt_name = nil
case("OCSP responder: CN without SAN", policy.check(responder) == true)
responder.extended_key_usage = { "OCSPSigning", "clientAuth" }
local rok, rwhy = policy.check(responder)
case("OCSP signing beside clientAuth needs a SAN", not rok and rwhy ==
    "profile server: lint: cabf-leaf-san-present: subjectAltName: missing in an end-entity "
    .. "certificate (BR 7.1.2.7.12; RFC 5280 4.2.1.6)", rwhy)

-- The CA/B rules about TLS servers are about TLS servers: a client's CN
-- names a person, and it may live longer than 398 days.
local client = assert(profile.load("../../scripts/profiles", "client"))
client.subject = { { "CN", "Alice" } }
client.subject_alt_name = { email = { "alice@example.test" } }
client.validity_days = 730
local cok, cwhy = policy.check(client)
case("client: CN not in the SAN, two years", cok == true, cwhy)

local nosan = server {}
nosan.subject_alt_name = nil
nosan.subject = { { "O", "Simple Inc" } }
local ok, why = policy.check(nosan)
case("server without SAN", not ok and why ==
    "profile server: lint: cabf-leaf-san-present: subjectAltName: missing in an end-entity "
    .. "certificate (BR 7.1.2.7.12; RFC 5280 4.2.1.6)", why)

local ca = assert(profile.load("../../scripts/profiles", "intermediate"))
ca.key_usage = { critical = true, "cRLSign" }
ok, why = policy.check(ca)
case("CA without keyCertSign", not ok and why:find("^profile intermediate: lint: "
    .. "rfc5280%-ca%-key%-usage%-cert%-sign: keyUsage: no keyCertSign"), why)

-- Every finding of lint is reported.
ok, why = policy.check(server { validity_days = 500, subject = { { "CN", "x.test" } } })
case("all of lint's findings reported", not ok and why:find("cabf-leaf-cn-in-san", 1, true)
    and why:find("cabf-leaf-validity-398-days", 1, true), why)

-- The lint asks without signing and without keys (issue 11 section 7): with
-- pki.sign and key generation made to fail, every check still answers, and
-- the shape of the profile's key is what the key rules read.
do
    local pki = require "pki"
    local saved = { sign = pki.sign, generate_key = pki.generate_key,
                    key_generator = pki.key_generator }
    local function tripwire(name)
        return function() error("policy.check called pki." .. name, 2) end
    end
    for name in pairs(saved) do
        pki[name] = tripwire(name)
    end
    local checked, pok, pwhy = pcall(policy.check, server {})
    local checked2, bok, bwhy = pcall(policy.check, server { validity_days = 400 })
    local ed = server { key = { type = "ed25519" },
        key_usage = { critical = true, "digitalSignature", "keyEncipherment" } }
    local checked3, eok, ewhy = pcall(policy.check, ed)
    for name, f in pairs(saved) do
        pki[name] = f
    end
    case("a good profile checked without signing", checked and pok == true, pok or pwhy)
    case("a bad profile checked without signing", checked2 and not bok
        and bwhy:find("cabf-leaf-validity-398-days", 1, true), bok or bwhy)
    case("the key's shape reaches lint", checked3 and not eok
        and ewhy:find("rfc8410-ed25519-key-usage", 1, true), eok or ewhy)
end

-- policy.rules: a rule of the user's own runs, named in the refusal.
local engine = require "chainsmith.policy_engine"
local mine = engine.new { keys = policy.keys, issuance = {}, rules = {
    { name = "short-clients", check = function(p)
        if p.validity_days > 90 then
            return nil, "validity_days", "clients live 90 days at most"
        end
        return true
    end },
} }
ok, why = mine.check(client)
case("a rule of policy.rules", not ok and why == "profile client: validity_days: clients live "
    .. "90 days at most (rule short-clients)", why)
ok, why = mine.check(server { validity_days = 500 })
case("all violations reported, one per line", not ok and select(2, why:gsub("\n", "")) == 1
    and why:find("(rule short-clients)", 1, true)
    and why:find("cabf-leaf-validity-398-days", 1, true), why)

-- The loader: missing and unknown fields, wrong types, the sandbox.
local loads = {
    { "missing validity", "return { issuer = 'self', key = {type='ec', curve='P-256'}, " ..
      "subject = {} }", "missing field 'validity_days'" },
    { "typo", "return { issuer = 'self', key = {type='ec'}, subject = {}, validity_days = 1, " ..
      "valdity_days = 2 }", "unknown field 'valdity_days'" },
    { "wrong type", "return { issuer = 'self', key = {type='ec'}, subject = {}, " ..
      "validity_days = '30' }", "validity_days: expected number, got string" },
    { "fractional days", "return { issuer = 'self', key = {type='ec'}, subject = {}, " ..
      "validity_days = 1.5 }", "validity_days: expected a whole number" },
    { "key typo", "return { issuer = 'self', key = {type='ec', curv='P-256'}, subject = {}, " ..
      "validity_days = 1 }", "key: unknown field 'curv'" },
    { "not a table", "return 42", "must return a table, returned number" },
    { "syntax error", "return {", "bad.lua:1:" },
    { "os.execute", "os.execute('true') return {}", "bad.lua:1: 'os' is not available" },
    { "io.open", "local f = io.open('/etc/passwd') return {}", "bad.lua:1:" },
    { "require", "local x = require 'pki' return {}", "bad.lua:1:" },
    { "dofile", "dofile('/etc/passwd') return {}", "bad.lua:1:" },
}
for _, l in ipairs(loads) do
    write("bad", l[2])
    local p, err = profile.load(tmp, "bad")
    case("loader: " .. l[1], p == nil and err and err:find(l[3], 1, true) ~= nil, err)
end

-- No globals leak from one profile into the next (tests/lua/test_profiles.lua has more).
write("leaky", "leaked = true return { issuer = 'self', key = {type='ec', curve='P-256'}, " ..
    "subject = {}, validity_days = 1 }")
write("next", "return { issuer = 'self', key = {type='ec', curve='P-256'}, subject = {}, " ..
    "validity_days = leaked and 99 or 1 }")
assert(profile.load(tmp, "leaky"))
local nxt, nerr = profile.load(tmp, "next")
case("no globals leak between profiles", nxt == nil and nerr:find("'leaked' is not available",
    1, true) and rawget(_G, "leaked") == nil, nerr)

t.cleanup()
t.done()
