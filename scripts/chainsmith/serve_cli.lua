-- The serve.lua command: load the chain, render the page, serve until a signal.
local argparse = require "argparse"
local pki = require "pki"
local page = require "chainsmith.page"

local cli = {}

local function read_text(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local text = f:read("a")
    f:close()
    return text
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

local function load_chain(dir)
    local hint = " (run `lua scripts/build_chain.lua` first)"
    local served, err = pki.read_chain(dir .. "/server-chain.pem")
    if not served then
        return nil, err .. hint
    end
    local key
    key, err = pki.read_key(dir .. "/server.key")
    if not key then
        return nil, err .. hint
    end
    local root
    root, err = pki.read_cert(dir .. "/root.pem")
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

-- The CRLs build_chain.lua and revoke.lua write, as routes under /crl/
-- (read once at start, as the page is; docs/revocation.md). A CRL that is
-- not there is not served.
local function add_crl_routes(routes, dir)
    for _, name in ipairs { "root", "intermediate" } do
        for ext, mime in pairs { crl = "application/pkix-crl",
            ["crl.pem"] = "application/x-pem-file" } do
            local body = read_text(("%s/%s.%s"):format(dir, name, ext))
            if body then
                routes[("/crl/%s.%s"):format(name, ext)] = { type = mime, body = body }
            end
        end
    end
    return routes
end

function cli.main(args, boot)
    local parser = argparse("serve.lua", "Serve www/ over HTTPS with the chain built by "
        .. "build_chain.lua (leaf + intermediate, TLS 1.2 and 1.3 only).")
    parser:option("--port", "Port to listen on (0: any free port, on 127.0.0.1 only unless "
        .. "--listen says otherwise).", "8443"):convert(math.tointeger)
    parser:option("--chain", "Folder build_chain.lua wrote.", "chain")
    parser:option("--www", "Folder of pages to serve.", boot.www_dir)
    parser:option("--listen", "Address to listen on (repeatable; default 127.0.0.1 and ::1)")
        :count("*")
    parser:option("--threads", "Worker threads: one per open connection (keep-alive "
        .. "included); more connections wait.", "32"):convert(tonumber)
    parser:flag("--no-resumption", "Turn TLS session resumption (session cache, tickets) "
        .. "off: every connection pays a full handshake (for benchmarks).")
    parser:option("--client-ca", "PEM file of the CA certificate(s) client certificates must "
        .. "chain to: ask TLS clients for a certificate (mTLS).")
    parser:flag("--mtls", "Ask clients for a certificate issued under the chain's own root.")
    parser:flag("--require-client-cert", "Refuse clients without a certificate (otherwise "
        .. "they get in as anonymous); alone, it implies --mtls.")
    local opts = parser:parse(args)

    local c, err = load_chain(opts.chain)
    if not c then
        boot.die("serve: %s", err)
    end
    local template
    template, err = read_text(opts.www .. "/index.html")
    if not template then
        boot.die("serve: %s", err)
    end
    local cas
    cas, err = client_cas(opts, c)
    if not cas then
        boot.die("serve: --client-ca: %s", err)
    end
    local html = page.render(template, c.served, c.root)
    local hello = { type = "text/html; charset=utf-8", body = html,
        client_marker = html:find(page.client_marker, 1, true) and page.client_marker or nil }
    local client_cert = #cas == 0 and "none"
        or opts.require_client_cert and "require" or "request"
    local hosts = #opts.listen > 0 and opts.listen or default_hosts()
    if opts.port == 0 and #opts.listen == 0 then
        hosts = { hosts[1] } -- each address would get a different free port
    end
    local server, serr = pki.start_server {
        hosts = hosts,
        port = opts.port,
        www = opts.www,
        cert = c.served[1],
        chain = { table.unpack(c.served, 2) },
        key = c.key,
        threads = opts.threads,
        resumption = not opts.no_resumption,
        client_ca = #cas > 0 and cas or nil,
        client_cert = client_cert,
        routes = add_crl_routes({
            ["/"] = hello,
            ["/index.html"] = hello,
            ["/root.pem"] = { type = "application/x-pem-file", body = c.root:pem() },
        }, opts.chain),
    }
    if not server then
        boot.die("serve: %s", serr)
    end
    io.write(("serving https://localhost:%d/ on %s (Ctrl-C to stop)\n")
        :format(server:port(), table.concat(hosts, ", ")))
    if #cas > 0 then
        local names = {}
        for _, ca in ipairs(cas) do
            names[#names + 1] = ca:info().subject_line
        end
        io.write(("client certificates %s, issued under: %s\n"):format(
            client_cert == "require" and "required" or "requested (optional)",
            table.concat(names, "; ")))
    end
    io.stdout:flush()
    local signal = pki.wait_for_signal()
    server:stop()
    io.write(("stopped (%s)\n"):format(signal or "?"))
end

return cli
