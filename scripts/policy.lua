-- What may be issued at all. Two parts:
--   * profile rules: every profile passes policy.check(profile) before
--     build_chain.lua signs anything; each rule(profile) returns true, or
--     nil, field, reason.
--   * issuance rules: every request to issue.lua / ca:issue passes
--     policy.check_request(request, profile, issuer) first: names allowed and
--     denied per profile, maximum validity, key types, a hook. Edit
--     policy.issuance below (docs/policy.md has the request model).
-- The core still refuses what breaks RFC 5280, whatever this file allows.
local engine = require "chainsmith.policy_engine"
local has, is_ca = engine.has, engine.is_ca

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

-- Ordered, so reports read the same every time.
policy.rules = {
    {
        name = "allowed-key",
        check = function(p)
            return engine.key_allowed(p.key, policy.keys)
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

return engine.new(policy)
