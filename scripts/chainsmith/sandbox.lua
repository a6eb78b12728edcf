-- The sandbox a profile runs in. A profile is data that may compute a
-- little (string.format, table.concat, math.floor), so it runs as Lua, but
-- in a fresh environment of its own holding copies of the pure libraries:
-- no files, no processes, no other modules, nothing another profile set.

local pki = require "pki"

local sandbox = {}

-- A profile is a page of data; this is far more, and a bound on a file
-- that never ends.
local PROFILE_MAX = 1024 * 1024

-- Base functions a profile may call: pure, and none reaches state outside
-- the profile (no pcall to hide a refusal, no raw access, no metatables).
local base = { "assert", "error", "ipairs", "next", "pairs", "select", "tonumber",
    "tostring", "type" }

-- Libraries copied, one level deep, into each environment: a profile that
-- writes string.x = ... changes its own copy only.
local libs = { string = string, table = table, math = math, utf8 = utf8 }

-- Left out of the copies: bytecode out of a function, and randomness (the
-- same file must give the same profile at every load).
local removed = { string = { "dump" }, math = { "random", "randomseed" } }

-- A profile is data: this bounds a loop that never ends. Every shipped
-- profile runs in a few hundred instructions.
sandbox.max_instructions = 1000000

-- The instruction bound cannot see inside C functions: a pattern that
-- backtracks for ever in string.find, or string.rep(s, 2^30), never returns
-- to the VM. So a profile runs in a child process (pki.run_bounded) whose
-- allocator refuses more than max_memory bytes and which is killed after
-- max_seconds. A shipped profile needs well under 1 MiB and 1 ms.
sandbox.max_memory = 64 * 1024 * 1024
sandbox.max_seconds = 5

local function refuse(_, name)
    -- Level 2: the position of the profile line that reached for the name.
    error(("'%s' is not available in a profile"):format(tostring(name)), 2)
end

-- A fresh environment: the allowed names, and an error for any other.
-- Assignments land in this table only, so they leak nowhere.
function sandbox.env()
    local env = {}
    for _, name in ipairs(base) do
        env[name] = _G[name]
    end
    for name, lib in pairs(libs) do
        local copy = {}
        for k, v in pairs(lib) do
            copy[k] = v
        end
        for _, k in ipairs(removed[name] or {}) do
            copy[k] = nil
        end
        env[name] = copy
    end
    return setmetatable(env, { __index = refuse })
end

-- v as a Lua expression that loads back to an equal value: strings,
-- numbers, booleans and tables of them (a profile is data); anything else,
-- or a table inside itself, raises. Into out, a list of pieces.
local function serialize(v, out, seen)
    local t = type(v)
    if t == "string" or t == "number" then
        out[#out + 1] = ("%q"):format(v) -- exact for floats, inf and nan too
    elseif t == "boolean" or t == "nil" then
        out[#out + 1] = tostring(v)
    elseif t == "table" then
        if seen[v] then
            error("returned a table that contains itself; a profile is data", 0)
        end
        seen[v] = true
        out[#out + 1] = "{"
        for k, x in next, v do
            out[#out + 1] = "["
            serialize(k, out, seen)
            out[#out + 1] = "]="
            serialize(x, out, seen)
            out[#out + 1] = ","
        end
        out[#out + 1] = "}"
        seen[v] = nil
    else
        error(("returned a %s; a profile is data (strings, numbers, booleans, tables)")
            :format(t), 0)
    end
end

-- Load the text file `file` (a chunk in a fresh environment), or nil and a
-- message naming the file.
local function load_profile(file)
    -- Regular files only (a FIFO or /dev/zero is refused at once), read
    -- here rather than by loadfile, which would wait on either for ever.
    local text, rerr = pki.read_file(file, PROFILE_MAX)
    if not text then
        return nil, rerr
    end
    -- load's own refusal does not name the file: say it here.
    if text:sub(1, 1) == "\27" then
        return nil, ("%s: a precompiled (binary) chunk; profiles are loaded as text only")
            :format(file)
    elseif text:find("^#[^\n]*\n\27") then
        return nil, ("%s: attempt to load a binary chunk (mode is 't')"):format(file)
    end
    -- As loadfile does, skip a first line starting with "#" (line numbers kept).
    local chunk, err = load((text:gsub("^#[^\n]*", "", 1)), "@" .. file, "t", sandbox.env())
    if not chunk then
        return nil, err -- "FILE:LINE: ...": the chunk is named after the file
    end
    return chunk
end

-- Run chunk (loaded from file) under the instruction bound: what it
-- returned, or nil and a message naming the file.
local function run_counted(file, chunk)
    -- A coroutine of its own, so the instruction bound is set on it alone
    -- and never disturbs a hook the caller has.
    local co = coroutine.create(chunk)
    local limit = sandbox.max_instructions
    debug.sethook(co, function()
        local at = debug.getinfo(2, "l")
        error(("%s:%d: ran past %d instructions (a loop that never ends?); a profile is "
            .. "data"):format(file, at and at.currentline or 0, limit), 0)
    end, "", limit)
    local ok, result = coroutine.resume(co)
    if not ok then
        -- error("...", 0) or error({}) carries no position: name the file.
        local msg = type(result) == "string" and result
            or ("raised a %s, not a message"):format(type(result))
        if msg == "not enough memory" then
            msg = ("needs more than %d MiB of memory; a profile is data")
                :format(sandbox.max_memory // (1024 * 1024))
        end
        if msg:sub(1, #file + 1) ~= file .. ":" then
            msg = ("%s: %s"):format(file, msg)
        end
        return nil, msg
    end
    return result
end

-- The profile's value out of what its run answered ({value} or {error,
-- code}: pki.run_bounded_each), or nil and a message naming the file.
local function result(file, r)
    if r.code == "timeout" then
        return nil, ("%s: ran past %d seconds (a pattern that backtracks for ever?); a profile "
            .. "is data"):format(file, sandbox.max_seconds)
    elseif r.code == "memory" then
        return nil, ("%s: needs more than %d MiB of memory; a profile is data")
            :format(file, sandbox.max_memory // (1024 * 1024))
    elseif r.code == "size" or r.code == "abnormal" then
        return nil, ("%s: %s"):format(file, r.error)
    elseif r.error then
        return nil, r.error
    end
    -- Our own serializer wrote it; still, an empty environment, text only.
    local copy = assert(load(r.value, "=" .. file, "t", {}))
    return copy()
end

-- Run each text file of the list `files` in a fresh environment, all in
-- one child process (a fork per file was most of a chain build's system
-- time), each bounded on its own as if it ran alone: max_instructions,
-- max_memory and max_seconds apply per file (pki.run_bounded_each). Returns
-- a list, one {value, message} per file: what it returned (a copy: data
-- only), or nil and a message naming the file (and line, for errors raised
-- while it runs).
function sandbox.run_many(files)
    local out, fns, at = {}, {}, {}
    for i, file in ipairs(files) do
        -- Reading and compiling happen here, in the parent: a file that
        -- fails there costs no child.
        local chunk, lerr = load_profile(file)
        if not chunk then
            out[i] = { nil, lerr }
        else
            fns[#fns + 1] = function()
                local value, rerr = run_counted(file, chunk)
                if value == nil and rerr then
                    error(rerr, 0)
                end
                local parts = {}
                local ok, serr = pcall(serialize, value, parts, {})
                if not ok then
                    error(("%s: %s"):format(file, serr), 0)
                end
                return "return " .. table.concat(parts)
            end
            at[#fns] = i
        end
    end
    if #fns > 0 then
        local answers = pki.run_bounded_each(fns, sandbox.max_seconds, sandbox.max_memory)
        for k, r in ipairs(answers) do
            local i = at[k]
            out[i] = table.pack(result(files[i], r))
        end
    end
    return out
end

-- Run the text file `file` in a fresh environment, in a child process
-- bounded in memory and time. Returns what it returned (a copy: data
-- only), or nil and a message naming the file (and line, for errors raised
-- while it runs).
function sandbox.run(file)
    return table.unpack(sandbox.run_many({ file })[1], 1, 2)
end

return sandbox
