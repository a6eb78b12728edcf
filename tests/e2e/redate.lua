-- Test helper (not a user command): sign NAME's certificate in a chain
-- folder again, same key and profile, with a validity in the past
-- ("expired": ended yesterday) or in the future ("future": starts
-- tomorrow), to make an expired or not-yet-valid chain without a clock.
-- The issuer's key signs it (the root's own for the root); the server's
-- chain file follows a new server.pem.
--
--   lua redate.lua REPO CHAIN NAME expired|future
local repo, dir, name, when = arg[1], arg[2], arg[3], arg[4]
package.path = repo .. "/scripts/?.lua;" .. package.path
local pki = require "pki"
local profile = require "chainsmith.profile"

local issuer_of = { root = "root", intermediate = "root", server = "intermediate",
    ocsp = "intermediate", ["intermediate-previous"] = "root" }
-- the kept previous intermediate (chainsmith/previous.lua) has the intermediate's profile
local p = assert(profile.load(repo .. "/scripts/profiles",
    name == "intermediate-previous" and "intermediate" or name))
local spec = profile.spec(p)
local now, day = os.time(), 86400
spec.validity_days = nil
if when == "expired" then
    spec.not_before, spec.not_after = now - 30 * day, now - day
elseif when == "future" then
    spec.not_before, spec.not_after = now + day, now + 30 * day
else
    error("expired or future, not " .. tostring(when))
end
local key = assert(pki.read_key(dir .. "/" .. name .. ".key"))
local by = issuer_of[name]
local issuer_cert = by ~= name and assert(pki.read_cert(dir .. "/" .. by .. ".pem")) or nil
local issuer_key = by ~= name and assert(pki.read_key(dir .. "/" .. by .. ".key")) or key
local cert = assert(pki.sign(spec, key, issuer_cert, issuer_key))
local files = { { path = dir .. "/" .. name .. ".pem", cert = cert, overwrite = true } }
if name == "server" then
    files[2] = { path = dir .. "/server-chain.pem", overwrite = true,
        certs = { cert, assert(pki.read_cert(dir .. "/intermediate.pem")) } }
end
assert(pki.write_files(files))
