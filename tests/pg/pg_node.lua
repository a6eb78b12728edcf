-- Test helper (not a user command) for the multi-node tests: one node, a
-- chain folder of its own and the shared PostgreSQL database, issuing
-- client certificates and printing "SERIAL" for each one recorded
-- (flushed, so a killed node says how far it got).
--
--   lua pg_node.lua REPO CHAIN URL NODE ca COUNT      chainsmith.ca, as issue.lua
--   lua pg_node.lua REPO CHAIN URL NODE durable COUNT store:issue per certificate
--   lua pg_node.lua REPO CHAIN URL NODE bulk COUNT    store:issue, batches of 100
--   lua pg_node.lua REPO CHAIN URL NODE crl FILE      sign the intermediate's CRL
--                                                     now (chainsmith.crl), DER in FILE
--
-- COUNT 0: until killed. ca is what the scripts do (a batch per
-- certificate: sign, record, commit); durable reserves each serial as a
-- pending row first, signs with no transaction open, then records it.
local repo, chain, url, node, mode, count = table.unpack(arg, 1, 6)
package.path = repo .. "/scripts/?.lua;" .. package.path
local pki = require "pki"
local layout = require "chainsmith.layout"

layout.use_db(url, node)
local out = io.stdout

if mode == "crl" then
    local files = layout.files(chain)
    local store <close> = assert(layout.open_store(files.db))
    local cert = assert(pki.read_cert(files.intermediate.cert))
    local key = assert(pki.read_key(files.intermediate.key))
    assert(store:begin())
    local r, entries = assert(require("chainsmith.crl").sign(store, chain, "intermediate",
        cert, key, 7))
    assert(store:commit())
    local f = assert(io.open(count, "wb"))
    f:write(assert(entries[1].crl:der()))
    f:close()
    print(r.number, r.revoked)
    return
end

count = math.tointeger(tonumber(count))
assert(count, "COUNT: a number")

local function say(serial)
    out:write(serial, "\n")
    out:flush()
end

if mode == "ca" then
    local ca <close> = assert(require("chainsmith.ca").open { dir = chain })
    local i = 0
    while count == 0 or i < count do
        local name = ("%s-%d.clients.internal"):format(node, i)
        local r = assert(ca:issue { profile = "client", names = { name } })
        say(r.serial)
        i = i + 1
    end
    return
end

local files = layout.files(chain)
local store <close> = assert(layout.open_store(files.db))
local issuer = assert(pki.read_cert(files.intermediate.cert))
local issuer_key = assert(pki.read_key(files.intermediate.key))
local key = assert(pki.generate_key { type = "ec", curve = "P-256" })
local function spec(i)
    local name = ("%s-%d.clients.internal"):format(node, i)
    return {
        subject = { { "C", "SE" }, { "O", "Simple Inc" }, { "CN", name } },
        validity_days = 30,
        basic_constraints = { critical = false, ca = false },
        key_usage = { critical = true, "digitalSignature" },
        extended_key_usage = { "clientAuth" },
        subject_alt_name = { dns = { name } },
        subject_key_id = true,
        authority_key_id = true,
    }
end
local batch = mode == "bulk" and 100 or 1
local i = 0
while count == 0 or i < count do
    local serials = {}
    if batch > 1 then
        assert(store:begin())
    end
    for _ = 1, batch do
        if count ~= 0 and i >= count then
            break
        end
        local cert = assert(store:issue(spec(i), key, issuer, issuer_key, "client"))
        serials[#serials + 1] = cert:serial()
        i = i + 1
    end
    if batch > 1 then
        assert(store:commit())
    end
    for _, s in ipairs(serials) do
        say(s)
    end
end
