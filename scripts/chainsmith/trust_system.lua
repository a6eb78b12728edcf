-- The system trust store on Debian and its derivatives: a PEM file in
-- /usr/local/share/ca-certificates and update-ca-certificates, which links it
-- into /etc/ssl/certs and rebuilds ca-certificates.crt. A prefix
-- (--system-root, CHAINSMITH_SYSTEM_ROOT) moves every one of those folders
-- under it, so tests and image builds never touch the machine's /etc/ssl.
local lfs = require "lfs"
local pki = require "pki"
local run = require "chainsmith.trust_run"

local system = { name = "system" }

local SBIN = { "/usr/sbin", "/sbin" }

local function paths(prefix)
    local p = prefix or ""
    return {
        local_dir = p .. "/usr/local/share/ca-certificates",
        certs_dir = p .. "/usr/share/ca-certificates",
        etc_dir = p .. "/etc/ssl/certs",
        hooks_dir = p .. "/etc/ca-certificates/update.d",
        conf = p .. "/etc/ca-certificates.conf",
    }
end

-- ctx: {prefix = DIR or nil}. Returns the store's state for this run:
-- {usable = bool, writable = bool, reason = why not, ...}.
function system.probe(ctx)
    local s = { paths = paths(ctx.prefix), prefix = ctx.prefix }
    s.tool = run.which("update-ca-certificates", SBIN)
    if not s.tool then
        s.reason = "update-ca-certificates not found (not Debian-like; RHEL, Fedora and macOS: "
            .. "see docs/trust.md)"
        return s
    end
    s.usable = true
    if ctx.prefix or ctx.uid == 0 then
        s.writable = true
    else
        s.reason = ("writing %s needs root: run it with sudo (sudo lua scripts/trust.lua "
            .. "install --store system)"):format(s.paths.local_dir)
    end
    return s
end

function system.entry_name(short)
    return ("chainsmith-%s.crt"):format(short)
end

-- One location: the folder update-ca-certificates reads local roots from.
function system.locations(s)
    return { { path = s.paths.local_dir, label = s.paths.local_dir } }
end

local function file_of(loc, entry)
    return loc.path .. "/" .. entry.name
end

-- "installed", "absent", or "other" (our file name holds another certificate).
function system.find(_, loc, entry)
    local path = file_of(loc, entry)
    if not lfs.attributes(path) then
        return "absent"
    end
    local cert = pki.read_cert(path)
    if cert and cert:fingerprint() == entry.fingerprint then
        return "installed"
    end
    return "other"
end

local function update(s, fresh)
    local p = s.paths
    local argv = { s.tool }
    if fresh then
        argv[#argv + 1] = "--fresh"
    end
    if s.prefix then
        for _, dir in ipairs { p.local_dir, p.certs_dir, p.etc_dir } do
            local ok, err = pki.mkdir(dir, 493) -- 0755: everyone reads the trust store
            if not ok then
                return nil, err
            end
        end
        if not lfs.attributes(p.conf) then
            local f, err = io.open(p.conf, "w")
            if not f then
                return nil, err
            end
            f:close()
        end
        for _, o in ipairs { { "--certsdir", p.certs_dir }, { "--localcertsdir", p.local_dir },
                             { "--etccertsdir", p.etc_dir }, { "--hooksdir", p.hooks_dir },
                             { "--certsconf", p.conf } } do
            argv[#argv + 1] = o[1]
            argv[#argv + 1] = o[2]
        end
    end
    local ok, out = run.run(argv)
    if not ok then
        return nil, "update-ca-certificates: " .. run.last_line(out)
    end
    return true
end

-- Whether the bundle update-ca-certificates wrote holds the certificate.
local function in_bundle(s, entry)
    local certs = pki.read_chain(s.paths.etc_dir .. "/ca-certificates.crt")
    for _, cert in ipairs(certs or {}) do
        if cert:fingerprint() == entry.fingerprint then
            return true
        end
    end
    return false
end

function system.add(s, loc, entry, root)
    local ok, err = pki.mkdir(loc.path, 493)
    if not ok then
        return nil, err
    end
    ok, err = root:save(file_of(loc, entry))
    if not ok then
        return nil, err
    end
    ok, err = update(s, false)
    if ok and not in_bundle(s, entry) then
        return nil, ("update-ca-certificates ran, but %s/ca-certificates.crt does not hold "
            .. "the root"):format(s.paths.etc_dir)
    end
    return ok, err
end

function system.remove(s, loc, entry)
    local ok, err = os.remove(file_of(loc, entry))
    if not ok then
        return nil, err
    end
    -- --fresh drops the now dangling link in /etc/ssl/certs (Debian's own advice
    -- after removing a local certificate); the bundle is rebuilt either way.
    ok, err = update(s, true)
    if ok and in_bundle(s, entry) then
        -- update-ca-certificates keeps the old bundle when no certificate is left.
        return nil, ("update-ca-certificates ran, but %s/ca-certificates.crt still holds the "
            .. "root (was it the only certificate there?)"):format(s.paths.etc_dir)
    end
    return ok, err
end

return system
