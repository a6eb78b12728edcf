-- A Java keystore, changed with keytool: the JDK's cacerts by default, or
-- the file --java-keystore names. The store password comes from the
-- environment variable CHAINSMITH_JAVA_STOREPASS when set (keytool reads it
-- there itself, so it never shows in ps), else the JDK's well-known
-- "changeit".
local lfs = require "lfs"
local run = require "chainsmith.trust_run"

local java = { name = "java" }

local PASS_ENV = "CHAINSMITH_JAVA_STOREPASS"

function java.probe(ctx)
    local s = { keystore = ctx.java_keystore }
    s.tool = run.which("keytool")
    if not s.tool then
        s.reason = "keytool not found (install a Java runtime, e.g. openjdk-17-jre-headless)"
        return s
    end
    s.usable = true
    s.writable = true
    return s
end

function java.entry_name(short)
    return ("chainsmith-%s"):format(short) -- keytool folds aliases to lower case
end

function java.locations(s)
    if s.keystore then
        return { { path = s.keystore, label = s.keystore } }
    end
    return { { path = "cacerts", label = "the JDK's cacerts", cacerts = true } }
end

local function keytool(s, loc, ...)
    local argv = { s.tool, ... }
    if loc.cacerts then
        argv[#argv + 1] = "-cacerts"
    else
        argv[#argv + 1] = "-keystore"
        argv[#argv + 1] = loc.path
    end
    if os.getenv(PASS_ENV) then
        argv[#argv + 1] = "-storepass:env"
        argv[#argv + 1] = PASS_ENV
    else
        argv[#argv + 1] = "-storepass"
        argv[#argv + 1] = "changeit"
    end
    return run.run(argv)
end

function java.find(s, loc, entry)
    if not loc.cacerts and not lfs.attributes(loc.path) then
        return "absent"
    end
    local ok, out = keytool(s, loc, "-exportcert", "-rfc", "-alias", entry.name)
    return run.entry_state(ok, out, entry.fingerprint)
end

local function hint(loc, out)
    local msg = run.last_line(out)
    if loc.cacerts and msg:find("[Dd]enied") then
        msg = msg .. " (the JDK's cacerts needs root: run it with sudo)"
    end
    return msg
end

function java.add(s, loc, entry, _, pem_path)
    local ok, out = keytool(s, loc, "-importcert", "-noprompt", "-alias", entry.name,
                            "-file", pem_path)
    if not ok then
        return nil, ("keytool -importcert %s: %s"):format(loc.label, hint(loc, out))
    end
    return true
end

function java.remove(s, loc, entry)
    local ok, out = keytool(s, loc, "-delete", "-alias", entry.name)
    if not ok then
        return nil, ("keytool -delete %s: %s"):format(loc.label, hint(loc, out))
    end
    return true
end

return java
