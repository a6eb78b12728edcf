-- lua scripts/serve.lua [--port N] [--chain DIR] [--www DIR] [--listen ADDR]...
-- Serve www/ over HTTPS with the chain build_chain.lua made.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.serve_cli").main(arg, boot)
