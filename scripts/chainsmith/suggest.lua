-- Messages that point at the fix: the nearest valid name to a misspelt one,
-- and the line of a file where a word stands.
local suggest = {}

-- Levenshtein distance with adjacent swaps counted as one edit (optimal
-- string alignment), ASCII case ignored: "validty_days" is 1 from
-- "validity_days", "digitalSignture" 1 from "digitalSignature".
function suggest.distance(a, b)
    a, b = a:lower(), b:lower()
    local prev2, prev = {}, {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
        local cur = { [0] = i }
        for j = 1, #b do
            local cost = a:byte(i) == b:byte(j) and 0 or 1
            local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
                d = math.min(d, prev2[j - 2] + 1)
            end
            cur[j] = d
        end
        prev2, prev = prev, cur
    end
    return prev[#b]
end

-- The candidate nearest to word, if it is near enough to be what was
-- meant (at most a third of the word's letters off, and at least 1, at
-- most 3); else nil.
function suggest.nearest(word, candidates)
    local best, best_d
    local limit = math.max(1, math.min(3, #word // 3))
    for _, c in ipairs(candidates) do
        local d = suggest.distance(word, c)
        if d <= limit and (not best_d or d < best_d) then
            best, best_d = c, d
        end
    end
    return best
end

-- " (did you mean 'x'? one of: a, b, c)" for a word not among candidates.
function suggest.hint(word, candidates, label)
    local near = suggest.nearest(tostring(word), candidates)
    local sorted = table.move(candidates, 1, #candidates, 1, {})
    table.sort(sorted, function(x, y) return x:lower() < y:lower() end)
    return (" (%s%s: %s)"):format(near and ("did you mean '%s'? "):format(near) or "",
        label or "one of", table.concat(sorted, ", "))
end

-- The number of the first line of text where word stands as a whole word
-- (a table key `word =`, or a string "word"), or nil.
function suggest.line(text, word)
    if type(text) ~= "string" or type(word) ~= "string" or word == "" then
        return nil
    end
    local escaped = word:gsub("%p", "%%%0")
    local n = 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        local code = line:gsub("%-%-.*$", "")
        if code:find("%f[%w_]" .. escaped .. "%f[^%w_]") then
            return n
        end
    end
    return nil
end

return suggest
