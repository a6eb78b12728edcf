-- pki.acme: options, the decision queue's Lua face (next, answer, close),
-- and the server mounting it at /acme, with python3-acme as the client.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()
local root_pem = dir .. "/root.pem"
assert(c.root:save(root_pem))
local db = dir .. "/ca.db"

t.case("options: missing, mistyped and unknown ones raise; bad values fail", function()
    t.expect_error("db missing", "db", pki.acme, {base_url = "https://localhost"})
    t.expect_error("unknown option", "unknown option 'bse_url'", pki.acme,
                   {db = db, bse_url = "https://localhost"})
    t.expect_error("validation.port typo", "unknown option 'port'", pki.acme,
                   {db = db, base_url = "https://localhost", validation = {port = 1}})
    t.expect_error("eab.keys values", "eab.keys", pki.acme,
                   {db = db, base_url = "https://localhost", eab = {keys = {k = 1}}})
    t.expect_fail("trailing slash", "invalid", "trailing", pki.acme,
                  {db = db, base_url = "https://localhost/"})
    t.expect_fail("eab required without keys", "invalid", "eab.required without eab.keys",
                  pki.acme, {db = db, base_url = "https://localhost", eab = {required = true}})
    t.expect_fail("short HMAC key", "invalid", "eab.keys%[k%]", pki.acme,
                  {db = db, base_url = "https://localhost", eab = {keys = {k = "c2hvcnQ"}}})
end)

t.case("next times out with nil, answer for nobody is notfound, close drains", function()
    local acme <close> = assert(pki.acme{db = db, base_url = "https://localhost:1"})
    assert(pki.type(acme) == "pki.acme")
    assert(tostring(acme) == "pki.acme")
    assert(acme:next(10) == nil)
    assert(acme:next() == nil)
    t.expect_fail("answer nobody waits for", "notfound", "no ask 77", acme.answer, acme, 77,
                  {ok = true})
    t.expect_error("answer field typo", "unknown option 'profil'", acme.answer, acme, 1,
                   {ok = true, profil = "server"})
    t.expect_error("answer without ok", "ok", acme.answer, acme, 1, {})
    acme:close()
    local none, msg, code = acme:next(10)
    assert(none == nil and msg:match("closed") and code == "notfound", tostring(msg))
end)

t.case("a closed pki.acme cannot be used", function()
    local acme = assert(pki.acme{db = db, base_url = "https://localhost:1"})
    getmetatable(acme).__close(acme)
    assert(tostring(acme) == "pki.acme (closed)")
    t.expect_error("next on closed", "closed pki.acme", acme.next, acme, 1)
    t.expect_error("mount closed", "closed pki.acme", pki.start_server,
                   {hosts = {"127.0.0.1"}, port = 0, cert = c.leaf, chain = {c.inter},
                    key = c.leaf_key, acme = acme})
end)

-- A port free now: a server on port 0, stopped.
local function free_port()
    local s = assert(pki.start_server{hosts = {"127.0.0.1"}, port = 0, cert = c.leaf,
                                      chain = {c.inter}, key = c.leaf_key})
    local port = s:port()
    s:stop()
    return port
end

local client = [[
import os, sys
for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(k, None)
import josepy as jose
from acme import client, errors, messages
from cryptography.hazmat.primitives.asymmetric import ec
url, ca, what = sys.argv[1], sys.argv[2], sys.argv[3]
net = client.ClientNetwork(jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())),
                           alg=jose.ES256, verify_ssl=ca)
acme = client.ClientV2(client.ClientV2.get_directory(url, net), net)
try:
    r = acme.new_account(messages.NewRegistration.from_data(email=what + "@example.test",
                                                            terms_of_service_agreed=True))
    print("created", r.body.status)
except errors.Error as e:
    print("refused", getattr(e, "typ", ""), getattr(e, "detail", ""))
]]

t.case("mounted at /acme: asks reach Lua as tables, answers reach the client", function()
    local port = free_port()
    local base = "https://127.0.0.1:" .. port
    local acme = assert(pki.acme{db = db, base_url = base, terms = base .. "/terms",
                                 chain = c.inter:pem(), ask_timeout_ms = 60000})
    local srv <close> = assert(pki.start_server{hosts = {"127.0.0.1"}, port = port,
                                                cert = c.leaf, chain = {c.inter},
                                                key = c.leaf_key, acme = acme})
    assert(srv:port() == port)
    local out = t.sh(("curl -sS --max-time 10 --cacert %s %s/acme/directory")
                     :format(t.quote(root_pem), base))
    assert(out:match('"newAccount":"' .. base:gsub("%p", "%%%0") .. '/acme/new%-account"'), out)
    assert(out:match('"termsOfService"'), out)
    local head = t.sh(("curl -sS -I --max-time 10 --cacert %s %s/acme/new-nonce")
                      :format(t.quote(root_pem), base))
    assert(head:match("^HTTP/1.1 200") and head:match("Replay%-Nonce: [%w_-]+"), head)
    t.write_file(dir .. "/client.py", client)
    local function run_client(what)
        local result = dir .. "/" .. what .. ".out"
        os.execute(("/usr/bin/python3 %s %s/acme/directory %s %s > %s 2>&1 &")
                   :format(t.quote(dir .. "/client.py"), base, t.quote(root_pem), what,
                           t.quote(result)))
        local ask
        for _ = 1, 600 do
            ask = acme:next(100)
            if ask then break end
        end
        assert(ask, "no ask came")
        assert(ask.kind == "account" and math.type(ask.id) == "integer", tostring(ask.kind))
        assert(type(ask.account.id) == "string" and #ask.account.id == 22)
        assert(ask.account.contact[1] == "mailto:" .. what .. "@example.test",
               tostring(ask.account.contact[1]))
        if what == "bob" then
            assert(acme:answer(ask.id, {ok = false, type = "unauthorized",
                                        detail = "no bobs here"}))
        else
            -- an answer that does not fit the ask: invalid, and it still waits
            t.expect_fail("bad type", "invalid", "not an RFC 8555 error type", acme.answer,
                          acme, ask.id, {ok = false, type = "nope"})
            assert(acme:answer(ask.id, {ok = true}))
        end
        for _ = 1, 600 do
            local f = io.open(result)
            local text = f and f:read("a") or ""
            if f then f:close() end
            if text:match("\n$") then return text end
            os.execute("sleep 0.1")
        end
        error("the client did not finish")
    end
    local text = run_client("alice")
    assert(text:match("^created valid"), text)
    text = run_client("bob")
    assert(text:match("^refused urn:ietf:params:acme:error:unauthorized no bobs here"), text)
    -- the server holds the acme object: dropping ours changes nothing it serves
    acme = nil
    collectgarbage()
    out = t.sh(("curl -sS --max-time 10 --cacert %s %s/acme/directory")
               :format(t.quote(root_pem), base))
    assert(out:match("newNonce"), out)
end)

-- A raw newAccount (tests/acme/acmeraw.py), printing the status, Retry-After
-- and the problem type, or how the connection failed.
local slow_client = [[
import sys
sys.path.insert(0, sys.argv[1])
from acmeraw import Key, Server
url, ca, who = sys.argv[2], sys.argv[3], sys.argv[4]
server = Server(url, ca, timeout=60)
try:
    r = server.post(Key(), server.dir["newAccount"],
                    {"termsOfServiceAgreed": True, "contact": ["mailto:" + who + "@example.test"]})
    body = r.json()
    print(r.status_code, r.headers.get("Retry-After"), body.get("type") or body.get("status"))
except Exception as e:
    print("failed", type(e).__name__, e)
]]

-- The request watchdog gives a request about 5 s from its head
-- (csi_guard_body_ms); a decision may take the ask timeout (7 s here). A
-- decision that comes after 6 s is the client's answer, and one that never
-- comes is a 503 serverInternal with Retry-After: neither a cut connection.
t.case("a decision slower than the body deadline is answered, not cut", function()
    local port = free_port()
    local base = "https://127.0.0.1:" .. port
    local acme <close> = assert(pki.acme{db = dir .. "/slow.db", base_url = base,
                                         chain = c.inter:pem(), ask_timeout_ms = 7000})
    local srv <close> = assert(pki.start_server{hosts = {"127.0.0.1"}, port = port,
                                                cert = c.leaf, chain = {c.inter},
                                                key = c.leaf_key, acme = acme})
    assert(srv:port() == port)
    t.write_file(dir .. "/slow.py", slow_client)
    local acme_dir = (arg[0]:match("(.-)[^/]*$") or "./") .. "../acme"
    for _, who in ipairs{"slow", "never"} do
        os.execute(("env -u LD_PRELOAD /usr/bin/python3 %s %s %s/acme/directory %s %s"
                    .. " > %s 2>&1 &"):format(t.quote(dir .. "/slow.py"), t.quote(acme_dir),
                    base, t.quote(root_pem), who, t.quote(dir .. "/" .. who .. ".out")))
    end
    local slow, never
    for _ = 1, 600 do
        local ask = acme:next(100)
        if ask then
            local contact = ask.account.contact[1]
            if contact == "mailto:slow@example.test" then
                slow = {id = ask.id, at = os.time()}
            else
                assert(contact == "mailto:never@example.test", contact)
                never = ask
            end
        end
        if slow and never then break end
    end
    assert(slow and never, "the asks did not come")
    -- 6 s after the ask (so after the request's head): past the body deadline
    os.execute("sleep " .. math.max(0, slow.at + 6 - os.time()) .. ".5")
    assert(acme:answer(slow.id, {ok = true}))
    local function result(who)
        for _ = 1, 300 do
            local text = t.read_file(dir .. "/" .. who .. ".out") or ""
            if text:match("\n$") then return text end
            os.execute("sleep 0.1")
        end
        error(who .. ": the client did not finish")
    end
    local text = result("slow")
    assert(text:match("^201 None valid"), text)
    text = result("never")
    assert(text:match("^503 5 urn:ietf:params:acme:error:serverInternal"), text)
end)

t.done()
