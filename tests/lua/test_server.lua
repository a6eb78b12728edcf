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
    assert(pki.type(srv) == "pki.server")
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

-- mTLS: client certificates from the intermediate, another CA's, an expired one.
local function client_spec(cn, changes)
    local spec = {subject = {{"O", "Test"}, {"CN", cn}}, validity_days = 30,
                  basic_constraints = {critical = true, ca = false},
                  key_usage = {critical = true, "digitalSignature"},
                  extended_key_usage = {"clientAuth"},
                  subject_alt_name = {email = {cn:lower():gsub("%W", "") .. "@example.com"}},
                  subject_key_id = true, authority_key_id = true}
    for k, v in pairs(changes or {}) do spec[k] = v end
    return spec
end

local function save_client(name, cert, key)
    assert(cert:save(dir .. "/" .. name .. ".pem"))
    assert(key:save(dir .. "/" .. name .. ".key"))
end

local client_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
local client = assert(pki.sign(client_spec("Alice <b>"), client_key, c.inter, c.inter_key))
save_client("client", client, client_key)
local now = os.time()
local expired_spec = client_spec("Expired", {not_before = now - 3 * 86400,
                                             not_after = now - 86400})
expired_spec.validity_days = nil
local expired = assert(pki.sign(expired_spec, client_key, c.inter, c.inter_key))
save_client("expired", expired, client_key)
local other = t.chain()
local stranger = assert(pki.sign(client_spec("Mallory"), client_key, other.inter,
                                 other.inter_key))
save_client("stranger", stranger, client_key)

local greet_page = {type = "text/html", body = "Hello, {{client}}!", client_marker = "{{client}}"}

-- curl as a client: the body, or nil when the handshake or request failed.
local function fetch_as(port, name)
    local cert = name and ("--cert %s --key %s "):format(t.quote(dir .. "/" .. name .. ".pem"),
                                                         t.quote(dir .. "/" .. name .. ".key"))
    local cmd = ("curl -sS --fail --max-time 10 --cacert %s --resolve localhost:%d:127.0.0.1 %s"
                 .. "https://localhost:%d/ 2>/dev/null && echo ' [ok]'")
        :format(t.quote(root_pem), port, cert or "", port)
    local out = t.sh(cmd)
    return out:match("^(.*) %[ok%]$")
end

t.case("client_cert = require: ours gets in and is greeted", function()
    local srv <close> = assert(pki.start_server(config{routes = {["/"] = greet_page},
        client_ca = {c.root, c.inter}, client_cert = "require"}))
    local body = fetch_as(srv:port(), "client")
    local want = ("Hello, O=Test, CN=Alice &lt;b&gt; (serial %s)!"):format(client:serial())
    assert(body == want, tostring(body))
    assert(fetch_as(srv:port()) == nil, "no certificate got in")
    assert(fetch_as(srv:port(), "stranger") == nil, "another CA's got in")
    assert(fetch_as(srv:port(), "expired") == nil, "an expired one got in")
end)

t.case("client_ca alone means request: anonymous in, a bad certificate out", function()
    local srv <close> = assert(pki.start_server(config{routes = {["/"] = greet_page},
        client_ca = {c.root, c.inter}}))
    assert(fetch_as(srv:port()) == "Hello, anonymous (no client certificate)!")
    assert(fetch_as(srv:port(), "client"):find("CN=Alice", 1, true))
    assert(fetch_as(srv:port(), "stranger") == nil, "another CA's got in")
end)

t.case("client_cert = none: the greeting says so", function()
    local srv <close> = assert(pki.start_server(config{routes = {["/"] = greet_page},
        client_cert = "none"}))
    assert(fetch_as(srv:port(), "client") == "Hello, anonymous (no client certificate)!")
end)

t.expect_fail("client_cert without client_ca", "invalid", "client_ca: at least one",
              pki.start_server, config{client_cert = "require"})
t.expect_fail("client_ca with client_cert none", "invalid", "client_ca: given, but",
              pki.start_server, config{client_ca = {c.root}, client_cert = "none"})
t.expect_fail("client_ca holding a leaf", "invalid", "client_ca%[2%]: not a CA",
              pki.start_server, config{client_ca = {c.root, c.leaf}})
t.expect_fail("client_marker missing from the body", "invalid",
              "routes%[1%]%.client_marker: '{{who}}' is not in the body", pki.start_server,
              config{routes = {["/"] = {body = "Hello", client_marker = "{{who}}"}}})
t.expect_error("client_cert with an unknown value", "client_cert: unknown value 'maybe'",
               pki.start_server, config{client_ca = {c.root}, client_cert = "maybe"})
t.expect_error("client_cert as a boolean", "client_cert: string expected, got boolean",
               pki.start_server, config{client_ca = {c.root}, client_cert = true})
t.expect_error("client_ca as a cert", "client_ca: table of pki.cert expected",
               pki.start_server, config{client_ca = c.root})
t.expect_error("client_marker as a number", "client_marker: string expected",
               pki.start_server, config{routes = {["/"] = {body = "x", client_marker = 1}}})

t.expect_error("start_server with a string", "bad argument #1", pki.start_server, "cfg")
t.expect_error("start_server with an unknown option", "unknown option 'prot'", pki.start_server,
               config{prot = 1})
t.expect_error("start_server with a string as key", "key: pki.key expected", pki.start_server,
               config{key = "key.pem"})
t.expect_error("start_server with resumption as a string", "resumption: boolean expected",
               pki.start_server, config{resumption = "no"})
t.expect_error("start_server route without a body", "body: string expected",
               pki.start_server, config{routes = {["/"] = {type = "text/plain"}}})
-- Every numeric option is read by one reader: an integer in its range.
for _, o in ipairs{{"port", 65535}, {"http_port", 65535}, {"threads", 1024},
                   {"per_address", 1024}, {"hsts_max_age", 999999999}} do
    local name, max = o[1], o[2]
    t.expect_error("start_server " .. name .. " above its range",
                   name .. ": not in 0%.%." .. max, pki.start_server, config{[name] = max + 1})
    t.expect_error("start_server " .. name .. " below its range",
                   name .. ": not in 0%.%." .. max, pki.start_server, config{[name] = -1})
    t.expect_error("start_server " .. name .. " as a float",
                   name .. ": integer expected, got float", pki.start_server,
                   config{[name] = 1.5})
end
t.expect_error("start_server with a host not a string", "hosts%[2%]: string expected, got number",
               pki.start_server, config{hosts = {"127.0.0.1", 1}})
t.expect_error("start_server with a route not a table", "routes%[/x%]: table expected, got string",
               pki.start_server, config{routes = {["/x"] = "body"}})
t.expect_error("start_server with an unknown route field", "unknown option 'bdy'",
               pki.start_server, config{routes = {["/"] = {bdy = "x"}}})
t.expect_error("start_server with www not a string", "www: string expected, got boolean",
               pki.start_server, config{www = true})
t.expect_error("start_server with ocsp not a responder", "ocsp: pki.ocsp_responder expected",
               pki.start_server, config{ocsp = c.leaf})

-- The serial a new connection is served (hex, as cert:serial() spells it).
local function served_serial(port)
    local out = t.sh(("openssl s_client -connect 127.0.0.1:%d </dev/null 2>/dev/null | "
                      .. "openssl x509 -noout -serial"):format(port))
    return out:match("serial=(%x+)")
end

t.case("reload: new connections get the new leaf; a wrong key changes nothing", function()
    local srv <close> = assert(pki.start_server(config()))
    local port = srv:port()
    assert(served_serial(port) == c.leaf:serial())
    local key2 = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local leaf2 = assert(pki.sign(t.leaf_spec(), key2, c.inter, c.inter_key))
    local ok, msg, code = srv:reload{leaf = leaf2, chain = {c.inter}, key = c.leaf_key}
    assert(ok == nil and code == "mismatch" and msg:find("does not match"), tostring(msg))
    assert(served_serial(port) == c.leaf:serial())
    do
        local k <close> = key2
        assert(srv:reload{leaf = leaf2, chain = {c.inter}, key = k} == true)
    end
    collectgarbage()
    assert(served_serial(port) == leaf2:serial())
    assert(fetch(port) == "Hello, World!")
    -- cert is accepted for leaf, as start_server names it
    assert(srv:reload{cert = c.leaf, chain = {c.inter}, key = c.leaf_key} == true)
    assert(served_serial(port) == c.leaf:serial())
end)

t.expect_error("reload without a key", "key: pki.key expected", function()
    local srv <close> = assert(pki.start_server(config()))
    return srv:reload{leaf = c.leaf, chain = {c.inter}}
end)
t.expect_error("reload with an unknown option", "unknown option 'leef'", function()
    local srv <close> = assert(pki.start_server(config()))
    return srv:reload{leef = c.leaf, key = c.leaf_key}
end)
t.expect_error("reload with neither leaf nor cert", "leaf: pki.cert expected, got nil",
               function()
    local srv <close> = assert(pki.start_server(config()))
    return srv:reload{chain = {c.inter}, key = c.leaf_key}
end)

t.case("set_route replaces a body; http_port serves plain routes only", function()
    local srv <close> = assert(pki.start_server(config{http_port = 0, routes = {
        ["/"] = {body = "Hello, World!"},
        ["/crl.pem"] = {type = "application/x-pem-file", body = "v1", plain = true}}}))
    local http = srv:http_port()
    assert(math.type(http) == "integer" and http > 0 and http ~= srv:port())
    local function plain(path)
        return t.sh(("curl -s --max-time 10 -w ' %%{http_code}' http://127.0.0.1:%d%s")
            :format(http, path))
    end
    assert(plain("/crl.pem") == "v1 200")
    assert(plain("/"):match(" 404$"))
    assert(srv:set_route("/crl.pem", "v2") == true)
    assert(plain("/crl.pem") == "v2 200")
    assert(fetch(srv:port(), "/crl.pem") == "v2")
    assert(srv:set_route("/", "new page", "text/html") == true)
    assert(fetch(srv:port()) == "new page")
    local ok, msg, code = srv:set_route("/nope", "x")
    assert(ok == nil and code == "notfound" and msg:find("/nope"), tostring(msg))
end)

t.case("no http_port: none", function()
    local srv <close> = assert(pki.start_server(config()))
    assert(srv:http_port() == nil)
end)

t.case("set_staple takes DER bytes or nil", function()
    local srv <close> = assert(pki.start_server(config()))
    assert(srv:set_staple("\48\3\10\1\0") == true)
    assert(srv:set_staple(nil) == true)
    assert(srv:set_staple() == true)
    local ok, _, code = srv:set_staple("")
    assert(ok == nil and code == "invalid")
end)

t.expect_error("route plain as a string", "plain: boolean expected",
               pki.start_server, config{routes = {["/"] = {body = "x", plain = "yes"}}})
t.expect_error("http_port as a string", "http_port: integer expected",
               pki.start_server, config{http_port = "8080"})

t.case("wait_for_signal sees SIGHUP, and keeps one sent between waits", function()
    local pid = t.sh("echo $PPID")
    os.execute(("(sleep 0.2; kill -HUP %s) &"):format(pid))
    assert(pki.wait_for_signal(5000) == "SIGHUP")
    os.execute(("kill -HUP %s"):format(pid))
    assert(pki.wait_for_signal(5000) == "SIGHUP")
    assert(pki.wait_for_signal(20) == nil)
end)

t.case("poll_signal answers at once: nil, then a signal sent meanwhile, taken once", function()
    local pid = t.sh("echo $PPID")
    assert(pki.poll_signal() == nil)
    os.execute(("kill -HUP %s"):format(pid))
    assert(pki.poll_signal() == "SIGHUP")
    assert(pki.poll_signal() == nil)
    os.execute(("kill -TERM %s"):format(pid))
    os.execute(("kill -HUP %s"):format(pid))
    assert(pki.poll_signal() == "SIGTERM", "SIGTERM before SIGHUP")
    assert(pki.poll_signal() == "SIGHUP")
    assert(pki.wait_for_signal(20) == nil)
end)

collectgarbage()
t.cleanup()
t.done()
