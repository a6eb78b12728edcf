-- lua scripts/lint.lua FILE... [--json]
-- Lint certificates against the rules cs_cert_sign enforces (docs/lint.md).
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
require "chainsmith.boot" -- checks the interpreter, finds the pki module
os.exit(require("chainsmith.lint_cli").main(arg))
