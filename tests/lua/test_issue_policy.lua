-- policy.check_request: name patterns, deny over allow, validity, keys,
-- extensions, the hook; every violation listed, each naming its rule.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local policy = require "policy"

-- A leaf profile as profile.load returns it.
local function leaf(name, changes)
    local p = {
        name = name, issuer = "intermediate", validity_days = 30,
        key = { type = "ec", curve = "P-256" },
        subject = { { "O", "Simple Inc" } },
        basic_constraints = { critical = true, ca = false },
        key_usage = { critical = true, "digitalSignature" },
        extended_key_usage = { name == "client" and "clientAuth" or "serverAuth" },
    }
    for k, v in pairs(changes or {}) do
        p[k] = v
    end
    return p
end

-- A request in the model docs/policy.md describes, with names as
-- "type:value" strings for brevity.
local function request(names, changes)
    local r = {
        profile = "server", names = {}, key = { type = "ec", curve = "P-256", bits = 256 },
        validity_days = 7, ca_requested = false, requested_extensions = {}, csr = false,
    }
    for _, n in ipairs(names) do
        local ty, v = n:match("^(%a+):(.*)$")
        r.names[#r.names + 1] = { type = ty, value = v }
    end
    for k, v in pairs(changes or {}) do
        r[k] = v
    end
    return r
end

local config = {
    extensions = "drop",
    profiles = {
        server = {
            allow = { "*.svc.internal", "10.0.0.0/8", "fd00::/8", "api.example.test" },
            deny = { "bad.svc.internal", "10.66.0.0/16" },
            max_validity_days = 20,
        },
        client = {
            allow = { ".clients.internal", "@example.test", "spiffe://example.test/*" },
            max_validity_days = 7,
            keys = { ec = { "P-256" }, ed25519 = true },
            extensions = "refuse",
            check = function(r)
                if not r.csr then
                    return nil, "clients send a CSR"
                end
                return true
            end,
        },
        open = {},
    },
}

local server, client = leaf("server"), leaf("client")

-- {case, profile, request, expected lines (nil: accepted)}
local cases = {
    { "wildcard pattern: one label", server, request { "dns:app.svc.internal" } },
    { "wildcard pattern: not two labels", server, request { "dns:a.b.svc.internal" },
      { "name a.b.svc.internal: not allowed for profile server (rule server.allow)" } },
    { "wildcard pattern: not the bare suffix", server, request { "dns:svc.internal" },
      { "name svc.internal: not allowed for profile server (rule server.allow)" } },
    { "exact pattern", server, request { "dns:api.example.test" } },
    { "exact pattern: not a subdomain", server, request { "dns:x.api.example.test" },
      { "name x.api.example.test: not allowed for profile server (rule server.allow)" } },
    { "CIDR v4 inside", server, request { "ip:10.1.2.3" } },
    { "CIDR v4 outside", server, request { "ip:192.168.1.1" },
      { "name 192.168.1.1: not allowed for profile server (rule server.allow)" } },
    { "CIDR v6 inside", server, request { "ip:fd12::1" } },
    { "CIDR v6 outside", server, request { "ip:2001:db8::1" },
      { "name 2001:db8::1: not allowed for profile server (rule server.allow)" } },
    { "deny wins over allow (dns)", server, request { "dns:bad.svc.internal" },
      { "name bad.svc.internal: denied for profile server by 'bad.svc.internal' "
        .. "(rule server.deny)" } },
    { "deny wins over allow (CIDR)", server, request { "ip:10.66.1.1" },
      { "name 10.66.1.1: denied for profile server by '10.66.0.0/16' (rule server.deny)" } },
    { "an allow list refuses other types", server, request { "email:a@svc.internal" },
      { "name a@svc.internal: not allowed for profile server (rule server.allow)" } },
    { "suffix pattern: any depth", client,
      request({ "dns:a.b.clients.internal" }, { csr = true }) },
    { "suffix pattern: not the bare domain", client,
      request({ "dns:clients.internal" }, { csr = true }),
      { "name clients.internal: not allowed for profile client (rule client.allow)" } },
    { "email domain pattern", client, request({ "email:alice@example.test" }, { csr = true }) },
    { "email domain pattern: not a subdomain", client,
      request({ "email:alice@x.example.test" }, { csr = true }),
      { "name alice@x.example.test: not allowed for profile client (rule client.allow)" } },
    { "URI prefix pattern", client,
      request({ "uri:spiffe://example.test/ns/a" }, { csr = true }) },
    { "URI prefix pattern: other host", client,
      request({ "uri:spiffe://other.test/ns/a" }, { csr = true }),
      { "name spiffe://other.test/ns/a: not allowed for profile client (rule client.allow)" } },
    { "no entry: anything", leaf("open"), request { "dns:anything.test", "ip:192.0.2.1" } },
    { "validity at the maximum", server, request({ "dns:a.svc.internal" },
      { validity_days = 20 }) },
    { "validity over the policy maximum", server,
      request({ "dns:a.svc.internal" }, { validity_days = 21 }),
      { "validity_days: 21 days is more than the 20 allowed for profile server "
        .. "(rule server.max_validity_days)" } },
    { "validity over the profile's days", leaf("open"),
      request({ "dns:a.test" }, { validity_days = 31 }),
      { "validity_days: 31 days is more than the 30 allowed for profile open "
        .. "(rule profile.validity_days)" } },
    { "validity not a whole number", leaf("open"),
      request({ "dns:a.test" }, { validity_days = 1.5 }),
      { "validity_days: expected a whole number of days >= 1, got 1.5 (rule validity)" } },
    { "small RSA refused everywhere", leaf("open"),
      request({ "dns:a.test" }, { key = { type = "rsa", bits = 1024 } }),
      { "key.bits: RSA 1024 bits is not allowed (2048 to 4096) (rule allowed-key)" } },
    { "P-384 refused for client only", client,
      request({ "dns:a.clients.internal" }, { csr = true, key = { type = "ec", curve = "P-384" } }),
      { "key.curve: curve P-384 is not allowed (use P-256) (rule client.keys)" } },
    { "RSA refused for client only", client,
      request({ "dns:a.clients.internal" }, { csr = true, key = { type = "rsa", bits = 2048 } }),
      { "key.type: key type rsa is not allowed (ec or ed25519) (rule client.keys)" } },
    { "Ed25519 for client", client,
      request({ "dns:a.clients.internal" }, { csr = true, key = { type = "ed25519" } }) },
    { "CA:TRUE refused", leaf("open"), request({ "dns:a.test" }, { ca_requested = true,
      requested_extensions = { "basicConstraints" } }),
      { "basicConstraints: CA:TRUE requested; only leaf certificates are issued "
        .. "(rule no-ca-request)" } },
    { "a CA profile is not issued", leaf("open", { basic_constraints = { ca = true } }),
      request { "dns:a.test" },
      { "profile open: not a leaf profile issued by the intermediate; only those are "
        .. "issued from requests (rule leaf-profile)" } },
    { "no names", leaf("open"), request {},
      { "names: no name to certify (rule needs-name)" } },
    { "wildcard without allow_wildcard", leaf("open"), request { "dns:*.a.test" },
      { "name *.a.test: wildcards are not allowed for profile open (set allow_wildcard = "
        .. "true in the profile to permit them) (rule allow-wildcard)" } },
    { "wildcard with allow_wildcard", leaf("open", { allow_wildcard = true }),
      request { "dns:*.a.test" } },
    { "wildcard over a top-level domain", leaf("open", { allow_wildcard = true }),
      request { "dns:*.test" },
      { "name *.test: a wildcard must be the whole left-most label, with at least two labels "
        .. "after it (rule wildcard-placement)" } },
    { "wildcard not left-most", leaf("open", { allow_wildcard = true }),
      request { "dns:a.*.b.test" },
      { "name a.*.b.test: a wildcard must be the whole left-most label, with at least two "
        .. "labels after it (rule wildcard-placement)" } },
    { "a wildcard pattern allows the wildcard name", leaf("server", { allow_wildcard = true }),
      request { "dns:*.svc.internal" } },
    { "the hook refuses", client, request { "dns:a.clients.internal" },
      { "check: clients send a CSR (rule client.check)" } },
    { "extensions the profile gives are fine", client,
      request({ "dns:a.clients.internal" }, { csr = true,
        requested_extensions = { "subjectAltName", "basicConstraints", "extendedKeyUsage" },
        extended_key_usage = { "clientAuth" } }) },
    { "extensions refused for client", client,
      request({ "dns:a.clients.internal" }, { csr = true,
        requested_extensions = { "subjectAltName", "extendedKeyUsage", "nsCertType" },
        extended_key_usage = { "serverAuth", "clientAuth" } }),
      { "extensions: extendedKeyUsage (serverAuth), nsCertType requested, not given by "
        .. "profile client (rule client.extensions)" } },
    { "every violation listed, in order", client,
      request({ "dns:x.example.com", "ip:10.0.0.1" }, { validity_days = 8,
        key = { type = "rsa", bits = 1024 }, ca_requested = true }),
      { "basicConstraints: CA:TRUE requested; only leaf certificates are issued "
        .. "(rule no-ca-request)",
        "name x.example.com: not allowed for profile client (rule client.allow)",
        "name 10.0.0.1: not allowed for profile client (rule client.allow)",
        "validity_days: 8 days is more than the 7 allowed for profile client "
        .. "(rule client.max_validity_days)",
        "key.bits: RSA 1024 bits is not allowed (2048 to 4096) (rule allowed-key)",
        "check: clients send a CSR (rule client.check)" } },
}

for _, c in ipairs(cases) do
    local name, p, r, want = c[1], c[2], c[3], c[4]
    if want then
        t.expect_fail(name, "policy", "^" .. table.concat(want, "\n"):gsub("%p", "%%%0") .. "$",
            policy.check_request, r, p, nil, config)
    else
        t.case(name, function()
            local d, err = policy.check_request(r, p, nil, config)
            assert(d, err)
            assert(#d.dropped == 0, table.concat(d.dropped, ", "))
        end)
    end
end

-- Extensions the profile does not give are dropped by default, and listed.
t.case("extensions dropped and listed", function()
    local d = assert(policy.check_request(request({ "dns:a.svc.internal" }, {
        requested_extensions = { "subjectAltName", "keyUsage", "nsCertType", "1.2.3.4" },
        key_usage = { "digitalSignature", "keyCertSign" } }), server, nil, config))
    assert(table.concat(d.dropped, "|") == "keyUsage (keyCertSign)|nsCertType|1.2.3.4",
        table.concat(d.dropped, "|"))
end)

t.expect_fail("RSA without an upper bound", "policy",
    "^key%.bits: RSA 2048 bits is not allowed %(at least 3072%) %(rule open%.keys%)$",
    policy.check_request, request({ "dns:a.test" }, { key = { type = "rsa", bits = 2048 } }),
    leaf("open"), nil, { profiles = { open = { keys = { rsa = { min_bits = 3072 } } } } })

-- A hook that raises refuses rather than lets through.
t.expect_fail("a failing hook refuses", "policy",
    "^check: the hook failed: .*boom %(rule check%)$", policy.check_request,
    request { "dns:a.test" }, leaf("open"), nil,
    { profiles = {}, check = function() error("boom") end })

-- The default configuration lets the default chain's names through.
t.case("default policy: localhost for server", function()
    assert(policy.check_request(request { "dns:localhost", "ip:127.0.0.1", "ip:::1" },
        leaf("server")))
end)

-- A broken configuration is named.
t.expect_fail("config typo named", "invalid", "^policy: profiles%.server: unknown field 'alow'$",
    policy.check_request, request { "dns:a.test" }, server, nil,
    { profiles = { server = { alow = {} } } })
t.expect_fail("config extensions value named", "invalid",
    "profiles%.server%.extensions: expected \"drop\" or \"refuse\", got \"keep\"",
    policy.check_request, request { "dns:a.test" }, server, nil,
    { profiles = { server = { extensions = "keep" } } })
t.expect_fail("a pattern that is not a string", "invalid",
    "^policy: profiles%.server%.allow%[2%]: expected string, got number$",
    policy.check_request, request { "dns:a.test" }, server, nil,
    { profiles = { server = { allow = { "a.test", 10 } } } })
t.expect_fail("global extensions value named", "invalid",
    "^policy: extensions: expected \"drop\" or \"refuse\", got keep$",
    policy.check_request, request { "dns:a.test" }, server, nil,
    { extensions = "keep", profiles = {} })
t.expect_fail("bad DNS pattern named", "policy",
    "^name a%.test: pattern '%*%.bad_name%.test': .* %(rule server%.allow%)$",
    policy.check_request, request { "dns:a.test" }, server, nil,
    { profiles = { server = { allow = { "*.bad_name.test" } } } })
t.expect_fail("bad CIDR pattern named", "policy", "^name 10%.0%.0%.1: pattern '10%.0%.0%.0/33': .* "
    .. "%(rule server%.allow%)$", policy.check_request, request { "ip:10.0.0.1" }, server, nil,
    { profiles = { server = { allow = { "10.0.0.0/33" } } } })

-- The pattern matcher on its own.
local matches = {
    { "dns", "a.svc.internal", "*.svc.internal", true },
    { "dns", "a.svc.internal", "*.SVC.internal", true },
    { "dns", "a.xn--bcher-kva.test", ".bücher.test", true },  -- Unicode patterns work too
    { "dns", "xsvc.internal", ".svc.internal", false },
    { "dns", "a.xsvc.internal", "*.svc.internal", false },
    { "ip", "10.255.255.255", "10.0.0.0/8", true },
    { "ip", "11.0.0.0", "10.0.0.0/8", false },
    { "ip", "10.0.0.1", "10.0.0.1", true },
    { "ip", "::1", "::1", true },
    { "ip", "::1", "10.0.0.0/8", false },
    { "email", "a@example.test", "a@EXAMPLE.test", true },
    { "email", "b@example.test", "a@example.test", false },
    { "email", "a@x.example.test", "@.example.test", true },
    { "uri", "https://a.test/x", "https://a.test/x", true },
    { "uri", "https://a.test/xy", "https://a.test/x", false },
    { "dns", "a.test", "10.0.0.0/8", false },
}
for _, m in ipairs(matches) do
    t.case(("%s %s ~ %s"):format(m[1], m[2], m[3]), function()
        local got = policy.name_matches({ type = m[1], value = m[2] }, m[3])
        assert(got == m[4], tostring(got))
    end)
end

t.done()
