-- JSON out, for --json: lua-cjson encodes the strings and numbers; this walk
-- adds what it cannot do, an empty array that stays an array ([] rather than
-- cjson's {}) and object keys in sorted order, so output is stable to diff.
local cjson = require "cjson"

local json = {}

local array_mt = { __name = "json.array" }

-- Mark t (default: a new table) as an array, even when empty.
function json.array(t)
    return setmetatable(t or {}, array_mt)
end

local function encode(v, out)
    if type(v) ~= "table" then
        out[#out + 1] = cjson.encode(v)
    elseif getmetatable(v) == array_mt then
        out[#out + 1] = "["
        for i, x in ipairs(v) do
            if i > 1 then out[#out + 1] = "," end
            encode(x, out)
        end
        out[#out + 1] = "]"
    else
        local keys = {}
        for k in pairs(v) do
            keys[#keys + 1] = assert(type(k) == "string" and k, "json: object keys are strings")
        end
        table.sort(keys)
        out[#out + 1] = "{"
        for i, k in ipairs(keys) do
            if i > 1 then out[#out + 1] = "," end
            out[#out + 1] = cjson.encode(k)
            out[#out + 1] = ":"
            encode(v[k], out)
        end
        out[#out + 1] = "}"
    end
end

-- One line of JSON.
function json.encode(v)
    local out = {}
    encode(v, out)
    return table.concat(out)
end

json.null = cjson.null

return json
