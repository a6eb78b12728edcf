-- Test helper (not a user command) for kill_revoke.sh: revoke, through
-- chainsmith.ca (as revoke.lua does), each serial listed in FILE that is not
-- revoked yet, printing "revoked SERIAL CRL-NUMBER" for each (flushed, so a
-- killed run says how far it got).
--
--   lua revoke_loop.lua REPO CHAIN FILE
local repo, chain, file = arg[1], arg[2], arg[3]
package.path = repo .. "/scripts/?.lua;" .. package.path

local ca = assert(require("chainsmith.ca").open { dir = chain })
for serial in io.lines(file) do
    local r, err, code = ca:revoke { serial = serial, reason = "superseded" }
    if r then
        io.write("revoked ", r.serial, " ", r.crl.number, "\n")
        io.flush()
    elseif code ~= "exists" then
        io.stderr:write(("revoke %s: %s\n"):format(serial, err))
        ca:close()
        os.exit(1)
    end
end
ca:close()
