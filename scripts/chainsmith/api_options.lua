-- serve.lua's signing API options (docs/api.md): --api switches it on,
-- --api-token-key KID=FILE gives a key that may sign one-time tokens,
-- --api-base-url the URL tokens name. Client certificates authenticate
-- whenever the server asks for them (--mtls, --client-ca,
-- --require-client-cert).
local options = {}

function options.add(parser)
    parser:flag("--api", "Serve the signing API at /api/v1 (docs/api.md): sign a CSR, revoke, "
        .. "read a certificate; callers authenticate with a client certificate this CA issued "
        .. "(with --mtls) or a one-time token (--api-token-key).")
    parser:option("--api-token-key", "A key that may sign one-time tokens: KID=FILE, its key "
        .. "id and a PEM file of its public key (EC P-256). Repeatable.")
        :count("*"):argname("KID=FILE")
    parser:option("--api-base-url", "The URL callers reach the server at, what a token's aud "
        .. "starts with (default: as for ACME, https://HOST:PORT of public_base_url and the "
        .. "HTTPS port).")
end

local function read_all(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local s = f:read("a")
    f:close()
    return s
end

-- One --api-token-key: kid, PEM; or nil, what is wrong.
function options.token_key(s)
    local kid, file = s:match("^([^=]+)=(.+)$")
    if not kid then
        return nil, ("--api-token-key %s: want KID=FILE"):format(s)
    end
    if not kid:match("^[%w._%-]+$") then
        return nil, ("--api-token-key %s: the key id may hold letters, digits, '.', '_' and "
            .. "'-' only"):format(s)
    end
    local pem, err = read_all(file)
    if not pem then
        return nil, ("--api-token-key %s: %s"):format(s, err)
    end
    return kid, pem
end

-- The API settings from opts: nil when --api is off, false and a problem
-- for a bad option, else {token_keys = {kid = PEM}, kids = {...},
-- base_url = given or nil}.
function options.resolve(opts)
    if not opts.api then
        if #opts.api_token_key > 0 or opts.api_base_url then
            return false, ("%s: only the signing API uses it (give --api)")
                :format(#opts.api_token_key > 0 and "--api-token-key" or "--api-base-url")
        end
        return nil
    end
    local s = { token_keys = {}, kids = {}, base_url = opts.api_base_url }
    for _, given in ipairs(opts.api_token_key) do
        local kid, pem = options.token_key(given)
        if not kid then
            return false, pem
        end
        if s.token_keys[kid] then
            return false, ("--api-token-key: key id %s given twice"):format(kid)
        end
        s.token_keys[kid] = pem
        s.kids[#s.kids + 1] = kid
    end
    if s.base_url and not s.base_url:match("^https://[^/]+$") then
        return false, ("--api-base-url %s: want https://HOST[:PORT], no path"):format(s.base_url)
    end
    return s
end

return options
