-- The delegated OCSP responder (RFC 6960 4.2.2.2): signs OCSP answers for
-- the intermediate's certificates, so the server answers /ocsp with this
-- short-lived key and never holds the CA key. OCSPSigning only, and
-- ocsp_no_check, so clients do not ask about the responder itself (4.2.2.2.1):
-- the short validity stands in for its revocation. No subjectAltName: clients
-- find a responder by its key, not by a host name (CA/B BR 7.1.2.8). GnuTLS
-- checks a CN without SAN against the intermediate's DNS constraints, so
-- the CN is a name inside them.
return {
    description = "Delegated OCSP responder (OCSPSigning), P-256, 30 days",
    issuer = "intermediate",
    key = { type = "ec", curve = "P-256" },
    validity_days = 30,
    renew_before_days = 10,
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "CN", "ocsp.localhost" },
    },
    basic_constraints = { critical = true, ca = false },
    key_usage = { critical = true, "digitalSignature" },
    extended_key_usage = { "OCSPSigning" },
    ocsp_no_check = true,
    subject_key_id = true,
    authority_key_id = true,
}
