-- The luaossl peer of `issue_rate.lua names`: the same leaves issued
-- in-process with luaossl (Debian's lua-luaossl), nothing recorded and
-- nothing written. A P-256 root and intermediate made here; per leaf a new
-- P-256 key, a distinct name (benchlib.host), the server profile's subject,
-- validity and extensions (benchlib.server), a random 16-byte serial, and an
-- ECDSA-SHA256 signature by the intermediate. The certificate is not
-- encoded: a caller that wants its DER pays for that on top.
--
--   lua5.4 bench/issue_luaossl.lua N
--
-- Prints one line like issue_rate.lua's: luaossl P-256 N wall_s cpu_s per_second
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local bench = require "benchlib"
local pkey = require "openssl.pkey"
local x509 = require "openssl.x509"
local xname = require "openssl.x509.name"
local altname = require "openssl.x509.altname"
local extension = require "openssl.x509.extension"
local bignum = require "openssl.bignum"
local rand = require "openssl.rand"

local n = math.tointeger(tonumber(arg[1] or "10000"))
local s = bench.server

local function name_of(rdns)
    local nm = xname.new()
    for _, rdn in ipairs(rdns) do
        nm:add(rdn[1], rdn[2])
    end
    return nm
end

local function ca(cn, key, issuer, issuer_key)
    local c = x509.new()
    c:setVersion(3)
    c:setSerial(bignum.fromBinary(rand.bytes(16)))
    c:setSubject(name_of { { "O", "Bench" }, { "CN", cn } })
    c:setIssuer(issuer and issuer:getSubject() or c:getSubject())
    local now = os.time()
    c:setLifetime(now, now + 365 * 86400)
    c:setPublicKey(key)
    c:setBasicConstraints { CA = true }
    c:setBasicConstraintsCritical(true)
    c:addExtension(extension.new("keyUsage", "critical,keyCertSign,cRLSign"))
    c:addExtension(extension.new("subjectKeyIdentifier", "hash", { subject = c }))
    c:addExtension(extension.new("authorityKeyIdentifier", "keyid:always",
        { issuer = issuer or c }))
    assert(c:sign(issuer_key or key, "sha256"))
    return c
end

local params = { type = "EC", curve = "prime256v1" }
local rk = pkey.new(params)
local root = ca("Bench Root", rk)
local ik = pkey.new(params)
local inter = ca("Bench Intermediate", ik, root, rk)
local issuer_name = inter:getSubject()

local function leaf(i)
    local host = bench.host(i)
    local key = pkey.new(params)
    local c = x509.new()
    c:setVersion(3)
    c:setSerial(bignum.fromBinary(rand.bytes(16)))
    c:setSubject(name_of { s.subject[1], s.subject[2], s.subject[3], { "CN", host } })
    c:setIssuer(issuer_name)
    local now = os.time()
    c:setLifetime(now, now + s.validity_days * 86400)
    c:setPublicKey(key)
    c:setBasicConstraints { CA = false }
    c:setBasicConstraintsCritical(true)
    c:addExtension(extension.new("keyUsage", "critical,digitalSignature"))
    c:addExtension(extension.new("extendedKeyUsage", "serverAuth"))
    local alt = altname.new()
    alt:add("DNS", host)
    c:setSubjectAlt(alt)
    c:addExtension(extension.new("subjectKeyIdentifier", "hash", { subject = c }))
    c:addExtension(extension.new("authorityKeyIdentifier", "keyid:always", { issuer = inter }))
    c:addExtension(extension.new("crlDistributionPoints", "URI:" .. s.crl))
    c:addExtension(extension.new("authorityInfoAccess", "OCSP;URI:" .. s.ocsp))
    assert(c:sign(ik, "sha256"))
    return c
end

-- One leaf before the clock starts, for the driver's check (CHECK=1 prints it).
local first = leaf(0)
if os.getenv("CHECK") then
    io.stderr:write(first:toPEM())
end

collectgarbage()
local c0, t0 = os.clock(), bench.now()
for i = 1, n do
    leaf(i)
end
local t1, c1 = bench.now(), os.clock()
print(("luaossl P-256 %d %.4f %.4f %.0f"):format(n, t1 - t0, c1 - c0, n / (t1 - t0)))
