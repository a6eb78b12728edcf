-- The build_chain.lua command: options, the build, the summary.
local argparse = require "argparse"
local chain = require "chainsmith.chain"
local summary = require "chainsmith.summary"

local cli = {}

function cli.main(args, boot)
    local parser = argparse("build_chain.lua",
        "Build the root CA, intermediate CA and server certificate from the profiles.\n"
        .. "Reuses a valid root and intermediate; re-issues the server certificate when\n"
        .. "its profile changed or it nears expiry.")
    parser:option("--out", "Folder for keys, certificates and the CA database.", "chain")
    parser:option("--profiles", "Folder holding root.lua, intermediate.lua, server.lua.",
        boot.profiles_dir)
    parser:flag("--force", "Re-create the whole chain, replacing the root and intermediate.")
    local opts = parser:parse(args)

    local report, err = chain.build { out = opts.out, profiles = opts.profiles,
        force = opts.force }
    if not report then
        boot.die("build_chain: %s", err)
    end
    io.write(summary.chain(report, chain.files(opts.out)))
end

return cli
