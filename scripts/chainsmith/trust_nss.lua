-- NSS databases, which Chromium (~/.pki/nssdb) and Firefox (one per profile)
-- trust instead of the system store, changed with certutil (libnss3-tools).
local lfs = require "lfs"
local pki = require "pki"
local run = require "chainsmith.trust_run"

local nss = { name = "nss" }

function nss.probe(ctx)
    local s = { home = ctx.home }
    s.tool = run.which("certutil")
    if not s.tool then
        s.reason = "certutil not found: install libnss3-tools (sudo apt-get install libnss3-tools)"
        return s
    end
    if not s.home then
        s.reason = "HOME is not set: cannot find the NSS databases"
        return s
    end
    s.usable = true
    s.writable = true
    return s
end

function nss.entry_name(short, subject)
    return ("chainsmith %s %s"):format(subject, short)
end

-- Firefox profiles that have a database, in the usual and the snap folders.
local function firefox_profiles(home, out)
    for _, base in ipairs { home .. "/.mozilla/firefox",
                            home .. "/snap/firefox/common/.mozilla/firefox" } do
        if lfs.attributes(base, "mode") == "directory" then
            local names = {}
            for name in lfs.dir(base) do
                local db = base .. "/" .. name .. "/cert9.db"
                if name ~= "." and name ~= ".." and lfs.attributes(db, "mode") == "file" then
                    names[#names + 1] = name
                end
            end
            table.sort(names)
            for _, name in ipairs(names) do
                local dir = base .. "/" .. name
                out[#out + 1] = { path = dir, label = "firefox " .. dir }
            end
        end
    end
end

-- Chromium's database first (made on install when missing), the snap
-- Chromium's when it has one, then Firefox's.
function nss.locations(s)
    local dir = s.home .. "/.pki/nssdb"
    local locs = { { path = dir, label = "chromium " .. dir, create = true } }
    local snap = s.home .. "/snap/chromium/current/.pki/nssdb"
    if lfs.attributes(snap .. "/cert9.db", "mode") == "file" then
        locs[#locs + 1] = { path = snap, label = "chromium (snap) " .. snap }
    end
    firefox_profiles(s.home, locs)
    return locs
end

local function db(loc)
    return "sql:" .. loc.path
end

local function exists(loc)
    return lfs.attributes(loc.path .. "/cert9.db", "mode") == "file"
end

function nss.find(s, loc, entry)
    if not exists(loc) then
        return "absent"
    end
    local ok, out = run.run { s.tool, "-L", "-d", db(loc), "-n", entry.name, "-a" }
    return run.entry_state(ok, out, entry.fingerprint)
end

local function create(s, loc)
    local ok, err = pki.mkdir(loc.path, 448) -- 0700, as Chromium makes it
    if not ok then
        return nil, err
    end
    local out
    ok, out = run.run { s.tool, "-N", "-d", db(loc), "--empty-password" }
    if not ok then
        return nil, ("certutil -N %s: %s"):format(loc.path, run.last_line(out))
    end
    return true
end

function nss.add(s, loc, entry, _, pem_path)
    if not exists(loc) then
        local ok, err = create(s, loc)
        if not ok then
            return nil, err
        end
    end
    -- C,,: a CA trusted to issue server certificates, and nothing else.
    local ok, out = run.run { s.tool, "-A", "-d", db(loc), "-t", "C,,", "-n", entry.name,
                              "-i", pem_path }
    if not ok then
        return nil, ("certutil -A %s: %s"):format(loc.path, run.last_line(out))
    end
    if nss.find(s, loc, entry) ~= "installed" then
        -- NSS keeps one nickname per certificate: an earlier one wins.
        return nil, ("%s: the root is already in this database under another nickname; "
            .. "left as it is"):format(loc.path)
    end
    return true
end

function nss.remove(s, loc, entry)
    local ok, out = run.run { s.tool, "-D", "-d", db(loc), "-n", entry.name }
    if not ok then
        return nil, ("certutil -D %s: %s"):format(loc.path, run.last_line(out))
    end
    return true
end

return nss
