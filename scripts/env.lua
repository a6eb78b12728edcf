-- eval "$(lua5.4 scripts/env.lua)"
-- Print the shell lines that let your own Lua scripts `require "pki"` and
-- the chainsmith modules (chainsmith.ca, policy) from this tree.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.env_cli").main(arg, boot)
