-- Scale: does issuance slow down as the CA database grows? Issues P-256
-- leaves in bulk mode (a new key each, batches of 1000) up to MAX (default
-- 1,000,000) into one database, and at each checkpoint (10 k, 20 k, 50 k,
-- 100 k, 200 k, 500 k, 1 M, up to MAX) prints: the rate over the last
-- WINDOW certificates before it, the database size, and the median time to
-- look a certificate up by serial (store:find, random serials issued so far).
--
--   lua5.4 bench/scale.lua [MAX [WINDOW]]
--
-- Columns: count; over the window: rate_per_s (wall), cpu_us and written_kB
-- per certificate (process CPU time; bytes written, /proc/self/io wchar: WAL
-- frames and checkpoints); then db_bytes (database + WAL), bytes_per_cert,
-- lookup_us (a hit: the row found and its PEM parsed into a certificate),
-- lookup_miss_us (a serial not issued: the index walk alone).
-- A benchmark: it asserts only that each call worked.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.cpath = here .. "/../build/?.so;" .. package.cpath
package.path = here .. "/?.lua;" .. package.path
local pki = require "pki"
local bench = require "benchlib"

local max = math.tointeger(tonumber(arg[1] or "1000000"))
local window = math.tointeger(tonumber(arg[2] or "10000"))
local BATCH = 1000
local LOOKUPS, LOOKUP_ROUNDS = 200, 15 -- median of 15 rounds of 200 lookups

-- Bytes this process has written (write(2) and friends), from /proc/self/io.
local function written()
    for line in io.lines("/proc/self/io") do
        local n = line:match("^wchar:%s*(%d+)")
        if n then return tonumber(n) end
    end
    return 0
end

local function median(t)
    table.sort(t)
    return t[(#t + 1) // 2]
end

local dir = os.getenv("SCALE_DIR") or os.tmpname()
if not os.getenv("SCALE_DIR") then os.remove(dir) end
assert(os.execute("mkdir -p -m 700 '" .. dir .. "'"))
local db = dir .. "/scale.db"
os.remove(db)
local gen = assert(pki.key_generator { type = "ec", curve = "P-256" })
local store = assert(pki.open_store(db))
local inter, ik = bench.issuer(store, gen)
local leaf = bench.leaf

-- A sample of issued serials to look up: one in every 97, kept as strings.
local sample = {}
local checkpoints = {}
for _, c in ipairs { 10000, 20000, 50000, 100000, 200000, 500000, 1000000 } do
    if c < max then checkpoints[#checkpoints + 1] = c end
end
checkpoints[#checkpoints + 1] = max

-- Median over rounds of the mean time of one store:find. hit: serials that
-- were issued (the row is found and its PEM parsed into a certificate);
-- miss: random serials that were not (the index walk alone).
local function lookups(hit)
    local times = {}
    for _ = 1, LOOKUP_ROUNDS do
        local picks = {}
        for i = 1, LOOKUPS do
            picks[i] = hit and sample[math.random(#sample)]
                or ("%08X%08X"):format(math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
        end
        local t0 = bench.now()
        for i = 1, LOOKUPS do
            local cert, msg, code = store:find(picks[i])
            assert(cert or (not hit and code == "notfound"), msg)
        end
        times[#times + 1] = (bench.now() - t0) / LOOKUPS * 1e6
    end
    return median(times)
end

print(("%9s %11s %11s %11s %14s %15s %10s %15s"):format("count", "rate_per_s", "cpu_us",
    "written_kB", "db_bytes", "bytes_per_cert", "lookup_us", "lookup_miss_us"))
local issued, next_cp, t_window = 0, 1, nil
math.randomseed(42)
while issued < max do
    assert(store:begin())
    for _ = 1, math.min(BATCH, max - issued) do
        local cert = assert(store:issue(leaf, gen:generate(), inter, ik, "server"))
        issued = issued + 1
        if issued % 97 == 0 then sample[#sample + 1] = cert:serial() end
    end
    assert(store:commit())
    local cp = checkpoints[next_cp]
    if t_window == nil and issued >= cp - math.min(window, cp) then
        t_window = { t = bench.now(), n = issued, cpu = os.clock(), w = written() }
    end
    if issued >= cp then
        local k = math.max(issued - t_window.n, 1)
        local rate = k / (bench.now() - t_window.t)
        local cpu = (os.clock() - t_window.cpu) / k * 1e6
        local wkb = (written() - t_window.w) / k / 1024
        local size = bench.file_size(db) + bench.file_size(db .. "-wal")
        print(("%9d %11.0f %11.0f %11.1f %14d %15.0f %10.1f %15.1f"):format(issued, rate, cpu,
            wkb, size, size / issued, lookups(true), lookups(false)))
        io.stdout:flush()
        next_cp = next_cp + 1
        t_window = nil
        collectgarbage()
    end
end
store:close()
if not os.getenv("SCALE_DIR") then os.execute("rm -rf '" .. dir .. "'") end
