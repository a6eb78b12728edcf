-- The list.lua command: options, then one listing.
-- Exit status: 0 listed (none matching too), 1 failed, 2 usage.
local common = require "chainsmith.cli"
local list = require "chainsmith.list"

local cli = {}

function cli.main(args)
    local parser = common.parser { name = "list.lua",
        description =
            "List what the chain's CA issued, from ca.db: serial, status (good, revoked or\n"
        .. "expired), not-after, profile, subject and names. Filters combine (all must hold)." }
    common.db_option(parser)
    common.chain_option(parser)
    parser:option("--status", "Only certificates with this status.")
        :choices { "good", "revoked", "expired" }
    parser:option("--profile", "Only certificates issued under this profile.")
    parser:option("--name", "Only certificates whose subject or names contain this text "
        .. "(ASCII case ignored).")
        :argname("SUBSTRING")
    parser:flag("--json", "One JSON document on stdout (fields: docs/list.md).")
    local opts = parser:parse(args)
    local now = os.time()
    local rows, err = list.query(opts.chain, opts, now)
    if not rows then
        io.stderr:write("list: ", err, "\n")
        os.exit(1)
    end
    if opts.json then
        io.write(list.json(opts.chain, rows, now), "\n")
    else
        io.write(list.text(rows))
    end
    io.stdout:flush()
    os.exit(0)
end

return cli
