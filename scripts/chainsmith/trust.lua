-- Installing the chain's root into trust stores, and taking it out again.
-- Only the root is ever installed (a trusted leaf is the tutorial's mistake),
-- under a name that says chainsmith and carries the root's fingerprint; an
-- entry is removed only when both its name and its certificate are ours.
-- <chain>/trust.json records what went where, so that after the root is
-- re-created, uninstall still finds the old one.
local cjson = require "cjson"
local json = require "chainsmith.json"
local lfs = require "lfs"
local pki = require "pki"

local trust = {}

trust.order = { "system", "nss", "java" }
trust.stores = {
    system = require "chainsmith.trust_system",
    nss = require "chainsmith.trust_nss",
    java = require "chainsmith.trust_java",
}

local function common_name(info)
    for _, rdn in ipairs(info.subject) do
        if rdn[1] == "CN" then
            return rdn[2]
        end
    end
    return info.subject_line
end

-- The root of the chain in dir: {cert, path, fingerprint, short, subject},
-- or nil, message when there is none or root.pem is not a self-signed CA.
function trust.load_root(dir)
    local path = dir .. "/root.pem"
    local cert, err, code = pki.read_cert(path)
    if not cert then
        return nil, err .. " (run `lua scripts/build_chain.lua` first)", code
    end
    local info = cert:info()
    if not (info.basic_constraints and info.basic_constraints.ca) or not cert:issued_by(cert) then
        return nil, path .. ": not a self-signed CA certificate; only a root is installed",
            "invalid"
    end
    local fp = cert:fingerprint():lower()
    return { cert = cert, path = path, fingerprint = fp, short = fp:sub(1, 16),
             subject = common_name(info) }
end

-- The entry (name and fingerprint) a root gets in one store.
function trust.entry(store, root)
    return { name = trust.stores[store].entry_name(root.short, root.subject),
             fingerprint = root.fingerprint, subject = root.subject }
end

-- The manifest: a list of {store, location, name, fingerprint, subject}.
function trust.read_manifest(dir)
    local path = dir .. "/trust.json"
    local text, err, code = pki.read_file(path)
    if not text and code == "notfound" then
        return {}
    elseif not text then
        return nil, err, code
    end
    local ok, doc = pcall(cjson.decode, text)
    if not ok or type(doc) ~= "table" or type(doc.installed) ~= "table" then
        return nil, path .. ": not a chainsmith trust manifest (delete it to start over)",
            "invalid"
    end
    local list = {}
    for _, e in ipairs(doc.installed) do
        if type(e) == "table" and trust.stores[e.store] and type(e.location) == "string"
                and type(e.name) == "string" and type(e.fingerprint) == "string" then
            list[#list + 1] = e
        end
    end
    return list
end

-- Written by core as every file is (temporary file, fsync, rename, fsync of
-- the folder), so a crash or a full disk leaves the old one whole.
function trust.write_manifest(dir, list)
    local path = dir .. "/trust.json"
    if #list == 0 then
        if lfs.attributes(path) then
            return os.remove(path)
        end
        return true
    end
    local doc = { installed = json.array(list) }
    return pki.write_files { { path = path, data = json.encode(doc) .. "\n", overwrite = true } }
end

-- The store location a manifest record names (the JDK's cacerts by name).
local function manifest_location(name, rec)
    return { path = rec.location, label = rec.location,
             cacerts = (name == "java" and rec.location == "cacerts") or nil }
end

local function same(a, b)
    return a.store == b.store and a.location == b.location and a.name == b.name
        and a.fingerprint == b.fingerprint
end

local function remember(list, e)
    for _, have in ipairs(list) do
        if same(have, e) then
            return
        end
    end
    list[#list + 1] = e
end

local function forget(list, e)
    for i = #list, 1, -1 do
        if same(list[i], e) then
            table.remove(list, i)
        end
    end
end

-- ctx: {home, prefix, java_keystore}. One probe per store.
function trust.probe(ctx)
    local probes = {}
    for _, name in ipairs(trust.order) do
        probes[name] = trust.stores[name].probe(ctx)
    end
    return probes
end

-- Which stores an action covers: those asked for, or by default system
-- (when it can be written) and nss, plus the stores in ctx.also (uninstall
-- passes those its manifest names). Returns the list, and the skipped ones
-- as {store, reason}; or nil, message when a store asked for cannot be used.
function trust.select(asked, probes, ctx)
    local chosen, skipped = {}, {}
    if #asked > 0 then
        for _, name in ipairs(trust.order) do
            for _, a in ipairs(asked) do
                if a == name and not chosen[name] then
                    local p = probes[name]
                    if not p.usable then
                        return nil, name .. " store: " .. p.reason, "notfound"
                    elseif ctx.writing and not p.writable then
                        return nil, name .. " store: " .. p.reason, "io"
                    end
                    chosen[name] = true
                    chosen[#chosen + 1] = name
                end
            end
        end
        return chosen, skipped
    end
    local also = ctx.also or {}
    for _, name in ipairs(trust.order) do
        local p = probes[name]
        if name == "java" and not also.java then
            skipped[#skipped + 1] = { store = name,
                                      reason = "not in the default set (--store java)" }
        elseif name == "nss" and ctx.under_sudo then
            skipped[#skipped + 1] = { store = name, reason = ("running under sudo: the NSS "
                .. "databases belong to %s; run `--store nss` without sudo")
                :format(ctx.under_sudo) }
        elseif p.usable and p.writable then
            chosen[#chosen + 1] = name
        else
            skipped[#skipped + 1] = { store = name, reason = p.reason }
        end
    end
    return chosen, skipped
end

-- Install the root into the chosen stores. report(line) is told each step.
-- Returns true, or nil and the failures joined; the manifest is updated
-- with what did get installed either way.
function trust.install(dir, root, chosen, probes, report)
    local manifest, merr, mcode = trust.read_manifest(dir)
    if not manifest then
        return nil, merr, mcode
    end
    local failures = {}
    for _, name in ipairs(chosen) do
        local store, s = trust.stores[name], probes[name]
        local entry = trust.entry(name, root)
        for _, loc in ipairs(store.locations(s)) do
            local state = store.find(s, loc, entry)
            local rec = { store = name, location = loc.path, name = entry.name,
                          fingerprint = root.fingerprint, subject = root.subject }
            if state == "installed" then
                report(("%-6s %s: already installed as %q"):format(name, loc.label, entry.name))
                remember(manifest, rec)
            elseif state == "other" then
                failures[#failures + 1] = ("%s %s: %q holds another certificate; left as it is")
                    :format(name, loc.label, entry.name)
            else
                local ok, err = store.add(s, loc, entry, root.cert, root.path)
                if ok then
                    report(("%-6s %s: installed %q"):format(name, loc.label, entry.name))
                    remember(manifest, rec)
                else
                    failures[#failures + 1] = name .. ": " .. err
                end
            end
        end
    end
    local ok, werr = trust.write_manifest(dir, manifest)
    if not ok then
        failures[#failures + 1] = werr -- names the file
    end
    if #failures > 0 then
        return nil, table.concat(failures, "\n"), "io"
    end
    return true
end

-- Remove from the chosen stores the current root and every root the
-- manifest lists, each only where its name and fingerprint both match.
function trust.uninstall(dir, root, chosen, probes, report)
    local manifest, merr, mcode = trust.read_manifest(dir)
    if not manifest then
        return nil, merr, mcode
    end
    local failures, removed = {}, 0
    for _, name in ipairs(chosen) do
        local store, s = trust.stores[name], probes[name]
        local targets, covered, here = {}, {}, {}
        for _, loc in ipairs(store.locations(s)) do
            local e = trust.entry(name, root)
            targets[#targets + 1] = { loc = loc, entry = e,
                rec = { store = name, location = loc.path, name = e.name,
                        fingerprint = e.fingerprint } }
            covered[loc.path .. "\0" .. e.name] = true
            here[loc.path] = true
        end
        for _, rec in ipairs(manifest) do
            -- The system store is one folder: one under another prefix is not this run's.
            if rec.store == name and not covered[rec.location .. "\0" .. rec.name]
                    and (name ~= "system" or here[rec.location]) then
                local loc = manifest_location(name, rec)
                targets[#targets + 1] = { loc = loc, entry = rec, rec = rec }
            end
        end
        for _, t in ipairs(targets) do
            local state = store.find(s, t.loc, t.entry)
            if state == "installed" then
                local ok, err = store.remove(s, t.loc, t.entry)
                if ok then
                    removed = removed + 1
                    report(("%-6s %s: removed %q"):format(name, t.loc.label, t.entry.name))
                    forget(manifest, t.rec)
                else
                    failures[#failures + 1] = name .. ": " .. err
                end
            else
                forget(manifest, t.rec) -- gone already, or someone else's: not ours to touch
            end
        end
    end
    if removed == 0 and #failures == 0 then
        report("nothing of chainsmith's was installed in " .. table.concat(chosen, ", "))
    end
    local ok, werr = trust.write_manifest(dir, manifest)
    if not ok then
        failures[#failures + 1] = werr -- names the file
    end
    if #failures > 0 then
        return nil, table.concat(failures, "\n"), "io"
    end
    return true
end

-- For each store, each location: installed / not installed / not available.
-- Returns a list of {store, state, location?, name?, reason?, old?}.
function trust.status(dir, root, probes)
    local manifest = trust.read_manifest(dir) or {}
    local rows = {}
    for _, name in ipairs(trust.order) do
        local store, s = trust.stores[name], probes[name]
        if not s.usable then
            rows[#rows + 1] = { store = name, state = "not available", reason = s.reason }
        else
            local entry = trust.entry(name, root)
            for _, loc in ipairs(store.locations(s)) do
                local state = store.find(s, loc, entry)
                rows[#rows + 1] = { store = name, location = loc.path, label = loc.label,
                    name = entry.name,
                    state = state == "installed" and "installed" or "not installed",
                    reason = state == "other" and "its name holds another certificate" or nil }
            end
            for _, rec in ipairs(manifest) do
                if rec.store == name and rec.fingerprint ~= root.fingerprint then
                    local loc = manifest_location(name, rec)
                    if store.find(s, loc, rec) == "installed" then
                        rows[#rows + 1] = { store = name, location = rec.location,
                            label = rec.location, name = rec.name, state = "installed",
                            old = true, reason = "an earlier root (uninstall removes it)" }
                    end
                end
            end
        end
    end
    return rows
end

return trust
