-- serve.lua's ACME settings (docs/acme.md). Data only: read in an empty
-- environment, like a profile. The serve.lua flags override each field
-- (--acme, --acme-http-port, --acme-resolve, ...); what policy.lua decides
-- (which names, which profile, which challenges) is there, not here.
return {
    -- true: serve ACME at /acme/directory without --acme.
    enabled = false,
    -- The URL clients reach the server at; by default https://HOST:PORT
    -- with HOST from public_base_url in profiles/root.lua and PORT the
    -- HTTPS port (--port).
    -- base_url = "https://ca.internal:8443",
    -- The terms of service clients agree to (meta.termsOfService).
    -- terms = "https://ca.internal:8443/terms.html",
    eab = {
        -- true: accounts must be bound to a key given out beforehand.
        required = false,
        -- A file of "KID=HMAC" lines (HMAC base64url), mode 0600.
        -- keys_file = "/etc/chainsmith/eab-keys",
    },
    validation = {
        -- Where http-01 and tls-alpn-01 connect (80 and 443 by default).
        -- http_port = 80,
        -- tls_port = 443,
        -- Names validated at a fixed address instead of through DNS.
        -- resolve = { "*.test=127.0.0.1" },
        -- The DNS server for dns-01 (and names resolve does not match).
        -- dns_resolver = "127.0.0.1:53",
        -- workers = 8,          -- validations at once
        -- timeout_ms = 10000,   -- per validation
    },
    -- ask_timeout_ms = 10000,    -- how long a request waits for a policy decision
    -- order_lifetime = 86400,    -- seconds an order and its authorizations live
}
