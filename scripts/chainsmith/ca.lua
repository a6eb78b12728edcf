-- The issuing CA: the intermediate built by build_chain.lua, signing leaf
-- certificates from requests (names, or a CSR) under a profile and the
-- policy, and recording each in ca.db.
--
--   local ca <close> = assert(require("chainsmith.ca").open{dir = "chain"})
--   local r = assert(ca:issue{profile = "client", names = {"alice.clients.internal"}})
--
-- docs/issue.md describes the request and the result.
local pki = require "pki"
local ca_key = require "chainsmith.ca_key"
local crl = require "chainsmith.crl"
local guard = require "chainsmith.guard"
local layout = require "chainsmith.layout"
local progress = require "chainsmith.progress"
local previous = require "chainsmith.previous"
local profile = require "chainsmith.profile"
local rollover = require "chainsmith.rollover"
local summary = require "chainsmith.summary"
local validity = require "chainsmith.validity"

local ca = {}

local CA = {}
CA.__index = CA

-- scripts/profiles, beside this module's folder.
local function default_profiles()
    local src = debug.getinfo(1, "S").source
    local dir = src:match("^@(.*)/chainsmith/[^/]*$") or "scripts"
    return dir .. "/profiles"
end

-- Open the CA in opts.dir (default "chain"): the intermediate's key and
-- certificate, the root, and ca.db. opts.profiles is the profile folder,
-- opts.policy a policy module (default require "policy"; a table of data
-- alone, shaped like scripts/policy.lua's, gets the engine), opts.config its
-- issuance table (default that module's policy.issuance), opts.passphrase
-- the intermediate key's when build_chain.lua encrypted it, opts.pin the
-- token's when the CA keys are on one (chainsmith/ca_key.lua).
-- Returns the CA, or nil, message, code.
function ca.open(opts)
    opts = opts or {}
    local dir = opts.dir or "chain"
    local files = layout.files(dir)
    local have_db, dberr, dbcode = guard.database(files, dir)
    if not have_db then
        return nil, dberr, dbcode
    end
    local private, perr, pcode = guard.key_modes(files)
    if not private then
        return nil, perr, pcode
    end
    guard.folder(dir)
    ca_key.use_pin(opts.pin)
    local key_file = layout.exists(files.intermediate.uri) and files.intermediate.uri
        or files.intermediate.key
    for _, path in ipairs { key_file, files.intermediate.cert, files.root.cert,
        files.db } do
        local readable, rerr, rcode = guard.readable(path)
        if not readable then
            return nil, rerr, rcode
        end
        if not layout.exists(path) then
            return nil, ("%s: missing; run build_chain.lua first (build_chain.lua --out %s)")
                :format(path, dir), "notfound"
        end
    end
    local key, kerr, kcode = ca_key.read(files.intermediate, opts.passphrase)
    if not key then
        return nil, kerr, kcode
    end
    local cert, cerr, ccode = pki.read_cert(files.intermediate.cert)
    if not cert then
        return nil, cerr, ccode
    end
    local root, rerr, rcode = pki.read_cert(files.root.cert)
    if not root then
        return nil, rerr, rcode
    end
    local matches, merr, mcode = cert:check_key(key)
    if not matches then
        return nil, ("%s: %s"):format(files.intermediate.cert, merr), mcode
    end
    -- out of its dates: the line names the command that replaces it (an
    -- intermediate is rolled under the same root, chainsmith/rollover.lua)
    local dated = validity.chain({ root = root, intermediate = cert }, files, dir, os.time())
    if dated then
        return nil, dated, "verify"
    end
    local valid, verr = pki.verify { leaf = cert, chain = {}, roots = { root } }
    if not valid then
        return nil, ("%s: %s (run build_chain.lua again)"):format(files.intermediate.cert, verr),
            "verify"
    end
    local store, serr, scode = layout.open_store(files.db)
    if not store then
        return nil, serr, scode
    end
    -- Issuances, revocations and builds cut short by a crash: finished if
    -- committed, else undone.
    local pending = files.pending
    local forward, back, fcode = pki.recover_files(pending, store)
    if not forward then
        store:close()
        return nil, back, fcode
    end
    local pol = opts.policy or require "policy"
    if pol.check_request == nil then -- data alone (keys, issuance, rules): give it the engine
        pol = require("chainsmith.policy_engine").new(pol)
    end
    return setmetatable({
        dir = dir,
        files = files,
        profiles = opts.profiles or default_profiles(),
        policy = pol,
        config = opts.config or pol.issuance,
        key = key,
        passphrase = opts.passphrase, -- for the root key, read only to revoke an intermediate
        cert = cert,
        root = root,
        root_dates = root:info(), -- its dates, checked at each issue (below)
        store = store,
        pending = pending,
        recovered = { forward = forward, back = back },
    }, CA)
end

function CA:close()
    for _, tpl in pairs(self.templates or {}) do
        tpl:close()
    end
    self.templates = nil
    if self.store then
        self.store:close()
        self.store = nil
    end
end
CA.__close = CA.close

-- The type of a name given as a bare string: an IP literal, an email (has
-- @), a URI (has scheme://), else a DNS name.
function ca.name_type(s)
    if s:find("^%a[%w+.-]*://") then
        return "uri"
    elseif s:find("@", 1, true) then
        return "email"
    elseif pki.normalize_name("ip", s) then
        return "ip"
    end
    return "dns"
end

-- Normalize request names (strings or {type=, value=}): IDN to A-labels,
-- lower case, canonical IPs; duplicates dropped. Returns the list, or nil and
-- every bad name, one per line.
local function normalize_names(list)
    local out, seen, bad = {}, {}, {}
    for i, n in ipairs(list) do
        local t, v
        if type(n) == "string" then
            t, v = ca.name_type(n), n
        elseif type(n) == "table" and type(n.type) == "string" and type(n.value) == "string" then
            t, v = n.type, n.value
        else
            return nil, ("names[%d]: expected a string or {type = , value = }"):format(i)
        end
        local norm, err = pki.normalize_name(t, v, { wildcard = true })
        if not norm then
            bad[#bad + 1] = ("name %s: %s"):format(pki.escape(v), err)
        elseif not seen[t .. " " .. norm] then
            seen[t .. " " .. norm] = true
            out[#out + 1] = { type = t, value = norm }
        end
    end
    if #bad > 0 then
        return nil, table.concat(bad, "\n")
    end
    return out
end

local request_fields = { profile = "string", names = "table", validity_days = "number" }
local profile_types = { string = true, table = true } -- a name, or a profile built in Lua

-- Check the shape of an issue request. Returns true or nil, message.
local function check_request_table(req)
    if type(req) ~= "table" then
        return nil, ("request: expected table, got %s"):format(type(req))
    end
    for k, v in pairs(req) do
        if k == "csr" then
            if type(v) ~= "string" and pki.type(v) ~= "pki.csr" then
                return nil, ("request.csr: expected a pki.csr or a PEM/DER string, got %s")
                    :format(type(v))
            end
        elseif not request_fields[k] then
            return nil, ("request: unknown field '%s'"):format(tostring(k))
        elseif k == "profile" then
            if not profile_types[type(v)] then
                return nil, ("request.profile: expected a profile name or a profile table, "
                    .. "got %s"):format(type(v))
            end
        elseif type(v) ~= request_fields[k] then
            return nil, ("request.%s: expected %s, got %s"):format(k, request_fields[k], type(v))
        end
    end
    if not req.profile then
        return nil, "request: missing field 'profile'"
    end
    if (req.csr == nil) == (req.names == nil) then
        return nil, "request: give exactly one of 'csr' and 'names'"
    end
    return true
end

-- The certificate's subject: the profile's, with the CN replaced (or
-- added last) by the CSR's CN when that is one of the names, else the first
-- DNS name or email; no CN when there is none (IPs and URIs only). An IP is
-- never the CN: a certificate without a DNS SAN has its CN checked as a DNS
-- name against the intermediate's nameConstraints (OpenSSL, GnuTLS), so
-- CN=10.1.2.3 fails "permitted subtree violation" where IP:10.1.2.3 is
-- permitted.
local function subject_for(p, names, csr_cn)
    local cn
    for _, n in ipairs(names) do
        if csr_cn and n.value == csr_cn and (n.type == "dns" or n.type == "email") then
            cn = csr_cn
        end
    end
    for _, t in ipairs { "dns", "email" } do
        for _, n in ipairs(names) do
            if not cn and n.type == t then
                cn = n.value
            end
        end
    end
    local subject = {}
    for _, rdn in ipairs(p.subject) do
        if rdn[1] ~= "CN" then
            subject[#subject + 1] = { rdn[1], rdn[2] }
        end
    end
    if cn then
        subject[#subject + 1] = { "CN", cn }
    end
    return subject
end

-- A value as text that is the same for equal values (keys sorted): what a
-- compiled template is found again by.
local function canonical(v)
    if type(v) ~= "table" then
        return type(v) == "string" and ("%q"):format(v) or tostring(v)
    end
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b)
        if type(a) == type(b) then return a < b end
        return type(a) == "number"
    end)
    local out = {}
    for _, k in ipairs(keys) do
        out[#out + 1] = canonical(k) .. "=" .. canonical(v[k])
    end
    return "{" .. table.concat(out, ",") .. "}"
end

-- The prepared template (pki.template) for what spec says but its CN and
-- names: compiled once per CA and spec, so the profile's extensions are
-- built and encoded once; each certificate brings its CN and names. A
-- profile edited on disk gives another spec, hence another template.
function CA:template(spec)
    local fixed = {}
    for k, v in pairs(spec) do
        fixed[k] = v
    end
    local subject, cn = {}, nil
    for _, rdn in ipairs(spec.subject or {}) do
        if rdn[1] == "CN" then
            cn = rdn[2]
        else
            subject[#subject + 1] = rdn
        end
    end
    fixed.subject, fixed.subject_alt_name = subject, nil
    local id = canonical(fixed)
    self.templates = self.templates or {}
    local tpl = self.templates[id]
    if not tpl then
        local terr, tcode
        tpl, terr, tcode = pki.template(fixed, self.cert, self.key)
        if not tpl then
            return nil, terr, tcode
        end
        self.templates[id] = tpl
    end
    return tpl, cn
end

local function san_for(names)
    local san = {}
    for _, n in ipairs(names) do
        san[n.type] = san[n.type] or {}
        table.insert(san[n.type], n.value)
    end
    return san
end

-- Does a string from info() hold a control character, a NUL or bytes that
-- are not UTF-8? info() shows them escaped (pki.escape): with the escaped
-- backslashes (two in a row) taken out, any backslash left starts such an
-- escape.
local function has_control(v)
    return (v:gsub("\\\\", "")):find("\\", 1, true) ~= nil
end

local name_kinds = { dns = "DNS name", ip = "IP address", email = "email", uri = "URI" }

-- Names and subject fields with control characters are refused, never cut
-- or passed on: good.test NUL .evil.com must not become "good.test".
-- Returns true, or nil and the message.
local function check_csr_text(info)
    local what = "control characters and bytes that are not UTF-8 are not allowed (shown escaped)"
    for _, n in ipairs(info.names or {}) do
        if has_control(n.value) then
            return nil, ("request.csr: subjectAltName %s '%s': %s")
                :format(name_kinds[n.type] or n.type, n.value, what)
        end
    end
    for _, rdn in ipairs(info.subject or {}) do
        if has_control(rdn[2]) then
            return nil, ("request.csr: subject %s '%s': %s"):format(rdn[1], rdn[2], what)
        end
    end
    return true
end

-- Read the request's CSR (already signature-checked by the core) into
-- the request model. Returns csr, model fields, or nil, message, code.
local function from_csr(given)
    local csr = given
    if type(given) == "string" then
        local err, code
        csr, err, code = pki.load_csr(given, "request.csr")
        if not csr then
            return nil, err, code
        end
    end
    local info = csr:info()
    local clean, why = check_csr_text(info)
    if not clean then
        return nil, why, "invalid"
    end
    local names = {}
    for _, n in ipairs(info.names or {}) do
        names[#names + 1] = { type = n.type, value = n.value }
    end
    local cn
    for _, rdn in ipairs(info.subject or {}) do
        if rdn[1] == "CN" then
            cn = rdn[2]
        end
    end
    -- An old-style CSR names its host only in the CN: take it as the name.
    if #names == 0 and cn then
        names[1] = cn
    end
    return csr, {
        names = names,
        cn = cn,
        subject = info.subject,
        key = info.key,
        ca_requested = info.ca == true,
        requested_extensions = info.extensions or {},
        key_usage = info.key_usage,
        extended_key_usage = info.extended_key_usage,
    }
end

-- Issue a leaf certificate. req = {profile = name, names = {...} | csr =
-- pki.csr or PEM/DER string, validity_days = n}.
-- opts.files(result), if given, returns the files to write, as
-- pki.write_files takes them (or nil, message, code): they are written to
-- temporary names before the record is committed and take their names
-- after, so a crash leaves nothing the next ca.open cannot finish or undo
-- (docs/issue.md, Durability).
-- Returns {cert, key (generated only), chain = {cert, intermediate}, serial,
-- profile, names, dropped = {extension, ...}}, or nil, message, code
-- ("invalid", "notfound", "policy", "verify", "exists", ...). Nothing is
-- recorded on failure, but for one case: the record committed and a target
-- file created meanwhile by something else than chainsmith (the message
-- says so and names the serial).
function CA:issue(req, opts)
    if not self.store then
        error("attempt to use a closed chainsmith CA", 2)
    end
    opts = opts or {}
    for k in pairs(opts) do
        if k ~= "files" then
            error(("bad argument #2 to 'issue' (unknown option '%s')"):format(tostring(k)), 2)
        end
    end
    local ok, why = check_request_table(req)
    if not ok then
        return nil, why, "invalid"
    end
    local p, perr
    if type(req.profile) == "table" then
        p, perr = profile.from_table(req.profile, self.profiles)
        if not p then
            return nil, perr, "invalid"
        end
    else
        p, perr = profile.load(self.profiles, req.profile)
    end
    if not p then
        local found = profile.valid_name(req.profile)
            and layout.exists(profile.path(self.profiles, req.profile))
        if found then
            return nil, perr, "invalid"
        end
        local names = {}
        for _, entry in ipairs(profile.list(self.profiles) or {}) do
            names[#names + 1] = entry.name
        end
        return nil, ("no profile '%s' in %s (there are: %s)"):format(pki.escape(req.profile),
            self.profiles, table.concat(names, ", ")), "notfound"
    end

    local csr, model, code
    if req.csr then
        csr, model, code = from_csr(req.csr)
        if not csr then
            return nil, model, code
        end
    else
        model = { names = req.names, key = p.key, requested_extensions = {} }
    end
    local names, nerr = normalize_names(model.names)
    if not names then
        return nil, nerr, "invalid"
    end
    local max = self.policy.max_validity(p, self.config)
    local request = {
        profile = p.name,
        names = names,
        key = model.key,
        validity_days = req.validity_days or math.min(p.validity_days, max),
        subject = model.subject,
        ca_requested = model.ca_requested or false,
        requested_extensions = model.requested_extensions,
        key_usage = model.key_usage,
        extended_key_usage = model.extended_key_usage,
        csr = csr ~= nil,
    }
    local decision, refusal, rcode = self.policy.check_request(request, p, self.cert, self.config)
    if not decision and rcode ~= "policy" then
        return nil, refusal, rcode
    end

    -- The profile decides the certificate; the request gives names and days.
    local spec = profile.spec(p)
    spec.subject = subject_for(p, names, model.cn)
    spec.subject_alt_name = san_for(names)
    spec.validity_days = request.validity_days
    local leaf = {}
    for k, v in pairs(p) do
        leaf[k] = v
    end
    leaf.subject, leaf.subject_alt_name = spec.subject, spec.subject_alt_name
    leaf.validity_days = spec.validity_days   -- leaf.key stays: check_request saw the CSR's
    -- The certificate about to be signed passes the profile rules too; all
    -- the reasons are reported together.
    local pok, pwhy = self.policy.check(leaf)
    if not decision or not pok then
        local lines = {}
        lines[#lines + 1] = refusal
        lines[#lines + 1] = pwhy
        return nil, table.concat(lines, "\n"), "policy"
    end

    local key, subject_key
    if csr then
        subject_key = csr:public_key()
    else
        local kerr, kcode
        progress.key(p.key)
        key, kerr, kcode = pki.generate_key(p.key)
        if not key then
            return nil, ("profile %s: %s"):format(p.name, kerr), kcode
        end
        subject_key = key
    end

    local store = self.store
    local began, berr, bcode = store:begin()
    if not began then
        return nil, berr, bcode
    end
    local function fail(msg, c)
        store:rollback()
        return nil, msg, c
    end
    -- Between begin and commit: a raise (a bug) must not leave the
    -- transaction open, or the next begin would nest in it (store:begin
    -- inside a batch is a savepoint) and nothing after would be durable.
    local function within()
        -- The certificate from the profile's compiled template (the bulk path's
        -- and the ACME finalize path's): linted, recorded in this transaction.
        local tpl, cn, tcode = self:template(spec)
        if not tpl then
            return fail(("profile %s: %s"):format(p.name, cn), tcode)
        end
        local cert, serr, scode = store:issue_template(tpl, subject_key, spec.subject_alt_name, cn,
            p.name)
        if not cert then
            return fail(("profile %s: %s"):format(p.name, serr), scode)
        end
        -- Only the new link: the intermediate was verified up to the root
        -- when the CA was opened (ca.open), and its own dates, constraints
        -- and key usage are still checked with it as the anchor. The root's
        -- signature on it again was half this check: 1.18 ms became 0.61 (P-384).
        -- The root's signature is not checked again, but its dates are:
        -- a server runs for weeks, and a leaf under an expired root is
        -- refused by every client.
        local rstate = validity.state_of(self.root_dates, os.time())
        if rstate then
            return fail(("the root CA certificate: %s"):format(rstate), "verify")
        end
        local valid, verr = pki.verify { leaf = cert, anchor = self.cert }
        if not valid then
            return fail(("the issued certificate does not verify: %s"):format(verr), "verify")
        end
        local result = {
            cert = cert,
            key = key,
            chain = { cert, self.cert },
            serial = cert:serial(),
            profile = p.name,
            names = names,
            dropped = decision.dropped,
        }
        local journal
        if opts.files then
            local entries, ferr, fcode = opts.files(result)
            if not entries then
                return fail(ferr, fcode)
            end
            -- A bad entry raises (a caller bug): within's caller rolls back.
            local staged, jerr, jcode = pki.stage_files(self.pending, store, cert, entries)
            if not staged then
                return fail(jerr, jcode)
            end
            journal = staged
        end
        local committed, cerr, ccode = store:commit()
        if not committed then
            if journal then
                journal:abort()
            end
            return fail(cerr, ccode)
        end
        return result, journal
    end
    local called, result, journal, wcode = pcall(within)
    if not called then
        store:rollback()
        error(result, 0)
    end
    if not result then
        return nil, journal, wcode
    end
    if journal then
        local placed, plerr, plcode = journal:place()
        if not placed then
            return nil, ("serial %s is recorded, but its files are not written: %s")
                :format(result.serial, plerr), plcode
        end
    end
    return result
end

local revoke_fields = { serial = true, cert = true, reason = true }

-- The serial and (when a certificate was given) issuer a revoke request
-- names. Returns serial, issuer line or nil; or nil, message.
local function revoke_target(req)
    if type(req) ~= "table" then
        return nil, ("request: expected table, got %s"):format(type(req))
    end
    for k in pairs(req) do
        if not revoke_fields[k] then
            return nil, ("request: unknown field '%s'"):format(tostring(k))
        end
    end
    if (req.serial == nil) == (req.cert == nil) then
        return nil, "request: give exactly one of 'serial' and 'cert'"
    end
    if req.reason ~= nil and type(req.reason) ~= "string" then
        return nil, ("request.reason: expected a reason name, got %s"):format(type(req.reason))
    end
    if req.cert ~= nil then
        if pki.type(req.cert) ~= "pki.cert" then
            return nil, ("request.cert: expected a pki.cert, got %s"):format(type(req.cert))
        end
        return req.cert:serial(), req.cert:info().issuer_line
    end
    if type(req.serial) ~= "string" or not req.serial:find("^%x+$") then
        return nil, ("request.serial: expected a hexadecimal serial, got %s")
            :format(type(req.serial) == "string" and ("'" .. req.serial .. "'")
                or type(req.serial))
    end
    return req.serial, nil
end

-- Which of this chain's CAs signs the CRL for a certificate of this
-- issuer: "intermediate" or "root" with its certificate and key; or nil,
-- message, code.
function CA:crl_signer(issuer_line)
    if issuer_line == self.cert:info().subject_line then
        return "intermediate", self.cert, self.key
    end
    if issuer_line == self.root:info().subject_line then
        -- one passphrase protects both CA keys (docs/keys.md)
        local key, err, code = ca_key.read(self.files.root, self.passphrase)
        if not key then
            return nil, ("revoking a certificate the root issued needs the root key: %s")
                :format(err), code
        end
        return "root", self.root, key
    end
    return nil, ("issuer %s is neither this chain's root nor its intermediate"):format(issuer_line),
        "notfound"
end

-- A key identifier as openssl prints it, or "none".
local function key_id(hex)
    return hex and summary.fingerprint(hex) or "none"
end

-- nil when signer (the CRL's signer, name "intermediate" or "root")
-- issued cert; else the warning that what validators fetch does not show
-- cert revoked: a certificate of an intermediate replaced by a roll, same
-- name, other key (its authority key id names the old key). prev_crl: the
-- previous intermediate's CRL signed with this revocation, or nil.
-- docs/revocation.md, "Certificates of the previous intermediate".
function CA:unserved_revocation(cert, name, signer, prev_crl)
    if name ~= "intermediate" or cert:issued_by(signer) then
        return nil
    end
    local path = rollover.previous_path(self.dir)
    local kept = layout.exists(path) and pki.read_cert(path)
    local ours = kept and cert:issued_by(kept)
    local by = ours and ("the previous intermediate (%s, serial %s)"):format(path, kept:serial())
        or "an intermediate replaced before the last roll (not kept)"
    local info = cert:info()
    local listed = ours and prev_crl
        and ("it is listed in %s, signed by that key (served at /crl/%s.crl: give it to "
            .. "validators that take CRL files, openssl verify -CRLfile, nginx ssl_crl); but "
            .. "its CRL distribution point names the current intermediate's CRL"):format(
            prev_crl.der, previous.name)
        or "the revocation is recorded in ca.db, but the only CRL that lists it is the "
            .. "current intermediate's"
    return ("serial %s was issued by %s, key id %s: %s, %s, signed by another key (key id "
        .. "%s), where validators find no usable CRL for it (authority key id mismatch: "
        .. "openssl verify -crl_check says \"unable to get certificate CRL\"), and serve.lua's "
        .. "OCSP responder answers \"unauthorized\" for it. Replace the certificate "
        .. "(issue.lua) and stop trusting it by other means (docs/revocation.md, "
        .. "\"Certificates of the previous intermediate\")"):format(info.serial, by,
        key_id(info.authority_key_id), listed, layout.crl_files(self.dir, name).der,
        key_id(signer:info().subject_key_id))
end

-- Revoke a certificate this CA (or its root) issued and sign the issuer's
-- CRL again. req = {serial = HEX | cert = pki.cert, reason = name} (reason
-- as pki.crl_reasons() lists them; default "unspecified").
-- Returns {serial, issuer, ca = "intermediate"|"root", reason, revoked_at,
-- crl = {number, revoked, der, pem, next_update}}, or nil, message, code:
-- "notfound" (unknown serial), "exists" (already revoked: the message says
-- when and why), "invalid" (bad request or reason, a root). warnings, a
-- list, says when the revocation is recorded but not served
-- (CA:unserved_revocation). On failure
-- nothing is recorded and no CRL is written, but for one case: the
-- revocation committed and a CRL file that cannot be replaced (the message
-- says so and names the serial; the next revocation or build writes it).
function CA:revoke(req)
    if not self.store then
        error("attempt to use a closed chainsmith CA", 2)
    end
    local serial, issuer = revoke_target(req)
    if not serial then
        return nil, issuer, "invalid"
    end
    local reason = req.reason or "unspecified"
    local cert, ferr, fcode = self.store:find(serial, issuer)
    if not cert then
        return nil, ferr, fcode
    end
    local info = cert:info()
    if info.self_signed then
        return nil, ("serial %s is the root itself: a root cannot be revoked by a CRL it signs "
            .. "(remove it from the trust stores instead)"):format(info.serial), "invalid"
    end
    local name, signer, signer_key = self:crl_signer(info.issuer_line)
    if not name then
        return nil, signer, signer_key
    end
    local p = profile.load(self.profiles, name)
    local days = p and p.crl_next_update_days

    -- The revocation and the CRL number in one transaction; the CRL files
    -- staged in a journal before the commit and named after it, so a CRL
    -- never lists what the database lacks, and no number is published twice.
    local store = self.store
    local began, berr, bcode = store:begin()
    if not began then
        return nil, berr, bcode
    end
    local at = os.time()
    local ok, rerr, rcode = store:revoke(info.serial, { issuer = info.issuer_line,
        reason = reason, at = at })
    if not ok then
        store:rollback()
        return nil, rerr, rcode
    end
    -- the previous intermediate's CRL, while its key is kept, first: the
    -- two share one counter and intermediate.crl keeps the last number
    local files, warnings, prev_crl = {}, {}, nil
    if name == "intermediate" then
        local kept, kerr = previous.load(self.dir, self.passphrase, at)
        local pfiles
        if kept then
            prev_crl, pfiles, kerr = crl.sign(store, self.dir, previous.name, kept.cert, kept.key,
                days)
        end
        if prev_crl then
            table.move(pfiles, 1, #pfiles, 1, files)
        elseif kerr then -- the revocation itself must not wait on the old key
            warnings[#warnings + 1] = ("%s CRL not signed: %s"):format(previous.name, kerr)
        end
    end
    local out, cfiles, ccode = crl.sign(store, self.dir, name, signer, signer_key, days)
    if not out then
        store:rollback()
        return nil, cfiles, ccode
    end
    table.move(cfiles, 1, #cfiles, #files + 1, files)
    local journal <close>, jerr, jcode = pki.stage_files(self.pending, store, nil, files)
    if not journal then
        store:rollback()
        return nil, jerr, jcode
    end
    local committed, merr, mcode = store:commit()
    if not committed then
        return nil, merr, mcode
    end
    local placed, perr, pcode = journal:place()
    if not placed then
        return nil, ("serial %s is revoked, but its CRL is not written: %s")
            :format(info.serial, perr), pcode
    end
    warnings[#warnings + 1] = self:unserved_revocation(cert, name, signer, prev_crl)
    return {
        serial = info.serial,
        issuer = info.issuer_line,
        subject = info.subject_line,
        ca = name,
        reason = reason,
        revoked_at = at,
        crl = out,
        previous_crl = prev_crl,
        warnings = warnings,
    }
end

return ca
