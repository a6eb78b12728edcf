-- Test helper (not a user command) for concurrent_issue.sh and
-- kill_issue.sh: issue client certificates in a loop through
-- chainsmith.ca, with the files issue.lua writes, and print "N SERIAL" for
-- each one issued (flushed, so a killed run says how far it got).
--
--   lua issue_loop.lua REPO CHAIN OUT TAG COUNT    (COUNT 0: until killed)
--   lua issue_loop.lua REPO CHAIN OUT TAG crash-staged | crash-committed
--
-- The crash modes issue one certificate TAG-0 and leave with
-- os.exit(3, false) (no finalizers, as a crash) right after its files are
-- staged (before the commit) or right after the commit (before the files
-- take their names): the states a SIGKILL leaves, deterministically.
local repo, chain, out, tag, count = arg[1], arg[2], arg[3], arg[4], arg[5]
package.path = repo .. "/scripts/?.lua;" .. package.path
local pki = require "pki"
local cli = require "chainsmith.issue_cli"

-- CS_PLACE_DELAY_US: with the test build of the module (pki.test_hooks,
-- tests/CMakeLists.txt), pause before each file takes its name.
local delay = tonumber(os.getenv("CS_PLACE_DELAY_US") or "")
if delay and delay > 0 then
    assert(pki.test_hooks, "CS_PLACE_DELAY_US needs the test build of pki (CS_HOOKS_CPATH)")
    pki.test_hooks.place_delay(math.tointeger(delay))
end

local crash = count and count:match("^crash%-(%a+)$")
if crash then
    local stage = pki.stage_files
    pki.stage_files = function(...)
        local journal, err, code = stage(...)
        if journal and crash == "staged" then
            os.exit(3, false)
        elseif journal then
            getmetatable(journal).__index.place = function()
                os.exit(3, false)
            end
        end
        return journal, err, code
    end
    count = "1"
end
count = math.tointeger(tonumber(count))

local ca = assert(require("chainsmith.ca").open { dir = chain })
assert(pki.mkdir(out))
local function files(result)
    local base = out .. "/" .. cli.base_name(result.names)
    local list = {
        { path = base .. ".pem", cert = result.cert },
        { path = base .. "-chain.pem", certs = result.chain },
        { path = base .. ".key", key = result.key },
    }
    return list
end

local i = 0
while count == 0 or i < count do
    local name = ("%s-%d.localhost"):format(tag, i)
    local r, err = ca:issue({ profile = "client", names = { name } }, { files = files })
    if not r then
        io.stderr:write(("issue %s: %s\n"):format(name, err))
        ca:close()
        os.exit(1)
    end
    io.write(i, " ", r.serial, "\n")
    io.flush()
    i = i + 1
end
ca:close()
