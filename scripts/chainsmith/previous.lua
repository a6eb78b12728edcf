-- The intermediate a roll replaced (chainsmith/rollover.lua), kept with its
-- key until its certificate expires, so that what it issued can still be
-- revoked where validators look: intermediate-previous.pem, its key
-- (intermediate-previous.key, mode 0600 and encrypted as the CA keys are,
-- or intermediate-previous.key.uri when it is on a token) and its own CRL,
-- intermediate-previous.crl (+ .crl.pem), signed by that key. A leaf of the
-- previous intermediate names the same issuer as the new one's but another
-- key (its authority key identifier), and a validator accepts a CRL for it
-- only when signed by that key. The key signs CRLs only: issue.lua never
-- uses it. docs/revocation.md, "Certificates of the previous intermediate".
local ca_key = require "chainsmith.ca_key"
local layout = require "chainsmith.layout"
local validity = require "chainsmith.validity"

local previous = {}

-- Its CRL's name (layout.crl_files) and what serve.lua serves it as.
previous.name = "intermediate-previous"

-- {cert, key, uri}: the kept certificate and its key in either form.
function previous.files(dir)
    return layout.files(dir).intermediate_previous
end

-- The files kept with the certificate that exist: the key in either form
-- and the CRL, for a build to remove (journaled) once the certificate has
-- expired, or when --force re-creates the chain.
function previous.leftovers(dir)
    local f, c = previous.files(dir), layout.crl_files(dir, previous.name)
    local gone = {}
    for _, path in ipairs { f.key, f.uri, c.der, c.pem } do
        if layout.exists(path) then
            gone[#gone + 1] = path
        end
    end
    return gone
end

-- What a roll writes to keep old = {cert, key, uri}, the intermediate it
-- replaces (uri: the key's pkcs11: URI when on a token), and what it
-- removes: the files to stage (pki.stage_files entries) and the paths
-- to remove. passphrase encrypts a key file as the CA keys are. An expired
-- old intermediate is kept without its key: nothing it issued verifies.
function previous.keep(dir, old, passphrase, now)
    local f = previous.files(dir)
    local out = { { path = f.cert, cert = old.cert, overwrite = true } }
    if validity.state(old.cert, now) then
        return out, previous.leftovers(dir)
    end
    local stale
    if old.uri then
        out[2] = { path = f.uri, data = old.uri .. "\n", overwrite = true }
        stale = f.key
    else
        out[2] = { path = f.key, key = old.key, overwrite = true, passphrase = passphrase }
        stale = f.uri
    end
    return out, layout.exists(stale) and { stale } or {}
end

-- The kept previous intermediate of dir at now: {cert, key}; false when
-- there is none to sign for (no key kept, or the certificate has expired:
-- previous.leftovers then says what to remove); or nil, message, code when
-- the key does not read (passphrase: the CA keys').
function previous.load(dir, passphrase, now)
    local f = previous.files(dir)
    if not ca_key.exists(f) or not layout.exists(f.cert) then
        return false
    end
    local cert, err, code = require("pki").read_cert(f.cert)
    if not cert then
        return nil, err, code
    end
    if validity.state(cert, now) then
        return false
    end
    local key
    key, err, code = ca_key.read(f, passphrase)
    if not key then
        return nil, ("%s (the previous intermediate's key, kept to sign its CRL): %s")
            :format(f.uri and layout.exists(f.uri) and f.uri or f.key, err), code
    end
    return { cert = cert, key = key }
end

return previous
