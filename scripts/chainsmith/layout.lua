-- Where things are in a chain folder (what build_chain.lua writes and the
-- other commands read), and whether a file is there. The one place that
-- knows the names: chain.lua, ca.lua, crl.lua, serve.lua and the rest ask
-- here.
local lfs = require "lfs"

local layout = {}

-- The CA database this command uses: --db (cli.db_option) or the
-- CHAINSMITH_DB environment variable; a postgresql:// URL, or a SQLite .db
-- file; neither set: the chain folder's ca.db. --node or CHAINSMITH_NODE
-- names this process on a shared database (its serial prefix).
local chosen = { db = nil, node = nil }

-- Whether db names a PostgreSQL database rather than a file.
function layout.is_url(db)
    return type(db) == "string" and (db:find("^postgresql://") or db:find("^postgres://")) ~= nil
end

-- The SQLite file that what (ACME, the signing API) keeps its state in:
-- files.db, or nil, message when the CA database is PostgreSQL (their
-- tables are in SQLite only for now: docs/database.md).
function layout.sqlite_only(files, what)
    if layout.is_url(files.db) then
        return nil, ("%s keeps its accounts, orders and tokens in SQLite only for now: "
            .. "serve it without --db postgresql:// (or CHAINSMITH_DB)"):format(what)
    end
    return files.db
end

-- Whether value can name a database: true, or nil, message.
function layout.check_db(value)
    if layout.is_url(value) or (type(value) == "string" and value:find("%.db$")) then
        return true
    end
    return nil, ("%s: not a database: give a postgresql:// URL or a SQLite .db file")
        :format(tostring(value))
end

-- Use db (and node) from now on instead of the environment's or the default.
function layout.use_db(db, node)
    chosen.db = db or chosen.db
    chosen.node = node or chosen.node
end

-- The database of chain folder out: --db, CHAINSMITH_DB, or out/ca.db.
function layout.db(out)
    local db = chosen.db or os.getenv("CHAINSMITH_DB")
    if db and db ~= "" then
        return db
    end
    return out .. "/ca.db"
end

-- This process's node id (nil: the host name, store.h's default).
function layout.node()
    local node = chosen.node or os.getenv("CHAINSMITH_NODE")
    return node ~= "" and node or nil
end

-- db for messages: a URL without its password or parameters.
function layout.db_name(db)
    if not layout.is_url(db) then
        return db
    end
    return (db:gsub("%?.*$", ""):gsub("^(%a+://[^:/@]*):[^@/]*@", "%1@"))
end

-- Open the database db (layout.files(dir).db) as this node; or nil,
-- message, code.
function layout.open_store(db)
    local node = layout.node()
    return require("pki").open_store(db, node and { node = node } or nil)
end

local function paths(out, name)
    -- uri: NAME.key.uri, the key's pkcs11: URI when it is on a token
    -- instead of in NAME.key (chainsmith/ca_key.lua)
    return { key = out .. "/" .. name .. ".key", cert = out .. "/" .. name .. ".pem",
        uri = out .. "/" .. name .. ".key.uri" }
end

-- The files of the chain folder out: each certificate's key and cert, the
-- server's chain file, the database and the journals' folder.
function layout.files(out)
    return {
        root = paths(out, "root"),
        intermediate = paths(out, "intermediate"),
        server = paths(out, "server"),
        ocsp = paths(out, "ocsp"),
        -- the intermediate a roll replaced, kept with its key until it
        -- expires (chainsmith/previous.lua)
        intermediate_previous = paths(out, "intermediate-previous"),
        server_chain = out .. "/server-chain.pem",
        db = layout.db(out), -- ca.db, or --db / CHAINSMITH_DB
        pending = out .. "/pending", -- journals (docs/issue.md, Durability)
    }
end

-- The files of CA name's CRL in dir: DER, and its PEM copy.
function layout.crl_files(dir, name)
    return { der = ("%s/%s.crl"):format(dir, name), pem = ("%s/%s.crl.pem"):format(dir, name) }
end

-- Whether path is there (whatever its mode): lstat, not open, so a file
-- that cannot be read is not taken for a missing one. A database URL is
-- taken as there: opening it says if it is not.
function layout.present(path)
    return layout.is_url(path) or lfs.symlinkattributes(path, "mode") ~= nil
end

-- Whether a file is there (a symbolic link to one included). Not whether
-- it opens: opening a FIFO would wait for ever, and one that cannot be read
-- is not missing; the reader says what is wrong with either.
function layout.exists(path)
    return layout.is_url(path) or lfs.attributes(path, "mode") ~= nil
end

return layout
