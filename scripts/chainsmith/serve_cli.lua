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
    local html = page.render(template, c.served, c.root)
    local hello = { type = "text/html; charset=utf-8", body = html }
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
        routes = {
            ["/"] = hello,
            ["/index.html"] = hello,
            ["/root.pem"] = { type = "application/x-pem-file", body = c.root:pem() },
        },
    }
    if not server then
        boot.die("serve: %s", serr)
    end
    io.write(("serving https://localhost:%d/ on %s (Ctrl-C to stop)\n")
        :format(server:port(), table.concat(hosts, ", ")))
    io.stdout:flush()
    local signal = pki.wait_for_signal()
    server:stop()
    io.write(("stopped (%s)\n"):format(signal or "?"))
end

return cli
