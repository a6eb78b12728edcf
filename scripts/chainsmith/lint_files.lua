-- Lint certificate files (lint.lua's work): read every file (`-`: stdin),
-- lint each certificate against its issuer, print the findings as text or
-- JSON. Exit status: 0 no error (warnings allowed), 1 an error found, 2 a
-- file that could not be read or parsed.
local common = require "chainsmith.cli"
local pki = require "pki"

local lint_files = {}

-- The certificates piped in as `-`: PEM blocks in order, or one DER
-- certificate, with a regular file's cap (4 MiB, as core's).
local function read_stdin()
    local data, err = common.read_stdin(4 * 1024 * 1024)
    if not data then
        return nil, err
    end
    local list = {}
    for block in data:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END "
        .. "CERTIFICATE%-%-%-%-%-") do
        local cert, cerr = pki.load_cert(block, "-")
        if not cert then
            return nil, cerr
        end
        list[#list + 1] = cert
    end
    if #list == 0 then
        local cert, cerr = pki.load_cert(data, "-")
        if not cert then
            return nil, cerr
        end
        list[1] = cert
    end
    return list
end

-- Every certificate of every file, in order: {file, index, cert, info, next}.
-- next is the certificate after it in the same file (its issuer in a chain).
local function load(files)
    local certs, failures = {}, {}
    for _, path in ipairs(files) do
        local list, err
        if path == "-" then
            list, err = read_stdin()
        else
            list, err = pki.read_chain(path)
        end
        if not list then
            failures[#failures + 1] = { file = path, message = err }
        else
            local prev
            for i, cert in ipairs(list) do
                local entry = { file = path, index = i, cert = cert, info = cert:info() }
                if prev then prev.next = entry end
                certs[#certs + 1] = entry
                prev = entry
            end
        end
    end
    return certs, failures
end

-- The issuer to check c against: none when self-issued (lint treats it as
-- its own issuer), the next certificate of a chain file, else any given
-- certificate whose subject is c's issuer; nil when unknown.
local function issuer_of(c, certs)
    if c.info.issuer_line == c.info.subject_line then return nil end
    if c.next then return c.next.cert end
    for _, o in ipairs(certs) do
        if o ~= c and o.info.subject_line == c.info.issuer_line then return o.cert end
    end
    return nil
end

local function text_report(results, failures)
    local out = {}
    for _, r in ipairs(results) do
        out[#out + 1] = ("%s [%d] %s"):format(r.file, r.index, r.subject)
        if not r.issuer_known then
            out[#out + 1] = "  (issuer not given: the rules that need it were skipped)"
        end
        for _, f in ipairs(r.findings) do
            out[#out + 1] = ("  %s %s: %s (%s)"):format(f.level, f.rule, f.message, f.source)
        end
        if #r.findings == 0 then out[#out + 1] = "  no findings" end
    end
    io.write(table.concat(out, "\n"), #out > 0 and "\n" or "")
    for _, f in ipairs(failures) do
        io.stderr:write("lint: ", f.message, "\n")
    end
end

-- lua-cjson 2.1 encodes an empty table as {}: arrays are written here.
local function json_array(items, encode)
    local parts = {}
    for i, v in ipairs(items) do parts[i] = encode(v) end
    return "[" .. table.concat(parts, ",") .. "]"
end

local function json_report(cjson, results, failures)
    local function finding(f)
        return cjson.encode { rule = f.rule, level = f.level, message = f.message,
                              source = f.source }
    end
    local function result(r)
        return ('{"file":%s,"index":%d,"subject":%s,"issuer_known":%s,"findings":%s}')
            :format(cjson.encode(r.file), r.index, cjson.encode(r.subject),
                    tostring(r.issuer_known), json_array(r.findings, finding))
    end
    local function failure(f)
        return cjson.encode { file = f.file, message = f.message }
    end
    io.write('{"certificates":', json_array(results, result), ',"unreadable":',
             json_array(failures, failure), "}\n")
end

-- Lint files (paths, "-" for stdin) and print the report; returns the exit status.
function lint_files.run(files, as_json)

    local certs, failures = load(files)
    local results, errors = {}, 0
    for _, c in ipairs(certs) do
        local issuer = issuer_of(c, certs)
        local findings = pki.lint(c.cert, issuer)
        for _, f in ipairs(findings) do
            if f.level == "error" then errors = errors + 1 end
        end
        results[#results + 1] = { file = c.file, index = c.index, subject = c.info.subject_line,
            issuer_known = issuer ~= nil or c.info.issuer_line == c.info.subject_line,
            findings = findings }
    end
    if as_json then
        local found, cjson = pcall(require, "cjson")
        if not found then
            io.stderr:write("lint.lua: --json needs lua-cjson (tools/setup.sh installs it): ",
                            tostring(cjson), "\n")
            return 2
        end
        json_report(cjson, results, failures)
        for _, f in ipairs(failures) do io.stderr:write("lint: ", f.message, "\n") end
    else
        text_report(results, failures)
    end
    if #failures > 0 then return 2 end
    return errors > 0 and 1 or 0
end

return lint_files
