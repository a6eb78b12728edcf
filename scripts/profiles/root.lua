-- The root CA: self-signed, the only certificate clients are asked to trust.
-- Kept across rebuilds (pass --force to build_chain.lua to replace it).
return {
    description = "Self-signed root CA, P-384, 10 years",
    issuer = "self",
    key = { type = "ec", curve = "P-384" },
    validity_days = 3650,
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "CN", "Simple Root CA" },
    },
    basic_constraints = { critical = true, ca = true },
    key_usage = { critical = true, "keyCertSign", "cRLSign" },
    subject_key_id = true,
    -- The root's CRL (chain/root.crl) lists revoked intermediates; clients
    -- that hold an older copy fetch a new one after this many days.
    crl_next_update_days = 30,
    -- Where serve.lua's plain-HTTP port (CRLs, OCSP) is reached: "{base}" in
    -- the URLs the profiles put in certificates. serve.lua listens on this
    -- port by default. Change it here only: the next build_chain.lua re-signs
    -- the intermediate and leaves to match (docs/revocation.md).
    public_base_url = "http://localhost:8080",
}
