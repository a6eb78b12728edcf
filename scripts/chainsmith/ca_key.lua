-- A CA key, in a file (NAME.key, maybe encrypted) or on a PKCS#11 token
-- (an HSM): then the chain folder holds NAME.key.uri, one line with the
-- key's RFC 7512 URI (pkcs11:token=...;object=...), and no private key.
-- The one place that chooses between them: chain.lua, ca.lua, ocsp_service.lua
-- read CA keys through here. The token's PIN comes from --pin-env VAR or
-- --pin-file FILE (ca_key.options), never from the command line or the URI.
-- docs/keys.md, "Keys in an HSM".
local pki = require "pki"
local layout = require "chainsmith.layout"
local secret = require "chainsmith.secret"

local ca_key = {}

-- The keys --hsm puts on the token: the CAs' and the OCSP responder's.
ca_key.on_token_names = { root = true, intermediate = true, ocsp = true }

local chosen = { pin = nil }

-- --pin-env VAR / --pin-file FILE on an argparse parser (--pin itself refused).
function ca_key.options(parser)
    secret.options(parser, "pin", "The PKCS#11 token's PIN, when CA keys are on a token "
        .. "(--hsm)")
end

-- Read the PIN the options name and use it from now on: true, or nil, message.
function ca_key.use_options(opts)
    local pin, err = secret.read(opts, "pin")
    if pin == nil then
        return nil, err
    end
    chosen.pin = pin or chosen.pin
    return true
end

-- Use pin (the Lua API: ca.open{pin = ...}).
function ca_key.use_pin(pin)
    chosen.pin = pin or chosen.pin
end

-- Whether uri may be given on a command line: a pkcs11: URI without a PIN
-- in it. true, or nil, message.
function ca_key.check_uri(uri, flag)
    if not tostring(uri):find("^pkcs11:") then
        return nil, ("%s %s: not a pkcs11: URI (pkcs11:token=LABEL)"):format(flag, uri)
    end
    if uri:find("[;?&]pin%-value=") or uri:find("[;?&]pin%-source=") then
        return nil, ("%s: a PIN never goes in the URI, where every user of the machine can read "
            .. "it (ps, /proc) and shells keep it in history; give --pin-env VAR or --pin-file "
            .. "FILE"):format(flag)
    end
    if uri:find("[:;]object=") then
        return nil, ("%s %s: name the token only; each key gets its own object label")
            :format(flag, uri)
    end
    return true
end

-- The URI in f.uri (layout.files(dir).NAME), or nil when the key is not on
-- a token; nil, message when the file cannot be read.
function ca_key.uri(f)
    if not layout.exists(f.uri) then
        return nil
    end
    local text, err = pki.read_file(f.uri, 4096)
    if not text then
        return nil, err
    end
    return (text:gsub("%s+$", ""))
end

-- Whether f's key is there, in either form.
function ca_key.exists(f)
    return layout.exists(f.key) or layout.exists(f.uri)
end

-- The key of f (layout.files(dir).NAME): from the token its .key.uri
-- names, else the file, decrypted with passphrase when given. The key, or
-- nil, message, code.
function ca_key.read(f, passphrase)
    local uri, uerr = ca_key.uri(f)
    if uerr then
        return nil, uerr, "io"
    end
    if uri then
        local key, err, code = pki.read_key(uri, { pin = chosen.pin })
        if not key then
            return nil, ("%s: %s"):format(f.uri, err), code
        end
        return key
    end
    return pki.read_key(f.key, passphrase and { passphrase = passphrase } or nil)
end

-- The token (a pkcs11: URI without object=) f's key is on, or nil.
function ca_key.token_of(f)
    local uri = ca_key.uri(f)
    return uri and (uri:gsub(";object=[^;?]*", ""))
end

-- A new key of kind p (a profile's key table) for certificate name on the
-- token hsm names: the key and its URI, or nil, message, code. Its object
-- label is unique (name, time, random) so a re-issued key never meets an old one.
function ca_key.generate(hsm, name, p)
    -- Lua 5.4 seeds math.random from the time and an address: unique
    -- enough for a label, which is no secret
    local tag = ("%s-%s-%08x"):format(name, os.date("!%Y%m%dT%H%M%S"),
        math.random(0, 0x7fffffff))
    local path, query = hsm:match("^([^?]*)(.*)$")
    local uri = ("%s;object=chainsmith-%s%s"):format(path, tag, query)
    local key, err, code = pki.generate_token_key(uri, p, { pin = chosen.pin })
    if not key then
        return nil, err, code
    end
    return key, uri
end

return ca_key
