-- lua scripts/trust.lua install|uninstall|status [--store system|nss|java] [--out DIR]
-- Put the chain's root certificate (never the leaf) into the trust stores.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.trust_cli").main(arg, boot)
