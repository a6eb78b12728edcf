-- Leaf issuance rate, in-process from Lua: N server certificates, each with a
-- new key, signed by an intermediate and recorded in the CA database.
--
--   lua5.4 bench/issue_rate.lua MODE CURVE N [BATCH]
--
-- MODE
--   durable  store:issue alone: one transaction and one durable commit
--            (WAL fsync) per certificate
--   bulk     store:begin() ... store:commit() around every BATCH issues
--            (default 1000): one transaction and one fsync per batch
--   csr      bulk, signing CSRs made before the clock starts (a pool of 1,000,
--            DER): each is parsed, its signature checked (proof of
--            possession), its public key taken, and the certificate issued
--   names    the README's bulk recipe as a user writes it: bulk, and a spec
--            per certificate with its own name (the server profile's
--            extensions, benchlib.server_spec); bench/issue_luaossl.lua is
--            its peer
--   template the same leaves as names from a pki.template compiled once
--            (store:issue_template: names, CN and key per certificate)
--   template_nodb  template:sign, nothing recorded (luaossl's conditions)
--   csr_template  csr, the certificate from a pki.template (the CA's path,
--            ACME finalize included)
--   nodb     pki.sign with a new key each, nothing recorded
--   keygen   key generation alone (pki.key_generator)
--
-- Prints one line: MODE CURVE N wall_s cpu_s per_second vmhwm_kB db_bytes
-- (bench/issue.sh runs every mode several times and makes the table). A
-- benchmark: it asserts only that each call worked.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.cpath = here .. "/../build/?.so;" .. package.cpath
package.path = here .. "/?.lua;" .. package.path
local pki = require "pki"
local bench = require "benchlib"

local mode, curve = arg[1] or "bulk", arg[2] or "P-256"
local n = math.tointeger(tonumber(arg[3] or "10000"))
local batch = math.tointeger(tonumber(arg[4] or "1000"))
local POOL = 1000

local function vmhwm()
    for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmHWM:%s*(%d+)")
        if kb then return tonumber(kb) end
    end
    return 0
end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -m 700 '" .. dir .. "'"))
local db = dir .. "/ca.db"
local gen = assert(pki.key_generator { type = "ec", curve = curve })
local store = assert(pki.open_store(db))
local inter, ik = bench.issuer(store, gen)
local leaf = bench.leaf

local csrs = {}
if mode == "csr" or mode == "csr_template" then
    for i = 1, POOL do
        local csr = assert(pki.make_csr { key = assert(gen:generate()),
            subject = { { "CN", "host.bench.test" } },
            names = { { type = "dns", value = "host.bench.test" } } })
        csrs[i] = csr:der()
    end
end

collectgarbage()
local c0, t0 = os.clock(), bench.now()
if mode == "durable" then
    for _ = 1, n do
        assert(store:issue(leaf, gen:generate(), inter, ik, "server"))
    end
elseif mode == "csr_template" then
    local tpl = assert(pki.template(bench.server_template(), inter, ik))
    local i = 0
    while i < n do
        assert(store:begin())
        for _ = 1, math.min(batch, n - i) do
            i = i + 1
            local key = assert(assert(pki.load_csr(csrs[i % POOL + 1])):public_key())
            assert(store:issue_template(tpl, key, { dns = { "host.bench.test" } },
                "host.bench.test", "server"))
        end
        assert(store:commit())
    end
elseif mode == "bulk" or mode == "csr" then
    local i = 0
    while i < n do
        assert(store:begin())
        for _ = 1, math.min(batch, n - i) do
            i = i + 1
            local key
            if mode == "csr" then
                key = assert(assert(pki.load_csr(csrs[i % POOL + 1])):public_key())
            else
                key = gen:generate()
            end
            assert(store:issue(leaf, key, inter, ik, "server"))
        end
        assert(store:commit())
    end
elseif mode == "names" then
    local i = 0
    while i < n do
        assert(store:begin())
        for _ = 1, math.min(batch, n - i) do
            i = i + 1
            assert(store:issue(bench.server_spec(i), gen:generate(), inter, ik, "server"))
        end
        assert(store:commit())
    end
elseif mode == "template" then
    local tpl = assert(pki.template(bench.server_template(), inter, ik))
    local i = 0
    while i < n do
        assert(store:begin())
        for _ = 1, math.min(batch, n - i) do
            i = i + 1
            local name = bench.host(i)
            assert(store:issue_template(tpl, gen:generate(), { dns = { name } }, name, "server"))
        end
        assert(store:commit())
    end
elseif mode == "template_nodb" then
    local tpl = assert(pki.template(bench.server_template(), inter, ik))
    for i = 1, n do
        local name = bench.host(i)
        assert(tpl:sign(gen:generate(), { dns = { name } }, name))
    end
elseif mode == "nodb" then
    for _ = 1, n do
        assert(pki.sign(leaf, gen:generate(), inter, ik))
    end
elseif mode == "keygen" then
    for _ = 1, n do
        assert(gen:generate())
    end
else
    error("mode: durable, bulk, names, template, template_nodb, csr, csr_template, nodb or keygen")
end
local t1, c1 = bench.now(), os.clock()

if mode ~= "nodb" and mode ~= "keygen" and mode ~= "template_nodb" then
    assert(store:count() == n + 2)
end
store:close()
local size = bench.file_size(db) + bench.file_size(db .. "-wal")
print(("%s %s %d %.4f %.4f %.0f %d %d"):format(mode, curve, n, t1 - t0, c1 - c0,
    n / (t1 - t0), vmhwm(), size))
os.execute("rm -rf '" .. dir .. "'")
