-- The export.lua command: a certificate, its key and chain as a PKCS#12
-- file (AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC: core/pkcs12.h)
-- that browsers, keytool and pk12util import.
local common = require "chainsmith.cli"
local pki = require "pki"
local layout = require "chainsmith.layout"
local progress = require "chainsmith.progress"
local secret = require "chainsmith.secret"

local cli = {}

-- Where issue.lua and build_chain.lua put a certificate's key and chain:
-- NAME.pem beside NAME.key and NAME-chain.pem.
function cli.companions(cert_path)
    local base = cert_path:gsub("%.pem$", ""):gsub("%.crt$", "")
    return base .. ".key", base .. "-chain.pem", base:match("([^/\\]+)$")
end

function cli.main(args, boot)
    local parser = common.parser { name = "export.lua",
        description =
            "Bundle a certificate, its private key and its chain into a PKCS#12 (.p12) file\n"
        .. "protected by a password, for browsers, keytool and pk12util. The password\n"
        .. "comes from an environment variable or a file, never from the command line." }
    parser:option("--cert", "The certificate (PEM), e.g. issued/NAME.pem."):count(1)
        :argname("FILE")
    parser:option("--key", "Its private key (default: NAME.key beside the certificate).")
        :argname("FILE")
    parser:option("--chain-file", "The chain file to include, leaf first or not (default: "
        .. "NAME-chain.pem beside the certificate, if there is one). (--chain FILE: the older "
        .. "spelling, still accepted.)"):argname("FILE"):hidden_name("--chain")
    parser:option("--out", "The PKCS#12 file to write (mode 0600)."):count(1):argname("FILE")
    parser:option("--name", "The friendly name (alias) shown by keytool and browsers "
        .. "(default: NAME).")
    parser:flag("--force", "Overwrite the output file if it exists.")
    common.json_option(parser)
    secret.options(parser, "password", "The PKCS#12 password")
    secret.options(parser, "key-passphrase", "The key's passphrase, if it is encrypted")
    local opts = parser:parse(args)

    local password, perr = secret.read(opts, "password")
    if password == nil then
        boot.die("export: %s", perr)
    elseif password == false then
        parser:error("give --password-env VAR or --password-file FILE (a PKCS#12 file "
            .. "holds a private key; it is never written without a password)")
    end
    local key_pass, kperr = secret.read(opts, "key_passphrase")
    if key_pass == nil then
        boot.die("export: %s", kperr)
    end

    local key_path, chain_path, name = cli.companions(opts.cert)
    key_path = opts.key or key_path
    if not opts.chain_file and not layout.exists(chain_path) then
        chain_path = nil
    end
    chain_path = opts.chain_file or chain_path

    local cert, err = pki.read_cert(opts.cert)
    if not cert then
        boot.die("export: %s", err)
    end
    local key
    key, err = pki.read_key(key_path, key_pass and { passphrase = key_pass } or nil)
    if not key then
        boot.die("export: %s", err)
    end
    local certs = {}
    if chain_path then
        certs, err = pki.read_chain(chain_path)
        if not certs then
            boot.die("export: %s", err)
        end
    end
    progress.note("deriving the PKCS#12 keys (PBKDF2)")
    local ok, werr, wcode = pki.write_pkcs12 { path = opts.out, cert = cert, key = key,
        chain = certs, friendly_name = opts.name or name, password = password,
        overwrite = opts.force }
    key:close()
    if not ok then
        boot.die(wcode == "exists" and "export: %s (pass --force to replace)" or "export: %s",
            werr)
    end
    local n = 0
    for _, c in ipairs(certs) do
        if c ~= cert then
            n = n + 1
        end
    end
    if opts.json then
        common.print_json { out = opts.out, cert = opts.cert, chain_certificates = n,
            friendly_name = opts.name or name,
            protection = "AES-256-CBC, PBKDF2-HMAC-SHA256, MAC HMAC-SHA256" }
        return
    end
    io.write(("wrote %s: %s, its key and %d chain certificate%s, as '%s'\n")
        :format(opts.out, opts.cert, n, n == 1 and "" or "s", opts.name or name))
    io.write("  protection: AES-256-CBC with PBKDF2-HMAC-SHA256, MAC HMAC-SHA256\n")
end

return cli
