-- What a file holds: certificates, CRLs, keys, CSRs, a PKCS#12 bundle, in PEM or DER.
-- PEM goes by each block's label; DER is tried as each kind in turn. Returns
-- plain tables of pki objects and their info; nothing here prints.
local lfs = require "lfs"
local pki = require "pki"

local identify = {}

local FILE_MAX = 4 * 1024 * 1024 -- as core's certificate files

local NOT_ONE = "%s: not a certificate, CRL, CSR, key or PKCS#12 (%s)"

local function read(path)
    if path == "-" then -- stdin, named explicitly: the same cap
        return require("chainsmith.cli").read_stdin(FILE_MAX)
    end
    -- Regular files only: a FIFO or /dev/zero is refused at once.
    local data, err, code = pki.read_file(path, FILE_MAX)
    if not data then
        local why = err:sub(#path + 3):gsub("^cannot open: ", "")
        if code == "toolarge" then
            return nil, NOT_ONE:format(path, why)
        elseif code == "invalid" then -- not a regular file
            return nil, err
        end
        return nil, ("%s: cannot read (%s)"):format(path, why)
    end
    if data == "" then
        return nil, NOT_ONE:format(path, "empty file")
    end
    return data
end

-- Every "-----BEGIN X-----" ... "-----END X-----" block, in order.
local function pem_blocks(data)
    local blocks, pos = {}, 1
    while true do
        local s, e, label = data:find("%-%-%-%-%-BEGIN ([%w ]+)%-%-%-%-%-", pos)
        if not s then break end
        local _, ee = data:find("-----END " .. label .. "-----", e + 1, true)
        if not ee then
            return nil, ("PEM block '%s' has no END line"):format(label)
        end
        blocks[#blocks + 1] = { label = label, text = data:sub(s, ee) }
        pos = ee + 1
    end
    if #blocks == 0 then
        return nil, "no readable PEM block"
    end
    return blocks
end

local function new_found(path, format)
    return { path = path, format = format, certs = {}, keys = {}, csrs = {}, crls = {} }
end

local function add_cert(found, cert)
    local info, err = cert:info()
    if not info then return nil, err end
    found.certs[#found.certs + 1] = { cert = cert, info = info }
    return true
end

local function add_key(found, key)
    local info, err = key:info()
    if not info then return nil, err end
    found.keys[#found.keys + 1] = { key = key, info = info }
    return true
end

local function add_encrypted(found, encryption)
    found.keys[#found.keys + 1] = { info = { private = true, encrypted = true },
        encryption = encryption }
    return true
end

local function add_csr(found, csr)
    local info, err = csr:info()
    if not info then return nil, err end
    found.csrs[#found.csrs + 1] = { csr = csr, info = info }
    return true
end

local function add_crl(found, crl)
    local info, err = crl:info()
    if not info then return nil, err end
    found.crls[#found.crls + 1] = { crl = crl, info = info }
    return true
end

-- Loaders by PEM label; each adds to found or returns nil, message.
local function load_key(text, what, found)
    if text:find("Proc-Type: 4,ENCRYPTED", 1, true) then
        -- OpenSSL's traditional encrypted PEM: the header names the cipher
        return add_encrypted(found, { scheme = "OpenSSL PEM encryption (MD5 key derivation)",
            cipher = text:match("DEK%-Info: ([%w%-]+)") or "?", legacy = true })
    end
    local key, err = pki.load_key(text, what)
    if not key then return nil, err end
    return add_key(found, key)
end

local function load_csr(text, what, found)
    local csr, err, code = pki.load_csr(text, what)
    if not csr then return nil, err, code end
    return add_csr(found, csr)
end

local loaders = {
    ["CERTIFICATE"] = function(text, what, found)
        local cert, err = pki.load_cert(text, what)
        if not cert then return nil, err end
        return add_cert(found, cert)
    end,
    ["PRIVATE KEY"] = load_key,
    ["EC PRIVATE KEY"] = load_key,
    ["RSA PRIVATE KEY"] = load_key,
    ["ENCRYPTED PRIVATE KEY"] = function(text, what, found)
        local enc, err = pki.encrypted_key_info(text, what)
        if not enc then return nil, err end
        return add_encrypted(found, enc)
    end,
    ["PUBLIC KEY"] = function(text, what, found)
        local key, err = pki.load_public_key(text, what)
        if not key then return nil, err end
        return add_key(found, key)
    end,
    ["X509 CRL"] = function(text, what, found)
        local crl, err = pki.load_crl(text, what)
        if not crl then return nil, err end
        return add_crl(found, crl)
    end,
    ["CERTIFICATE REQUEST"] = load_csr,
    ["NEW CERTIFICATE REQUEST"] = load_csr,
    -- written by `openssl ecparam -genkey` before the key; says nothing more
    ["EC PARAMETERS"] = function() return true end,
}

local function from_pem(path, data)
    local blocks, err = pem_blocks(data)
    if not blocks then
        return nil, NOT_ONE:format(path, err)
    end
    local found = new_found(path, "PEM")
    for i, b in ipairs(blocks) do
        local load = loaders[b.label]
        if not load then
            return nil, NOT_ONE:format(path, ("unknown PEM label '%s'"):format(b.label))
        end
        local what = #blocks > 1 and ("%s: PEM block %d (%s)"):format(path, i, b.label) or path
        local ok, msg, code = load(b.text, what, found)
        if code == "verify" then
            return nil, msg -- a forged CSR: it is one, and that is what is wrong
        elseif not ok then
            return nil, NOT_ONE:format(path, msg)
        end
    end
    if #found.certs + #found.keys + #found.csrs + #found.crls == 0 then
        return nil, NOT_ONE:format(path, "only EC parameters, no key")
    end
    return found
end

-- PFX ::= SEQUENCE { version INTEGER (v3), ... } (RFC 7292 4): tells a
-- PKCS#12 file from the other DER kinds, so its own errors (a wrong password)
-- are the ones reported.
local function looks_like_pkcs12(data)
    local len = data:byte(2)
    if data:byte(1) ~= 0x30 or not len then return false end
    local header = len < 0x80 and 2 or 2 + (len & 0x7f)
    return data:sub(header + 1, header + 3) == "\2\1\3"
end

local function from_pkcs12(path, data, password)
    local p12, err, code = pki.load_pkcs12(data, password, path)
    if not p12 then
        if code == "verify" and not password then
            err = err .. " (give the password with --password-env VAR or --password-file FILE)"
        end
        return nil, err
    end
    local found = new_found(path, "DER")
    found.pkcs12 = { mac = p12.mac, encryption = p12.encryption }
    local ok, msg = true, nil
    if p12.key then ok, msg = add_key(found, p12.key) end
    if ok and p12.cert then ok, msg = add_cert(found, p12.cert) end
    for _, c in ipairs(p12.certs) do
        if ok then ok, msg = add_cert(found, c) end
    end
    if not ok then return nil, msg end
    return found
end

-- DER: a certificate, then a key (plain or encrypted), a CSR, a public key, a CRL.
local function from_der(path, data)
    local found = new_found(path, "DER")
    local cert, certerr, certcode = pki.load_cert(data, path)
    if cert then
        local ok, err = add_cert(found, cert)
        if not ok then return nil, NOT_ONE:format(path, err) end
        return found
    elseif certcode == "unsupported" then
        return nil, certerr -- a certificate in BER: refused, not taken for something else
    end
    local key, kerr, kcode = pki.load_key(data, path)
    if key then
        local ok, err = add_key(found, key)
        if not ok then return nil, NOT_ONE:format(path, err) end
        return found
    end
    local enc = pki.encrypted_key_info(data, path)
    if enc then
        add_encrypted(found, enc)
        return found
    end
    local csr, cerr, ccode = pki.load_csr(data, path)
    if csr then
        local ok, err = add_csr(found, csr)
        if not ok then return nil, NOT_ONE:format(path, err) end
        return found
    elseif ccode == "verify" then
        return nil, cerr -- a forged CSR
    end
    local pub = pki.load_public_key(data, path)
    if pub then
        local ok, err = add_key(found, pub)
        if not ok then return nil, NOT_ONE:format(path, err) end
        return found
    end
    local crl = pki.load_crl(data, path)
    if crl then
        local ok, err = add_crl(found, crl)
        if not ok then return nil, NOT_ONE:format(path, err) end
        return found
    end
    -- a key of a type we refuse says so (core's "path: unsupported curve ...");
    -- anything else is not DER we know
    if kcode == "unsupported" then
        return nil, NOT_ONE:format(path, kerr)
    end
    return nil, NOT_ONE:format(path, "not PEM, and no DER certificate, CRL, key or CSR parses")
end

-- identify.file(path, password) -> found or nil, message naming path.
-- found = {path, format = "PEM"|"DER", certs = {{cert, info}}, keys =
-- {{key, info, encryption}}, csrs = {{csr, info}}, crls = {{crl, info}},
-- pkcs12 = {mac, encryption}}.
-- A CA database (SQLite's 16-byte header), whatever its size: its records
-- are listed by list.lua, not scraped for PEM here.
local function ca_database(path)
    if lfs.attributes(path, "mode") ~= "file" then
        return false -- read() says what a FIFO or a folder is, without waiting
    end
    local f = io.open(path, "rb")
    local head = f and f:read(16)
    if f then f:close() end
    return head == "SQLite format 3\0"
end

function identify.file(path, password)
    if path ~= "-" and ca_database(path) then
        return nil, ("%s: a CA database, not a certificate file: list what it holds with "
            .. "`lua scripts/list.lua --chain %s`"):format(path, path:match("^(.*)/[^/]*$") or ".")
    end
    local data, err = read(path)
    if not data then return nil, err end
    if data:find("-----BEGIN", 1, true) then
        return from_pem(path, data)
    elseif looks_like_pkcs12(data) then
        return from_pkcs12(path, data, password)
    end
    return from_der(path, data)
end

return identify
