-- pki.server: HTTPS over the chain, port 0, failures, lifetime of borrowed objects.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local c = t.chain()
local root_pem = dir .. "/root.pem"
assert(c.root:save(root_pem))

local function fetch(port, path)
    return t.sh(("curl -s --max-time 10 --cacert %s --resolve localhost:%d:127.0.0.1 "
                 .. "https://localhost:%d%s"):format(t.quote(root_pem), port, port, path or "/"))
end

local function config(changes)
    local cfg = {hosts = {"127.0.0.1"}, port = 0, cert = c.leaf, chain = {c.inter},
                 key = c.leaf_key, threads = 2,
                 routes = {["/"] = {type = "text/plain", body = "Hello, World!"},
                           ["/root.pem"] = {type = "application/x-pem-file",
                                            body = c.root:pem()}}}
    for k, v in pairs(changes or {}) do cfg[k] = v end
    return cfg
end

t.case("serve a route over the chain on port 0", function()
    local srv <close> = assert(pki.start_server(config()))
    local port = srv:port()
    assert(math.type(port) == "integer" and port > 0)
    assert(tostring(srv) == "pki.server (port " .. port .. ")")
    local body = fetch(port)
    assert(body == "Hello, World!", body)
    assert(fetch(port, "/root.pem") == c.root:pem():gsub("\n$", ""))
end)

t.case("www serves files next to the routes", function()
    local www = t.tmpdir()
    t.write_file(www .. "/hello.txt", "from disk\n")
    local srv <close> = assert(pki.start_server(config{www = www}))
    assert(fetch(srv:port(), "/hello.txt") == "from disk")
    assert(fetch(srv:port()) == "Hello, World!")
end)

-- "Reused" or "New" for a TLS 1.2 connection that offers the session of the one before.
local function second_handshake(port)
    local out = t.sh(("openssl s_client -connect 127.0.0.1:%d -tls1_2 -reconnect </dev/null "
                      .. "2>&1 | grep -E '^(New|Reused),' | tail -1"):format(port))
    return out:match("^(%a+),")
end

t.case("resumption is on by default and off with resumption = false", function()
    local on <close> = assert(pki.start_server(config()))
    assert(second_handshake(on:port()) == "Reused")
    local on2 <close> = assert(pki.start_server(config{resumption = true}))
    assert(second_handshake(on2:port()) == "Reused")
    local off <close> = assert(pki.start_server(config{resumption = false}))
    assert(second_handshake(off:port()) == "New")
    assert(fetch(off:port()) == "Hello, World!")
end)

t.case("port in use is a server failure", function()
    local srv <close> = assert(pki.start_server(config()))
    local ok, msg, code = pki.start_server(config{port = srv:port()})
    assert(ok == nil and code == "server", tostring(code) .. ": " .. tostring(msg))
end)

t.expect_fail("key that does not match the leaf", "mismatch", "does not match", pki.start_server,
              config{key = c.root_key})

t.case("borrowed objects outlive their Lua names", function()
    local srv
    do
        assert(c.leaf_key:save(dir .. "/k.pem"))
        local key <close> = assert(pki.read_key(dir .. "/k.pem"))
        local leaf <close> = assert(pki.load_cert(c.leaf:pem()))
        srv = assert(pki.start_server(config{key = key, cert = leaf, routes = {
            ["/"] = {body = "still here"}}}))
    end
    collectgarbage()
    collectgarbage()
    local body = fetch(srv:port())
    assert(body == "still here", body)
    srv:stop()
    srv:stop()
    local ok, err = pcall(srv.port, srv)
    assert(not ok and err:find("attempt to use a closed pki.server"), err)
end)

t.case("a server left to the collector stops", function()
    local port
    do
        local srv = assert(pki.start_server(config()))
        port = srv:port()
    end
    collectgarbage()
    collectgarbage()
    -- the port is free again: a new server can take it
    local again <close> = assert(pki.start_server(config{port = port}))
    assert(again:port() == port)
end)

t.case("wait_for_signal times out with nil", function()
    assert(pki.wait_for_signal(50) == nil)
end)

t.case("wait_for_signal sees SIGTERM", function()
    local pid = t.sh("echo $PPID")  -- the shell's parent: this interpreter
    os.execute(("(sleep 0.2; kill -TERM %s) &"):format(pid))
    assert(pki.wait_for_signal(5000) == "SIGTERM")
end)

t.expect_error("start_server with a string", "bad argument #1", pki.start_server, "cfg")
t.expect_error("start_server with an unknown option", "unknown option 'prot'", pki.start_server,
               config{prot = 1})
t.expect_error("start_server with a string as key", "key: pki.key expected", pki.start_server,
               config{key = "key.pem"})
t.expect_error("start_server with resumption as a string", "resumption: boolean expected",
               pki.start_server, config{resumption = "no"})
t.expect_error("start_server route without a body", "body: string expected",
               pki.start_server, config{routes = {["/"] = {type = "text/plain"}}})

collectgarbage()
t.cleanup()
t.done()
