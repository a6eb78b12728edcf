-- trust.lua's work: which stores, then install, uninstall or status of the
-- chain's root in them (the stores themselves: chainsmith.trust).
local json = require "chainsmith.json"
local run = require "chainsmith.trust_run"
local trust = require "chainsmith.trust"

local action = {}

-- The stores named by --store (repeatable, or comma-separated). Returns the
-- list, or nil, message naming an unknown store.
function action.stores(list)
    local asked = {}
    for _, item in ipairs(list) do
        for name in item:gmatch("[^,%s]+") do
            if not trust.stores[name] then
                return nil, ("unknown store '%s' (choose from system, nss, java)"):format(name)
            end
            asked[#asked + 1] = name
        end
    end
    return asked
end

local function print_status(root, rows, as_json)
    if as_json then
        local list = json.array()
        for _, r in ipairs(rows) do
            list[#list + 1] = { store = r.store, state = r.state, location = r.location,
                                name = r.name, reason = r.reason, old = r.old }
        end
        io.write(json.encode { root = { file = root.path, subject = root.subject,
                                        fingerprint = root.fingerprint },
                               stores = list }, "\n")
        return
    end
    io.write(("root %s (sha256 %s) from %s\n"):format(root.subject, root.fingerprint, root.path))
    for _, r in ipairs(rows) do
        local where = r.label and (" " .. r.label) or ""
        local why = r.reason and (" (" .. r.reason .. ")") or ""
        io.write(("%-6s %s%s%s\n"):format(r.store, r.state, where, why))
    end
end

-- Run one action and print what it did. req: { action = "install" |
-- "uninstall" | "status", chain = DIR, stores = list (action.stores),
-- system_root = DIR?, java_keystore = FILE?, json = status as JSON }.
-- Returns true, or nil, message.
function action.run(req)
    local root, err = trust.load_root(req.chain)
    if not root then
        return nil, err
    end
    local uid = run.uid()
    local ctx = {
        home = os.getenv("HOME"),
        prefix = req.system_root or os.getenv("CHAINSMITH_SYSTEM_ROOT"),
        java_keystore = req.java_keystore,
        uid = uid,
        writing = req.action ~= "status",
        -- sudo keeps HOME on some systems: the NSS databases there are the user's.
        under_sudo = uid == 0 and os.getenv("SUDO_USER") or nil,
    }
    if ctx.prefix == "" then
        ctx.prefix = nil
    end
    local probes = trust.probe(ctx)

    if req.action == "status" then
        print_status(root, trust.status(req.chain, root, probes), req.json)
        return true
    end

    if req.action == "uninstall" then
        -- Whatever the manifest says was installed is taken out by default too.
        ctx.also = {}
        for _, rec in ipairs(trust.read_manifest(req.chain) or {}) do
            ctx.also[rec.store] = true
        end
    end
    local chosen, skipped = trust.select(req.stores, probes, ctx)
    if not chosen then
        return nil, skipped
    end
    for _, s in ipairs(skipped) do
        io.write(("skipped %s: %s\n"):format(s.store, s.reason))
    end
    if #chosen == 0 then
        return nil, ("no trust store to %s (see above)"):format(req.action)
    end
    local report = function(line) io.write(line, "\n") end
    if req.action == "install" then
        return trust.install(req.chain, root, chosen, probes, report)
    end
    return trust.uninstall(req.chain, root, chosen, probes, report)
end

return action
