-- Numbers from the command line: decimal digits only. tonumber also takes
-- "0x10" (16), "1e3", " 7 " and "7.0", so `--days 0x10` meant 16 days.
local number = {}

-- The whole number s spells in decimal digits, within [min, max] when
-- given: the integer, or nil and why not ("expected ..., got '0x10'").
function number.decimal(s, min, max)
    local n = type(s) == "string" and s:find("^%d+$") and #s <= 18 and math.tointeger(tonumber(s))
    local range = min and max and (" from %d to %d"):format(min, max)
        or min and (" >= %d"):format(min) or ""
    if not n or (min and n < min) or (max and n > max) then
        return nil, ("expected a whole number%s in decimal digits, got '%s'")
            :format(range, tostring(s))
    end
    return n
end

-- An argparse converter for option `name` (as the user types it): the
-- number, or nil and "--days: expected ...".
function number.option(name, min, max)
    return function(s)
        local n, why = number.decimal(s, min, max)
        if not n then
            return nil, name .. ": " .. why
        end
        return n
    end
end

return number
