-- serve.lua's OCSP side: the responder over the chain's ca.db that answers
-- /ocsp, and the response the server staples to its own handshakes.
--
-- The responder signs with the delegated signer build_chain.lua issues
-- (chain/ocsp.pem, ocsp.key: OCSPSigning only), so serving OCSP never needs
-- the intermediate's key, which may be encrypted (docs/keys.md).
local pki = require "pki"
local ca_key = require "chainsmith.ca_key"
local layout = require "chainsmith.layout"

local service = {}

-- How often the staple is signed again. Far inside its 24-hour nextUpdate,
-- and short enough that a revocation of the server's own certificate is
-- stapled within a minute.
service.restaple_seconds = 60

local Service = {}
Service.__index = Service

local function read_signer(files)
    local signer, err = pki.read_cert(files.signer)
    if not signer then
        return nil, err
    end
    local key
    key, err = ca_key.read(files.pair)
    if not key then
        return nil, err
    end
    return signer, key
end

-- OCSP for the chain in dir: {responder = pki.ocsp_responder, ...}, or nil
-- and why OCSP is not served (a chain built before the OCSP signer existed
-- has no ocsp.pem).
function service.open(dir)
    local f = layout.files(dir)
    -- the responder's key: ocsp.key, or on a token (ocsp.key.uri)
    local key_file = layout.exists(f.ocsp.uri) and f.ocsp.uri or f.ocsp.key
    local files = { issuer = f.intermediate.cert, signer = f.ocsp.cert, key = key_file,
        db = f.db }
    for _, path in pairs(files) do
        if not layout.exists(path) then
            return nil, ("%s is missing (build_chain.lua issues it)"):format(path)
        end
    end
    local issuer, err = pki.read_cert(files.issuer)
    if not issuer then
        return nil, err
    end
    files.pair = f.ocsp
    local signer, key = read_signer(files)
    if not signer then
        return nil, key
    end
    local responder, rerr = pki.ocsp_responder { db = files.db, issuer = issuer,
        signer = signer, key = key }
    if not responder then
        return nil, rerr
    end
    return setmetatable({ responder = responder, files = files }, Service)
end

-- The files a new signer arrives in (build_chain.lua and renew.lua renew
-- the delegated responder, which lives 30 days).
function Service:watched()
    return { self.files.signer, self.files.key }
end

-- Sign with what ocsp.pem and ocsp.key hold now: true and the signer's
-- serial, or nil and why (a pair caught half-renamed does not match; the
-- old signer stays).
function Service:reload_signer()
    local signer, key = read_signer(self.files)
    if not signer then
        return nil, key
    end
    local ok, err = self.responder:set_signer(signer, key)
    if not ok then
        return nil, err
    end
    return true, signer:serial()
end

local Stapler = {}
Stapler.__index = Stapler

-- Keeps server's staple fresh for its leaf: staple(leaf) after start and
-- every reload (a reload clears the staple), tick() once a second.
function Service:stapler(server)
    return setmetatable({ responder = self.responder, server = server, at = 0 }, Stapler)
end

-- Sign a response for leaf and staple it. On failure (a leaf from another
-- issuer, a database error) the server goes on without a staple, and the
-- reason is printed once until it changes.
function Stapler:staple(leaf)
    self.leaf, self.at = leaf, os.time()
    local der, err = self.responder:staple(leaf)
    local ok = false
    if der then
        ok, err = self.server:set_staple(der)
    end
    if not ok then
        if err ~= self.last_err then
            io.stderr:write(("serve: no OCSP staple: %s\n"):format(err))
        end
        self.last_err = err
        self.server:set_staple(nil)
        return nil, err
    end
    self.last_err = nil
    return true
end

function Stapler:tick()
    if self.leaf and os.time() - self.at >= service.restaple_seconds then
        self:staple(self.leaf)
    end
end

return service
