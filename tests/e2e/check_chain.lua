-- Test helper (not a user command) for the kill-loop tests of
-- build_chain.lua --force, renew.lua and revoke.lua: check a chain folder
-- after the next run's recovery (chain.recover, what every command does
-- first).
--
--   lua check_chain.lua REPO CHAIN SEEN
--
-- Checks: nothing temporary and no journal left; each key in one form only
-- (NAME.key or, on a token, NAME.key.uri: read with the PIN in CS_PIN);
-- every key matches its certificate; intermediate, server and OCSP certificates verify to the
-- root; server-chain.pem is exactly server.pem then intermediate.pem; each
-- CRL's DER and PEM are the same CRL, signed by the current CA, with the
-- CRL number ca.db last handed out for it and exactly the serials ca.db
-- records as revoked by it; a CRL number seen before (SEEN keeps one DER
-- per issuer and number, across runs) has the same content. Prints one
-- line: "root FINGERPRINT crl NAME=NUMBER/REVOKED ..."; every problem on
-- stderr; exit 1 if any.
local repo, dir, seen = arg[1], arg[2], arg[3]
package.path = repo .. "/scripts/?.lua;" .. package.path
local pki = require "pki"
local chain = require "chainsmith.chain"
local ca_key = require "chainsmith.ca_key"
local crl = require "chainsmith.crl"
local layout = require "chainsmith.layout"

local problems = 0
local function problem(fmt, ...)
    problems = problems + 1
    io.stderr:write(fmt:format(...), "\n")
end

local function lines(cmd)
    local out = {}
    local p = assert(io.popen(cmd))
    for line in p:lines() do
        out[#out + 1] = line
    end
    p:close()
    return out
end

local function slurp(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local data = f:read("a")
    f:close()
    return data
end

local ok, err = chain.recover(dir)
if not ok then
    problem("recovery: %s", err)
    os.exit(1)
end

for _, name in ipairs(lines(("ls -A '%s' '%s/pending' 2>/dev/null"):format(dir, dir))) do
    if name:find("%.tmp%-") or name:find("%.journal") then
        problem("%s: left after recovery", name)
    end
end

local files = layout.files(dir)
local certs = {}
ca_key.use_pin(os.getenv("CS_PIN"))
for _, name in ipairs { "root", "intermediate", "server", "ocsp" } do
    local f = files[name]
    if layout.exists(f.key) and layout.exists(f.uri) then
        problem("%s: both %s and %s are there", name, f.key, f.uri)
    end
    local cert, cerr = pki.read_cert(f.cert)
    local key, kerr = ca_key.read(f)
    if not cert or not key then
        problem("%s: %s", name, cerr or kerr)
    else
        local matches, merr = cert:check_key(key)
        if not matches then
            problem("%s.key does not match %s.pem: %s", name, name, merr)
        end
        certs[name] = cert
    end
end
if problems > 0 then
    os.exit(1)
end
for _, name in ipairs { "intermediate", "server", "ocsp" } do
    local chain_of = name == "intermediate" and {} or { certs.intermediate }
    local valid, verr = pki.verify { leaf = certs[name], chain = chain_of,
        roots = { certs.root } }
    if not valid then
        problem("%s.pem does not verify to root.pem: %s", name, verr)
    end
end
local served = pki.read_chain(files.server_chain)
if not served or #served ~= 2 or served[1]:pem() ~= certs.server:pem()
    or served[2]:pem() ~= certs.intermediate:pem() then
    problem("server-chain.pem is not server.pem + intermediate.pem")
end

local db = files.db
local function last_number(issuer)
    local q = ("SELECT last FROM crl_numbers WHERE issuer = '%s'"):format(issuer:gsub("'", "''"))
    return tonumber(lines(("sqlite3 -readonly '%s' \"%s\""):format(db, q))[1])
end
local store <close> = assert(pki.open_store(db))
local report = { "root " .. certs.root:fingerprint() }
for _, name in ipairs(crl.names) do
    local f = layout.crl_files(dir, name)
    local der, pem = pki.read_crl(f.der), pki.read_crl(f.pem)
    if not der or not pem then
        problem("%s CRL: missing", name)
        goto next
    end
    if der:der() ~= pem:der() then
        problem("%s.crl and %s.crl.pem differ", name, name)
    end
    if not der:verify(certs[name]) then
        problem("%s.crl: not signed by %s.pem", name, name)
    end
    do
        local info = der:info()
        local issuer = certs[name]:info().subject_line
        local last = last_number(issuer)
        if info.number ~= last then
            problem("%s.crl: number %s, ca.db last handed out %s", name, tostring(info.number),
                tostring(last))
        end
        local listed, recorded = {}, {}
        for _, e in ipairs(info.revoked or {}) do
            listed[e.serial] = true
        end
        for _, e in ipairs(assert(store:revoked(issuer))) do
            recorded[e.serial] = true
            if not listed[e.serial] then
                problem("%s.crl: lacks %s, revoked in ca.db", name, e.serial)
            end
        end
        for serial in pairs(listed) do
            if not recorded[serial] then
                problem("%s.crl: lists %s, not revoked in ca.db", name, serial)
            end
        end
        -- one content per number, ever
        local kept = ("%s/%s-%s.der"):format(seen, name, tostring(info.number))
        local before = slurp(kept)
        if before and before ~= der:der() then
            problem("%s CRL number %s published twice with different content", name,
                tostring(info.number))
        elseif not before then
            local out = assert(io.open(kept, "wb"))
            out:write(der:der())
            out:close()
        end
        report[#report + 1] = ("crl %s=%s/%d"):format(name, tostring(info.number),
            #(info.revoked or {}))
    end
    ::next::
end

-- The previous intermediate's CRL, while its key is kept
-- (chainsmith/previous.lua): signed by it, the same list as ca.db, and
-- signed in the same step as intermediate.crl, just before it.
local pf = layout.crl_files(dir, "intermediate-previous")
local prev_cert = pki.read_cert(files.intermediate_previous.cert)
local kept = layout.exists(files.intermediate_previous.key)
    or layout.exists(files.intermediate_previous.uri)
if kept and prev_cert then
    local der, pem = pki.read_crl(pf.der), pki.read_crl(pf.pem)
    local ours = pki.read_crl(layout.crl_files(dir, "intermediate").der)
    if not der or not pem or der:der() ~= pem:der() then
        problem("intermediate-previous CRL: missing, or DER and PEM differ")
    elseif not der:verify(prev_cert) then
        problem("intermediate-previous.crl: not signed by intermediate-previous.pem")
    else
        local info = der:info()
        local n = ours and ours:info().number
        if info.number ~= (n or 0) - 1 then
            problem("intermediate-previous.crl: number %s, not the one before %s",
                tostring(info.number), "intermediate.crl's " .. tostring(n))
        end
        local want = {}
        for _, e in ipairs(assert(store:revoked(prev_cert:info().subject_line))) do
            want[e.serial] = true
        end
        for _, e in ipairs(info.revoked or {}) do
            if not want[e.serial] then
                problem("intermediate-previous.crl: lists %s, not revoked in ca.db", e.serial)
            end
            want[e.serial] = nil
        end
        if next(want) then
            problem("intermediate-previous.crl: lacks %s, revoked in ca.db", next(want))
        end
        report[#report + 1] = ("crl intermediate-previous=%s/%d"):format(tostring(info.number),
            #(info.revoked or {}))
    end
elseif layout.exists(pf.der) or layout.exists(pf.pem) then
    problem("intermediate-previous CRL without the previous key")
end
print(table.concat(report, " "))
os.exit(problems == 0 and 0 or 1)
