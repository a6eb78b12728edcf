-- serve.lua's runtime: load the chain, render the page, serve until a
-- signal, and pick up a renewed certificate (SIGHUP or its files changing)
-- without a restart. serve_cli.lua parses the options and calls run.
local acme_options = require "chainsmith.acme_options"
local ca_watch = require "chainsmith.ca_watch"
local cjson = require "cjson"
local json = require "chainsmith.json"
local lfs = require "lfs"
local pki = require "pki"
local crl = require "chainsmith.crl"
local layout = require "chainsmith.layout"
local page = require "chainsmith.page"
local ocsp_service = require "chainsmith.ocsp_service"
local secret = require "chainsmith.secret"
local validity = require "chainsmith.validity"
local previous = require "chainsmith.previous"

local runtime = {}

-- Where the human lines go: stdout, or stderr with --json (stdout then holds
-- only the JSON line).
local say = io.stdout

-- A page or a CRL: regular files only, at most as large as core reads a CRL.
local function read_text(path)
    return pki.read_file(path, 64 * 1024 * 1024)
end

-- ::1 only where the machine has an IPv6 loopback (some containers do not).
local function default_hosts()
    local hosts = { "127.0.0.1" }
    local v6 = io.open("/proc/net/if_inet6", "r")
    if v6 then
        local text = v6:read("a")
        v6:close()
        if text:find("00000000000000000000000000000001", 1, true) then
            hosts[#hosts + 1] = "::1"
        end
    end
    return hosts
end

-- The public base URL the served certificate names for its CRL and OCSP
-- (the root profile's public_base_url when it was signed: docs/revocation.md)
-- as url, port; nil when it names no plain-HTTP URL.
function runtime.public_base(cert)
    local info = cert:info()
    local aia = info.authority_info_access or {}
    for _, url in ipairs(aia.ocsp or {}) do
        local base, port = url:match("^(http://[^/]-:?(%d*))/")
        if base then
            return base, tonumber(port) or 80
        end
    end
    for _, url in ipairs(info.crl_distribution_points or {}) do
        local base, port = url:match("^(http://[^/]-:?(%d*))/")
        if base then
            return base, tonumber(port) or 80
        end
    end
    return nil
end

-- The plain-HTTP port to listen on, and a warning when the certificates
-- point elsewhere: --http-port, else the port the certificates name (any
-- free port with --port 0, as tests run), else 8080.
local function plain_port(opts, base, base_port)
    if opts.no_http then
        return nil
    end
    if opts.http_port then
        if base and opts.http_port ~= base_port then
            return opts.http_port, ("serve: --http-port %d, but the certificates name %s for "
                .. "their CRL and OCSP: those checks reach whoever listens there, or fail\n")
                :format(opts.http_port, base)
        end
        return opts.http_port
    end
    if opts.port == 0 then
        return 0
    end
    return base_port or 8080
end

-- pki.start_server's failure, with the option that gets past a port in use.
function runtime.start_hint(err)
    if err:find("(https) is already in use", 1, true) then
        return err .. ": choose another --port, or --port 0 for any free one"
    elseif err:find("(plain http) is already in use", 1, true) then
        return err .. ": choose another --http-port, or --http-port 0 for any free one "
            .. "(or --no-http)"
    end
    return err
end

-- serve.lua --json's line: where it listens, once bound; with ACME (acme:
-- the service), https.acme is its directory URL; with the signing API
-- (api: its service), https.api is its base, BASE/api/v1.
function runtime.json_line(server, hosts, base, serial, acme, api)
    local http = cjson.null
    if server:http_port() then
        http = { port = server:http_port(), url = page.url(hosts[1], server:http_port())
            :gsub("^https", "http") }
    end
    return json.encode {
        https = { hosts = json.array(hosts), port = server:port(),
            url = page.url(hosts[1], server:port()),
            acme = acme and (acme.base_url .. "/acme/directory") or nil,
            api = api and (api.base_url .. "/api/v1") or nil },
        http = http,
        public_base_url = base or cjson.null,
        serial = serial,
    }
end

local function load_chain(dir)
    local hint = " (run `lua scripts/build_chain.lua` first)"
    local files = layout.files(dir)
    local served, err = pki.read_chain(files.server_chain)
    if not served then
        return nil, err .. hint
    end
    local key
    key, err = pki.read_key(files.server.key)
    if not key then
        return nil, err .. hint
    end
    local root
    root, err = pki.read_cert(files.root.cert)
    if not root then
        return nil, err .. hint
    end
    return { served = served, key = key, root = root }
end

local function add_once(list, cert)
    for _, have in ipairs(list) do
        if have == cert then
            return
        end
    end
    list[#list + 1] = cert
end

-- The CAs client certificates must chain to: --client-ca FILE's, and the
-- chain's own root with --mtls (or --require-client-cert alone). Each served
-- intermediate that chains to them joins, so a client of ours may send its
-- certificate alone. {} when clients are not asked; nil, message on error.
local function client_cas(opts, c)
    local cas = {}
    if opts.client_ca then
        local certs, err = pki.read_chain(opts.client_ca)
        if not certs then
            return nil, err
        end
        for i, cert in ipairs(certs) do
            local info = cert:info()
            if not (info.basic_constraints and info.basic_constraints.ca) then
                return nil, ("%s: certificate %d (%s) is not a CA"):format(opts.client_ca, i,
                    info.subject_line)
            end
            add_once(cas, cert)
        end
    end
    if opts.mtls or (opts.require_client_cert and #cas == 0) then
        add_once(cas, c.root)
    end
    if #cas == 0 then
        return cas
    end
    local intermediates = { table.unpack(c.served, 2) }
    for _, inter in ipairs(intermediates) do
        if pki.verify { leaf = inter, chain = intermediates, roots = cas } then
            add_once(cas, inter)
        end
    end
    return cas
end

-- What identifies a file's version without reading it (the key is never
-- read here): inode, size, modification and change time. A rename of a
-- new file over it (how core writes) always changes the inode. "" when the
-- file is missing.
local function stamp(path)
    local a = lfs.attributes(path)
    if not a then
        return ""
    end
    return ("%s:%s:%s:%s"):format(a.ino, a.size, a.modification, a.change)
end

-- The routes served from a file, re-read when it changes: {path, file,
-- type, plain, optional}. The CRLs that build_chain.lua and revoke.lua write
-- (docs/revocation.md) are signed, so they go on the plain-HTTP port too; a
-- chain built before CRLs existed has none, and then they are not served.
local function file_routes(dir)
    local routes = {
        { path = "/root.pem", file = layout.files(dir).root.cert, type = "application/x-pem-file" },
    }
    -- and the previous intermediate's, while its key is kept (chainsmith/previous.lua)
    for _, name in ipairs { crl.names[1], crl.names[2], previous.name } do
        local f = layout.crl_files(dir, name)
        routes[#routes + 1] = { path = ("/crl/%s.crl"):format(name), file = f.der,
            type = "application/pkix-crl", plain = true, optional = true }
        routes[#routes + 1] = { path = ("/crl/%s.crl.pem"):format(name), file = f.pem,
            type = "application/x-pem-file", plain = true, optional = true }
    end
    return routes
end

-- The files a reload depends on: the served chain and key, and every
-- file-backed route (the root's among them: the page shows it).
local function watched_files(dir, routes)
    local files = { layout.files(dir).server_chain, layout.files(dir).server.key }
    for _, r in ipairs(routes) do
        files[#files + 1] = r.file
    end
    return files
end

local function stamps(files)
    local s = {}
    for i, f in ipairs(files) do
        s[i] = stamp(f)
    end
    return s
end

local function same_stamps(a, b)
    return table.concat(a, "|") == table.concat(b, "|")
end

-- The hello page's route for chain c: the page shows the served chain, so a
-- reload renders it again. template: {text = index.html's text, url = the
-- server's address once it is bound}.
local function hello_route(template, c)
    local html = page.render(template.text, c.served, c.root, template.url)
    return { type = "text/html; charset=utf-8", body = html,
        client_marker = html:find(page.client_marker, 1, true) and page.client_marker or nil }
end

-- Read the chain and key again and hand them to the server, then the
-- file-backed routes, the page, the OCSP signer and the staple. Returns
-- the new leaf's serial and what was reloaded, in words; or nil, why, and
-- "kept" (nothing was swapped: a pair caught half-renamed does not match,
-- or a certificate is outside its dates, and the next tick tries again),
-- "partly" (the certificate was, the OCSP signer was not; retried too; its
-- serial comes fourth) or "restart" (another root or intermediate:
-- chainsmith/ca_watch.lua).
local function reload(server, opts, template, routes, ocsp, stapler, cas)
    local c, err = load_chain(opts.chain)
    if not c then
        return nil, err, "kept"
    end
    -- checked before the CA watch: an intermediate re-signed with dates
    -- outside now is refused and the old chain kept, where a restart would
    -- only stop at startup's own date check
    local files = layout.files(opts.chain)
    local dated = validity.served(c.served, files.server_chain, c.root, files.root.cert, os.time())
    if dated then
        return nil, ("%s: not served"):format(dated), "kept"
    end
    local moved = ca_watch.changed(cas, c, files)
    if moved then
        return nil, moved, "restart"
    end
    local ok, rerr = server:reload { leaf = c.served[1], chain = { table.unpack(c.served, 2) },
        key = c.key }
    if not ok then
        return nil, rerr, "kept"
    end
    local serial = c.served[1]:serial()
    local done = { "server certificate, key and chain" }
    -- the credentials are in; a route file that fails to read keeps its old bytes
    local paths = {}
    for _, r in ipairs(routes) do
        local body, ferr = read_text(r.file)
        if body then
            server:set_route(r.path, body)
            paths[#paths + 1] = r.path
        else
            io.stderr:write(("serve: %s: %s (kept the old bytes)\n"):format(r.path, ferr))
        end
    end
    local hello = hello_route(template, c)
    server:set_route("/", hello.body)
    server:set_route("/index.html", hello.body)
    paths[#paths + 1] = "the page"
    done[#done + 1] = table.concat(paths, ", ")
    if ocsp then
        local signed, serr = ocsp:reload_signer()
        if not signed then
            return nil, ("serial %s served, but the OCSP signer was not reloaded (still the "
                .. "previous one): %s"):format(serial, serr), "partly", serial
        end
        done[#done + 1] = ("OCSP signer serial %s"):format(serr)
        local stapled, sterr = stapler:staple(c.served[1])
        done[#done + 1] = stapled and "staple" or ("no staple (%s)"):format(sterr)
    end
    return serial, table.concat(done, "; ")
end

-- Serve until SIGINT or SIGTERM; reload on SIGHUP and when a watched file
-- changes (polled each second); keep the OCSP staple fresh; with ACME
-- (acme: acme_service's) and the signing API (api: api_service's), answer
-- each ask as it comes. watch = {files, loaded, serial}: the watched files and
-- their stamps as last loaded, shared with the revocation hook (on_revoked),
-- and the serial served.
-- Returns the signal that stopped it, or the line saying a CA changed under
-- it (cas: ca_watch.new's).
local function serve_loop(server, opts, template, routes, ocsp, stapler, cas, acme, api, watch)
    local files = watch.files
    watch.loaded = stamps(files)
    local pending, last_err = false, nil
    -- Without ACME or the API, sleep on the signals a second at a time.
    -- With them, wait on each ask queue in turn (a tenth of a second in
    -- all, so an ask is answered as it arrives) and look at the signals
    -- between two waits; the files are looked at once a second either way.
    local last_look = os.time()
    local queues = {}
    queues[#queues + 1] = acme
    queues[#queues + 1] = api
    local slice = #queues > 0 and 100 // #queues or 0
    local function wait()
        if #queues == 0 then
            return pki.wait_for_signal(1000)
        end
        local signal = pki.poll_signal()
        if signal then
            return signal
        end
        -- a raised error (a bug) is reported and the loop goes on: the ask
        -- it was on times out in core (503), the server keeps serving
        local open = false
        for _, q in ipairs(queues) do
            local ran, stepped = pcall(q.step, q, slice)
            if not ran then
                say:write(("%s: %s\n"):format(q == acme and "acme" or "api", tostring(stepped)))
                say:flush()
                open = true
            elseif stepped ~= nil then
                open = true
            end
        end
        if not open then -- every queue is closed: nothing to wait on there
            return pki.wait_for_signal(100)
        end
        return pki.poll_signal()
    end
    while true do
        local signal = wait()
        if signal == "SIGINT" or signal == "SIGTERM" then
            return signal
        end
        local now_s = os.time()
        if signal == "SIGHUP" or #queues == 0 or now_s ~= last_look then
            last_look = now_s
            if stapler then
                stapler:tick()
            end
            local now = stamps(files)
            if signal == "SIGHUP" or not same_stamps(now, watch.loaded) or pending then
                -- a raised error (a bug, a file gone odd) must not take the
                -- server down: it is reported and retried like a failed reload
                local done, serial, err, state, swapped = pcall(reload, server, opts, template,
                    routes, ocsp, stapler, cas)
                if not done then
                    serial, err, state = nil, serial, "kept"
                end
                if state == "restart" then
                    return err
                elseif serial then
                    say:write(("reloaded: serial %s: %s\n"):format(serial, err))
                    say:flush()
                    watch.loaded, pending, last_err = now, false, nil
                    watch.serial = serial
                else
                    watch.serial = swapped or watch.serial
                    -- say it once, not every second while the files settle;
                    -- on stderr, where a supervisor's log keeps failures
                    if err ~= last_err then
                        io.stderr:write(state == "partly"
                            and ("reload incomplete (retrying): %s\n"):format(err)
                            or ("reload failed (still serving the previous certificate, "
                            .. "serial %s, retrying): %s\n"):format(watch.serial, err))
                        io.stderr:flush()
                    end
                    pending, last_err = true, err
                    watch.loaded = now
                end
            end
        end
    end
end

-- What an ACME revocation changes on the server at once: the CRL it wrote
-- is served (the watch would catch it within a second; a client checking
-- right after its revokeCert answer must see it), and the staple is signed
-- again when it was the served certificate. OCSP answers need nothing:
-- the responder reads ca.db on every request. The CRL files' stamps are
-- taken as loaded, so the watch does not reload everything for them.
local function on_revoked(server, opts, stapler, watch, result)
    -- and the previous intermediate's CRL, signed with the intermediate's
    -- (chainsmith/previous.lua; a route when its file was there at start)
    local names, routes = { result.ca }, {}
    if result.previous_crl then
        names[2] = previous.name
    end
    for _, name in ipairs(names) do
        local f = layout.crl_files(opts.chain, name)
        routes[("/crl/%s.crl"):format(name)] = f.der
        routes[("/crl/%s.crl.pem"):format(name)] = f.pem
    end
    for path, file in pairs(routes) do
        local body, err = read_text(file)
        if body then
            server:set_route(path, body)
        else
            io.stderr:write(("serve: %s: %s (kept the old bytes)\n"):format(path, err))
        end
        for i, watched in ipairs(watch.files) do
            if watched == file and watch.loaded then
                watch.loaded[i] = stamp(file)
            end
        end
    end
    if stapler and stapler.leaf and stapler.leaf:serial() == result.serial then
        stapler:staple(stapler.leaf)
    end
end

-- Start the server, with the fallback for the default plain port taken.
-- Returns the server, or nil and why.
local function start(config, opts, base, http_port)
    local server, serr = pki.start_server(config)
    if not server and http_port and not opts.http_port then
        -- The default port taken by something else must not stop the page
        -- from being served: without the plain port, CRLs and OCSP are
        -- still on HTTPS; but the certificates point at that port.
        config.http_port = nil
        server = pki.start_server(config)
        if server then
            io.stderr:write(("serve: plain http port %d: %s; serving CRLs and OCSP over "
                .. "https only. Certificates name %s/...: their CRL and OCSP checks will "
                .. "reach whoever listens there, or fail (free the port, or set "
                .. "public_base_url in root.lua and rebuild)\n")
                :format(http_port, serr, base or ("http://localhost:" .. http_port)))
        end
    end
    return server, serr
end

-- The ACME service for the server about to start with config. Its base
-- URL names the HTTPS port, so with --port 0 the server is bound once
-- without ACME to learn a free port, which the real start then takes.
-- Returns the service, or dies naming the problem. watch: serve_loop's;
-- box: {server, stapler} once they exist (the revocation hook's).
local function open_acme(opts, boot, config, base, http_port, watch, box)
    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        boot.die("serve: %s", perr)
    end
    if config.port == 0 then
        local probe, serr = start(config, opts, base, http_port)
        if not probe then
            boot.die("serve: %s", runtime.start_hint(serr))
        end
        config.port = probe:port()
        probe:stop()
    end
    local base_url = acme_options.base_url(opts.acme_settings.base_url, base, config.port)
    -- required here, not at the top: the CA side (profiles, policy, their
    -- sandbox) is loaded only when ACME is on (tests/lua/test_layers.lua)
    local svc, err = require("chainsmith.acme_service").open {
        chain = opts.chain,
        profiles = opts.profiles,
        policy = opts.policy_module,
        passphrase = passphrase or nil,
        settings = opts.acme_settings,
        base_url = base_url,
        log = function(line)
            say:write(line, "\n")
            say:flush()
        end,
        on_revoked = function(result)
            on_revoked(box.server, opts, box.stapler, watch, result)
        end,
    }
    if not svc then
        boot.die("serve: --acme: %s", err)
    end
    return svc
end

-- The signing API service for the server about to start with config, as
-- open_acme does it (the same port probe when --port 0 and ACME has not
-- made one). mtls: the server asks for client certificates. Returns the
-- service, or dies naming the problem.
local function open_api(opts, boot, config, base, http_port, watch, box, mtls)
    local s = opts.api_settings
    if not mtls and not next(s.token_keys) then
        boot.die("serve: --api: no way for callers to authenticate: give --mtls (client "
            .. "certificates) or --api-token-key KID=FILE")
    end
    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        boot.die("serve: %s", perr)
    end
    if config.port == 0 then
        local probe, serr = start(config, opts, base, http_port)
        if not probe then
            boot.die("serve: %s", runtime.start_hint(serr))
        end
        config.port = probe:port()
        probe:stop()
    end
    -- loaded only here: serve.lua without --api never loads the CA's issuing side
    local svc, err = require("chainsmith.api_service").open {
        chain = opts.chain,
        profiles = opts.profiles,
        policy = opts.policy_module,
        passphrase = passphrase or nil,
        base_url = acme_options.base_url(s.base_url, base, config.port),
        mtls = mtls,
        token_keys = s.token_keys,
        log = function(line)
            say:write(line, "\n")
            say:flush()
        end,
        on_revoked = function(result)
            on_revoked(box.server, opts, box.stapler, watch, result)
        end,
    }
    if not svc then
        boot.die("serve: --api: %s", err)
    end
    return svc
end

-- The start-up line about the signing API: where, who may call (key ids,
-- never keys).
local function api_banner(api, mtls, kids)
    local callers = {}
    if mtls then
        callers[#callers + 1] = "client certificates this CA issued"
    end
    if #kids > 0 then
        callers[#callers + 1] = "tokens of key ids " .. table.concat(kids, ", ")
    end
    return ("signing API at %s/api/v1 (callers: %s; decisions: policy.lua policy.api, "
        .. "docs/api.md)"):format(api.base_url, table.concat(callers, "; "))
end

-- The start-up lines about ACME: where, how names are validated, the EAB
-- key ids (never the keys).
local function acme_banner(acme, s)
    local v = s.validation
    local lines = {
        ("ACME at %s/acme/directory (settings: %s; decisions: policy.lua, docs/acme.md)")
            :format(acme.base_url, s.config_file),
        ("  validation: http-01 on port %d, tls-alpn-01 on port %d, dns-01 via %s%s")
            :format(v.http_port or 80, v.tls_port or 443, v.dns_resolver or "the system's DNS",
                #v.resolve > 0 and ("; resolve %s"):format(table.concat(v.resolve, ", ")) or ""),
    }
    local kids = acme_options.eab_kids(s)
    if s.eab.required or #kids > 0 then
        lines[#lines + 1] = ("  external account binding %s; key ids: %s")
            :format(s.eab.required and "required" or "optional",
                #kids > 0 and table.concat(kids, ", ") or "none")
    end
    if s.terms then
        lines[#lines + 1] = ("  terms of service: %s"):format(s.terms)
    end
    return table.concat(lines, "\n")
end

-- Serve with opts (serve_cli.lua's parsed and checked options) until
-- SIGINT or SIGTERM; a failure to start goes to boot.die.
function runtime.run(opts, boot)
    say = opts.json and io.stderr or io.stdout
    local c, err = load_chain(opts.chain)
    if not c then
        boot.die("serve: %s", err)
    end
    -- an expired or not yet valid chain would start and fail every client
    local dated = validity.chain({ root = c.root, intermediate = c.served[2],
        server = c.served[1] }, layout.files(opts.chain), opts.chain, os.time())
    if dated then
        boot.die("serve: %s", dated)
    end
    local text
    text, err = read_text(opts.www .. "/index.html")
    if not text then
        boot.die("serve: %s", err)
    end
    local template = { text = text }
    local cas
    cas, err = client_cas(opts, c)
    if not cas then
        boot.die("serve: --client-ca: %s", err)
    end
    local hello = hello_route(template, c)
    local base, base_port = runtime.public_base(c.served[1])
    local http_port, elsewhere = plain_port(opts, base, base_port)
    if elsewhere then
        io.stderr:write(elsewhere)
    end
    local froutes = {}
    local routes = {
        ["/"] = hello,
        ["/index.html"] = hello,
    }
    for _, r in ipairs(file_routes(opts.chain)) do
        local body, ferr = read_text(r.file)
        if body then
            routes[r.path] = { type = r.type, body = body, plain = r.plain }
            froutes[#froutes + 1] = r
        elseif not r.optional then
            boot.die("serve: %s", ferr)
        end
    end
    local client_cert = #cas == 0 and "none"
        or opts.require_client_cert and "require" or "request"
    local hosts = #opts.listen > 0 and opts.listen or default_hosts()
    if opts.port == 0 and #opts.listen == 0 then
        hosts = { hosts[1] } -- each address would get a different free port
    end
    local ocsp, oerr = ocsp_service.open(opts.chain)
    local config = {
        hosts = hosts,
        port = opts.port,
        www = opts.www,
        cert = c.served[1],
        chain = { table.unpack(c.served, 2) },
        key = c.key,
        threads = opts.threads,
        per_address = opts.per_address,
        hsts_max_age = opts.hsts,
        resumption = not opts.no_resumption,
        client_ca = #cas > 0 and cas or nil,
        client_cert = client_cert,
        http_port = http_port,
        routes = routes,
        ocsp = ocsp and ocsp.responder or nil,
    }
    -- what the ACME revocation hook reaches: the server and stapler once
    -- they exist, the watched files and their stamps
    local box = {}
    -- serial: the leaf served now, named when a reload is refused
    local watch = { files = watched_files(opts.chain, froutes), serial = c.served[1]:serial() }
    for _, f in ipairs(ocsp and ocsp:watched() or {}) do
        watch.files[#watch.files + 1] = f
    end
    local acme
    if opts.acme_settings then
        acme = open_acme(opts, boot, config, base, http_port, watch, box)
        config.acme = acme.acme
    end
    local api
    if opts.api_settings then
        api = open_api(opts, boot, config, base, http_port, watch, box, #cas > 0)
        config.api = api.api
    end
    local server, serr = start(config, opts, base, http_port)
    if not server then
        if acme then
            acme:close()
        end
        if api then
            api:close()
        end
        boot.die("serve: %s", runtime.start_hint(serr))
    end
    box.server = server
    -- the page names the address it was reached on, bound port and all
    template.url = page.url(hosts[1], server:port())
    local bound = hello_route(template, c)
    server:set_route("/", bound.body)
    server:set_route("/index.html", bound.body)
    say:write(("serving https://localhost:%d/ on %s (Ctrl-C to stop)\n")
        :format(server:port(), table.concat(hosts, ", ")))
    if server:http_port() then
        say:write(("plain http://localhost:%d/ serves only CRLs and OCSP (signed anyway)\n")
            :format(server:http_port()))
    end
    local stapler
    if ocsp then
        stapler = ocsp:stapler(server)
        box.stapler = stapler
        stapler:staple(c.served[1])
        say:write("OCSP at /ocsp, signed by ocsp.pem; the server staples its own status\n")
    else
        say:write(("no OCSP: %s\n"):format(oerr))
    end
    say:write(("serial %s; reloads on SIGHUP or when %s/server-chain.pem or server.key "
        .. "changes\n"):format(c.served[1]:serial(), opts.chain))
    if #cas > 0 then
        local names = {}
        for _, ca in ipairs(cas) do
            names[#names + 1] = ca:info().subject_line
        end
        say:write(("client certificates %s, issued under: %s\n"):format(
            client_cert == "require" and "required" or "requested (optional)",
            table.concat(names, "; ")))
        if ocsp then
            say:write("revoked client certificates are refused: ca.db is read on every "
                .. "handshake and request\n")
        else
            say:write("client certificates are not checked for revocation (no OCSP responder)\n")
        end
    end
    if acme then
        say:write(acme_banner(acme, opts.acme_settings), "\n")
    end
    if api then
        say:write(api_banner(api, #cas > 0, opts.api_settings.kids), "\n")
    end
    say:flush()
    if opts.json then -- last: what a reader waits for, with the lines above all out
        io.stdout:write(runtime.json_line(server, hosts, base, c.served[1]:serial(), acme, api),
            "\n")
        io.stdout:flush()
    end
    local signal = serve_loop(server, opts, template, froutes, ocsp, stapler,
        ca_watch.new(c, layout.files(opts.chain)), acme, api, watch)
    if acme then
        acme:close() -- requests still waiting for a decision get 503 now
    end
    if api then
        api:close()
    end
    server:stop()
    if signal ~= "SIGINT" and signal ~= "SIGTERM" then
        boot.die("serve: %s", signal) -- a CA changed: exit 1
    end
    say:write(("stopped (%s)\n"):format(signal or "?"))
end

return runtime
