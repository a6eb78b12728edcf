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

-- ACME (serve.lua --acme, docs/acme.md): what stock ACME clients may get.
-- Each hook sees the ask (a table: docs/acme.md lists its fields) and
-- returns true, or nil and a reason (and optionally an RFC 8555 error type)
-- that the client is shown. Without this table, or for a field it leaves
-- out: orders are issued under the "server" profile when a certificate for
-- their names would be (the issuance rules above for that profile, the
-- intermediate's nameConstraints, allow_wildcard in the profile), with
-- http-01, tls-alpn-01 and dns-01 (wildcards: dns-01 only); any account may
-- register (EAB, when serve.lua requires it, is checked before this); a
-- certificate's owner may revoke it with reasons 0, 1, 3, 4 or 5.
policy.acme = {
    profile = "server",
    -- profile = function(ask)   -- or choose by the identifiers:
    --     return ask.identifiers[1].value:find("%.clients%.internal$") and "client" or "server"
    -- end,
    -- challenges = { "http-01", "dns-01" },
    -- identifier_types = { "dns" },          -- the ACME server takes DNS names only
    -- revoke_reasons = { 0, 1, 3, 4, 5 },
    --
    -- account = function(ask)
    --     for _, c in ipairs(ask.account.contact or {}) do
    --         if c:find("@example%.test$") then
    --             return true
    --         end
    --     end
    --     return nil, "register with a mailto: address at example.test"
    -- end,
    -- order = function(ask, decision)      -- decision = {profile = , challenges = {...}}
    --     if #ask.identifiers > 10 then
    --         return nil, "at most 10 names per order"
    --     end
    --     return true
    -- end,
    -- finalize = function(ask, profile) return true end,
    -- revoke = function(ask) return true end,
}

-- The signing API (serve.lua --api, docs/api.md): what programs holding a
-- client certificate of ours or a token key may get. Without this table,
-- or for a field it leaves out: a caller may name the "server" or "client"
-- profile ("server" when it names none), each CSR passes the issuance rules
-- above for that profile, and a caller may revoke certificates of those
-- profiles (never a CA or the OCSP signer) with reasons 0, 1, 3, 4 or 5.
-- The hooks see the ask (auth = "mtls" or "token", client = the
-- certificate's subject or the token's key id, sub = the token's sub) and
-- return true, or nil and a reason the caller is shown.
policy.api = {
    -- profiles = { "server", "client" },
    -- profile = "server",
    -- revoke_reasons = { 0, 1, 3, 4, 5 },
    -- sign = function(ask, profile)
    --     if ask.auth == "token" and profile ~= "server" then
    --         return nil, "tokens get server certificates only"
    --     end
    --     return true
    -- end,
    -- revoke = function(ask, record) return true end,   -- record = {profile = name}
}

-- Profile rules of your own, beside the ones every profile passes: the
-- keys above ("allowed-key") and the core's lint (docs/lint.md: keyCertSign
-- on a CA, a SAN naming a host on a server, the CN among the SANs, at most
-- 398 days for a TLS server, ...). Each check(profile) returns true, or
-- nil, field, reason; they run in this order.
policy.rules = {
    -- {
    --     name = "short-clients",
    --     check = function(p)
    --         if p.name == "client" and p.validity_days > 90 then
    --             return nil, "validity_days", "clients live 90 days at most"
    --         end
    --         return true
    --     end,
    -- },
}

return engine.new(policy)
