-- The issuing CA: signed by the root, may sign leaves only (pathLen 0), and
-- only for names local development uses. The name constraints are in the
-- certificate and critical, so every verifier enforces them: should this
-- key leak, what it signs for a real domain is rejected everywhere.
-- Widen by editing `permitted` (docs/profiles.md); the next build_chain.lua
-- rolls the intermediate under the same root to match (a new key and
-- certificate; the root clients trust stays).
return {
    description = "Intermediate CA under the root, P-384, 5 years, pathLen 0, local names only",
    issuer = "root",
    key = { type = "ec", curve = "P-384" },
    validity_days = 1825,
    -- build_chain.lua and renew.lua roll it (new key, same root) this close
    -- to expiry, so its last leaves never outlive it
    renew_before_days = 180,
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "OU", "XYZ" },
        { "CN", "Simple Intermediate CA" },
    },
    basic_constraints = { critical = true, ca = true, path_len = 0 },
    key_usage = { critical = true, "keyCertSign", "cRLSign" },
    name_constraints = {
        critical = true,
        permitted = {
            -- A DNS entry covers the name and every name under it:
            -- "localhost" is localhost and *.localhost (RFC 6761 names).
            dns = { "localhost", "test", "internal" },
            -- Mail and URIs on the same domains: here "test" is the host
            -- test itself, ".test" every host under it (RFC 5280 4.2.1.10).
            -- A URI without a host (urn:...) is outside.
            email = { "localhost", ".localhost", "test", ".test", "internal", ".internal" },
            uri = { "localhost", ".localhost", "test", ".test", "internal", ".internal" },
            -- Loopback, and the private range containers and service
            -- meshes use for service-to-service mTLS.
            ip = { "127.0.0.0/8", "::1/128", "10.0.0.0/8" },
        },
    },
    subject_key_id = true,
    authority_key_id = true,
    -- Where clients fetch the root's CRL to check this certificate
    -- (serve.lua's plain-HTTP port; docs/revocation.md).
    crl_distribution_points = { "{base}/crl/root.crl" },
    -- This CA's own CRL (chain/intermediate.crl) is good for a week.
    crl_next_update_days = 7,
}
