-- The env.lua command: where this tree's `pki` module and Lua modules are,
-- as LUA_CPATH_5_4 / LUA_PATH_5_4 export lines for a POSIX shell (Lua 5.4
-- reads the _5_4 names before LUA_CPATH / LUA_PATH, and other Lua versions
-- ignore them). What was set before is kept after ours.
-- Exit status: 0 printed, 1 no module built, 2 usage.
local common = require "chainsmith.cli"
local lfs = require "lfs"

local cli = {}

local function absolute(path)
    if path:sub(1, 1) ~= "/" then
        path = lfs.currentdir() .. "/" .. path
    end
    path = path:gsub("/%./", "/")
    local n
    repeat -- "a/scripts/../build" is "a/build"
        path, n = path:gsub("/[^/]+/%.%./", "/", 1)
    until n == 0
    return path
end

-- 'it''s' as the shell reads it.
local function quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Ours first, then what the caller had; ";;" (Lua's default) when nothing.
local function joined(ours, ...)
    for _, name in ipairs { ... } do
        local v = os.getenv(name)
        if v and v ~= "" then
            return ours .. ";" .. v
        end
    end
    return ours .. ";;"
end

function cli.main(args, boot)
    local parser = common.parser { name = "env.lua",
        description =
            "Print shell lines that make `require \"pki\"` and `require \"chainsmith.ca\"` work\n"
        .. "in your own Lua scripts:  eval \"$(lua5.4 scripts/env.lua)\"\n"
        .. "(docs/lua-api.md, \"Using the module from your own Lua\")." }
    parser:option("--build", "The build folder holding pki.so (default: build/ beside "
        .. "scripts/, else the install prefix's lib/lua/5.4).")
    local opts = parser:parse(args)
    -- boot put this tree's module folders first on package.cpath
    local so = package.searchpath("pki", opts.build and opts.build .. "/?.so" or package.cpath)
    if not so then
        io.stderr:write("env: no pki module ", opts.build and "in " .. opts.build
            or "built beside " .. boot.scripts_dir, " (build it first: make)\n")
        os.exit(1)
    end
    local cdir = absolute(so:match("^(.*)/[^/]*$") or ".")
    local sdir = absolute(boot.scripts_dir)
    io.write("export LUA_CPATH_5_4=", quote(joined(cdir .. "/?.so", "LUA_CPATH_5_4",
        "LUA_CPATH")), "\n")
    io.write("export LUA_PATH_5_4=", quote(joined(sdir .. "/?.lua", "LUA_PATH_5_4",
        "LUA_PATH")), "\n")
    os.exit(0)
end

return cli
