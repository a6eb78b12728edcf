-- The policy engine: how the rules and data of a policy module
-- (scripts/policy.lua, or a file given to issue.lua --policy) are applied.
-- The user edits policy.lua; this file holds the machinery, so an engine
-- fix never touches what users changed (docs/policy.md).
--   * engine.check(policy, profile): the profile rules, before
--     build_chain.lua signs anything.
--   * engine.check_request(policy, request, profile, issuer, config): every
--     request to issue.lua / ca:issue.
-- engine.new(policy) binds these to a policy table as policy.check,
-- policy.check_request, ... (the functions ca.lua and chain.lua call).
-- The core still refuses what breaks RFC 5280, whatever a policy allows.
local acme_policy = require "chainsmith.acme_policy"
local pki = require "pki"
local profile = require "chainsmith.profile"

local engine = {}

local function has(list, value)
    for _, v in ipairs(list or {}) do
        if v == value then
            return true
        end
    end
    return false
end

local function is_ca(p)
    return p.basic_constraints ~= nil and p.basic_constraints.ca == true
end

-- "a, b or c"
local function alternatives(list)
    if #list <= 1 then
        return list[1] or "none"
    end
    return table.concat(list, ", ", 1, #list - 1) .. " or " .. list[#list]
end

-- Whether key {type, curve, bits} is one `allowed` (a table shaped like
-- policy.keys) permits: true, or nil, field, reason.
function engine.key_allowed(k, allowed)
    local entry = allowed[k.type]
    if entry == true then
        return true
    elseif k.type == "ec" and type(entry) == "table" then
        if has(entry, k.curve) then
            return true
        end
        return nil, "key.curve", ("curve %s is not allowed (use %s)")
            :format(tostring(k.curve), alternatives(entry))
    elseif k.type == "rsa" and type(entry) == "table" then
        local bits = k.bits or 3072
        if bits >= (entry.min_bits or 0) and bits <= (entry.max_bits or math.huge) then
            return true
        end
        local range = entry.max_bits and ("%d to %d"):format(entry.min_bits or 0, entry.max_bits)
            or ("at least %d"):format(entry.min_bits or 0)
        return nil, "key.bits", ("RSA %d bits is not allowed (%s)"):format(bits, range)
    end
    local types = {}
    for t in pairs(allowed) do
        types[#types + 1] = t
    end
    table.sort(types)
    return nil, "key.type", ("key type %s is not allowed (%s)")
        :format(tostring(k.type), alternatives(types))
end

-- The core's lint (docs/lint.md), the one source of the RFC 5280 and CA/B
-- rules, on the certificate profile p would make: nil when it passes, or
-- its errors as signing would refuse them ("lint: cabf-leaf-cn-in-san:
-- subject: ... (BR 7.1.4.3); ..."). pki.lint_spec builds that certificate
-- (self-signed, for a key of p.key's shape) and lints it without signing:
-- no key, no signature, nothing stored or written.
function engine.lint(p)
    local findings, err = pki.lint_spec(profile.spec(p), { key_shape = p.key })
    if not findings then
        return err
    end
    local errors = {}
    for _, f in ipairs(findings) do
        if f.level == "error" then
            errors[#errors + 1] = ("%s: %s (%s)"):format(f.rule, f.message, f.source)
        end
    end
    if #errors > 0 then
        return "lint: " .. table.concat(errors, "; ")
    end
    return nil
end

-- The rules every profile passes: the keys policy.keys allows, the
-- policy's own rules (policy.rules), and the core's lint on the
-- certificate the profile would make. Returns true, or nil and one line per
-- violation, each naming the profile and the rule: "profile server: key.curve:
-- curve P-521 is not allowed (use P-256 or P-384) (rule allowed-key)",
-- "profile server: lint: cabf-leaf-validity-398-days: validity: 400 days ...".
function engine.check(policy, p)
    local violations = {}
    local name = p.name or "?"
    local key_ok, field, reason = engine.key_allowed(p.key, policy.keys)
    if not key_ok then
        violations[#violations + 1] = ("profile %s: %s: %s (rule allowed-key)")
            :format(name, field, reason)
    end
    for _, rule in ipairs(policy.rules or {}) do
        local ok
        ok, field, reason = rule.check(p)
        if not ok then
            violations[#violations + 1] = ("profile %s: %s: %s (rule %s)")
                :format(name, field, reason, rule.name)
        end
    end
    local findings = key_ok and engine.lint(p)
    if findings then
        violations[#violations + 1] = ("profile %s: %s"):format(name, findings)
    end
    if #violations > 0 then
        return nil, table.concat(violations, "\n")
    end
    return true
end

-- The kind of name a pattern is about, from its shape.
local function pattern_type(pat)
    if pat:find("://", 1, true) then
        return "uri"
    elseif pat:find("@", 1, true) then
        return "email"
    elseif pat:find(":", 1, true) or pat:match("^[%d%.]+$") or pat:match("^[%d%.]+/%d+$") then
        return "ip"
    end
    return "dns"
end

local function ends_with(s, suffix)
    return #s >= #suffix and s:sub(-#suffix) == suffix
end

local function split_email(v)
    local at = v:match("^.*()@")
    if not at then
        return v, ""
    end
    return v:sub(1, at - 1), v:sub(at + 1):lower()
end

-- Whether a normalized name {type, value} matches a pattern (see
-- docs/policy.md): exact, ".suffix" (anything under), "*.suffix" (exactly
-- one label), CIDR for IPs, "@domain" / "@.domain" for emails, "prefix*"
-- for URIs. Returns a boolean, or nil and why the pattern is bad.
function engine.name_matches(name, pat)
    if pattern_type(pat) ~= name.type then
        return false
    end
    local v = name.value
    if name.type == "dns" then
        -- The pattern's domain in the names' own form (A-labels, lower
        -- case), which also catches a malformed pattern.
        local lead, base = pat:match("^(%*?%.?)(.*)$")
        local norm, err = pki.normalize_name("dns", base)
        if not norm then
            return nil, err
        end
        pat = lead .. norm
        if pat:sub(1, 2) == "*." then
            local head = v:sub(1, #v - #pat + 1)
            return ends_with(v, pat:sub(2)) and #head > 0 and not head:find(".", 1, true)
        elseif pat:sub(1, 1) == "." then
            return #v > #pat and ends_with(v, pat)
        end
        return v == pat
    elseif name.type == "ip" then
        if pat:find("/", 1, true) then
            local inside, err = pki.ip_in_cidr(v, pat)
            if inside == nil then
                return nil, err
            end
            return inside
        end
        local want, err = pki.normalize_name("ip", pat)
        if not want then
            return nil, err
        end
        return v == want
    elseif name.type == "email" then
        local local_part, domain = split_email(v)
        local want_local, want_domain = split_email(pat)
        if want_local == "" then
            if want_domain:sub(1, 1) == "." then
                return ends_with(domain, want_domain)
            end
            return domain == want_domain
        end
        return local_part == want_local and domain == want_domain
    end
    if pat:sub(-1) == "*" then
        return v:sub(1, #pat - 1) == pat:sub(1, -2)
    end
    return v == pat
end

-- Fields an entry of policy.issuance.profiles may have.
local entry_fields = {
    allow = "table", deny = "table", max_validity_days = "number", keys = "table",
    extensions = "string", check = "function",
}

local function check_config(config)
    local ext = config.extensions
    if ext ~= nil and ext ~= "drop" and ext ~= "refuse" then
        return nil, ("policy: extensions: expected \"drop\" or \"refuse\", got %s")
            :format(tostring(ext))
    end
    if config.check ~= nil and type(config.check) ~= "function" then
        return nil, ("policy: check: expected function, got %s"):format(type(config.check))
    end
    for name, entry in pairs(config.profiles or {}) do
        if type(entry) ~= "table" then
            return nil, ("policy: profiles.%s: expected table, got %s"):format(name, type(entry))
        end
        for k, v in pairs(entry) do
            if not entry_fields[k] then
                return nil, ("policy: profiles.%s: unknown field '%s'"):format(name, tostring(k))
            end
            if type(v) ~= entry_fields[k] then
                return nil, ("policy: profiles.%s.%s: expected %s, got %s")
                    :format(name, k, entry_fields[k], type(v))
            end
        end
        for _, list in ipairs { "allow", "deny" } do
            for i, pat in ipairs(entry[list] or {}) do
                if type(pat) ~= "string" then
                    return nil, ("policy: profiles.%s.%s[%d]: expected string, got %s")
                        :format(name, list, i, type(pat))
                end
            end
        end
        ext = entry.extensions
        if ext and ext ~= "drop" and ext ~= "refuse" then
            return nil, ("policy: profiles.%s.extensions: expected \"drop\" or \"refuse\", "
                .. "got \"%s\""):format(name, ext)
        end
    end
    return true
end

local function name_text(n)
    return ("name %s"):format(n.value)
end

-- The first pattern of list a name matches: the pattern, false, or nil and
-- an error for a bad pattern.
local function first_match(name, list)
    for _, pat in ipairs(list or {}) do
        local m, err = engine.name_matches(name, pat)
        if m == nil then
            return nil, ("pattern '%s': %s"):format(pat, err)
        elseif m then
            return pat
        end
    end
    return false
end

-- Requested extensions the profile does not give. subjectAltName is what
-- the names come from; basicConstraints CA:FALSE and key identifiers say
-- nothing the profile does not decide anyway; key usages are fine when the
-- profile gives every one asked for.
local function extra_extensions(request, p)
    local extra = {}
    for _, ext in ipairs(request.requested_extensions or {}) do
        local ok
        if ext == "subjectAltName" or ext == "subjectKeyIdentifier" then
            ok = true
        elseif ext == "basicConstraints" then
            ok = true   -- CA:TRUE has its own rule, no-ca-request
        elseif ext == "keyUsage" or ext == "extendedKeyUsage" then
            local asked = ext == "keyUsage" and request.key_usage or request.extended_key_usage
            local gives = ext == "keyUsage" and p.key_usage or p.extended_key_usage
            ok = true
            local missing = {}
            for _, u in ipairs(asked or {}) do
                if not has(gives, u) then
                    ok = false
                    missing[#missing + 1] = u
                end
            end
            if not ok then
                ext = ("%s (%s)"):format(ext, table.concat(missing, ", "))
            end
        end
        if not ok then
            extra[#extra + 1] = ext
        end
    end
    return extra
end

-- The longest validity a request may have under profile p: the policy's
-- max_validity_days, else the profile's validity_days; and the rule that
-- says so.
function engine.max_validity(policy, p, config)
    config = config or policy.issuance
    local entry = (config.profiles or {})[p.name] or {}
    if entry.max_validity_days then
        return entry.max_validity_days, p.name .. ".max_validity_days"
    end
    return p.validity_days, "profile.validity_days"
end

-- Check a request (docs/policy.md: the request model) against profile p,
-- the issuing CA certificate `issuer` (for its nameConstraints; may be nil)
-- and `config` (default policy.issuance). Every violation is reported, one
-- per line, each naming its rule. Returns {dropped = {extension, ...}}, or
-- nil, message, "policy" (or "invalid" for a broken configuration).
function engine.check_request(policy, request, p, issuer, config)
    config = config or policy.issuance
    local ok, cerr = check_config(config)
    if not ok then
        return nil, cerr, "invalid"
    end
    local entry = (config.profiles or {})[p.name] or {}
    local violations = {}
    local function refuse(what, reason, rule)
        violations[#violations + 1] = ("%s: %s (rule %s)"):format(what, reason, rule)
    end

    -- Only leaves, and only from the issuing CA.
    if is_ca(p) or p.issuer ~= "intermediate" then
        refuse("profile " .. p.name, "not a leaf profile issued by the intermediate; "
            .. "only those are issued from requests", "leaf-profile")
    end
    -- A certificate with OCSPSigning answers for every certificate the
    -- intermediate issued ("good" for a revoked one): only build_chain.lua
    -- and renew.lua make the server's own responder (chain/ocsp.pem).
    if has(p.extended_key_usage, "OCSPSigning") or p.ocsp_no_check then
        refuse("profile " .. p.name, "a delegated OCSP signer (OCSPSigning or ocsp_no_check) "
            .. "can forge status answers; the responder is made by build_chain.lua and "
            .. "renew.lua only", "no-ocsp-signer")
    end
    if request.ca_requested then
        refuse("basicConstraints", "CA:TRUE requested; only leaf certificates are issued",
            "no-ca-request")
    end

    if #(request.names or {}) == 0 then
        refuse("names", "no name to certify", "needs-name")
    end
    for _, n in ipairs(request.names or {}) do
        local what = name_text(n)
        if n.type == "dns" and n.value:find("*", 1, true) then
            if not n.value:match("^%*%.[^*]+%.[^*]+$") then
                refuse(what, "a wildcard must be the whole left-most label, with at least "
                    .. "two labels after it", "wildcard-placement")
            end
            if not p.allow_wildcard then
                refuse(what, ("wildcards are not allowed for profile %s (set allow_wildcard "
                    .. "= true in %s to permit them)"):format(p.name, p.file or "the profile"),
                    "allow-wildcard")
            end
        end
        local denied, derr = first_match(n, entry.deny)
        local allowed, aerr = first_match(n, entry.allow)
        if denied == nil or allowed == nil then
            refuse(what, derr or aerr, p.name .. (denied == nil and ".deny" or ".allow"))
        elseif denied then
            refuse(what, ("denied for profile %s by '%s'"):format(p.name, denied),
                p.name .. ".deny")
        elseif entry.allow and not allowed then
            refuse(what, ("not allowed for profile %s"):format(p.name), p.name .. ".allow")
        end
        if issuer then
            local permitted, perr = issuer:permits(n.type, n.value)
            if not permitted then
                local info = issuer:info()
                local against = require("chainsmith.refusal").against(n.type,
                    info.name_constraints)
                refuse(what, perr or ("outside the nameConstraints of %s%s")
                    :format(info.subject_line, against and ": " .. against or ""),
                    "name-constraints")
            end
        end
    end

    local max, max_rule = engine.max_validity(policy, p, config)
    local days = request.validity_days
    if math.type(days) ~= "integer" or days < 1 then
        refuse("validity_days", ("expected a whole number of days >= 1, got %s")
            :format(tostring(days)), "validity")
    elseif days > max then
        refuse("validity_days", ("%d days is more than the %d allowed for profile %s")
            :format(days, max, p.name), max_rule)
    end

    if request.key then
        local kok, kfield, kwhy = engine.key_allowed(request.key, policy.keys)
        if not kok then
            refuse(kfield, kwhy, "allowed-key")
        elseif entry.keys then
            kok, kfield, kwhy = engine.key_allowed(request.key, entry.keys)
            if not kok then
                refuse(kfield, kwhy, p.name .. ".keys")
            end
        end
    end

    local dropped = {}
    local extra = extra_extensions(request, p)
    if #extra > 0 then
        local mode = entry.extensions or config.extensions or "drop"
        if mode == "refuse" then
            refuse("extensions", ("%s requested, not given by profile %s")
                :format(table.concat(extra, ", "), p.name),
                entry.extensions and (p.name .. ".extensions") or "extensions")
        else
            dropped = extra
        end
    end

    for _, hook in ipairs { { config.check, "check" }, { entry.check, p.name .. ".check" } } do
        local f, rule = hook[1], hook[2]
        if f then
            local called, hok, why = pcall(f, request, p)
            if not called then
                refuse("check", ("the hook failed: %s"):format(tostring(hok)), rule)
            elseif not hok then
                refuse("check", tostring(why or "refused"), rule)
            end
        end
    end

    if #violations > 0 then
        return nil, table.concat(violations, "\n"), "policy"
    end
    return { dropped = dropped }
end

-- Give the data table `policy` (keys, issuance, rules, acme) the functions
-- its callers use: policy.check(profile), policy.check_request(request,
-- profile, issuer, config), policy.max_validity(profile, config),
-- policy.key_allowed(key, allowed), policy.name_matches(name, pattern), and
-- the ACME decisions policy.acme_account(ask), policy.acme_order(ask, ctx),
-- policy.acme_finalize(ask), policy.acme_revoke(ask).
-- A function the table already has is kept. Returns policy.
function engine.new(policy)
    local bound = {
        check = function(p) return engine.check(policy, p) end,
        check_request = function(request, p, issuer, config)
            return engine.check_request(policy, request, p, issuer, config)
        end,
        max_validity = function(p, config) return engine.max_validity(policy, p, config) end,
        key_allowed = engine.key_allowed,
        name_matches = engine.name_matches,
        -- the ACME decisions (chainsmith/acme_policy.lua, docs/acme.md)
        acme_account = function(ask) return acme_policy.account(policy, ask) end,
        acme_order = function(ask, ctx) return acme_policy.order(policy, ask, ctx) end,
        acme_finalize = function(ask) return acme_policy.finalize(policy, ask) end,
        acme_revoke = function(ask) return acme_policy.revoke(policy, ask) end,
    }
    for name, f in pairs(bound) do
        if policy[name] == nil then
            policy[name] = f
        end
    end
    return policy
end

-- Load a policy file (issue.lua --policy FILE: the user's own code, as
-- trusted as scripts/policy.lua): the policy module it returns, or nil and
-- a message. A table of data alone gets the engine when the CA opens.
function engine.load(path)
    local text, rerr = pki.read_file(path)
    if not text then
        return nil, rerr
    end
    local chunk, err = load((text:gsub("^#[^\n]*", "", 1)), "@" .. path, "t")
    if not chunk then
        return nil, err
    end
    local ok, pol = pcall(chunk)
    if not ok then
        return nil, tostring(pol)
    end
    if type(pol) ~= "table" or (pol.check_request == nil and type(pol.keys) ~= "table") then
        return nil, ("%s: must return a policy module (see scripts/policy.lua)"):format(path)
    end
    return pol
end

return engine
