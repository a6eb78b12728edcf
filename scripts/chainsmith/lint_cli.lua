-- The lint.lua command: options, then one call to chainsmith.lint_files.
local common = require "chainsmith.cli"

local cli = {}

function cli.main(args)
    local parser = common.parser { name = "lint.lua",
        exit = { "1 also: errors found", "2 also: a file could not be read or parsed" },
        description =
            "Lint certificates against the RFC 5280 and CA/Browser Forum rules chainsmith\n"
        .. "enforces before it signs (docs/lint.md). A file holds one or more PEM\n"
        .. "certificates (a chain: each is checked against the next as its issuer) or\n"
        .. "one DER certificate; - reads stdin." }
    parser:argument("files", "Certificate files."):args("+")
    parser:flag("--json", "Print the findings as JSON.")
    local opts = parser:parse(args)
    return require("chainsmith.lint_files").run(opts.files, opts.json)
end

return cli
