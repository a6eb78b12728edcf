-- serve.lua's ACME settings (docs/acme.md): the --acme flags, the settings
-- file (scripts/acme_config.lua, or --acme-config FILE) they override, and
-- the checks that refuse a bad value in one line naming the flag or field
-- before anything is bound. The result is what acme_service.open takes.
local lfs = require "lfs"
local pki = require "pki"

local options = {}

-- An EAB keys file holds a line per key; this bounds a file that never ends.
local EAB_FILE_MAX = 1024 * 1024

-- The settings file's fields and their types (validation's: below).
local fields = {
    enabled = "boolean", base_url = "string", terms = "string", eab = "table",
    validation = "table", ask_timeout_ms = "number", order_lifetime = "number",
}
local eab_fields = { required = "boolean", keys_file = "string" }
local validation_fields = {
    http_port = "number", tls_port = "number", resolve = "table", dns_resolver = "string",
    workers = "number", timeout_ms = "number",
}

-- Add the ACME flags to serve.lua's argparse parser.
function options.add(parser)
    parser:flag("--acme", "Serve ACME (RFC 8555) at /acme/directory: stock clients (certbot, "
        .. "lego, ...) get certificates, policy.lua decides (docs/acme.md).")
    parser:option("--acme-config", "ACME settings file (default: acme_config.lua beside "
        .. "serve.lua); the flags below override it."):argname("FILE")
    parser:option("--acme-http-port", "Port http-01 validation connects to, standing in for "
        .. "80 (default 80)."):argname("N"):convert(math.tointeger)
    parser:option("--acme-tls-port", "Port tls-alpn-01 validation connects to, standing in "
        .. "for 443 (default 443)."):argname("N"):convert(math.tointeger)
    parser:option("--acme-resolve", "Validate names matching PATTERN at ADDR instead of "
        .. "resolving them ('*.test=127.0.0.1', 'a.test=::1', '*=127.0.0.1'); repeatable, "
        .. "first match wins."):argname("PATTERN=ADDR"):count("*")
    parser:option("--acme-dns-resolver", "DNS server for dns-01 TXT lookups (and names no "
        .. "--acme-resolve matches), e.g. 127.0.0.1:8053 (default: the system's)."):argname(
        "HOST:PORT")
    parser:option("--acme-base-url", "The URL clients reach the server at (default: "
        .. "https://HOST:PORT, HOST from public_base_url in root.lua, PORT the HTTPS port).")
        :argname("URL")
    parser:option("--acme-terms", "Terms-of-service URL clients must agree to "
        .. "(meta.termsOfService)."):argname("URL")
    parser:flag("--acme-eab-required", "Refuse new accounts without External Account "
        .. "Binding.")
    parser:option("--acme-eab-key", "An EAB key: KID=HMAC, the HMAC key in base64url as the "
        .. "client is given it; repeatable. Visible to `ps`: prefer --acme-eab-keys."):argname(
        "KID=HMAC"):count("*")
    parser:option("--acme-eab-keys", "A file of EAB keys, one KID=HMAC a line (# comments); "
        .. "must not be readable by group or others."):argname("FILE")
end

-- The default settings file: acme_config.lua in the scripts folder.
function options.default_file(scripts_dir)
    return scripts_dir .. "/acme_config.lua"
end

-- Read a settings file: a Lua chunk returning a table of data, run in an
-- empty environment like a profile (it cannot require, read files or call
-- os). Returns the table ({} when the default file is absent), or nil and
-- the problem. given: whether the user named the file (then it must exist).
function options.read_file(path, given)
    local text, err = pki.read_file(path, 1024 * 1024)
    if not text then
        if not given and err:find("No such file", 1, true) then
            return {}
        end
        return nil, err
    end
    local chunk, cerr = load(text, "@" .. path, "t", {})
    if not chunk then
        return nil, cerr
    end
    local ok, t = pcall(chunk)
    if not ok then
        return nil, tostring(t)
    end
    if type(t) ~= "table" then
        return nil, ("%s: must return a table of settings, got %s"):format(path, type(t))
    end
    local function check(tbl, known, where)
        for k, v in pairs(tbl) do
            if not known[k] then
                return nil, ("%s: unknown field '%s%s'"):format(path, where, tostring(k))
            end
            if type(v) ~= known[k] then
                return nil, ("%s: %s%s: expected %s, got %s"):format(path, where, k, known[k],
                    type(v))
            end
        end
        return true
    end
    local ok2, why = check(t, fields, "")
    if ok2 and t.eab then
        ok2, why = check(t.eab, eab_fields, "eab.")
    end
    if ok2 and t.validation then
        ok2, why = check(t.validation, validation_fields, "validation.")
    end
    if not ok2 then
        return nil, why
    end
    return t
end

-- An IP literal ("127.0.0.1", "::1", "[::1]"): the normalized address or nil.
local function ip_literal(s)
    return pki.normalize_name("ip", (s:match("^%[(.*)%]$") or s))
end

-- "PATTERN=ADDR": true, or nil and why. PATTERN: "*", "*.suffix" or a name.
function options.check_resolve(rule)
    local pattern, addr = rule:match("^([^=]*)=(.*)$")
    if not pattern then
        return nil, ("'%s' is not PATTERN=ADDR"):format(rule)
    end
    if pattern ~= "*" then
        local base = pattern:match("^%*%.(.+)$") or pattern
        if not pki.normalize_name("dns", base) then
            return nil, ("'%s': '%s' is not a name, *.suffix or *"):format(rule, pattern)
        end
    end
    if not ip_literal(addr) then
        return nil, ("'%s': '%s' is not an IPv4 or IPv6 address"):format(rule, addr)
    end
    return true
end

-- "HOST[:PORT]" (HOST an IPv4 literal, or [IPv6]): true, or nil and why.
function options.check_resolver(s)
    local host, port = s:match("^(%[.*%]):(%d+)$")
    if not host then
        host, port = s:match("^([^:]+):(%d+)$")
    end
    host = host or s
    if not ip_literal(host) then
        return nil, ("'%s' is not HOST:PORT with HOST an IP address (127.0.0.1:8053, "
            .. "[::1]:53)"):format(s)
    end
    local n = tonumber(port or "53")
    if n < 1 or n > 65535 then
        return nil, ("'%s': port %s is not in 1..65535"):format(s, port)
    end
    return true
end

-- "KID=HMAC": kid, hmac, or nil and why (the key itself never appears in
-- the message: it is a secret).
function options.eab_key(s, where)
    local kid, hmac = s:match("^([^=]+)=(.*)$")
    if not kid then
        return nil, ("%s: expected KID=HMAC"):format(where)
    end
    if not kid:match("^[%w%-_.:@]+$") then
        return nil, ("%s: key id '%s' has characters other than letters, digits and -_.:@")
            :format(where, pki.escape(kid))
    end
    if hmac == "" or not hmac:match("^[%w%-_]+$") then
        return nil, ("%s (key id %s): the HMAC key is not base64url (A-Z a-z 0-9 - _, no "
            .. "padding)"):format(where, kid)
    end
    if #hmac < 22 then -- 16 bytes; RFC 8555 leaves it open, HS256 wants 32
        return nil, ("%s (key id %s): the HMAC key is shorter than 16 bytes"):format(where, kid)
    end
    return kid, hmac
end

-- The EAB keys of a file, one KID=HMAC a line; blank lines and # comments
-- skipped. The file must be private (like a key: 0600 or 0400).
function options.read_eab_file(path)
    local text, err = pki.read_file(path, EAB_FILE_MAX)
    if not text then
        return nil, err
    end
    local perm = lfs.attributes(path, "permissions") or ""
    if perm:sub(4, 4) == "r" or perm:sub(7, 7) == "r" then
        return nil, ("%s: mode %s lets others read the EAB keys; chmod 600 it"):format(path,
            perm)
    end
    local keys, n = {}, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
        if line ~= "" and line:sub(1, 1) ~= "#" then
            local kid, hmac = options.eab_key(line, ("%s:%d"):format(path, n))
            if not kid then
                return nil, hmac
            end
            keys[kid] = hmac
        end
    end
    return keys
end

local function port_problem(flag, v)
    if v ~= nil and (math.type(v) ~= "integer" or v < 1 or v > 65535) then
        return ("%s: %s is not in 1..65535"):format(flag, tostring(v))
    end
    return nil
end

-- The ACME settings from serve.lua's parsed options and the settings file:
-- nil when ACME is off; else {base_url = (nil: from the server), terms,
-- eab = {required, keys = {kid = hmac}}, validation = {...},
-- ask_timeout_ms, order_lifetime, config_file}; or false, the problem in
-- one line. scripts_dir: where the default settings file is.
function options.resolve(opts, scripts_dir)
    local path = opts.acme_config or options.default_file(scripts_dir)
    local file, ferr = options.read_file(path, opts.acme_config ~= nil)
    if not file then
        return false, ("--acme-config: %s"):format(ferr)
    end
    local flags_given = #opts.acme_resolve > 0 or #opts.acme_eab_key > 0 or opts.acme_http_port
        or opts.acme_tls_port or opts.acme_dns_resolver or opts.acme_eab_required
        or opts.acme_eab_keys or opts.acme_base_url or opts.acme_terms
    if not (opts.acme or file.enabled) then
        if flags_given then
            return false, "--acme-* options given without --acme (or enabled = true in "
                .. path .. ")"
        end
        return nil
    end
    local v = file.validation or {}
    local e = file.eab or {}
    local s = {
        config_file = path,
        base_url = opts.acme_base_url or file.base_url,
        terms = opts.acme_terms or file.terms,
        eab = { required = opts.acme_eab_required or e.required or false, keys = {} },
        validation = {
            http_port = opts.acme_http_port or v.http_port,
            tls_port = opts.acme_tls_port or v.tls_port,
            resolve = {},
            dns_resolver = opts.acme_dns_resolver or v.dns_resolver,
            workers = v.workers,
            timeout_ms = v.timeout_ms,
        },
        ask_timeout_ms = file.ask_timeout_ms,
        order_lifetime = file.order_lifetime,
    }
    local problem = port_problem("--acme-http-port", s.validation.http_port)
        or port_problem("--acme-tls-port", s.validation.tls_port)
    if problem then
        return false, problem
    end
    -- flags first: the first matching rule wins, and a flag overrides the file
    for _, list in ipairs { opts.acme_resolve, v.resolve or {} } do
        for _, rule in ipairs(list) do
            if type(rule) ~= "string" then
                return false, ("%s: validation.resolve: expected strings"):format(path)
            end
            local ok, why = options.check_resolve(rule)
            if not ok then
                return false, "--acme-resolve: " .. why
            end
            s.validation.resolve[#s.validation.resolve + 1] = rule
        end
    end
    if s.validation.dns_resolver then
        local ok, why = options.check_resolver(s.validation.dns_resolver)
        if not ok then
            return false, "--acme-dns-resolver: " .. why
        end
    end
    for _, url in ipairs { { "--acme-base-url", s.base_url }, { "--acme-terms", s.terms } } do
        if url[2] and not url[2]:match("^https?://[^/%s]+[^%s]*$") then
            return false, ("%s: '%s' is not an http(s) URL"):format(url[1], url[2])
        end
    end
    if s.base_url then
        s.base_url = s.base_url:gsub("/+$", "")
        if not s.base_url:match("^https://[^/]+$") then
            return false, ("--acme-base-url: '%s' must be https://HOST[:PORT], without a "
                .. "path (ACME is served at /acme)"):format(s.base_url)
        end
    end
    local keys_file = opts.acme_eab_keys or e.keys_file
    if keys_file then
        local keys, kerr = options.read_eab_file(keys_file)
        if not keys then
            return false, "--acme-eab-keys: " .. kerr
        end
        s.eab.keys = keys
    end
    for i, given in ipairs(opts.acme_eab_key) do
        local kid, hmac = options.eab_key(given, ("--acme-eab-key #%d"):format(i))
        if not kid then
            return false, hmac
        end
        s.eab.keys[kid] = hmac
    end
    if s.eab.required and next(s.eab.keys) == nil then
        return false, "--acme-eab-required: no EAB key given (--acme-eab-key KID=HMAC or "
            .. "--acme-eab-keys FILE): nobody could register"
    end
    return s
end

-- The ACME base URL: the one given, else https://HOST:PORT with HOST the
-- public_base_url's (the name the certificates already use for this
-- server) or localhost, and PORT the bound HTTPS port.
function options.base_url(given, public_base, https_port)
    if given then
        return given
    end
    local host = public_base and public_base:match("^https?://(%[[^%]]+%])")
        or public_base and public_base:match("^https?://([^/:]+)") or "localhost"
    return ("https://%s:%d"):format(host, https_port)
end

-- The EAB key ids, sorted: what the banner shows (never the keys).
function options.eab_kids(s)
    local kids = {}
    for kid in pairs(s.eab.keys) do
        kids[#kids + 1] = kid
    end
    table.sort(kids)
    return kids
end

return options
