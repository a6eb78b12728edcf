-- The inspect.lua command: options, the password, one report per file.
local common = require "chainsmith.cli"
local pki = require "pki"
local identify = require "chainsmith.identify"
local json = require "chainsmith.json"
local report = require "chainsmith.report"

local cli = {}

-- The PKCS#12 password: from the environment or a file, never from the
-- command line (where ps and shell history would show it). nil: none given.
local function password(opts)
    if opts.password_env then
        local v = os.getenv(opts.password_env)
        if not v then
            return nil, ("--password-env: %s is not set"):format(opts.password_env)
        end
        return v
    elseif opts.password_file then
        local text, err = pki.read_file(opts.password_file, 64 * 1024)
        if not text then
            return nil, ("--password-file: %s"):format(err)
        end
        local v = text:match("^[^\n]*") -- the first line, without its newline
        return (v:gsub("\r$", ""))
    end
    return nil
end

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

    local pass, err = password(opts)
    if err then
        io.stderr:write("inspect: ", err, "\n")
        os.exit(2)
    end
    local now = os.time()
    local status = 0
    -- every file first: a CRL is checked against certificates in the others
    local results, pool = {}, {}
    for i, path in ipairs(opts.file) do
        local found, msg = identify.file(path, pass)
        results[i] = { found = found, msg = msg }
        pool[#pool + 1] = found
    end
    for i, r in ipairs(results) do
        local found = r.found
        if not found then
            io.stderr:write(r.msg, "\n")
            status = 2
        else
            report.analyse(found, pool)
            if opts.json then
                io.write(json.encode(report.json(found, now)), "\n")
            else
                io.write(i > 1 and "\n" or "", report.text(found, now))
            end
        end
    end
    io.stdout:flush()
    os.exit(status)
end

return cli
