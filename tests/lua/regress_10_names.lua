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

-- §1: a NUL inside a requested name was cut at, then issued as the clean
-- name ("good.test\0.evil.com" became DNS:good.test).
local nul = "good.test\0.evil.com"
local shown_nul = "good.test\\x00.evil.com"
local what = "control characters and bytes that are not UTF%-8 are not allowed %(shown escaped%)$"
before = count()
t.expect_fail("a CSR with a NUL in a SAN DNS name is refused", "invalid",
    "^request%.csr: subjectAltName DNS name 'good%.test\\x00%.evil%.com': " .. what,
    ca.issue, ca, { profile = "server",
        csr = hostile("csr", "good.test", "good.test_.evil.com", "good.test_.evil.com", nul) })
t.expect_fail("a CSR with a NUL in its CN (no SAN) is refused", "invalid",
    "^request%.csr: subject CN 'good%.test\\x00%.evil%.com': " .. what,
    ca.issue, ca, { profile = "server",
        csr = hostile("csr", "good.test_.evil.com", nil, "good.test_.evil.com", nul) })
t.expect_fail("a CSR with ESC in its CN is refused", "invalid",
    "^request%.csr: subject CN 'evil\\x1b%[2J\\x0aline': " .. what,
    ca.issue, ca, { profile = "server",
        csr = hostile("csr", "evil_[2J_line", "esc.localhost", "evil_[2J_line", evil_cn) })
t.expect_fail("a name with a NUL is refused", "invalid",
    "^name good%.test\\x00%.evil%.com: DNS name 'good%.test\\x00%.evil%.com': " .. what,
    ca.issue, ca, { profile = "server", names = { nul } })
t.check("nothing recorded for names with NUL", count() == before, count())
t.expect_fail("normalize_name does not cut at a NUL", "invalid", "'good%.test\\x00%.evil%.com'",
    pki.normalize_name, "dns", nul)
t.expect_fail("permits does not cut at a NUL", "invalid", "'good%.test\\x00%.evil%.com'",
    ca.cert.permits, ca.cert, "dns", nul)
local leaf_key = assert(pki.generate_key { type = "ec", curve = "P-256" })
t.case("a spec with a NUL in a SAN is refused", function()
    local spec = t.leaf_spec("good.test")
    spec.subject_alt_name = { dns = { nul } }
    local c, err, code = pki.sign(spec, leaf_key, ca.cert, ca.key)
    assert(c == nil and code == "invalid", tostring(err))
    assert(err:find("subject_alt_name.dns[1]: holds a NUL byte", 1, true), err)
end)
t.case("a spec with a NUL in the subject is refused", function()
    local spec = t.leaf_spec("good.test")
    spec.subject = { { "CN", nul } }
    local c, err, code = pki.sign(spec, leaf_key, ca.cert, ca.key)
    assert(c == nil and code == "invalid", tostring(err))
    assert(err:find("spec.subject[1]: holds a NUL byte", 1, true), err)
end)
t.expect_fail("make_csr with a NUL in a name", "invalid", "^csr%.names%[1%]%.value: holds a NUL",
    pki.make_csr, { key = leaf_key, names = { { type = "dns", value = nul } } })
t.expect_fail("make_csr with a NUL in the subject", "invalid", "^csr%.subject%[1%]: holds a NUL",
    pki.make_csr, { key = leaf_key, subject = { { "CN", nul } } })
t.case("a certificate with a NUL in a SAN shows it escaped", function()
    local c = assert(pki.load_cert(hostile("cert", "good.test", "good.test_.evil.com",
        "good.test_.evil.com", nul)))
    local dns = c:info().subject_alt_name.dns
    assert(#dns == 1 and dns[1] == shown_nul, dns[1])
end)

-- §8: command-line numbers are decimal digits only ("0x10" was 16).
local number = require "chainsmith.number"
for _, c in ipairs {
    { "16", 16 }, { "0", 0 }, { "007", 7 }, { "0x10" }, { "1e1" }, { "7.0" }, { " 7" },
    { "7 " }, { "+7" }, { "-7" }, { "" }, { "99999999999999999999" }, { "\0" },
} do
    t.check(("decimal %q"):format(c[1]), number.decimal(c[1]) == c[2],
        tostring(number.decimal(c[1])))
end
t.case("a range", function()
    local n, why = number.decimal("11", 1, 10)
    assert(n == nil and why == "expected a whole number from 1 to 10 in decimal digits, got '11'",
        why)
    assert(number.decimal("10", 1, 10) == 10)
end)

t.cleanup()
t.done()
