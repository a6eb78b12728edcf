-- A TLS client certificate: how a client proves who it is to a server that
-- asks (mTLS). No names here: the issuing command puts the requested
-- names (DNS, email or URI) in subject_alt_name.
return {
    description = "TLS client certificate (clientAuth), P-256, 30 days",
    issuer = "intermediate",
    key = { type = "ec", curve = "P-256" },
    validity_days = 30,
    renew_before_days = 10,
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "OU", "Clients" },
    },
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "clientAuth" },
    allow_wildcard = false,   -- a client is one identity, never a pattern
    subject_key_id = true,
    authority_key_id = true,
    -- Revocation: the issuing CA's CRL and OCSP responder, served over
    -- plain HTTP by serve.lua (docs/revocation.md).
    crl_distribution_points = { "{base}/crl/intermediate.crl" },
    authority_info_access = { ocsp = { "{base}/ocsp" } },
}
