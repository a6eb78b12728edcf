-- Where things are in a chain folder (what build_chain.lua writes and the
-- other commands read), and whether a file is there. The one place that
-- knows the names: chain.lua, ca.lua, crl.lua, serve.lua and the rest ask
-- here.
local lfs = require "lfs"

local layout = {}

local function paths(out, name)
    return { key = out .. "/" .. name .. ".key", cert = out .. "/" .. name .. ".pem" }
end

-- The files of the chain folder out: each certificate's key and cert, the
-- server's chain file, the database and the journals' folder.
function layout.files(out)
    return {
        root = paths(out, "root"),
        intermediate = paths(out, "intermediate"),
        server = paths(out, "server"),
        ocsp = paths(out, "ocsp"),
        server_chain = out .. "/server-chain.pem",
        db = out .. "/ca.db",
        pending = out .. "/pending", -- journals (docs/issue.md, Durability)
    }
end

-- The files of CA name's CRL in dir: DER, and its PEM copy.
function layout.crl_files(dir, name)
    return { der = ("%s/%s.crl"):format(dir, name), pem = ("%s/%s.crl.pem"):format(dir, name) }
end

-- Whether path is there (whatever its mode): lstat, not open, so a file
-- that cannot be read is not taken for a missing one.
function layout.present(path)
    return lfs.symlinkattributes(path, "mode") ~= nil
end

-- Whether a file is there (a symbolic link to one included). Not whether
-- it opens: opening a FIFO would wait for ever, and one that cannot be read
-- is not missing; the reader says what is wrong with either.
function layout.exists(path)
    return lfs.attributes(path, "mode") ~= nil
end

return layout
