-- The export.lua command: options, the secrets, then one call to
-- chainsmith.export (the PKCS#12 file).
local common = require "chainsmith.cli"
local export = require "chainsmith.export"
local secret = require "chainsmith.secret"

local cli = {}

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

    local result, err = export.pkcs12 { cert = opts.cert, out = opts.out, key = opts.key,
        chain_file = opts.chain_file, name = opts.name, password = password,
        key_passphrase = key_pass, force = opts.force }
    if not result then
        boot.die("export: %s", err)
    end
    if opts.json then
        result.protection = export.protection
        common.print_json(result)
        return
    end
    local n = result.chain_certificates
    io.write(("wrote %s: %s, its key and %d chain certificate%s, as '%s'\n")
        :format(result.out, result.cert, n, n == 1 and "" or "s", result.friendly_name))
    io.write("  protection: AES-256-CBC with PBKDF2-HMAC-SHA256, MAC HMAC-SHA256\n")
end

return cli
