-- The env.lua command: options, then one call to chainsmith.shell_env (the
-- LUA_CPATH_5_4 / LUA_PATH_5_4 export lines).
-- Exit status: 0 printed, 1 no module built, 2 usage.
local common = require "chainsmith.cli"

local cli = {}

function cli.main(args, boot)
    local parser = common.parser { name = "env.lua",
        description =
            "Print shell lines that make `require \"pki\"` and `require \"chainsmith.ca\"` work\n"
        .. "in your own Lua scripts:  eval \"$(lua5.4 scripts/env.lua)\"\n"
        .. "(docs/lua-api.md, \"Using the module from your own Lua\")." }
    parser:option("--build", "The build folder holding pki.so (default: build/ beside "
        .. "scripts/, else the install prefix's lib/lua/5.4).")
    local opts = parser:parse(args)
    local text, err = require("chainsmith.shell_env").lines(opts.build, boot.scripts_dir)
    if not text then
        io.stderr:write("env: ", err, "\n")
        os.exit(1)
    end
    io.write(text)
    os.exit(0)
end

return cli
