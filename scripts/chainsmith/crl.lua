-- The CRLs: each CA's signed list of the certificates it revoked, written
-- beside the chain. The root's (root.crl) lists revoked intermediates, the
-- intermediate's (intermediate.crl) revoked leaves; each is DER, with a PEM
-- copy (.crl.pem). docs/revocation.md is the user's side of this file.
local pki = require "pki"
local layout = require "chainsmith.layout"

local crl = {}

-- The CAs that sign a CRL, in the order build_chain.lua writes them.
crl.names = { "root", "intermediate" }

-- nextUpdate when the CA's profile does not say (crl_next_update_days).
crl.default_days = { root = 30, intermediate = 7 }

-- Sign the CRL of the CA (cert, key) from what store records as revoked by
-- it, with the next CRL number, valid for days. Call it inside store's open
-- batch: the number is committed with the batch, so the CRL must not take
-- its name before the commit. Returns {name, number, revoked = count,
-- next_update, der, pem} and the files to stage with pki.stage_files
-- (name.crl and name.crl.pem in dir, replacing both together), or nil,
-- message, code.
function crl.sign(store, dir, name, cert, key, days)
    local issuer = cert:info().subject_line
    local revoked, err, code = store:revoked(issuer)
    if not revoked then
        return nil, err, code
    end
    local number
    number, err, code = store:next_crl_number(issuer)
    if not number then
        return nil, err, code
    end
    local list
    list, err, code = pki.sign_crl { issuer = cert, key = key, number = number,
        revoked = revoked, next_update_days = days or crl.default_days[name] or 7 }
    if not list then
        return nil, ("%s CRL: %s"):format(name, err), code
    end
    local f = layout.crl_files(dir, name)
    return { name = name, number = number, revoked = #revoked,
        next_update = list:info().next_update, der = f.der, pem = f.pem }, {
        { path = f.der, crl = list, overwrite = true },
        { path = f.pem, crl = list, pem = true, overwrite = true },
    }
end

-- Why CA name's CRL in dir must be signed again, or nil when it is fine:
-- missing, not signed by cert (a re-created CA), or past half its life
-- (so a routine build_chain.lua keeps it from going stale).
function crl.stale(dir, name, cert, now)
    local f = layout.crl_files(dir, name)
    local list = pki.read_crl(f.der)
    if not list or not pki.read_crl(f.pem) then
        return "missing"
    end
    if not list:verify(cert) then
        return "not signed by the current " .. name
    end
    local info = list:info()
    local next_update = info.next_update or 0
    if next_update - now < (next_update - info.this_update) // 2 then
        return "past half its validity"
    end
    return nil
end

return crl
