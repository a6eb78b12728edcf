-- Where the serve loop's CPU goes in an ACME finalize (issue 12 section 5):
-- the decision acme_service.lua makes (policy, then ca:issue from the CSR
-- under the order's profile), N times over a chain build_chain.lua made,
-- each one alone (a commit each) and then N in one batch (as a serve loop
-- turn does them), with os.clock totals of the parts it calls. A
-- benchmark: asserts nothing.
--
--   lua5.4 bench/acme_finalize_cpu.lua CHAIN_DIR [N]
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "../scripts/?.lua;" .. package.path
package.cpath = (arg[0]:match("(.-)[^/]*$") or "") .. "../build/?.so;" .. package.cpath
local pki = require "pki"
local ca_mod = require "chainsmith.ca"
local service = require "chainsmith.acme_service"
local profile = require "chainsmith.profile"

local dir = assert(arg[1], "usage: acme_finalize_cpu.lua CHAIN_DIR [N]")
local n = tonumber(arg[2] or "200")
local ca = assert(ca_mod.open { dir = dir })
require("chainsmith.policy_engine").new(ca.policy)
local decider = service.decider(ca)

-- CSRs made before the clock starts (the client's work, and the parse
-- the request's thread does, not the serve loop's)
local csrs = {}
local key = assert(pki.generate_key { type = "ec", curve = "P-256" })
for i = 1, 2 * n do
    local name = ("f%d.bench.test"):format(i)
    local csr = assert(pki.make_csr { key = key, subject = { { "CN", name } },
        names = { { type = "dns", value = name } } })
    local der = assert(csr:der())
    -- parsed as the request's thread parses it and hands it over (ask.parsed_csr)
    csrs[i] = { name = name, der = der, parsed = assert(pki.load_csr(der)) }
end

-- os.clock totals of the functions an issue calls, by name
local parts, order = {}, {}
local function wrap(tbl, fname, label)
    local f = tbl[fname]
    order[#order + 1] = label
    parts[label] = 0
    tbl[fname] = function(...)
        local t = os.clock()
        local r = table.pack(f(...))
        parts[label] = parts[label] + os.clock() - t
        return table.unpack(r, 1, r.n)
    end
end
local store_mt = getmetatable(ca.store).__index
wrap(pki, "verify", "pki.verify (the issued chain)")
wrap(pki, "load_csr", "pki.load_csr")
wrap(store_mt, "issue_template", "store:issue_template (sign, lint, insert)")
wrap(store_mt, "commit", "store:commit")
wrap(profile, "from_table", "profile.from_table")
wrap(ca.policy, "check_request", "policy.check_request")
wrap(ca.policy, "check", "policy.check")
wrap(ca, "template", "ca:template")

local function ask(i)
    local c = csrs[i]
    return { kind = "finalize", id = i, order = "o" .. i, profile = "server", csr = c.der,
        parsed_csr = c.parsed,
        identifiers = { { type = "dns", value = c.name } }, account = { id = "a" } }
end

local function run(first, batch)
    for _, l in ipairs(order) do parts[l] = 0 end
    local t = os.clock()
    if batch then assert(ca.store:begin()) end
    for i = first, first + n - 1 do
        local a = decider:decide(ask(i))
        assert(a.ok, a.detail)
    end
    if batch then assert(ca.store:commit()) end
    local total = os.clock() - t
    print(("%s: %.2f ms of CPU per finalize (%d)"):format(batch and "in one batch"
        or "a commit each", total / n * 1000, n))
    for _, l in ipairs(order) do
        print(("  %-45s %.3f ms"):format(l, parts[l] / n * 1000))
    end
end

print(("# %s UTC, load %s"):format(os.date("!%F %H:%M"),
    io.open("/proc/loadavg"):read("l"):match("^(%S+ %S+ %S+)")))
run(1, false)
run(n + 1, true)
ca:close()
