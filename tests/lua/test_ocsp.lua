-- pki.ocsp_responder: answers read back by `openssl ocsp`, the delegated
-- signer, stapling, the GET form, and refusals.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local db = dir .. "/ca.db"
local q = t.quote

-- A chain recorded in a store: root, intermediate, a leaf, a delegated
-- responder; and a leaf of another root.
local c = {}
do
    local store <close> = assert(pki.open_store(db))
    c.root_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    c.root = assert(store:issue(t.root_spec(), c.root_key, nil, c.root_key, "root"))
    c.inter_key = assert(pki.generate_key{type = "ec", curve = "P-384"})
    c.inter = assert(store:issue(t.inter_spec(), c.inter_key, c.root, c.root_key,
                                 "intermediate"))
    c.leaf_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    c.leaf = assert(store:issue(t.leaf_spec(), c.leaf_key, c.inter, c.inter_key, "server"))
    c.ocsp_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local spec = t.leaf_spec("ocsp.localhost")
    spec.extended_key_usage = {"OCSPSigning"}
    c.ocsp = assert(store:issue(spec, c.ocsp_key, c.inter, c.inter_key, "ocsp"))
    spec.extended_key_usage = {"serverAuth"}
    c.not_ocsp = assert(store:issue(spec, c.ocsp_key, c.inter, c.inter_key, "server"))
    -- Signed, never recorded: the store does not know it.
    c.stray = assert(pki.sign(t.leaf_spec("stray.localhost"), c.leaf_key, c.inter, c.inter_key))
end
local other = t.chain()
for name, cert in pairs { root = c.root, inter = c.inter, leaf = c.leaf, stray = c.stray,
                          other_inter = other.inter, other_leaf = other.leaf } do
    assert(pki.write_files { { path = dir .. "/" .. name .. ".pem", cert = cert } })
end

local function path(name)
    return dir .. "/" .. name
end

-- A request from openssl for cert (a file name) under issuer, with a nonce.
local function request(cert, issuer, digest)
    os.remove(path("req.der"))
    local out = t.sh(("openssl ocsp -issuer %s %s -cert %s -reqout %s -nonce 2>&1")
        :format(q(path(issuer .. ".pem")), digest or "", q(path(cert .. ".pem")),
                q(path("req.der"))))
    return assert(t.read_file(path("req.der")), out)
end

-- What openssl says of a response to the request in req.der, trusting the
-- root: its text, and whether it exited 0.
local function read_back(resp, issuer)
    t.write_file(path("resp.der"), resp)
    local out = t.sh(("openssl ocsp -reqin %s -respin %s -issuer %s -CAfile %s -resp_text "
        .. "2>&1; echo \"exit=$?\""):format(q(path("req.der")), q(path("resp.der")),
        q(path((issuer or "inter") .. ".pem")), q(path("root.pem"))))
    return out, out:find("exit=0", 1, true) ~= nil
end

t.case("the issuing CA answers good, nonce echoed, signed with SHA-384", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key,
                                                next_update_hours = 2})
    assert(tostring(r):find("^pki.ocsp_responder"))
    local out, ok = read_back(assert(r:respond(request("leaf", "inter"))))
    assert(ok, out)
    assert(out:find("Response verify OK", 1, true), out)
    assert(out:find("Cert Status: good", 1, true), out)
    assert(out:find("OCSP Nonce", 1, true), out)
    assert(out:find("ecdsa-with-SHA384", 1, true), out)
    assert(out:find("Next Update", 1, true), out)
end)

t.case("unknown for a serial the store never recorded", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    local out, ok = read_back(assert(r:respond(request("stray", "inter"))))
    assert(ok, out)
    assert(out:find("Cert Status: unknown", 1, true), out)
end)

t.case("SHA-256 CertIDs", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    local out, ok = read_back(assert(r:respond(request("leaf", "inter", "-sha256"))))
    assert(ok, out)
    assert(out:find("Hash Algorithm: sha256", 1, true), out)
    assert(out:find("Cert Status: good", 1, true), out)
end)

t.case("a delegated OCSPSigning responder: its certificate goes along", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, signer = c.ocsp,
                                                key = c.ocsp_key})
    local out, ok = read_back(assert(r:respond(request("leaf", "inter"))))
    assert(ok, out)
    assert(out:find("Response verify OK", 1, true), out)
    assert(out:find("Cert Status: good", 1, true), out)
    assert(out:find("ocsp.localhost", 1, true), out) -- the signer's certificate, included
end)

t.case("another issuer's certificate: unauthorized", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    t.write_file(path("resp.der"), assert(r:respond(request("other_leaf", "other_inter"))))
    local out = t.sh("openssl ocsp -respin " .. q(path("resp.der")) .. " -resp_text 2>&1")
    assert(out:find("unauthorized", 1, true), out)
end)

t.case("a malformed request: malformedRequest, not an error", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    for _, bad in ipairs { "", "GET / HTTP/1.1\r\n", request("leaf", "inter") .. "x" } do
        t.write_file(path("resp.der"), assert(r:respond(bad)))
        local out = t.sh("openssl ocsp -respin " .. q(path("resp.der")) .. " -resp_text 2>&1")
        assert(out:find("malformedrequest", 1, true), out)
    end
end)

t.case("staple: one response for a certificate of ours", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, signer = c.ocsp,
                                                key = c.ocsp_key})
    t.write_file(path("resp.der"), assert(r:staple(c.leaf)))
    local out = t.sh(("openssl ocsp -respin %s -issuer %s -CAfile %s -cert %s -no_nonce 2>&1")
        :format(q(path("resp.der")), q(path("inter.pem")), q(path("root.pem")),
                q(path("leaf.pem"))))
    assert(out:find("Response verify OK", 1, true), out)
    assert(out:find("leaf.pem: good", 1, true), out)
end)

t.case("revoked in the store: revoked, with time and reason, on the next request", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, signer = c.ocsp,
                                                key = c.ocsp_key})
    local req = request("leaf", "inter")
    local out = read_back(assert(r:respond(req)))
    assert(out:find("Cert Status: good", 1, true), out)
    do
        local store <close> = assert(pki.open_store(db))
        assert(store:revoke(c.leaf:serial(), {issuer = c.inter:info().subject_line,
                                              reason = "keyCompromise", at = 1700000000}))
    end
    local ok
    out, ok = read_back(assert(r:respond(req)))
    assert(ok, out)
    assert(out:find("Cert Status: revoked", 1, true), out)
    assert(out:find("Revocation Time: Nov 14 22:13:20 2023 GMT", 1, true), out)
    assert(out:find("Revocation Reason: keyCompromise (0x1)", 1, true), out)
    -- The staple says so too.
    t.write_file(path("resp.der"), assert(r:staple(c.leaf)))
    out = t.sh("openssl ocsp -respin " .. q(path("resp.der")) .. " -resp_text 2>&1")
    assert(out:find("Cert Status: revoked", 1, true), out)
end)

t.case("revoked as unspecified: no reason in the answer", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    do
        local store <close> = assert(pki.open_store(db))
        assert(store:revoke(c.not_ocsp:serial(), {issuer = c.inter:info().subject_line}))
    end
    assert(pki.write_files { { path = path("not_ocsp.pem"), cert = c.not_ocsp } })
    local out, ok = read_back(assert(r:respond(request("not_ocsp", "inter"))))
    assert(ok, out)
    assert(out:find("Cert Status: revoked", 1, true), out)
    assert(not out:find("Revocation Reason", 1, true), out)
end)

t.expect_fail("staple: another issuer's certificate", "invalid", "not issued by", function()
    local r <close> = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    return r:staple(other.leaf)
end)

t.case("the GET form decodes to the request", function()
    local req = request("leaf", "inter")
    local b64 = t.sh("openssl base64 -A -in " .. q(path("req.der")))
    local url = b64:gsub("[+/=]", function(ch) return ("%%%02X"):format(ch:byte()) end)
    assert(pki.ocsp_decode_get(url) == req)
    assert(pki.ocsp_decode_get(b64) == req)
end)

t.expect_fail("the GET form: not base64", "invalid", "not base64 at offset 3", pki.ocsp_decode_get,
              "MEI*")

t.expect_fail("no database: notfound, none created", "notfound", "missing.db", function()
    local r, msg, code = pki.ocsp_responder{db = path("missing.db"), issuer = c.inter,
                                           key = c.inter_key}
    assert(not t.read_file(path("missing.db")), "created")
    return r, msg, code
end)

t.expect_fail("a signer without OCSPSigning", "invalid", "OCSPSigning", pki.ocsp_responder,
              {db = db, issuer = c.inter, signer = c.not_ocsp, key = c.ocsp_key})

t.expect_fail("a signer of another issuer", "invalid", "signer: neither the issuer",
              pki.ocsp_responder, {db = db, issuer = c.inter, signer = other.leaf,
                                   key = other.leaf_key})

t.expect_fail("a key that is not the signer's", "mismatch", "not the signer's key",
              pki.ocsp_responder, {db = db, issuer = c.inter, key = c.root_key})

t.expect_fail("an issuer that is no CA", "invalid", "issuer: not a CA", pki.ocsp_responder,
              {db = db, issuer = c.leaf, key = c.leaf_key})

t.expect_error("an unknown option raises", "unknown option 'next_update_days'",
               pki.ocsp_responder, {db = db, issuer = c.inter, key = c.inter_key,
                                    next_update_days = 1})
t.expect_error("issuer must be a pki.cert", "issuer: pki.cert expected, got string",
               pki.ocsp_responder, {db = db, issuer = "inter.pem", key = c.inter_key})
t.expect_error("next_update_hours out of range", "next_update_hours: not in",
               pki.ocsp_responder, {db = db, issuer = c.inter, key = c.inter_key,
                                    next_update_hours = -1})
t.expect_error("next_update_hours above a year", "next_update_hours: not in 0%.%.8784",
               pki.ocsp_responder, {db = db, issuer = c.inter, key = c.inter_key,
                                    next_update_hours = 8785})
t.expect_error("no db raises", "db: string expected, got nil",
               pki.ocsp_responder, {issuer = c.inter, key = c.inter_key})
t.expect_error("no key raises", "key: pki.key expected, got nil",
               pki.ocsp_responder, {db = db, issuer = c.inter})
t.expect_error("a signer not a pki.cert raises", "signer: pki.cert expected, got string",
               pki.ocsp_responder, {db = db, issuer = c.inter, signer = "x", key = c.inter_key})
t.expect_error("a closed responder raises", "attempt to use a closed pki.ocsp_responder",
               function()
    local r = assert(pki.ocsp_responder{db = db, issuer = c.inter, key = c.inter_key})
    r:close()
    assert(tostring(r) == "pki.ocsp_responder (closed)")
    return r:respond("x")
end)

t.case("a server answers /ocsp with its own reference: the responder closed and collected",
       function()
    local r = assert(pki.ocsp_responder{db = db, issuer = c.inter, signer = c.ocsp,
                                        key = c.ocsp_key})
    local srv <close> = assert(pki.start_server{hosts = {"127.0.0.1"}, port = 0, http_port = 0,
        cert = c.leaf, chain = {c.inter}, key = c.leaf_key, threads = 2, ocsp = r})
    r:close()
    r = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    request("leaf", "inter")
    os.remove(path("resp.der"))
    t.sh(("curl -s --max-time 10 --data-binary @%s -H 'Content-Type: application/ocsp-request' "
          .. "-o %s http://127.0.0.1:%d/ocsp"):format(q(path("req.der")), q(path("resp.der")),
                                                     srv:http_port()))
    local resp = assert(t.read_file(path("resp.der")), "no response")
    local out, verified = read_back(resp)
    assert(verified and out:find("Cert Status: %a+"), out) -- revoked by a case above
    os.remove(path("resp.der"))
    t.sh(("curl -s --max-time 10 --cacert %s --resolve localhost:%d:127.0.0.1 --data-binary @%s "
          .. "-o %s https://localhost:%d/ocsp"):format(q(path("root.pem")), srv:port(),
          q(path("req.der")), q(path("resp.der")), srv:port()))
    out, verified = read_back((assert(t.read_file(path("resp.der")), "no https response")))
    assert(verified and out:find("Cert Status: %a+"), out) -- revoked by a case above
end)

t.cleanup()
t.done()
