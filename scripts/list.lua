-- lua scripts/list.lua [--chain DIR] [--status good|revoked|expired]
--                      [--profile NAME] [--name SUBSTRING] [--json]
-- List what the chain's CA issued, from ca.db.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
require "chainsmith.boot"
require("chainsmith.list_cli").main(arg)
