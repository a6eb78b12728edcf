-- serve.lua's signing API (docs/api.md): the handler runs in core
-- (pki.signapi, mounted at /api/v1 by the HTTPS server) and asks the Lua
-- main loop for each sign and revoke decision. Worker threads never run
-- Lua: core puts an "ask" on a queue, the serve loop takes it (api:next),
-- decides with the policy (chainsmith/api_policy.lua, policy.api) and the
-- CA (chainsmith/ca.lua: ca:issue, ca:revoke), and answers (api:answer).
--
--   local svc = assert(api_service.open{chain = "chain", base_url = ..., mtls = true,
--                                       token_keys = {kid = PEM}})
--   pki.start_server{ ..., api = svc.api }
--   while true do svc:step(100) ... end
local pki = require "pki"
local ask_queue = require "chainsmith.ask_queue"
local api_policy = require "chainsmith.api_policy"

local service = {}

-- ca:issue's failure codes that are the server's trouble, not the CSR's.
local ours = { db = true, io = true, nomem = true, exists = true, notfound = true,
    server = true, locked = true }

local function refusal(word, detail)
    return { ok = false, error = word, detail = detail }
end

local Service = {}
Service.__index = Service

function Service:sign(ask)
    local name, word, detail, log = api_policy.sign(self.ca.policy, ask)
    if not name then
        return refusal(word, detail), log
    end
    local r, err, code = self.ca:issue { profile = name, csr = ask.csr }
    if not r then
        if not ours[code] then
            return refusal("badCSR", (err:gsub("\n", "; ")))
        end
        return refusal("internal", "the certificate could not be issued (see the server's "
            .. "log)"), ("api: sign for %s: %s (%s)"):format(api_policy.caller(ask), err,
            tostring(code))
    end
    local pem = {}
    for _, cert in ipairs(r.chain) do
        pem[#pem + 1] = cert:pem()
    end
    return { ok = true, chain = table.concat(pem), serial = r.serial, profile = name }
end

function Service:revoke(ask)
    local _, profile_name = self.ca.store:find(ask.serial)
    local reason, word, detail, log = api_policy.revoke(self.ca.policy, ask,
        { profile = profile_name })
    if not reason then
        return refusal(word, detail), log
    end
    local r, err, code = self.ca:revoke { serial = ask.serial, reason = reason }
    if not r then
        if code == "exists" or code == "notfound" then
            return refusal("rejected", err)
        end
        return refusal("internal", "the certificate could not be revoked (see the server's "
            .. "log)"), ("api: revoke %s: %s (%s)"):format(ask.serial, err, tostring(code))
    end
    if self.on_revoked then
        local ok, why = pcall(self.on_revoked, r)
        if not ok then
            log = ("api: revoked %s, but serving the new CRL failed: %s"):format(r.serial, why)
        end
    end
    return { ok = true, revoked = r }, log
end

-- The answer to ask, and a line for the log when something on our side
-- went wrong. Never raises: a bug in a decision becomes "internal", so a
-- request is never left waiting.
function Service:decide(ask)
    local f = (ask.kind == "sign" and Service.sign) or (ask.kind == "revoke" and Service.revoke)
    if not f then
        return refusal("internal", "unknown request"),
            ("api: unknown ask kind %s"):format(tostring(ask.kind))
    end
    local ok, answer, log = pcall(f, self, ask)
    if not ok then
        return refusal("internal", "the request could not be decided (see the server's log)"),
            ("api: %s: %s"):format(ask.kind, tostring(answer))
    end
    return answer, log
end

-- One line saying what was decided (no secrets: asks carry none).
function service.describe(ask, answer)
    local who = api_policy.caller(ask)
    if not answer.ok then
        return ("api: %s by %s: refused, %s: %s"):format(ask.kind, who, answer.error,
            answer.detail)
    elseif ask.kind == "sign" then
        return ("api: sign by %s: issued serial %s (profile %s)"):format(who, answer.serial,
            answer.profile)
    end
    return ("api: revoke by %s: revoked %s (%s)"):format(who, ask.serial,
        answer.revoked.reason)
end

-- Open the API side of serve.lua: the CA in opts.chain (opts.profiles,
-- opts.passphrase, opts.policy as chainsmith.ca takes them) and pki.signapi
-- over its ca.db. opts.base_url: the external URL tokens name; opts.mtls:
-- client certificates authenticate; opts.token_keys: {kid = PEM};
-- opts.on_revoked(result), opts.log(line) as for the ACME service. Returns
-- the service ({api = pki.signapi, ...}) or nil, message.
function service.open(opts)
    local ca, err = require("chainsmith.ca").open { dir = opts.chain, profiles = opts.profiles,
        passphrase = opts.passphrase, policy = opts.policy }
    if not ca then
        return nil, err
    end
    local db, dberr = require("chainsmith.layout").sqlite_only(ca.files, "the signing API")
    if not db then
        ca:close()
        return nil, dberr
    end
    local s, serr = api_policy.settings(ca.policy)
    if not s then
        ca:close()
        return nil, serr
    end
    local api, aerr = pki.signapi {
        db = db,
        base_url = opts.base_url,
        mtls = opts.mtls,
        token_keys = opts.token_keys,
    }
    if not api then
        ca:close()
        return nil, aerr
    end
    return setmetatable({ api = api, ca = ca, base_url = opts.base_url, settings = s,
        log = opts.log or function() end, on_revoked = opts.on_revoked }, Service)
end

-- Take the next ask (waiting at most timeout_ms), decide and answer it.
-- Returns true when one was answered, false when none came, nil once the
-- queue is closed.
function Service:step(timeout_ms)
    local ask, none = ask_queue.take(self.api, timeout_ms)
    if not ask then
        return none
    end
    local answer, problem = self:decide(ask)
    if problem then
        self.log(problem)
    end
    local sent, serr = self.api:answer(ask.id, { ok = answer.ok, error = answer.error,
        detail = answer.detail, chain = answer.chain, serial = answer.serial })
    if not sent then
        self.log(("api: ask %s (%s): the answer was not taken: %s"):format(tostring(ask.id),
            tostring(ask.kind), serr))
    end
    self.log(service.describe(ask, answer))
    return true
end

function Service:close()
    ask_queue.close(self, "api")
end

return service
