-- lua scripts/build_chain.lua [--chain DIR] [--profiles DIR] [--force]
--                             [--passphrase-env VAR | --passphrase-file FILE]
-- Build the root, intermediate and server certificates from the profiles.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
local boot = require "chainsmith.boot"
require("chainsmith.build_chain_cli").main(arg, boot)
