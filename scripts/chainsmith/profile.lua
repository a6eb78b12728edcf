-- Loading profiles: each scripts/profiles/NAME.lua is data, `return { ... }`,
-- loaded as text into an empty environment (no require, io, os or globals).

local profile = {}

-- Every field a profile may have, with its Lua type. The ones marked spec
-- become the certificate spec handed to pki.sign; the rest steer the build.
local fields = {
    description = { type = "string" },
    issuer = { type = "string", required = true },     -- "self" or a profile name
    key = { type = "table", required = true },
    validity_days = { type = "number", required = true, spec = true },
    renew_before_days = { type = "number" },
    subject = { type = "table", required = true, spec = true },
    basic_constraints = { type = "table", spec = true },
    key_usage = { type = "table", spec = true },
    extended_key_usage = { type = "table", spec = true },
    subject_alt_name = { type = "table", spec = true },
    name_constraints = { type = "table", spec = true },
    subject_key_id = { type = "boolean", spec = true },
    authority_key_id = { type = "boolean", spec = true },
}

local key_fields = { type = "string", curve = "string", bits = "number" }

local function check_fields(p, where)
    for k, v in pairs(p) do
        local f = fields[k]
        if not f then
            return nil, ("%s: unknown field '%s'"):format(where, tostring(k))
        end
        if type(v) ~= f.type then
            return nil, ("%s: %s: expected %s, got %s"):format(where, k, f.type, type(v))
        end
    end
    for k, f in pairs(fields) do
        if f.required and p[k] == nil then
            return nil, ("%s: missing field '%s'"):format(where, k)
        end
    end
    for k, v in pairs(p.key) do
        if key_fields[k] == nil then
            return nil, ("%s: key: unknown field '%s'"):format(where, tostring(k))
        end
        if type(v) ~= key_fields[k] then
            return nil, ("%s: key.%s: expected %s, got %s"):format(where, k, key_fields[k], type(v))
        end
    end
    if math.type(p.validity_days) ~= "integer" or p.validity_days < 1 then
        return nil, ("%s: validity_days: expected a whole number of days >= 1"):format(where)
    end
    return true
end

-- Load dir/name.lua. Returns the profile table (with `name` and `file`
-- added), or nil and a message naming the file (and line, for Lua errors).
function profile.load(dir, name)
    local file = ("%s/%s.lua"):format(dir, name)
    local chunk, err = loadfile(file, "t", {})
    if not chunk then
        return nil, err
    end
    local ok, p = pcall(chunk)
    if not ok then
        return nil, tostring(p)
    end
    if type(p) ~= "table" then
        return nil, ("%s: must return a table, returned %s"):format(file, type(p))
    end
    local valid, why = check_fields(p, file)
    if not valid then
        return nil, why
    end
    p.name, p.file = name, file
    return p
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
