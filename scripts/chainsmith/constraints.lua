-- Name constraints (RFC 5280 4.2.1.10) checked before anything is signed:
-- whether the names a certificate would carry fall inside the subtrees its
-- issuer permits. Verifiers check the same after signing; checking first
-- means a refused name never becomes a certificate nobody accepts.
--
-- Tables have the spec's shape: names = {dns = {...}, ip = {...}, email =
-- {...}, uri = {...}}; constraints = {permitted = names, excluded = names},
-- where an ip entry is a CIDR range ("127.0.0.0/8", "::1/128").

local constraints = {}

constraints.kinds = { "dns", "ip", "email", "uri" }

local function ipv4(s)
    local parts = { s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$") }
    if #parts ~= 4 then
        return nil
    end
    for i, v in ipairs(parts) do
        parts[i] = tonumber(v)
        if parts[i] > 255 then
            return nil
        end
    end
    return parts
end

-- The 16-bit groups of one side of "::"; `last` allows a dotted IPv4 tail.
local function groups(part, last)
    local out = {}
    if part == "" then
        return out
    end
    local fields = {}
    for g in (part .. ":"):gmatch("([^:]*):") do
        fields[#fields + 1] = g
    end
    for i, g in ipairs(fields) do
        if last and i == #fields and g:find(".", 1, true) then
            local v4 = ipv4(g)
            if not v4 then
                return nil
            end
            out[#out + 1] = v4[1] * 256 + v4[2]
            out[#out + 1] = v4[3] * 256 + v4[4]
        elseif g:match("^%x%x?%x?%x?$") then
            out[#out + 1] = tonumber(g, 16)
        else
            return nil
        end
    end
    return out
end

local function ipv6(s)
    local head, tail = s, nil
    local at = s:find("::", 1, true)
    if at then
        head, tail = s:sub(1, at - 1), s:sub(at + 2)
        if tail:find("::", 1, true) or tail:sub(1, 1) == ":" then
            return nil
        end
    end
    local h, t = groups(head, tail == nil), groups(tail or "", true)
    if not h or not t then
        return nil
    end
    local n = #h + #t
    if (tail and n > 7) or (not tail and n ~= 8) then
        return nil
    end
    local words = {}
    table.move(h, 1, #h, 1, words)
    for _ = 1, 8 - n do
        words[#words + 1] = 0
    end
    table.move(t, 1, #t, #words + 1, words)
    local bytes = {}
    for _, w in ipairs(words) do
        bytes[#bytes + 1] = w >> 8
        bytes[#bytes + 1] = w & 0xff
    end
    return bytes
end

-- An IP address as a list of 4 or 16 bytes, or nil.
function constraints.ip(s)
    if type(s) ~= "string" then
        return nil
    end
    return ipv4(s) or ipv6(s)
end

-- A CIDR range as its bytes and prefix length, or nil.
function constraints.cidr(s)
    local addr, bits = tostring(s):match("^(.+)/(%d+)$")
    local bytes = constraints.ip(addr)
    bits = tonumber(bits)
    if not bytes or bits > #bytes * 8 then
        return nil
    end
    return bytes, bits
end

local function ip_within(bytes, range)
    local net, bits = constraints.cidr(range)
    if not net or #net ~= #bytes then
        return false -- another family, or a malformed range: no match
    end
    for i = 1, #net do
        local take = math.min(8, math.max(0, bits - (i - 1) * 8))
        local mask = (0xff << (8 - take)) & 0xff
        if bytes[i] & mask ~= net[i] & mask then
            return false
        end
    end
    return true
end

-- "test" covers test and every name under it; ".test" only the names under it.
local function domain_within(host, base)
    host, base = host:lower(), base:lower()
    if base == "" then
        return true
    end
    if base:sub(1, 1) == "." then
        return #host > #base and host:sub(-#base) == base
    end
    return host == base or (#host > #base and host:sub(-#base - 1) == "." .. base)
end

-- Email: "a@b.test" one mailbox, "b.test" every mailbox on that host,
-- ".test" every mailbox on a host under it.
local function email_within(email, base)
    if base:find("@", 1, true) then
        local local_part, host = base:match("^(.*)@(.*)$")
        local elocal, ehost = email:match("^(.*)@(.*)$")
        return elocal == local_part and ehost ~= nil and ehost:lower() == host:lower()
    end
    local host = email:match("@([^@]*)$")
    if not host then
        return false
    end
    if base:sub(1, 1) == "." then
        return domain_within(host, base)
    end
    return host:lower() == base:lower()
end

-- URI: the host part, compared as email compares hosts (no subdomains
-- unless the constraint starts with "."). A URI without a host is outside.
local function uri_within(uri, base)
    local host = uri:match("^[%a][%w+.-]*://([^/?#]*)")
    if not host then
        return false
    end
    host = host:gsub("^.*@", ""):gsub(":%d*$", "")
    if host == "" or host:sub(1, 1) == "[" then
        return false
    end
    if base:sub(1, 1) == "." then
        return domain_within(host, base)
    end
    return host:lower() == base:lower()
end

local function within(kind, name, base)
    if kind == "dns" then
        return domain_within(name, base)
    elseif kind == "ip" then
        local bytes = constraints.ip(name)
        return bytes ~= nil and ip_within(bytes, base)
    elseif kind == "email" then
        return email_within(name, base)
    end
    return uri_within(name, base)
end

local function any_within(kind, name, list)
    for _, base in ipairs(list or {}) do
        if within(kind, name, base) then
            return true
        end
    end
    return false
end

-- A name against one kind's subtrees: true, or nil and why, in words.
local function fits(kind, label, name, permitted, excluded)
    local allowed = permitted[kind]
    if allowed and #allowed > 0 and not any_within(kind, name, allowed) then
        return nil, ("%s is outside the permitted %s names (%s)")
            :format(label, kind:upper(), table.concat(allowed, ", "))
    end
    if any_within(kind, name, excluded[kind]) then
        return nil, ("%s is inside the excluded %s names (%s)")
            :format(label, kind:upper(), table.concat(excluded[kind], ", "))
    end
    return true
end

-- Whether every name fits: true, or nil, the first name that does not in
-- words ("DNS:example.com is outside the permitted DNS names (localhost,
-- test)") and the field it came from ("subject_alt_name" or "subject").
-- A kind with no permitted subtree is not constrained (RFC 5280).
-- `subject` is optional: without DNS names, a certificate's CN is checked
-- as a DNS name, as GnuTLS does (it rejects the chain otherwise).
function constraints.check(names, nc, subject)
    if not nc then
        return true
    end
    names = names or {}
    local permitted, excluded = nc.permitted or {}, nc.excluded or {}
    for _, kind in ipairs(constraints.kinds) do
        for _, name in ipairs(names[kind] or {}) do
            local ok, why = fits(kind, kind:upper() .. ":" .. name, name, permitted, excluded)
            if not ok then
                return nil, why, "subject_alt_name"
            end
        end
    end
    if #(names.dns or {}) == 0 then
        for _, rdn in ipairs(subject or {}) do
            if rdn[1] == "CN" then
                local ok, why = fits("dns", "CN " .. tostring(rdn[2]), tostring(rdn[2]),
                    permitted, excluded)
                if not ok then
                    return nil, why .. "; without a DNS name, GnuTLS checks the CN as one",
                        "subject"
                end
            end
        end
    end
    return true
end

-- One spelling per range, so "::1/128" and "0:0::1/128" compare equal.
local function canonical(kind, v)
    if kind ~= "ip" then
        return v:lower()
    end
    local bytes, bits = constraints.cidr(v)
    if not bytes then
        return v
    end
    return table.concat(bytes, ".") .. "/" .. bits
end

local function same_set(kind, a, b)
    local count = {}
    for _, v in ipairs(a or {}) do
        local c = canonical(kind, v)
        count[c] = (count[c] or 0) + 1
    end
    for _, v in ipairs(b or {}) do
        local c = canonical(kind, v)
        if not count[c] then
            return false
        end
        count[c] = count[c] - 1
    end
    for _, n in pairs(count) do
        if n ~= 0 then
            return false
        end
    end
    return true
end

-- Whether two name_constraints tables (a profile's, a certificate's info)
-- say the same: nil when they do, or the difference in words.
function constraints.difference(have, want)
    if not have and not want then
        return nil
    elseif not have then
        return "it has no name constraints, the profile asks for them"
    elseif not want then
        return "it has name constraints, the profile has none"
    end
    if (have.critical or false) ~= (want.critical or false) then
        return "name_constraints criticality differs from the profile"
    end
    for _, side in ipairs { "permitted", "excluded" } do
        for _, kind in ipairs(constraints.kinds) do
            local a, b = (have[side] or {})[kind], (want[side] or {})[kind]
            if not same_set(kind, a, b) then
                return ("name_constraints.%s.%s differs from the profile"):format(side, kind)
            end
        end
    end
    return nil
end

return constraints
