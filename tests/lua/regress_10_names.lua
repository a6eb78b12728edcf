-- Issue 10: what issue.lua / ca:issue refuse and how names are shown.
-- Delegated OCSP signers are not issued from requests; names with control
-- characters are refused at the CSR and shown escaped.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local chain = require "chainsmith.chain"
local ca_mod = require "chainsmith.ca"

local profiles = t.tmpdir()
t.sh(("cp ../../scripts/profiles/*.lua %s/"):format(profiles))
-- A server profile that also signs OCSP answers.
t.write_file(profiles .. "/both.lua", 'return { extends = "server", '
    .. 'extended_key_usage = { "serverAuth", "OCSPSigning" } }')
local dir = t.tmpdir() .. "/chain"
assert(chain.build { out = dir, profiles = profiles })
local ca <close> = assert(ca_mod.open { dir = dir, profiles = profiles })

local function count()
    local store <close> = assert(pki.open_store(dir .. "/ca.db"))
    return store:count()
end
local before = count()

-- §1: anyone could mint a delegated OCSP signer.
t.check("build_chain made the responder", pki.read_cert(dir .. "/ocsp.pem") ~= nil)
t.expect_fail("the ocsp profile is not issued from a request", "policy",
    "^profile ocsp: a delegated OCSP signer %(OCSPSigning or ocsp_no_check%) can forge "
    .. "status answers; .* %(rule no%-ocsp%-signer%)$",
    ca.issue, ca, { profile = "ocsp", names = { "ocsp2.localhost" } })
t.expect_fail("nor any profile with OCSPSigning", "policy", "%(rule no%-ocsp%-signer%)",
    ca.issue, ca, { profile = "both", names = { "x.localhost" } })
local csr_key = assert(pki.generate_key { type = "ec", curve = "P-256" })
t.expect_fail("nor from a CSR", "policy", "%(rule no%-ocsp%-signer%)", ca.issue, ca,
    { profile = "ocsp", csr = assert(pki.make_csr { key = csr_key,
        subject = { { "CN", "ocsp.localhost" } } }) })
t.check("nothing recorded", count() == before, count())

t.cleanup()
t.done()
