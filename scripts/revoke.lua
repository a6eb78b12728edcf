-- lua scripts/revoke.lua (--serial HEX | --cert FILE) [--reason REASON] [--out DIR]
-- Revoke a certificate in ca.db and sign its issuer's CRL again.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.revoke_cli").main(arg, boot)
