-- What may be issued at all. Every profile passes through check() before
-- anything is signed; each rule(profile) returns true, or nil, field, reason.
-- Edit or add rules here; the core still refuses what breaks RFC 5280.

local policy = {}

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

-- Ordered, so reports read the same every time.
policy.rules = {
    {
        name = "allowed-key",
        -- EC on the two curves every client supports, Ed25519, RSA 2048-4096.
        check = function(p)
            local k = p.key
            if k.type == "ec" then
                if k.curve == "P-256" or k.curve == "P-384" then
                    return true
                end
                return nil, "key.curve", ("curve %s is not allowed (use P-256 or P-384)")
                    :format(tostring(k.curve))
            elseif k.type == "rsa" then
                local bits = k.bits or 3072
                if bits >= 2048 and bits <= 4096 then
                    return true
                end
                return nil, "key.bits", ("RSA %d bits is not allowed (2048 to 4096)"):format(bits)
            elseif k.type == "ed25519" then
                return true
            end
            return nil, "key.type", ("key type %s is not allowed (ec, ed25519 or rsa)")
                :format(tostring(k.type))
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
        check = function(p)
            if is_ca(p) then
                return true
            end
            local san = p.subject_alt_name or {}
            for _, rdn in ipairs(p.subject) do
                if rdn[1] == "CN" and not has(san.dns, rdn[2]) and not has(san.ip, rdn[2]) then
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

return policy
