-- inspect.lua's work: identify every file (`-`: stdin), then one report
-- per file, as text or one JSON object per line; a CRL is checked against
-- the certificates in all of them.
local pki = require "pki"
local identify = require "chainsmith.identify"
local json = require "chainsmith.json"
local report = require "chainsmith.report"

local inspect_files = {}

-- The PKCS#12 password: from the environment or a file, never from the
-- command line (where ps and shell history would show it). nil: none given.
function inspect_files.password(opts)
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

-- Report on every file on stdout (pass: the PKCS#12 password or nil;
-- as_json: one JSON object per line). A file that is none of the kinds
-- chainsmith reads is named on stderr. Returns the exit status: 0, or 2
-- when a file could not be read or identified.
function inspect_files.run(files, pass, as_json)
    local now = os.time()
    local status = 0
    -- every file first: a CRL is checked against certificates in the others
    local results, pool = {}, {}
    for i, path in ipairs(files) do
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
            if as_json then
                io.write(json.encode(report.json(found, now)), "\n")
            else
                io.write(i > 1 and "\n" or "", report.text(found, now))
            end
        end
    end
    return status
end

return inspect_files
