-- What a chain's CA issued: the records of ca.db through store:list, as
-- text rows or one JSON document (list.lua; docs/list.md).
local pki = require "pki"
local layout = require "chainsmith.layout"
local json = require "chainsmith.json"
local timefmt = require "chainsmith.timefmt"

local list = {}

-- "DNS:a.test, IP:10.1.2.3" as {"DNS:a.test", "IP:10.1.2.3"}: split only
-- before a type tag, so a comma inside a URI stays in it.
function list.names(sans)
    local out = {}
    if sans == nil or sans == "" then
        return out
    end
    local marked = sans:gsub(", (%a+):", "\0%1:")
    for part in marked:gmatch("[^%z]+") do
        out[#out + 1] = part
    end
    return out
end

-- The records of dir's ca.db that match filters {status, profile, name},
-- at now; or nil, message, code. The database must exist: listing never
-- creates one.
function list.query(dir, filters, now)
    local db = layout.files(dir).db
    if not layout.exists(db) then
        return nil, ("%s: missing; build the chain first (lua scripts/build_chain.lua --out %s)")
            :format(db, dir), "notfound"
    end
    local store, err, code = layout.open_store(db)
    if not store then
        return nil, err, code
    end
    local rows
    rows, err, code = store:list { status = filters.status, profile = filters.profile,
        name = filters.name, now = now }
    store:close()
    if not rows then
        return nil, err, code
    end
    for _, r in ipairs(rows) do
        r.names = list.names(r.sans)
    end
    return rows
end

local function counts(rows)
    local n = { good = 0, revoked = 0, expired = 0 }
    for _, r in ipairs(rows) do
        n[r.status] = n[r.status] + 1
    end
    return n
end

-- Aligned rows with a header, and a count line.
function list.text(rows)
    local header = { "SERIAL", "STATUS", "NOT AFTER", "PROFILE", "SUBJECT", "NAMES" }
    local lines = { header }
    for _, r in ipairs(rows) do
        lines[#lines + 1] = { r.serial, r.status, timefmt.utc(r.not_after),
            pki.escape(r.profile or "-"), pki.escape(r.subject),
            #r.names > 0 and pki.escape(table.concat(r.names, ", ")) or "-" }
    end
    local width = {}
    for _, l in ipairs(lines) do
        for i = 1, #l - 1 do
            width[i] = math.max(width[i] or 0, utf8.len(l[i]) or #l[i])
        end
    end
    local out = {}
    for _, l in ipairs(lines) do
        local cells = {}
        for i = 1, #l - 1 do
            cells[i] = l[i] .. (" "):rep(width[i] - (utf8.len(l[i]) or #l[i]))
        end
        cells[#l] = l[#l]
        out[#out + 1] = table.concat(cells, "  ")
    end
    local n = counts(rows)
    out[#out + 1] = ("%d certificate%s: %d good, %d revoked, %d expired"):format(#rows,
        #rows == 1 and "" or "s", n.good, n.revoked, n.expired)
    return table.concat(out, "\n") .. "\n"
end

-- One JSON document: {chain, now, count, good, revoked, expired,
-- certificates = [...]}, times as RFC 3339 UTC with a *_unix twin.
function list.json(dir, rows, now)
    local certs = json.array()
    for i, r in ipairs(rows) do
        certs[i] = {
            serial = r.serial,
            status = r.status,
            subject = r.subject,
            issuer = r.issuer,
            names = json.array(r.names),
            profile = r.profile or json.null,
            fingerprint = r.fingerprint,
            not_before = timefmt.utc(r.not_before),
            not_after = timefmt.utc(r.not_after),
            issued_at = timefmt.utc(r.issued_at),
            not_before_unix = r.not_before,
            not_after_unix = r.not_after,
            issued_at_unix = r.issued_at,
            revoked_at = r.revoked_at and timefmt.utc(r.revoked_at) or json.null,
            revoked_at_unix = r.revoked_at or json.null,
            reason = r.reason or json.null,
        }
    end
    local n = counts(rows)
    return json.encode {
        chain = dir,
        now = timefmt.utc(now),
        count = #rows,
        good = n.good,
        revoked = n.revoked,
        expired = n.expired,
        certificates = certs,
    }
end

return list
