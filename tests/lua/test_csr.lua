-- pki.csr and public-only keys: CSRs from openssl req and pki.make_csr, forged
-- ones refused, a certificate for a CSR's key checked by openssl verify.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local function path(name) return dir .. "/" .. name end

local function has_name(info, type, value)
    for _, n in ipairs(info.names) do
        if n.type == type and n.value == value then return true end
    end
    return false
end

local function contains(list, value)
    for _, v in ipairs(list) do
        if v == value then return true end
    end
    return false
end

-- the tutorial's server request: it asks for CA:TRUE
local ok = os.execute(("env -u LD_PRELOAD openssl req -new -newkey ec -pkeyopt "
    .. "ec_paramgen_curve:P-384 -nodes -keyout %s -out %s -subj '/C=SE/O=Simple Inc/CN=localhost' "
    .. "-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' "
    .. "-addext 'basicConstraints=CA:TRUE' -addext 'keyUsage=digitalSignature' "
    .. "-addext 'extendedKeyUsage=serverAuth' >/dev/null 2>&1 && "
    .. "env -u LD_PRELOAD openssl req -in %s -outform DER -out %s")
    :format(t.quote(path("req.key")), t.quote(path("req.pem")), t.quote(path("req.pem")),
            t.quote(path("req.der"))))
assert(ok, "openssl req failed")

t.case("openssl req CSR, PEM: what it asks for", function()
    local csr = assert(pki.read_csr(path("req.pem")))
    local info = assert(csr:info())
    assert(#info.subject == 3 and info.subject[3][1] == "CN" and info.subject[3][2] == "localhost")
    assert(info.subject_line == "C=SE, O=Simple Inc, CN=localhost", info.subject_line)
    assert(#info.names == 2 and has_name(info, "dns", "localhost")
           and has_name(info, "ip", "127.0.0.1"))
    assert(info.ca == true)
    assert(#info.key_usage == 1 and info.key_usage[1] == "digitalSignature")
    assert(#info.extended_key_usage == 1 and info.extended_key_usage[1] == "serverAuth")
    assert(contains(info.extensions, "subjectAltName")
           and contains(info.extensions, "basicConstraints") and #info.extensions == 4)
    assert(info.key.type == "ec" and info.key.curve == "P-384" and info.key.bits == 384)
    assert(#info.key.fingerprint == 64)
    assert(tostring(csr) == "pki.csr (C=SE, O=Simple Inc, CN=localhost)", tostring(csr))
    -- the key in the CSR is the key openssl made
    local key = assert(pki.read_key(path("req.key")))
    assert(key:info().fingerprint == info.key.fingerprint)
end)

t.case("openssl req CSR, DER: same request", function()
    local pem = assert(pki.read_csr(path("req.pem")))
    local der = assert(pki.load_csr(t.read_file(path("req.der")), "req.der"))
    assert(der:info().key.fingerprint == pem:info().key.fingerprint)
    assert(der:der() == t.read_file(path("req.der")))
    assert(pki.load_csr(der:pem()):info().ca == true)
end)

t.case("make_csr: openssl accepts it, info reads it back", function()
    local key = assert(pki.generate_key{type = "ed25519"})
    local csr = assert(pki.make_csr{key = key, subject = {{"O", "Simple Inc"}, {"CN", "app"}},
                                    names = {{type = "dns", value = "app.test"},
                                             {type = "ip", value = "::1"},
                                             {type = "email", value = "ops@app.test"},
                                             {type = "uri", value = "spiffe://app.test/x"}}})
    t.write_file(path("made.csr"), csr:pem())
    assert(os.execute("env -u LD_PRELOAD openssl req -verify -noout -in "
                      .. t.quote(path("made.csr")) .. " >/dev/null 2>&1"))
    local info = assert(pki.read_csr(path("made.csr")):info())
    assert(#info.names == 4 and has_name(info, "uri", "spiffe://app.test/x"))
    assert(info.ca == false and #info.key_usage == 0 and #info.extended_key_usage == 0)
    assert(info.key.type == "ed25519" and info.key.curve == nil)
    assert(info.key.fingerprint == key:info().fingerprint)
    local bare = assert(pki.make_csr{key = key})
    assert(#bare:info().subject == 0 and #bare:info().extensions == 0)
end)

-- a forged CSR: the signature does not match the key
t.case("flipped signature byte is refused with verify", function()
    local der = t.read_file(path("req.der"))
    local forged = der:sub(1, -2) .. string.char(der:byte(-1) ~ 0x01)
    local csr, msg, code = pki.load_csr(forged, "forged.der")
    assert(csr == nil and code == "verify", tostring(code))
    assert(msg == "forged.der: CSR signature does not verify (proof of possession failed)", msg)
    t.write_file(path("forged.der"), forged)
    csr, msg, code = pki.read_csr(path("forged.der"))
    assert(csr == nil and code == "verify" and msg:find(path("forged.der"), 1, true), msg)
end)

t.case("another key put into a CSR is refused with verify", function()
    -- replace the SPKI bytes of one P-384 key with another's, signature unchanged
    local der = t.read_file(path("req.der"))
    local key = assert(pki.read_key(path("req.key")))
    local other = assert(pki.generate_key{type = "ec", curve = "P-384"})
    local function spki(k)
        return (k:public_pem():gsub("%-%-%-%-%-[^-]+%-%-%-%-%-", ""):gsub("%s", ""))
    end
    local function unbase64(s)
        local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        local bits = s:gsub("=", ""):gsub(".", function(c)
            local v = alphabet:find(c, 1, true) - 1
            local r = ""
            for i = 5, 0, -1 do r = r .. ((v >> i) & 1) end
            return r
        end)
        return (bits:gsub("%d%d%d%d%d%d%d%d", function(b) return string.char(tonumber(b, 2)) end))
    end
    local mine, theirs = unbase64(spki(key)), unbase64(spki(other))
    assert(#mine == #theirs)
    local at = assert(der:find(mine, 1, true), "SPKI not found in the CSR")
    local swapped = der:sub(1, at - 1) .. theirs .. der:sub(at + #mine)
    t.expect_fail("swapped key", "verify", "proof of possession failed", pki.load_csr, swapped,
                  "swapped.der")
end)

t.case("an EC CSR read without OpenSSL's key decoder says what OpenSSL reads", function()
    -- make_csr's object is OpenSSL's own X509_REQ; loading its DER takes the
    -- fast way (core/csr_parse.c) for EC keys
    for _, curve in ipairs {"P-256", "P-384"} do
        local key = assert(pki.generate_key{type = "ec", curve = curve})
        local made = assert(pki.make_csr{key = key, subject = {{"O", "Fast"}, {"CN", "a.test"}},
            names = {{type = "dns", value = "a.test"}, {type = "ip", value = "10.0.0.1"}}})
        local read = assert(pki.load_csr(made:der(), "fast.der"))
        local a, b = made:info(), read:info()
        for _, k in ipairs {"subject_line", "signature_algorithm"} do
            assert(a[k] == b[k], k .. ": " .. tostring(a[k]) .. " vs " .. tostring(b[k]))
        end
        assert(a.key.fingerprint == b.key.fingerprint and b.key.curve == curve)
        assert(#b.names == 2 and has_name(b, "dns", "a.test") and has_name(b, "ip", "10.0.0.1"))
        assert(read:der() == made:der() and read:pem() == made:pem())
        assert(read:public_key():info().fingerprint == key:info().fingerprint)
    end
end)

t.case("a CSR whose point is not on its curve is refused", function()
    local der = t.read_file(path("req.der"))
    -- the uncompressed point follows 04 in the BIT STRING; change its last byte of Y
    local at = assert(der:find("\3\98\0\4", 1, true), "P-384 point not found")
    local last = at + 4 + 96 - 1
    local bad = der:sub(1, last - 1) .. string.char(der:byte(last) ~ 0x01) .. der:sub(last + 1)
    local csr, msg, code = pki.load_csr(bad, "offcurve.der")
    assert(csr == nil and (code == "invalid" or code == "verify"), tostring(code) .. " " .. msg)
end)

t.expect_fail("malformed DER file is invalid, named", "invalid",
              "bad%.der: not a PEM or DER certificate request", function()
    t.write_file(path("bad.der"), "\48\3\2\1")
    return pki.read_csr(path("bad.der"))
end)
t.expect_fail("malformed PEM is invalid", "invalid", "mine: not a PEM or DER certificate request",
              pki.load_csr, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
              .. "-----END CERTIFICATE REQUEST-----\n", "mine")
t.expect_fail("missing file", "notfound", "nope%.csr", pki.read_csr, path("nope.csr"))

-- make_csr's table is data: bad fields are invalid, named
local k = assert(pki.generate_key{type = "ec", curve = "P-256"})
t.expect_fail("make_csr: unknown field", "invalid", "csr: unknown field 'name'", pki.make_csr,
              {key = k, name = {}})
t.expect_fail("make_csr: unknown name type", "invalid",
              "csr%.names%[1%]%.type: unknown name type 'dnss'", pki.make_csr,
              {key = k, names = {{type = "dnss", value = "a.test"}}})
t.expect_fail("make_csr: name without value", "invalid", "csr%.names%[2%]", pki.make_csr,
              {key = k, names = {{type = "dns", value = "a.test"}, {type = "dns"}}})
t.expect_fail("make_csr: bad DNS name", "invalid", "'a b%.test'", pki.make_csr,
              {key = k, names = {{type = "dns", value = "a b.test"}}})
t.expect_fail("make_csr: bad subject entry", "invalid", "csr%.subject%[1%]", pki.make_csr,
              {key = k, subject = {{"CN"}}})
-- one subject builder for certificates and CSRs: the same fields refused
t.expect_fail("make_csr: unknown subject field", "invalid",
              "subject: unknown field 'UID' %(use C, ST, L, O, OU, CN", pki.make_csr,
              {key = k, subject = {{"CN", "app"}, {"UID", "app"}}})
t.expect_fail("make_csr: empty subject value", "invalid", "subject: empty value for O",
              pki.make_csr, {key = k, subject = {{"O", ""}}})
t.expect_fail("make_csr: name without its value, named", "invalid",
              "^csr%.names%[1%]: missing field 'value'$", pki.make_csr,
              {key = k, names = {{type = "dns"}}})
t.expect_fail("make_csr: subject pair of three", "invalid", "csr%.subject%[1%]: expected",
              pki.make_csr, {key = k, subject = {{"CN", "a", "b"}}})
t.expect_error("make_csr: no key raises", "key: pki.key expected", pki.make_csr, {})

-- public-only keys
t.case("csr:public_key is public only; saving it is refused, nothing written", function()
    local csr = assert(pki.read_csr(path("req.pem")))
    local pub = assert(csr:public_key())
    local info = pub:info()
    assert(info.private == false and info.type == "ec" and info.curve == "P-384")
    assert(info.fingerprint == csr:info().key.fingerprint)
    assert(tostring(pub):find("public only"), tostring(pub))
    assert(pki.read_key(path("req.key")):info().private == true)
    local r, msg, code = pub:save(path("pub.key"))
    assert(r == nil and code == "invalid", tostring(code))
    assert(msg == path("pub.key") .. ": public key only, has no private key", msg)
    assert(t.read_file(path("pub.key")) == nil, "a file was written")
    r, msg, code = pki.write_files{{path = path("pub2.key"), key = pub}}
    assert(r == nil and code == "invalid" and msg:find("has no private key"), tostring(msg))
    assert(t.read_file(path("pub2.key")) == nil, "a file was written")
    t.expect_fail("make_csr with a public key", "invalid", "has no private key", pki.make_csr,
                  {key = pub})
end)

t.case("load_public_key: PEM and DER SPKI", function()
    local key = assert(pki.generate_key{type = "rsa", bits = 2048})
    local pub = assert(pki.load_public_key(key:public_pem()))
    assert(pub:info().private == false and pub:info().bits == 2048)
    assert(pub:info().fingerprint == key:info().fingerprint)
    t.write_file(path("rsa.pub"), key:public_pem())
    local der = t.sh("openssl pkey -pubin -in " .. t.quote(path("rsa.pub"))
                     .. " -outform DER | od -An -v -tx1")
    der = der:gsub("%s", ""):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
    local back = assert(pki.load_public_key(der, "rsa.der"))
    assert(back:info().fingerprint == key:info().fingerprint)
    t.expect_fail("private key PEM is not a public key", "invalid",
                  "k: not a PEM or DER public key", pki.load_public_key,
                  t.read_file(path("req.key")), "k")
end)

t.case("a certificate for a CSR's public key verifies with openssl", function()
    local c = t.chain()
    local csr = assert(pki.read_csr(path("req.pem")))
    local spec = t.leaf_spec("localhost")
    local leaf = assert(pki.sign(spec, assert(csr:public_key()), c.inter, c.inter_key))
    assert(leaf:info().key.type == "ec" and leaf:info().key.curve == "P-384")
    assert(leaf:check_key(assert(pki.read_key(path("req.key")))) == true)
    assert(c.root:save(path("root.pem")))
    assert(c.inter:save(path("inter.pem")))
    assert(leaf:save(path("leaf.pem")))
    assert(os.execute(("env -u LD_PRELOAD openssl verify -x509_strict -CAfile %s -untrusted %s %s "
                       .. ">/dev/null 2>&1"):format(t.quote(path("root.pem")),
                                                    t.quote(path("inter.pem")),
                                                    t.quote(path("leaf.pem")))))
    -- only the issuer key must be private
    local r, msg, code = pki.sign(spec, c.leaf_key, c.inter, assert(csr:public_key()))
    assert(r == nil and code == "invalid" and msg:find("issuer key: public key only"), msg)
end)

t.case("a certificate for a CSR carries the CSR's point as the CSR encoded it", function()
    -- the certificate's key is copied from the point as read (compressed
    -- here), not asked of the provider; pki.sign, a template and the store
    -- give the same subjectPublicKeyInfo as the request's
    local c = t.chain()
    assert(os.execute(("env -u LD_PRELOAD openssl ecparam -name prime256v1 -genkey -noout "
        .. "-out %s && env -u LD_PRELOAD openssl ec -in %s -conv_form compressed -out %s "
        .. ">/dev/null 2>&1 && env -u LD_PRELOAD openssl req -new -key %s -subj '/CN=cmp.test' "
        .. "-out %s") :format(t.quote(path("cmp0.key")), t.quote(path("cmp0.key")),
            t.quote(path("cmp.key")), t.quote(path("cmp.key")), t.quote(path("cmp.csr")))),
        "openssl req failed")
    local function spki(kind, file)
        return t.sh(("env -u LD_PRELOAD openssl %s -in %s -noout -pubkey"):format(kind,
            t.quote(file)))
    end
    local want = spki("req", path("cmp.csr"))
    -- 33 bytes of point (02 or 03, then X) make a 59-byte SPKI: 80 base64 characters
    assert(#want:gsub("%-%-%-%-%-[^\n]*%-%-%-%-%-", ""):gsub("%s", "") == 80, want)
    local csr = assert(pki.read_csr(path("cmp.csr")))
    local tpl = assert(pki.template(t.leaf_spec("cmp.test"), c.inter, c.inter_key))
    local store = assert(pki.open_store(path("cmp.db")))
    local leaves = {
        assert(pki.sign(t.leaf_spec("cmp.test"), assert(csr:public_key()), c.inter, c.inter_key)),
        assert(tpl:sign(assert(csr:public_key()), {dns = {"cmp.test"}}, "cmp.test")),
        assert(store:issue_template(tpl, assert(csr:public_key()), {dns = {"cmp.test"}},
                                    "cmp.test", "server")),
    }
    store:close()
    local key = assert(pki.read_key(path("cmp.key")))
    for i, leaf in ipairs(leaves) do
        assert(leaf:save(path("cmp" .. i .. ".pem")))
        assert(spki("x509", path("cmp" .. i .. ".pem")) == want, i)
        assert(leaf:check_key(key) == true, i)
        assert(pki.verify{leaf = leaf, chain = {c.inter}, roots = {c.root}})
    end
end)

t.case("a server refuses a public-only key, named", function()
    local c = t.chain()
    local pub = assert(pki.load_public_key(c.leaf_key:public_pem()))
    local srv, msg, code = pki.start_server{hosts = {"127.0.0.1"}, port = 0, cert = c.leaf,
                                            chain = {c.inter}, key = pub}
    assert(srv == nil and code == "invalid", tostring(code))
    assert(msg == "server: key: public key only, has no private key", msg)
end)

t.expect_error("closed csr raises", "attempt to use a closed pki.csr", function()
    local csr = assert(pki.read_csr(path("req.pem")))
    csr:close()
    return csr:info()
end)

t.cleanup()
t.done()
