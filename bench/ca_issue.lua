-- ca:issue per certificate, policy included: N issues from names (a new key
-- each) under a chain built in a temp folder, each timed alone; and the
-- policy's profile check (policy.check: rules and lint) alone, N times.
--
--   lua5.4 bench/ca_issue.lua [N]
--
-- Prints the median and the 90th percentile of each, in CPU milliseconds of
-- this process (os.clock: what the call costs, which other load on the
-- machine does not inflate), and the wall time of the whole issue loop. A
-- benchmark: it asserts only that each call worked.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.cpath = here .. "/../build/?.so;" .. package.cpath
package.path = here .. "/?.lua;" .. here .. "/../scripts/?.lua;" .. package.path
local bench = require "benchlib"
local chain = require "chainsmith.chain"
local ca_mod = require "chainsmith.ca"
local profile = require "chainsmith.profile"

local n = math.tointeger(tonumber(arg[1] or "200"))
local profiles = here .. "/../scripts/profiles"
local dir = os.tmpname()
os.remove(dir)
assert(os.execute(("mkdir -m 700 '%s'"):format(dir)))
assert(chain.build { out = dir .. "/chain", profiles = profiles })
local ca = assert(ca_mod.open { dir = dir .. "/chain", profiles = profiles })

local function quantiles(t)
    table.sort(t)
    return t[(#t + 1) // 2] * 1000, t[math.ceil(#t * 0.9)] * 1000
end

local times = {}
local wall = bench.now()
for i = 1, n do
    local c0 = os.clock()
    assert(ca:issue { profile = "server", names = { ("h%d.localhost"):format(i) } })
    times[i] = os.clock() - c0
end
wall = bench.now() - wall
local med, p90 = quantiles(times)
print(("ca:issue       n=%d  median %.3f ms  p90 %.3f ms CPU  wall %.3f ms/cert")
    :format(n, med, p90, wall * 1000 / n))

local p = assert(profile.load(profiles, "server"))
local checks = {}
for i = 1, n do
    local c0 = os.clock()
    assert(ca.policy.check(p))
    checks[i] = os.clock() - c0
end
med, p90 = quantiles(checks)
print(("policy.check   n=%d  median %.3f ms  p90 %.3f ms CPU"):format(n, med, p90))
ca:close()
os.execute(("rm -rf '%s'"):format(dir))
