-- serve.lua's ACME side (docs/acme.md): the ACME server core runs
-- (pki.acme, mounted at /acme by the HTTPS server) and the decisions it asks
-- the Lua main loop for. Worker threads never run Lua: core puts an "ask"
-- on a queue, the serve loop takes it (acme:next), decides with the policy
-- (chainsmith/acme_policy.lua through policy.lua) and the CA
-- (chainsmith/ca.lua: ca:issue, ca:revoke), and answers (acme:answer).
--
--   local svc = assert(acme_service.open{chain = "chain", settings = ..., base_url = ...})
--   pki.start_server{ ..., acme = svc.acme }
--   while true do svc:step(100) ... end
local lfs = require "lfs"
local pki = require "pki"
local ask_queue = require "chainsmith.ask_queue"
local ca_mod = require "chainsmith.ca"
local layout = require "chainsmith.layout"
local profile = require "chainsmith.profile"

local service = {}

local Decider = {}
Decider.__index = Decider

-- The decisions over an open CA (chainsmith.ca's, whose policy module holds
-- the ACME hooks). on_revoked(result), when given, is called after each
-- revocation with ca:revoke's result (serve.lua serves the new CRL and
-- staples again). log(line): where each decision is reported.
function service.decider(ca, on_revoked, log)
    return setmetatable({ ca = ca, on_revoked = on_revoked, log = log or function() end,
        profile_cache = {} }, Decider)
end

local function refusal(kind, detail)
    return { ok = false, type = kind, detail = detail }
end

-- "a.test, *.b.test"
local function identifiers_text(ask)
    local v = {}
    for _, id in ipairs(ask.identifiers or {}) do
        v[#v + 1] = pki.escape(tostring(id.value))
    end
    return table.concat(v, ", ")
end

function Decider:account(ask)
    local ok, kind, detail, log = self.ca.policy.acme_account(ask)
    if not ok then
        return refusal(kind, detail), log
    end
    return { ok = true }
end

-- What identifies the profile folder's contents without reading them:
-- each *.lua's name, inode, size and times (a profile may extend another,
-- and {base} comes from the root's, so any change empties the cache).
local function folder_stamp(dir)
    local parts = {}
    local ok, iter, state = pcall(lfs.dir, dir)
    if not ok then
        return ""
    end
    for name in iter, state do
        if name:sub(-4) == ".lua" then
            local a = lfs.attributes(dir .. "/" .. name)
            if a then
                parts[#parts + 1] = ("%s:%s:%s:%s:%s"):format(name, a.ino, a.size,
                    a.modification, a.change)
            end
        end
    end
    table.sort(parts)
    return table.concat(parts, "|")
end

-- profile.load, kept while the folder is unchanged: loading one runs its
-- files and their checks (about 13 ms of CPU here), and every order needs
-- it. The tables are only read (policy.check_request does not change them).
function Decider:load_profile(name)
    local stamp = folder_stamp(self.ca.profiles)
    if stamp ~= self.profile_stamp then
        self.profile_cache, self.profile_stamp = {}, stamp
    end
    local hit = self.profile_cache[name]
    if hit then
        return hit
    end
    local p, err = profile.load(self.ca.profiles, name)
    if p then
        self.profile_cache[name] = p
    end
    return p, err
end

function Decider:order(ask)
    local ca = self.ca
    local ctx = {
        load_profile = function(name)
            return self:load_profile(name)
        end,
        issuer = ca.cert,
        config = ca.config,
    }
    local decision, kind, detail, log = ca.policy.acme_order(ask, ctx)
    if not decision then
        return refusal(kind, detail), log
    end
    return { ok = true, profile = decision.profile, challenges = decision.challenges }
end

-- ca:issue's failure codes that are the server's trouble, not the CSR's.
local ours = { db = true, io = true, nomem = true, exists = true, notfound = true,
    server = true, locked = true }

-- Issue the CSR under the order's profile through ca:issue: the CSR checks,
-- the policy and the intermediate's nameConstraints, recorded in ca.db.
-- Any refusal is badCSR naming the reason.
function Decider:finalize(ask)
    local pname, kind, detail, log = self.ca.policy.acme_finalize(ask)
    if not pname then
        return refusal(kind, detail), log
    end
    if type(ask.csr) ~= "string" or ask.csr == "" then
        return refusal("badCSR", "no CSR"), "finalize ask without a CSR"
    end
    -- The profile as the order decision loaded it, handed over as a table:
    -- ca:issue checks it again (profile.from_table) without loading its
    -- files, which runs them in sandbox children (chainsmith/sandbox.lua):
    -- about 14 of the 22 ms of CPU a finalize took here (a child per file
    -- then; a child per round of extends/{base} lookups since 2026-12-02).
    local p = self:load_profile(pname)
    local given = pname
    if p then
        given = {}
        for k, v in pairs(p) do
            given[k] = v
        end
        given.file = nil -- where it was read from: not a profile field
    end
    -- The CSR as the request's thread parsed it (signature checked), when
    -- it came with the ask: parsing it again here cost the serve loop's one
    -- thread about 0.1 ms a finalize (bench/acme_finalize_cpu.lua).
    local r, err, code = self.ca:issue { profile = given, csr = ask.parsed_csr or ask.csr }
    if not r then
        -- a refusal of the policy or the CSR is the client's to fix; the
        -- rest (a database or file error, a profile gone) is ours
        if not ours[code] then
            return refusal("badCSR", err:gsub("\n", "; "))
        end
        return refusal("serverInternal", "the certificate could not be issued (see the "
            .. "server's log)"), ("finalize order %s: %s (%s)"):format(tostring(ask.order), err,
            tostring(code))
    end
    local pem = {}
    for _, cert in ipairs(r.chain) do
        pem[#pem + 1] = cert:pem()
    end
    return { ok = true, chain = table.concat(pem), serial = r.serial, issued = r }
end

function Decider:revoke(ask)
    local reason, kind, detail, log = self.ca.policy.acme_revoke(ask)
    if not reason then
        return refusal(kind, detail), log
    end
    local r, err, code = self.ca:revoke { serial = ask.serial, reason = reason }
    if not r then
        if code == "exists" then
            return refusal("alreadyRevoked", err)
        elseif code == "notfound" then
            return refusal("malformed", err)
        end
        return refusal("serverInternal", "the certificate could not be revoked (see the "
            .. "server's log)"), ("revoke %s: %s (%s)"):format(tostring(ask.serial), err,
            tostring(code))
    end
    if self.on_revoked then
        -- the revocation is committed and the CRL written: a failure to
        -- serve them at once is logged, not the client's problem
        local ok, why = pcall(self.on_revoked, r)
        if not ok then
            log = ("revoked %s, but serving the new CRL failed: %s"):format(r.serial, why)
        end
    end
    return { ok = true, revoked = r }, log
end

local kinds = { account = true, order = true, finalize = true, revoke = true }

-- The answer to ask (a table as acme:next gives it), and a line for the
-- log when something on our side went wrong. Never raises: a bug in a
-- decision becomes serverInternal, so a request is never left waiting.
function Decider:decide(ask)
    local f = type(ask) == "table" and kinds[ask.kind] and Decider[ask.kind]
    if not f then
        return refusal("serverInternal", "unknown request"),
            ("acme: unknown ask kind %s"):format(type(ask) == "table" and tostring(ask.kind)
                or type(ask))
    end
    local ok, answer, log = pcall(f, self, ask)
    if not ok then
        return refusal("serverInternal", "the request could not be decided (see the server's "
            .. "log)"), ("acme: %s: %s"):format(ask.kind, tostring(answer))
    end
    return answer, log
end

-- One line saying what was decided (no secrets: asks carry none).
function service.describe(ask, answer)
    local what
    if ask.kind == "account" then
        what = ("account %s%s"):format(tostring((ask.account or {}).id),
            (ask.account or {}).eab_kid and (" (EAB %s)"):format(ask.account.eab_kid) or "")
    elseif ask.kind == "order" then
        what = ("order for %s"):format(identifiers_text(ask))
    elseif ask.kind == "finalize" then
        what = ("finalize order %s (%s)"):format(tostring(ask.order), identifiers_text(ask))
    else
        what = ("revoke %s (by %s)"):format(tostring(ask.serial), tostring(ask.by))
    end
    if not answer.ok then
        return ("acme: %s: refused, %s: %s"):format(what, answer.type, answer.detail)
    elseif ask.kind == "order" then
        return ("acme: %s: profile %s, %s"):format(what, answer.profile,
            table.concat(answer.challenges, ", "))
    elseif ask.kind == "finalize" then
        return ("acme: %s: issued serial %s"):format(what, answer.serial)
    elseif ask.kind == "revoke" then
        return ("acme: %s: revoked (%s)"):format(what, answer.revoked.reason)
    end
    return ("acme: %s: ok"):format(what)
end

-- What acme:answer takes: the answer without our own fields.
local function wire(answer)
    if not answer.ok then
        return { ok = false, type = answer.type, detail = answer.detail }
    end
    return { ok = true, profile = answer.profile, challenges = answer.challenges,
        chain = answer.chain, serial = answer.serial }
end

local Service = {}
Service.__index = Service

-- Open the ACME side of serve.lua: the CA in opts.chain (its key, with
-- opts.passphrase when encrypted; opts.profiles; the policy module), and
-- pki.acme over its ca.db. opts.settings: acme_options.resolve's;
-- opts.base_url: the external URL; opts.on_revoked, opts.log as for
-- service.decider. Returns the service ({acme = pki.acme, ca, ...}) or nil,
-- message.
function service.open(opts)
    if not pki.acme then
        return nil, ("the pki module here (chainsmith %s) has no ACME server"):format(pki.version)
    end
    local ca, err = ca_mod.open { dir = opts.chain, profiles = opts.profiles,
        passphrase = opts.passphrase, policy = opts.policy }
    if not ca then
        return nil, err
    end
    local db, dberr = layout.sqlite_only(ca.files, "ACME")
    if not db then
        ca:close()
        return nil, dberr
    end
    -- a policy module made before ACME (its own functions, or an older
    -- engine.new) gets the ACME decisions; the functions it has are kept
    require("chainsmith.policy_engine").new(ca.policy)
    -- a broken policy.acme is a start-up error, not a refusal per order
    local settings_ok, serr = require("chainsmith.acme_policy").settings(ca.policy)
    if not settings_ok then
        ca:close()
        return nil, serr
    end
    local s = opts.settings
    local v = s.validation
    local acme, aerr = pki.acme {
        db = db,
        base_url = opts.base_url,
        terms = s.terms,
        eab = { required = s.eab.required, keys = s.eab.keys },
        chain = ca.cert:pem(),
        validation = { http_port = v.http_port, tls_port = v.tls_port, resolve = v.resolve,
            dns_resolver = v.dns_resolver, workers = v.workers, timeout_ms = v.timeout_ms },
        ask_timeout_ms = s.ask_timeout_ms,
        order_lifetime = s.order_lifetime,
    }
    if not acme then
        ca:close()
        return nil, aerr
    end
    local log = opts.log or function() end
    return setmetatable({ acme = acme, ca = ca, base_url = opts.base_url, log = log,
        decider = service.decider(ca, opts.on_revoked, log) }, Service)
end

-- Send answer (with problem, a line for the log, or nil) to the request
-- waiting for ask.
function Service:reply(ask, answer, problem)
    if problem then
        self.log(problem)
    end
    local sent, serr, scode = self.acme:answer(ask.id, wire(answer))
    if not sent and scode == "invalid" then
        -- core refused the answer itself (a hook's error type RFC 8555 does
        -- not have): the request must not wait out its timeout for it
        self.log(("acme: ask %s (%s): core refused the answer: %s; answering "
            .. "serverInternal"):format(tostring(ask.id), tostring(ask.kind), serr))
        answer = refusal("serverInternal", "the policy's answer could not be used (see the "
            .. "server's log)")
        sent, serr = self.acme:answer(ask.id, wire(answer))
    end
    if not sent then
        -- the request gave up waiting (or the answer does not fit the ask):
        -- what was issued or revoked is recorded all the same
        self.log(("acme: ask %s (%s): the answer was not taken: %s"):format(tostring(ask.id),
            tostring(ask.kind), serr))
    end
    self.log(service.describe(ask, answer))
end

-- The finalizes of one turn, decided by decider over its CA: each ca:issue
-- nested in one transaction of ca.db (store:begin inside a batch is a
-- savepoint: a refused or failed issue undoes only itself), so the turn
-- pays one fsync, not one per certificate. Returns the answers and log
-- lines, by index, once the transaction is committed: no answer may leave
-- before, so a certificate is handed out only once recorded. If the commit
-- fails, every issue of the turn is lost and each answer says
-- serverInternal.
function service.finalize_batch(decider, asks)
    local store = decider.ca.store
    local batched = #asks > 1 and store:begin()
    local answers, problems = {}, {}
    for i, ask in ipairs(asks) do
        answers[i], problems[i] = decider:decide(ask)
    end
    if batched then
        local committed, cerr = store:commit()
        if not committed then
            for i, ask in ipairs(asks) do
                if answers[i].ok then
                    answers[i] = refusal("serverInternal", "the certificate could not be "
                        .. "issued (see the server's log)")
                    problems[i] = ("finalize order %s: the turn's commit failed: %s")
                        :format(tostring(ask.order), cerr)
                end
            end
        end
    end
    return answers, problems
end

-- How many asks one turn of the serve loop takes at most.
local TURN_MAX = 64

-- Take the asks waiting (the first waiting at most timeout_ms; up to
-- TURN_MAX), decide and answer them: accounts and orders at once (they
-- write nothing of the CA's), then the finalizes in one transaction, then
-- revocations one by one (each writes and names its CRL files around its
-- own commit). Returns true when some were answered, false when none came,
-- nil once the queue is closed.
function Service:step(timeout_ms)
    local ask, none = ask_queue.take(self.acme, timeout_ms)
    if not ask then
        return none
    end
    local finals, revokes, n = {}, {}, 0
    while ask do
        n = n + 1
        if ask.kind == "finalize" then
            finals[#finals + 1] = ask
        elseif ask.kind == "revoke" then
            revokes[#revokes + 1] = ask
        else
            self:reply(ask, self.decider:decide(ask))
        end
        if n >= TURN_MAX then
            break
        end
        ask = self.acme:next(0)
    end
    local answers, problems = service.finalize_batch(self.decider, finals)
    for i, f in ipairs(finals) do
        self:reply(f, answers[i], problems[i])
    end
    for _, r in ipairs(revokes) do
        self:reply(r, self.decider:decide(r))
    end
    return true
end

function Service:close()
    ask_queue.close(self, "acme")
end

return service
