-- Building the chain: root, intermediate and server certificate from their
-- profiles, into one folder, reusing what is still right.

local pki = require "pki"
local policy = require "policy"
local profile = require "chainsmith.profile"
local constraints = require "chainsmith.constraints"

local chain = {}

-- The three certificates, in signing order, and the files each one owns.
chain.order = { "root", "intermediate", "server" }
local expected_issuer = { root = "self", intermediate = "root", server = "intermediate" }

local function paths(out, name)
    return { key = out .. "/" .. name .. ".key", cert = out .. "/" .. name .. ".pem" }
end

function chain.files(out)
    return {
        root = paths(out, "root"),
        intermediate = paths(out, "intermediate"),
        server = paths(out, "server"),
        server_chain = out .. "/server-chain.pem",
        db = out .. "/ca.db",
    }
end

local function exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

-- Whether a profile's names fit the name constraints of its issuer (a
-- profile's or a certificate's): true, or nil and a line in policy's form.
function chain.check_names(p, issuer_nc)
    local ok, why, field = constraints.check(p.subject_alt_name, issuer_nc, p.subject)
    if ok then
        return true
    end
    return nil, ("profile %s: %s: %s (issuer %s, rule issuer-name-constraints)")
        :format(p.name, field, why, p.issuer)
end

-- Load and check every profile before anything is written: a policy
-- violation anywhere stops the build with nothing touched.
function chain.load_profiles(dir)
    local profiles, problems = {}, {}
    for _, name in ipairs(chain.order) do
        local p, err = profile.load(dir, name)
        if not p then
            problems[#problems + 1] = err
        else
            if p.issuer ~= expected_issuer[name] then
                problems[#problems + 1] = ("%s: issuer: must be '%s', is '%s'")
                    :format(p.file, expected_issuer[name], p.issuer)
            end
            local ok, why = policy.check(p)
            if not ok then
                problems[#problems + 1] = why
            end
            profiles[name] = p
        end
    end
    local issuer = profiles[expected_issuer.server]
    if profiles.server and issuer then
        local ok, why = chain.check_names(profiles.server, issuer.name_constraints)
        if not ok then
            problems[#problems + 1] = why
        end
    end
    if #problems > 0 then
        return nil, table.concat(problems, "\n")
    end
    return profiles
end

local function same_list(a, b)
    local seen = {}
    for _, v in ipairs(a or {}) do
        seen[v] = (seen[v] or 0) + 1
    end
    for _, v in ipairs(b or {}) do
        if not seen[v] then
            return false
        end
        seen[v] = seen[v] - 1
    end
    for _, n in pairs(seen) do
        if n ~= 0 then
            return false
        end
    end
    return true
end

local function subject_text(subject)
    local parts = {}
    for _, rdn in ipairs(subject) do
        parts[#parts + 1] = rdn[1] .. "=" .. rdn[2]
    end
    return table.concat(parts, ", ")
end

-- How an existing certificate differs from its profile: nil when it does
-- not, or the first difference, in words.
function chain.difference(info, p)
    local want_key = p.key
    if info.key.type ~= want_key.type then
        return ("key type %s, profile says %s"):format(info.key.type, want_key.type)
    end
    if want_key.type == "ec" and info.key.curve ~= want_key.curve then
        return ("curve %s, profile says %s"):format(info.key.curve, want_key.curve)
    end
    if want_key.type == "rsa" and info.key.bits ~= (want_key.bits or 3072) then
        return ("RSA %d bits, profile says %d"):format(info.key.bits, want_key.bits or 3072)
    end
    if subject_text(info.subject) ~= subject_text(p.subject) then
        return ("subject %s, profile says %s"):format(subject_text(info.subject),
            subject_text(p.subject))
    end
    local days = (info.not_after - info.not_before) // 86400
    if days ~= p.validity_days then
        return ("validity %d days, profile says %d"):format(days, p.validity_days)
    end
    local san, want_san = info.subject_alt_name or {}, p.subject_alt_name or {}
    for _, kind in ipairs { "dns", "ip", "email", "uri" } do
        if not same_list(san[kind], want_san[kind]) then
            return ("subject_alt_name.%s differs from the profile"):format(kind)
        end
    end
    if not same_list(info.key_usage, p.key_usage) then
        return "key_usage differs from the profile"
    end
    if not same_list(info.extended_key_usage, p.extended_key_usage) then
        return "extended_key_usage differs from the profile"
    end
    local bc, want_bc = info.basic_constraints or {}, p.basic_constraints or {}
    if (bc.ca or false) ~= (want_bc.ca or false) or bc.path_len ~= want_bc.path_len then
        return "basic_constraints differ from the profile"
    end
    return constraints.difference(info.name_constraints, p.name_constraints)
end

-- Read a key and certificate from disk if both are there, whole and
-- matching. Returns {key = , cert = }; nil when neither exists; or nil, message.
local function load_existing(files)
    local have_key, have_cert = exists(files.key), exists(files.cert)
    if not have_key and not have_cert then
        return nil, nil
    end
    if not (have_key and have_cert) then
        return nil, ("%s or %s is missing"):format(files.key, files.cert)
    end
    local key, kerr = pki.read_key(files.key)
    if not key then
        return nil, kerr
    end
    local cert, cerr = pki.read_cert(files.cert)
    if not cert then
        return nil, cerr
    end
    local ok, merr = cert:check_key(key)
    if not ok then
        return nil, ("%s: %s"):format(files.cert, merr)
    end
    return { key = key, cert = cert }
end

-- Sign a certificate from its profile with a new key, and record it.
local function issue(store, p, issuer_cert, issuer_key)
    local key, err, code = pki.generate_key(p.key)
    if not key then
        return nil, ("profile %s: %s"):format(p.name, err), code
    end
    local cert
    cert, err, code = store:issue(profile.spec(p), key, issuer_cert, issuer_key or key, p.name)
    if not cert then
        return nil, ("profile %s: %s"):format(p.name, err), code
    end
    return key, cert
end

-- Write what was issued, each key with its certificate, and the server's
-- chain file, as one step: every file is on disk before any takes its name.
local function write_files(report, files, force)
    local out = {}
    for _, r in ipairs(report) do
        if r.action ~= "kept" then
            local f, overwrite = files[r.name], force or r.action == "re-issued"
            out[#out + 1] = { path = f.key, key = r.key, overwrite = overwrite }
            out[#out + 1] = { path = f.cert, cert = r.cert, overwrite = overwrite }
        end
    end
    out[#out + 1] = { path = files.server_chain, certs = { report[3].cert, report[2].cert },
        overwrite = true }
    return pki.write_files(out)
end

local function renew_due(info, p, now)
    local window = (p.renew_before_days or 0) * 86400
    return info.not_after - window <= now
end

-- Why an existing leaf must be re-issued, or nil to keep it.
local function leaf_change(cert, p, issuer, roots, now)
    if not pki.verify { leaf = cert, chain = { issuer }, roots = roots, time = now } then
        return "not issued by the current intermediate"
    end
    local info = cert:info()
    if renew_due(info, p, now) then
        return "expires within renew_before_days"
    end
    return chain.difference(info, p)
end

-- Whether an existing CA certificate can be kept: true, or nil and why not.
-- A CA is never replaced silently: that takes --force.
local function ca_keepable(cert, p, f, roots, issuer_changed, now)
    if issuer_changed then
        return nil, ("%s: its issuer was re-created; it cannot be kept (pass --force to "
            .. "re-create the chain)"):format(f.cert)
    end
    local valid, verr = pki.verify { leaf = cert, chain = {}, roots = roots or { cert },
        time = now }
    if not valid then
        return nil, ("%s: %s; it cannot be kept (pass --force to re-create the chain)")
            :format(f.cert, verr)
    end
    local diff = chain.difference(cert:info(), p)
    if diff then
        io.stderr:write(("note: %s differs from %s (%s); kept, as a CA is only replaced "
            .. "with --force (which re-creates the whole chain, root included)\n")
            :format(f.cert, p.file, diff))
    end
    return true
end

-- Build (or bring up to date) the chain in opts.out from opts.profiles.
-- opts.force re-creates everything. Returns a report: one entry per
-- certificate {name, cert, action = "created"|"kept"|"re-issued", why}, or
-- nil, message, code.
function chain.build(opts)
    local profiles, perr = chain.load_profiles(opts.profiles)
    if not profiles then
        return nil, perr, "policy"
    end
    local ok, derr, dcode = pki.mkdir(opts.out)
    if not ok then
        return nil, derr, dcode
    end
    local files = chain.files(opts.out)
    local store <close>, serr, scode = pki.open_store(files.db)
    if not store then
        return nil, serr, scode
    end
    local began, berr, bcode = store:begin()
    if not began then
        return nil, berr, bcode
    end
    local now = os.time()
    local report = {}
    local issuer_cert, issuer_key, roots = nil, nil, nil
    local issuer_changed = false

    for _, name in ipairs(chain.order) do
        local p, f = profiles[name], files[name]
        local existing, why
        if not opts.force then
            local lerr
            existing, lerr = load_existing(f)
            if lerr then
                return nil, ("%s (pass --force to re-create the chain)"):format(lerr), "invalid"
            end
        end
        if name == "server" then
            -- The intermediate kept may carry other constraints than its
            -- profile: the leaf must fit the certificate that signs it.
            local fits, ferr = chain.check_names(p, issuer_cert:info().name_constraints)
            if not fits then
                return nil, ferr, "policy"
            end
        end
        if existing and name == "server" then
            why = leaf_change(existing.cert, p, issuer_cert, roots, now)
        elseif existing then
            local keep, kerr = ca_keepable(existing.cert, p, f, roots, issuer_changed, now)
            if not keep then
                return nil, kerr, "verify"
            end
        end

        local key, cert, action
        if existing and not why then
            key, cert, action = existing.key, existing.cert, "kept"
        else
            local code
            key, cert, code = issue(store, p, issuer_cert, issuer_key)
            if not key then
                return nil, cert, code
            end
            action = why and "re-issued" or "created"
            issuer_changed = issuer_changed or name ~= "server"
        end
        report[#report + 1] = { name = name, key = key, cert = cert, action = action, why = why }
        if name == "root" then
            roots = { cert }
        end
        issuer_cert, issuer_key = cert, key
    end

    -- Every record in one commit, then the files: a failure before this
    -- point leaves the folder and the database as they were.
    local committed, cerr, ccode = store:commit()
    if not committed then
        return nil, cerr, ccode
    end
    local wrote, werr, wcode = write_files(report, files, opts.force)
    if not wrote then
        return nil, werr, wcode
    end
    return report
end

return chain
