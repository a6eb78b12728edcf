-- What crash-safe files cost an issuance: ca:issue (policy, lint, sign,
-- one durable commit) with no files, against the same with key, certificate
-- and chain staged under a journal, committed, then renamed into place
-- (docs/issue.md, Durability). N P-256 client certificates each, in a chain
-- built into a temp folder.
--   lua5.4 bench/issue_files.lua [N]     (default 300)
-- A benchmark, not a test: it asserts nothing.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.cpath = here .. "/../build/?.so;" .. package.cpath
package.path = here .. "/?.lua;" .. here .. "/../scripts/?.lua;" .. package.path
local pki = require "pki"
local bench = require "benchlib"

local n = math.tointeger(tonumber(arg[1] or "300")) or 300
local dir = assert(io.popen("mktemp -d /tmp/cs-bench-files-XXXXXX")):read("l")
local function sh(cmd)
    assert(os.execute(cmd), cmd)
end
sh(("%s %s/../scripts/build_chain.lua --out %s/chain >/dev/null"):format(
    arg[-1] or "lua5.4", here, dir))

local ca = assert(require("chainsmith.ca").open { dir = dir .. "/chain" })

local function run(label, files_for)
    local t0 = bench.now()
    for i = 1, n do
        local req = { profile = "client", names = { ("%s%d.clients.internal"):format(label, i) } }
        assert(ca:issue(req, files_for and { files = files_for } or nil))
    end
    local secs = bench.now() - t0
    return n / secs, secs * 1e6 / n
end

local out = dir .. "/issued"
assert(pki.mkdir(out))
local function files(result)
    local base = out .. "/" .. result.names[1].value
    return {
        { path = base .. ".pem", cert = result.cert },
        { path = base .. "-chain.pem", certs = result.chain },
        { path = base .. ".key", key = result.key },
    }
end

local rate0, us0 = run("r", nil)
local rate1, us1 = run("f", files)
ca:close()
print(("ca:issue, P-256 client, %d each, one durable commit per certificate"):format(n))
print(("  record only           %7.0f/s  %6.0f us"):format(rate0, us0))
print(("  record + 3 files      %7.0f/s  %6.0f us  (+%.0f us: journal, temp files,"
    .. " fsyncs, renames)"):format(rate1, us1, us1 - us0))
sh("rm -rf " .. dir)
