-- Checks on a chain folder before it is used: a CA whose database is gone,
-- a CA key that cannot be read. Each says what is wrong and how to fix it,
-- and none suggests replacing a CA for what a restore or a chmod fixes.
local lfs = require "lfs"

local guard = {}

-- The CA keys: the ones whose loss or exposure is the CA's.
local ca_keys = { "root", "intermediate" }

-- Whether path is there (whatever its mode): lstat, not open, so a file
-- that cannot be read is not taken for a missing one.
function guard.present(path)
    return lfs.symlinkattributes(path, "mode") ~= nil
end

-- files (chain.files(dir)) with the CA keys there and ca.db gone: the
-- database holds what was issued and revoked and the CRL numbers, and a new
-- empty one would silently forget them. true, or nil, message, code.
function guard.database(files, dir)
    if guard.present(files.db) then
        return true
    end
    local keys = {}
    for _, name in ipairs(ca_keys) do
        if guard.present(files[name].key) then
            keys[#keys + 1] = files[name].key
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
    local f, err = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    if not guard.present(path) then
        return true -- missing: the caller says what that means
    end
    local why = tostring(err):gsub("^.-: ", "")
    return nil, ("%s: cannot read (%s): run as the user that owns the chain folder, or fix "
        .. "the file's owner or mode (the key is not lost: do not re-create the CA for this)")
        :format(path, why:lower()), "io"
end

return guard
