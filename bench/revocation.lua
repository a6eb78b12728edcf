-- Revocation at scale, in-process from Lua: N P-256 leaves recorded in one
-- CA database, R of them revoked; then the cost of signing the CRL that lists
-- them, its size, and OCSP answers (lookup in ca.db + one signature each)
-- from the delegated-signer responder serve.lua runs.
--
--   lua5.4 bench/revocation.lua [N] [R] [Q]   (default 10000 1000 2000)
--
-- A benchmark: it asserts only that each call worked.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.cpath = here .. "/../build/?.so;" .. package.cpath
package.path = here .. "/?.lua;" .. package.path
local pki = require "pki"
local bench = require "benchlib"

local n = math.tointeger(tonumber(arg[1] or "10000"))
local r = math.tointeger(tonumber(arg[2] or "1000"))
local q = math.tointeger(tonumber(arg[3] or "2000"))

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -m 700 '" .. dir .. "'"))
local db = dir .. "/ca.db"
local gen = assert(pki.key_generator { type = "ec", curve = "P-256" })
local store = assert(pki.open_store(db))
local inter, ik = bench.issuer(store, gen)
local issuer_line = inter:info().subject_line

-- N leaves in batches, keeping every R-th one's certificate to revoke and
-- a few to ask about.
local leaves, step = {}, n // r
assert(store:begin())
for i = 1, n do
    local cert = assert(store:issue(bench.leaf, gen:generate(), inter, ik, "server"))
    if i % step == 0 then
        leaves[#leaves + 1] = cert
    end
    if i % 1000 == 0 then
        assert(store:commit())
        assert(store:begin())
    end
end
assert(store:commit())

local t0 = bench.now()
assert(store:begin())
for _, cert in ipairs(leaves) do
    assert(store:revoke(cert:serial(), { issuer = issuer_line, reason = "keyCompromise" }))
end
assert(store:commit())
local revoke_s = bench.now() - t0

-- The CRL: read the revoked list, sign it, encode it (what revoke.lua does
-- after each revocation).
local runs, crl, der = 5, nil, nil
t0 = bench.now()
for _ = 1, runs do
    local list = assert(store:revoked(issuer_line))
    crl = assert(pki.sign_crl { issuer = inter, key = ik, number = 1, revoked = list,
        next_update_days = 7 })
    der = crl:der()
end
local crl_ms = (bench.now() - t0) * 1000 / runs
store:close()

-- OCSP: a delegated signer as build_chain.lua makes it, and one request
-- per certificate asked about (built before the clock starts).
local signer_key = assert(gen:generate())
local signer = assert(pki.sign({
    subject = { { "CN", "ocsp.bench.test" } }, validity_days = 30,
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "OCSPSigning" }, ocsp_no_check = true,
    subject_key_id = true, authority_key_id = true,
}, signer_key, inter, ik))
local responder = assert(pki.ocsp_responder { db = db, issuer = inter, signer = signer,
    key = signer_key })
local reqs = {}
local inter_pem, cert_pem = dir .. "/inter.pem", dir .. "/leaf.pem"
assert(inter:save(inter_pem))
for i = 1, math.min(#leaves, 20) do
    assert(leaves[i]:save(cert_pem, { overwrite = true }))
    local req = dir .. "/req.der"
    assert(os.execute(("openssl ocsp -issuer %s -cert %s -reqout %s -no_nonce >/dev/null 2>&1")
        :format(inter_pem, cert_pem, req)))
    local f = assert(io.open(req, "rb"))
    reqs[i] = f:read("a")
    f:close()
end
t0 = bench.now()
for i = 1, q do
    assert(responder:respond(reqs[(i % #reqs) + 1]))
end
local ocsp_s = bench.now() - t0
responder:close()
assert(os.execute("rm -rf '" .. dir .. "'"))

print(("revocation, P-256, %d certificates in ca.db, %d revoked"):format(n, #leaves))
print(("  revoke %d (one transaction)     %8.1f us each"):format(#leaves,
    revoke_s * 1e6 / #leaves))
print(("  CRL: read, sign, encode          %8.1f ms  (%d bytes DER, %d entries)"):format(
    crl_ms, #der, #crl:info().revoked))
print(("  OCSP answers (lookup + sign)     %8.0f /s  (%.0f us each)"):format(q / ocsp_s,
    ocsp_s * 1e6 / q))
