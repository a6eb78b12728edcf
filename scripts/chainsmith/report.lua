-- What inspect.lua shows of an identified file (chainsmith.identify): as text,
-- with summary.lua's certificate rows, or as a table for JSON. Keys show only
-- their public half: the private key has no string form in the pki module.
local json = require "chainsmith.json"
local summary = require "chainsmith.summary"

local report = {}

local MAX_ORDER = 16 -- beyond this, no search for a working order (n^2 checks)

-- ---- facts shared by both forms ----

-- Is each certificate issued by the next, does the last sign itself, and
-- if not in order, which order would be.
local function chain_order(certs)
    local n = #certs
    local links, in_order = {}, true
    for i = 1, n - 1 do
        local ok, why = certs[i].cert:issued_by(certs[i + 1].cert)
        links[i] = { from = i, to = i + 1, issued_by = ok, reason = why }
        in_order = in_order and ok
    end
    local last = certs[n].cert
    local order = { in_order = in_order, links = links,
        ends_in_root = (last:issued_by(last)) }
    if not in_order and n <= MAX_ORDER then
        local issued = {}
        for i = 1, n do
            issued[i] = {}
            for j = 1, n do
                issued[i][j] = i ~= j and certs[i].cert:issued_by(certs[j].cert)
            end
        end
        -- from a certificate that issued none of the others, follow issuers
        for start = 1, n do
            local is_issuer = false
            for j = 1, n do is_issuer = is_issuer or issued[j][start] end
            if not is_issuer then
                local path, used = { start }, { [start] = true }
                local at = start
                repeat
                    local next_one
                    for j = 1, n do
                        if not used[j] and issued[at][j] then next_one = j break end
                    end
                    if next_one then
                        path[#path + 1], used[next_one], at = next_one, true, next_one
                    end
                until not next_one
                if #path == n then
                    order.suggested = path
                    break
                end
            end
        end
    end
    return order
end

-- Which certificate and which CSR of the file each key belongs to.
local function key_matches(found)
    for _, k in ipairs(found.keys) do
        if k.key and k.info.private then
            for i, c in ipairs(found.certs) do
                if c.cert:check_key(k.key) then
                    k.certificate = i
                    break
                end
            end
        end
        for i, r in ipairs(found.csrs) do
            if k.info.fingerprint and r.info.key.fingerprint == k.info.fingerprint then
                k.csr = i
                break
            end
        end
    end
end

-- Each CRL's issuer certificate: one with the CRL's issuer name, in this file
-- first, then in the other files given (pool); the first whose key verifies
-- the CRL's signature, else the last tried. No such name: crl.issuer is nil.
local function crl_issuers(found, pool)
    local files = { found }
    for _, f in ipairs(pool or {}) do
        if f ~= found then files[#files + 1] = f end
    end
    for _, l in ipairs(found.crls) do
        for _, f in ipairs(files) do
            for i, c in ipairs(f.certs) do
                if not l.verified and c.info.subject_line == l.info.issuer_line then
                    local ok, why = l.crl:verify(c.cert)
                    l.issuer = { path = f.path, index = i, here = f == found,
                        alone = #f.certs == 1 }
                    l.verified, l.reason = ok or false, why
                end
            end
        end
    end
end

local function kind(found)
    local nc, nk, nr, nl = #found.certs, #found.keys, #found.csrs, #found.crls
    if found.pkcs12 then return "pkcs12" end
    if nk == 0 and nr == 0 and nl == 0 then return nc == 1 and "certificate" or "chain" end
    if nc == 0 and nr == 0 and nl == 0 and nk == 1 then
        local k = found.keys[1]
        return k.info.encrypted and "encrypted_private_key"
            or k.info.private and "private_key" or "public_key"
    end
    if nc == 0 and nk == 0 and nl == 0 and nr == 1 then return "csr" end
    if nc == 0 and nk == 0 and nr == 0 and nl == 1 then return "crl" end
    return "bundle"
end

-- pool: every file identified on the command line (for the CRLs' issuers).
function report.analyse(found, pool)
    key_matches(found)
    crl_issuers(found, pool)
    if #found.certs > 1 then
        found.chain = chain_order(found.certs)
    end
    found.kind = kind(found)
    return found
end

-- ---- text ----

local function pbe_text(e)
    if not e then return "none" end
    local parts = { e.scheme }
    if e.kdf then
        parts[#parts + 1] = e.prf and ("%s with %s"):format(e.kdf, e.prf) or e.kdf
    end
    if e.iterations then parts[#parts + 1] = ("%d iterations"):format(e.iterations) end
    if e.cipher then parts[#parts + 1] = e.cipher end
    local s = parts[1] .. (#parts > 1 and ": " .. table.concat(parts, ", ", 2) or "")
    return e.legacy and s .. " (legacy)" or s
end

local function critical(ext, text)
    return ext.critical and text .. " (critical)" or text
end

local function plural(n, word)
    return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

local function title(found)
    local k = found.kind
    local counts = {}
    if #found.keys > 0 then counts[#counts + 1] = plural(#found.keys, "key") end
    if #found.certs > 0 then counts[#counts + 1] = plural(#found.certs, "certificate") end
    if #found.csrs > 0 then counts[#counts + 1] = plural(#found.csrs, "CSR") end
    if #found.crls > 0 then counts[#counts + 1] = plural(#found.crls, "CRL") end
    local text = ({
        certificate = "certificate",
        chain = "chain of " .. plural(#found.certs, "certificate"),
        private_key = "private key",
        encrypted_private_key = "encrypted private key",
        public_key = "public key",
        csr = "certificate request (CSR)",
        crl = "certificate revocation list (CRL)",
        pkcs12 = "PKCS#12: " .. table.concat(counts, ", "),
        bundle = "bundle: " .. table.concat(counts, ", "),
    })[k]
    return ("%s: %s (%s)"):format(found.path, text, found.format)
end

local function key_rows(k, found)
    local rows = {}
    if k.info.encrypted then
        rows[#rows + 1] = { "key", "encrypted private key (type unknown without the passphrase)" }
        rows[#rows + 1] = { "encrypted", pbe_text(k.encryption) }
        return rows
    end
    rows[#rows + 1] = { "key", ("%s, %s"):format(summary.key { key = k.info },
        k.info.private and "private (never shown)" or "public") }
    rows[#rows + 1] = { "SHA-256", summary.fingerprint(k.info.fingerprint) .. " (public key)" }
    if k.info.private and #found.certs > 0 then
        rows[#rows + 1] = { "matches", k.certificate and ("certificate %d"):format(k.certificate)
            or "no certificate in this file" }
    end
    if #found.csrs > 0 then
        rows[#rows + 1] = { "CSR", k.csr and ("the key of CSR %d"):format(k.csr)
            or "not the key of a CSR in this file" }
    end
    return rows
end

local function csr_rows(r)
    local info = r.info
    local names = {}
    for _, n in ipairs(info.names or {}) do
        names[#names + 1] = n.type:upper() .. ":" .. n.value
    end
    local rows = {
        { "subject", info.subject_line ~= "" and info.subject_line or "-" },
        { "SANs", #names > 0 and table.concat(names, ", ") or "-" },
        { "key", summary.key(info) },
        { "SHA-256", summary.fingerprint(info.key.fingerprint) .. " (public key)" },
        { "asks CA", info.ca and "yes (CA:TRUE)" or "no" },
    }
    if #info.key_usage > 0 then
        rows[#rows + 1] = { "usage", critical(info.key_usage, table.concat(info.key_usage, ", ")) }
    end
    if #info.extended_key_usage > 0 then
        rows[#rows + 1] = { "ext usage", table.concat(info.extended_key_usage, ", ") }
    end
    -- pki.load_csr refuses a CSR whose signature does not verify
    rows[#rows + 1] = { "signature", ("%s, verified with its own key (proof of possession)")
        :format(info.signature_algorithm) }
    return rows
end

-- A CRL is valid from thisUpdate to nextUpdate (RFC 5280 5.1.2.4-5).
local function crl_validity(info)
    return { not_before = info.this_update, not_after = info.next_update or math.maxinteger }
end

local function crl_check_text(l)
    local i = l.issuer
    if not i then return "not checked: no certificate of its issuer given" end
    local cert = i.here and ("certificate %d"):format(i.index)
        or i.alone and i.path or ("%s, certificate %d"):format(i.path, i.index)
    return l.verified and "verified with " .. cert
        or ("DOES NOT verify with %s (%s)"):format(cert, l.reason)
end

local function crl_rows(l, now)
    local info = l.info
    local valid = summary.date(info.this_update) .. (info.next_update
        and (" to %s (%s)"):format(summary.date(info.next_update),
            summary.time_left(crl_validity(info), now))
        or ", no next update given")
    local rows = {
        { "issuer", info.issuer_line },
        { "valid", valid },
        { "number", info.number and tostring(info.number) or "-" },
        { "signature", ("%s, %s"):format(info.signature_algorithm, crl_check_text(l)) },
        { "AKI", info.authority_key_id and summary.fingerprint(info.authority_key_id) or "-" },
        { "revoked", #info.revoked > 0 and plural(#info.revoked, "certificate") or "none" },
    }
    for _, e in ipairs(info.revoked) do
        rows[#rows + 1] = { "", ("%s  %s  %s"):format(e.serial, summary.date(e.revoked_at),
            e.reason) }
    end
    return rows
end

local function order_text(found)
    local c = found.chain
    local parts = {}
    if c.in_order then
        parts[1] = "in order: each certificate is issued by the next"
    else
        local broken = {}
        for _, l in ipairs(c.links) do
            if not l.issued_by then
                broken[#broken + 1] = ("%d is not issued by %d (%s)"):format(l.from, l.to, l.reason)
            end
        end
        parts[1] = "NOT in order: " .. table.concat(broken, "; ")
        parts[#parts + 1] = c.suggested and ("this order works: %s"):format(
            table.concat(c.suggested, ", ")) or "no order links them all"
    end
    if c.ends_in_root then
        parts[#parts + 1] = "ends in a self-signed root"
    else
        parts[#parts + 1] = ("the last is issued by %s (not in this file)")
            :format(found.certs[#found.certs].info.issuer_line)
    end
    return table.concat(parts, "; ")
end

local function add_rows(lines, rows, indent)
    for _, row in ipairs(rows) do
        lines[#lines + 1] = ("%s%-10s %s"):format(indent, row[1], row[2])
    end
end

function report.text(found, now)
    local lines = { title(found) }
    local sections = {}
    if found.pkcs12 then
        local p = found.pkcs12
        local rows = {
            { "MAC", p.mac and ("%s, %d iterations"):format(p.mac.digest, p.mac.iterations)
                or "none (integrity not protected)" },
            { "cert enc", pbe_text(p.encryption.certs) },
        }
        if #found.keys > 0 then rows[#rows + 1] = { "key enc", pbe_text(p.encryption.key) } end
        add_rows(lines, rows, "  ")
    end
    for i, k in ipairs(found.keys) do
        sections[#sections + 1] = { ("key %d"):format(i), key_rows(k, found) }
    end
    for i, r in ipairs(found.csrs) do
        sections[#sections + 1] = { ("CSR %d"):format(i), csr_rows(r) }
    end
    for i, c in ipairs(found.certs) do
        sections[#sections + 1] = { ("certificate %d"):format(i),
            summary.rows(c.info, { now = now, detail = true, cert = c.cert }) }
    end
    for i, l in ipairs(found.crls) do
        sections[#sections + 1] = { ("CRL %d"):format(i), crl_rows(l, now) }
    end
    if #sections == 1 and not found.pkcs12 then
        add_rows(lines, sections[1][2], "  ")
    else
        for _, s in ipairs(sections) do
            lines[#lines + 1] = "  " .. s[1]
            add_rows(lines, s[2], "    ")
        end
    end
    if found.chain then
        add_rows(lines, { { "order", order_text(found) } }, "  ")
    end
    return table.concat(lines, "\n") .. "\n"
end

-- ---- JSON ----

local null = json.null

local iso = require("chainsmith.timefmt").utc

local function array(list, f)
    local out = json.array()
    for i, v in ipairs(list or {}) do out[i] = f and f(v) or v end
    return out
end

local function names_array(list)
    local out = json.array()
    for _, t in ipairs { "dns", "ip", "email", "uri" } do
        for _, v in ipairs((list or {})[t] or {}) do
            out[#out + 1] = { type = t, value = v }
        end
    end
    return out
end

local function or_null(v)
    if v == nil then return null end
    return v
end

local function pbe_json(e)
    if not e then return null end
    return { scheme = e.scheme, cipher = or_null(e.cipher), kdf = or_null(e.kdf),
        prf = or_null(e.prf), iterations = or_null(e.iterations), legacy = e.legacy or false }
end

local function status(validity, now)
    return now < validity.not_before and "not yet valid"
        or now >= validity.not_after and "expired" or "valid"
end

local function cert_json(c, now)
    local info = c.info
    local bc = info.basic_constraints
    local nc = info.name_constraints
    return {
        subject = info.subject_line,
        subject_rdns = array(info.subject, function(r) return json.array { r[1], r[2] } end),
        issuer = info.issuer_line,
        serial = info.serial,
        version = info.version,
        not_before = iso(info.not_before),
        not_after = iso(info.not_after),
        not_before_unix = info.not_before,
        not_after_unix = info.not_after,
        status = status(info, now),
        seconds_left = info.not_after - now,
        time_left = summary.time_left(info, now),
        sans = names_array(info.subject_alt_name),
        key = { type = info.key.type, curve = or_null(info.key.curve), bits = info.key.bits },
        signature_algorithm = info.signature_algorithm,
        ca = bc and bc.ca or false,
        path_len = or_null(bc and bc.path_len),
        self_signed = info.self_signed,
        key_usage = array(info.key_usage),
        extended_key_usage = array(info.extended_key_usage),
        name_constraints = nc and { critical = nc.critical or false,
            permitted = names_array(nc.permitted), excluded = names_array(nc.excluded) } or null,
        sha256 = info.fingerprint,
        sha1 = c.cert:fingerprint("sha1"),
        subject_key_id = or_null(info.subject_key_id),
        authority_key_id = or_null(info.authority_key_id),
        extensions = array(info.extensions),
    }
end

local function key_json(k)
    local i = k.info
    return {
        private = i.private or false,
        encrypted = i.encrypted or false,
        type = or_null(i.type),
        curve = or_null(i.curve),
        bits = or_null(i.bits),
        fingerprint = or_null(i.fingerprint),
        certificate = or_null(k.certificate),
        csr = or_null(k.csr),
        encryption = pbe_json(k.encryption),
    }
end

local function csr_json(r)
    local i = r.info
    return {
        subject = i.subject_line,
        subject_rdns = array(i.subject, function(rdn) return json.array { rdn[1], rdn[2] } end),
        names = array(i.names, function(n) return { type = n.type, value = n.value } end),
        ca = i.ca,
        key_usage = array(i.key_usage),
        extended_key_usage = array(i.extended_key_usage),
        extensions = array(i.extensions),
        key = { type = i.key.type, curve = or_null(i.key.curve), bits = i.key.bits,
            fingerprint = i.key.fingerprint },
        signature_algorithm = i.signature_algorithm,
        signature_verified = true,
    }
end

local function crl_json(l, now)
    local i = l.info
    local validity = crl_validity(i)
    return {
        issuer = i.issuer_line,
        version = i.version,
        this_update = iso(i.this_update),
        next_update = i.next_update and iso(i.next_update) or null,
        this_update_unix = i.this_update,
        next_update_unix = or_null(i.next_update),
        status = status(validity, now),
        seconds_left = i.next_update and i.next_update - now or null,
        time_left = i.next_update and summary.time_left(validity, now) or null,
        number = or_null(i.number),
        signature_algorithm = i.signature_algorithm,
        authority_key_id = or_null(i.authority_key_id),
        revoked_count = #i.revoked,
        revoked = array(i.revoked, function(e)
            return { serial = e.serial, revoked_at = iso(e.revoked_at),
                revoked_at_unix = e.revoked_at, reason = e.reason, reason_code = e.reason_code }
        end),
        signature_verified = or_null(l.verified), -- nil: no issuer certificate given
        issuer_certificate = l.issuer and { file = l.issuer.path, certificate = l.issuer.index }
            or null,
        verify_error = or_null(l.reason),
    }
end

function report.json(found, now)
    local chain = null
    if found.chain then
        local c = found.chain
        chain = {
            in_order = c.in_order,
            ends_in_root = c.ends_in_root,
            links = array(c.links, function(l)
                return { from = l.from, to = l.to, issued_by = l.issued_by,
                    reason = or_null(l.reason) }
            end),
            suggested_order = c.suggested and array(c.suggested) or null,
        }
    end
    local p12 = null
    if found.pkcs12 then
        local p = found.pkcs12
        p12 = {
            mac = p.mac and { digest = p.mac.digest, iterations = p.mac.iterations } or null,
            certs_encryption = pbe_json(p.encryption.certs),
            key_encryption = pbe_json(p.encryption.key),
        }
    end
    return {
        file = found.path,
        format = found.format,
        kind = found.kind,
        certificates = array(found.certs, function(c) return cert_json(c, now) end),
        keys = array(found.keys, key_json),
        csrs = array(found.csrs, csr_json),
        crls = array(found.crls, function(l) return crl_json(l, now) end),
        chain = chain,
        pkcs12 = p12,
    }
end

return report
