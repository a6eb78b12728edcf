-- What each command loads: serve.lua serves a built chain and never needs
-- the policy, the profile loader or its sandbox (issue 11 §3). The real
-- command runs, in its own interpreter, until it stops on a missing chain;
-- os.exit then reports the modules it had loaded.
local t = require "testlib"

local lua = assert(os.getenv("CS_LUA"), "CS_LUA: the interpreter (set by ctest)")
local tmp = t.tmpdir()

-- The modules loaded when `lua scripts/<script> args...` exits.
local function loaded_by(script, args)
    local hook = "local exit = os.exit; os.exit = function(...) "
        .. "local f = assert(io.open(os.getenv('CS_LOADED_OUT'), 'w')) "
        .. "for name in pairs(package.loaded) do f:write(name, '\\n') end "
        .. "f:close(); return exit(...) end"
    local out = tmp .. "/loaded"
    os.remove(out)
    local cmd = ("CS_LOADED_OUT=%s %s -e %q ../../scripts/%s %s >/dev/null 2>&1")
        :format(out, lua, hook, script, args)
    os.execute(cmd)
    local f = io.open(out, "r")
    if not f then
        return nil
    end
    local names = {}
    for line in f:lines() do
        names[line] = true
    end
    f:close()
    return names
end

local serve = loaded_by("serve.lua", "--port 0 --chain " .. tmp .. "/no-chain")
t.case("serve.lua ran its runtime", function()
    assert(serve, "serve.lua did not exit through os.exit")
    assert(serve["chainsmith.server_runtime"] and serve["chainsmith.layout"],
        "the runtime was not loaded: the test would prove nothing")
end)
for _, name in ipairs { "policy", "chainsmith.policy_engine", "chainsmith.profile",
    "chainsmith.sandbox", "chainsmith.chain" } do
    t.check("serve.lua does not load " .. name, serve and not serve[name],
        serve and (name .. " is loaded") or "no list")
end

t.cleanup()
t.done()
