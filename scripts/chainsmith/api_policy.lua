-- The signing API's decisions (docs/api.md): what serve.lua --api answers
-- when core/signapi.c asks whether a caller may have a CSR signed under a
-- profile, or a certificate revoked. Plain functions of the policy
-- (scripts/policy.lua's `api` table, with the defaults below) and the ask
-- (a table, as api:next gives it): no server is needed to run them.
--
-- Each returns its answer, or nil, an error word for the caller
-- ("rejected", "badProfile", "forbidden") and words saying why.
local acme_policy = require "chainsmith.acme_policy"

local api_policy = {}

-- What policy.api may give, with what each is when it does not.
api_policy.defaults = {
    -- The profiles a caller may name; a request naming another is refused.
    profiles = { "server", "client" },
    -- The profile of a request that names none.
    profile = "server",
    -- The revocation reasons a caller may give (RFC 5280 codes).
    revoke_reasons = { 0, 1, 3, 4, 5 },
}

local fields = {
    profiles = "table",
    profile = "string",
    revoke_reasons = "table",
    sign = "function",
    revoke = "function",
}

local function has(list, value)
    for _, v in ipairs(list or {}) do
        if v == value then
            return true
        end
    end
    return false
end

-- policy.api with the defaults filled in, or nil and what is wrong with it
-- (a typo must not pass silently).
function api_policy.settings(policy)
    local given = policy.api or {}
    if type(given) ~= "table" then
        return nil, ("policy: api: expected table, got %s"):format(type(given))
    end
    local s = {}
    for k, v in pairs(given) do
        if not fields[k] then
            return nil, ("policy: api: unknown field '%s'"):format(tostring(k))
        end
        if type(v) ~= fields[k] then
            return nil, ("policy: api.%s: expected %s, got %s"):format(k, fields[k], type(v))
        end
        s[k] = v
    end
    for k, v in pairs(api_policy.defaults) do
        if s[k] == nil then
            s[k] = v
        end
    end
    for i, p in ipairs(s.profiles) do
        if type(p) ~= "string" then
            return nil, ("policy: api.profiles[%d]: expected string, got %s"):format(i, type(p))
        end
    end
    return s
end

-- Who asks, in words for the log and for hooks: "client certificate CN=robot
-- (serial 3F...)" or "token robot-1 (sub deploy-bot)".
function api_policy.caller(ask)
    if ask.auth == "mtls" then
        return ("client certificate %s (serial %s)"):format(tostring(ask.client),
            tostring(ask.client_serial))
    end
    return ("token %s%s"):format(tostring(ask.client),
        ask.sub and (" (sub %s)"):format(ask.sub) or "")
end

-- Run a hook of the user's: its results, or a refusal when it raised (the
-- error goes to the server's log, not to the caller).
local function call_hook(f, ...)
    local r = table.pack(pcall(f, ...))
    if not r[1] then
        return false, ("policy hook failed: %s"):format(tostring(r[2]))
    end
    return true, table.unpack(r, 2, r.n)
end

-- The profile to sign ask under: a name, or nil, error, detail [, log].
function api_policy.sign(policy, ask)
    local s, serr = api_policy.settings(policy)
    if not s then
        return nil, "internal", "the API policy is broken (see the server's log)", serr
    end
    local name = ask.profile or s.profile
    if not has(s.profiles, name) then
        return nil, "badProfile", ("profile %s is not open to API callers (policy.api.profiles: "
            .. "%s)"):format(name, table.concat(s.profiles, ", "))
    end
    if s.sign then
        local called, ok, why, word = call_hook(s.sign, ask, name)
        if not called then
            return nil, "internal", "the policy could not decide (see the server's log)", ok
        end
        if not ok then
            return nil, word or "rejected", tostring(why or "refused by policy")
        end
    end
    return name
end

-- May ask revoke the certificate whose record is {profile = name}? The
-- reason's name (as ca:revoke takes it), or nil, error, detail [, log]. Only certificates of the
-- profiles API callers may get: never a CA or the OCSP signer.
function api_policy.revoke(policy, ask, record)
    local s, serr = api_policy.settings(policy)
    if not s then
        return nil, "internal", "the API policy is broken (see the server's log)", serr
    end
    if not has(s.profiles, record.profile) then
        return nil, "forbidden", ("certificate %s is of profile %s, not one API callers may "
            .. "revoke (policy.api.profiles: %s)"):format(ask.serial, tostring(record.profile),
            table.concat(s.profiles, ", "))
    end
    if not has(s.revoke_reasons, ask.reason) then
        return nil, "rejected", ("reason %s is not one API callers may give")
            :format(tostring(ask.reason))
    end
    if s.revoke then
        local called, ok, why, word = call_hook(s.revoke, ask, record)
        if not called then
            return nil, "internal", "the policy could not decide (see the server's log)", ok
        end
        if not ok then
            return nil, word or "rejected", tostring(why or "refused by policy")
        end
    end
    local name = acme_policy.reason_name(ask.reason)
    if not name then
        return nil, "rejected", ("reason %s is not one chainsmith revokes with")
            :format(tostring(ask.reason))
    end
    return name
end

return api_policy
