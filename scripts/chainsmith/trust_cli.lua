-- The trust.lua command: options, then one call to chainsmith.trust_action
-- (install, uninstall or status).
local action = require "chainsmith.trust_action"
local common = require "chainsmith.cli"

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

function cli.main(args, boot)
    local parser, opts = parse(args)
    local asked, serr = action.stores(opts.store)
    if not asked then
        parser:error(serr)
    end
    local ok, err = action.run { action = opts.action, chain = opts.chain, stores = asked,
        system_root = opts.system_root, java_keystore = opts.java_keystore, json = opts.json }
    io.stdout:flush()
    if not ok then
        boot.die("trust: %s", err)
    end
end

return cli
