-- The renew.lua command: re-issue the server certificate (and the delegated
-- OCSP responder) when within its profile's renew_before_days of expiry (the
-- test build_chain.lua applies: chain.leaf_status), or now with --force, and
-- sign again the CRLs past half their life. Meant for cron; a running
-- serve.lua picks the new files up by itself.
local ca_key = require "chainsmith.ca_key"
local common = require "chainsmith.cli"
local renew_result = require "chainsmith.renew_result"
local renewal = require "chainsmith.renewal"
local secret = require "chainsmith.secret"

local cli = {}

local function parse(args, defaults)
    local parser = common.parser { name = "renew.lua",
        description =
            "Renew the server certificate of the chain in --chain when it is due: within the\n"
        .. "server profile's renew_before_days of expiry (or when it no longer matches its\n"
        .. "profile or its issuer). The root is kept; the intermediate is rolled under it\n"
        .. "when due (--intermediate: now). Exits 0 whether it renewed or not (--json says\n"
        .. "which: {due, renewed = [...], crls = [...], server = {...}}); serve.lua\n"
        .. "reloads a new server certificate without a restart, and stops (exit 1) on a\n"
        .. "new intermediate, to be restarted." }
    common.db_option(parser)
    common.chain_option(parser, nil, true)
    parser:option("--profiles", "Folder holding root.lua, intermediate.lua, server.lua.",
        defaults.profiles)
    parser:flag("--dry-run", "Only say whether renewal is due; write nothing.")
    parser:flag("--force", "Renew now, due or not.")
    parser:flag("--json", "Print what was renewed as one JSON document on stdout; the "
        .. "other lines go to stderr.")
    parser:flag("--intermediate", "Roll the intermediate CA now, due or not: a new key and "
        .. "certificate signed by the same root (no client trusts anything new); the server "
        .. "certificate, OCSP responder and intermediate CRL follow. Without it the "
        .. "intermediate is rolled when expired, within its renew_before_days or changed in "
        .. "its profile.")
    secret.options(parser, "passphrase", "The CA keys' passphrase, when build_chain.lua "
        .. "encrypted them")
    ca_key.options(parser)
    return parser:parse(args)
end

function cli.main(args, boot)
    local opts = parse(args, { profiles = boot.profiles_dir })
    if opts.json then
        io.output(io.stderr) -- the human lines (io.write) stay out of the JSON
    end
    local pinned, pin_err = ca_key.use_options(opts)
    if not pinned then
        boot.die("renew: %s", pin_err)
    end
    local result, err = renewal.run(opts, function()
        return secret.read(opts, "passphrase")
    end)
    if not result then
        boot.die("renew: %s", err)
    end
    if opts.json then
        renew_result.print(result)
    end
end

return cli
