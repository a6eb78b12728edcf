-- Running the trust stores' own tools (certutil, keytool,
-- update-ca-certificates) through the shell, with every argument quoted.
local lfs = require "lfs"
local pki = require "pki"

local run = {}

-- One argument, single-quoted for sh: nothing inside is expanded.
function run.quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function command_line(argv)
    local parts = {}
    for i, a in ipairs(argv) do
        parts[i] = run.quote(a)
    end
    return table.concat(parts, " ")
end

-- Run argv; returns ok (exit status 0), its output (stdout and stderr
-- together, which is what a message should quote) and the exit code.
function run.run(argv)
    local p = assert(io.popen(command_line(argv) .. " 2>&1 </dev/null", "r"))
    local out = p:read("a")
    local ok, _, code = p:close()
    return ok == true, out, code
end

-- The full path of a program found on PATH (then in extra folders: sbin is
-- not on a user's PATH on Debian), or nil.
function run.which(name, extra)
    local dirs = {}
    for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
        dirs[#dirs + 1] = dir
    end
    for _, dir in ipairs(extra or {}) do
        dirs[#dirs + 1] = dir
    end
    for _, dir in ipairs(dirs) do
        local path = dir .. "/" .. name
        local attr = lfs.attributes(path) -- follows links, as the shell does
        if attr and attr.mode == "file" and attr.permissions:find("x", 1, true) then
            return path
        end
    end
    return nil
end

-- The effective user id (`id -u`), nil when it cannot be told.
function run.uid()
    local ok, out = run.run { "id", "-u" }
    return ok and math.tointeger(tonumber(out:match("%d+"))) or nil
end

-- The last non-empty line of a tool's output, for an error message.
function run.last_line(out)
    local last
    for line in out:gmatch("[^\n]+") do
        if line:match("%S") then last = line end
    end
    return last or "(no output)"
end

-- The first PEM certificate in a tool's output, or nil.
function run.pem(out)
    return out:match("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-")
end

-- What a store's entry under our name holds, from the tool's listing of it
-- (ok: the tool found the entry): "installed" when it is the certificate
-- with this fingerprint, "other" when another, "absent" when none.
function run.entry_state(ok, out, fingerprint)
    local pem = ok and run.pem(out)
    if not pem then
        return "absent"
    end
    local cert = pki.load_cert(pem)
    return cert and cert:fingerprint() == fingerprint and "installed" or "other"
end

return run
