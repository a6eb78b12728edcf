-- What every command shares, so that the same thing has the same name in each
-- (docs/commands.md): -h/--help (argparse's), --version, --chain DIR for the
-- folder build_chain.lua writes, --json for one JSON document on stdout, `-`
-- for stdin, and the exit status: 0 done, 1 failed, 2 usage (argparse's own
-- errors included; its default is 1).
local cli = {}

cli.exit = { ok = 0, failed = 1, usage = 2 }

-- The line every --help ends with; extra lines (e.g. "3 unknown serial")
-- name the codes a command adds.
local function epilog(extra)
    local lines = { "Exit status: 0 done, 1 failed, 2 usage" }
    for _, line in ipairs(extra or {}) do
        lines[#lines + 1] = line
    end
    return table.concat(lines, "; ") .. "."
end

-- A usage error: the usage, the problem, exit 2.
local function usage_error(parser, msg)
    io.stderr:write(("%s\n\nError: %s\n"):format(parser:get_usage(), msg))
    os.exit(cli.exit.usage)
end

-- A new argparse parser for command `name` with -h/--help, --version and
-- usage errors at exit 2. spec: { name, description, exit = { lines } }.
function cli.parser(spec)
    local argparse = require "argparse"
    local parser = argparse(spec.name, spec.description, epilog(spec.exit))
    parser.error = usage_error -- parse errors and parser:error() alike
    parser:flag("--version", "Print the chainsmith version and exit.")
        :action(function()
            io.write("chainsmith ", require("pki").version, "\n")
            os.exit(cli.exit.ok)
        end)
    return parser
end

-- --chain DIR, the folder build_chain.lua writes; alias_out: the command
-- used to call it --out, still accepted (not shown but in this note).
function cli.chain_option(parser, help, alias_out)
    local text = (help or "Folder build_chain.lua wrote.")
    if alias_out then
        text = text .. " (--out DIR: the older spelling, still accepted.)"
    end
    local opt = parser:option("--chain", text, "chain"):argname("DIR")
    if alias_out then
        opt:hidden_name("--out")
    end
    return opt
end

-- --db URL and --node ID, for the commands that read or write the CA
-- database: a postgresql:// URL (several nodes, one database) or a SQLite
-- .db file instead of the chain folder's ca.db; CHAINSMITH_DB and
-- CHAINSMITH_NODE when not given. Applied as parsed (layout.use_db), so
-- layout.files(dir).db is the chosen database from then on.
function cli.db_option(parser)
    local layout = require "chainsmith.layout"
    parser:option("--db", "CA database: a postgresql://... URL, or a SQLite .db file "
        .. "(default: $CHAINSMITH_DB, else ca.db in the chain folder).")
        :argname("URL")
        :action(function(args, target, value)
            local valid, err = layout.check_db(value)
            if not valid then
                parser:error("--db " .. err)
            end
            args[target] = value
            layout.use_db(value, nil)
        end)
    parser:option("--node", "This process's node id on a shared PostgreSQL database: the "
        .. "prefix of the serials it draws (default: $CHAINSMITH_NODE, else the host name).")
        :argname("ID")
        :action(function(args, target, value)
            args[target] = value
            layout.use_db(nil, value)
        end)
end

-- --json, one JSON document on stdout.
function cli.json_option(parser, help)
    return parser:flag("--json", help or "Print one JSON document on stdout instead of text.")
end

-- Print v as one line of JSON (chainsmith.json: sorted keys, [] stays []).
function cli.print_json(v)
    io.write(require("chainsmith.json").encode(v), "\n")
end

-- Report a failure of command `name` on stderr and exit (code: default 1).
function cli.fail(name, msg, code)
    io.stderr:write(name, ": ", msg, "\n")
    io.stdout:flush()
    os.exit(code or cli.exit.failed)
end

-- All of stdin, for a file argument given as `-`, with the cap a regular
-- file has. Returns the bytes or nil, message.
function cli.read_stdin(max)
    local data = io.stdin:read(max + 1)
    if data == nil then
        return nil, "-: stdin is empty"
    elseif #data > max then
        return nil, ("-: stdin is larger than %d bytes"):format(max)
    end
    return data
end

return cli
