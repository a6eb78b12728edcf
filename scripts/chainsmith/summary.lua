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

function summary.cert(name, cert, action, why)
    local info = cert:info()
    local days_left = (info.not_after - os.time()) // 86400
    local lines = {
        ("%s: %s%s"):format(name, action, why and (" (" .. why .. ")") or ""),
        ("  subject   %s"):format(info.subject_line),
        ("  issuer    %s"):format(info.issuer_line),
        ("  valid     %s to %s (%d days left)"):format(summary.date(info.not_before),
            summary.date(info.not_after), days_left),
        ("  key       %s, signed with %s"):format(summary.key(info), info.signature_algorithm),
        ("  SANs      %s"):format(summary.sans(info)),
        ("  serial    %s"):format(info.serial),
        ("  SHA-256   %s"):format(summary.fingerprint(info.fingerprint)),
    }
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
