/* pki.acme: the Lua face of core/acme.h (the ACME server and its decision
 * queue). The contract with scripts/chainsmith/acme_service.lua:
 *
 *   local acme = assert(pki.acme{
 *     db = "chain/ca.db",                     -- the CA database (required)
 *     base_url = "https://localhost:8443",    -- external URL, no trailing '/' (required);
 *                                             -- JWS "url" must be base_url .. request path
 *     terms = "https://localhost:8443/terms", -- meta.termsOfService (optional)
 *     eab = { required = false,               -- optional
 *             keys = { ["kid-1"] = "<b64url HMAC key>" } },
 *     chain = "<PEM>",                        -- appended after the leaf on download (optional)
 *     validation = { http_port = 5002, tls_port = 5001,        -- all optional
 *                    resolve = { "*.test=127.0.0.1" },
 *                    dns_resolver = "127.0.0.1:8053",
 *                    workers = 8, timeout_ms = 10000 },
 *     ask_timeout_ms = 10000,                 -- optional: how long a request waits for Lua
 *     order_lifetime = 86400,                 -- optional, seconds
 *   })                                        -- nil, message, code on bad input
 *   local server = pki.server{ ..., acme = acme }  -- mounts /acme (HTTPS only);
 *                                                  -- the server keeps acme alive
 *
 *   local ask = acme:next(timeout_ms)  -- nil on timeout; nil, "closed", "not found"
 *                                      -- once closed and drained; else a table:
 *   { id = <integer>, kind = "account" | "order" | "finalize" | "revoke",
 *     account = { id = "<account id>", contact = {"mailto:..."}, eab_kid = "kid-1" or nil },
 *     identifiers = { {type = "dns", value = "a.test"}, ... },  -- order, finalize
 *     order = "<order id>", profile = "<from the order answer>",-- finalize
 *     csr = "<DER>",      -- finalize; C already checked: it parses, its signature holds,
 *                         -- its names == the order's identifiers, its key != the account key
 *     serial = "<HEX>", reason = 0, by = "account" | "key" }   -- revoke; C already checked
 *                                                              -- the requester may revoke it
 *
 *   acme:answer(id, { ok = true })                                     -- account, revoke
 *   acme:answer(id, { ok = true, profile = "server",
 *                     challenges = {"http-01", "tls-alpn-01", "dns-01"} })  -- order
 *   acme:answer(id, { ok = true, chain = "<PEM leaf (+ intermediate)>", serial = "<HEX>" })
 *                                                                      -- finalize
 *   acme:answer(id, { ok = false, type = "rejectedIdentifier", detail = "..." })
 *       -- any refusal; type is an RFC 8555 error type without the urn prefix
 *       -- (finalize refusals: "badCSR"); returns true, or nil, message, code
 *       -- ("not found": nobody waits for that id any more)
 *   acme:close()   -- waiting requests get 503; next() drains then says closed
 *
 * Never called from a worker thread: the queue is the only way in. */
