-- Refusals in words that point at the fix: which names an issuer's name
-- constraints permit or exclude. Core decided (cert:permits); this only
-- names the lists it decided by.
local refusal = {}

-- "outside the permitted DNS names (localhost, test)", "inside the excluded
-- IP names (...)", both joined by "or"; nil when the issuer lists none of
-- that kind. kind: "dns", "ip", "email" or "uri"; nc: info().name_constraints.
function refusal.against(kind, nc)
    local permitted = ((nc or {}).permitted or {})[kind] or {}
    local excluded = ((nc or {}).excluded or {})[kind] or {}
    local parts = {}
    if #permitted > 0 then
        parts[#parts + 1] = ("outside the permitted %s names (%s)")
            :format(kind:upper(), table.concat(permitted, ", "))
    end
    if #excluded > 0 then
        parts[#parts + 1] = ("inside the excluded %s names (%s)")
            :format(kind:upper(), table.concat(excluded, ", "))
    end
    return #parts > 0 and table.concat(parts, " or ") or nil
end

-- "DNS:example.com is outside the permitted DNS names (localhost, test)".
function refusal.outside(label, kind, nc)
    local why = refusal.against(kind, nc)
    if not why then
        return label .. " is not permitted by the issuer's name constraints"
    end
    return label .. " is " .. why
end

return refusal
