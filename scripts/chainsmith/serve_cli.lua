-- The serve.lua command: options in, one call to chainsmith.server_runtime.
local ca_key = require "chainsmith.ca_key"
local acme_options = require "chainsmith.acme_options"
local api_options = require "chainsmith.api_options"
local common = require "chainsmith.cli"
local pki = require "pki"
local runtime = require "chainsmith.server_runtime"
local secret = require "chainsmith.secret"

local cli = {}

-- The most worker threads core starts (core/server.c).
local THREADS_MAX = 1024

-- An address --listen may name: an IPv4 or IPv6 literal, or localhost.
-- Anything else is refused here: CivetWeb would read 127.0.0.300 as
-- 127.0.1.44 while the banner printed the address given.
local function check_listen(host)
    if host == "localhost" or pki.normalize_name("ip", host) then
        return true
    end
    return nil, ("--listen: '%s' is not an IPv4 or IPv6 address (nor localhost)"):format(host)
end

-- The options argparse converted but cannot range-check: nil, or the first
-- problem in one line.
local function option_problem(opts)
    for name, v in pairs { port = opts.port, ["http-port"] = opts.http_port } do
        if v and (v < 0 or v > 65535) then
            return ("--%s: %d is not in 0..65535"):format(name, v)
        end
    end
    local threads = opts.threads
    if threads < 1 or threads > THREADS_MAX then
        return ("--threads: %d is not in 1..%d"):format(threads, THREADS_MAX)
    end
    if opts.per_address < 0 or opts.per_address > THREADS_MAX then
        return ("--per-address: %d is not in 0..%d"):format(opts.per_address, THREADS_MAX)
    end
    if opts.hsts < 0 or opts.hsts > 999999999 then
        return ("--hsts: %d is not in 0..999999999"):format(opts.hsts)
    end
    for _, host in ipairs(opts.listen) do
        local ok, err = check_listen(host)
        if not ok then
            return err
        end
    end
    return nil
end

function cli.main(args, boot)
    local parser = common.parser { name = "serve.lua",
        description = "Serve www/ over HTTPS with the chain built by "
        .. "build_chain.lua (leaf + intermediate, TLS 1.2 and 1.3 only)." }
    parser:option("--port", "Port to listen on (0: any free port, on 127.0.0.1 only unless "
        .. "--listen says otherwise).", "8443"):convert(math.tointeger)
    parser:option("--http-port", "Plain-HTTP port for what is signed anyway (CRLs, OCSP); "
        .. "0: any free port. Default: the port the certificates' CRL/OCSP URLs name "
        .. "(public_base_url in root.lua, 8080), or any free port with --port 0.")
        :convert(math.tointeger)
    parser:flag("--no-http", "No plain-HTTP listener.")
    parser:flag("--json", "Print where it listens as one JSON line on stdout once bound "
        .. "(https and http ports, serial); the other lines go to stderr.")
    common.db_option(parser)
    common.chain_option(parser)
    parser:option("--www", "Folder of pages to serve.", boot.www_dir)
    parser:option("--listen", "Address to listen on (repeatable; default 127.0.0.1 and ::1)")
        :count("*")
    parser:option("--threads", "Worker threads: one per open connection (keep-alive "
        .. "included); more connections wait, and idle ones are closed when fewer than an "
        .. "eighth are free.", "256"):convert(math.tointeger)
    parser:option("--per-address", "Open connections one client address may hold "
        .. "(default: a quarter of --threads).", "0"):convert(math.tointeger)
    parser:option("--hsts", "Send Strict-Transport-Security with this max-age (seconds) on "
        .. "HTTPS responses; off by default (docs/serve.md).", "0"):convert(math.tointeger)
    parser:flag("--no-resumption", "Turn TLS session resumption (session cache, tickets) "
        .. "off: every connection pays a full handshake (for benchmarks).")
    parser:option("--client-ca", "PEM file of the CA certificate(s) client certificates must "
        .. "chain to: ask TLS clients for a certificate (mTLS).")
    parser:flag("--mtls", "Ask clients for a certificate issued under the chain's own root.")
    parser:flag("--require-client-cert", "Refuse clients without a certificate (otherwise "
        .. "they get in as anonymous); alone, it implies --mtls.")
    acme_options.add(parser)
    api_options.add(parser)
    parser:option("--profiles", "Folder holding the profiles ACME orders are issued under.",
        boot.profiles_dir):argname("DIR")
    parser:option("--policy", "A policy file to use instead of scripts/policy.lua (its "
        .. "policy.acme decides ACME requests, policy.api the signing API's).")
    secret.options(parser, "passphrase", "The CA keys' passphrase, when build_chain.lua "
        .. "encrypted them (ACME issues with the intermediate's key)")
    ca_key.options(parser)
    local opts = parser:parse(args)
    local problem = option_problem(opts)
    if problem then
        common.fail("serve", problem, common.exit.usage)
    end
    -- nil: ACME off; false: a bad ACME option or settings file
    local acme, aproblem = acme_options.resolve(opts, boot.scripts_dir)
    if acme == false then
        common.fail("serve", aproblem, common.exit.usage)
    end
    opts.acme_settings = acme
    -- nil: the signing API off; false: a bad API option
    local api, pproblem = api_options.resolve(opts)
    if api == false then
        common.fail("serve", pproblem, common.exit.usage)
    end
    opts.api_settings = api
    if opts.policy then
        if not acme and not api then
            common.fail("serve", "--policy: only ACME and the signing API use a policy (give "
                .. "--acme or --api)", common.exit.usage)
        end
        local pol, perr = require("chainsmith.policy_engine").load(opts.policy)
        if not pol then
            common.fail("serve", "--policy: " .. perr)
        end
        opts.policy_module = pol
    end
    local pinned, pin_err = ca_key.use_options(opts)
    if not pinned then
        common.fail("serve", pin_err)
    end
    runtime.run(opts, boot)
end

return cli
