-- lua scripts/migrate_db.lua [--chain DIR] [--from FILE] --to URL [--json]
-- Copy a chain's SQLite ca.db into an empty PostgreSQL database.
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/?.lua;" .. package.path
require "chainsmith.boot"
require("chainsmith.migrate_db_cli").main(arg)
