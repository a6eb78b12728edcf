-- The issue.lua command: options, the request, the files, the summary.
local ca_key = require "chainsmith.ca_key"
local common = require "chainsmith.cli"
local number = require "chainsmith.number"
local pki = require "pki"
local secret = require "chainsmith.secret"
local summary = require "chainsmith.summary"

local cli = {}

-- A CSR read from stdin is capped as a CSR file is (core/csr.c: 1 MiB).
local CSR_MAX = 1024 * 1024

-- A file name from the certificate's first name: "*.a.test" becomes
-- "wildcard.a.test"; anything but letters, digits, ".", "-", "_" and "@"
-- becomes "_".
function cli.base_name(names)
    local first = names[1] and names[1].value or "cert"
    first = first:gsub("^%*", "wildcard")
    return (first:gsub("[^%w%.%-_@]", "_"))
end

function cli.main(args, boot)
    local parser = common.parser { name = "issue.lua",
        description = "Issue a certificate from the intermediate CA built by build_chain.lua.\n"
        .. "The profile decides the certificate; policy.lua decides whether it may be issued." }
    parser:option("--profile", "Profile to issue under (e.g. server, client)."):count(1)
    parser:mutex(
        parser:option("--csr", "A CSR to sign (PEM or DER; - reads stdin); its key stays "
            .. "with its owner."):argname("FILE"),
        parser:option("--name", "A name to certify (DNS, IP, email or URI); repeat for more. "
            .. "A key is generated."):count("*"))
    parser:option("--out", "Folder to write the certificate, chain and key in.", "issued")
        :argname("DIR")
    common.db_option(parser)
    common.chain_option(parser)
    parser:option("--profiles", "Folder holding the profiles.", boot.profiles_dir)
    parser:option("--policy", "A policy file to use instead of scripts/policy.lua.")
    parser:option("--days", "Validity in days (at most what the profile and policy allow).")
        :convert(number.option("--days", 1))
    parser:flag("--force", "Overwrite files that exist.")
    common.json_option(parser)
    secret.options(parser, "passphrase", "The intermediate key's passphrase, when "
        .. "build_chain.lua encrypted it")
    ca_key.options(parser)
    local opts = parser:parse(args)
    if not opts.csr and #opts.name == 0 then
        parser:error("give --csr FILE or at least one --name NAME")
    end

    local pol
    if opts.policy then
        local perr
        pol, perr = require("chainsmith.policy_engine").load(opts.policy)
        if not pol then
            boot.die("issue: %s", perr)
        end
    end
    local passphrase, perr = secret.read(opts, "passphrase")
    if passphrase == nil then
        boot.die("issue: %s", perr)
    end
    local pinned, pin_err = ca_key.use_options(opts)
    if not pinned then
        boot.die("issue: %s", pin_err)
    end
    local ca, err = require("chainsmith.ca").open { dir = opts.chain, profiles = opts.profiles,
        policy = pol, passphrase = passphrase or nil }
    if not ca then
        boot.die("issue: %s", err)
    end

    local request = { profile = opts.profile, validity_days = opts.days }
    if opts.csr then
        local csr, cerr
        if opts.csr == "-" then
            local text
            text, cerr = common.read_stdin(CSR_MAX)
            if text then
                csr, cerr = pki.load_csr(text, "-")
            end
        else
            csr, cerr = pki.read_csr(opts.csr)
        end
        if not csr then
            ca:close()
            boot.die("issue: %s", cerr)
        end
        request.csr = csr
    else
        request.names = opts.name
    end

    local written = {}
    -- The files to write: core stages them before the record is committed
    -- and names them after (docs/issue.md, Durability).
    local function files(result)
        local ok, merr, mcode = pki.mkdir(opts.out)
        if not ok then
            return nil, merr, mcode
        end
        local base = opts.out .. "/" .. cli.base_name(result.names)
        local list = {
            { path = base .. ".pem", cert = result.cert, overwrite = opts.force },
            { path = base .. "-chain.pem", certs = result.chain, overwrite = opts.force },
        }
        if result.key then
            list[#list + 1] = { path = base .. ".key", key = result.key, overwrite = opts.force }
        end
        for _, f in ipairs(list) do
            written[#written + 1] = f.path
        end
        return list
    end

    local result, ierr, icode = ca:issue(request, { files = files })
    ca:close()
    if not result then
        if icode == "policy" then
            boot.die("issue: refused by policy:\n%s", ierr)
        end
        boot.die(icode == "exists" and "issue: %s (pass --force to replace)" or "issue: %s", ierr)
    end

    if opts.json then
        local dropped = require("chainsmith.json").array(result.dropped)
        local c = summary.cert_json(result.cert)
        c.profile, c.dropped, c.files = result.profile, dropped,
            require("chainsmith.json").array(written)
        common.print_json(c)
        return
    end
    local info = result.cert:info()
    local lines = { ("issued under profile %s"):format(result.profile) }
    for _, row in ipairs(summary.rows(info)) do
        lines[#lines + 1] = ("  %-9s %s"):format(row[1], row[2])
    end
    for _, ext in ipairs(result.dropped) do
        lines[#lines + 1] = ("  dropped   %s (requested, not in the profile)"):format(ext)
    end
    lines[#lines + 1] = "files: " .. table.concat(written, ", ")
    io.write(table.concat(lines, "\n"), "\n")
end

return cli
