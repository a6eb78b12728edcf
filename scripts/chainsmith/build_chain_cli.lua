-- The build_chain.lua command: options, the build, the summary.
local ca_key = require "chainsmith.ca_key"
local chain = require "chainsmith.chain"
local common = require "chainsmith.cli"
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
-- else (--help, --chain=DIR, an unknown or repeated option, a missing value,
-- both passphrase options) goes to argparse, which parses or explains. nil:
-- let argparse do it. tests/lua/test_build_chain_cli.lua holds the two to
-- one answer.
local function quick_parse(args, defaults)
    local opts, seen, i = { chain = defaults.chain, profiles = defaults.profiles }, {}, 1
    while i <= #args do
        local a, value = args[i], args[i + 1]
        if a == "--out" then
            a = "--chain" -- the older spelling
        end
        if seen[a] then return nil end
        seen[a] = true
        if a == "--force" then
            opts.force = true
        elseif (a == "--chain" or a == "--profiles" or a == "--passphrase-env"
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
    local parser = common.parser { name = "build_chain.lua",
        exit = { "3 built, but the root kept differs from its profile (apply with --force)" },
        description =
            "Build the root CA, intermediate CA and server certificate from the profiles.\n"
        .. "Reuses a valid root and intermediate; rolls the intermediate under the same\n"
        .. "root when it expired, nears expiry or its profile changed; re-issues the server\n"
        .. "certificate when its profile changed or it nears expiry." }
    common.db_option(parser)
    common.chain_option(parser,
        "Folder for keys, certificates and the CA database.", true)
    parser:option("--profiles", "Folder holding root.lua, intermediate.lua, server.lua.",
        defaults.profiles)
    parser:flag("--force", "Re-create the whole chain, replacing the root and intermediate.")
    parser:flag("--roll-intermediate", "Roll the intermediate now: a new key and certificate "
        .. "under the same root (done anyway when it has expired, is within its "
        .. "renew_before_days or its profile changed).")
    common.json_option(parser)
    secret.options(parser, "passphrase", "Encrypt the root and intermediate keys (and open "
        .. "them when they already are) with a passphrase")
    parser:option("--hsm", "Make the root, intermediate and OCSP responder keys this run "
        .. "creates on a PKCS#11 token, named by a pkcs11: URI without object= (e.g. "
        .. "pkcs11:token=ca, or pkcs11:token=ca?module-path=/usr/lib/softhsm/libsofthsm2.so); "
        .. "chain/ then holds NAME.key.uri, not the key (docs/keys.md).")
        :argname("URI")
    ca_key.options(parser)
    return parser
end

-- For tests/lua/test_build_chain_cli.lua.
cli.quick_parse, cli.new_parser = quick_parse, new_parser

function cli.main(args, boot)
    local defaults = { chain = "chain", profiles = boot.profiles_dir }
    local opts = quick_parse(args, defaults) or new_parser(defaults):parse(args)

    if opts.hsm then
        local good, uerr = ca_key.check_uri(opts.hsm, "--hsm")
        if not good then -- a usage error, like --passphrase VALUE (exit 2)
            io.stderr:write("build_chain: ", uerr, "\n")
            os.exit(2)
        end
    end
    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        boot.die("build_chain: %s", perr)
    end
    local pinned, pin_err = ca_key.use_options(opts)
    if not pinned then
        boot.die("build_chain: %s", pin_err)
    end
    local report, err = chain.build { out = opts.chain, profiles = opts.profiles,
        force = opts.force, passphrase = passphrase or nil, hsm = opts.hsm,
        roll_intermediate = opts.roll_intermediate and "--roll-intermediate" or nil }
    if not report then
        boot.die("build_chain: %s", err)
    end
    local files = layout.files(opts.chain)
    local drift = cli.root_drift(report, files)
    if opts.json then
        common.print_json(summary.chain_json(report, files, drift))
        if drift then
            io.stderr:write(drift)
        end
    else
        io.write(summary.chain(report, files), rollover.note(report, opts.chain))
        if drift then
            io.write("\n", drift)
        end
    end
    if drift then
        io.stdout:flush()
        os.exit(cli.exit_codes.root_differs)
    end
end

return cli
