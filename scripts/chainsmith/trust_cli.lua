-- The trust.lua command: which stores, then install, uninstall or status.
local common = require "chainsmith.cli"
local json = require "chainsmith.json"
local run = require "chainsmith.trust_run"
local trust = require "chainsmith.trust"

local cli = {}

local function parse(args)
    local parser = common.parser { name = "trust.lua",
        description =
            "Install the chain's root certificate (never the leaf) into trust stores, remove it,\n"
        .. "or show where it is. Stores: system (update-ca-certificates, needs root), nss\n"
        .. "(Chromium's ~/.pki/nssdb and Firefox profiles, with certutil), java (keytool).\n"
        .. "Without --store: system (when root) and nss. Only entries named after chainsmith\n"
        .. "and carrying the root's fingerprint are ever removed." }
    parser:argument("action", "install, uninstall or status.")
        :choices { "install", "uninstall", "status" }
    parser:option("--store", "Trust store (repeatable, or comma-separated): system, nss, java.")
        :count("*"):argname("STORE")
    common.chain_option(parser, "Folder build_chain.lua wrote (its root.pem is installed).",
        true)
    parser:option("--system-root", "Prefix for every folder of the system store "
        .. "(default: CHAINSMITH_SYSTEM_ROOT, else /): for tests and image builds; needs no root.")
        :argname("DIR")
    parser:option("--java-keystore", "Keystore file for --store java (default: the JDK's "
        .. "cacerts). Password: CHAINSMITH_JAVA_STOREPASS, else changeit."):argname("FILE")
    parser:flag("--json", "status: one JSON object (fields: docs/trust.md).")
    return parser, parser:parse(args)
end

local function stores_asked(parser, list)
    local asked = {}
    for _, item in ipairs(list) do
        for name in item:gmatch("[^,%s]+") do
            if not trust.stores[name] then
                parser:error(("unknown store '%s' (choose from system, nss, java)"):format(name))
            end
            asked[#asked + 1] = name
        end
    end
    return asked
end

local function print_status(root, rows, as_json)
    if as_json then
        local list = json.array()
        for _, r in ipairs(rows) do
            list[#list + 1] = { store = r.store, state = r.state, location = r.location,
                                name = r.name, reason = r.reason, old = r.old }
        end
        io.write(json.encode { root = { file = root.path, subject = root.subject,
                                        fingerprint = root.fingerprint },
                               stores = list }, "\n")
        return
    end
    io.write(("root %s (sha256 %s) from %s\n"):format(root.subject, root.fingerprint, root.path))
    for _, r in ipairs(rows) do
        local where = r.label and (" " .. r.label) or ""
        local why = r.reason and (" (" .. r.reason .. ")") or ""
        io.write(("%-6s %s%s%s\n"):format(r.store, r.state, where, why))
    end
end

function cli.main(args, boot)
    local parser, opts = parse(args)
    local asked = stores_asked(parser, opts.store)
    local root, err = trust.load_root(opts.chain)
    if not root then
        boot.die("trust: %s", err)
    end
    local uid = run.uid()
    local ctx = {
        home = os.getenv("HOME"),
        prefix = opts.system_root or os.getenv("CHAINSMITH_SYSTEM_ROOT"),
        java_keystore = opts.java_keystore,
        uid = uid,
        writing = opts.action ~= "status",
        -- sudo keeps HOME on some systems: the NSS databases there are the user's.
        under_sudo = uid == 0 and os.getenv("SUDO_USER") or nil,
    }
    if ctx.prefix == "" then
        ctx.prefix = nil
    end
    local probes = trust.probe(ctx)

    if opts.action == "status" then
        print_status(root, trust.status(opts.chain, root, probes), opts.json)
        io.stdout:flush()
        os.exit(0)
    end

    if opts.action == "uninstall" then
        -- Whatever the manifest says was installed is taken out by default too.
        ctx.also = {}
        for _, rec in ipairs(trust.read_manifest(opts.chain) or {}) do
            ctx.also[rec.store] = true
        end
    end
    local chosen, skipped = trust.select(asked, probes, ctx)
    if not chosen then
        boot.die("trust: %s", skipped)
    end
    for _, s in ipairs(skipped) do
        io.write(("skipped %s: %s\n"):format(s.store, s.reason))
    end
    if #chosen == 0 then
        boot.die("trust: no trust store to %s (see above)", opts.action)
    end
    local report = function(line) io.write(line, "\n") end
    local ok
    if opts.action == "install" then
        ok, err = trust.install(opts.chain, root, chosen, probes, report)
    else
        ok, err = trust.uninstall(opts.chain, root, chosen, probes, report)
    end
    io.stdout:flush()
    if not ok then
        boot.die("trust: %s", err)
    end
end

return cli
