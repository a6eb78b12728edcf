-- Loading profiles: each DIR/NAME.lua is data, `return { ... }`, run in a
-- sandbox (chainsmith.sandbox); a profile may extend another one in the
-- same folder. docs/profiles.md is the user's side of this file.

local sandbox = require "chainsmith.sandbox"
local suggest = require "chainsmith.suggest"

local profile = {}

-- Every field a profile may have, with its Lua type. The ones marked spec
-- become the certificate spec handed to pki.sign; the rest steer the build.
-- merge says how `extends` combines a child's value with its parent's:
-- "keyed" merges key by key, anything else is replaced whole; inherit =
-- false is never taken from a parent.
local fields = {
    description = { type = "string", inherit = false },
    extends = { type = "string", inherit = false },   -- a profile name in the same folder
    issuer = { type = "string", required = true },     -- "self" or a profile name
    key = { type = "table", required = true, merge = "keyed" },
    validity_days = { type = "number", required = true, spec = true },
    renew_before_days = { type = "number" },
    allow_wildcard = { type = "boolean" },            -- may a "*." DNS name be requested?
    subject = { type = "table", required = true, spec = true },
    basic_constraints = { type = "table", spec = true, merge = "keyed" },
    key_usage = { type = "table", spec = true },
    extended_key_usage = { type = "table", spec = true },
    subject_alt_name = { type = "table", spec = true, merge = "keyed" },
    name_constraints = { type = "table", spec = true, merge = "keyed" },
    subject_key_id = { type = "boolean", spec = true },
    authority_key_id = { type = "boolean", spec = true },
    crl_distribution_points = { type = "table", spec = true },  -- {"http://...", ...}
    -- {ocsp = {...}, ca_issuers = {...}}
    authority_info_access = { type = "table", spec = true, merge = "keyed" },
    ocsp_no_check = { type = "boolean", spec = true },          -- a delegated OCSP signer
    crl_next_update_days = { type = "number" },                 -- a CA's CRL: nextUpdate
    -- A CA's: where serve.lua's plain-HTTP endpoints are reached, the "{base}"
    -- in the URLs of the certificates it signs (docs/profiles.md)
    public_base_url = { type = "string" },
}

local key_fields = { type = "string", curve = "string", bits = "number" }

-- The kinds of name in subject_alt_name and in each side of
-- name_constraints, in the order they are listed and checked.
profile.name_kinds = { "dns", "ip", "email", "uri" }

-- Inside keyed tables these are booleans; any other entry set to false in
-- a child drops what the parent had.
local boolean_entries = { critical = true, ca = true }

-- What a profile name may be: it becomes a file name, so no "/" or "..".
local name_pattern = "^[%w_][%w_%-]*$"

function profile.valid_name(name)
    return type(name) == "string" and name:match(name_pattern) ~= nil
end

function profile.path(dir, name)
    return ("%s/%s.lua"):format(dir, name)
end

local field_names = {}
for k in pairs(fields) do
    field_names[#field_names + 1] = k
end

-- "FILE:LINE" where word first stands in the file (a profile table has no
-- file: its label alone).
local function where(file, word)
    local ok, pki = pcall(require, "pki")
    local text = ok and file:find("%.lua$") and pki.read_file(file) or nil
    local line = suggest.line(text, word)
    return line and ("%s:%d"):format(file, line) or file
end

-- A usage list (key_usage or extended_key_usage): each name one the core
-- knows (an extended usage may also be a dotted OID). true or nil, message.
local function check_usages(p, file, field)
    local list = p[field]
    if type(list) ~= "table" then
        return true
    end
    local ok, pki = pcall(require, "pki")
    if not ok or not pki.usage_names then
        return true -- the core checks them when it builds the spec
    end
    local known = pki.usage_names()[field]
    local set = {}
    for _, n in ipairs(known) do set[n] = true end
    for i, v in ipairs(list) do
        if type(v) == "string" and not set[v]
            and not (field == "extended_key_usage" and v:find("^%d+%.%d+[%d.]*$")) then
            return nil, ("%s: %s[%d]: unknown usage '%s'%s"):format(where(file, v), field, i, v,
                suggest.hint(v, known, field == "extended_key_usage"
                    and "one of (or a dotted OID)" or "one of"))
        end
    end
    return true
end

-- The checks one file's table must pass on its own, before any merging:
-- known fields, their types (false means "drop the inherited value" for a
-- field that is not a boolean), the key's fields, the usage names.
local function check_file(p, file)
    for k, v in pairs(p) do
        local f = fields[k]
        if not f then
            return nil, ("%s: unknown field '%s'%s"):format(where(file, tostring(k)), tostring(k),
                suggest.hint(tostring(k), field_names, "the fields are"))
        end
        if type(v) ~= f.type and not (v == false and p.extends) then
            return nil, ("%s: %s: expected %s, got %s"):format(file, k, f.type, type(v))
        end
    end
    if type(p.key) == "table" then
        for k, v in pairs(p.key) do
            if key_fields[k] == nil then
                return nil, ("%s: key: unknown field '%s'%s"):format(where(file, tostring(k)),
                    tostring(k), suggest.hint(tostring(k), { "type", "curve", "bits" },
                        "the fields are"))
            end
            if type(v) ~= key_fields[k] and not (v == false and p.extends) then
                return nil, ("%s: key.%s: expected %s, got %s")
                    :format(file, k, key_fields[k], type(v))
            end
        end
    end
    for _, field in ipairs { "key_usage", "extended_key_usage" } do
        local ok, why = check_usages(p, file, field)
        if not ok then
            return nil, why
        end
    end
    if p.extends ~= nil and not profile.valid_name(p.extends) then
        return nil, ("%s: extends: '%s' is not a profile name (letters, digits, '-' and '_')")
            :format(file, p.extends)
    end
    return true
end

-- The checks of the finished (merged) profile.
local function check_profile(p, file)
    for k, f in pairs(fields) do
        if f.required and p[k] == nil then
            return nil, ("%s: missing field '%s'"):format(file, k)
        end
    end
    if math.type(p.validity_days) ~= "integer" or p.validity_days < 1 then
        return nil, ("%s: validity_days: expected a whole number of days >= 1"):format(file)
    end
    local nu = p.crl_next_update_days
    if nu ~= nil and (math.type(nu) ~= "integer" or nu < 1 or nu > 3650) then
        return nil, ("%s: crl_next_update_days: expected a whole number of days, 1 to 3650")
            :format(file)
    end
    local base = p.public_base_url
    if base ~= nil and not (base:match("^http://[%w%.%-%[%]:]+$")) then
        return nil, ("%s: public_base_url: '%s' is not http://HOST[:PORT] (plain HTTP, no path, "
            .. "no trailing '/')"):format(file, base)
    end
    local san = p.subject_alt_name
    if type(san) == "table" and type(san.dns) == "table" and not p.allow_wildcard then
        for _, name in ipairs(san.dns) do
            if type(name) == "string" and name:sub(1, 2) == "*." then
                return nil, ("%s: subject_alt_name.dns: '%s' is a wildcard, and allow_wildcard "
                    .. "is not true"):format(file, name)
            end
        end
    end
    return true
end

local function merge_keyed(field, parent, child)
    -- A curve means nothing to RSA: a key of another type starts afresh.
    local fresh = field == "key" and child.type ~= nil and child.type ~= parent.type
    local out = {}
    if not fresh then
        for k, v in pairs(parent) do
            out[k] = v
        end
    end
    for k, v in pairs(child) do
        if v == false and not boolean_entries[k] then
            out[k] = nil
        else
            out[k] = v
        end
    end
    return out
end

-- The child's table over its parent's (docs/profiles.md, "extends").
local function merge(parent, child)
    local out = {}
    for k, v in pairs(parent) do
        if fields[k].inherit ~= false then
            out[k] = v
        end
    end
    for k, v in pairs(child) do
        local f = fields[k]
        if v == false and f.type ~= "boolean" then
            out[k] = nil
        elseif f.merge == "keyed" then
            out[k] = merge_keyed(k, type(out[k]) == "table" and out[k] or {}, v)
        else
            out[k] = v
        end
    end
    out.extends = child.extends
    return out
end

-- A copy of a table, so that what was checked is what is used whatever
-- the caller does with theirs afterwards (and a profile run once can be
-- loaded more than once: finish changes what it is given); nil, message for
-- a table that holds itself.
local function copy_table(t, seen)
    if seen[t] then
        return nil, "holds itself"
    end
    seen[t] = true
    local out = {}
    for k, v in pairs(t) do
        if type(v) == "table" then
            local c, err = copy_table(v, seen)
            if not c then
                return nil, err
            end
            v = c
        end
        out[k] = v
    end
    seen[t] = nil
    return out
end

-- What running file in the sandbox gave, from runs (file -> {value,
-- message}: the batches in_rounds ran; a table comes back as a fresh copy,
-- as from a run of its own). A file not in runs is added to runs.missing,
-- for the next batch, and answers nil and a message nobody shows.
local function run(runs, file)
    local r = runs[file]
    if r then
        if type(r[1]) == "table" then
            return copy_table(r[1], {})
        end
        return r[1], r[2]
    end
    runs.missing[#runs.missing + 1] = file
    return nil, file .. ": not run yet"
end

-- Load one file and everything it extends; `chain` holds the names being
-- loaded, to catch a cycle. Returns the merged table or nil, message.
local function resolve(dir, name, chain, runs)
    local file = profile.path(dir, name)
    local p, err = run(runs, file)
    if p == nil and err then
        return nil, err
    end
    if type(p) ~= "table" then
        return nil, ("%s: must return a table, returned %s"):format(file, type(p))
    end
    local ok, why = check_file(p, file)
    if not ok then
        return nil, why
    end
    if p.extends == nil then
        return p
    end
    chain[#chain + 1] = name
    for _, seen in ipairs(chain) do
        if seen == p.extends then
            return nil, ("%s: extends '%s' makes a cycle (%s -> %s)")
                :format(file, p.extends, table.concat(chain, " -> "), p.extends)
        end
    end
    local parent, perr = resolve(dir, p.extends, chain, runs)
    if not parent then
        return nil, ("%s: extends '%s': %s"):format(file, p.extends, perr)
    end
    return merge(parent, p)
end

-- The public_base_url "{base}" stands for in p's URLs: the issuing CA's, or
-- its issuer's, up to the root (a self-signed profile: its own). nil,
-- message when none sets one.
local function base_url(dir, p, file, runs)
    local at = p.issuer == "self" and p or nil
    local issuer, seen = p.issuer, {}
    while not at or not at.public_base_url do
        if issuer == "self" or seen[issuer] or not profile.valid_name(issuer) then
            return nil, ("%s: '{base}' in a URL, and no public_base_url in the issuing CA's "
                .. "profile nor above it (root.lua sets it: docs/profiles.md)"):format(file)
        end
        seen[issuer] = true
        local perr
        at, perr = resolve(dir, issuer, {}, runs)
        if not at then
            return nil, ("%s: issuer '%s': %s"):format(file, issuer, perr)
        end
        issuer = at.issuer
    end
    return at.public_base_url
end

-- Replace "{base}" in crl_distribution_points and authority_info_access
-- with the issuing CA's public_base_url. true, or nil, message.
local function expand_base(dir, p, file, runs)
    local lists = { p.crl_distribution_points }
    for _, v in pairs(type(p.authority_info_access) == "table" and p.authority_info_access or {}) do
        lists[#lists + 1] = v
    end
    local base, err
    for _, list in ipairs(lists) do
        for i, url in ipairs(type(list) == "table" and list or {}) do
            if type(url) == "string" and url:find("{base}", 1, true) then
                if not base then
                    base, err = base_url(dir, p, file, runs)
                    if not base then
                        return nil, err
                    end
                end
                list[i] = url:gsub("{base}", function() return base end)
            end
        end
    end
    return true
end

-- The last steps every profile takes, from a file or a table: the merged
-- profile checked, {base} expanded in its URLs, and named after where it
-- came from (label: the file, or "profile table NAME"). p, or nil and why.
local function finish(dir, p, name, label, runs)
    local ok, why = check_profile(p, label)
    if ok then
        ok, why = expand_base(dir, p, label, runs)
    end
    if not ok then
        return nil, why
    end
    p.name, p.file = name, label
    return p
end

-- Call attempt(runs) until it asks for no file that has not run: after
-- each call, the files it missed run together in one sandbox child. What
-- the last call returned.
local function in_rounds(attempt)
    local runs = { missing = {} }
    while true do
        runs.missing = {}
        local result = table.pack(attempt(runs))
        local files, seen = {}, {}
        for _, file in ipairs(runs.missing) do
            if not seen[file] then
                seen[file] = true
                files[#files + 1] = file
            end
        end
        if #files == 0 then
            return table.unpack(result, 1, result.n)
        end
        for i, r in ipairs(sandbox.run_many(files)) do
            runs[files[i]] = r
        end
    end
end

local function load_one(dir, name, runs)
    if not profile.valid_name(name) then
        return nil, ("'%s' is not a profile name (letters, digits, '-' and '_')")
            :format(tostring(name))
    end
    local p, err = resolve(dir, name, {}, runs)
    if not p then
        return nil, err
    end
    return finish(dir, p, name, profile.path(dir, name), runs)
end

-- Load each dir/NAME.lua of the list names, as profile.load does, running
-- the files in as few sandbox children as the profiles allow: all the
-- named files in one, then what they extend or take {base} from in the
-- next, and so on (the shipped chain: one). Returns a table name -> {p,
-- message}, as profile.load would have returned for it.
function profile.load_many(dir, names)
    local out = {}
    in_rounds(function(runs)
        for _, name in ipairs(names) do
            if not out[name] then
                local before = #runs.missing
                local p, err = load_one(dir, name, runs)
                if #runs.missing == before then -- everything it needed had run
                    out[name] = { p, err }
                end
            end
        end
    end)
    return out
end

-- Load dir/name.lua, merged over what it extends. Returns the profile
-- table (with `name` and `file` added), or nil and a message naming the
-- file (and line, for Lua errors).
function profile.load(dir, name)
    return table.unpack(profile.load_many(dir, { name })[name], 1, 2)
end

-- A profile given as a table by a script (ca:issue{profile = {...}}):
-- the checks of a file's table, `extends` resolved from the files in dir,
-- then the checks of a merged profile, exactly as profile.load does. t.name
-- (optional, default "inline", a profile name) is what ca.db records;
-- messages call it "profile table NAME". Returns a new table with `name`
-- and `file` set, or nil, message.
function profile.from_table(t, dir)
    local name = t.name == nil and "inline" or t.name
    if not profile.valid_name(name) then
        return nil, ("profile table: name: '%s' is not a profile name (letters, digits, '-' "
            .. "and '_')"):format(tostring(name))
    end
    local label = ("profile table %s"):format(name)
    local p, cerr = copy_table(t, {})
    if not p then
        return nil, ("%s: %s"):format(label, cerr)
    end
    p.name = nil
    local ok, why = check_file(p, label)
    if not ok then
        return nil, why
    end
    -- Each attempt starts from its own copy: finish changes what it is given.
    return in_rounds(function(runs)
        local q = copy_table(p, {})
        if q.extends ~= nil then
            local parent, perr = resolve(dir, q.extends, {}, runs)
            if not parent then
                return nil, ("%s: extends '%s': %s"):format(label, q.extends, perr)
            end
            q = merge(parent, q)
        end
        return finish(dir, q, name, label, runs)
    end)
end

-- Every profile in dir: each NAME.lua (NAME as profile.valid_name allows),
-- sorted by name, as {name, file, profile} or {name, file, error}. A
-- profile that fails to load is listed with its error; only a folder that
-- cannot be read fails the listing (nil, message).
function profile.list(dir)
    local has_lfs, lfs = pcall(require, "lfs")
    if not has_lfs then
        return nil, "listing profiles needs LuaFileSystem (Debian: lua-filesystem)"
    end
    local ok, iter, state = pcall(lfs.dir, dir)
    if not ok then
        return nil, tostring(iter) -- "cannot open DIR: No such file or directory"
    end
    local names = {}
    for entry in iter, state do
        local name = entry:match("^(.+)%.lua$")
        if name and profile.valid_name(name) then
            names[#names + 1] = name
        end
    end
    table.sort(names)
    local loaded = profile.load_many(dir, names)
    local out = {}
    for _, name in ipairs(names) do
        local p, err = table.unpack(loaded[name], 1, 2)
        out[#out + 1] = { name = name, file = profile.path(dir, name), profile = p, error = err }
    end
    return out
end

-- The certificate spec for pki.sign: the profile's spec fields only.
function profile.spec(p)
    local spec = {}
    for k, f in pairs(fields) do
        if f.spec then
            spec[k] = p[k]
        end
    end
    return spec
end

return profile
