-- The ACME decisions (docs/acme.md): what serve.lua --acme answers when
-- the ACME server (core/acme.c) asks the Lua side whether an account may
-- be made, an order taken, a CSR issued or a certificate revoked. Plain
-- functions of the policy (scripts/policy.lua's `acme` table, with the
-- defaults below), the ask (a table, as acme:next gives it) and the CA's
-- profiles and issuing certificate: no server is needed to run them.
--
-- Each returns its answer, or nil, an RFC 8555 error type (without the
-- "urn:ietf:params:acme:error:" prefix) and words for the client.
-- policy_engine.new binds them to a policy as policy.acme_account,
-- policy.acme_order, policy.acme_finalize and policy.acme_revoke.
local pki = require "pki"

local acme_policy = {}

-- The settings policy.acme may give, with what each is when it does not.
acme_policy.defaults = {
    -- The profile orders are issued under: a name, or function(ask)
    -- returning one (or nil, reason to refuse the order).
    profile = "server",
    -- The challenge types offered (core offers wildcards dns-01 only).
    challenges = { "http-01", "tls-alpn-01", "dns-01" },
    -- The identifier types taken. The ACME server takes DNS names only
    -- today (docs/acme-protocol.md); "ip" (RFC 8738) is decided here should
    -- it take them.
    identifier_types = { "dns" },
    -- The revocation reasons a subscriber may give (RFC 5280 codes), as
    -- Let's Encrypt takes them: unspecified, keyCompromise,
    -- affiliationChanged, superseded, cessationOfOperation.
    revoke_reasons = { 0, 1, 3, 4, 5 },
}

-- The fields policy.acme may have and their types.
local fields = {
    profile = { string = true, ["function"] = true },
    challenges = { table = true },
    identifier_types = { table = true },
    revoke_reasons = { table = true },
    account = { ["function"] = true },
    order = { ["function"] = true },
    finalize = { ["function"] = true },
    revoke = { ["function"] = true },
}

local known_challenges = { ["http-01"] = true, ["tls-alpn-01"] = true, ["dns-01"] = true }

local function has(list, value)
    for _, v in ipairs(list or {}) do
        if v == value then
            return true
        end
    end
    return false
end

-- policy.acme with the defaults filled in: the settings table, or nil and
-- what is wrong with it (a typo must not pass silently).
function acme_policy.settings(policy)
    local given = policy.acme or {}
    if type(given) ~= "table" then
        return nil, ("policy: acme: expected table, got %s"):format(type(given))
    end
    local s = {}
    for k, v in pairs(given) do
        if not fields[k] then
            return nil, ("policy: acme: unknown field '%s'"):format(tostring(k))
        end
        if not fields[k][type(v)] then
            return nil, ("policy: acme.%s: expected %s, got %s"):format(k,
                next(fields[k]) == "function" and "function" or next(fields[k]), type(v))
        end
        s[k] = v
    end
    for k, v in pairs(acme_policy.defaults) do
        if s[k] == nil then
            s[k] = v
        end
    end
    for i, c in ipairs(s.challenges) do
        if not known_challenges[c] then
            return nil, ("policy: acme.challenges[%d]: unknown challenge type '%s' (http-01, "
                .. "tls-alpn-01 or dns-01)"):format(i, tostring(c))
        end
    end
    return s
end

-- Run a hook of the user's: what it returned, or a refusal when it raised
-- (the error goes to the server's log through `problem`, not to the client).
local function call_hook(f, ...)
    local r = table.pack(pcall(f, ...))
    if not r[1] then
        return false, "serverInternal", "the policy could not decide (see the server's log)",
            ("policy hook failed: %s"):format(tostring(r[2]))
    end
    return true, table.unpack(r, 2, r.n)
end

-- A hook's refusal as an answer: nil, type, detail. The hook returns
-- nil, reason [, type]; default_type is the RFC 8555 type of that step.
local function refused(default_type, why, kind)
    return nil, kind or default_type, tostring(why or "refused by policy")
end

-- New account (after core checked the JWS, and EAB when required):
-- policy.acme.account(ask) may refuse. Returns true, or nil, type, detail,
-- [log line].
function acme_policy.account(policy, ask)
    local s, serr = acme_policy.settings(policy)
    if not s then
        return nil, "serverInternal", "the ACME policy is broken (see the server's log)", serr
    end
    if s.account then
        local called, ok, why, kind = call_hook(s.account, ask)
        if not called then
            return nil, ok, why, kind
        end
        if not ok then
            return refused("unauthorized", why, kind)
        end
    end
    return true
end

-- The identifiers of an order as request names (normalized: A-labels, lower
-- case, canonical IPs), or nil, type, detail for one core should not have
-- passed or the policy does not take.
local function order_names(ask, s)
    local names, bad = {}, {}
    for _, id in ipairs(ask.identifiers or {}) do
        if not has(s.identifier_types, id.type) then
            return nil, "unsupportedIdentifier", ("identifier type '%s' is not supported here "
                .. "(%s)"):format(tostring(id.type), table.concat(s.identifier_types, ", "))
        end
        local norm, err = pki.normalize_name(id.type, id.value, { wildcard = id.type == "dns" })
        if not norm then
            bad[#bad + 1] = ("%s %s: %s"):format(id.type, pki.escape(tostring(id.value)), err)
        else
            names[#names + 1] = { type = id.type, value = norm }
        end
    end
    if #bad > 0 then
        return nil, "rejectedIdentifier", table.concat(bad, "; ")
    end
    if #names == 0 then
        return nil, "malformed", "the order names no identifier"
    end
    return names
end

-- The profile an order is issued under: policy.acme.profile, a name or a
-- function of the ask. Returns the name, or nil, type, detail.
local function order_profile(s, ask)
    if type(s.profile) == "string" then
        return s.profile
    end
    local called, name, why, kind = call_hook(s.profile, ask)
    if not called then
        return nil, name, why, kind
    end
    if type(name) ~= "string" then
        return refused("rejectedIdentifier", why or "no profile for these identifiers", kind)
    end
    return name
end

-- New order: which profile, which challenge types, or a refusal
-- (rejectedIdentifier naming each rule broken). ctx = {load_profile =
-- function(name) -> profile table or nil, message; issuer = the issuing
-- CA's pki.cert (its nameConstraints); config = the issuance table}.
-- By default an order passes when a certificate for its names would:
-- policy.check_request on the profile, with its allow/deny lists, the
-- intermediate's nameConstraints and allow_wildcard (docs/acme.md).
-- Returns {profile = name, challenges = {...}}, or nil, type, detail, [log].
function acme_policy.order(policy, ask, ctx)
    local s, serr = acme_policy.settings(policy)
    if not s then
        return nil, "serverInternal", "the ACME policy is broken (see the server's log)", serr
    end
    local names, ntype, ndetail = order_names(ask, s)
    if not names then
        return nil, ntype, ndetail
    end
    local pname, ptype, pdetail, plog = order_profile(s, ask)
    if not pname then
        return nil, ptype, pdetail, plog
    end
    local p, lerr = ctx.load_profile(pname)
    if not p then
        return nil, "serverInternal", ("profile %s cannot be used (see the server's log)")
            :format(pname), ("profile %s: %s"):format(pname, lerr)
    end
    local challenges = { table.unpack(s.challenges) }
    local wildcard = false
    for _, n in ipairs(names) do
        wildcard = wildcard or n.value:sub(1, 2) == "*."
    end
    -- RFC 8555 7.1.3: a wildcard is proven by dns-01 alone
    if wildcard and not has(challenges, "dns-01") then
        return nil, "rejectedIdentifier", "wildcard names need the dns-01 challenge, which the "
            .. "policy does not offer (policy.acme.challenges)"
    end
    local request = {
        profile = p.name,
        names = names,
        validity_days = math.min(p.validity_days, (policy.max_validity(p, ctx.config))),
        ca_requested = false,
        requested_extensions = {},
        csr = true,
        acme = true,
    }
    local ok, why, code = policy.check_request(request, p, ctx.issuer, ctx.config)
    if not ok then
        if code ~= "policy" then
            return nil, "serverInternal", "the policy could not decide (see the server's log)",
                why
        end
        return nil, "rejectedIdentifier", why:gsub("\n", "; ")
    end
    local decision = { profile = p.name, challenges = challenges }
    if s.order then
        local called, hok, hwhy, kind = call_hook(s.order, ask, decision)
        if not called then
            return nil, hok, hwhy, kind
        end
        if not hok then
            return refused("rejectedIdentifier", hwhy, kind)
        end
        for i, c in ipairs(decision.challenges) do
            if not known_challenges[c] then
                return nil, "serverInternal", "the policy could not decide (see the server's log)",
                    ("policy.acme.order: challenges[%d]: unknown type '%s'"):format(i, tostring(c))
            end
        end
        if #decision.challenges == 0 then
            return nil, "rejectedIdentifier", "no challenge type is allowed for these identifiers"
        end
        if decision.profile ~= p.name then
            -- the hook chose another profile: its names are checked by it at
            -- finalize (ca:issue), and it must exist now
            local other, oerr = ctx.load_profile(decision.profile)
            if not other then
                return nil, "serverInternal", "the policy could not decide (see the server's log)",
                    ("policy.acme.order chose profile %s: %s"):format(tostring(decision.profile),
                        oerr)
            end
        end
    end
    return decision
end

-- Finalize (core checked the CSR parses, its signature, that it names
-- exactly the order's identifiers and that its key is not the account's):
-- the profile to issue under (the order's), after policy.acme.finalize(ask,
-- profile) agreed. Issuing itself (ca:issue: the CSR checks, policy and
-- nameConstraints again) is acme_service's. Returns the profile name, or
-- nil, "badCSR" (or the hook's type), detail, [log].
function acme_policy.finalize(policy, ask)
    local s, serr = acme_policy.settings(policy)
    if not s then
        return nil, "serverInternal", "the ACME policy is broken (see the server's log)", serr
    end
    local pname = ask.profile
    if type(pname) ~= "string" or pname == "" then
        local ptype, pdetail, plog
        pname, ptype, pdetail, plog = order_profile(s, ask)
        if not pname then
            return nil, ptype, pdetail, plog
        end
    end
    if s.finalize then
        local called, ok, why, kind = call_hook(s.finalize, ask, pname)
        if not called then
            return nil, ok, why, kind
        end
        if not ok then
            return refused("badCSR", why, kind)
        end
    end
    return pname
end

-- Revocation (core checked the requester may revoke it: the account that
-- ordered it, or a JWS signed by the certificate's key): the reason's name
-- for ca:revoke, after policy.acme.revoke(ask) agreed. Returns the name, or
-- nil, "badRevocationReason" (or the hook's type), detail, [log].
function acme_policy.revoke(policy, ask)
    local s, serr = acme_policy.settings(policy)
    if not s then
        return nil, "serverInternal", "the ACME policy is broken (see the server's log)", serr
    end
    local code = ask.reason or 0
    local name = math.type(code) == "integer" and has(s.revoke_reasons, code)
        and acme_policy.reason_name(code)
    if not name then
        local allowed = {}
        for _, c in ipairs(s.revoke_reasons) do
            allowed[#allowed + 1] = ("%d (%s)"):format(c, acme_policy.reason_name(c) or "?")
        end
        return nil, "badRevocationReason", ("reason %s is not accepted here; use one of: %s")
            :format(tostring(code), table.concat(allowed, ", "))
    end
    if s.revoke then
        local called, ok, why, kind = call_hook(s.revoke, ask)
        if not called then
            return nil, ok, why, kind
        end
        if not ok then
            return refused("unauthorized", why, kind)
        end
    end
    return name
end

-- RFC 5280 5.3.1 reason codes and the names ca:revoke takes (nil for the
-- codes chainsmith does not revoke with: 6 certificateHold, 7 unused, 8
-- removeFromCRL).
local reason_names = {
    [0] = "unspecified", [1] = "keyCompromise", [2] = "cACompromise",
    [3] = "affiliationChanged", [4] = "superseded", [5] = "cessationOfOperation",
    [9] = "privilegeWithdrawn", [10] = "aACompromise",
}

function acme_policy.reason_name(code)
    local name = reason_names[code]
    if name and has(pki.crl_reasons(), name) then
        return name
    end
    return nil
end

return acme_policy
