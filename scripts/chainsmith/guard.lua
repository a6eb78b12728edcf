-- Checks on a chain folder before it is used: a CA whose database is gone,
-- a CA key that cannot be read. Each says what is wrong and how to fix it,
-- and none suggests replacing a CA for what a restore or a chmod fixes.
local lfs = require "lfs"
local layout = require "chainsmith.layout"

local guard = {}

-- The CA keys: the ones whose loss or exposure is the CA's.
local ca_keys = { "root", "intermediate" }

-- files (layout.files(dir)) with the CA keys there and ca.db gone: the
-- database holds what was issued and revoked and the CRL numbers, and a new
-- empty one would silently forget them. true, or nil, message, code.
function guard.database(files, dir)
    if layout.present(files.db) then
        return true
    end
    local keys = {}
    for _, name in ipairs(ca_keys) do
        for _, path in ipairs { files[name].key, files[name].uri } do
            if layout.present(path) then
                keys[#keys + 1] = path
            end
        end
    end
    if #keys == 0 then
        return true
    end
    return nil, ("%s: missing, but the CA keys are there (%s): the record of what this CA "
        .. "issued and revoked, and its CRL numbers, would be lost. Restore ca.db from a "
        .. "backup into %s; or, to give this CA up for a new one (a new root everyone must "
        .. "trust again), run `lua scripts/build_chain.lua --out %s --force`")
        :format(files.db, table.concat(keys, ", "), dir, dir), "notfound"
end

-- Whether a key file that is there can be read: true, or nil, message,
-- code for permission denied (and the like), which --force would not fix.
function guard.readable(path)
    if lfs.attributes(path, "mode") ~= "file" then
        return true -- missing, a FIFO, a folder: the reader says what it is
    end
    local f, err = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    local why = tostring(err):gsub("^.-: ", "")
    return nil, ("%s: cannot read (%s): run as the user that owns the chain folder, or fix "
        .. "the file's owner or mode (the key is not lost: do not re-create the CA for this)")
        :format(path, why:lower()), "io"
end

-- The mode bits of path ("rwxr-x---" from lfs) as a number, or nil.
local function mode_of(path)
    local perms = lfs.attributes(path, "permissions")
    if not perms then
        return nil
    end
    local mode = 0
    for i = 1, 9 do
        mode = mode * 2 + (perms:sub(i, i) == "-" and 0 or 1)
    end
    return mode
end

-- The CA keys in files (layout.files(dir)) must be the owner's alone: a key
-- other users may read is refused, with the chmod that fixes it. true, or
-- nil, message, code.
function guard.key_modes(files)
    for _, name in ipairs(ca_keys) do
        local path = files[name].key
        local mode = mode_of(path)
        if mode and mode & 0x3f ~= 0 then -- 077: any group or other bit
            return nil, ("%s: mode %03o lets other users at the CA key; run `chmod 600 %s` "
                .. "(and treat the key as exposed if anyone else could read it)")
                :format(path, mode, path), "invalid"
        end
    end
    return true
end

-- Warn (on stderr, once per call) when the chain folder dir is writable by
-- group or other: they could replace its keys, certificates or database.
function guard.folder(dir)
    local mode = mode_of(dir)
    if mode and mode & 0x12 ~= 0 then -- 022: group or other may write
        io.stderr:write(("warning: %s: folder mode %03o lets other users replace the CA's "
            .. "files; run `chmod 700 %s`\n"):format(dir, mode, dir))
    end
end

return guard
