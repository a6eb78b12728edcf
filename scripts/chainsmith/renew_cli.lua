-- The renew.lua command: re-issue the server certificate (and the delegated
-- OCSP responder) when within its profile's renew_before_days of expiry (the
-- test build_chain.lua applies: chain.leaf_status), or now with --force, and
-- sign again the CRLs past half their life. Meant for cron; a running
-- serve.lua picks the new files up by itself.
local chain = require "chainsmith.chain"
local common = require "chainsmith.cli"
local layout = require "chainsmith.layout"
local renew_result = require "chainsmith.renew_result"
local rollover = require "chainsmith.rollover"
local secret = require "chainsmith.secret"
local summary = require "chainsmith.summary"

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
    return parser:parse(args)
end

function cli.main(args, boot)
    local opts = parse(args, { profiles = boot.profiles_dir })
    local finish = opts.json and renew_result.print or function() end
    if opts.json then
        io.output(io.stderr) -- the human lines (io.write) stay out of the JSON
    end
    local roll = opts.intermediate and "--intermediate" or nil
    local status, err = chain.leaf_status { out = opts.chain, profiles = opts.profiles,
        roll_intermediate = roll }
    if not status then
        boot.die("renew: %s", err)
    end
    local old = status.cert
    local info = old:info()
    local why = status.why or (opts.force and "--force" or nil)
    local others = {}
    if status.intermediate_why then
        others[1] = ("the intermediate, serial %s (%s)"):format(status.intermediate:serial(),
            status.intermediate_why)
    end
    if status.ocsp_why then
        others[#others + 1] = ("the OCSP responder (%s)"):format(status.ocsp_why)
    end
    table.move(status.crls_due, 1, #status.crls_due, #others + 1, others)
    if not why and #others > 0 then
        -- only the responder or a CRL is due: the same build renews them alone
        why = false
    elseif not why then
        io.write(("not due: serial %s expires %s; renewal starts %d days before "
            .. "(renew_before_days in %s)\n"):format(old:serial(), summary.date(info.not_after),
            status.profile.renew_before_days or 0, status.profile.file))
        return finish(renew_result.not_due(old))
    end
    if opts.dry_run then
        if why then
            table.insert(others, 1, ("serial %s (%s)"):format(old:serial(), why))
        end
        io.write(("due: %s; --dry-run: nothing written\n"):format(table.concat(others, ", ")))
        return finish(renew_result.dry_run(old, others))
    end
    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        boot.die("renew: %s", perr)
    end
    local report
    report, err = chain.build { out = opts.chain, profiles = opts.profiles, renew = why or nil,
        passphrase = passphrase or nil, roll_intermediate = roll }
    if not report then
        boot.die("renew: %s", err)
    end
    local leaf
    for _, r in ipairs(report) do
        if r.name == "server" then
            leaf = r
        elseif r.action ~= "kept" then
            io.write(("%s: %s (%s)\n"):format(r.name, r.action, r.why or "due"))
        end
    end
    for _, c in ipairs(report.crls or {}) do
        io.write(summary.crl(c), "\n")
    end
    io.write(rollover.note(report, opts.chain))
    if leaf.action == "kept" then
        io.write(("server: kept, serial %s\n"):format(old:serial()))
        return finish(renew_result.built(old, report))
    end
    io.write(("renewed: serial %s -> %s (%s), expires %s, written to %s\n"):format(
        old:serial(), leaf.cert:serial(), why or leaf.why, summary.date(leaf.cert:info().not_after),
        layout.files(opts.chain).server_chain))
    finish(renew_result.built(old, report))
end

return cli
