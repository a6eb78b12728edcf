-- Revocation from Lua: store:revoke/status/revoked/next_crl_number,
-- pki.sign_crl and pki.crl, the spec's revocation pointers, and
-- chainsmith.ca's revoke with its refusals and the CRLs it writes.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local chain = require "chainsmith.chain"
local ca_mod = require "chainsmith.ca"

local profiles = "../../scripts/profiles"

t.case("store: revoke, status, revoked list, CRL numbers", function()
    local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
    local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
    local root = assert(store:issue(t.root_spec(), k, nil, k, "root"))
    local leaf = assert(store:issue(t.leaf_spec(), k, root, k, "server"))
    local issuer = root:info().subject_line
    local st = assert(store:status(leaf:serial(), issuer))
    assert(st.status == "good" and st.not_after == leaf:info().not_after and not st.reason)
    assert(store:revoke(leaf:serial(), { issuer = issuer, reason = "superseded", at = 1700000000 })
        == true)
    st = assert(store:status(leaf:serial():lower()))
    assert(st.status == "revoked" and st.reason == "superseded" and st.reason_code == 4
        and st.revoked_at == 1700000000, st.status)
    assert(store:status("0123ABCD", issuer).status == "unknown")
    local list = assert(store:revoked(issuer))
    assert(#list == 1 and list[1].serial == leaf:serial() and list[1].reason == "superseded")
    assert(store:next_crl_number(issuer) == 1 and store:next_crl_number(issuer) == 2)
    local ok, msg, code = store:revoke(leaf:serial(), { reason = "keyCompromise" })
    assert(ok == nil and code == "exists" and msg:find("already revoked at 2023%-11%-14")
        and msg:find("superseded"), msg)
    ok, msg, code = store:revoke("0123ABCD")
    assert(ok == nil and code == "notfound" and msg:find("0123ABCD"), msg)
    ok, msg, code = store:revoke(leaf:serial(), { reason = "certificateHold" })
    assert(ok == nil and code == "invalid" and msg:find("unknown reason 'certificateHold'")
        and msg:find("keyCompromise, cACompromise"), msg)
    ok, msg, code = store:revoke(leaf:serial(), { reason = 8 })
    assert(ok == nil and code == "invalid" and msg:find("8"), msg)
end)

t.case("store:list: plain tables, status, filters", function()
    local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
    local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
    local root = assert(store:issue(t.root_spec(), k, nil, k, "root"))
    local a = assert(store:issue(t.leaf_spec("a.test"), k, root, k, "server"))
    local b = assert(store:issue(t.leaf_spec("b.test"), k, root, k, "client"))
    local old = t.leaf_spec("old.test")
    old.validity_days = nil
    old.not_before, old.not_after = os.time() - 3 * 86400, os.time() - 86400
    local c = assert(store:issue(old, k, root, k, "server"))
    assert(store:revoke(b:serial(), { reason = "keyCompromise", at = 1700000000 }))
    local all = assert(store:list())
    assert(#all == 4, #all)
    local r = all[2]
    assert(r.serial == a:serial() and r.subject == a:info().subject_line
        and r.issuer == root:info().subject_line and r.profile == "server"
        and r.status == "good" and r.not_after == a:info().not_after
        and r.sans:find("DNS:a.test", 1, true) and #r.fingerprint == 64 and not r.revoked_at,
        r.sans)
    assert(all[3].status == "revoked" and all[3].reason == "keyCompromise"
        and all[3].reason_code == 1 and all[3].revoked_at == 1700000000)
    assert(all[4].status == "expired" and all[4].serial == c:serial())
    local function serials(list)
        local out = {}
        for i, x in ipairs(list) do out[i] = x.serial end
        return table.concat(out, ",")
    end
    assert(serials(store:list { status = "good" }) == root:serial() .. "," .. a:serial())
    assert(serials(store:list { status = "revoked" }) == b:serial())
    assert(serials(store:list { status = "expired" }) == c:serial())
    assert(serials(store:list { profile = "server" }) == a:serial() .. "," .. c:serial())
    assert(serials(store:list { name = "B.TEST" }) == b:serial())
    assert(#store:list { issuer = "CN=Nobody" } == 0)
    -- at a later "now", the root and a (issued first, same days) are expired too
    assert(serials(store:list { status = "expired", now = a:info().not_after + 1 })
        == root:serial() .. "," .. a:serial() .. "," .. c:serial())
end)

t.expect_error("store:list: an unknown status raises", "status: expected 'any', 'good'",
    function()
        local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
        return store:list { status = "valid" }
    end)

t.expect_error("store:list: an unknown option raises", "unknown option 'profil'",
    function()
        local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
        return store:list { profil = "server" }
    end)

t.expect_error("store:revoke: an unknown option raises", "unknown option 'reasn'",
    function()
        local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
        return store:revoke("01", { reasn = "keyCompromise" })
    end)

t.expect_error("store:revoke: a time that is no integer raises", "at: integer expected",
    function()
        local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
        return store:revoke("01", { at = "now" })
    end)

t.expect_error("store:revoke: a fractional time raises", "at: integer expected, got float",
    function()
        local store <close> = assert(pki.open_store(t.tmpdir() .. "/ca.db"))
        return store:revoke("01", { at = 1.5 })
    end)

t.case("pki.crl_reasons lists the allowed names in code order", function()
    local r = pki.crl_reasons()
    assert(#r == 8 and r[1] == "unspecified" and r[2] == "keyCompromise"
        and r[7] == "privilegeWithdrawn" and r[8] == "aACompromise", table.concat(r, ","))
end)

t.case("sign_crl: entries, number, times; info and verify", function()
    local c = t.chain()
    local crl = assert(pki.sign_crl { issuer = c.inter, key = c.inter_key, number = 7,
        this_update = 1700000000, next_update_days = 7,
        revoked = { { serial = c.leaf:serial(), revoked_at = 1699999000, reason = "keyCompromise" },
            { serial = "0A", revoked_at = 1699999500 } } })
    local info = crl:info()
    assert(info.version == 2 and info.number == 7 and info.this_update == 1700000000
        and info.next_update == 1700000000 + 7 * 86400)
    assert(info.issuer_line == c.inter:info().subject_line)
    assert(info.authority_key_id == c.inter:info().subject_key_id)
    assert(#info.revoked == 2)
    local by = {}
    for _, e in ipairs(info.revoked) do
        by[e.serial] = e
    end
    assert(by[c.leaf:serial()].reason == "keyCompromise" and by["0A"].reason == "unspecified")
    assert(crl:verify(c.inter) == true)
    local ok, msg, code = crl:verify(c.root)
    assert(ok == nil and code == "verify", msg)
    local again = assert(pki.load_crl(crl:der()))
    assert(again:pem() == crl:pem())
    assert(tostring(crl):find("^pki%.crl %("))
end)

t.case("sign_crl: bad data is invalid, naming the field", function()
    local c = t.chain()
    local base = function()
        return { issuer = c.inter, key = c.inter_key, number = 1, next_update_days = 7 }
    end
    local p = base()
    p.number = nil
    local ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid" and msg:find("number"), msg)
    p = base()
    p.next_update = os.time() + 10
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid" and msg:find("exactly one"), msg)
    p = base()
    p.revoked = { { serial = "zz", revoked_at = 1 } }
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid" and msg:find("zz"), msg)
    p = base()
    p.revoked = { { serial = "01", revoked_at = 1, reason = "hold" } }
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid" and msg:find("revoked%[1%]%.reason"), msg)
    p = base()
    p.revoked = { { serial = "01" } }
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid" and msg == "revoked[1]: missing field 'revoked_at'",
        msg)
    p = base()
    p.revoked = { { serial = "01", revoked_at = 1.5 } }
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid"
        and msg == "revoked[1].revoked_at: expected integer, got float", msg)
    p = base()
    p.this_update = "now"
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "invalid"
        and msg == "crl.this_update: expected integer, got string", msg)
    p = base()
    p.key = c.leaf_key
    ok, msg, code = pki.sign_crl(p)
    assert(ok == nil and code == "mismatch", msg)
end)

t.expect_error("sign_crl: a missing issuer raises naming it", "issuer: pki.cert expected, got nil",
    pki.sign_crl, { key = assert(pki.generate_key { type = "ed25519" }), number = 1,
        next_update_days = 1 })
t.expect_error("sign_crl: an unknown option raises", "unknown option 'numbr'",
    pki.sign_crl, { numbr = 1 })

t.case("spec: crl_distribution_points, authority_info_access, ocsp_no_check", function()
    local c = t.chain()
    local spec = t.leaf_spec()
    spec.crl_distribution_points = { "http://localhost:8080/crl/intermediate.crl" }
    spec.authority_info_access = { ocsp = { "http://localhost:8080/ocsp" },
        ca_issuers = { "http://localhost:8080/intermediate.pem" } }
    spec.ocsp_no_check = true
    local no, why, wcode = pki.sign(spec, c.leaf_key, c.inter, c.inter_key)
    assert(no == nil and wcode == "invalid" and why:find("OCSPSigning"), why)
    spec.extended_key_usage = { "OCSPSigning" }
    spec.subject_alt_name = { dns = { "ocsp.localhost" } }
    spec.subject = { { "CN", "ocsp.localhost" } }
    local leaf = assert(pki.sign(spec, c.leaf_key, c.inter, c.inter_key))
    local info = leaf:info()
    assert(info.crl_distribution_points[1] == spec.crl_distribution_points[1])
    assert(info.authority_info_access.ocsp[1] == "http://localhost:8080/ocsp")
    assert(info.authority_info_access.ca_issuers[1] == "http://localhost:8080/intermediate.pem")
    assert(info.ocsp_no_check == true)
    -- an info is a spec again
    info.serial = nil
    local again = assert(pki.sign(info, c.leaf_key, c.inter, c.inter_key))
    assert(again:info().authority_info_access.ocsp[1] == "http://localhost:8080/ocsp")
    spec.authority_info_access = { ocps = {} }
    local ok, msg, code = pki.sign(spec, c.leaf_key, c.inter, c.inter_key)
    assert(ok == nil and code == "invalid" and msg:find("unknown field 'ocps'"), msg)
    spec.authority_info_access = nil
    spec.crl_distribution_points = { 42 }
    ok, msg, code = pki.sign(spec, c.leaf_key, c.inter, c.inter_key)
    assert(ok == nil and code == "invalid" and msg:find("crl_distribution_points%[1%]"), msg)
    spec.crl_distribution_points = { "not a uri" }
    ok, msg, code = pki.sign(spec, c.leaf_key, c.inter, c.inter_key)
    assert(ok == nil and code == "invalid" and msg:find("cRLDistributionPoints"), msg)
end)

-- The shipped profiles, built: CRLs beside the chain, URLs in the certificates.
local dir = t.tmpdir() .. "/chain"
local report = assert(chain.build { out = dir, profiles = profiles })
t.case("build_chain signs both CRLs, number 1, empty", function()
    assert(#report.crls == 2)
    for _, name in ipairs { "root", "intermediate" } do
        local crl = assert(pki.read_crl(dir .. "/" .. name .. ".crl"))
        local pem = assert(pki.read_crl(dir .. "/" .. name .. ".crl.pem"))
        assert(crl:der() == pem:der())
        local info = crl:info()
        assert(info.number == 1 and #info.revoked == 0, name)
        assert(crl:verify(assert(pki.read_cert(dir .. "/" .. name .. ".pem"))))
    end
    local root_crl = assert(pki.read_crl(dir .. "/root.crl")):info()
    assert(root_crl.next_update - root_crl.this_update == 30 * 86400)
    local inter_crl = assert(pki.read_crl(dir .. "/intermediate.crl")):info()
    assert(inter_crl.next_update - inter_crl.this_update == 7 * 86400)
    local server = assert(pki.read_cert(dir .. "/server.pem")):info()
    assert(server.crl_distribution_points[1] == "http://localhost:8080/crl/intermediate.crl")
    assert(server.authority_info_access.ocsp[1] == "http://localhost:8080/ocsp")
    local inter = assert(pki.read_cert(dir .. "/intermediate.pem")):info()
    assert(inter.crl_distribution_points[1] == "http://localhost:8080/crl/root.crl")
end)

t.case("a rebuild keeps fresh CRLs; a missing one is signed again, number 2", function()
    local again = assert(chain.build { out = dir, profiles = profiles })
    assert(#again.crls == 0)
    os.remove(dir .. "/intermediate.crl.pem")
    again = assert(chain.build { out = dir, profiles = profiles })
    assert(#again.crls == 1 and again.crls[1].name == "intermediate"
        and again.crls[1].number == 2 and again.crls[1].why == "missing")
end)

local ca = assert(ca_mod.open { dir = dir, profiles = profiles })
local issued = assert(ca:issue { profile = "server", names = { "revoke-me.test" } })
local other = assert(ca:issue { profile = "client", names = { "alice.test" } })

local function crl_of(name)
    return assert(pki.read_crl(("%s/%s.crl"):format(dir, name))):info()
end

t.expect_fail("revoke: an unknown serial", "notfound", "serial 0123ABCD: not in the database",
    ca.revoke, ca, { serial = "0123ABCD" })
t.expect_fail("revoke: a bad reason lists the names", "invalid",
    "unknown reason 'hold' %(one of: unspecified, keyCompromise,", ca.revoke, ca,
    { serial = issued.serial, reason = "hold" })
t.expect_fail("revoke: certificateHold is refused", "invalid", "certificateHold",
    ca.revoke, ca, { serial = issued.serial, reason = "certificateHold" })
t.expect_fail("revoke: serial and cert together", "invalid", "exactly one of 'serial' and 'cert'",
    ca.revoke, ca, { serial = issued.serial, cert = issued.cert })
t.expect_fail("revoke: not hex", "invalid", "request%.serial: expected a hexadecimal serial",
    ca.revoke, ca, { serial = "xyz" })
t.expect_fail("revoke: an unknown field", "invalid", "unknown field 'reasons'",
    ca.revoke, ca, { serial = issued.serial, reasons = "keyCompromise" })
t.expect_fail("revoke: the root itself", "invalid", "is the root itself", ca.revoke, ca,
    { cert = assert(pki.read_cert(dir .. "/root.pem")) })
t.case("refusals left the CRL alone", function()
    local info = crl_of("intermediate")
    assert(info.number == 2 and #info.revoked == 0, info.number)
end)

t.case("revoke a leaf by serial: recorded, CRL signed again", function()
    local r = assert(ca:revoke { serial = issued.serial:lower(), reason = "keyCompromise" })
    assert(r.serial == issued.serial and r.ca == "intermediate" and r.reason == "keyCompromise")
    assert(r.crl.number == 3 and r.crl.revoked == 1)
    local info = crl_of("intermediate")
    assert(info.number == 3 and #info.revoked == 1 and info.revoked[1].serial == issued.serial
        and info.revoked[1].reason == "keyCompromise")
    local st = ca.store:status(issued.serial)
    assert(st.status == "revoked" and st.reason == "keyCompromise")
end)

t.expect_fail("revoke twice: exists, saying when and why", "exists",
    "already revoked at %d+%-%d+%-%d+T.*keyCompromise", ca.revoke, ca,
    { cert = issued.cert, reason = "superseded" })

t.case("revoke by certificate, unspecified: no reason in the CRL entry", function()
    local r = assert(ca:revoke { cert = other.cert })
    assert(r.reason == "unspecified" and r.crl.number == 4 and r.crl.revoked == 2)
    local found = false
    for _, e in ipairs(crl_of("intermediate").revoked) do
        if e.serial == other.serial then
            assert(e.reason == "unspecified" and e.reason_code == 0)
            found = true
        end
    end
    assert(found, "the revoked certificate is not on the CRL")
end)

t.case("revoke the intermediate: the root's CRL", function()
    local inter = assert(pki.read_cert(dir .. "/intermediate.pem"))
    local r = assert(ca:revoke { cert = inter, reason = "cACompromise" })
    assert(r.ca == "root" and r.crl.number == 2, r.crl.number)
    local info = crl_of("root")
    assert(info.number == 2 and #info.revoked == 1 and info.revoked[1].reason == "cACompromise")
    assert(crl_of("intermediate").number == 4)
end)

ca:close()
t.expect_error("a closed CA", "closed", ca.revoke, ca, { serial = "01" })

-- pki.type knows each userdata type (keys and key generators: test_key.lua;
-- the server: test_server.lua), so scripts never match on tostring.
t.case("pki.type: cert, csr, crl, store, responder, journal", function()
    local tmp = t.tmpdir()
    local c = t.chain()
    local store <close> = assert(pki.open_store(tmp .. "/ca.db"))
    local crl = assert(pki.sign_crl { issuer = c.inter, key = c.inter_key, number = 1,
        next_update_days = 1, revoked = {} })
    local csr = assert(pki.make_csr { key = c.leaf_key })
    local r <close> = assert(pki.ocsp_responder { db = tmp .. "/ca.db", issuer = c.inter,
        key = c.inter_key })
    assert(store:begin())
    local root = assert(store:issue(t.root_spec(), c.root_key, nil, c.root_key, "root"))
    local j = assert(pki.stage_files(tmp .. "/pending", store, root,
        { { path = tmp .. "/r.pem", cert = root } }))
    for v, want in pairs { [c.leaf] = "pki.cert", [csr] = "pki.csr", [crl] = "pki.crl",
        [store] = "pki.store", [r] = "pki.ocsp_responder", [j] = "pki.journal" } do
        assert(pki.type(v) == want, ("%s: %s"):format(want, tostring(pki.type(v))))
    end
    store:rollback()
    j:abort()
end)

t.cleanup()
t.done()
