-- lua scripts/inspect.lua [--json] [--password-env VAR | --password-file FILE] FILE...
-- Show what certificates, chains, CRLs, CSRs, keys and PKCS#12 files hold.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
require "chainsmith.boot"
require("chainsmith.inspect_cli").main(arg)
