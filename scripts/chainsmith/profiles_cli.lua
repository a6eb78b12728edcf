-- The profiles.lua command: options, then one call to
-- chainsmith.profile_listing; a profile that fails to load is listed with
-- its error and makes the exit status 1.
local common = require "chainsmith.cli"

local cli = {}

function cli.main(args, boot)
    local parser = common.parser { name = "profiles.lua",
        description =
            "List every profile (each NAME.lua in the folder) with its description and key\n"
        .. "settings. A profile that fails to load is listed with its error, and the\n"
        .. "exit status is 1." }
    parser:option("--profiles", "Folder holding the profiles.", boot.profiles_dir)
    common.json_option(parser)
    local opts = parser:parse(args)

    local ok, err = require("chainsmith.profile_listing").run(opts.profiles, opts.json)
    if not ok then
        boot.die("profiles: %s", err)
    end
end

return cli
