-- Whether the chain's certificates are inside their validity now, and for
-- one that is not, one line naming it, its date and the command that
-- replaces it: renew.lua for a leaf, renew.lua --intermediate (a new
-- intermediate under the same root) for the intermediate, and
-- build_chain.lua --force, which makes a root every client must trust
-- again, only for the root.
local summary = require "chainsmith.summary"

local validity = {}

-- The command that replaces certificate name ("root", "intermediate",
-- "server", "ocsp") of the chain in dir.
function validity.fix(name, dir)
    if name == "root" then
        return ("lua scripts/build_chain.lua --force --out %s"):format(dir),
            "a new root, which every client must trust again"
    elseif name == "intermediate" then
        return ("lua scripts/renew.lua --intermediate --out %s"):format(dir),
            "a new intermediate under the same root"
    end
    return ("lua scripts/renew.lua --out %s"):format(dir), nil
end

-- nil when a certificate with info's dates (cert:info()) is valid at now;
-- else "expired on DATE (notAfter)" or "not valid before DATE (notBefore)".
function validity.state_of(info, now)
    if now < info.not_before then
        return ("not valid before %s (notBefore)"):format(summary.date(info.not_before))
    elseif now >= info.not_after then
        return ("expired on %s (notAfter)"):format(summary.date(info.not_after))
    end
    return nil
end

-- validity.state_of for a certificate.
function validity.state(cert, now)
    return validity.state_of(cert:info(), now)
end

-- nil when cert (certificate name of the chain in dir, read from path) is
-- valid at now; else the one line that says so and what to run.
function validity.problem(cert, name, path, dir, now)
    local state = validity.state(cert, now)
    if not state then
        return nil
    end
    local command, what = validity.fix(name, dir)
    local clock = state:find("notBefore", 1, true) and "check the clock, or " or ""
    return ("%s (%s) %s; %srun `%s`%s"):format(path, cert:info().subject_line, state, clock,
        command, what and (" (" .. what .. ")") or "")
end

-- The first certificate of certs ({root =, intermediate =, server =}, each
-- optional) that is not valid at now, root first (replacing it replaces
-- the others), as validity.problem's line; nil when all are. files is
-- layout.files(dir).
function validity.chain(certs, files, dir, now)
    for _, name in ipairs { "root", "intermediate", "server" } do
        local cert = certs[name]
        local line = cert and validity.problem(cert, name, files[name].cert, dir, now)
        if line then
            return line, name
        end
    end
    return nil
end

-- nil when every certificate a reload would serve is valid at now; else
-- one line naming the first that is not: the file it came from, its place
-- in that file, subject, serial, both dates and the state. served is the
-- chain file's certificates, leaf first (read from served_path); root is
-- root.pem's (root_path). Startup checks the same through validity.chain;
-- a reload must not swap in what every client would then refuse.
function validity.served(served, served_path, root, root_path, now)
    local function line(cert, where)
        local state = validity.state(cert, now)
        if not state then
            return nil
        end
        local info = cert:info()
        return ("%s (%s, serial %s, valid %s to %s) %s"):format(where, info.subject_line,
            cert:serial(), summary.date(info.not_before), summary.date(info.not_after), state)
    end
    for i, cert in ipairs(served) do
        local bad = line(cert, ("%s certificate %d"):format(served_path, i))
        if bad then
            return bad
        end
    end
    return root and line(root, root_path) or nil
end

return validity
