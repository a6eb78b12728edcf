-- env.lua's work: where this tree's `pki` module and Lua modules are, as
-- LUA_CPATH_5_4 / LUA_PATH_5_4 export lines for a POSIX shell (Lua 5.4
-- reads the _5_4 names before LUA_CPATH / LUA_PATH, and other Lua versions
-- ignore them). What was set before is kept after ours.
local lfs = require "lfs"

local shell_env = {}

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

-- The two export lines. build: the folder holding pki.so, or nil for where
-- boot looked (package.cpath); scripts_dir: the folder of the scripts.
-- Returns the text, or nil, message when no pki module is there.
function shell_env.lines(build, scripts_dir)
    -- boot put this tree's module folders first on package.cpath
    local so = package.searchpath("pki", build and build .. "/?.so" or package.cpath)
    if not so then
        return nil, "no pki module " .. (build and "in " .. build
            or "built beside " .. scripts_dir) .. " (build it first: make)"
    end
    local cdir = absolute(so:match("^(.*)/[^/]*$") or ".")
    local sdir = absolute(scripts_dir)
    return "export LUA_CPATH_5_4=" .. quote(joined(cdir .. "/?.so", "LUA_CPATH_5_4",
        "LUA_CPATH")) .. "\n"
        .. "export LUA_PATH_5_4=" .. quote(joined(sdir .. "/?.lua", "LUA_PATH_5_4",
        "LUA_PATH")) .. "\n"
end

return shell_env
