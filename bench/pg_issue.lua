-- Issuance rate against either backend of the CA database, in-process from
-- Lua: N P-256 server certificates, each with a new key, signed by an
-- intermediate and recorded.
--
--   lua5.4 bench/pg_issue.lua DB MODE N [BATCH [NODE]]
--
-- DB     a SQLite file path, or a postgresql:// URL
-- MODE   durable: store:issue alone, each certificate durable when it
--                 returns (SQLite: one WAL fsync; PostgreSQL: the serial
--                 reserved in one commit, the certificate in a second)
--        bulk:    store:begin() ... store:commit() around every BATCH
--                 issues (default 100): one commit per batch
--        ocsp:    N OCSP answers (lookup + signature) from a responder on
--                 DB, after issuing BATCH certificates to ask about
-- NODE   the node id on PostgreSQL (several processes: one each)
--
-- Prints: MODE N wall_s per_second. A benchmark: it asserts only that each
-- call worked.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.cpath = here .. "/../build/?.so;" .. package.cpath
package.path = here .. "/?.lua;" .. package.path
local pki = require "pki"
local bench = require "benchlib"

local db, mode = arg[1], arg[2] or "bulk"
local n = math.tointeger(tonumber(arg[3] or "1000"))
local batch = math.tointeger(tonumber(arg[4] or "100"))
local node = arg[5]

local gen = assert(pki.key_generator { type = "ec", curve = "P-256" })
local store = assert(pki.open_store(db, node and { node = node } or nil))
local inter, ik = bench.issuer(store, gen)

if mode == "ocsp" then
    local leaves = {}
    assert(store:begin())
    for i = 1, batch do
        leaves[i] = assert(store:issue(bench.leaf, gen:generate(), inter, ik, "server"))
    end
    assert(store:commit())
    local signer_key = assert(gen:generate())
    local signer = assert(pki.sign({
        subject = { { "CN", "ocsp.bench.test" } }, validity_days = 30,
        basic_constraints = { critical = true, ca = false },
        key_usage = { critical = true, "digitalSignature" },
        extended_key_usage = { "OCSPSigning" }, ocsp_no_check = true,
        subject_key_id = true, authority_key_id = true,
    }, signer_key, inter, ik))
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 '" .. dir .. "'"))
    local reqs = {}
    assert(inter:save(dir .. "/inter.pem"))
    for i = 1, math.min(#leaves, 20) do
        assert(leaves[i]:save(dir .. "/leaf.pem", { overwrite = true }))
        assert(os.execute(("openssl ocsp -issuer %s/inter.pem -cert %s/leaf.pem -reqout "
            .. "%s/req.der -no_nonce >/dev/null 2>&1"):format(dir, dir, dir)))
        local f = assert(io.open(dir .. "/req.der", "rb"))
        reqs[i] = f:read("a")
        f:close()
    end
    assert(os.execute("rm -rf '" .. dir .. "'"))
    local responder = assert(pki.ocsp_responder { db = db, issuer = inter, signer = signer,
        key = signer_key })
    local t0 = bench.now()
    for i = 1, n do
        assert(responder:respond(reqs[(i % #reqs) + 1]))
    end
    local wall = bench.now() - t0
    responder:close()
    print(("%s %d %.3f %.0f"):format(mode, n, wall, n / wall))
    return
end

local t0 = bench.now()
if mode == "durable" then
    for _ = 1, n do
        assert(store:issue(bench.leaf, gen:generate(), inter, ik, "server"))
    end
else
    local i = 0
    while i < n do
        assert(store:begin())
        for _ = 1, math.min(batch, n - i) do
            i = i + 1
            assert(store:issue(bench.leaf, gen:generate(), inter, ik, "server"))
        end
        assert(store:commit())
    end
end
local wall = bench.now() - t0
store:close()
print(("%s %d %.3f %.0f"):format(mode, n, wall, n / wall))
