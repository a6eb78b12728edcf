-- lua scripts/profiles.lua [--profiles DIR]
-- List every profile: its description and the settings that matter.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.profiles_cli").main(arg, boot)
