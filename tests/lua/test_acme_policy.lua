-- The ACME decisions serve.lua --acme makes (chainsmith/acme_policy.lua,
-- acme_service.lua's decider): accounts, orders, finalize through ca:issue,
-- revocation through ca:revoke, on a real chain and ca.db. The asks are
-- plain tables shaped as acme:next gives them (docs/acme.md): data, not a
-- server; the server side is tests/e2e/acme_serve.sh's.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local chain = require "chainsmith.chain"
local ca_mod = require "chainsmith.ca"
local engine = require "chainsmith.policy_engine"
local acme_policy = require "chainsmith.acme_policy"
local acme_service = require "chainsmith.acme_service"

local profiles = "../../scripts/profiles"
local dir = t.tmpdir() .. "/chain"
assert(chain.build { out = dir, profiles = profiles })
local root = assert(pki.read_cert(dir .. "/root.pem"))
local inter = assert(pki.read_cert(dir .. "/intermediate.pem"))

-- The shipped profiles with wildcards allowed for servers.
local wild_profiles = t.tmpdir() .. "/profiles"
os.execute(("cp -r %s %s"):format(t.quote(profiles), t.quote(wild_profiles)))
do
    local f = wild_profiles .. "/server.lua"
    local text = t.read_file(f):gsub("allow_wildcard = false", "allow_wildcard = true")
    t.write_file(f, text)
end

-- A policy module: scripts/policy.lua's data with policy.acme replaced.
local function policy_with(acme)
    local base = dofile("../../scripts/policy.lua")
    return engine.new { keys = base.keys, issuance = base.issuance, rules = base.rules,
        acme = acme }
end

local function open_ca(acme, profile_dir)
    return assert(ca_mod.open { dir = dir, profiles = profile_dir or profiles,
        policy = policy_with(acme) })
end

local function ids(...)
    local list = {}
    for _, v in ipairs { ... } do
        local ty, value = v:match("^(%a+):(.*)$")
        list[#list + 1] = { type = ty, value = value }
    end
    return list
end

local account = { id = "acct-1", contact = { "mailto:ops@example.test" } }

local function order_ask(...)
    return { id = 1, kind = "order", account = account, identifiers = ids(...) }
end

-- decide(ask) must refuse with this type and a detail matching pattern.
local function expect_refusal(name, decider, ask, kind, pattern)
    t.case(name, function()
        local a = decider:decide(ask)
        assert(a.ok == false, "expected a refusal, got ok")
        assert(a.type == kind, ("type %s, expected %s (%s)"):format(tostring(a.type), kind,
            tostring(a.detail)))
        assert(tostring(a.detail):find(pattern),
            ("detail %q does not match %q"):format(tostring(a.detail), pattern))
    end)
end

local ca = open_ca(nil)
local d = acme_service.decider(ca)

-- Accounts
t.case("account: any by default", function()
    local a = d:decide { id = 1, kind = "account", account = account }
    assert(a.ok == true and a.type == nil)
end)
do
    local only = open_ca { account = function(ask)
        for _, c in ipairs(ask.account.contact or {}) do
            if c:find("@example%.test$") then
                return true
            end
        end
        return nil, "register with an address at example.test"
    end }
    local od = acme_service.decider(only)
    t.case("account: the hook admits", function()
        assert(od:decide { id = 1, kind = "account", account = account }.ok)
    end)
    expect_refusal("account: the hook refuses, unauthorized, its words", od,
        { id = 2, kind = "account", account = { id = "x", contact = { "mailto:a@b.test" } } },
        "unauthorized", "^register with an address at example%.test$")
    only:close()
    local raising = open_ca { account = function() error("boom in the hook") end }
    t.case("account: a hook that raises is serverInternal, its error for the log only",
        function()
            local a, log = acme_service.decider(raising):decide { id = 3, kind = "account",
                account = account }
            assert(not a.ok and a.type == "serverInternal", tostring(a.type))
            assert(not a.detail:find("boom"), a.detail)
            assert(log and log:find("boom in the hook"), tostring(log))
        end)
    raising:close()
end

-- Orders
t.case("order: names under the intermediate's constraints: server profile, 3 challenges",
    function()
        local a = d:decide(order_ask("dns:a.test", "dns:www.a.test"))
        assert(a.ok, a.detail)
        assert(a.profile == "server")
        assert(table.concat(a.challenges, " ") == "http-01 tls-alpn-01 dns-01")
    end)
expect_refusal("order: IP identifiers are not taken by default", d, order_ask("ip:127.0.0.1"),
    "unsupportedIdentifier", "identifier type 'ip' is not supported here %(dns%)")
local with_ip = open_ca { identifier_types = { "dns", "ip" } }
local ipd = acme_service.decider(with_ip)
t.case("order: IP identifiers (RFC 8738) inside the constraints, when the policy takes them",
    function()
        local a = ipd:decide(order_ask("ip:127.0.0.1"))
        assert(a.ok, a.detail)
    end)
t.case("order: upper case and IDN names are taken in their A-label form", function()
    local a = d:decide(order_ask("dns:A.Test", "dns:bücher.test"))
    assert(a.ok, a.detail)
end)
expect_refusal("order: a name outside the nameConstraints is rejectedIdentifier", d,
    order_ask("dns:a.test", "dns:example.com"), "rejectedIdentifier",
    "name example%.com: outside the nameConstraints of .*%(rule name%-constraints%)")
expect_refusal("order: an IP outside them", ipd, order_ask("ip:8.8.8.8"), "rejectedIdentifier",
    "name 8%.8%.8%.8: outside the nameConstraints")
with_ip:close()
expect_refusal("order: a wildcard under a profile without allow_wildcard", d,
    order_ask("dns:*.a.test"), "rejectedIdentifier",
    "wildcards are not allowed for profile server %(set allow_wildcard = true in .*rule "
        .. "allow%-wildcard")
expect_refusal("order: an identifier type we do not take", d,
    { id = 1, kind = "order", account = account, identifiers = ids("email:a@a.test") },
    "unsupportedIdentifier", "identifier type 'email' is not supported here %(dns%)")
expect_refusal("order: a malformed name", d, order_ask("dns:a..test"), "rejectedIdentifier",
    "dns a%.%.test")
expect_refusal("order: no identifiers", d, order_ask(), "malformed", "no identifier")

local wild = open_ca(nil, wild_profiles)
local wd = acme_service.decider(wild)
t.case("order: a wildcard where the profile allows it", function()
    local a = wd:decide(order_ask("dns:*.a.test", "dns:a.test"))
    assert(a.ok, a.detail)
    assert(a.profile == "server")
end)
t.case("order: a profile edited while serving is read again (the cache follows the files)",
    function()
        local f = wild_profiles .. "/server.lua"
        local before = t.read_file(f)
        assert(wd:decide(order_ask("dns:*.a.test")).ok)
        t.write_file(f, (before:gsub("allow_wildcard = true", "allow_wildcard = false")))
        local a = wd:decide(order_ask("dns:*.a.test"))
        t.write_file(f, before)
        assert(not a.ok and a.detail:find("allow_wildcard", 1, true), tostring(a.detail))
        assert(wd:decide(order_ask("dns:*.a.test")).ok, "edited back")
    end)
expect_refusal("order: a wildcard inside the constraints still needs one label first", wd,
    order_ask("dns:*.test"), "rejectedIdentifier", "at least two labels after '%*%.'")
do
    local nodns = open_ca({ challenges = { "http-01" } }, wild_profiles)
    expect_refusal("order: a wildcard when the policy offers no dns-01",
        acme_service.decider(nodns), order_ask("dns:*.a.test"), "rejectedIdentifier",
        "wildcard names need the dns%-01 challenge")
    nodns:close()
end

do
    local allow = open_ca {
        profile = function(ask)
            return ask.identifiers[1].value:find("%.clients%.internal$") and "client" or "server"
        end,
        identifier_types = { "dns" },
        order = function(ask, decision)
            if #ask.identifiers > 2 then
                return nil, "at most 2 names per order"
            end
            if decision.profile == "client" then
                decision.challenges = { "dns-01" }
            end
            return true
        end,
    }
    local ad = acme_service.decider(allow)
    t.case("order: the profile function chooses, the hook narrows the challenges", function()
        local a = ad:decide(order_ask("dns:alice.clients.internal"))
        assert(a.ok, a.detail)
        assert(a.profile == "client" and #a.challenges == 1 and a.challenges[1] == "dns-01")
        local b = ad:decide(order_ask("dns:a.test"))
        assert(b.ok and b.profile == "server" and #b.challenges == 3)
    end)
    expect_refusal("order: the hook refuses in its words", ad,
        order_ask("dns:a.test", "dns:b.test", "dns:c.test"), "rejectedIdentifier",
        "^at most 2 names per order$")
    expect_refusal("order: identifier_types narrowed to dns", ad, order_ask("ip:127.0.0.1"),
        "unsupportedIdentifier", "'ip'")
    allow:close()
end

do
    local typo = open_ca { profil = "server" }
    t.case("a typo in policy.acme is serverInternal naming the field, for the log", function()
        local a, log = acme_service.decider(typo):decide(order_ask("dns:a.test"))
        assert(not a.ok and a.type == "serverInternal")
        assert(log and log:find("policy: acme: unknown field 'profil'", 1, true), tostring(log))
    end)
    typo:close()
    t.case("acme_policy.settings: an unknown challenge type is named", function()
        local s, err = acme_policy.settings { acme = { challenges = { "http-01", "ftp-01" } } }
        assert(s == nil and err:find("acme.challenges[2]: unknown challenge type 'ftp-01'", 1,
            true), err)
    end)
    t.case("acme_policy.settings: a wrong type is named", function()
        local s, err = acme_policy.settings { acme = { profile = 3 } }
        assert(s == nil and err:find("acme.profile: expected", 1, true), err)
    end)
    t.case("acme_policy.settings: the shipped policy.lua passes", function()
        assert(acme_policy.settings(dofile("../../scripts/policy.lua")))
    end)
end

-- Finalize: a real CSR through ca:issue
local function csr_for(names, key)
    key = key or assert(pki.generate_key { type = "ec", curve = "P-256" })
    local list = {}
    for _, n in ipairs(names) do
        list[#list + 1] = { type = n:match("^(%a+):"), value = n:match(":(.*)$") }
    end
    return assert(pki.make_csr { key = key, subject = { { "CN", list[1].value } },
        names = list }):der(), key
end

local function finalize_ask(csr, ...)
    return { id = 7, kind = "finalize", account = account, order = "order-1",
        profile = "server", identifiers = ids(...), csr = csr }
end

local issued
t.case("finalize: issued under the order's profile, chain verifies, recorded", function()
    local csr = csr_for { "dns:app.test", "dns:www.app.test" }
    local a = d:decide(finalize_ask(csr, "dns:app.test", "dns:www.app.test"))
    assert(a.ok, a.detail)
    local certs = {}
    for pem in a.chain:gmatch("%-%-%-%-%-BEGIN CERTIFICATE.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-") do
        certs[#certs + 1] = assert(pki.load_cert(pem))
    end
    assert(#certs == 2 and certs[2]:info().fingerprint == inter:info().fingerprint)
    assert(certs[1]:serial() == a.serial)
    assert(pki.verify { leaf = certs[1], chain = { inter }, roots = { root } })
    local info = certs[1]:info()
    assert(info.subject_alt_name.dns[1] == "app.test" and info.subject_alt_name.dns[2]
        == "www.app.test")
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    local found, pname = assert(store:find(a.serial))
    assert(found and pname == "server")
    issued = a.serial
end)
t.case("finalize: the parsed_csr the request's thread hands over is the one issued for",
    function()
        local der = csr_for { "dns:parsed.app.test" }
        local ask = finalize_ask(der, "dns:parsed.app.test")
        ask.parsed_csr = assert(pki.load_csr(der))
        ask.csr = csr_for { "dns:other.app.test" } -- would be refused: not the order's name
        local load = pki.load_csr
        pki.load_csr = function() error("parsed again", 2) end
        local ok, a = pcall(d.decide, d, ask)
        pki.load_csr = load
        assert(ok, a)
        assert(a.ok, a.detail)
        assert(pki.load_cert(a.chain):info().subject_alt_name.dns[1] == "parsed.app.test")
    end)
expect_refusal("finalize: a CSR the policy refuses is badCSR naming the rule", d,
    finalize_ask((csr_for { "dns:app.example.com" }), "dns:app.example.com"), "badCSR",
    "outside the nameConstraints .*rule name%-constraints")
do
    local der = t.tmpdir() .. "/rsa1024.der"
    assert(os.execute(("env -u LD_PRELOAD openssl req -new -newkey rsa:1024 -nodes -keyout "
        .. "/dev/null -subj /CN=k.test -addext subjectAltName=DNS:k.test -outform DER -out %s "
        .. ">/dev/null 2>&1"):format(t.quote(der))))
    expect_refusal("finalize: a key we do not take (RSA 1024) is badCSR naming it", d,
        finalize_ask(t.read_file(der), "dns:k.test"), "badCSR",
        "unsupported RSA key size 1024 bits")
end
t.case("finalize: without the order's profile, the policy's profile is used", function()
    local ask = finalize_ask((csr_for { "dns:p.test" }), "dns:p.test")
    ask.profile = nil
    local a = d:decide(ask)
    assert(a.ok, a.detail)
end)
do
    local no = open_ca { finalize = function(_, profile)
        return nil, "no issuance under " .. profile .. " today"
    end }
    expect_refusal("finalize: the hook refuses, badCSR in its words",
        acme_service.decider(no), finalize_ask((csr_for { "dns:h.test" }), "dns:h.test"),
        "badCSR", "^no issuance under server today$")
    no:close()
end
expect_refusal("finalize: garbage for a CSR is badCSR", d, finalize_ask("not a csr",
    "dns:x.test"), "badCSR", ".")

-- A serve loop turn's finalizes in one transaction (acme_service.finalize_batch):
-- one that raises after its certificate was inserted (pki.verify, wrapped
-- here) is undone alone, the others are recorded and answered.
t.case("finalize batch: a failed issue undoes only itself", function()
    local verify = pki.verify
    pki.verify = function(opts)
        if opts.leaf:info().subject_alt_name.dns[1] == "boom.test" then
            error("a bug after the insert")
        end
        return verify(opts)
    end
    local asks = {}
    for i, name in ipairs { "b1.test", "boom.test", "b2.test" } do
        asks[i] = finalize_ask((csr_for { "dns:" .. name }), "dns:" .. name)
    end
    local before = ca.store:count()
    local ok, answers, problems = pcall(acme_service.finalize_batch, d, asks)
    pki.verify = verify
    assert(ok, answers)
    assert(answers[1].ok and answers[3].ok, tostring(answers[1].detail))
    assert(answers[2].ok == false and answers[2].type == "serverInternal")
    assert(tostring(problems[2]):find("a bug after the insert"), tostring(problems[2]))
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    assert(store:count() == before + 2, ("%d rows, %d before"):format(store:count(), before))
    assert(store:find(answers[1].serial) and store:find(answers[3].serial))
    assert(#assert(store:list { name = "boom.test" }) == 0)
    -- and the CA's store is out of the batch: the next issue commits alone
    local a = d:decide(finalize_ask((csr_for { "dns:b3.test" }), "dns:b3.test"))
    assert(a.ok, a.detail)
    assert(store:find(a.serial))
end)

-- Revocation: ca:revoke, then the CRL says so and on_revoked is called
local seen
local rd = acme_service.decider(ca, function(r) seen = r end)
t.case("revoke: recorded, the CRL lists it, on_revoked is told", function()
    assert(issued, "finalize must have issued first")
    local a = rd:decide { id = 9, kind = "revoke", account = account, serial = issued,
        reason = 1, by = "account" }
    assert(a.ok, a.detail)
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    local st = assert(store:status(issued))
    assert(st.status == "revoked" and st.reason == "keyCompromise", st.status)
    local crl = assert(pki.read_crl(dir .. "/intermediate.crl"))
    local listed = false
    for _, e in ipairs(crl:info().revoked) do
        listed = listed or e.serial == issued
    end
    assert(listed, "the CRL does not list it")
    assert(seen and seen.serial == issued)
end)
expect_refusal("revoke: twice is alreadyRevoked", rd,
    { id = 10, kind = "revoke", account = account, serial = issued, reason = 0, by = "key" },
    "alreadyRevoked", "already revoked")
expect_refusal("revoke: certificateHold is badRevocationReason, the accepted ones listed", rd,
    { id = 11, kind = "revoke", account = account, serial = issued, reason = 6, by = "key" },
    "badRevocationReason", "reason 6 is not accepted here; use one of: 0 %(unspecified%), "
        .. "1 %(keyCompromise%), 3 %(affiliationChanged%), 4 %(superseded%), 5 "
        .. "%(cessationOfOperation%)")
expect_refusal("revoke: cACompromise from a subscriber is refused too", rd,
    { id = 12, kind = "revoke", account = account, serial = issued, reason = 2, by = "key" },
    "badRevocationReason", "reason 2")

-- Whatever arrives, an answer goes back
expect_refusal("an unknown kind is answered, not raised", d, { id = 13, kind = "bogus" },
    "serverInternal", "unknown request")
t.case("describe: one line, no secrets", function()
    local ask = order_ask("dns:a.test")
    local line = acme_service.describe(ask, d:decide(ask))
    assert(line == "acme: order for a.test: profile server, http-01, tls-alpn-01, dns-01", line)
end)

wild:close()
ca:close()
t.cleanup()
t.done()
