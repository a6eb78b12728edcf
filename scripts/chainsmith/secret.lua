-- Passwords and passphrases for the commands: from an environment variable
-- or a file, never from the command line, where every user of the machine
-- can read them (ps, /proc/PID/cmdline) and shells keep them in history.
local pki = require "pki"

local secret = {}

-- A passphrase file is a line; this is room enough, and a bound on a file
-- that never ends.
local SECRET_MAX = 64 * 1024

-- Why --NAME VALUE is refused, and what to give instead.
function secret.plain_message(name)
    return ("--%s: secrets never go on the command line, where every user of the machine "
        .. "can read them (ps, /proc) and shells keep them in history; give --%s-env VAR "
        .. "(an environment variable holding it) or --%s-file FILE (a file holding it)")
        :format(name, name, name)
end

-- A hidden --NAME [VALUE] on an argparse parser that refuses, saying why and
-- what to give instead, with the usage exit status (2).
function secret.refuse_plain(parser, name)
    parser:option("--" .. name):args("?"):hidden(true):action(function()
        io.stderr:write(secret.plain_message(name), "\n")
        os.exit(2)
    end)
end

-- Add --NAME-env VAR and --NAME-file FILE (one or the other) to an argparse
-- parser; what is "passphrase" or "password", help says what it protects.
-- --NAME itself is refused (secret.refuse_plain).
function secret.options(parser, name, help)
    secret.refuse_plain(parser, name)
    parser:mutex(
        parser:option("--" .. name .. "-env", help .. ": the environment variable holding it.")
            :argname("VAR"),
        parser:option("--" .. name .. "-file", help .. ": a file holding it (one trailing "
            .. "newline is ignored).")
            :argname("FILE"))
end

-- The secret named by opts[name .. "_env"] or opts[name .. "_file"] (the
-- fields argparse fills for secret.options). Returns the string; false when
-- neither was given; or nil, message. An empty secret is refused: it
-- protects nothing.
function secret.read(opts, name)
    local var, file = opts[name .. "_env"], opts[name .. "_file"]
    local value
    if var and file then
        return nil, ("give one of --%s-env and --%s-file"):format(name, name)
    elseif var then
        value = os.getenv(var)
        if value == nil then
            return nil, ("--%s-env %s: no such environment variable"):format(name, var)
        end
        if value == "" then
            return nil, ("--%s-env %s: the %s is empty"):format(name, var, name)
        end
    elseif file then
        local text, err = pki.read_file(file, SECRET_MAX)
        if not text then
            return nil, ("--%s-file: %s"):format(name, err)
        end
        value = text:gsub("\r?\n$", "", 1)
        if value == "" then
            return nil, ("--%s-file %s: the %s is empty"):format(name, file, name)
        end
    else
        return false
    end
    return value
end

return secret
