-- Short human-readable descriptions of certificates, for the commands.
local layout = require "chainsmith.layout"
local timefmt = require "chainsmith.timefmt"

local summary = {}

-- Every time the commands print: RFC 3339 UTC (chainsmith.timefmt).
summary.date = timefmt.utc

-- "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it.
function summary.fingerprint(hex)
    return hex:upper():gsub("(%x%x)", "%1:"):sub(1, -2)
end

function summary.sans(info)
    local san, parts = info.subject_alt_name or {}, {}
    for _, kind in ipairs { "dns", "ip", "email", "uri" } do
        for _, v in ipairs(san[kind] or {}) do
            parts[#parts + 1] = kind:upper() .. ":" .. v
        end
    end
    return #parts > 0 and table.concat(parts, ", ") or "-"
end

-- "EC P-256", "RSA 3072", "Ed25519": info is cert:info() or {key = key:info()}.
function summary.key(info)
    local k = info.key
    if k.type == "ec" then
        return "EC " .. (k.curve or ("%d bits"):format(k.bits))
    elseif k.type == "rsa" then
        return ("RSA %d"):format(k.bits)
    elseif k.type == "ed25519" then
        return "Ed25519"
    end
    return k.type
end

-- "3 days", "1 day", "5 hours", "1 minute": a duration, rounded down.
function summary.duration(seconds)
    for _, unit in ipairs { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" } } do
        local n = seconds // unit[1]
        if n >= 1 then
            return ("%d %s%s"):format(n, unit[2], n == 1 and "" or "s")
        end
    end
    return "less than a minute"
end

-- "29 days left", "expired 3 days ago", "not yet valid (starts in 2 days)".
function summary.time_left(info, now)
    if now < info.not_before then
        return ("not yet valid (starts in %s)"):format(summary.duration(info.not_before - now))
    elseif now >= info.not_after then
        return ("expired %s ago"):format(summary.duration(now - info.not_after))
    end
    return summary.duration(info.not_after - now) .. " left"
end

local function names(list)
    local parts = {}
    for _, kind in ipairs { "dns", "ip", "email", "uri" } do
        for _, v in ipairs(list[kind] or {}) do
            parts[#parts + 1] = kind:upper() .. ":" .. v
        end
    end
    return table.concat(parts, ", ")
end

local function critical(ext, text)
    return ext.critical and text .. " (critical)" or text
end

-- Everything else a certificate says, for inspect.lua.
local function detail_rows(info, cert)
    local rows = {}
    local bc = info.basic_constraints
    local role
    if bc and bc.ca then
        role = bc.path_len and ("CA, path length %d"):format(bc.path_len)
            or "CA, no path length limit"
    else
        role = bc and "leaf (CA:FALSE)" or "leaf (no basicConstraints)"
    end
    if info.self_signed then
        role = role .. ", self-signed"
    end
    rows[#rows + 1] = { "role", role }
    if info.key_usage then
        rows[#rows + 1] = { "usage", critical(info.key_usage, table.concat(info.key_usage, ", ")) }
    end
    if info.extended_key_usage then
        rows[#rows + 1] = { "ext usage", critical(info.extended_key_usage,
            table.concat(info.extended_key_usage, ", ")) }
    end
    local nc = info.name_constraints
    if nc then
        local parts = {}
        local permitted, excluded = names(nc.permitted), names(nc.excluded)
        if permitted ~= "" then parts[#parts + 1] = "permitted " .. permitted end
        if excluded ~= "" then parts[#parts + 1] = "excluded " .. excluded end
        rows[#rows + 1] = { "limits", critical(nc, table.concat(parts, "; ")) }
    end
    if info.crl_distribution_points then
        rows[#rows + 1] = { "CRL", table.concat(info.crl_distribution_points, ", ") }
    end
    local aia = info.authority_info_access
    if aia and #aia.ocsp > 0 then
        rows[#rows + 1] = { "OCSP", table.concat(aia.ocsp, ", ") }
    end
    if aia and #aia.ca_issuers > 0 then
        rows[#rows + 1] = { "CA issuer", table.concat(aia.ca_issuers, ", ") }
    end
    if info.ocsp_no_check then
        rows[#rows + 1] = { "OCSP", "no check (a delegated OCSP signer)" }
    end
    if cert then
        rows[#rows + 1] = { "SHA-1", summary.fingerprint(cert:fingerprint("sha1")) }
    end
    rows[#rows + 1] = { "SKI", info.subject_key_id and summary.fingerprint(info.subject_key_id)
        or "-" }
    rows[#rows + 1] = { "AKI", info.authority_key_id
        and summary.fingerprint(info.authority_key_id) or "-" }
    return rows
end

-- What is shown of a certificate, in order, as {label, value}; the hello
-- page shows the same rows. opts.now adds the time left to "valid";
-- opts.detail adds role, usages, name constraints, SHA-1 (of opts.cert),
-- SKI and AKI.
function summary.rows(info, opts)
    opts = opts or {}
    local valid = ("%s to %s"):format(summary.date(info.not_before), summary.date(info.not_after))
    if opts.now then
        valid = ("%s (%s)"):format(valid, summary.time_left(info, opts.now))
    end
    local rows = {
        { "subject", info.subject_line },
        { "issuer", info.issuer_line },
        { "valid", valid },
        { "key", ("%s, signed with %s"):format(summary.key(info), info.signature_algorithm) },
        { "SANs", summary.sans(info) },
        { "serial", info.serial },
        { "SHA-256", summary.fingerprint(info.fingerprint) },
    }
    if opts.detail then
        local more = detail_rows(info, opts.cert)
        table.move(more, 1, #more, #rows + 1, rows)
    end
    return rows
end

function summary.cert(name, cert, action, why)
    local lines = { ("%s: %s%s"):format(name, action, why and (" (" .. why .. ")") or "") }
    for _, row in ipairs(summary.rows(cert:info(), { now = os.time() })) do
        lines[#lines + 1] = ("  %-9s %s"):format(row[1], row[2])
    end
    return table.concat(lines, "\n") .. "\n"
end

-- One line for a CRL a build signed (chain.build's report.crls entries).
function summary.crl(c)
    return ("%s CRL: signed (%s): number %d, %d revoked, next update %s"):format(c.name, c.why,
        c.number, c.revoked, summary.date(c.next_update))
end

function summary.chain(report, files)
    local parts = {}
    for _, r in ipairs(report) do
        parts[#parts + 1] = summary.cert(r.name, r.cert, r.action, r.why)
    end
    for _, c in ipairs(report.crls or {}) do
        parts[#parts + 1] = ("%s\n  %s, %s\n"):format(summary.crl(c), c.der, c.pem)
    end
    local responder = ""
    for _, r in ipairs(report) do
        if r.name == "ocsp" then
            -- its key in a file, or on a token (chainsmith/ca_key.lua)
            local key = layout.exists(files.ocsp.uri) and files.ocsp.uri or files.ocsp.key
            responder = (", %s + %s (the OCSP responder)"):format(files.ocsp.cert, key)
        end
    end
    parts[#parts + 1] = ("files: %s (trust this), %s + %s (serve these)%s, %s\n")
        :format(files.root.cert, files.server_chain, files.server.key, responder,
            layout.db_name(files.db))
    return table.concat(parts, "\n")
end

-- A certificate as a --json object: the rows above as fields.
function summary.cert_json(cert)
    local info = cert:info()
    return { subject = info.subject_line, issuer = info.issuer_line, serial = info.serial,
        not_before = summary.date(info.not_before), not_after = summary.date(info.not_after),
        sha256 = info.fingerprint }
end

-- A CRL a build or revocation signed, as a --json object.
function summary.crl_json(c)
    return { ca = c.name, why = c.why, number = c.number, revoked = c.revoked,
        next_update = summary.date(c.next_update), der = c.der, pem = c.pem }
end

-- build_chain.lua --json: each certificate with what was done, the CRLs
-- signed, the files; root_differs as for exit status 3.
function summary.chain_json(report, files, root_differs)
    local json = require "chainsmith.json"
    local certs, crls = json.array(), json.array()
    for _, r in ipairs(report) do
        local c = summary.cert_json(r.cert)
        c.name, c.action, c.why = r.name, r.action, r.why
        certs[#certs + 1] = c
    end
    for _, c in ipairs(report.crls or {}) do
        crls[#crls + 1] = summary.crl_json(c)
    end
    return { certificates = certs, crls = crls, root_differs = root_differs and true or false,
        files = { root = files.root.cert, server_chain = files.server_chain,
                  server_key = files.server.key, db = layout.db_name(files.db) } }
end

return summary
