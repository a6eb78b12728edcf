-- Profiles as sandboxed plugins: the sandbox, `extends`, profile.list, the
-- shipped client/peer/intermediate profiles, and the name-constraint check.
package.path = "../../scripts/?.lua;" .. package.path
local pki = require "pki"
local policy = require "policy"
local profile = require "chainsmith.profile"
local sandbox = require "chainsmith.sandbox"
local chain = require "chainsmith.chain"

local shipped = "../../scripts/profiles"

local t = require "testlib"
local case = t.check

local tmp = t.tmpdir()
assert(os.execute("mkdir -p " .. tmp .. "/list " .. tmp .. "/names"))

local function write(name, text, dir)
    local f = assert(io.open((dir or tmp) .. "/" .. name .. ".lua", "wb"))
    f:write(text)
    f:close()
end

-- A complete profile body, for tests that need one to load.
local minimal = "issuer = 'self', key = {type='ec', curve='P-256'}, subject = {}, " ..
    "validity_days = 1"

-- load must fail with exactly this message (or, with `find`, containing it).
local function refused(name, file, want, find)
    local p, err = profile.load(tmp, file)
    local match = err ~= nil and (find and err:find(want, 1, true) ~= nil or err == want)
    case(name, p == nil and match, err or "loaded")
end

---------------------------------------------------------------- the sandbox

-- Each name a profile may not reach: the error names file, line (3, not 1)
-- and the name.
local forbidden = {
    { "os", "os.execute('touch " .. tmp .. "/pwned')" },
    { "io", "io.open('/etc/passwd')" },
    { "require", "require 'pki'" },
    { "load", "load('return 1')" },
    { "loadfile", "loadfile('/etc/passwd')" },
    { "dofile", "dofile('/etc/passwd')" },
    { "debug", "debug.sethook()" },
    { "package", "package.loaded.x = 1" },
    { "collectgarbage", "collectgarbage()" },
    { "setmetatable", "setmetatable(string, {})" },
    { "getmetatable", "getmetatable('').__index.upper = nil" },
    { "rawset", "rawset(_ENV, 'x', 1)" },
    { "_G", "_G.x = 1" },
    { "pcall", "pcall(error)" },
    { "print", "print('hello')" },
    { "coroutine", "coroutine.yield()" },
    { "undefined_name", "local days = undefined_name" },
}
for _, f in ipairs(forbidden) do
    write("evil", "local x = 1\n\n" .. f[2] .. "\nreturn { " .. minimal .. " }\n")
    refused("sandbox refuses " .. f[1], "evil",
        ("%s/evil.lua:3: '%s' is not available in a profile"):format(tmp, f[1]))
end
case("os.execute did not run", io.open(tmp .. "/pwned") == nil)

-- What was left out of the library copies is absent, not reachable.
write("evil", "\nlocal s = string.dump(function() end)\nreturn {}\n")
refused("string.dump is not in the copy", "evil",
    tmp .. "/evil.lua:2: attempt to call a nil value", true)
write("evil", "\n\nlocal r = math.random()\nreturn {}\n")
refused("math.random is not in the copy", "evil", tmp .. "/evil.lua:3: attempt to call a nil value",
    true)

-- The pure helpers work, and a profile may keep its own globals.
write("helpers", "days = math.floor(30.7)\nreturn { issuer = 'self', key = {type='ec', " ..
    "curve='P-256'}, subject = { {'CN', string.format('%s.%s', 'app', 'test')} }, " ..
    "validity_days = days, description = table.concat({'a', 'b'}, '-') .. utf8.char(33) }")
local p, err = profile.load(tmp, "helpers")
case("string, table, math and utf8 helpers", p and p.validity_days == 30 and
    p.subject[1][2] == "app.test" and p.description == "a-b!", err)

-- No global and no library change leaks from one profile into the next,
-- nor into the loader.
write("leaky", "leaked = true\nstring.upper = nil\nmath.pi = 3\ntable.concat = nil\n" ..
    "return { " .. minimal .. " }")
write("after", "local up, pi = string.upper('x'), math.pi\nreturn { " .. minimal ..
    ", description = up .. table.concat({ tostring(pi > 3) }) }")
case("a profile may set its own globals", profile.load(tmp, "leaky") ~= nil)
p, err = profile.load(tmp, "after")
case("library changes do not leak", p and p.description == "Xtrue", err)
write("after", "local x = leaked\nreturn { " .. minimal .. " }")
refused("globals do not leak", "after",
    tmp .. "/after.lua:1: 'leaked' is not available in a profile")
case("nothing leaked into the loader", rawget(_G, "leaked") == nil and string.upper ~= nil and
    math.pi > 3.14)

-- Bytecode is refused, naming the file; text only.
local bc = assert(io.open(tmp .. "/compiled.lua", "wb"))
bc:write(string.dump(load("return { " .. minimal .. " }")))
bc:close()
refused("bytecode refused", "compiled",
    tmp .. "/compiled.lua: a precompiled (binary) chunk; profiles are loaded as text only")

bc = assert(io.open(tmp .. "/hashbang.lua", "wb"))
bc:write("#!/usr/bin/lua\n", string.dump(load("return { " .. minimal .. " }")))
bc:close()
refused("bytecode after a # line refused", "hashbang",
    tmp .. "/hashbang.lua: attempt to load a binary chunk (mode is 't')")

-- A loop that never ends is stopped, naming file and line.
write("loop", "local n = 0\nwhile true do n = n + 1 end\n")
refused("endless loop bounded", "loop", tmp .. "/loop.lua:2: ran past " ..
    sandbox.max_instructions .. " instructions", true)

-- Inside C functions the instruction count stops nothing: a pattern that
-- backtracks for ever and two 1 GiB strings (issue 10) are bounded by the
-- child process the profile runs in, in time (sandbox.max_seconds, 5 s:
-- the bound checked below, with room for a loaded machine) and memory
-- (sandbox.max_memory, 64 MiB).
write("backtrack", "local s = ('a'):rep(60)\nlocal _ = s:find(('a-'):rep(30) .. 'b')\n" ..
    "return { " .. minimal .. " }")
local started = os.time()
refused("a backtracking pattern is stopped", "backtrack", tmp .. "/backtrack.lua: ran past " ..
    sandbox.max_seconds .. " seconds (a pattern that backtracks for ever?); a profile is data")
case("within its bound", os.time() - started <= sandbox.max_seconds + 20,
    os.time() - started .. " s")
write("hog", "local a = string.rep('x', 2^30)\nlocal b = string.rep('y', 2^30)\n" ..
    "return { " .. minimal .. ", a = a, b = b }")
started = os.time()
refused("1 GiB strings are refused", "hog", tmp .. "/hog.lua: needs more than 64 MiB of " ..
    "memory; a profile is data")
case("at once", os.time() - started <= sandbox.max_seconds + 20, os.time() - started .. " s")
write("gmatch", "for _ in (('a'):rep(50)):gmatch(('a*'):rep(20) .. 'b') do end\n" ..
    "return { " .. minimal .. " }")
refused("gmatch too", "gmatch", tmp .. "/gmatch.lua: ran past", true)
-- What a profile returns comes back as data.
write("data", "return { " .. minimal .. ", note = 'tab\\there\\n', ratio = 0.1, " ..
    "big = math.maxinteger, flag = false, list = { 1, 'two', { three = 3 } } }")
p = sandbox.run(tmp .. "/data.lua")
case("data survives the trip", p and p.note == "tab\there\n" and p.ratio == 0.1
    and math.type(p.big) == "integer" and p.big == math.maxinteger and p.flag == false
    and p.list[2] == "two" and p.list[3].three == 3)
write("fn", "return { " .. minimal .. ", f = function() end }")
refused("a function is not data", "fn", tmp .. "/fn.lua: returned a function; a profile is " ..
    "data (strings, numbers, booleans, tables)")

-- Errors without a position still name the file.
write("raise", "error({})")
refused("error({}) names the file", "raise", tmp .. "/raise.lua: raised a table, not a message")
write("raise", "error('plain', 0)")
refused("error(msg, 0) names the file", "raise", tmp .. "/raise.lua: plain")

-- Names become file names: nothing but a plain name is loaded.
p, err = profile.load(tmp, "../etc/passwd")
case("a path is not a profile name", p == nil and
    err == "'../etc/passwd' is not a profile name (letters, digits, '-' and '_')", err)

-------------------------------------------------------------------- extends

write("base", [[
return {
    description = "the base",
    issuer = "intermediate",
    key = { type = "ec", curve = "P-384" },
    validity_days = 30,
    renew_before_days = 10,
    subject = { { "O", "Base" }, { "CN", "base.test" } },
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "serverAuth" },
    subject_alt_name = { dns = { "base.test" }, ip = { "127.0.0.1" } },
    subject_key_id = true,
}
]])
write("child", [[
return {
    extends = "base",
    validity_days = 20,
    key = { curve = "P-256" },
    subject = { { "O", "Child" } },
    key_usage = { "digitalSignature", "keyEncipherment" },
    subject_alt_name = { dns = { "child.test" } },
    renew_before_days = false,
    allow_wildcard = true,
}
]])
p, err = profile.load(tmp, "child")
case("child loads", p ~= nil, err)
if p then
    case("a scalar is replaced", p.validity_days == 20)
    case("key merges key by key", p.key.type == "ec" and p.key.curve == "P-256")
    case("subject is replaced whole", #p.subject == 1 and p.subject[1][2] == "Child")
    case("key_usage is replaced whole", p.key_usage.critical == nil and #p.key_usage == 2)
    case("a list left alone is inherited", p.extended_key_usage[1] == "serverAuth")
    case("subject_alt_name merges kind by kind", p.subject_alt_name.dns[1] == "child.test" and
        #p.subject_alt_name.dns == 1 and p.subject_alt_name.ip[1] == "127.0.0.1")
    case("false drops an inherited field", p.renew_before_days == nil)
    case("description is not inherited", p.description == nil)
    case("booleans are inherited and replaced", p.subject_key_id == true and
        p.allow_wildcard == true)
    case("extends is recorded", p.extends == "base" and p.name == "child" and
        p.file == tmp .. "/child.lua")
end

write("grandchild", [[
return {
    extends = "child",
    description = "two levels down",
    key = { type = "rsa", bits = 2048 },
    subject_alt_name = { ip = false },
    basic_constraints = { critical = false },
}
]])
p, err = profile.load(tmp, "grandchild")
case("a chain of extends loads", p ~= nil, err)
if p then
    case("two levels: the base's fields arrive", p.issuer == "intermediate" and
        p.extended_key_usage[1] == "serverAuth")
    case("two levels: the middle's fields arrive", p.validity_days == 20 and
        p.subject[1][2] == "Child")
    case("a key of another type starts afresh", p.key.type == "rsa" and p.key.bits == 2048 and
        p.key.curve == nil)
    case("false drops a kind of SAN", p.subject_alt_name.ip == nil and
        p.subject_alt_name.dns[1] == "child.test")
    case("keyed booleans merge", p.basic_constraints.critical == false and
        p.basic_constraints.ca == false)
    case("own description", p.description == "two levels down")
end

write("orphan", "return { extends = 'nowhere', validity_days = 2 }")
refused("a missing parent", "orphan", ("%s/orphan.lua: extends 'nowhere': " ..
    "%s/nowhere.lua: cannot open"):format(tmp, tmp), true)
write("cycle_a", "return { extends = 'cycle_b' }")
write("cycle_b", "return { extends = 'cycle_a' }")
refused("a cycle", "cycle_a", ("%s/cycle_a.lua: extends 'cycle_b': %s/cycle_b.lua: extends " ..
    "'cycle_a' makes a cycle (cycle_a -> cycle_b -> cycle_a)"):format(tmp, tmp))
write("selfish", "return { extends = 'selfish' }")
refused("extending itself", "selfish",
    tmp .. "/selfish.lua: extends 'selfish' makes a cycle (selfish -> selfish)")
write("climb", "return { extends = '../base' }")
refused("extends takes a name, not a path", "climb",
    tmp .. "/climb.lua: extends: '../base' is not a profile name (letters, digits, '-' and '_')")
write("broken_parent", "return { " .. minimal .. ", valdity = 3 }")
write("of_broken", "return { extends = 'broken_parent' }")
refused("a broken parent names both files", "of_broken", ("%s/of_broken.lua: extends " ..
    "'broken_parent': %s/broken_parent.lua:1: unknown field 'valdity' (the fields are: "
    .. "allow_wildcard, "):format(tmp, tmp), true)
write("typo_child", "return { extends = 'base', extnded_key_usage = {} }")
refused("a typo in the child names the child", "typo_child",
    tmp .. "/typo_child.lua:1: unknown field 'extnded_key_usage' (did you mean "
    .. "'extended_key_usage'? the fields are: ", true)

-- Issue 10 §6: a typo names the file and line, the nearest valid name, and
-- every valid one.
write("typo_lines", "-- a profile\nreturn {\n    issuer = 'self',\n"
    .. "    key = { type = 'ec', curv = 'P-256' },\n    subject = {},\n"
    .. "    validty_days = 1,\n}\n")
refused("a misspelt field: file:line, the nearest name, the list", "typo_lines",
    tmp .. "/typo_lines.lua:6: unknown field 'validty_days' (did you mean 'validity_days'? "
    .. "the fields are: allow_wildcard, authority_info_access, authority_key_id, "
    .. "basic_constraints, crl_distribution_points, crl_next_update_days, description, "
    .. "extended_key_usage, extends, issuer, key, key_usage, name_constraints, ocsp_no_check, "
    .. "public_base_url, renew_before_days, subject, subject_alt_name, subject_key_id, "
    .. "validity_days)")
write("typo_key", "return {\n" .. minimal .. ",\n key = { type = 'ec',\n curv = 'P-256' } }")
refused("a misspelt key field", "typo_key", tmp .. "/typo_key.lua:4: key: unknown field 'curv' "
    .. "(did you mean 'curve'? the fields are: bits, curve, type)")
write("typo_usage", "return {\n" .. minimal .. ",\n key_usage = { critical = true,\n"
    .. "  'digitalSignture' } }")
refused("an unknown key usage: file:line, the nearest, the list", "typo_usage",
    tmp .. "/typo_usage.lua:4: key_usage[1]: unknown usage 'digitalSignture' (did you mean "
    .. "'digitalSignature'? one of: cRLSign, dataEncipherment, digitalSignature, keyAgreement, "
    .. "keyCertSign, keyEncipherment, nonRepudiation)")
write("typo_eku", "return {\n" .. minimal .. ",\n extended_key_usage = { 'serverAuth',\n"
    .. "  'clientAuht' } }")
refused("an unknown extended usage", "typo_eku", tmp .. "/typo_eku.lua:4: "
    .. "extended_key_usage[2]: unknown usage 'clientAuht' (did you mean 'clientAuth'? one of "
    .. "(or a dotted OID): clientAuth, codeSigning, emailProtection, OCSPSigning, serverAuth, "
    .. "timeStamping)")
write("eku_oid", "return { " .. minimal .. ", extended_key_usage = { '1.3.6.1.5.5.7.3.1' } }")
case("a dotted OID is an extended usage", profile.load(tmp, "eku_oid") ~= nil)
write("far_off", "return { " .. minimal .. ", colour = 'blue' }")
refused("nothing near: no guess, the list", "far_off", tmp .. "/far_off.lua:1: unknown field "
    .. "'colour' (the fields are: allow_wildcard, ", true)
do
    local suggest = require "chainsmith.suggest"
    case("distance: a swap is one edit", suggest.distance("clientAuht", "clientAuth") == 1)
    case("distance: case ignored", suggest.distance("DigitalSignature", "digitalsignature") == 0)
    case("line: a word in a comment is skipped", suggest.line("-- x\nx = 1\n", "x") == 2)
    case("line: not a piece of a longer word", suggest.line("xy = 1\nx = 2", "x") == 2)
end
write("false_alone", "return { " .. minimal .. ", subject_alt_name = false }")
refused("false without extends is a type error", "false_alone",
    tmp .. "/false_alone.lua: subject_alt_name: expected table, got boolean")
write("required_dropped", "return { extends = 'base', key = false }")
refused("a required field dropped", "required_dropped",
    tmp .. "/required_dropped.lua: missing field 'key'")

-- Wildcards in a profile's own names need allow_wildcard.
write("wild", "return { extends = 'base', subject_alt_name = { dns = { '*.base.test' } } }")
refused("a wildcard SAN without allow_wildcard", "wild", tmp .. "/wild.lua: " ..
    "subject_alt_name.dns: '*.base.test' is a wildcard, and allow_wildcard is not true")
write("wild", "return { extends = 'base', allow_wildcard = true, " ..
    "subject_alt_name = { dns = { '*.base.test' } } }")
case("a wildcard SAN with allow_wildcard", profile.load(tmp, "wild") ~= nil)
write("wild", "return { " .. minimal .. ", allow_wildcard = 'yes' }")
refused("allow_wildcard is a boolean", "wild",
    tmp .. "/wild.lua: allow_wildcard: expected boolean, got string")

------------------------------------------------------- shipped client/peer

for _, name in ipairs { "client", "peer", "server", "intermediate", "root" } do
    local sp, serr = profile.load(shipped, name)
    case("shipped " .. name .. " loads", sp ~= nil, serr)
    if sp then
        -- client and peer are templates: checked as ca:issue checks them,
        -- with the names a request gives (lint wants a leaf's SAN)
        sp.subject_alt_name = sp.subject_alt_name or { dns = { "a.localhost" } }
        local ok, why = policy.check(sp)
        case("shipped " .. name .. " passes policy", ok, why)
    end
end
local client = assert(profile.load(shipped, "client"))
case("client is for clients only", #client.extended_key_usage == 1 and
    client.extended_key_usage[1] == "clientAuth" and client.issuer == "intermediate" and
    client.basic_constraints.ca == false and client.allow_wildcard == false)
local peer = assert(profile.load(shipped, "peer"))
local server = assert(profile.load(shipped, "server"))
case("peer is server and client", peer.extends == "server" and
    table.concat(peer.extended_key_usage, " ") == "serverAuth clientAuth")
case("peer inherits from server", peer.key.curve == server.key.curve and
    peer.validity_days == server.validity_days and peer.issuer == "intermediate" and
    peer.subject_alt_name.dns[1] == "localhost")
case("peer has its own subject and description", peer.subject[3][2] == "Services" and
    peer.description ~= server.description)

-- The shipped profiles sign what they say: a client and a peer under the
-- shipped intermediate, with names in its constraints, verify with the
-- right purposes; a client for a name outside them does not.
local root_p, inter_p = assert(profile.load(shipped, "root")), profile.load(shipped, "intermediate")
local root_key = assert(pki.generate_key(root_p.key))
local root = assert(pki.sign(profile.spec(root_p), root_key))
local inter_key = assert(pki.generate_key(inter_p.key))
local inter = assert(pki.sign(profile.spec(inter_p), inter_key, root, root_key))
local function sign_leaf(lp, san)
    local spec = profile.spec(lp)
    spec.subject_alt_name = san
    local key = assert(pki.generate_key(lp.key))
    return pki.sign(spec, key, inter, inter_key)
end
local ccert, cerr = sign_leaf(client, { email = { "alice@app.test" }, dns = { "alice.test" } })
case("client signs with a requested name", ccert ~= nil, cerr)
if ccert then
    local info = ccert:info()
    case("client certificate is clientAuth only", #info.extended_key_usage == 1 and
        info.extended_key_usage[1] == "clientAuth", table.concat(info.extended_key_usage, ","))
    local ok, verr = pki.verify { leaf = ccert, chain = { inter }, roots = { root } }
    case("client certificate verifies", ok, verr)
end
local pcert, perr = sign_leaf(peer, { dns = { "api.svc.internal" }, ip = { "10.1.2.3" } })
case("peer signs", pcert ~= nil, perr)
if pcert then
    case("peer certificate has both purposes",
        table.concat(pcert:info().extended_key_usage, " ") == "serverAuth clientAuth")
    local ok, verr = pki.verify { leaf = pcert, chain = { inter }, roots = { root },
        host = "api.svc.internal" }
    case("peer certificate verifies as api.svc.internal", ok, verr)
end
local outside = assert(sign_leaf(client, { dns = { "example.com" } }))
local vok, verr = pki.verify { leaf = outside, chain = { inter }, roots = { root } }
case("the intermediate's constraints hold past the policy", not vok and
    verr:find("permitted subtree violation", 1, true) ~= nil, verr)

-------------------------------------------------------------- profile.list

write("alpha", "return { " .. minimal .. ", description = 'first' }", tmp .. "/list")
write("beta", "os.exit(1)", tmp .. "/list")
write("gamma-2", "return { extends = 'alpha' }", tmp .. "/list")
for _, junk in ipairs { "notes.txt", ".hidden.lua", "has space.lua", "backup.lua~" } do
    local f = assert(io.open(tmp .. "/list/" .. junk, "w"))
    f:write("return {}")
    f:close()
end
local entries, lerr = profile.list(tmp .. "/list")
case("list returns entries", entries ~= nil, lerr)
if entries then
    local names = {}
    for _, e in ipairs(entries) do
        names[#names + 1] = e.name
    end
    case("list holds every NAME.lua, sorted, nothing else",
        table.concat(names, " ") == "alpha beta gamma-2", table.concat(names, " "))
    case("list: a good profile", entries[1].profile and entries[1].profile.description ==
        "first" and entries[1].file == tmp .. "/list/alpha.lua" and entries[1].error == nil)
    case("list: a broken profile keeps its error", entries[2].profile == nil and
        entries[2].error == tmp .. "/list/beta.lua:1: 'os' is not available in a profile",
        entries[2].error)
    case("list: the rest still load", entries[3].profile and entries[3].profile.extends == "alpha")
end
entries, lerr = profile.list(tmp .. "/nowhere")
case("list of a missing folder", entries == nil and
    lerr:find("cannot open " .. tmp .. "/nowhere", 1, true) ~= nil, lerr)
entries = assert(profile.list(shipped))
local shipped_names = {}
for _, e in ipairs(entries) do
    shipped_names[#shipped_names + 1] = e.name
end
case("list of the shipped profiles", table.concat(shipped_names, " ") ==
    "client intermediate ocsp peer root server", table.concat(shipped_names, " "))

--------------------------------------------------------- name constraints
-- chain.check_names asks core (cert:permits) about each name against the
-- CA certificate that signs it: here the shipped intermediate signed above.

local nc = inter_p.name_constraints
case("the intermediate's constraints are critical", nc.critical == true)

-- A server profile with these names (and subject) to check.
local function leaf_p(san, subject)
    return { name = "server", issuer = "intermediate", subject_alt_name = san,
        subject = subject or {} }
end
local function check(san, ca, subject)
    return chain.check_names(leaf_p(san, subject), ca or inter)
end
local function line(field, why)
    return ("profile server: %s: %s (issuer intermediate, rule issuer-name-constraints)")
        :format(field, why)
end

local inside = {
    { dns = { "localhost" } }, { dns = { "app.localhost" } }, { dns = { "test" } },
    { dns = { "app.test" } }, { dns = { "*.app.test" } }, { dns = { "a.b.internal" } },
    { dns = { "APP.TEST" } }, { ip = { "127.0.0.1" } }, { ip = { "127.255.255.254" } },
    { ip = { "::1" } }, { ip = { "0:0:0:0:0:0:0:1" } }, { ip = { "10.20.30.40" } },
    { email = { "alice@app.test" } }, { email = { "root@localhost" } },
    { uri = { "spiffe://app.test/ns/web" } }, { uri = { "https://user@api.internal:8443/x" } },
}
for _, names in ipairs(inside) do
    local ok, why = check(names)
    local label = next(names) .. ":" .. select(2, next(names))[1]
    case("inside: " .. label, ok, why)
end
local outside_names = {
    { { dns = { "example.com" } }, "DNS:example.com is outside the permitted DNS names " ..
      "(localhost, test, internal)" },
    { { dns = { "attest" } }, "DNS:attest is outside" },       -- a suffix, not a subdomain
    { { dns = { "localhost.example.com" } }, "DNS:localhost.example.com is outside" },
    { { dns = { "app.test", "app.example" } }, "DNS:app.example is outside" },
    { { ip = { "128.0.0.1" } }, "IP:128.0.0.1 is outside the permitted IP names " ..
      "(127.0.0.0/8, ::1/128, 10.0.0.0/8)" },
    { { ip = { "192.168.1.1" } }, "IP:192.168.1.1 is outside" },
    { { ip = { "::2" } }, "IP:::2 is outside" },
    { { ip = { "::ffff:127.0.0.1" } }, "IP:::ffff:127.0.0.1 is outside" },
    { { email = { "alice@example.com" } }, "EMAIL:alice@example.com is outside" },
    { { email = { "alice@mail.localhost.example" } }, "EMAIL:alice@mail.localhost.example" },
    { { uri = { "spiffe://example.com/ns/web" } }, "URI:spiffe://example.com/ns/web is outside" },
    { { uri = { "urn:uuid:1234" } }, "URI:urn:uuid:1234 is outside" },
    { { uri = { "https://[::1]/" } }, "URI:https://[::1]/ is outside" },
}
local prefix = "profile server: subject_alt_name: "
for _, o in ipairs(outside_names) do
    local ok, why = check(o[1])
    case("outside: " .. o[2], not ok and why:find(prefix .. o[2], 1, true) == 1 and
        why:sub(-#"(issuer intermediate, rule issuer-name-constraints)") ==
        "(issuer intermediate, rule issuer-name-constraints)", why)
end
local ok, why = check({ ip = { "not-an-ip" } })
case("a name that is not one is refused, by core's message", not ok and why ==
    line("subject_alt_name", "IP:not-an-ip: name: invalid IP address 'not-an-ip'"), why)

-- Without DNS names, the CN is checked as one (GnuTLS does, and rejects).
ok, why = check({ email = { "alice@app.test" } }, inter,
    { { "O", "Simple Inc" }, { "CN", "alice" } })
case("a CN outside, without DNS names", not ok and why == line("subject",
    "CN alice is outside the permitted DNS names (localhost, test, internal); without a " ..
    "DNS name, GnuTLS checks the CN as one"), why)
ok, why = check({ ip = { "127.0.0.1" } }, inter, { { "CN", "Alice Smith" } })
case("a CN that is no DNS name is outside, without DNS names", not ok and why == line("subject",
    "CN Alice Smith is outside the permitted DNS names (localhost, test, internal); without " ..
    "a DNS name, GnuTLS checks the CN as one"), why)
case("a CN inside, without DNS names", check({ ip = { "127.0.0.1" } }, inter,
    { { "CN", "alice.test" } }))
case("a CN beside DNS names is not checked", check({ dns = { "a.test" } }, inter,
    { { "CN", "alice" } }))
case("no CN, no DNS names", check({ email = { "alice@app.test" } }, inter, { { "O", "x" } }))

-- Other constraints: each on a CA certificate signed here with them.
local function ca_with(name_constraints)
    local spec = profile.spec(inter_p)
    spec.name_constraints = name_constraints
    return assert(pki.sign(spec, inter_key, root, root_key))
end
local corp = ca_with { critical = true, permitted = { dns = { "test" } },
    excluded = { dns = { ".corp.test" } } }
ok, why = check({ dns = { "a.corp.test" } }, corp)
case("excluded subtrees", not ok and why == line("subject_alt_name",
    "DNS:a.corp.test is outside the permitted DNS names (test) or inside the excluded DNS " ..
    "names (.corp.test)"), why)
case("beside the excluded subtree", check({ dns = { "corp.test" } }, corp))
local only_excluded = ca_with { critical = true, excluded = { dns = { "example.com" } } }
ok, why = check({ dns = { "www.example.com" } }, only_excluded)
case("excluded only", not ok and why == line("subject_alt_name",
    "DNS:www.example.com is inside the excluded DNS names (example.com)"), why)
case("excluded only: the rest is permitted", check({ dns = { "example.org" } }, only_excluded))
local dotted = ca_with { critical = true, permitted = { dns = { ".test" } } }
case("a leading dot: only names under it",
    not check({ dns = { "test" } }, dotted) and check({ dns = { "a.test" } }, dotted))
case("no constraints: anything", check({ dns = { "example.com" } }, root))
case("a kind without subtrees is not constrained", check({ uri = { "urn:x" } },
    ca_with { critical = true, permitted = { dns = { "test" } } }))

-- A kept certificate's constraints compare with its profile's, IPs by value:
-- build_chain's note when they differ.
local function note(name_constraints, cert, base)
    local copy = {}
    for k, v in pairs(base or inter_p) do
        copy[k] = v
    end
    copy.name_constraints = name_constraints
    return chain.difference((cert or inter):info(), copy)
end
case("info and profile constraints are the same", note(nc) == nil, note(nc))
case("an unconstrained certificate is told apart", note(nc, root, root_p) ==
    "it has no name constraints, the profile asks for them")
case("a constrained certificate, a profile without", note(nil) ==
    "it has name constraints, the profile has none")
case("one more range is a difference", note { critical = true, permitted = {
    dns = nc.permitted.dns, email = nc.permitted.email, uri = nc.permitted.uri,
    ip = { "127.0.0.0/8", "0:0::1/128", "10.0.0.0/8", "192.168.0.0/16" } } } ==
    "name_constraints.permitted.ip differs from the profile")
case("the same ranges spelled otherwise", note { critical = true, permitted = {
    dns = nc.permitted.dns, email = nc.permitted.email, uri = nc.permitted.uri,
    ip = { "10.0.0.0/8", "0:0::1/128", "127.0.0.0/8" } } } == nil)
case("DNS subtrees compare without case", note { critical = true, permitted = {
    dns = { "LOCALHOST", "Test", "internal" }, email = nc.permitted.email,
    uri = nc.permitted.uri, ip = nc.permitted.ip } } == nil)
case("criticality is a difference", note { permitted = nc.permitted } ==
    "name_constraints criticality differs from the profile")

-- build_chain refuses a server profile outside its issuer's constraints
-- before anything is signed.
assert(os.execute(("cp %s/*.lua %s/names/"):format(shipped, tmp)))
local text = assert(io.open(shipped .. "/server.lua")):read("a")
write("server", (text:gsub('"localhost"', '"example.com"')), tmp .. "/names")
local profiles, perr2 = chain.load_profiles(tmp .. "/names")
case("load_profiles refuses names outside the intermediate", profiles == nil and perr2 ==
    "profile server: subject_alt_name: DNS:example.com is outside the permitted DNS names " ..
    "(localhost, test, internal) (issuer intermediate, rule issuer-name-constraints)", perr2)

-- The intermediate's own lists are checked as data (no throwaway CA is
-- signed for it): a bad range is the intermediate profile's fault.
local itext = assert(io.open(tmp .. "/names/intermediate.lua")):read("a")
write("intermediate", (itext:gsub('"127%.0%.0%.0/8"', '"127.0.0.1"')), tmp .. "/names")
profiles, perr2 = chain.load_profiles(tmp .. "/names")
case("load_profiles names the intermediate for a bad range", profiles == nil and
    perr2:find("profile intermediate: nameConstraints: invalid IP address range (use a CIDR " ..
    "such as 10.0.0.0/8) '127.0.0.1'", 1, true) ~= nil, perr2)
write("intermediate", itext, tmp .. "/names")

-- The check at signing time holds on its own: with the check above skipped,
-- a build that re-signs root and intermediate (--force) refuses the server
-- against the intermediate it has just signed, inside the transaction, so
-- the database rolls back and no file is written.
local function slurp(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local data = f:read("a")
    f:close()
    return data
end
local out = tmp .. "/out"
local built, berr = chain.build { profiles = shipped, out = out }
case("a chain to refuse into", built ~= nil, berr)
local files = { "root.pem", "root.key", "intermediate.pem", "intermediate.key", "server.pem",
    "server.key", "server-chain.pem", "ca.db" }
local before = {}
for _, f in ipairs(files) do
    before[f] = slurp(out .. "/" .. f)
end
local load_profiles = chain.load_profiles
chain.load_profiles = function(dir)
    local ps = {}
    for _, name in ipairs(chain.order) do
        ps[name] = assert(profile.load(dir, name))
    end
    return ps
end
local refused_at_signing = line("subject_alt_name",
    "DNS:example.com is outside the permitted DNS names (localhost, test, internal)")
local report, rerr, rcode = chain.build { profiles = tmp .. "/names", out = out, force = true }
case("signing time: refused against the intermediate just signed", report == nil and
    rerr == refused_at_signing and rcode == "policy", rerr)
for _, f in ipairs(files) do
    case("signing time: " .. f .. " unchanged", before[f] ~= nil and
        slurp(out .. "/" .. f) == before[f])
end
local store = assert(pki.open_store(out .. "/ca.db"))
case("signing time: the database holds the first build only", store:count() == 4,
    store:count())
store:close()
report, rerr = chain.build { profiles = tmp .. "/names", out = tmp .. "/fresh" }
case("signing time, new folder: refused", report == nil and rerr == refused_at_signing, rerr)
for _, f in ipairs(files) do
    if f ~= "ca.db" then
        case("signing time, new folder: no " .. f, slurp(tmp .. "/fresh/" .. f) == nil)
    end
end
store = assert(pki.open_store(tmp .. "/fresh/ca.db"))
case("signing time, new folder: nothing recorded", store:count() == 0, store:count())
store:close()
chain.load_profiles = load_profiles

------------------------------------------------- many profiles, one child

-- Count the sandbox children (each pki.run_bounded_each call is one, while
-- no profile is killed) and the files they run.
local run_each = pki.run_bounded_each
local children, ran = 0, 0
pki.run_bounded_each = function(fns, ...)
    children, ran = children + 1, ran + #fns
    return run_each(fns, ...)
end

local shipped_profiles, serr = chain.load_profiles(shipped)
case("the shipped chain's profiles load", shipped_profiles ~= nil and
    shipped_profiles.server.crl_distribution_points[1]:find("^http://") ~= nil, serr)
case("the shipped chain's profiles: one sandbox child, one run per file", children == 1 and
    ran == 4, children .. " children, " .. ran .. " runs")

-- An extends chain two deep: a child per level, as the files are found,
-- and each file run once however many profiles read it.
children, ran = 0, 0
local many = profile.load_many(tmp, { "grandchild", "child", "base" })
case("load_many: extends across batches", many.grandchild[1] ~= nil and
    many.grandchild[1].validity_days == 20 and many.child[1] ~= nil and many.base[1] ~= nil,
    many.grandchild[2])
case("load_many: each file run once", ran == 3 and children == 1,
    children .. " children, " .. ran .. " runs")
local again = profile.load_many(tmp, { "child", "child" })
case("load_many: loaded twice, the same", again.child[1].key.curve == "P-256")
case("load_many: each load a table of its own", many.child[1] ~= again.child[1] and
    many.base[1].key ~= many.child[1].key)

-- A hostile profile in the batch is bounded on its own and named; the
-- others load as if it were not there, those after it included.
write("good_a", "return { " .. minimal .. ", description = 'a' }")
write("good_b", "return { " .. minimal .. ", description = 'b' }")
write("hog2", "local a = string.rep('x', 2^30)\nreturn { " .. minimal .. ", a = a }")
write("loop2", "local n = 0\nwhile true do n = n + 1 end\n")
children, ran = 0, 0
started = os.time()
many = profile.load_many(tmp, { "good_a", "backtrack", "hog2", "loop2", "good_b" })
case("in a batch: the good ones load", many.good_a[1] and many.good_a[1].description == "a"
    and many.good_b[1] and many.good_b[1].description == "b")
case("in a batch: the backtracking one is stopped by its own deadline",
    many.backtrack[2] == tmp .. "/backtrack.lua: ran past " .. sandbox.max_seconds ..
    " seconds (a pattern that backtracks for ever?); a profile is data", many.backtrack[2])
case("in a batch: within one deadline", os.time() - started <= sandbox.max_seconds + 20,
    os.time() - started .. " s")
case("in a batch: the memory hog names its file", many.hog2[2] == tmp .. "/hog2.lua: needs " ..
    "more than 64 MiB of memory; a profile is data", many.hog2[2])
case("in a batch: the endless loop names file and line", many.loop2[2] and
    many.loop2[2]:find(tmp .. "/loop2.lua:2: ran past " .. sandbox.max_instructions ..
        " instructions", 1, true), many.loop2[2])
case("in a batch: a new child only after the kill", children == 1 and ran == 5,
    children .. " calls, " .. ran .. " runs")
pki.run_bounded_each = run_each

t.cleanup()
t.done()
