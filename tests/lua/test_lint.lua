-- pki.lint and pki.lint_rules: clean chains, foreign certificates with
-- findings, the 398-day rule refused at signing, caller bugs raised.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()

local function rules_of(findings)
    local set = {}
    for _, f in ipairs(findings) do set[f.rule] = f end
    return set
end

t.case("a chain pki.sign made is clean", function()
    for _, pair in ipairs{{c.root}, {c.inter, c.root}, {c.leaf, c.inter}, {c.leaf}} do
        local findings = pki.lint(pair[1], pair[2])
        assert(type(findings) == "table" and #findings == 0 and next(findings) == nil,
               findings[1] and findings[1].rule)
    end
end)

t.case("a leaf checked against the wrong issuer", function()
    local r = rules_of(pki.lint(c.leaf, c.root))
    assert(r["rfc5280-issuer-name-matches"], "issuer name")
    assert(r["rfc5280-aki-matches-issuer-ski"], "AKI")
    local f = r["rfc5280-issuer-name-matches"]
    assert(f.level == "error" and f.message:find("^issuer: not byte%-for%-byte"), f.message)
    assert(f.source:find("RFC 5280 4.1.2.4", 1, true), f.source)
end)

t.case("the tutorial's flaws in a certificate openssl made", function()
    local key, crt = dir .. "/k.pem", dir .. "/c.pem"
    t.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha256 -nodes "
          .. "-subj /CN=localhost -days 30 -addext nsCertType=server -keyout %s -out %s "
          .. "2>/dev/null"):format(t.quote(key), t.quote(crt)))
    local cert = assert(pki.read_cert(crt))
    local findings = pki.lint(cert)
    local r = rules_of(findings)
    local ecdsa = r["cabf-ecdsa-digest-matches-curve"]
    assert(ecdsa and ecdsa.level == "error", "ecdsa digest")
    assert(ecdsa.message == "signature: P-384 key signed with SHA256 (use SHA384)", ecdsa.message)
    assert(r["cabf-no-obsolete-extensions"].message:find("^nsCertType: obsolete"))
    for _, f in ipairs(findings) do
        for _, k in ipairs{"rule", "level", "message", "source"} do
            assert(type(f[k]) == "string", k)
        end
    end
end)

-- One level for the 398 days, everywhere: an error, never signed (issue 11).
t.case("a TLS server leaf over 398 days is refused, naming the rule", function()
    local spec = t.leaf_spec()
    spec.validity_days = 400
    local leaf, err, code = pki.sign(spec, c.leaf_key, c.inter, c.inter_key)
    assert(leaf == nil and code == "lint", code)
    assert(err:find("cabf-leaf-validity-398-days: validity: 400 days", 1, true), err)
end)

t.case("lint_rules lists every rule once, with level and source", function()
    local rules, seen = pki.lint_rules(), {}
    assert(#rules >= 39, #rules)
    for _, r in ipairs(rules) do
        assert(not seen[r.rule], r.rule)
        seen[r.rule] = true
        assert(r.level == "error" or r.level == "warning")
        assert(r.source:find("RFC") or r.source:find("BR"), r.source)
        assert(#r.summary > 0)
    end
    assert(seen["cabf-ecdsa-digest-matches-curve"])
    assert(seen["rfc5280-ca-basic-constraints-critical"])
end)

t.expect_error("lint: a string for the certificate raises", "pki.cert expected", pki.lint,
               "cert.pem")
t.expect_error("lint: a string for the issuer raises", "bad argument #2", pki.lint, c.leaf,
               "issuer.pem")
t.expect_error("lint: a closed certificate raises", "closed pki.cert", function()
    local k = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local x = assert(pki.sign(t.root_spec(), k))
    x:close()
    return pki.lint(x)
end)

-- pki.lint_spec: what signing would find, without signing (issue 11 section 7).
local shape = {type = "ec", curve = "P-256"}
local pub = assert(pki.load_public_key(c.leaf_key:public_pem()))

t.case("lint_spec: a good spec is clean by key, public key or shape", function()
    for _, opts in ipairs{{key = c.leaf_key, issuer = c.inter}, {key = pub, issuer = c.inter},
                          {key_shape = shape, issuer = c.inter}, {key_shape = shape},
                          {key_shape = {type = "ed25519"}}, {key_shape = {type = "rsa"}}} do
        local findings = assert(pki.lint_spec(t.leaf_spec(), opts))
        assert(#findings == 0 and next(findings) == nil, findings[1] and findings[1].message)
    end
    assert(#assert(pki.lint_spec(t.root_spec(), {key_shape = {type = "ec", curve = "P-384"}}))
           == 0)
    assert(#assert(pki.lint_spec(t.inter_spec(), {key_shape = shape, issuer = c.root})) == 0)
end)

-- Each bad spec: the findings name the rule signing refuses with.
local function bad(what, edit, rule, opts)
    t.case("lint_spec finds what pki.sign refuses: " .. what, function()
        local spec = edit()
        opts = opts or {key_shape = shape, issuer = c.inter}
        local signed, err, code = pki.sign(spec, c.leaf_key, opts.issuer or nil,
                                           opts.issuer and c.inter_key or nil)
        assert(signed == nil and code == "lint", "pki.sign signed it")
        local findings = assert(pki.lint_spec(spec, opts))
        local r = rules_of(findings)
        assert(r[rule], ("no %s in lint_spec's findings"):format(rule))
        local f = r[rule]
        assert(err:find(("%s: %s (%s)"):format(f.rule, f.message, f.source), 1, true),
               ("pki.sign said %q, lint_spec %q"):format(err, f.message))
        for _, k in ipairs{"rule", "level", "message", "source"} do
            assert(type(f[k]) == "string", k)
        end
    end)
end

bad("a TLS server leaf for 400 days", function()
    local spec = t.leaf_spec()
    spec.validity_days = 400
    return spec
end, "cabf-leaf-validity-398-days")
bad("a server leaf without subjectAltName", function()
    local spec = t.leaf_spec()
    spec.subject_alt_name = nil
    return spec
end, "cabf-leaf-san-present")
bad("a CA without keyCertSign (self-signed)", function()
    local spec = t.root_spec()
    spec.key_usage = {critical = true, "cRLSign"}
    return spec
end, "rfc5280-ca-key-usage-cert-sign", {key_shape = shape})
bad("a CA below an issuer with pathLen 0", t.inter_spec, "rfc5280-issuer-path-len",
    {key_shape = shape, issuer = c.inter})
bad("keyEncipherment on an EC key", function()
    local spec = t.leaf_spec()
    spec.key_usage = {critical = true, "digitalSignature", "keyEncipherment"}
    return spec
end, "rfc5480-ec-key-usage", {key = pub, issuer = c.inter})

t.case("lint_spec: the key rules read the shape", function()
    local spec = t.leaf_spec()
    spec.key_usage = {critical = true, "digitalSignature", "keyEncipherment"}
    assert(#assert(pki.lint_spec(spec, {key_shape = {type = "rsa", bits = 2048}})) == 0)
    local r = rules_of(assert(pki.lint_spec(spec, {key_shape = {type = "ed25519"}})))
    assert(r["rfc8410-ed25519-key-usage"], "ed25519 key usage")
end)

t.expect_fail("lint_spec: a spec field misspelled", "invalid",
              "^spec: unknown field 'valdity_days'", pki.lint_spec,
              {valdity_days = 30}, {key_shape = shape})
t.expect_fail("lint_spec: an unknown curve", "invalid",
              "^key: unknown curve 'P%-521' %(use P%-256 or P%-384%)", pki.lint_spec,
              t.leaf_spec(), {key_shape = {type = "ec", curve = "P-521"}})
t.expect_fail("lint_spec: a shape field misspelled", "invalid",
              "^key_shape: unknown field 'curv'", pki.lint_spec,
              t.leaf_spec(), {key_shape = {type = "ec", curv = "P-256"}})
t.expect_fail("lint_spec: a shape without type", "invalid",
              "^key_shape: missing field 'type'", pki.lint_spec,
              t.leaf_spec(), {key_shape = {curve = "P-256"}})
t.expect_error("lint_spec: no options raises", "bad argument #2", pki.lint_spec,
               t.leaf_spec())
t.expect_error("lint_spec: neither key nor shape raises", "either key or key_shape",
               pki.lint_spec, t.leaf_spec(), {issuer = c.inter})
t.expect_error("lint_spec: both key and shape raise", "either key or key_shape",
               pki.lint_spec, t.leaf_spec(), {key = c.leaf_key, key_shape = shape})
t.expect_error("lint_spec: an unknown option raises", "unknown option 'isuer'",
               pki.lint_spec, t.leaf_spec(), {key_shape = shape, isuer = c.inter})
t.expect_error("lint_spec: a string for the issuer raises", "issuer: pki.cert expected",
               pki.lint_spec, t.leaf_spec(), {key_shape = shape, issuer = "inter.pem"})

t.cleanup()
t.done()
