-- lua scripts/renew.lua [--out DIR] [--profiles DIR] [--dry-run] [--force]
-- Renew the server certificate when it is due (or now, with --force).
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.renew_cli").main(arg, boot)
