-- profiles.lua's work: every profile in a folder, one entry each
-- (description, then its key settings), as text or JSON; a profile that
-- fails to load is listed with its error.
local common = require "chainsmith.cli"
local profile = require "chainsmith.profile"

local listing = {}

local function key_text(k)
    if k.type == "ec" then
        return "EC " .. tostring(k.curve)
    elseif k.type == "rsa" then
        return ("RSA %d"):format(k.bits or 3072)
    end
    return tostring(k.type)
end

local function list_text(t)
    local parts = {}
    for _, v in ipairs(t or {}) do
        parts[#parts + 1] = tostring(v)
    end
    return table.concat(parts, " ")
end

-- The settings line(s) of one loaded profile.
function listing.settings(p)
    local bc = p.basic_constraints or {}
    local kind = "leaf"
    if bc.ca then
        kind = bc.path_len and ("CA (path length %d)"):format(bc.path_len) or "CA"
    end
    local parts = { kind }
    if p.extends then
        parts[#parts + 1] = "extends " .. p.extends
    end
    parts[#parts + 1] = p.issuer == "self" and "self-signed" or ("issuer " .. p.issuer)
    parts[#parts + 1] = key_text(p.key)
    parts[#parts + 1] = ("%d days"):format(p.validity_days)
    if p.extended_key_usage then
        parts[#parts + 1] = "EKU " .. list_text(p.extended_key_usage)
    end
    if not bc.ca then
        parts[#parts + 1] = p.allow_wildcard and "wildcards allowed" or "no wildcards"
    end
    local lines = { table.concat(parts, ", ") }
    -- A name-constrained CA: what it may sign, one line per kind of name.
    local nc = p.name_constraints or {}
    for _, side in ipairs { { "permitted", "permits" }, { "excluded", "excludes" } } do
        for _, name_kind in ipairs(profile.name_kinds) do
            local names = (nc[side[1]] or {})[name_kind]
            if names and #names > 0 then
                lines[#lines + 1] = ("%s %s %s"):format(side[2],
                    name_kind == "email" and "email" or name_kind:upper(),
                    table.concat(names, ", "))
            end
        end
    end
    return lines
end

-- The whole listing as text, and how many profiles failed to load.
function listing.listing(entries)
    local width = 4
    for _, e in ipairs(entries) do
        width = math.max(width, #e.name)
    end
    local out, broken = {}, 0
    local indent = (" "):rep(width + 2)
    for _, e in ipairs(entries) do
        local head = ("%-" .. width .. "s  "):format(e.name)
        if e.profile then
            out[#out + 1] = head .. (e.profile.description or "(no description)")
            for _, line in ipairs(listing.settings(e.profile)) do
                out[#out + 1] = indent .. line
            end
        else
            broken = broken + 1
            out[#out + 1] = head .. "error: " .. e.error
        end
    end
    return table.concat(out, "\n") .. "\n", broken
end

-- List the profiles in folder dir on stdout (as_json: one JSON document).
-- Returns true; nil, message when the folder has none, cannot be read or a
-- profile failed to load (listed all the same).
function listing.run(dir, as_json)
    local entries, err = profile.list(dir)
    if not entries then
        return nil, err
    end
    if #entries == 0 then
        return nil, ("no profiles (NAME.lua) in %s"):format(dir)
    end
    local text, broken = listing.listing(entries)
    if as_json then
        local json = require "chainsmith.json"
        local list = json.array()
        for _, e in ipairs(entries) do
            list[#list + 1] = { name = e.name, error = e.error,
                description = e.profile and e.profile.description,
                settings = e.profile and json.array(listing.settings(e.profile)) }
        end
        common.print_json { profiles = list }
    else
        io.write(text)
    end
    if broken > 0 then
        return nil, ("%d of %d failed to load"):format(broken, #entries)
    end
    return true
end

return listing
