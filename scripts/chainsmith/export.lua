-- export.lua's work: a certificate, its key and chain as a PKCS#12 file
-- (AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC: core/pkcs12.h) that
-- browsers, keytool and pk12util import.
local pki = require "pki"
local layout = require "chainsmith.layout"
local progress = require "chainsmith.progress"

local export = {}

export.protection = "AES-256-CBC, PBKDF2-HMAC-SHA256, MAC HMAC-SHA256"

-- Where issue.lua and build_chain.lua put a certificate's key and chain:
-- NAME.pem beside NAME.key and NAME-chain.pem.
function export.companions(cert_path)
    local base = cert_path:gsub("%.pem$", ""):gsub("%.crt$", "")
    return base .. ".key", base .. "-chain.pem", base:match("([^/\\]+)$")
end

-- Write the PKCS#12 file. req: { cert = FILE, out = FILE, password,
-- key = FILE?, chain_file = FILE?, name?, key_passphrase?, force? }; key,
-- chain and name default to the certificate's companions (the chain only
-- if that file exists). Returns { out, cert, chain_certificates,
-- friendly_name } or nil, message.
function export.pkcs12(req)
    local key_path, chain_path, name = export.companions(req.cert)
    key_path = req.key or key_path
    if not req.chain_file and not layout.exists(chain_path) then
        chain_path = nil
    end
    chain_path = req.chain_file or chain_path
    name = req.name or name

    local cert, err = pki.read_cert(req.cert)
    if not cert then
        return nil, err
    end
    local key
    key, err = pki.read_key(key_path,
        req.key_passphrase and { passphrase = req.key_passphrase } or nil)
    if not key then
        return nil, err
    end
    local certs = {}
    if chain_path then
        certs, err = pki.read_chain(chain_path)
        if not certs then
            key:close()
            return nil, err
        end
    end
    progress.note("deriving the PKCS#12 keys (PBKDF2)")
    local ok, werr, wcode = pki.write_pkcs12 { path = req.out, cert = cert, key = key,
        chain = certs, friendly_name = name, password = req.password,
        overwrite = req.force }
    key:close()
    if not ok then
        return nil, wcode == "exists" and werr .. " (pass --force to replace)" or werr
    end
    local n = 0
    for _, c in ipairs(certs) do
        if c ~= cert then
            n = n + 1
        end
    end
    return { out = req.out, cert = req.cert, chain_certificates = n, friendly_name = name }
end

return export
