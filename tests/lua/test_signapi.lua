-- pki.signapi: the signing API mounted by pki.start_server{api = ...}, its
-- decision queue answered from Lua (api:next / api:answer), curl with a
-- client certificate recorded in ca.db as the caller; bad options.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()
local db = dir .. "/ca.db"
local store = assert(pki.open_store(db))
assert(c.root:save(dir .. "/root.pem"))
assert(c.inter:save(dir .. "/inter.pem"))

-- a client certificate the CA records, and its key
-- a shell command line run from dir (t.sh runs one command, without the sanitizer runtime)
local function sh(cmd)
    return t.sh("sh -c " .. t.quote("cd " .. t.quote(dir) .. " && " .. cmd))
end

local client_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
local cspec = t.leaf_spec("robot")
cspec.extended_key_usage = {"clientAuth"}
cspec.subject_alt_name = {email = {"robot@example.test"}}
local client = assert(store:issue(cspec, client_key, c.inter, c.inter_key, "client"))
assert(client:save(dir .. "/client.pem"))
assert(client_key:save(dir .. "/client.key"))
sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
    .. "-keyout csr.key -subj /CN=api.test -out csr.pem 2>/dev/null")
local csr_pem = assert(t.read_file(dir .. "/csr.pem"))
t.write_file(dir .. "/sign.json", ('{"csr":"%s","profile":"server"}')
    :format((csr_pem:gsub("\n", "\\n"))))

local function curl(port, path, data)
    return sh(("curl -s --max-time 30 --cacert root.pem --cert client.pem "
        .. "--key client.key --resolve localhost:%d:127.0.0.1 -w '\\n%%{http_code}' "
        .. "%s https://localhost:%d%s"):format(port,
        data and ("-H 'Content-Type: application/json' --data-binary @" .. data) or "",
        port, path))
end

t.expect_error("db is required", "db", pki.signapi, {base_url = "https://ca.test"})
t.expect_error("unknown option", "unknown option 'mtsl'", pki.signapi,
    {db = db, base_url = "https://ca.test", mtsl = true})
t.expect_fail("plain http base_url", "invalid", "base_url must be https", pki.signapi,
    {db = db, base_url = "http://ca.test", mtls = true})
t.expect_fail("no way to authenticate", "invalid", "no way to authenticate", pki.signapi,
    {db = db, base_url = "https://ca.test"})
t.expect_fail("an RSA token key", "invalid", "P%-256",  pki.signapi,
    {db = db, base_url = "https://ca.test",
     token_keys = {k = assert(assert(pki.generate_key{type = "rsa", bits = 2048}):public_pem())}})
t.expect_error("api must be a pki.signapi", "api: pki.signapi expected, got string",
    pki.start_server, {hosts = {"127.0.0.1"}, port = 0, cert = c.leaf, key = c.leaf_key,
    chain = {c.inter}, api = "x"})

t.case("sign and revoke answered from Lua", function()
    local api <close> = assert(pki.signapi{db = db, base_url = "https://ca.test",
        mtls = true, ask_timeout_ms = 20000})
    assert(tostring(api) == "pki.signapi")
    local srv <close> = assert(pki.start_server{hosts = {"127.0.0.1"}, port = 0,
        cert = c.leaf, key = c.leaf_key, chain = {c.inter}, threads = 4,
        client_ca = {c.root, c.inter}, client_cert = "request", api = api})
    local port = srv:port()
    -- the request waits for our answer: run curl in the background, answer, read its output
    local out = dir .. "/sign.out"
    os.execute(("(cd %s && env -u LD_PRELOAD curl -s --max-time 60 --cacert root.pem "
        .. "--cert client.pem --key client.key --resolve localhost:%d:127.0.0.1 "
        .. "-w '\\n%%{http_code}' "
        .. "-H 'Content-Type: application/json' --data-binary @sign.json "
        .. "https://localhost:%d/api/v1/sign > %s; touch %s.done) &")
        :format(t.quote(dir), port, port, t.quote(out), t.quote(out)))
    local ask
    for _ = 1, 300 do
        ask = api:next(100)
        if ask then break end
    end
    assert(ask, "no ask came")
    assert(ask.kind == "sign" and ask.auth == "mtls", ask.kind)
    assert(ask.client:find("CN=robot", 1, true), ask.client)
    assert(ask.client_serial == client:serial(), ask.client_serial)
    assert(ask.profile == "server")
    local csr = assert(pki.load_csr(ask.csr))
    local spec = t.leaf_spec("api.test")
    local leaf = assert(store:issue(spec, assert(csr:public_key()), c.inter, c.inter_key,
        "server"))
    -- a sign answer without a chain is refused, and the ask still waits
    local ok, msg, code = api:answer(ask.id, {ok = true})
    assert(ok == nil and code == "invalid" and msg:find("chain"), msg)
    assert(api:answer(ask.id, {ok = true, chain = leaf:pem() .. c.inter:pem(),
        serial = leaf:serial()}))
    -- answered twice: nobody waits any more
    ok, msg, code = api:answer(ask.id, {ok = true, chain = leaf:pem(), serial = leaf:serial()})
    assert(ok == nil and code == "notfound", msg)
    for _ = 1, 600 do
        if t.read_file(out .. ".done") then break end
        os.execute("sleep 0.1")
    end
    local body = assert(t.read_file(out))
    assert(body:match("\n201$"), body)
    assert(body:find('"serial":"' .. leaf:serial() .. '"', 1, true), body)

    -- revoke, refused by "policy" with its words
    t.write_file(dir .. "/revoke.json", ('{"serial":"%s"}'):format(leaf:serial()))
    os.execute(("(cd %s && env -u LD_PRELOAD curl -s --max-time 60 --cacert root.pem "
        .. "--cert client.pem --key client.key --resolve localhost:%d:127.0.0.1 "
        .. "-w '\\n%%{http_code}' "
        .. "-H 'Content-Type: application/json' --data-binary @revoke.json "
        .. "https://localhost:%d/api/v1/revoke > %s.r; touch %s.rdone) &")
        :format(t.quote(dir), port, port, t.quote(out), t.quote(out)))
    ask = nil
    for _ = 1, 300 do
        ask = api:next(100)
        if ask then break end
    end
    assert(ask and ask.kind == "revoke" and ask.serial == leaf:serial() and ask.reason == 0)
    assert(api:answer(ask.id, {ok = false, error = "rejected",
        detail = "robots may not revoke (rule api-revoke)"}))
    for _ = 1, 600 do
        if t.read_file(out .. ".rdone") then break end
        os.execute("sleep 0.1")
    end
    body = assert(t.read_file(out .. ".r"))
    assert(body:match("\n403$") and body:find("rule api%-revoke"), body)
    assert(store:status(leaf:serial()).status == "good")

    -- reading needs no answer
    body = curl(port, "/api/v1/certificates/" .. leaf:serial())
    assert(body:match("\n200$") and body:find('"status":"good"', 1, true), body)
    api:close()
    ok, msg, code = api:next(0)
    assert(ok == nil and code == "notfound", msg)
end)

t.case("ACME and the signing API on one server", function()
    local api <close> = assert(pki.signapi{db = db, base_url = "https://ca.test", mtls = true})
    local acme <close> = assert(pki.acme{db = db, base_url = "https://ca.test"})
    local srv <close> = assert(pki.start_server{hosts = {"127.0.0.1"}, port = 0,
        cert = c.leaf, key = c.leaf_key, chain = {c.inter}, threads = 4,
        client_ca = {c.root, c.inter}, client_cert = "request", api = api, acme = acme})
    local port = srv:port()
    local body = sh(("curl -s --max-time 30 --cacert root.pem --resolve "
        .. "localhost:%d:127.0.0.1 -w '\\n%%{http_code}' https://localhost:%d/acme/directory")
        :format(port, port))
    assert(body:match("\n200$") and body:find("newNonce", 1, true), body)
    body = curl(port, "/api/v1/certificates/" .. client:serial())
    assert(body:match("\n200$") and body:find("CN=robot", 1, true), body)
end)


-- The request watchdog gives a request about 5 s from its head
-- (csi_guard_body_ms); a decision may take the ask timeout (7 s here). A
-- sign answered after 6 s reaches the client, and a revoke nobody answers
-- is a 503 "unavailable" with Retry-After: neither a cut connection.
t.case("a decision slower than the body deadline is answered, not cut", function()
    local api <close> = assert(pki.signapi{db = db, base_url = "https://ca.test",
        mtls = true, ask_timeout_ms = 7000})
    local srv <close> = assert(pki.start_server{hosts = {"127.0.0.1"}, port = 0,
        cert = c.leaf, key = c.leaf_key, chain = {c.inter}, threads = 4,
        client_ca = {c.root, c.inter}, client_cert = "request", api = api})
    local port = srv:port()
    t.write_file(dir .. "/slow-revoke.json", ('{"serial":"%s"}'):format(client:serial()))
    for _, r in ipairs{{"slow-sign", "sign", "sign.json"}, {"slow-revoke", "revoke",
                                                             "slow-revoke.json"}} do
        -- curl's exit status is the last line: 0, or 52/56 for a cut connection
        os.execute(("(cd %s && env -u LD_PRELOAD curl -s -i --max-time 60 --cacert root.pem "
            .. "--cert client.pem --key client.key --resolve localhost:%d:127.0.0.1 "
            .. "-H 'Content-Type: application/json' --data-binary @%s "
            .. "https://localhost:%d/api/v1/%s > %s.out; echo \"exit $?\" >> %s.out; "
            .. "touch %s.done) &"):format(t.quote(dir), port, r[3], port, r[2], r[1], r[1],
            r[1]))
    end
    local sign, revoke
    for _ = 1, 600 do
        local ask = api:next(100)
        if ask and ask.kind == "sign" then
            sign = {id = ask.id, at = os.time(), csr = ask.csr}
        elseif ask then
            assert(ask.kind == "revoke", ask.kind)
            revoke = ask
        end
        if sign and revoke then break end
    end
    assert(sign and revoke, "the asks did not come")
    local leaf = assert(store:issue(t.leaf_spec("api.test"),
        assert(assert(pki.load_csr(sign.csr)):public_key()), c.inter, c.inter_key, "server"))
    -- 6 s after the ask (so after the request's head): past the body deadline
    os.execute("sleep " .. math.max(0, sign.at + 6 - os.time()) .. ".5")
    assert(api:answer(sign.id, {ok = true, chain = leaf:pem() .. c.inter:pem(),
        serial = leaf:serial()}))
    local function result(name)
        for _ = 1, 300 do
            if t.read_file(dir .. "/" .. name .. ".done") then
                return assert(t.read_file(dir .. "/" .. name .. ".out"))
            end
            os.execute("sleep 0.1")
        end
        error(name .. ": curl did not finish")
    end
    local text = result("slow-sign")
    assert(text:match("^HTTP/1.1 201") and text:find(leaf:serial(), 1, true)
        and text:match("exit 0\n$"), text)
    text = result("slow-revoke")
    assert(text:match("^HTTP/1.1 503") and text:match("\r\nRetry%-After: 5\r\n")
        and text:find('"unavailable"', 1, true) and text:match("exit 0\n$"), text)
    assert(store:status(client:serial()).status == "good")
end)

store:close()
t.cleanup()
t.done()
