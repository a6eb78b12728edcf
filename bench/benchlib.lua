-- What the Lua benchmarks share: a wall clock, file sizes, and the chain
-- they issue under (a root and an intermediate in the store, and the one
-- leaf spec every benchmark certificate uses).
local M = {}

-- Wall clock in seconds: Lua has none finer than os.time, so ask date(1)
-- outside the timed loop (its own cost, about a millisecond, is in a
-- figure once).
function M.now()
    local f = assert(io.popen("date +%s%N"))
    local ns = f:read("n")
    f:close()
    return ns / 1e9
end

function M.file_size(path)
    local f = io.open(path, "rb")
    if not f then return 0 end
    local size = f:seek("end")
    f:close()
    return size
end

local function ca_spec(cn, path_len)
    return {
        subject = { { "O", "Bench" }, { "CN", cn } }, validity_days = 365,
        basic_constraints = { critical = true, ca = true, path_len = path_len },
        key_usage = { critical = true, "keyCertSign", "cRLSign" },
        subject_key_id = true, authority_key_id = true,
    }
end

-- A root and an intermediate issued into store with keys from gen:
-- returns the intermediate and its key.
function M.issuer(store, gen)
    local rk = assert(gen:generate())
    local root = assert(store:issue(ca_spec("Bench Root", nil), rk, nil, rk, "root"))
    local ik = assert(gen:generate())
    local inter = assert(store:issue(ca_spec("Bench Intermediate", 0), ik, root, rk,
        "intermediate"))
    return inter, ik
end

-- One spec for every leaf, as a profile gives it: the names change per
-- certificate in real use, but building the table is Lua's cost, not ours.
M.leaf = {
    subject = { { "O", "Bench" }, { "CN", "host.bench.test" } }, validity_days = 90,
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "serverAuth" },
    subject_alt_name = { dns = { "host.bench.test" } },
    subject_key_id = true, authority_key_id = true,
}

-- The server profile's leaf (scripts/profiles/server.lua) with distinct
-- names: what the README's bulk recipe issues and what the luaossl peer
-- (bench/issue_luaossl.lua) builds the same way. Curve and key come from
-- the caller; here only what the certificate says.
M.server = {
    subject = { { "C", "SE" }, { "O", "Simple Inc" }, { "OU", "ABC" } }, -- then CN = the name
    validity_days = 30,
    crl = "http://pki.bench.test/crl/intermediate.crl",
    ocsp = "http://pki.bench.test/ocsp",
}

-- The i-th distinct DNS name.
function M.host(i)
    return ("host%d.bench.test"):format(i)
end

-- A spec for the i-th name, built the way a caller builds one per request
-- (a new table each time: its cost is part of the per-certificate figure).
function M.server_spec(i)
    local name, s = M.host(i), M.server
    return {
        subject = { s.subject[1], s.subject[2], s.subject[3], { "CN", name } },
        validity_days = s.validity_days,
        basic_constraints = { critical = true, ca = false },
        key_usage = { critical = true, "digitalSignature" },
        extended_key_usage = { "serverAuth" },
        subject_alt_name = { dns = { name } },
        subject_key_id = true, authority_key_id = true,
        crl_distribution_points = { s.crl },
        authority_info_access = { ocsp = { s.ocsp } },
    }
end

-- The same leaf as a template spec (pki.template): the subject without its
-- CN and no names, which each certificate brings.
function M.server_template()
    local spec = M.server_spec(0)
    spec.subject[4] = nil
    spec.subject_alt_name = nil
    return spec
end

return M
