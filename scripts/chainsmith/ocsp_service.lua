-- serve.lua's OCSP side: the responder over the chain's ca.db that answers
-- /ocsp, and the response the server staples to its own handshakes.
--
-- The responder signs with the delegated signer build_chain.lua issues
-- (chain/ocsp.pem, ocsp.key: OCSPSigning only), so serving OCSP never needs
-- the intermediate's key, which may be encrypted (docs/keys.md).
local pki = require "pki"
local chain = require "chainsmith.chain"

local service = {}

-- How often the staple is signed again. Far inside its 24-hour nextUpdate,
-- and short enough that a revocation of the server's own certificate is
-- stapled within a minute.
service.restaple_seconds = 60

-- The responder for the chain in dir, or nil and why OCSP is not served
-- (a chain built before the OCSP signer existed has no ocsp.pem).
function service.open(dir)
    local files = { issuer = dir .. "/intermediate.pem", signer = dir .. "/ocsp.pem",
        key = dir .. "/ocsp.key", db = dir .. "/ca.db" }
    for _, path in pairs(files) do
        if not chain.exists(path) then
            return nil, ("%s is missing (build_chain.lua issues it)"):format(path)
        end
    end
    local issuer, signer, key, err
    issuer, err = pki.read_cert(files.issuer)
    if issuer then
        signer, err = pki.read_cert(files.signer)
    end
    if signer then
        key, err = pki.read_key(files.key)
    end
    if not key then
        return nil, err
    end
    return pki.ocsp_responder { db = files.db, issuer = issuer, signer = signer, key = key }
end

local Stapler = {}
Stapler.__index = Stapler

-- Keeps server's staple fresh for its leaf: staple(leaf) after start and
-- every reload (a reload clears the staple), tick() once a second.
function service.stapler(responder, server)
    return setmetatable({ responder = responder, server = server, at = 0 }, Stapler)
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
