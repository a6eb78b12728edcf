-- Test helper (not a user command) for concurrent_issue.sh and
-- kill_issue.sh: check the files in OUT against the records in CHAIN/ca.db.
--
--   lua check_issued.lua REPO CHAIN OUT raw    as a crash left them (no recovery)
--   lua check_issued.lua REPO CHAIN OUT open [LIKE]   after ca.open's recovery
--
-- raw: every key at its final name has its certificate and chain beside it
-- and matches the certificate; every certificate and chain at a final name
-- parses and is recorded. open: that, and the client records (whose
-- subject is LIKE the SQL pattern, default all) are exactly
-- the certificates in OUT, each with all three files; no temporary file and
-- no journal left. Prints a line of counts; every problem on stderr; exit 1
-- if any.
local repo, chain, out, mode, like = arg[1], arg[2], arg[3], arg[4], arg[5] or "%"
assert(not like:find("'", 1, true), "LIKE: no quotes")
package.path = repo .. "/scripts/?.lua;" .. package.path
local pki = require "pki"

local problems = 0
local function problem(fmt, ...)
    problems = problems + 1
    io.stderr:write(fmt:format(...), "\n")
end

local function list(dir)
    local names = {}
    local p = assert(io.popen(("ls -A '%s' 2>/dev/null"):format(dir)))
    for line in p:lines() do
        names[#names + 1] = line
    end
    p:close()
    return names
end

local recovered = ""
local store
if mode == "open" then
    local ca, err = require("chainsmith.ca").open { dir = chain }
    if not ca then
        problem("ca.open: %s", err)
        os.exit(1)
    end
    recovered = (" recovered forward=%d back=%d"):format(ca.recovered.forward,
        ca.recovered.back)
    ca:close()
end
store = assert(pki.open_store(chain .. "/ca.db"))

local present, temps = {}, 0
for _, name in ipairs(list(out)) do
    if name:find("%.tmp%-") then
        temps = temps + 1
    else
        present[name] = true
    end
end

local certs, serials = 0, {}
for name in pairs(present) do
    local path = out .. "/" .. name
    local base = name:match("^(.*)%-chain%.pem$") or name:match("^(.*)%.pem$")
        or name:match("^(.*)%.key$")
    if not base then
        problem("%s: unexpected file", path)
    elseif name:find("%.key$") then
        local key, kerr = pki.read_key(path)
        local cert = pki.read_cert(out .. "/" .. base .. ".pem")
        if not key then
            problem("%s: %s", path, kerr)
        elseif not cert then
            problem("%s: key without its certificate", path)
        elseif not present[base .. "-chain.pem"] then
            problem("%s: key without its chain", path)
        else
            local ok, merr = cert:check_key(key)
            if not ok then
                problem("%s: %s", path, merr)
            end
        end
    else
        local cert, cerr = pki.read_cert(path)
        if not cert then
            problem("%s: %s", path, cerr)
        elseif not store:find(cert:serial()) then
            problem("%s: serial %s has no record", path, cert:serial())
        elseif not name:find("%-chain%.pem$") then
            certs = certs + 1
            serials[cert:serial()] = base
        end
    end
end

if mode == "open" then
    if temps > 0 then
        problem("%s: %d temporary files left after recovery", out, temps)
    end
    for _, name in ipairs(list(chain .. "/pending")) do
        problem("%s/pending/%s: journal left after recovery", chain, name)
    end
    local q = assert(io.popen(("sqlite3 -readonly '%s/ca.db' "
        .. "\"select serial from certificates where profile = 'client' and subject like '%s'\"")
        :format(chain, like)))
    local records = 0
    for serial in q:lines() do
        records = records + 1
        local base = serials[serial]
        if not base then
            problem("record %s: no certificate file", serial)
        elseif not (present[base .. ".key"] and present[base .. "-chain.pem"]) then
            problem("record %s: %s.key or %s-chain.pem missing", serial, base, base)
        end
    end
    q:close()
    if records ~= certs then
        problem("%d client records, %d certificate files", records, certs)
    end
end
store:close()
io.write(("certs=%d temps=%d%s\n"):format(certs, temps, recovered))
os.exit(problems == 0 and 0 or 1)
