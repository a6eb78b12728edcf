-- The revoke.lua command: options, the revocation, the CRL, the summary.
-- Exit status: 0 revoked, 1 any other failure, 3 unknown serial, 4 already
-- revoked (docs/revocation.md).
local common = require "chainsmith.cli"
local pki = require "pki"
local secret = require "chainsmith.secret"
local summary = require "chainsmith.summary"

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
    common.chain_option(parser, "Folder build_chain.lua wrote (ca.db, keys, CRLs).", true)
    parser:option("--profiles", "Folder holding the profiles (crl_next_update_days).",
        boot.profiles_dir)
    common.json_option(parser)
    secret.options(parser, "passphrase", "The CA keys' passphrase, when build_chain.lua "
        .. "encrypted them")
    local opts = parser:parse(args)
    if not opts.serial and not opts.cert then
        parser:error("give --serial HEX or --cert FILE")
    end

    local function fail(code, fmt, ...)
        io.stderr:write(("revoke: " .. fmt):format(...), "\n")
        os.exit(cli.exit_codes[code] or 1)
    end
    local ok_reason = false
    for _, r in ipairs(reasons) do
        ok_reason = ok_reason or r == opts.reason
    end
    if not ok_reason then
        fail("invalid", "--reason: unknown reason '%s' (one of: %s)", opts.reason,
            table.concat(reasons, ", "))
    end
    local request = { reason = opts.reason }
    if opts.cert then
        local cert, cerr = pki.read_cert(opts.cert)
        if not cert then
            fail("invalid", "%s", cerr)
        end
        request.cert = cert
    else
        request.serial = opts.serial
    end

    -- A chain that cannot be opened is exit 1, whatever its code: 3 and 4
    -- speak of the serial only.
    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        fail("chain", "%s", perr)
    end
    local ca, err = require("chainsmith.ca").open { dir = opts.chain, profiles = opts.profiles,
        passphrase = passphrase or nil }
    if not ca then
        fail("chain", "%s", err)
    end
    local result, code
    result, err, code = ca:revoke(request)
    ca:close()
    if not result then
        fail(code, "%s", err)
    end
    local c = result.crl
    if opts.json then
        local crl = summary.crl_json(c)
        crl.ca, crl.why = result.ca, nil
        common.print_json { serial = result.serial, subject = result.subject,
            reason = result.reason, revoked_at = summary.date(result.revoked_at),
            issuer = result.issuer, crl = crl }
        return
    end
    io.write(("revoked %s (%s)\n"):format(result.serial, result.subject),
        ("  reason    %s\n"):format(result.reason),
        ("  at        %s\n"):format(summary.date(result.revoked_at)),
        ("  issuer    %s (%s)\n"):format(result.issuer, result.ca),
        ("%s CRL: number %d, %d revoked, next update %s\n"):format(result.ca, c.number,
            c.revoked, summary.date(c.next_update)),
        ("files: %s, %s\n"):format(c.der, c.pem))
end

return cli
