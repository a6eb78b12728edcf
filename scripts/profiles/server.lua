-- The HTTPS server's certificate: what serve.lua presents, with the
-- intermediate, to every client. build_chain.lua signs these SANs; the
-- issuing command replaces them with the names requested.
return {
    description = "TLS server certificate for localhost, P-384, 30 days",
    issuer = "intermediate",
    key = { type = "ec", curve = "P-384" },
    validity_days = 30,
    renew_before_days = 10,   -- build_chain.lua re-issues it this close to expiry
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "OU", "ABC" },
        { "CN", "localhost" },
    },
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "serverAuth" },
    allow_wildcard = false,   -- set true to let the issuing command sign "*.app.test"
    subject_alt_name = {
        dns = { "localhost" },
        ip = { "127.0.0.1", "::1" },
    },
    subject_key_id = true,
    authority_key_id = true,
    -- Revocation: the issuing CA's CRL and OCSP responder, served over
    -- plain HTTP by serve.lua (docs/revocation.md).
    crl_distribution_points = { "{base}/crl/intermediate.crl" },
    authority_info_access = { ocsp = { "{base}/ocsp" } },
}
