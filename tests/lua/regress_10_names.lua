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

-- Hostile requests and certificates, signed for real (hostile.lua).
local h = require "hostile"
local work = t.tmpdir()
local keyfile = work .. "/k.pem"
t.sh(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s"):format(keyfile))
-- An openssl request or self-signed certificate for subject CN cn and SAN
-- DNS san, as DER, with each `from` in it then replaced by `to`.
local function hostile(kind, cn, san, from, to)
    local out = work .. "/x.der"
    t.sh(("openssl req %s -key %s -subj %s %s -outform DER -out %s"):format(
        kind == "cert" and "-x509 -addext basicConstraints=critical,CA:FALSE "
            .. "-addext extendedKeyUsage=serverAuth" or "-new",
        keyfile, t.quote("/CN=" .. cn),
        san and ("-addext " .. t.quote("subjectAltName=DNS:" .. san)) or "", out))
    local der = assert(t.read_file(out))
    while der:find(from, 1, true) do
        der = h.patch(der, from, to, keyfile, work)
    end
    return der
end

-- §8: a CN holding ESC [2J and a newline is shown escaped, never raw.
t.case("pki.escape", function()
    for _, c in ipairs {
        { "plain.test", "plain.test" },
        { "a\0b", "a\\x00b" },
        { "back\\slash", "back\\\\slash" },
        { "good.test\0.evil.com", "good.test\\x00.evil.com" },
        { "\27[2J\nx\t\127", "\\x1b[2J\\x0ax\\x09\\x7f" },
        { "b\195\188cher", "b\195\188cher" },    -- UTF-8 stays
        { "\194\155[2J", "\\u009b[2J" },         -- C1: 0x9b is CSI
        { "\255\192\128", "\\xff\\xc0\\x80" },   -- not UTF-8
    } do
        local got = pki.escape(c[1])
        assert(got == c[2], ("%q: %q, not %q"):format(c[1], got, c[2]))
    end
end)
local evil_cn = "evil\27[2J\nline"
local shown_cn = "evil\\x1b[2J\\x0aline"
local evil_cert = assert(pki.load_cert(hostile("cert", "evil_[2J_line", "x.test",
    "evil_[2J_line", evil_cn), "evil.der"))
t.case("info shows the CN escaped", function()
    local info = evil_cert:info()
    assert(info.subject[1][2] == shown_cn, info.subject[1][2])
    assert(info.subject_line == "CN=" .. shown_cn, info.subject_line)
    assert(not info.subject_line:find("[%c]"))
end)
t.case("lint shows the CN escaped", function()
    local report = assert(pki.lint(evil_cert))
    local all = {}
    for _, f in ipairs(report) do
        all[#all + 1] = f.message
    end
    all = table.concat(all, "\n")
    assert(all:find(shown_cn, 1, true), all)
    assert(not all:find("\27", 1, true))
end)
t.expect_fail("a requested name with ESC is refused, shown escaped", "invalid",
    "^name \\x1b%[2Jx%.localhost: DNS name '\\x1b%[2Jx%.localhost': control characters and "
    .. "bytes that are not UTF%-8 are not allowed %(shown escaped%)$",
    ca.issue, ca, { profile = "server", names = { "\27[2Jx.localhost" } })

t.cleanup()
t.done()
