-- pki.cert: sign from a spec, load and save, info, verify; the spec's errors.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()

local function with(spec, changes)
    for k, v in pairs(changes) do spec[k] = v end
    return spec
end

t.case("chain verifies to the root for localhost", function()
    assert(pki.verify{leaf = c.leaf, chain = {c.inter}, roots = {c.root}, host = "localhost"}
           == true)
    assert(pki.verify{leaf = c.leaf, chain = {c.inter}, roots = {c.root}, host = "127.0.0.1"})
    assert(pki.verify{leaf = c.inter, roots = {c.root}})
end)
t.expect_fail("verify: host mismatch", "verify", "hostname mismatch %(depth 0", pki.verify,
              {leaf = c.leaf, chain = {c.inter}, roots = {c.root}, host = "example.com"})
t.expect_fail("verify: missing intermediate", "verify", "issuer", pki.verify,
              {leaf = c.leaf, roots = {c.root}})
t.expect_fail("verify: expired at a later time", "verify", "expired", pki.verify,
              {leaf = c.leaf, chain = {c.inter}, roots = {c.root}, time = os.time() + 400 * 86400})
t.expect_error("verify: unknown option raises", "unknown option 'hots'", pki.verify,
               {leaf = c.leaf, roots = {c.root}, hots = "x"})
t.expect_error("verify: roots not certs raises", "roots%[1%]: pki.cert expected", pki.verify,
               {leaf = c.leaf, roots = {"root.pem"}})

-- anchor = cert: the chain ends at a certificate the caller vouches for
-- (a CA's own intermediate, verified up to its root when it was opened).
local other = t.chain() -- another root and intermediate, same names
t.case("verify: a leaf under the anchored intermediate verifies", function()
    assert(pki.verify{leaf = c.leaf, anchor = c.inter} == true)
    assert(pki.verify{leaf = c.leaf, anchor = c.inter, host = "localhost"})
end)
t.expect_fail("verify: a leaf of another intermediate does not verify under the anchor",
              "verify", "unable to get local issuer certificate %(depth 0", pki.verify,
              {leaf = other.leaf, anchor = c.inter})
t.expect_fail("verify: the anchor's host check still applies", "verify",
              "hostname mismatch %(depth 0", pki.verify,
              {leaf = c.leaf, anchor = c.inter, host = "example.com"})
t.expect_fail("verify: the anchor's validity still applies", "verify", "expired", pki.verify,
              {leaf = c.leaf, anchor = c.inter, time = os.time() + 400 * 86400})
t.expect_fail("verify: without anchor, a non-self-signed root still fails", "verify",
              "unable to get issuer certificate %(depth 1", pki.verify,
              {leaf = c.leaf, roots = {c.inter}})
t.case("verify: the anchor's nameConstraints still refuse a leaf outside them", function()
    local spec = t.inter_spec()
    spec.name_constraints = {critical = true, permitted = {dns = {".example.test"}}}
    local nc = assert(pki.sign(spec, c.inter_key, c.root, c.root_key))
    local inside = t.leaf_spec("www.example.test")
    inside.subject_alt_name = {dns = {"www.example.test"}}
    local outside = t.leaf_spec("www.example.org")
    outside.subject_alt_name = {dns = {"www.example.org"}}
    assert(pki.verify{leaf = assert(pki.sign(inside, c.leaf_key, nc, c.inter_key)), anchor = nc})
    local ok, err, code = pki.verify{leaf = assert(pki.sign(outside, c.leaf_key, nc, c.inter_key)),
                                     anchor = nc}
    assert(ok == nil and code == "verify" and err:find("permitted subtree violation", 1, true), err)
end)
t.expect_error("verify: roots and anchor together raise", "give roots or anchor, not both",
               pki.verify, {leaf = c.leaf, anchor = c.inter, roots = {c.root}})
t.expect_error("verify: an anchor not a cert raises", "anchor", pki.verify,
               {leaf = c.leaf, anchor = "inter.pem"})

-- the spec: unknown, mistyped and contradictory fields
local key = c.leaf_key
local function sign(spec) return pki.sign(spec, key, c.inter, c.inter_key) end
for _, e in ipairs{
    {"typo valdity_days", with(t.leaf_spec(), {valdity_days = 30}),
     "spec: unknown field 'valdity_days'"},
    {"nested typo dnss", with(t.leaf_spec(), {subject_alt_name = {dnss = {"x"}}}),
     "spec.subject_alt_name: unknown field 'dnss'"},
    {"typo in basic_constraints", with(t.leaf_spec(), {basic_constraints = {cA = false}}),
     "spec.basic_constraints: unknown field 'cA'"},
    {"typo in name_constraints.permitted",
     with(t.inter_spec(), {name_constraints = {permitted = {dsn = {"x"}}}}),
     "spec.name_constraints.permitted: unknown field 'dsn'"},
    {"validity_days as string", with(t.leaf_spec(), {validity_days = "30"}),
     "spec.validity_days: expected integer, got string"},
    {"validity_days as a fraction", with(t.leaf_spec(), {validity_days = 1.5}),
     "spec.validity_days: expected integer, got float"},
    {"validity_days and not_after", with(t.leaf_spec(), {not_after = os.time() + 10}),
     "mutually exclusive"},
    {"no validity", with(t.leaf_spec(), {validity_days = false}), "expected integer"},
    {"unknown key usage", with(t.leaf_spec(), {key_usage = {"digitalSignature", "keyCertsign"}}),
     "spec.key_usage%[2%]: unknown key usage 'keyCertsign'"},
    {"subject pair not a pair", with(t.leaf_spec(), {subject = {{"CN"}}}),
     "spec.subject%[1%]: expected {field, value}"},
    {"subject as string", with(t.leaf_spec(), {subject = "CN=x"}),
     "spec.subject: expected table, got string"},
    {"san dns not strings", with(t.leaf_spec(), {subject_alt_name = {dns = {1}}}),
     "spec.subject_alt_name.dns%[1%]: expected string, got number"},
    {"critical not boolean", with(t.leaf_spec(), {extended_key_usage = {critical = "yes"}}),
     "spec.extended_key_usage.critical: expected boolean, got string"},
    {"stray array item", with(t.leaf_spec(), {"oops"}), "spec: unknown field %[1%]"},
} do
    t.expect_fail("spec: " .. e[1], "invalid", e[3], sign, e[2])
end
local no_validity = t.leaf_spec()
no_validity.validity_days = nil
t.expect_fail("spec: no validity", "invalid", "missing field 'validity_days'", sign, no_validity)

local no_san = t.leaf_spec()
no_san.subject_alt_name = nil
t.expect_fail("leaf without SAN is refused", "lint",
              "^lint: cabf%-leaf%-san%-present: subjectAltName: missing", sign,
              no_san)
t.expect_fail("CA without keyCertSign is refused", "lint",
              "^lint: rfc5280%-ca%-key%-usage%-cert%-sign: keyUsage: no keyCertSign",
              pki.sign,
              with(t.inter_spec(), {key_usage = {critical = true, "cRLSign"}}),
              c.inter_key, c.root, c.root_key)

t.case("check_key", function()
    assert(c.leaf:check_key(c.leaf_key) == true)
end)
t.expect_fail("check_key mismatch", "mismatch", "certificate and key do not match", function()
    return c.leaf:check_key(c.root_key)
end)

t.case("info fields", function()
    local i = c.leaf:info()
    assert(i.version == 3)
    assert(i.serial == c.leaf:serial() and i.serial:match("^[0-9A-F]+$"))
    assert(i.subject_line == "C=SE, O=Simple Inc, CN=localhost", i.subject_line)
    assert(i.issuer_line == "C=SE, O=Simple Inc, CN=Simple Intermediate CA", i.issuer_line)
    assert(i.subject[3][1] == "CN" and i.subject[3][2] == "localhost")
    assert(i.not_after - i.not_before == 30 * 86400)
    assert(i.subject_alt_name.dns[1] == "localhost")
    assert(i.subject_alt_name.ip[1] == "127.0.0.1")
    assert(i.key_usage[1] == "digitalSignature" and i.key_usage.critical == true)
    assert(i.extended_key_usage[1] == "serverAuth")
    assert(i.basic_constraints.ca == false)
    assert(i.key.type == "ec" and i.key.curve == "P-256" and i.key.bits == 256)
    assert(i.fingerprint == c.leaf:fingerprint() and #i.fingerprint == 64)
    assert(i.subject_key_id and i.authority_key_id == c.inter:info().subject_key_id)
    assert(i.self_signed == false and c.root:info().self_signed == true)
    assert(i.signature_algorithm == "ecdsa-with-SHA256", i.signature_algorithm)
    assert(#i.extensions >= 5)
    local ri = c.inter:info()
    assert(ri.basic_constraints.ca == true and ri.basic_constraints.path_len == 0)
    assert(ri.basic_constraints.critical == true)
end)

t.case("info fed back as a spec signs the same certificate contents", function()
    local i = c.leaf:info()
    local serial = i.serial
    local _, err, code = pki.sign(i, c.leaf_key, c.inter, c.inter_key)
    assert(code == "invalid" and err:find("unknown field 'serial'"), err)
    i.serial = nil  -- serials are always random: a spec cannot ask for one
    local again = assert(pki.sign(i, c.leaf_key, c.inter, c.inter_key))
    i.serial = serial
    local j = again:info()
    for _, f in ipairs{"subject_line", "issuer_line", "not_before", "not_after",
                       "signature_algorithm"} do
        assert(i[f] == j[f], f)
    end
    assert(table.concat(i.extensions, ",") == table.concat(j.extensions, ","))
    assert(i.serial ~= j.serial)
end)

t.case("name constraints round trip", function()
    local spec = with(t.inter_spec(), {name_constraints = {critical = true,
        permitted = {dns = {"localhost", ".test"}, ip = {"127.0.0.0/8"}}}})
    local k = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local ic = assert(pki.sign(spec, k, c.root, c.root_key))
    local nc = ic:info().name_constraints
    assert(nc.critical == true)
    assert(nc.permitted.dns[1] == "localhost" and nc.permitted.dns[2] == ".test")
    assert(nc.permitted.ip[1] == "127.0.0.0/8", tostring(nc.permitted.ip[1]))
end)

t.case("other key types sign with their digest", function()
    local k384 = assert(pki.generate_key{type = "ec", curve = "P-384"})
    local r = assert(pki.sign(t.root_spec(), k384))  -- issuer key defaults to the subject's
    assert(r:info().signature_algorithm == "ecdsa-with-SHA384")
    local ed = assert(pki.generate_key{type = "ed25519"})
    local e = assert(pki.sign(t.root_spec(), ed, nil, ed))
    assert(e:info().signature_algorithm:upper() == "ED25519")
end)

t.case("pem, der, load_cert, equality", function()
    local pem = c.leaf:pem()
    assert(pem:find("^%-%-%-%-%-BEGIN CERTIFICATE"))
    local a = assert(pki.load_cert(pem))
    local b = assert(pki.load_cert(c.leaf:der()))
    assert(a:fingerprint() == c.leaf:fingerprint() and b == a)
    assert(a ~= c.root)
end)
t.expect_fail("load_cert garbage names it", "invalid", "blob", pki.load_cert, "xx", "blob")

t.case("save, read_cert, save_chain, read_chain", function()
    local p = dir .. "/leaf.pem"
    assert(c.leaf:save(p) == true)
    assert(pki.read_cert(p) == c.leaf)
    local ok, msg, code = c.root:save(p)
    assert(ok == nil and code == "exists" and msg:find("leaf.pem", 1, true))
    assert(pki.read_cert(p) == c.leaf)
    assert(c.root:save(p, {overwrite = true}))
    assert(pki.read_cert(p) == c.root)
    local cp = dir .. "/chain.pem"
    assert(pki.save_chain(cp, {c.leaf, c.inter}) == true)
    local certs = assert(pki.read_chain(cp))
    assert(#certs == 2 and certs[1] == c.leaf and certs[2] == c.inter)
    local mode = t.sh("stat -c %a " .. t.quote(cp))
    assert(mode == "644", mode)
end)
t.expect_fail("read_cert missing file", "notfound", "missing.pem", pki.read_cert,
              dir .. "/missing.pem")

-- caller bugs
t.expect_error("sign with a string as key", "pki.key expected", pki.sign, t.leaf_spec(),
               "key.pem", c.inter, c.inter_key)
t.expect_error("sign with a string as issuer", "bad argument #3.-pki.cert expected", pki.sign,
               t.leaf_spec(), c.leaf_key, "inter.pem", c.inter_key)
t.expect_error("sign without a spec", "bad argument #1.-table expected", pki.sign, nil,
               c.leaf_key)
t.expect_error("save_chain with a non-cert", "bad argument #2", pki.save_chain,
               dir .. "/x.pem", {c.leaf, "x"})

t.case("closed cert raises; <close> works", function()
    local copy = assert(pki.load_cert(c.leaf:pem()))
    copy:close()
    copy:close()
    local ok, err = pcall(copy.pem, copy)
    assert(not ok and err:find("attempt to use a closed pki.cert"), err)
    ok, err = pcall(pki.verify, {leaf = copy, roots = {c.root}})
    assert(not ok and err:find("closed pki.cert"), err)
    local outer
    do
        local x <close> = assert(pki.load_cert(c.root:pem()))
        outer = x
    end
    assert(tostring(outer) == "pki.cert (closed)")
    ok, err = pcall(pki.sign, t.leaf_spec(), c.leaf_key, outer, c.root_key)
    assert(not ok and err:find("closed pki.cert"), err)
end)

collectgarbage()
t.cleanup()
t.done()
