-- serve.lua and a change of CA under it. What the server built at start
-- from the chain's CAs cannot be swapped while it runs: the client-CA list
-- (--mtls: root.pem and the served intermediate, in the TLS context), and
-- the OCSP responder, whose issuer is the intermediate it answers for (the
-- handler and the revocation check of client certificates hold it). A
-- reload that finds another root (build_chain.lua --force) or another
-- intermediate (a roll: build_chain.lua, renew.lua --intermediate) would
-- serve the new leaf beside the old OCSP issuer, client CAs and staple, so
-- the server stops instead, saying so: a restart builds all of it again.
local pki = require "pki"
local summary = require "chainsmith.summary"

local ca_watch = {}

local function fingerprint(cert)
    return cert and cert:info().fingerprint or nil
end

-- What chain c ({served = {leaf, intermediate...}, root}) was started
-- with, and intermediate.pem then. files is layout.files(dir).
function ca_watch.new(c, files)
    return { root = fingerprint(c.root), intermediate = fingerprint(c.served[2]),
        issuer = fingerprint(pki.read_cert(files.intermediate.cert)) }
end

-- nil when chain c has the CAs of w; else the line to stop with, naming
-- what changed and what it means. intermediate.pem is read too: a build
-- places it before the server's files, so a reload that catches a roll
-- half-placed stops rather than reload the old chain beside the new CRL.
function ca_watch.changed(w, c, files)
    local why, file, cert
    local issuer = pki.read_cert(files.intermediate.cert)
    if fingerprint(c.root) ~= w.root then
        why, file, cert = "root changed", files.root.cert, c.root
    elseif fingerprint(c.served[2]) ~= w.intermediate then
        why, file, cert = "intermediate changed", files.server_chain, c.served[2]
    elseif issuer and fingerprint(issuer) ~= w.issuer then
        why, file, cert = "intermediate changed", files.intermediate.cert, issuer
    else
        return nil
    end
    return ("%s: restart serve.lua (%s now holds SHA-256 %s; the client CAs, the OCSP "
        .. "responder's issuer and signer and the staple are built at start, and are not "
        .. "served half old, half new)"):format(why, file,
        summary.fingerprint(cert:info().fingerprint))
end

return ca_watch
