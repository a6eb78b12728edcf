-- Building the chain: root, intermediate and server certificate from their
-- profiles, into one folder, reusing what is still right.

local pki = require "pki"
local policy = require "policy"
local ca_key = require "chainsmith.ca_key"
local crl = require "chainsmith.crl"
local guard = require "chainsmith.guard"
local layout = require "chainsmith.layout"
local previous = require "chainsmith.previous"
local profile = require "chainsmith.profile"
local progress = require "chainsmith.progress"
local rollover = require "chainsmith.rollover"
local validity = require "chainsmith.validity"

local chain = {}

-- The certificates, in signing order, and the files each one owns. The
-- delegated OCSP responder is optional: a profiles folder without ocsp.lua
-- (made before it existed) builds the other three.
chain.order = { "root", "intermediate", "server", "ocsp" }
local expected_issuer = { root = "self", intermediate = "root", server = "intermediate",
    ocsp = "intermediate" }
local leaf = { server = true, ocsp = true }
local optional = { ocsp = true }
-- The keys a passphrase encrypts: the CA's. Any other (the server's, an
-- OCSP signer's) stays plain so the server starts unattended (docs/keys.md).
local ca_keys = { root = true, intermediate = true }

-- Why issuer refused a name, in words (chainsmith.refusal).
local refusal = require("chainsmith.refusal").outside

-- The first of p's names that permits(kind, name) refuses (the answer of
-- the CA that signs p): nil when all fit, or why and the field it came from.
local function name_outside(p, permits, nc)
    local san = p.subject_alt_name or {}
    for _, kind in ipairs(profile.name_kinds) do
        for _, name in ipairs(san[kind] or {}) do
            local label = kind:upper() .. ":" .. name
            local ok, err = permits(kind, name)
            if ok == nil then
                return ("%s: %s"):format(label, err), "subject_alt_name"
            elseif not ok then
                return refusal(label, kind, nc), "subject_alt_name"
            end
        end
    end
    -- Without a DNS name GnuTLS checks the CN as one, and rejects the chain
    -- if it is outside. A CN that is no DNS name is inside no DNS subtree.
    if #(san.dns or {}) > 0 then
        return nil
    end
    for _, rdn in ipairs(p.subject or {}) do
        if rdn[1] == "CN" then
            local cn = tostring(rdn[2])
            local ok = permits("dns", cn)
            if ok == nil then
                ok = #((nc.permitted or {}).dns or {}) == 0
            end
            if not ok then
                return refusal("CN " .. cn, "dns", nc)
                    .. "; without a DNS name, GnuTLS checks the CN as one", "subject"
            end
        end
    end
    return nil
end

-- Whether a profile's names fit the name constraints of issuer, the CA
-- certificate that signs it, or the profile of one not signed yet: true, or
-- nil and a line in policy's form. Core decides (OpenSSL's own matcher, on
-- the certificate or on the profile's lists as data), so the answer is the
-- verifier's.
function chain.check_names(p, issuer)
    local signed = pki.type(issuer) == "pki.cert"
    local nc = signed and issuer:info().name_constraints or issuer.name_constraints
    if not nc then
        return true
    end
    if not signed then -- the issuer's own lists are its profile's problem
        local valid, err = pki.name_constraints_permit(nc)
        if not valid then
            return nil, ("profile %s: %s"):format(issuer.name, err)
        end
    end
    local function permits(kind, name)
        if signed then
            return issuer:permits(kind, name)
        end
        return pki.name_constraints_permit(nc, kind, name)
    end
    local why, field = name_outside(p, permits, nc)
    if not why then
        return true
    end
    return nil, ("profile %s: %s: %s (issuer %s, rule issuer-name-constraints)")
        :format(p.name, field, why, p.issuer)
end

-- Load and check every profile before anything is written: a policy
-- violation anywhere stops the build with nothing touched.
function chain.load_profiles(dir)
    local profiles, problems, names = {}, {}, {}
    for _, name in ipairs(chain.order) do
        if not optional[name] or layout.exists(profile.path(dir, name)) then
            names[#names + 1] = name
        end
    end
    -- All of them in one sandbox child (profile.load would take one each).
    local loaded = profile.load_many(dir, names)
    for _, name in ipairs(chain.order) do
        local p, err = false, nil
        if loaded[name] then
            p, err = table.unpack(loaded[name], 1, 2)
        end
        if p == false then -- an optional profile not there: nothing to build
            profiles[name] = nil
        elseif not p then
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
    -- The leaf against its issuer's profile, before the build creates
    -- anything, its folder included; the certificate that really signs it
    -- is checked again then.
    local issuer = profiles[expected_issuer.server]
    if profiles.server and issuer then
        local _, why = chain.check_names(profiles.server, issuer)
        if why then
            problems[#problems + 1] = why
        end
    end
    if #problems > 0 then
        return nil, table.concat(problems, "\n")
    end
    return profiles
end

-- Whether two lists hold the same values, in any order; canon, if given,
-- is the spelling they are compared in.
local function same_list(a, b, canon)
    canon = canon or tostring
    local seen = {}
    for _, v in ipairs(a or {}) do
        local c = canon(v)
        seen[c] = (seen[c] or 0) + 1
    end
    for _, v in ipairs(b or {}) do
        local c = canon(v)
        if not seen[c] then
            return false
        end
        seen[c] = seen[c] - 1
    end
    for _, n in pairs(seen) do
        if n ~= 0 then
            return false
        end
    end
    return true
end

-- One spelling per subtree, so "0:0::1/128" (a profile) and "::1/128" (a
-- certificate's info) compare equal. A range core cannot read stays as is.
local function subtree_canon(kind)
    if kind ~= "ip" then
        return string.lower
    end
    return function(range)
        local addr, bits = tostring(range):match("^(.*)/(%d+)$")
        local norm = addr and pki.normalize_name("ip", addr)
        return norm and (norm .. "/" .. tonumber(bits)) or range
    end
end

-- Whether two name_constraints tables (a certificate's info, a profile's)
-- say the same: nil when they do, or the difference in words.
local function constraints_difference(have, want)
    if not have and not want then
        return nil
    elseif not have then
        return "it has no name constraints, the profile asks for them"
    elseif not want then
        return "it has name constraints, the profile has none"
    end
    if (have.critical or false) ~= (want.critical or false) then
        return "name_constraints criticality differs from the profile"
    end
    for _, side in ipairs { "permitted", "excluded" } do
        for _, kind in ipairs(profile.name_kinds) do
            local a, b = (have[side] or {})[kind], (want[side] or {})[kind]
            if not same_list(a, b, subtree_canon(kind)) then
                return ("name_constraints.%s.%s differs from the profile"):format(side, kind)
            end
        end
    end
    return nil
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
    for _, kind in ipairs(profile.name_kinds) do
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
    if not same_list(info.crl_distribution_points, p.crl_distribution_points) then
        return "crl_distribution_points differ from the profile"
    end
    local aia, want_aia = info.authority_info_access or {}, p.authority_info_access or {}
    for _, kind in ipairs { "ocsp", "ca_issuers" } do
        if not same_list(aia[kind], want_aia[kind]) then
            return ("authority_info_access.%s differs from the profile"):format(kind)
        end
    end
    if (info.ocsp_no_check or false) ~= (p.ocsp_no_check or false) then
        return "ocsp_no_check differs from the profile"
    end
    local bc, want_bc = info.basic_constraints or {}, p.basic_constraints or {}
    if (bc.ca or false) ~= (want_bc.ca or false) or bc.path_len ~= want_bc.path_len then
        return "basic_constraints differ from the profile"
    end
    return constraints_difference(info.name_constraints, p.name_constraints)
end

-- Read a key and certificate from disk if both are there, whole and
-- matching; a key encrypted with passphrase (the CA keys) is decrypted.
-- Returns {key = , cert = , encrypt = true when passphrase was given but the
-- key is stored plain}; nil when neither exists; or nil, message.
local function load_existing(files, passphrase)
    for _, path in ipairs { files.key, files.uri, files.cert } do
        local readable, rerr, rcode = guard.readable(path)
        if not readable then
            return nil, rerr, rcode
        end
    end
    local on_token = layout.exists(files.uri)
    if on_token and layout.exists(files.key) then
        return nil, ("%s and %s are both there: one key is stale (a build cut short); remove "
            .. "the one that does not match %s"):format(files.key, files.uri, files.cert),
            "invalid"
    end
    local have_key, have_cert = ca_key.exists(files), layout.exists(files.cert)
    if not have_key and not have_cert then
        return nil, nil
    end
    if not (have_key and have_cert) then
        return nil, ("%s or %s is missing"):format(on_token and files.uri or files.key,
            files.cert)
    end
    local key, kerr, kcode, encrypt
    if on_token then
        key, kerr, kcode = ca_key.read(files)
    else
        key, kerr, kcode = pki.read_key(files.key)
        encrypt = key ~= nil and passphrase ~= nil
        if not key and passphrase then
            key, kerr, kcode = pki.read_key(files.key, { passphrase = passphrase })
        end
    end
    if not key then
        return nil, kerr, kcode
    end
    local cert, cerr = pki.read_cert(files.cert)
    if not cert then
        return nil, cerr
    end
    local ok, merr = cert:check_key(key)
    if not ok then
        return nil, ("%s: %s"):format(files.cert, merr)
    end
    return { key = key, cert = cert, encrypt = encrypt,
        token = on_token and ca_key.token_of(files) }
end

-- Sign a certificate from its profile with a new key, and record it. hsm:
-- a pkcs11: URI naming the token to make the key on (chainsmith/ca_key.lua),
-- or nil for a key in memory (written to a file). Returns the key, the
-- certificate and the key's URI when on a token; or nil, message, code.
local function issue(store, p, issuer_cert, issuer_key, hsm)
    progress.key(p.key)
    local key, err, code, uri
    if hsm then
        key, uri, code = ca_key.generate(hsm, p.name, p.key)
        err = uri
    else
        key, err, code = pki.generate_key(p.key)
    end
    if not key then
        return nil, ("profile %s: %s"):format(p.name, err), code
    end
    local cert
    cert, err, code = store:issue(profile.spec(p), key, issuer_cert, issuer_key or key, p.name)
    if not cert then
        return nil, ("profile %s: %s"):format(p.name, err), code
    end
    return key, cert, uri
end

-- The files of what was issued, each key with its certificate, and the
-- server's chain file when it does not already hold those bytes (a server
-- watching it would reload for nothing), for one journal with the CRLs.
-- With a passphrase the CA keys (not the server's) are written encrypted,
-- and a kept CA key that is still plain is written again, encrypted.
local function build_files(report, files, force, passphrase)
    local out = {}
    for _, r in ipairs(report) do
        local f, overwrite = files[r.name], force or r.action == "re-issued"
        local pass = ca_keys[r.name] and passphrase or nil
        if r.action ~= "kept" and r.uri then -- on a token: only where it is
            out[#out + 1] = { path = f.uri, data = r.uri .. "\n", overwrite = overwrite }
            out[#out + 1] = { path = f.cert, cert = r.cert, overwrite = overwrite }
        elseif r.action ~= "kept" then
            out[#out + 1] = { path = f.key, key = r.key, overwrite = overwrite, passphrase = pass }
            out[#out + 1] = { path = f.cert, cert = r.cert, overwrite = overwrite }
        elseif r.encrypt and pass then
            out[#out + 1] = { path = f.key, key = r.key, overwrite = true, passphrase = pass }
        end
    end
    local certs = { report[3].cert, report[2].cert }
    if pki.read_file(files.server_chain) ~= certs[1]:pem() .. certs[2]:pem() then
        out[#out + 1] = { path = files.server_chain, certs = certs, overwrite = true }
    end
    return out
end

-- A key re-made in the other form (--force with or without --hsm) leaves
-- the old form's file (NAME.key for a key now on a token, NAME.key.uri for
-- one back in a file): the paths to remove, listed in the build's journal
-- so the removal is part of the same step and a build killed between the
-- new file's name and the removal is finished by the next run's recovery
-- (load_existing would otherwise find both forms and refuse).
local function replaced_files(report, files)
    local gone = {}
    for _, r in ipairs(report) do
        if r.action ~= "kept" then
            local f = files[r.name]
            local old = r.uri and f.key or f.uri
            if old and layout.exists(old) then
                gone[#gone + 1] = old
            end
        end
    end
    return gone
end

-- The previous intermediate in a build (chainsmith/previous.lua), r being
-- the intermediate's report entry: a roll keeps the one it replaces with
-- its key; --force, or the kept one's expiry, removes its key and CRL.
-- Adds to out (files to stage) and removes (paths). Returns {cert, key,
-- why} when its CRL is to be signed in this build (why: the reason, or nil
-- when it only follows the intermediate's), false when there is none, or
-- nil, message, code.
local function previous_for_build(opts, r, out, removes, now)
    local function add(files, gone)
        table.move(files, 1, #files, #out + 1, out)
        table.move(gone, 1, #gone, #removes + 1, removes)
    end
    if r.previous_key then
        local old = r.previous_key
        add(previous.keep(opts.out, old, opts.passphrase, now))
        if validity.state(old.cert, now) then
            return false
        end
        return { cert = old.cert, key = old.key, why = "kept after the roll" }
    elseif opts.force then
        add({}, previous.leftovers(opts.out))
        return false
    end
    local kept, err, code = previous.load(opts.out, opts.passphrase, now)
    if kept == nil then
        return nil, err, code
    elseif not kept then
        add({}, previous.leftovers(opts.out))
        return false
    end
    kept.why = crl.stale(opts.out, previous.name, kept.cert, now)
    return kept
end

-- Finish or undo what a build, renewal, revocation or issuance killed
-- half-way left in the chain folder out (docs/issue.md, Durability): true,
-- or nil, message, code. A folder without ca.db has nothing to finish.
function chain.recover(out, store)
    local files = layout.files(out)
    if not store then
        if not layout.exists(files.db) then
            return true
        end
        local opened, err, code = layout.open_store(files.db)
        if not opened then
            return nil, err, code
        end
        local ok, rerr, rcode = chain.recover(out, opened)
        opened:close()
        return ok, rerr, rcode
    end
    local forward, err, code = pki.recover_files(files.pending, store)
    if not forward then
        return nil, err, code
    end
    return true
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
    return true, diff
end

-- The profiles in dir, loaded and checked, and the files of the chain
-- folder out, whose ca.db must be there if its CA keys are (unless force,
-- which gives the CA up): profiles, files, or nil, message, code.
local function open_folder(dir, out, force)
    local profiles, perr = chain.load_profiles(dir)
    if not profiles then
        return nil, perr, "policy"
    end
    local files = layout.files(out)
    local have_db, dberr, dbcode = guard.database(files, out)
    if not have_db and not force then
        return nil, dberr, dbcode
    end
    return profiles, files
end

-- Whether the server certificate in opts.out is due for renewal under the
-- profiles in opts.profiles (the same test chain.build applies): {cert =
-- the current leaf, why = the reason or nil when not due, profile = the
-- server profile, ocsp_why = the same for the OCSP responder, crls_due =
-- {"intermediate CRL (why)", ...} for CRLs to sign again, intermediate_why =
-- why the intermediate is rolled (opts.roll_intermediate: asked for) or nil},
-- or nil, message, code. Nothing is written.
function chain.leaf_status(opts)
    local profiles, files, fcode = open_folder(opts.profiles, opts.out)
    if not profiles then
        return nil, files, fcode
    end
    -- a build killed half-way is finished first: the status is the folder's
    local recovered, rerr, rcode = chain.recover(opts.out)
    if not recovered then
        return nil, rerr, rcode
    end
    local certs = {}
    for _, name in ipairs { "root", "intermediate", "server" } do
        local cert, err, code = pki.read_cert(files[name].cert)
        if not cert then
            return nil, ("%s (run `lua scripts/build_chain.lua` first)"):format(err), code
        end
        certs[name] = cert
    end
    local now = opts.now or os.time()
    local intermediate_why = rollover.due(certs.intermediate, profiles.intermediate, certs.root,
        now, chain.difference, opts.roll_intermediate)
    local why = intermediate_why and "the intermediate is rolled"
        or leaf_change(certs.server, profiles.server, certs.intermediate, { certs.root }, now)
    -- the delegated OCSP responder is renewed by the same build when due
    local ocsp_why
    if profiles.ocsp and layout.exists(files.ocsp.cert) then
        local ocsp, err, code = pki.read_cert(files.ocsp.cert)
        if not ocsp then
            return nil, err, code
        end
        ocsp_why = intermediate_why and "the intermediate is rolled"
            or leaf_change(ocsp, profiles.ocsp, certs.intermediate, { certs.root }, now)
    end
    -- and each CA's CRL, signed again past half its life
    local crls_due = {}
    for _, name in ipairs(crl.names) do
        local stale = crl.stale(opts.out, name, certs[name], now)
        if stale then
            crls_due[#crls_due + 1] = ("%s CRL (%s)"):format(name, stale)
        end
    end
    -- the previous intermediate's, while its key is kept (read by the build)
    local kept_prev = layout.exists(files.intermediate_previous.cert)
        and ca_key.exists(files.intermediate_previous)
        and pki.read_cert(files.intermediate_previous.cert)
    if kept_prev then
        local stale = validity.state(kept_prev, now) and "its certificate expired: the key goes"
            or crl.stale(opts.out, previous.name, kept_prev, now)
        if stale then
            crls_due[#crls_due + 1] = ("%s CRL (%s)"):format(previous.name, stale)
        end
    end
    return { cert = certs.server, why = why, profile = profiles.server, ocsp_why = ocsp_why,
        crls_due = crls_due, intermediate_why = intermediate_why,
        intermediate = certs.intermediate }
end

-- Build (or bring up to date) the chain in opts.out from opts.profiles.
-- opts.force re-creates everything; opts.renew (a reason) re-issues the
-- server certificate even when nothing else asks for it; opts.roll_intermediate
-- (a reason) rolls the intermediate under the kept root even when it is not
-- due (chainsmith/rollover.lua). opts.hsm, a pkcs11: URI naming a token
-- (no object=), makes the root, intermediate and OCSP responder keys that
-- this run creates on that token, with opts.pin (chainsmith/ca_key.lua); a
-- key re-made later stays on its token. opts.passphrase, if
-- given, encrypts the root and intermediate keys (and opens them when they
-- already are); the server key stays plain so that serve.lua starts
-- unattended. Returns a report: one entry per
-- certificate {name, cert, action = "created"|"kept"|"re-issued", why}, or
-- nil, message, code.
function chain.build(opts)
    ca_key.use_pin(opts.pin)
    local profiles, files, fcode = open_folder(opts.profiles, opts.out, opts.force)
    if not profiles then
        return nil, files, fcode
    end
    local private, merr, mcode = guard.key_modes(files)
    if not private and not opts.force then
        return nil, merr, mcode
    end
    guard.folder(opts.out)
    local ok, derr, dcode = pki.mkdir(opts.out)
    if not ok then
        return nil, derr, dcode
    end
    local store <close>, serr, scode = layout.open_store(files.db)
    if not store then
        return nil, serr, scode
    end
    -- What a killed build left: the old chain or the new one, whole.
    local recovered, rerr, rcode = chain.recover(opts.out, store)
    if not recovered then
        return nil, rerr, rcode
    end
    local began, berr, bcode = store:begin()
    if not began then
        return nil, berr, bcode
    end
    local now = os.time()
    local report = {}
    local issued = {}
    local roots = nil
    local issuer_changed = false

    for _, name in ipairs(chain.order) do
        local p, f = profiles[name], files[name]
        local by = issued[expected_issuer[name]] or {}
        local issuer_cert, issuer_key = by.cert, by.key
        local existing, why
        if not p then
            goto next
        end
        if not opts.force then
            local lerr, lcode
            existing, lerr, lcode = load_existing(f, ca_keys[name] and opts.passphrase or nil)
            if lcode == "locked" or lcode == "verify" or lcode == "io" then
                -- the key is fine, only locked (no passphrase, or a wrong one)
                -- or unreadable: --force would throw the CA away
                return nil, lerr, lcode
            elseif lerr then
                return nil, ("%s (pass --force to re-create the chain)"):format(lerr), "invalid"
            end
        end
        if leaf[name] then
            -- The intermediate kept may carry other constraints than its
            -- profile: the leaf must fit the certificate that signs it.
            local fits, ferr = chain.check_names(p, issuer_cert)
            if not fits then
                return nil, ferr, "policy"
            end
        end
        local drift
        if existing and leaf[name] then
            why = leaf_change(existing.cert, p, issuer_cert, roots, now)
                or (name == "server" and opts.renew or nil)
        elseif existing then
            -- an intermediate that is due is rolled under the kept root
            -- (chainsmith/rollover.lua); a root is only replaced by --force
            why = name == "intermediate" and not issuer_changed and rollover.due(existing.cert,
                p, roots[1], now, chain.difference, opts.roll_intermediate) or nil
            local keep, kerr = true, nil
            if not why then
                keep, kerr = ca_keepable(existing.cert, p, f, roots, issuer_changed, now)
            end
            if not keep then
                return nil, kerr, "verify"
            end
            drift = kerr -- how the kept CA differs from its profile, or nil
        end

        local key, cert, action, uri
        if existing and not why then
            key, cert, action = existing.key, existing.cert, "kept"
        else
            -- a key re-made stays where the old one was: --hsm, or its token
            local hsm = ca_key.on_token_names[name] and
                (opts.hsm or (existing and existing.token)) or nil
            local third -- the key's URI (nil: a key file), or on failure the code
            key, cert, third = issue(store, p, issuer_cert, issuer_key, hsm)
            if not key then
                return nil, cert, third
            end
            uri = third
            action = why and "re-issued" or "created"
            issuer_changed = issuer_changed or not leaf[name]
        end
        local encrypt = action == "kept" and existing.encrypt or nil
        if encrypt then
            why = "key now encrypted"
        end
        local rolled = action == "re-issued" and existing or nil
        report[#report + 1] = { name = name, key = key, cert = cert, action = action, why = why,
            encrypt = encrypt, uri = uri, drift = drift, profile_file = p.file,
            previous = rolled and rolled.cert or nil,
            -- the replaced key, kept beside intermediate-previous.pem
            previous_key = rolled and { cert = rolled.cert, key = rolled.key,
                uri = rolled.token and ca_key.uri(f) or nil } or nil }
        if name == "root" then
            roots = { cert }
        end
        issued[name] = { cert = cert, key = key }
        ::next::
    end

    -- Each CA's CRL, signed again when the CA is new or the CRL is missing,
    -- foreign or half-way to its nextUpdate; its number drawn in the batch.
    local out = build_files(report, files, opts.force, opts.passphrase)
    local removes = replaced_files(report, files)
    local prev, verr, vcode = previous_for_build(opts, report[2], out, removes, now)
    if prev == nil then
        return nil, verr, vcode
    end
    report.crls = {}
    for i, name in ipairs(crl.names) do
        local r = report[i]
        local why = r.action ~= "kept" and r.action or crl.stale(opts.out, name, r.cert, now)
        -- the previous intermediate's CRL and the intermediate's are signed
        -- together, the previous first: their numbers come from one counter
        -- (one issuer name), and intermediate.crl keeps the last
        if name == "intermediate" and prev then
            why = why or prev.why
            if why then
                local signed, list, scode2 = crl.sign(store, opts.out, previous.name, prev.cert,
                    prev.key, profiles[name].crl_next_update_days)
                if not signed then
                    return nil, list, scode2
                end
                signed.why = prev.why or why
                report.crls[#report.crls + 1] = signed
                table.move(list, 1, #list, #out + 1, out)
            end
        end
        if why then
            local signed, list, scode2 = crl.sign(store, opts.out, name, r.cert, r.key,
                profiles[name].crl_next_update_days)
            if not signed then
                return nil, list, scode2
            end
            signed.why = why
            report.crls[#report.crls + 1] = signed
            table.move(list, 1, #list, #out + 1, out)
        end
    end

    -- Nothing recorded (all kept, no CRL due): ca.db stays as it is, and
    -- what is written (a CA key now encrypted, a chain file edited by hand)
    -- holds what the folder already says, written as one step; with nothing
    -- to write, nothing is touched.
    local recorded = #report.crls > 0 or #removes > 0
    for _, r in ipairs(report) do
        recorded = recorded or r.action ~= "kept"
    end
    if not recorded and #out == 0 then
        return report
    elseif not recorded then
        local wrote, werr, wcode = pki.write_files(out)
        if not wrote then
            return nil, werr, wcode
        end
        return report
    end
    -- Every file under a temporary name in one journal, every record and
    -- CRL number in one commit, then the names: a build stopped anywhere
    -- leaves the old chain or, once the next run finishes it, the new one.
    local journal <close>, jerr, jcode = pki.stage_files(files.pending, store, nil, out,
        removes)
    if not journal then
        return nil, jerr, jcode
    end
    local committed, cerr, ccode = store:commit()
    if not committed then
        return nil, cerr, ccode
    end
    local placed, perr2, pcode = journal:place()
    if not placed then
        return nil, perr2, pcode
    end
    return report
end

return chain
