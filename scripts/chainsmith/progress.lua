-- One line on stderr before work that takes seconds (an RSA 4096 key, the
-- PKCS#12 key derivation), when stderr is a terminal: people see why it
-- waits, logs and pipes get nothing.
local pki = require "pki"

local progress = {}

-- Say "what…" when stderr is a terminal; the caller's result line follows.
function progress.note(what)
    if pki.is_terminal(2) then
        io.stderr:write(what, "…\n")
        io.stderr:flush()
    end
end

-- The note for generating a key of shape k (a profile's key table), or nil
-- when it is quick (EC, Ed25519, RSA below 3072 bits).
function progress.key_note(k)
    if type(k) == "table" and k.type == "rsa" and (tonumber(k.bits) or 0) >= 3072 then
        return ("generating an RSA %d key"):format(k.bits)
    end
    return nil
end

-- progress.note for a key of shape k, when it is slow.
function progress.key(k)
    local note = progress.key_note(k)
    if note then
        progress.note(note)
    end
end

return progress
