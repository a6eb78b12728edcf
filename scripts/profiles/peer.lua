-- A service in service-to-service mTLS: a server to its callers and a
-- client to the services it calls, so both purposes. Everything else
-- comes from server.lua (key, validity, SANs, which the issuing command
-- replaces with the requested names).
return {
    extends = "server",
    description = "Service-to-service mTLS certificate (serverAuth + clientAuth), "
        .. "P-384, 30 days",
    subject = {
        { "C", "SE" },
        { "O", "Simple Inc" },
        { "OU", "Services" },
    },
    extended_key_usage = { "serverAuth", "clientAuth" },
}
