-- Rolling the intermediate CA under the root clients already trust: a new
-- key and certificate signed by the same root, when the intermediate has
-- expired (or is not yet valid, or no longer verifies under root.pem), is
-- within its profile's renew_before_days of expiry, no longer matches its
-- profile, or a roll is asked for (build_chain.lua --roll-intermediate,
-- renew.lua --intermediate). chain.build does the roll in its one journal:
-- the server certificate and the OCSP responder follow (they no longer
-- chain to the current intermediate), the intermediate's CRL is signed by
-- the new key, and the certificate replaced is kept beside the chain, so
-- what it issued still verifies until it expires (with its key, to sign
-- their CRL: chainsmith/previous.lua). The root is never
-- rolled: that stays build_chain.lua --force.
local pki = require "pki"
local summary = require "chainsmith.summary"
local validity = require "chainsmith.validity"

local rollover = {}

-- Where the intermediate certificate a roll replaced is kept (the last one
-- only): certificates it issued chain to the root through it.
function rollover.previous_path(out)
    return out .. "/intermediate-previous.pem"
end

-- Why the intermediate cert (from profile p) must be rolled under root at
-- now, or nil to keep it. forced, if given, is the reason a roll was asked
-- for; difference(info, p) says how a certificate differs from its
-- profile (chain.difference).
function rollover.due(cert, p, root, now, difference, forced)
    if forced then
        return forced
    end
    local state = validity.state(cert, now)
    if state then
        return state
    end
    local ok, err = pki.verify { leaf = cert, chain = {}, roots = { root }, time = now }
    if not ok then
        return "does not verify under the root: " .. err
    end
    local info = cert:info()
    local window = (p.renew_before_days or 0) * 86400
    if info.not_after - window <= now then
        return ("expires %s, within renew_before_days (%d)")
            :format(summary.date(info.not_after), p.renew_before_days or 0)
    end
    local diff = difference(info, p)
    if diff then
        return ("its profile changed: %s"):format(diff)
    end
    return nil
end

-- What a build that rolled the intermediate says after its summary: the
-- lines, or "" when report (chain.build's) rolled nothing.
function rollover.note(report, out)
    local r = report[2]
    if not (r and r.name == "intermediate" and r.previous) then
        return ""
    end
    local state = validity.state(r.previous, os.time())
    local issued = state and ("(%s): what it issued no longer verifies; issue it again with "
        .. "issue.lua"):format(state) or ("for the certificates it issued, which verify (with "
        .. "it as -untrusted) until they expire, with its key, which signs their CRL, %s.crl, "
        .. "until then"):format(out .. "/intermediate-previous")
    return ("intermediate rolled under the same root: serial %s -> %s (%s); root.pem is "
        .. "unchanged, so nothing is trusted again; the previous intermediate is kept in %s "
        .. "%s\n"):format(r.previous:serial(), r.cert:serial(), r.why,
        rollover.previous_path(out), issued)
end

return rollover
