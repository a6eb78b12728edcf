-- The revoke.lua command: options, the passphrase, then one call to
-- chainsmith.revocation and its summary.
-- Exit status: 0 revoked, 1 any other failure, 3 unknown serial, 4 already
-- revoked (docs/revocation.md).
local ca_key = require "chainsmith.ca_key"
local common = require "chainsmith.cli"
local pki = require "pki"
local revocation = require "chainsmith.revocation"
local secret = require "chainsmith.secret"

local cli = {}

cli.exit_codes = { notfound = 3, exists = 4 }

function cli.main(args, boot)
    local reasons = pki.crl_reasons()
    local parser = common.parser { name = "revoke.lua",
        exit = { "3 unknown serial", "4 already revoked" },
        description = "Revoke a certificate recorded in ca.db and sign its issuer's CRL again\n"
        .. "(intermediate.crl for leaves, root.crl for the intermediate)." }
    parser:mutex(
        parser:option("--serial", "Serial number of the certificate, in hex."):argname("HEX"),
        parser:option("--cert", "The certificate itself (PEM or DER file)."):argname("FILE"))
    parser:option("--reason", "RFC 5280 reason: " .. table.concat(reasons, ", ") .. ".",
        "unspecified")
    common.db_option(parser)
    common.chain_option(parser, "Folder build_chain.lua wrote (ca.db, keys, CRLs).", true)
    parser:option("--profiles", "Folder holding the profiles (crl_next_update_days).",
        boot.profiles_dir)
    common.json_option(parser)
    secret.options(parser, "passphrase", "The CA keys' passphrase, when build_chain.lua "
        .. "encrypted them")
    ca_key.options(parser)
    local opts = parser:parse(args)
    if not opts.serial and not opts.cert then
        parser:error("give --serial HEX or --cert FILE")
    end

    local passphrase, perr = secret.read(opts, "passphrase")
    local pinned, pin_err = ca_key.use_options(opts)
    if not pinned then
        io.stderr:write("revoke: ", pin_err, "\n")
        os.exit(1)
    end
    local result, err, code = revocation.revoke { chain = opts.chain, profiles = opts.profiles,
        reason = opts.reason, serial = opts.serial, cert = opts.cert,
        passphrase = passphrase, passphrase_error = perr }
    if not result then
        io.stderr:write("revoke: ", err, "\n")
        os.exit(cli.exit_codes[code] or 1)
    end
    -- recorded but not served (a leaf of the previous intermediate): said
    -- on stderr whatever the output form, so a script sees it too
    for _, w in ipairs(result.warnings) do
        io.stderr:write("revoke: warning: ", w, "\n")
    end
    if opts.json then
        common.print_json(revocation.json(result))
        return
    end
    io.write(revocation.text(result))
end

return cli
