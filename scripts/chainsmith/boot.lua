-- Loaded first by every command: checks the interpreter and finds the `pki`
-- module next to the scripts, so nobody sets LUA_CPATH by hand.
--
-- Each command starts with these two lines (plain Lua 5.1 syntax, so that an
-- old interpreter gets to the message below instead of a syntax error):
--   local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
--   package.path = here .. "/?.lua;" .. package.path

if _VERSION ~= "Lua 5.4" then
    io.stderr:write(("chainsmith needs Lua 5.4, but `lua` here is %s.\n"
        .. "Run the script with lua5.4, or make lua point to it:\n"
        .. "  sudo update-alternatives --set lua-interpreter \"$(command -v lua5.4)\"\n")
        :format(_VERSION))
    os.exit(1)
end

local boot = {}

-- The folder holding the running script (scripts/ in the source tree,
-- share/chainsmith/scripts once installed).
boot.scripts_dir = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."

local candidates = {
    boot.scripts_dir .. "/../build/?.so",          -- source tree, after `make`
    boot.scripts_dir .. "/../../../lib/lua/5.4/?.so", -- installed under a prefix
}
local ours = table.concat(candidates, ";")
if os.getenv("LUA_CPATH_5_4") or os.getenv("LUA_CPATH") then
    package.cpath = package.cpath .. ";" .. ours   -- the caller chose: theirs first
else
    package.cpath = ours .. ";" .. package.cpath
end

-- Where the served pages live: www/ beside scripts/ in both layouts.
boot.www_dir = boot.scripts_dir .. "/../www"
boot.profiles_dir = boot.scripts_dir .. "/profiles"

-- Print the message of a failed step and exit 1; the one place scripts die.
function boot.die(fmt, ...)
    io.stderr:write(select("#", ...) > 0 and fmt:format(...) or fmt, "\n")
    os.exit(1)
end

return boot
