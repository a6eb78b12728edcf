-- The CA database on PostgreSQL from Lua: pki.open_store with a URL and a
-- node id, the store's methods against it, layout's choice of database
-- (--db, CHAINSMITH_DB) and a chain built, issued from, revoked and listed
-- with the chainsmith modules. Run by tests/e2e/store_pg.sh, which starts
-- the cluster and gives its URL in CS_PG_URL.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local layout = require "chainsmith.layout"

local url = assert(os.getenv("CS_PG_URL"), "CS_PG_URL: unset (run through e2e/store_pg.sh)")

t.case("open_store: URL, node, the store's methods", function()
    local a <close> = assert(pki.open_store(url, { node = "lua-a" }))
    local b <close> = assert(pki.open_store(url, { node = "lua-b" }))
    local k = assert(pki.generate_key { type = "ec", curve = "P-256" })
    local root = assert(a:issue(t.root_spec(), k, nil, k, "root"))
    local leaf = assert(a:issue(t.leaf_spec(), k, root, k, "server"))
    local other = assert(b:issue(t.leaf_spec(), k, root, k, "server"))
    local issuer = root:info().subject_line
    assert(#leaf:serial() == 38 and leaf:serial():sub(1, 6) ~= other:serial():sub(1, 6),
        leaf:serial() .. " " .. other:serial())
    assert(b:count() == 3)
    local found, profile = assert(b:find(leaf:serial()))
    assert(found:serial() == leaf:serial() and profile == "server")
    assert(b:status(leaf:serial(), issuer).status == "good")
    assert(a:revoke(leaf:serial(), { issuer = issuer, reason = "keyCompromise" }) == true)
    assert(b:status(leaf:serial(), issuer).status == "revoked")
    local ok, msg, code = b:revoke(leaf:serial(), { reason = "superseded" })
    assert(ok == nil and code == "exists" and msg:find("keyCompromise"), msg)
    local list = assert(b:revoked(issuer))
    assert(#list == 1 and list[1].serial == leaf:serial())
    assert(a:next_crl_number(issuer) == 1 and b:next_crl_number(issuer) == 2)
    local rows = assert(b:list { status = "revoked" })
    assert(#rows == 1 and rows[1].serial == leaf:serial())
end)

t.case("open_store: refusals", function()
    local s, msg, code = pki.open_store(url, { nodes = "x" })
    assert(s == nil and code == "invalid" and msg:find("unknown option nodes"), msg)
    s, msg, code = pki.open_store(url, { node = 7 })
    assert(s == nil and code == "invalid" and msg:find("node"), msg)
    s, msg, code = pki.open_store(url, { node = "" })
    assert(s == nil and code == "invalid" and msg:find("node id"), msg)
    s, msg, code = pki.open_store("postgresql://u:hush@/none?host=/nonexistent")
    assert(s == nil and code == "db" and msg:find("postgresql://u@/none", 1, true)
        and not msg:find("hush"), msg)
end)

t.case("layout: --db, CHAINSMITH_DB, the default", function()
    assert(layout.files("x").db == (os.getenv("CHAINSMITH_DB") or "x/ca.db"))
    assert(layout.check_db("postgresql:///a") and layout.check_db("chain/other.db"))
    local ok, msg = layout.check_db("chain/ca.txt")
    assert(ok == nil and msg:find("postgresql://"), msg)
    assert(layout.db_name("postgresql://u:pw@h/db?password=pw") == "postgresql://u@h/db")
    assert(layout.exists(url) and layout.present(url))
    layout.use_db(url, "lua-node")
    assert(layout.files("x").db == url and layout.node() == "lua-node")
end)

t.case("chainsmith: build, issue, revoke, list on PostgreSQL", function()
    local dir = t.tmpdir() .. "/chain"
    local script = here .. "/../../scripts"
    local lua = os.getenv("CS_LUA") or "lua5.4"
    local env = ("CHAINSMITH_DB=%s CHAINSMITH_NODE=lua-cli "):format(t.quote(url))
    -- os.execute, not t.sh: the child interpreter keeps LD_PRELOAD (the ASan build needs it)
    assert(os.execute(env .. lua .. " " .. script .. "/build_chain.lua --out " .. dir
        .. " >/dev/null"))
    local f = io.open(dir .. "/ca.db")
    assert(f == nil, "ca.db written beside a PostgreSQL database")
    local ca <close> = assert(require("chainsmith.ca").open { dir = dir })
    local r = assert(ca:issue { profile = "client", names = { "pg.clients.internal" } })
    assert(r.cert:serial():sub(1, 6) == pki.open_store(url, { node = "lua-node" }):issue(
        t.root_spec(), r.key, nil, r.key, "x"):serial():sub(1, 6))
    local rows = assert(require("chainsmith.list").query(dir, {}, os.time()))
    local seen = false
    for _, row in ipairs(rows) do
        seen = seen or row.serial == r.cert:serial()
    end
    assert(seen, "the issued certificate is listed")
end)

t.cleanup()
t.done()
