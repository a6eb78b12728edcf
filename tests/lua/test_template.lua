-- pki.template: a spec compiled once for an issuer; template:sign and
-- store:issue_template give the certificate pki.sign gives for the same
-- spec, names and key, linted and recorded the same way.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()

-- The server profile's shape: the template's subject without its CN.
local function template_spec()
    local spec = t.leaf_spec()
    spec.subject = {{"C", "SE"}, {"O", "Simple Inc"}, {"OU", "ABC"}}
    spec.subject_alt_name = nil
    spec.crl_distribution_points = {"http://pki.test/crl/intermediate.crl"}
    spec.authority_info_access = {ocsp = {"http://pki.test/ocsp"}}
    return spec
end

-- What pki.sign makes of the same request, to compare with.
local function spec_for(cn, san)
    local spec = template_spec()
    spec.subject[#spec.subject + 1] = {"CN", cn}
    spec.subject_alt_name = san
    return spec
end

-- Everything info() says but what differs between two issues.
local function same_but_identity(a, b)
    local skip = {serial = true, fingerprint = true, subject_key_id = true,
                  not_before = true, not_after = true}
    local function flat(v)
        if type(v) ~= "table" then return tostring(v) end
        local keys, out = {}, {}
        for k in pairs(v) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        for _, k in ipairs(keys) do
            out[#out + 1] = k .. "=" .. flat(v[k] ~= nil and v[k] or v[tonumber(k)])
        end
        return "{" .. table.concat(out, ",") .. "}"
    end
    for k, v in pairs(b) do
        if not skip[k] then
            assert(flat(a[k]) == flat(v), ("%s: %s vs %s"):format(k, flat(a[k]), flat(v)))
        end
    end
    assert(math.abs(a.not_before - b.not_before) <= 2)
    assert(a.not_after - a.not_before == b.not_after - b.not_before)
end

local function openssl_verifies(leaf)
    local files = {root = c.root, inter = c.inter, leaf = leaf}
    for name, cert in pairs(files) do
        t.write_file(dir .. "/" .. name .. ".pem", cert:pem())
    end
    local out = t.sh(("openssl verify -x509_strict -CAfile %s -untrusted %s %s 2>&1"):format(
        t.quote(dir .. "/root.pem"), t.quote(dir .. "/inter.pem"), t.quote(dir .. "/leaf.pem")))
    assert(out:find(": OK"), out)
end

t.case("a template signs what pki.sign signs for the same request", function()
    local tpl = assert(pki.template(template_spec(), c.inter, c.inter_key))
    assert(pki.type(tpl) == "pki.template")
    local san = {dns = {"app.test", "www.app.test"}, ip = {"10.1.2.3", "::1"}}
    local key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local a = assert(tpl:sign(key, san, "app.test"))
    local b = assert(pki.sign(spec_for("app.test", san), key, c.inter, c.inter_key))
    same_but_identity(a:info(), b:info())
    assert(a:info().subject_line == "C=SE, O=Simple Inc, OU=ABC, CN=app.test")
    assert(pki.verify{leaf = a, chain = {c.inter}, roots = {c.root}, host = "www.app.test"})
    openssl_verifies(a)
    -- the DER the certificate object encodes to is what was signed: it parses
    -- back (DER only, signature checked by verify) to the same bytes
    local again = assert(pki.load_cert(a:der()))
    assert(again:der() == a:der() and again:pem() == a:pem())
    assert(pki.verify{leaf = again, chain = {c.inter}, roots = {c.root}})
end)

t.case("the template's own subject and names stay when a request gives none", function()
    local spec = t.leaf_spec("fixed.test")
    local tpl = assert(pki.template(spec, c.inter, c.inter_key))
    local key = assert(pki.generate_key{type = "ec", curve = "P-384"})
    local a = assert(tpl:sign(key))
    local b = assert(pki.sign(spec, key, c.inter, c.inter_key))
    same_but_identity(a:info(), b:info())
    -- a CN replaces the template's CN (every one of them), added last
    a = assert(tpl:sign(key, {dns = {"other.test"}}, "other.test"))
    assert(a:info().subject_line == "C=SE, O=Simple Inc, CN=other.test", a:info().subject_line)
    assert(#a:info().subject_alt_name.dns == 1 and a:info().subject_alt_name.dns[1] == "other.test")
    assert(#a:info().subject_alt_name.ip == 0)
end)

t.case("every certificate from a template is linted", function()
    local tpl = assert(pki.template(template_spec(), c.inter, c.inter_key))
    local key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    t.expect_fail("no names at all", "lint", "subjectAltName: missing", tpl.sign, tpl, key)
    t.expect_fail("a bad name", "invalid", "invalid DNS name", tpl.sign, tpl, key,
                  {dns = {"*.*.bad"}}, "x.test")
    t.expect_fail("an empty CN", "invalid", "empty value for CN", tpl.sign, tpl, key,
                  {dns = {"a.test"}}, "")
    t.expect_fail("names of an unknown kind", "invalid", "names: unknown field 'dnss'",
                  tpl.sign, tpl, key, {dnss = {"a.test"}})
    -- a leaf template cannot sign a CA: keyCertSign on a leaf is a lint error
    local bad = template_spec()
    bad.key_usage = {critical = true, "digitalSignature", "keyCertSign"}
    local btpl = assert(pki.template(bad, c.inter, c.inter_key))
    t.expect_fail("keyCertSign on a leaf", "lint", "keyCertSign", btpl.sign, btpl, key,
                  {dns = {"a.test"}}, "a.test")
end)

t.case("a template refuses what it cannot keep", function()
    local spec = template_spec()
    spec.not_before = os.time()
    spec.validity_days = nil
    spec.not_after = os.time() + 86400
    t.expect_fail("absolute dates", "invalid", "spec.not_before: a template takes validity_days",
                  pki.template, spec, c.inter, c.inter_key)
    local other = assert(pki.generate_key{type = "ec", curve = "P-256"})
    t.expect_fail("a key that is not the issuer's", "mismatch", "do not match",
                  pki.template, template_spec(), c.inter, other)
    spec = template_spec()
    spec.valdity_days = 3
    t.expect_fail("a misspelt field", "invalid", "valdity_days", pki.template, spec, c.inter,
                  c.inter_key)
    local tpl = assert(pki.template(template_spec(), c.inter, c.inter_key))
    tpl:close()
    t.expect_error("a closed template", "closed pki.template", tpl.sign, tpl, other)
end)

t.case("store:issue_template records each in its savepoint; a refused one undoes itself",
       function()
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    local tpl = assert(pki.template(template_spec(), c.inter, c.inter_key))
    local gen = assert(pki.key_generator{type = "ec", curve = "P-256"})
    assert(store:begin())
    local issued = {}
    for i = 1, 30 do
        local name = ("host%d.test"):format(i)
        if i % 10 == 0 then
            local ok, msg, code = store:issue_template(tpl, gen:generate(), nil, name, "server")
            assert(ok == nil and code == "lint", msg)
        else
            issued[#issued + 1] = assert(store:issue_template(tpl, gen:generate(),
                {dns = {name}}, name, "server"))
        end
    end
    assert(store:commit())
    assert(store:count() == #issued)
    for _, cert in ipairs(issued) do
        local found, profile = assert(store:find(cert:serial()))
        -- the recorded bytes (the template's own DER) are the object's encoding
        assert(found:pem() == cert:pem() and profile == "server")
        assert(pki.verify{leaf = found, chain = {c.inter}, roots = {c.root}})
    end
    local rows = assert(store:list{})
    local row = rows[1]
    assert(row.issuer == c.inter:info().subject_line, row.issuer)
    assert(row.subject:find("^C=SE, O=Simple Inc, OU=ABC, CN=host%d+%.test$"), row.subject)
    assert(row.sans:find("^DNS:host%d+%.test$"), row.sans)
end)

t.case("an Ed25519 issuer and RSA subject keys take the same path", function()
    local rk = assert(pki.generate_key{type = "ed25519"})
    local root = assert(pki.sign(t.root_spec(), rk, nil, rk))
    local tpl = assert(pki.template(template_spec(), root, rk))
    local key = assert(pki.generate_key{type = "rsa", bits = 2048})
    local a = assert(tpl:sign(key, {dns = {"rsa.test"}}, "rsa.test"))
    assert(a:info().signature_algorithm == "ED25519", a:info().signature_algorithm)
    assert(a:info().key.type == "rsa")
    assert(pki.verify{leaf = a, chain = {}, roots = {root}})
    assert(pki.load_cert(a:der()):der() == a:der())
end)

t.case("an issuer whose subject has a multi-valued RDN keeps it byte for byte", function()
    -- the issuer name is rebuilt entry by entry in each certificate; a
    -- multi-valued RDN must stay one RDN (lint checks the bytes, openssl
    -- the chain)
    local key_path, ca_path = dir .. "/mv.key", dir .. "/mv.pem"
    assert(os.execute(("env -u LD_PRELOAD openssl req -x509 -new -newkey ec -pkeyopt "
        .. "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 30 -multivalue-rdn "
        .. "-subj '/O=Multi/OU=Issuing+CN=Multi CA' "
        .. "-addext 'basicConstraints=critical,CA:TRUE' "
        .. "-addext 'keyUsage=critical,keyCertSign,cRLSign' >/dev/null 2>&1")
        :format(t.quote(key_path), t.quote(ca_path))), "openssl req -x509 failed")
    local ca, ca_key = assert(pki.read_cert(ca_path)), assert(pki.read_key(key_path))
    assert(ca:info().subject_line:find("+", 1, true), ca:info().subject_line)
    local tpl = assert(pki.template(template_spec(), ca, ca_key))
    local key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local a = assert(tpl:sign(key, {dns = {"mv.test"}}, "mv.test"))
    assert(a:info().issuer_line == ca:info().subject_line, a:info().issuer_line)
    assert(pki.load_cert(a:der()):der() == a:der())
    assert(pki.verify{leaf = a, chain = {}, roots = {ca}})
    t.write_file(dir .. "/mv_leaf.pem", a:pem())
    local out = t.sh(("env -u LD_PRELOAD openssl verify -x509_strict -CAfile %s %s 2>&1")
        :format(t.quote(ca_path), t.quote(dir .. "/mv_leaf.pem")))
    assert(out:find(": OK"), out)
end)

collectgarbage()
t.cleanup()
t.done()
