-- serve.lua's ACME options (chainsmith/acme_options.lua): the flags as
-- argparse reads them, the settings file they override, and every bad value
-- refused in one line naming the flag or field, before anything is bound;
-- EAB keys never in a message. The flag names are a contract (issue 12).
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local options = require "chainsmith.acme_options"

local dir = t.tmpdir()
local hmac = "c2VjcmV0LWhtYWMta2V5LWZvci10ZXN0aW5nLTEyMzQ1Ng" -- 35 bytes, base64url

-- serve.lua's parser with the ACME flags, parsing args (a list).
local function parse(args)
    local parser = require("argparse")("serve.lua")
    options.add(parser)
    local ok, opts = parser:pparse(args)
    assert(ok, opts)
    return opts
end

local function resolve(args)
    return options.resolve(parse(args), dir)
end

local function expect_problem(name, args, pattern)
    t.case(name, function()
        local s, why = resolve(args)
        assert(s == false, "expected a problem, got " .. tostring(s))
        assert(why:find(pattern), ("%q does not match %q"):format(why, pattern))
        assert(not why:find(hmac, 1, true), "the HMAC key is in the message")
    end)
end

t.case("off without --acme (and no settings file)", function()
    assert(resolve {} == nil)
end)

t.case("the flags the contract names, as the harness passes them", function()
    local s = assert(resolve { "--acme", "--acme-http-port", "5002", "--acme-tls-port", "5001",
        "--acme-resolve", "*.test=127.0.0.1", "--acme-resolve", "a.other=::1",
        "--acme-dns-resolver", "127.0.0.1:8053", "--acme-eab-required",
        "--acme-eab-key", "kid-1=" .. hmac, "--acme-terms", "https://localhost:8443/terms" })
    assert(s.validation.http_port == 5002 and s.validation.tls_port == 5001)
    assert(#s.validation.resolve == 2 and s.validation.resolve[1] == "*.test=127.0.0.1"
        and s.validation.resolve[2] == "a.other=::1")
    assert(s.validation.dns_resolver == "127.0.0.1:8053")
    assert(s.eab.required == true and s.eab.keys["kid-1"] == hmac)
    assert(s.terms == "https://localhost:8443/terms")
    assert(s.base_url == nil, "the base URL comes from the server unless given")
    assert(table.concat(options.eab_kids(s), ",") == "kid-1")
end)

expect_problem("a flag without --acme", { "--acme-http-port", "5002" },
    "%-%-acme%-%* options given without %-%-acme")
expect_problem("a port out of range", { "--acme", "--acme-http-port", "70000" },
    "^%-%-acme%-http%-port: 70000 is not in 1%.%.65535$")
expect_problem("port 0", { "--acme", "--acme-tls-port", "0" },
    "^%-%-acme%-tls%-port: 0 is not in 1%.%.65535$")
expect_problem("a resolve rule without =", { "--acme", "--acme-resolve", "a.test" },
    "^%-%-acme%-resolve: 'a%.test' is not PATTERN=ADDR$")
expect_problem("a resolve rule to a name", { "--acme", "--acme-resolve", "*.test=localhost" },
    "'localhost' is not an IPv4 or IPv6 address")
expect_problem("a resolve pattern that is no name", { "--acme", "--acme-resolve",
    "a b=127.0.0.1" }, "'a b' is not a name, %*%.suffix or %*")
t.case("resolve rules: *, a bracketed IPv6", function()
    assert(resolve { "--acme", "--acme-resolve", "*=127.0.0.1", "--acme-resolve",
        "x.test=[::1]" })
end)
expect_problem("a DNS resolver that is a name", { "--acme", "--acme-dns-resolver",
    "dns.test:53" }, "^%-%-acme%-dns%-resolver: 'dns%.test:53' is not HOST:PORT")
expect_problem("a DNS resolver port out of range", { "--acme", "--acme-dns-resolver",
    "127.0.0.1:0" }, "port 0 is not in 1%.%.65535")
t.case("DNS resolvers: [v6]:port, a bare address (port 53)", function()
    assert(resolve { "--acme", "--acme-dns-resolver", "[::1]:5353" })
    assert(resolve { "--acme", "--acme-dns-resolver", "10.0.0.1" })
end)
expect_problem("an EAB key without =", { "--acme", "--acme-eab-key", "kid-1" },
    "^%-%-acme%-eab%-key #1: expected KID=HMAC$")
expect_problem("an EAB key that is not base64url: named by its kid, never shown",
    { "--acme", "--acme-eab-key", "kid-2=" .. hmac .. "==" },
    "^%-%-acme%-eab%-key #1 %(key id kid%-2%): the HMAC key is not base64url")
expect_problem("an EAB key too short", { "--acme", "--acme-eab-key", "k=abcd" },
    "shorter than 16 bytes")
expect_problem("EAB required without a key", { "--acme", "--acme-eab-required" },
    "^%-%-acme%-eab%-required: no EAB key given")
expect_problem("a base URL with a path", { "--acme", "--acme-base-url",
    "https://ca.test/x" }, "must be https://HOST%[:PORT%], without a path")
expect_problem("a plain-HTTP base URL", { "--acme", "--acme-base-url", "http://ca.test" },
    "must be https://")
expect_problem("terms that are no URL", { "--acme", "--acme-terms", "read the manual" },
    "^%-%-acme%-terms: 'read the manual' is not an http%(s%) URL$")

-- The EAB keys file: private, one KID=HMAC a line
local keys = dir .. "/eab-keys"
t.write_file(keys, "# issued to the build farm\nkid-a=" .. hmac .. "\n\n  kid-b=" .. hmac
    .. "  \n")
os.execute("chmod 644 " .. t.quote(keys))
expect_problem("a keys file others may read", { "--acme", "--acme-eab-keys", keys },
    "lets others read the EAB keys; chmod 600 it")
t.case("a private keys file: every key, comments and blanks skipped", function()
    os.execute("chmod 600 " .. t.quote(keys))
    local s = assert(resolve { "--acme", "--acme-eab-keys", keys, "--acme-eab-required" })
    assert(s.eab.keys["kid-a"] == hmac and s.eab.keys["kid-b"] == hmac)
    assert(table.concat(options.eab_kids(s), ",") == "kid-a,kid-b")
end)
do
    local bad = dir .. "/bad-keys"
    t.write_file(bad, "kid-a=" .. hmac .. "\nkid-c=not*b64\n")
    os.execute("chmod 600 " .. t.quote(bad))
    expect_problem("a bad line in the keys file names file and line", { "--acme",
        "--acme-eab-keys", bad }, "bad%-keys:2 %(key id kid%-c%): the HMAC key is not base64url")
    t.write_file(bad, "kid-d = " .. hmac .. "\n")
    expect_problem("spaces around = are not part of a key id: refused, not guessed",
        { "--acme", "--acme-eab-keys", bad }, "bad%-keys:1: key id 'kid%-d ' has characters")
end

-- The settings file
local function config(text)
    local path = dir .. "/acme_config.lua"
    t.write_file(path, text)
    return path
end
t.case("enabled = true in the settings file switches ACME on without --acme", function()
    config("return { enabled = true, validation = { http_port = 5002, resolve = "
        .. "{ '*.test=127.0.0.1' } }, terms = 'https://t.test/tos' }")
    local s = assert(resolve {})
    assert(s.validation.http_port == 5002 and s.validation.resolve[1] == "*.test=127.0.0.1")
    assert(s.terms == "https://t.test/tos")
end)
t.case("flags override the file; their resolve rules come first", function()
    local s = assert(resolve { "--acme-http-port", "6002", "--acme-resolve", "a.test=::1" })
    assert(s.validation.http_port == 6002)
    assert(s.validation.resolve[1] == "a.test=::1" and s.validation.resolve[2]
        == "*.test=127.0.0.1")
end)
t.case("--acme-config names another file", function()
    local other = dir .. "/other.lua"
    t.write_file(other, "return { validation = { tls_port = 7001 } }")
    local s = assert(resolve { "--acme", "--acme-config", other })
    assert(s.validation.tls_port == 7001 and s.config_file == other)
end)
config("return { enabled = true, validation = { http_prot = 5002 } }")
expect_problem("a typo in the settings file is named", {},
    "acme_config%.lua: unknown field 'validation%.http_prot'")
config("return { enabled = 'yes' }")
expect_problem("a wrong type in the settings file", {},
    "acme_config%.lua: enabled: expected boolean, got string")
config("return { enabled = true, eab = { keys_file = '" .. keys .. "', required = true } }")
t.case("the keys file from the settings file", function()
    local s = assert(resolve {})
    assert(s.eab.required and s.eab.keys["kid-a"] == hmac)
end)
config("os.exit(3)")
expect_problem("the settings file is data: no os, no require", {},
    "attempt to index a nil value %(global 'os'%)")
expect_problem("a missing --acme-config file", { "--acme", "--acme-config", dir .. "/none.lua" },
    "^%-%-acme%-config: .*none%.lua")
os.remove(dir .. "/acme_config.lua")
t.case("the shipped acme_config.lua parses and leaves ACME off", function()
    local s = options.resolve(parse {}, "../../scripts")
    assert(s == nil)
    s = assert(options.resolve(parse { "--acme" }, "../../scripts"))
    assert(s.eab.required == false and #s.validation.resolve == 0)
end)

-- The base URL
t.case("base URL: public_base_url's host, the HTTPS port", function()
    assert(options.base_url(nil, "http://ca.internal:8080", 8443) == "https://ca.internal:8443")
    assert(options.base_url(nil, "http://[::1]:8080", 9443) == "https://[::1]:9443")
    assert(options.base_url(nil, nil, 8443) == "https://localhost:8443")
    assert(options.base_url("https://acme.test", "http://x:1", 8443) == "https://acme.test")
end)

t.cleanup()
t.done()
