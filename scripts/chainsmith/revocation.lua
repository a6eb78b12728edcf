-- revoke.lua's work: check the request, open the chain, revoke (the CA
-- signs its CRL again: chainsmith.ca), and the summary as text or JSON.
local pki = require "pki"
local json = require "chainsmith.json"
local summary = require "chainsmith.summary"

local revocation = {}

-- Revoke one certificate. req: { chain = DIR, profiles = DIR, reason,
-- serial = HEX or cert = FILE, passphrase = the CA keys' passphrase or
-- false, passphrase_error = why it could not be read (passphrase nil) }.
-- The reason and the certificate are checked before the passphrase is
-- used. Returns ca:revoke's result, or nil, message, code: "invalid" (bad
-- reason or certificate file), "chain" (the chain cannot be opened, whatever
-- its own code: ca:revoke's codes speak of the serial only), or ca:revoke's.
function revocation.revoke(req)
    local reasons = pki.crl_reasons()
    local ok_reason = false
    for _, r in ipairs(reasons) do
        ok_reason = ok_reason or r == req.reason
    end
    if not ok_reason then
        return nil, ("--reason: unknown reason '%s' (one of: %s)"):format(req.reason,
            table.concat(reasons, ", ")), "invalid"
    end
    local request = { reason = req.reason }
    if req.cert then
        local cert, cerr = pki.read_cert(req.cert)
        if not cert then
            return nil, cerr, "invalid"
        end
        request.cert = cert
    else
        request.serial = req.serial
    end

    if req.passphrase == nil then
        return nil, req.passphrase_error, "chain"
    end
    local ca, err = require("chainsmith.ca").open { dir = req.chain, profiles = req.profiles,
        passphrase = req.passphrase or nil }
    if not ca then
        return nil, err, "chain"
    end
    local result, code
    result, err, code = ca:revoke(request)
    ca:close()
    if not result then
        return nil, err, code
    end
    return result
end

-- The result as the JSON document revoke.lua --json prints (docs/revocation.md).
function revocation.json(result)
    local crl = summary.crl_json(result.crl)
    crl.ca, crl.why = result.ca, nil
    return { serial = result.serial, subject = result.subject,
        reason = result.reason, revoked_at = summary.date(result.revoked_at),
        issuer = result.issuer, crl = crl,
        previous_crl = result.previous_crl and summary.crl_json(result.previous_crl) or nil,
        warnings = json.array(result.warnings) }
end

-- The result as text, one line per fact.
function revocation.text(result)
    local c, p = result.crl, result.previous_crl
    local previous = p and ("%s CRL: number %d, %d revoked, next update %s (%s, %s)\n"):format(
        p.name, p.number, p.revoked, summary.date(p.next_update), p.der, p.pem) or ""
    return ("revoked %s (%s)\n"):format(result.serial, result.subject)
        .. ("  reason    %s\n"):format(result.reason)
        .. ("  at        %s\n"):format(summary.date(result.revoked_at))
        .. ("  issuer    %s (%s)\n"):format(result.issuer, result.ca)
        .. previous
        .. ("%s CRL: number %d, %d revoked, next update %s\n"):format(result.ca, c.number,
            c.revoked, summary.date(c.next_update))
        .. ("files: %s, %s\n"):format(c.der, c.pem)
end

return revocation
