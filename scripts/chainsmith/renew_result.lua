-- What renew.lua did, as the one JSON document `renew.lua --json` prints:
-- {due, dry_run, renewed = [names re-issued or rolled], crls = [CRLs signed
-- again], server = {serial, previous_serial, not_after}}. The exit code
-- stays 0 whether or not anything was renewed (cron); this says which.
local json = require "chainsmith.json"
local timefmt = require "chainsmith.timefmt"

local result = {}

local function server_of(cert, previous)
    return { serial = cert:serial(), previous_serial = previous and previous:serial() or nil,
        not_after = timefmt.utc(cert:info().not_after) }
end

-- Nothing due: the server certificate as it is.
function result.not_due(old)
    return { due = false, dry_run = false, renewed = json.array(), crls = json.array(),
        server = server_of(old) }
end

-- Due, --dry-run: what would be renewed, in words.
function result.dry_run(old, what)
    return { due = true, dry_run = true, renewed = json.array(), crls = json.array(),
        would_renew = json.array(what), server = server_of(old) }
end

-- Built: chain.build's report.
function result.built(old, report)
    local renewed, crls, server = json.array(), json.array(), server_of(old)
    for _, r in ipairs(report) do
        if r.action ~= "kept" then
            renewed[#renewed + 1] = r.name
            if r.name == "server" then
                server = server_of(r.cert, old)
            end
        end
    end
    for _, c in ipairs(report.crls or {}) do
        crls[#crls + 1] = c.name
    end
    return { due = true, dry_run = false, renewed = renewed, crls = crls, server = server }
end

function result.print(t)
    io.stdout:write(json.encode(t), "\n")
    io.stdout:flush()
end

return result
