-- What a chain build cannot go below, measured in-process: the cost of the
-- three key generations and three signatures alone (no files, no database),
-- per curve: issue 14's floor. And the "full" floor: the same for every
-- object build_chain.lua makes, which is more than a three-certificate
-- chain: also the OCSP responder's key (P-256, as scripts/profiles/ocsp.lua
-- has it) and certificate, and the root's and the intermediate's first CRLs
-- (4 keygens + 6 signatures). Run by bench/chain_build.sh beside the
-- whole-command figures. CPU time (os.clock): the work is CPU-bound.
local pki = require "pki"
local runs = tonumber(arg[1]) or 50

local function ca_spec(cn)
    return {
        subject = { { "CN", cn } }, validity_days = 30,
        basic_constraints = { critical = true, ca = true },
        key_usage = { critical = true, "keyCertSign", "cRLSign" },
        subject_key_id = true, authority_key_id = true,
    }
end
local leaf_spec = {
    subject = { { "CN", "localhost" } }, validity_days = 30,
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "serverAuth" },
    subject_alt_name = { dns = { "localhost" }, ip = { "127.0.0.1", "::1" } },
    subject_key_id = true, authority_key_id = true,
}

local ocsp_spec = {
    subject = { { "CN", "ocsp.localhost" } }, validity_days = 30,
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "OCSPSigning" },
    subject_key_id = true, authority_key_id = true,
}

local function chain(curve, full)
    local params = { type = "ec", curve = curve }
    local rk = assert(pki.generate_key(params))
    local root = assert(pki.sign(ca_spec("root"), rk))
    local ik = assert(pki.generate_key(params))
    local inter = assert(pki.sign(ca_spec("inter"), ik, root, rk))
    local lk = assert(pki.generate_key(params))
    assert(pki.sign(leaf_spec, lk, inter, ik))
    if full then
        local ok = assert(pki.generate_key { type = "ec", curve = "P-256" })
        assert(pki.sign(ocsp_spec, ok, inter, ik))
        assert(pki.sign_crl { issuer = root, key = rk, number = 1, revoked = {},
            next_update_days = 30 })
        assert(pki.sign_crl { issuer = inter, key = ik, number = 1, revoked = {},
            next_update_days = 7 })
    end
end

-- `chain_floor.lua once [CURVE]`: one chain (P-384 unless CURVE) and nothing
-- else, for an instruction count of the whole process (bench/chain_load.sh).
if arg[1] == "once" or arg[1] == "once_full" then
    chain(arg[2] or "P-384", arg[1] == "once_full")
    return
end

for _, curve in ipairs { "P-384", "P-256" } do
    for _, full in ipairs { false, true } do
        chain(curve, full) -- warm up: provider and algorithm fetches happen once
        local t0 = os.clock()
        for _ = 1, runs do
            chain(curve, full)
        end
        print(("%s%s %d"):format(curve, full and " full" or "",
            math.floor((os.clock() - t0) / runs * 1e6)))
    end
end
