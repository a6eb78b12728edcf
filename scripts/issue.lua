-- lua scripts/issue.lua --profile NAME (--csr FILE | --name NAME...) [--out DIR]
-- Issue a leaf certificate from the intermediate, under a profile and policy.lua.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.issue_cli").main(arg, boot)
