-- Shared helpers for the pki module's Lua tests: cases that name themselves,
-- expected failures, throwaway folders and a root/intermediate/leaf chain.
local pki = require "pki"

local M = {passed = 0, failed = 0}

local verbose = os.getenv("CS_TEST_VERBOSE")

local function report(name, ok, err)
    if verbose then io.stderr:write(ok and "ok   " or "FAIL ", name, "\n") end
    if ok then
        M.passed = M.passed + 1
    else
        M.failed = M.failed + 1
        io.stderr:write("FAIL ", name, ": ", tostring(err), "\n")
    end
end

-- Run f(...); it passes unless it raises (use assert inside).
function M.case(name, f, ...)
    local ok, err = pcall(f, ...)
    report(name, ok, err)
end

-- A value already computed must be truthy; detail is shown when it is not.
function M.check(name, ok, detail)
    report(name, ok, detail)
end

-- f(...) must return nil, a message matching pattern, and code.
function M.expect_fail(name, code, pattern, f, ...)
    local ok, err = pcall(function(...)
        local r = table.pack(f(...))
        assert(r[1] == nil, "expected nil, got " .. tostring(r[1]))
        assert(r[3] == code, ("expected code %q, got %q (%s)"):format(code, tostring(r[3]),
                                                                      tostring(r[2])))
        assert(type(r[2]) == "string" and r[2]:find(pattern),
               ("message %q does not match %q"):format(tostring(r[2]), pattern))
    end, ...)
    report(name, ok, err)
end

-- f(...) must raise an error matching pattern.
function M.expect_error(name, pattern, f, ...)
    local ok, err = pcall(f, ...)
    if ok then
        report(name, false, "expected an error matching " .. pattern)
    elseif not tostring(err):find(pattern) then
        report(name, false, ("error %q does not match %q"):format(tostring(err), pattern))
    else
        report(name, true)
    end
end

function M.done()
    print(("%d passed, %d failed"):format(M.passed, M.failed))
    os.exit(M.failed == 0, true)  -- close the state: finalizers run
end

local function quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end
M.quote = quote

local dirs = {}
-- A fresh private folder, removed by cleanup().
function M.tmpdir()
    local p = os.tmpname()
    os.remove(p)
    assert(os.execute("mkdir -m 700 " .. quote(p)))
    dirs[#dirs + 1] = p
    return p
end

function M.cleanup()
    for _, d in ipairs(dirs) do
        os.execute("rm -rf " .. quote(d))
    end
    dirs = {}
end

-- Output of a shell command, trailing newline removed. Tools run without the
-- sanitizer runtime an ASan build preloads into the interpreter (curl hangs
-- under it).
function M.sh(cmd)
    local f = assert(io.popen("env -u LD_PRELOAD " .. cmd))
    local out = f:read("a")
    f:close()
    return (out:gsub("\n$", ""))
end

function M.read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end

function M.write_file(path, data)
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
end

function M.root_spec()
    return {
        subject = {{"C", "SE"}, {"O", "Simple Inc"}, {"CN", "Simple Root CA"}},
        validity_days = 30,
        basic_constraints = {critical = true, ca = true},
        key_usage = {critical = true, "keyCertSign", "cRLSign"},
        subject_key_id = true,
        authority_key_id = true,
    }
end

function M.inter_spec()
    return {
        subject = {{"C", "SE"}, {"O", "Simple Inc"}, {"CN", "Simple Intermediate CA"}},
        validity_days = 30,
        basic_constraints = {critical = true, ca = true, path_len = 0},
        key_usage = {critical = true, "keyCertSign", "cRLSign"},
        subject_key_id = true,
        authority_key_id = true,
    }
end

function M.leaf_spec(cn)
    cn = cn or "localhost"
    return {
        subject = {{"C", "SE"}, {"O", "Simple Inc"}, {"CN", cn}},
        validity_days = 30,
        basic_constraints = {critical = false, ca = false},
        key_usage = {critical = true, "digitalSignature"},
        extended_key_usage = {"serverAuth"},
        subject_alt_name = {dns = {cn}, ip = {"127.0.0.1"}},
        subject_key_id = true,
        authority_key_id = true,
    }
end

-- A root, an intermediate and a leaf (EC P-256: quick), each with its key.
function M.chain()
    local c = {}
    c.root_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    c.root = assert(pki.sign(M.root_spec(), c.root_key, nil, c.root_key))
    c.inter_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    c.inter = assert(pki.sign(M.inter_spec(), c.inter_key, c.root, c.root_key))
    c.leaf_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    c.leaf = assert(pki.sign(M.leaf_spec(), c.leaf_key, c.inter, c.inter_key))
    return c
end

return M
