-- Short human-readable descriptions of certificates, for the commands.
local summary = {}

function summary.date(t)
    return os.date("!%Y-%m-%d %H:%M UTC", t)
end

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

function summary.key(info)
    local k = info.key
    if k.type == "ec" then
        return "EC " .. k.curve
    elseif k.type == "rsa" then
        return ("RSA %d"):format(k.bits)
    end
    return k.type
end

-- What is shown of a certificate, in order, as {label, value}; the hello
-- page shows the same rows.
function summary.rows(info)
    return {
        { "subject", info.subject_line },
        { "issuer", info.issuer_line },
        { "valid", ("%s to %s"):format(summary.date(info.not_before),
            summary.date(info.not_after)) },
        { "key", ("%s, signed with %s"):format(summary.key(info), info.signature_algorithm) },
        { "SANs", summary.sans(info) },
        { "serial", info.serial },
        { "SHA-256", summary.fingerprint(info.fingerprint) },
    }
end

function summary.cert(name, cert, action, why)
    local info = cert:info()
    local days_left = (info.not_after - os.time()) // 86400
    local lines = { ("%s: %s%s"):format(name, action, why and (" (" .. why .. ")") or "") }
    for _, row in ipairs(summary.rows(info)) do
        local value = row[1] == "valid" and ("%s (%d days left)"):format(row[2], days_left)
            or row[2]
        lines[#lines + 1] = ("  %-9s %s"):format(row[1], value)
    end
    return table.concat(lines, "\n") .. "\n"
end

function summary.chain(report, files)
    local parts = {}
    for _, r in ipairs(report) do
        parts[#parts + 1] = summary.cert(r.name, r.cert, r.action, r.why)
    end
    parts[#parts + 1] = ("files: %s (trust this), %s + %s (serve these), %s\n")
        :format(files.root.cert, files.server_chain, files.server.key, files.db)
    return table.concat(parts, "\n")
end

return summary
