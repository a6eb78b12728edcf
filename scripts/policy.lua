-- What may be issued at all. Two parts:
--   * profile rules: every profile passes policy.check(profile) before
--     build_chain.lua signs anything; each rule(profile) returns true, or
--     nil, field, reason.
--   * issuance rules: every request to issue.lua / ca:issue passes
--     policy.check_request(request, profile, issuer) first: names allowed and
--     denied per profile, maximum validity, key types, a hook. Edit
--     policy.issuance below (docs/policy.md has the request model).
-- The core still refuses what breaks RFC 5280, whatever this file allows.
local pki = require "pki"

local policy = {}

-- Keys allowed anywhere: in the profiles and in the requests (CSRs) signed.
-- A profile's issuance entry may narrow this further (`keys = {...}`).
policy.keys = {
    ec = { "P-256", "P-384" },      -- the two curves every client supports
    ed25519 = true,
    rsa = { min_bits = 2048, max_bits = 4096 },
}

-- What issue.lua and ca:issue may sign, per profile. With no entry for a
-- profile, any name inside the issuing CA's nameConstraints is allowed, for
-- at most the profile's validity_days.
policy.issuance = {
    -- A requested extension the profile does not give: "drop" it (listed
    -- in the result) or "refuse" the request.
    extensions = "drop",
    profiles = {
        -- Examples (uncomment to use; the intermediate's nameConstraints
        -- must permit these names too):
        --
        -- Servers: only one label under svc.internal, and the 10/8 network.
        -- server = {
        --     allow = { "*.svc.internal", "10.0.0.0/8" },
        --     max_validity_days = 30,
        -- },
        --
        -- Clients: hosts under clients.internal and mailboxes at
        -- example.test, a week at most, EC P-256 or Ed25519 keys only.
        -- client = {
        --     allow = { ".clients.internal", "@example.test" },
        --     deny = { "admin.clients.internal" },
        --     max_validity_days = 7,
        --     keys = { ec = { "P-256" }, ed25519 = true },
        --     check = function(request)
        --         if not request.csr then
        --             return nil, "clients send a CSR; their keys never leave them"
        --         end
        --         return true
        --     end,
        -- },
    },
    -- A hook for every request: return true, or nil and a reason.
    check = function(_request, _profile)
        return true
    end,
}

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
function policy.key_allowed(k, allowed)
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

-- Ordered, so reports read the same every time.
policy.rules = {
    {
        name = "allowed-key",
        check = function(p)
            return policy.key_allowed(p.key, policy.keys)
        end,
    },
    {
        name = "leaf-max-validity",
        -- CA/Browser Forum: a TLS leaf lives at most 398 days.
        check = function(p)
            if not is_ca(p) and p.validity_days > 398 then
                return nil, "validity_days",
                    ("%d days is more than the 398 allowed for a leaf"):format(p.validity_days)
            end
            return true
        end,
    },
    {
        name = "ca-key-cert-sign",
        check = function(p)
            if is_ca(p) and not has(p.key_usage, "keyCertSign") then
                return nil, "key_usage", "a CA certificate needs keyCertSign"
            end
            return true
        end,
    },
    {
        name = "server-needs-san",
        check = function(p)
            local san = p.subject_alt_name
            local names = san and (#(san.dns or {}) + #(san.ip or {})) or 0
            if has(p.extended_key_usage, "serverAuth") and names == 0 then
                return nil, "subject_alt_name", "a server certificate needs a DNS or IP name"
            end
            return true
        end,
    },
    {
        name = "leaf-cn-in-san",
        -- Clients ignore the CN; it must not say something the SAN does not.
        -- A delegated OCSP responder (OCSPSigning alone) has no SAN: clients
        -- find it by its key (BR 7.1.2.8), and its CN names no host.
        check = function(p)
            local eku = p.extended_key_usage or {}
            if is_ca(p) or (#eku == 1 and eku[1] == "OCSPSigning") then
                return true
            end
            local san = p.subject_alt_name or {}
            for _, rdn in ipairs(p.subject) do
                if rdn[1] == "CN" and not has(san.dns, rdn[2]) and not has(san.ip, rdn[2])
                    and not has(san.email, rdn[2]) then
                    return nil, "subject", ("CN %s is not in subject_alt_name"):format(rdn[2])
                end
            end
            return true
        end,
    },
}

-- Run every rule. Returns true, or nil and one line per violation:
-- "profile server: validity_days: 400 days is ... (rule leaf-max-validity)".
function policy.check(p)
    local violations = {}
    for _, rule in ipairs(policy.rules) do
        local ok, field, reason = rule.check(p)
        if not ok then
            violations[#violations + 1] = ("profile %s: %s: %s (rule %s)")
                :format(p.name or "?", field, reason, rule.name)
        end
    end
    if #violations > 0 then
        return nil, table.concat(violations, "\n")
    end
    return true
end

-- ---- issuance -------------------------------------------------------------

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
function policy.name_matches(name, pat)
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
        local m, err = policy.name_matches(name, pat)
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
function policy.max_validity(p, config)
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
function policy.check_request(request, p, issuer, config)
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

    local max, max_rule = policy.max_validity(p, config)
    local days = request.validity_days
    if math.type(days) ~= "integer" or days < 1 then
        refuse("validity_days", ("expected a whole number of days >= 1, got %s")
            :format(tostring(days)), "validity")
    elseif days > max then
        refuse("validity_days", ("%d days is more than the %d allowed for profile %s")
            :format(days, max, p.name), max_rule)
    end

    if request.key then
        local kok, kfield, kwhy = policy.key_allowed(request.key, policy.keys)
        if not kok then
            refuse(kfield, kwhy, "allowed-key")
        elseif entry.keys then
            kok, kfield, kwhy = policy.key_allowed(request.key, entry.keys)
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

return policy
