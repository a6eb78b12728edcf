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

return M
