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

-- Each rule refuses with profile, field and rule named.
local violations = {
    { "leaf validity over 398 days", server { validity_days = 400 },
      "profile server: validity_days: 400 days is more than the 398 allowed for a leaf " ..
      "(rule leaf-max-validity)" },
    { "unknown curve", server { key = { type = "ec", curve = "P-521" } },
      "profile server: key.curve: curve P-521 is not allowed (use P-256 or P-384) " ..
      "(rule allowed-key)" },
    { "small RSA", server { key = { type = "rsa", bits = 1024 } },
      "profile server: key.bits: RSA 1024 bits is not allowed (2048 to 4096) (rule allowed-key)" },
    { "unknown key type", server { key = { type = "dsa" } },
      "profile server: key.type: key type dsa is not allowed (ec, ed25519 or rsa) " ..
      "(rule allowed-key)" },
    { "CN not in SAN", server { subject = { { "CN", "other.test" } } },
      "profile server: subject: CN other.test is not in subject_alt_name (rule leaf-cn-in-san)" },
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
case("OCSP signing beside clientAuth: CN must be in the SAN", not rok and rwhy ==
    "profile server: subject: CN Simple OCSP Responder is not in subject_alt_name " ..
    "(rule leaf-cn-in-san)", rwhy)

local nosan = server {}
nosan.subject_alt_name = nil
nosan.subject = { { "O", "Simple Inc" } }
local ok, why = policy.check(nosan)
case("server without SAN", not ok and why ==
    "profile server: subject_alt_name: a server certificate needs a DNS or IP name " ..
    "(rule server-needs-san)", why)

local ca = assert(profile.load("../../scripts/profiles", "intermediate"))
ca.key_usage = { critical = true, "cRLSign" }
ok, why = policy.check(ca)
case("CA without keyCertSign", not ok and why ==
    "profile intermediate: key_usage: a CA certificate needs keyCertSign (rule ca-key-cert-sign)",
    why)

-- Several violations are all reported, one per line.
ok, why = policy.check(server { validity_days = 500, subject = { { "CN", "x.test" } } })
case("all violations reported", not ok and select(2, why:gsub("\n", "")) == 1, why)

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
