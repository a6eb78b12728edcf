-- pki.load_pkcs12, pki.encrypted_key_info, cert:issued_by, cert:fingerprint("sha1"):
-- files made by the openssl CLI from a chain of ours.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()
local q = t.quote
local function path(name) return dir .. "/" .. name end
assert(c.leaf:save(path("leaf.crt")))
assert(c.inter:save(path("inter.crt")))
assert(c.leaf_key:save(path("leaf.key")))
local function openssl(args)
    local ok = os.execute("cd " .. q(dir) .. " && env -u LD_PRELOAD openssl " .. args
                          .. " 2>/dev/null")
    assert(ok, "openssl " .. args)
end
openssl("pkcs12 -export -in leaf.crt -inkey leaf.key -certfile inter.crt "
        .. "-passout pass:secret -out pw.p12")
openssl("pkcs12 -export -in leaf.crt -inkey leaf.key -passout pass: -out empty.p12")
openssl("pkcs12 -export -in inter.crt -nokeys -passout pass: -out certs.p12")
openssl("pkcs8 -topk8 -in leaf.key -passout pass:pw -out enc.pem")

t.case("load_pkcs12: the key, its certificate, the others, the protection", function()
    local p = assert(pki.load_pkcs12(t.read_file(path("pw.p12")), "secret", "pw.p12"))
    assert(p.cert == c.leaf)
    assert(p.key:info().fingerprint == c.leaf_key:info().fingerprint)
    assert(#p.certs == 1 and p.certs[1] == c.inter)
    assert(p.mac.digest == "SHA256" and p.mac.iterations == 2048, p.mac.digest)
    local e = p.encryption
    assert(e.certs.scheme == "PBES2" and e.certs.cipher == "AES-256-CBC", e.certs.cipher)
    assert(e.key.kdf == "PBKDF2" and e.key.prf == "hmacWithSHA256" and e.key.legacy == false)
    assert(e.key.iterations == 2048)
end)

t.case("load_pkcs12: the empty password is tried when none is given", function()
    local p = assert(pki.load_pkcs12(t.read_file(path("empty.p12"))))
    assert(p.cert == c.leaf and p.key and #p.certs == 0)
    assert(pki.load_pkcs12(t.read_file(path("empty.p12")), ""))
end)

t.case("load_pkcs12: certificates only", function()
    local p = assert(pki.load_pkcs12(t.read_file(path("certs.p12"))))
    assert(p.cert == nil and p.key == nil and #p.certs == 1 and p.certs[1] == c.inter)
    assert(p.encryption.key == nil)
end)

t.expect_fail("load_pkcs12: wrong password", "verify",
              "^pw%.p12: wrong password or corrupt PKCS#12 %(MAC check failed%)$",
              pki.load_pkcs12, t.read_file(path("pw.p12")), "nope", "pw.p12")
t.expect_fail("load_pkcs12: no password for a protected file", "verify",
              "pw%.p12: wrong password %(none given%)",
              pki.load_pkcs12, t.read_file(path("pw.p12")), nil, "pw.p12")
t.expect_fail("load_pkcs12: a certificate is not one", "invalid",
              "^leaf%.crt: not a PKCS#12 file", pki.load_pkcs12,
              t.read_file(path("leaf.crt")), nil, "leaf.crt")
t.expect_fail("load_pkcs12: truncated", "invalid", "cut%.p12: not a PKCS#12 file",
              pki.load_pkcs12, t.read_file(path("pw.p12")):sub(1, 200), "secret", "cut.p12")
t.expect_error("load_pkcs12 without data", "bad argument #1", pki.load_pkcs12)

t.case("encrypted_key_info: the scheme, without the password", function()
    local e = assert(pki.encrypted_key_info(t.read_file(path("enc.pem")), "enc.pem"))
    assert(e.scheme == "PBES2" and e.cipher == "AES-256-CBC" and e.kdf == "PBKDF2")
    assert(math.type(e.iterations) == "integer" and e.iterations > 0)
end)
t.expect_fail("encrypted_key_info: a plain key", "invalid",
              "leaf%.key: not an encrypted PKCS#8 private key", pki.encrypted_key_info,
              t.read_file(path("leaf.key")), "leaf.key")

t.case("issued_by: each link, the wrong way round, a self-signature", function()
    assert(c.leaf:issued_by(c.inter) == true)
    assert(c.inter:issued_by(c.root) == true)
    assert(c.root:issued_by(c.root) == true)
    local ok, why = c.inter:issued_by(c.leaf)
    assert(ok == false and why:find("mismatch"), why)
    ok, why = c.leaf:issued_by(c.root)
    assert(ok == false and type(why) == "string", why)
    -- a look-alike: same subject as the intermediate, another key
    local k = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local fake = assert(pki.sign(t.inter_spec(), k, c.root, c.root_key))
    ok = c.leaf:issued_by(fake)
    assert(ok == false, "a look-alike issuer must not pass")
end)
t.expect_error("issued_by a string", "pki.cert expected", c.leaf.issued_by, c.leaf, "x")

t.case("fingerprint: SHA-256 by default, SHA-1 on request, as openssl prints them", function()
    local function want(alg)
        return t.sh("openssl x509 -in " .. q(path("leaf.crt")) .. " -noout -fingerprint -"
                    .. alg):match("=(.*)$"):gsub(":", ""):lower()
    end
    assert(c.leaf:fingerprint() == want("sha256"))
    assert(c.leaf:fingerprint("sha256") == want("sha256"))
    assert(c.leaf:fingerprint("sha1") == want("sha1"))
end)
t.expect_error("fingerprint md5", "invalid option 'md5'", c.leaf.fingerprint, c.leaf, "md5")

-- pki.write_pkcs12: ours, read back by load_pkcs12 and openssl.
t.case("write_pkcs12: key, cert and chain, AES-256 / PBKDF2 / SHA-256 MAC, 0600", function()
    local out = path("ours.p12")
    assert(pki.write_pkcs12 { path = out, cert = c.leaf, key = c.leaf_key,
        chain = { c.leaf, c.inter }, password = "pw!", friendly_name = "leaf" } == true)
    assert(t.sh("stat -c %a " .. q(out)) == "600")
    local p = assert(pki.load_pkcs12(t.read_file(out), "pw!", "ours.p12"))
    assert(p.cert == c.leaf and #p.certs == 1 and p.certs[1] == c.inter)
    assert(p.key:info().fingerprint == c.leaf_key:info().fingerprint)
    assert(p.mac.digest == "SHA256" and p.mac.iterations == 600000)
    for _, e in ipairs { p.encryption.key, p.encryption.certs } do
        assert(e.scheme == "PBES2" and e.cipher == "AES-256-CBC" and e.kdf == "PBKDF2")
        assert(e.prf == "hmacWithSHA256" and e.iterations == 600000 and e.legacy == false)
    end
    local info = t.sh("env -u LD_PRELOAD openssl pkcs12 -info -noout -in " .. q(out)
        .. " -passin pass:pw! 2>&1")
    assert(info:find("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC", 1, true), info)
    assert(not info:find("RC2") and not info:find("3DES"), info)
end)
t.expect_fail("write_pkcs12: wrong password does not open it", "verify", "wrong password",
              function() return pki.load_pkcs12(t.read_file(path("ours.p12")), "pw?") end)
t.expect_fail("write_pkcs12: an existing file is kept", "exists", "ours%.p12: exists",
              pki.write_pkcs12, { path = path("ours.p12"), cert = c.leaf, key = c.leaf_key,
                                  password = "x" })
t.expect_fail("write_pkcs12: no password", "invalid", "none%.p12: empty password",
              pki.write_pkcs12, { path = path("none.p12"), cert = c.leaf, key = c.leaf_key })
t.expect_fail("write_pkcs12: empty password", "invalid", "none%.p12: empty password",
              pki.write_pkcs12, { path = path("none.p12"), cert = c.leaf, key = c.leaf_key,
                                  password = "" })
t.expect_fail("write_pkcs12: someone else's key", "mismatch", "does not belong",
              pki.write_pkcs12, { path = path("none.p12"), cert = c.leaf, key = c.root_key,
                                  password = "x" })
t.check("write_pkcs12: nothing written on failure", t.read_file(path("none.p12")) == nil)
t.case("write_pkcs12: overwrite = true replaces", function()
    assert(pki.write_pkcs12 { path = path("ours.p12"), cert = c.leaf, key = c.leaf_key,
        password = "new", overwrite = true })
    assert(pki.load_pkcs12(t.read_file(path("ours.p12")), "new"))
end)
t.expect_error("write_pkcs12: no cert", "cert: pki%.cert expected, got nil", pki.write_pkcs12,
               { path = path("x.p12"), key = c.leaf_key, password = "x" })
t.expect_error("write_pkcs12: a cert where the key goes", "key: pki%.key expected",
               pki.write_pkcs12, { path = path("x.p12"), cert = c.leaf, key = c.leaf,
                                   password = "x" })
t.expect_error("write_pkcs12: unknown field", "unknown option 'pasword'", pki.write_pkcs12,
               { path = path("x.p12"), cert = c.leaf, key = c.leaf_key, pasword = "x" })
t.expect_error("write_pkcs12: no path", "path: string expected", pki.write_pkcs12,
               { cert = c.leaf, key = c.leaf_key, password = "x" })

t.cleanup()
t.done()
