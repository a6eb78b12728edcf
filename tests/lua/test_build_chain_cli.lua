-- build_chain.lua reads its usual command lines without loading argparse
-- (quick_parse): every command line it takes must give exactly the options
-- argparse gives, and any it cannot match exactly goes to argparse.
package.path = "../../scripts/?.lua;" .. package.path
local cli = require "chainsmith.build_chain_cli"

local t = require "testlib"

local defaults = { chain = "chain", profiles = "scripts/profiles" }

local function show(v)
    if type(v) ~= "table" then
        return tostring(v)
    end
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = k
    end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = k .. "=" .. show(v[k])
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end

-- quick_parse's answer for args against argparse's: nil when they agree (or
-- quick_parse hands args on), else the disagreement in words.
local function disagreement(args)
    local quick = cli.quick_parse(args, defaults)
    if quick == nil then
        return nil -- argparse parses or explains
    end
    local ok, full = cli.new_parser(defaults):pparse(args)
    if not ok then
        return ("%s: quick_parse takes it, argparse refuses it: %s"):format(show(args), full)
    end
    if show(quick) ~= show(full) then
        return ("%s: quick_parse %s, argparse %s"):format(show(args), show(quick), show(full))
    end
    return nil
end

-- Every option it handles, with values that look like trouble.
local options = {
    { "--force" },
    { "--chain", "dir" },
    { "--profiles", "my profiles" },
    { "--passphrase-env", "CS_PASS" },
    { "--passphrase-file", "=x" },
}

-- Every subset of the options, in every order: 326 command lines.
local function permutations(list, prefix, visit)
    if #list == 0 then
        return visit(prefix)
    end
    for i = 1, #list do
        local rest, next_prefix = {}, table.move(prefix, 1, #prefix, 1, {})
        for j = 1, #list do
            if j ~= i then
                rest[#rest + 1] = list[j]
            end
        end
        next_prefix[#next_prefix + 1] = list[i]
        permutations(rest, next_prefix, visit)
    end
end

local lines, quick_taken = 0, 0
for mask = 0, (1 << #options) - 1 do
    local chosen = {}
    for i, o in ipairs(options) do
        if mask & (1 << (i - 1)) ~= 0 then
            chosen[#chosen + 1] = o
        end
    end
    permutations(chosen, {}, function(order)
        local args = {}
        for _, o in ipairs(order) do
            table.move(o, 1, #o, #args + 1, args)
        end
        lines = lines + 1
        if cli.quick_parse(args, defaults) then
            quick_taken = quick_taken + 1
        end
        t.check("agrees: " .. table.concat(args, " "), disagreement(args) == nil,
            disagreement(args))
    end)
end
t.check("every subset in every order was tried", lines == 326, lines)
-- (all but those holding both passphrase options, which argparse refuses)
t.check("quick_parse takes the rest", quick_taken == 114, quick_taken)

-- Command lines it must hand on (argparse explains or parses them), and a
-- few more it takes: all agree.
for _, args in ipairs {
    {}, { "--out" }, { "--out", "--force" }, { "--out", "-x" }, { "--out=dir" },
    { "--force", "--force" }, { "--out", "a", "--out", "b" }, { "--help" }, { "-h" },
    { "dir" }, { "--bogus" }, { "--out", "" }, { "--profiles", "p", "extra" },
    { "--passphrase-env", "A", "--passphrase-file", "B" }, { "--for" }, { "--", "--force" },
    { "--out", "dir" }, { "--out", "a", "--chain", "b" }, { "--chain", "a", "--out", "b" },
    { "--chain" }, { "--chain=dir" }, { "--version" },
} do
    t.check("agrees: " .. show(args), disagreement(args) == nil, disagreement(args))
end

-- What it hands on, by name: the cases argparse alone can explain.
for _, args in ipairs {
    { "--out" }, { "--out", "-x" }, { "--out=dir" }, { "--force", "--force" }, { "--help" },
    { "--passphrase-env", "A", "--passphrase-file", "B" }, { "--out", "a", "--chain", "b" },
    { "--version" },
} do
    t.check("handed to argparse: " .. show(args), cli.quick_parse(args, defaults) == nil)
end

t.done()
