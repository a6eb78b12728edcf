-- The build_chain.lua command: options, the build, the summary.
local chain = require "chainsmith.chain"
local layout = require "chainsmith.layout"
local rollover = require "chainsmith.rollover"
local secret = require "chainsmith.secret"
local summary = require "chainsmith.summary"

local cli = {}

-- Exit status: 0 built, 1 failed, 2 usage, 3 built but the root kept
-- differs from its profile (the change needs --force: docs/profiles.md).
cli.exit_codes = { root_differs = 3 }

-- The line that says a root profile change did not take effect, or nil.
function cli.root_drift(report, files)
    for _, r in ipairs(report) do
        if r.name == "root" and r.action == "kept" and r.drift then
            return ("NOT APPLIED: %s differs from %s (%s); the root is kept, as replacing it "
                .. "means everyone trusts a new root. To apply the change, run again with "
                .. "--force (re-creates the whole chain); to keep this root, undo the change "
                .. "in %s.\n"):format(files.root.cert, r.profile_file, r.drift, r.profile_file)
        end
    end
    return nil
end

-- The usual invocations (only these options, each at most once, as `--name
-- value`) are read here without loading argparse, whose 2,000 lines cost a
-- fifth of a whole chain build's instructions (bench/README.md); anything
-- else (--help, --out=DIR, an unknown or repeated option, a missing value,
-- both passphrase options) goes to argparse, which parses or explains. nil:
-- let argparse do it. tests/lua/test_build_chain_cli.lua holds the two to
-- one answer.
local function quick_parse(args, defaults)
    local opts, seen, i = { out = defaults.out, profiles = defaults.profiles }, {}, 1
    while i <= #args do
        local a, value = args[i], args[i + 1]
        if seen[a] then return nil end
        seen[a] = true
        if a == "--force" then
            opts.force = true
        elseif (a == "--out" or a == "--profiles" or a == "--passphrase-env"
            or a == "--passphrase-file") and value and value:sub(1, 1) ~= "-" then
            opts[a:sub(3):gsub("-", "_")] = value
            i = i + 1
        else
            return nil
        end
        i = i + 1
    end
    if opts.passphrase_env and opts.passphrase_file then
        return nil -- argparse's mutex says which goes with which
    end
    return opts
end

-- The argparse parser that owns the command line (quick_parse only skips
-- loading it for the invocations above, and must agree with it).
local function new_parser(defaults)
    local argparse = require "argparse"
    local parser = argparse("build_chain.lua",
        "Build the root CA, intermediate CA and server certificate from the profiles.\n"
        .. "Reuses a valid root and intermediate; rolls the intermediate under the same\n"
        .. "root when it expired, nears expiry or its profile changed; re-issues the server\n"
        .. "certificate when its profile changed or it nears expiry.")
    parser:option("--out", "Folder for keys, certificates and the CA database.", defaults.out)
    parser:option("--profiles", "Folder holding root.lua, intermediate.lua, server.lua.",
        defaults.profiles)
    parser:flag("--force", "Re-create the whole chain, replacing the root and intermediate.")
    parser:flag("--roll-intermediate", "Roll the intermediate now: a new key and certificate "
        .. "under the same root (done anyway when it has expired, is within its "
        .. "renew_before_days or its profile changed).")
    secret.options(parser, "passphrase", "Encrypt the root and intermediate keys (and open "
        .. "them when they already are) with a passphrase")
    return parser
end

-- For tests/lua/test_build_chain_cli.lua.
cli.quick_parse, cli.new_parser = quick_parse, new_parser

function cli.main(args, boot)
    local defaults = { out = "chain", profiles = boot.profiles_dir }
    local opts = quick_parse(args, defaults) or new_parser(defaults):parse(args)

    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        boot.die("build_chain: %s", perr)
    end
    local report, err = chain.build { out = opts.out, profiles = opts.profiles,
        force = opts.force, passphrase = passphrase or nil,
        roll_intermediate = opts.roll_intermediate and "--roll-intermediate" or nil }
    if not report then
        boot.die("build_chain: %s", err)
    end
    io.write(summary.chain(report, layout.files(opts.out)), rollover.note(report, opts.out))
    local drift = cli.root_drift(report, layout.files(opts.out))
    if drift then
        io.write("\n", drift)
        io.stdout:flush()
        os.exit(cli.exit_codes.root_differs)
    end
end

return cli
