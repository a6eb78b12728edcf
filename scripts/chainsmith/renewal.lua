-- A renewal run (renew.lua): what chain.leaf_status says is due, built by
-- chain.build in one journal, each step said in a line on io.write (the
-- command sends those lines to stderr under --json). Returns the result
-- renew_result describes, or nil and why.
local chain = require "chainsmith.chain"
local layout = require "chainsmith.layout"
local renew_result = require "chainsmith.renew_result"
local rollover = require "chainsmith.rollover"
local summary = require "chainsmith.summary"

local renewal = {}

-- opts: {chain =, profiles =, force =, dry_run =, intermediate =};
-- passphrase() is asked only when something is built: the passphrase (or
-- false for none), or nil and why.
function renewal.run(opts, passphrase)
    local roll = opts.intermediate and "--intermediate" or nil
    local status, err = chain.leaf_status { out = opts.chain, profiles = opts.profiles,
        roll_intermediate = roll }
    if not status then
        return nil, err
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
        return renew_result.not_due(old)
    end
    if opts.dry_run then
        if why then
            table.insert(others, 1, ("serial %s (%s)"):format(old:serial(), why))
        end
        io.write(("due: %s; --dry-run: nothing written\n"):format(table.concat(others, ", ")))
        return renew_result.dry_run(old, others)
    end
    local secret, perr = passphrase()
    if secret == nil then
        return nil, perr
    end
    local report
    report, err = chain.build { out = opts.chain, profiles = opts.profiles, renew = why or nil,
        passphrase = secret or nil, roll_intermediate = roll }
    if not report then
        return nil, err
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
        return renew_result.built(old, report)
    end
    io.write(("renewed: serial %s -> %s (%s), expires %s, written to %s\n"):format(
        old:serial(), leaf.cert:serial(), why or leaf.why, summary.date(leaf.cert:info().not_after),
        layout.files(opts.chain).server_chain))
    return renew_result.built(old, report)
end

return renewal
