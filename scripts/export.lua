-- lua scripts/export.lua --cert FILE --out FILE.p12 (--password-env VAR | --password-file FILE)
-- Bundle a certificate, its key and its chain into a password-protected PKCS#12 file.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.export_cli").main(arg, boot)
