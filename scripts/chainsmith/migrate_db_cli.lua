-- The migrate_db.lua command: copy a SQLite ca.db (the chain folder's, or
-- --from FILE) into an empty PostgreSQL database (--to URL), in one
-- transaction: every certificate with its status and revocation, and each
-- CA's last CRL number, so the next CRL any node signs continues the
-- sequence. The SQLite file is only read. Afterwards run the commands with
-- --db URL (or CHAINSMITH_DB=URL).
-- Exit status: 0 copied, 1 failed (nothing copied), 2 usage.
local pki = require "pki"
local common = require "chainsmith.cli"
local layout = require "chainsmith.layout"

local cli = {}

function cli.main(args)
    local parser = common.parser { name = "migrate_db.lua",
        description =
            "Copy the CA database from SQLite (the chain folder's ca.db) into an empty\n"
        .. "PostgreSQL database, all or nothing; then run the commands with --db URL." }
    common.chain_option(parser)
    parser:option("--from", "The SQLite database to copy (default: ca.db in the chain "
        .. "folder)."):argname("FILE")
    parser:option("--to", "The PostgreSQL database: postgresql://... (libpq's URL syntax).")
        :argname("URL"):args(1)
    common.json_option(parser)
    local opts = parser:parse(args)
    if not opts.to then
        parser:error("--to URL is required")
    end
    if not layout.is_url(opts.to) then
        parser:error(("--to %s: not a postgresql:// URL"):format(layout.db_name(opts.to)))
    end
    local from = opts.from or (opts.chain .. "/ca.db")
    local n, err, code = pki.migrate_store(from, opts.to)
    if not n then
        common.fail("migrate_db", err, code == "usage" and common.exit.usage or nil)
    end
    if opts.json then
        common.print_json { from = from, to = layout.db_name(opts.to),
            certificates = n.certificates, revoked = n.revoked, crl_numbers = n.crl_numbers }
    else
        io.write(("copied %d certificates (%d revoked) and %d CRL numbers from %s to %s\n")
            :format(n.certificates, n.revoked, n.crl_numbers, from, layout.db_name(opts.to)))
        io.write(("next: run the commands with --db '%s' (or CHAINSMITH_DB)\n")
            :format(layout.db_name(opts.to)))
    end
    io.stdout:flush()
    os.exit(common.exit.ok)
end

return cli
