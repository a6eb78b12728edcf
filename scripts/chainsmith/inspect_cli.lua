-- The inspect.lua command: options, the password, then one call to
-- chainsmith.inspect_files (one report per file).
local common = require "chainsmith.cli"
local inspect_files = require "chainsmith.inspect_files"

local cli = {}

function cli.main(args)
    local parser = common.parser { name = "inspect.lua",
        exit = { "2 also: a FILE is none of these or cannot be read" },
        description =
            "Show what a certificate, chain, CRL, CSR, key or PKCS#12 file holds: subject,\n"
        .. "issuer, validity and time left, SANs, key, usages, fingerprints, chain order,\n"
        .. "revoked serials, whether a CRL verifies with its issuer's certificate (given\n"
        .. "in the same file or as another FILE).\n"
        .. "Private keys and passwords are never printed." }
    parser:argument("file", "PEM or DER files; - reads stdin."):args("+")
    parser:flag("--json", "One JSON object per FILE, one per line (fields: docs/inspect.md).")
    parser:mutex(
        parser:option("--password-env",
            "Name of the environment variable holding the PKCS#12 password."):argname("VAR"),
        parser:option("--password-file",
            "File whose first line is the PKCS#12 password."):argname("FILE"))
    require("chainsmith.secret").refuse_plain(parser, "password")
    local opts = parser:parse(args)

    local pass, err = inspect_files.password(opts)
    if err then
        io.stderr:write("inspect: ", err, "\n")
        os.exit(2)
    end
    local status = inspect_files.run(opts.file, pass, opts.json)
    io.stdout:flush()
    os.exit(status)
end

return cli
