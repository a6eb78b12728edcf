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

t.cleanup()
t.done()
