-- What a chain build cannot go below, measured in-process: the cost of the
-- three key generations and three signatures alone (no files, no database),
-- per curve. Run by bench/chain_build.sh beside the whole-command figures.
-- CPU time (os.clock): the work is CPU-bound.
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

local function chain(curve)
    local params = { type = "ec", curve = curve }
    local rk = assert(pki.generate_key(params))
    local root = assert(pki.sign(ca_spec("root"), rk))
    local ik = assert(pki.generate_key(params))
    local inter = assert(pki.sign(ca_spec("inter"), ik, root, rk))
    local lk = assert(pki.generate_key(params))
    assert(pki.sign(leaf_spec, lk, inter, ik))
end

-- `chain_floor.lua once`: one P-384 chain and nothing else, for an instruction
-- count of the whole process (bench/chain_load.sh).
if arg[1] == "once" then
    chain("P-384")
    return
end

for _, curve in ipairs { "P-384", "P-256" } do
    chain(curve) -- warm up: provider and algorithm fetches happen once
    local t0 = os.clock()
    for _ = 1, runs do
        chain(curve)
    end
    print(("%s %d"):format(curve, math.floor((os.clock() - t0) / runs * 1e6)))
end
