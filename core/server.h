/* The embedded HTTPS server: CivetWeb with an SSL_CTX built here. */
#ifndef CS_SERVER_H
#define CS_SERVER_H

#include <stddef.h>

#include "cert.h"
#include "error.h"
#include "key.h"

/* A running server. Constructor: cs_server_start. Destructor: cs_server_stop
 * (stops and frees; NULL is fine). */
typedef struct cs_server cs_server;

/* The OCSP responder (ocsp.h), which a server may answer with. */
typedef struct cs_ocsp_responder cs_ocsp_responder;

/* A page served from memory (prepared before start; no callback into Lua).
 * Its body can be replaced while the server runs: cs_server_set_route. */
typedef struct cs_route {
    const char *path;         /* exact request path: "/", "/root.pem" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const char *body;
    size_t body_len;
    /* NULL: the body is served as is. Otherwise a text the body holds
     * ("{{client}}"): its first occurrence is replaced on each request by the
     * TLS client's certificate, "C=SE, O=Example, CN=alice (serial 5A0F...)",
     * or "anonymous (no client certificate)", HTML-escaped. */
    const char *client_marker;
    /* 1: also served on the plain-HTTP listener (http_port). For what is
     * signed anyway and fetched over http by design: CRLs (RFC 5280
     * 4.2.1.13), OCSP (RFC 6960 A.1). 0: HTTPS only. */
    int plain;
} cs_route;

/* What a handler answers. The server sends status, content_type (NULL:
 * "application/octet-stream"), the header lines in headers and body_len
 * bytes of body, then frees body and headers with free(). A status outside
 * 200..599 is sent as 500, and so is a reply whose headers are not lines of
 * "Name: value\r\n" (a token name, no other control characters) or name a
 * header the server writes itself (Content-Type, Content-Length,
 * Connection, Transfer-Encoding). */
typedef struct cs_http_reply {
    int status;
    const char *content_type; /* the handler's: must outlive the call (a literal) */
    unsigned char *body;      /* malloc'd by the handler, freed by the server */
    size_t body_len;
    /* NULL, or malloc'd header lines, "Replay-Nonce: abc\r\nRetry-After: 1\r\n",
     * freed by the server. Build them with cs_http_reply_header. */
    char *headers;
} cs_http_reply;

/* Append "name: value\r\n" to out->headers. CS_EINVAL when name is not a
 * token or value holds a control character (nothing appended), CS_ENOMEM. */
CS_NODISCARD cs_code cs_http_reply_header(cs_http_reply *out, const char *name,
                                          const char *value, cs_err *err);

/* A request to a handler's prefix. Called on CivetWeb worker threads, many
 * at once: it must be thread-safe and must not touch a lua_State. path is
 * the request path percent-decoded but not normalized ("//" and "/../"
 * stay, no query string), so an OCSP GET's url-encoded base64 (RFC 6960
 * A.1) arrives as base64; body is the request body (at most
 * CS_HANDLER_MAX_BODY bytes; larger requests get 413 without a call), NULL
 * when there is none. out starts as {500, NULL, NULL, 0}. */
typedef void (*cs_handler_fn)(void *ctx, const char *method, const char *path,
                              const unsigned char *body, size_t body_len, cs_http_reply *out);

/* A request as a cs_request_fn sees it: everything borrowed for the call. */
typedef struct cs_http_request {
    const char *method;       /* "GET", "HEAD", "POST", ... */
    const char *path;         /* as cs_handler_fn's path */
    const char *query;        /* after '?', not decoded; NULL when there is none */
    const char *content_type; /* the Content-Type header as sent; NULL when none */
    const char *authorization; /* the Authorization header as sent; NULL when none */
    const unsigned char *body; /* as cs_handler_fn's body */
    size_t body_len;
    /* 1: the body was larger than CS_HANDLER_MAX_BODY and was not read
     * (body is NULL): the handler answers (413 or its own words) and the
     * server closes the connection after the reply. */
    int too_large;
    int tls;                  /* 1: over HTTPS, 0: the plain listener */
    /* The TLS client certificate the handshake verified (and, when the
     * server checks revocation, not revoked), or NULL. */
    const cs_cert *client_cert;
    const char *remote_addr;  /* "127.0.0.1", "::1" */
} cs_http_request;

/* A handler that sees the whole request (cs_http_request) and may set reply
 * headers. Called on worker threads, as cs_handler_fn. out starts as
 * {500, NULL, NULL, 0, NULL}. */
typedef void (*cs_request_fn)(void *ctx, const cs_http_request *req, cs_http_reply *out);

/* Requests whose path is prefix, or prefix followed by '/', go to fn (an
 * exact route wins over a handler; the first matching handler is used).
 * Exactly one of fn and serve is set: fn for the simple form (OCSP), serve
 * for one that needs the query, headers or client certificate (ACME). */
typedef struct cs_handler {
    const char *prefix; /* "/ocsp": copied at start */
    cs_handler_fn fn;
    void *ctx;          /* passed to fn; must live until cs_server_stop returns */
    int plain;          /* 1: also on the plain-HTTP listener, as cs_route.plain */
    cs_request_fn serve;
    /* How long fn or serve may take once the body is read, ms: a handler
     * that waits for the Lua loop (ACME, the signing API) gives its ask
     * timeout, and the connection's deadline is moved past it, so a slow
     * decision is answered (503 + Retry-After), not cut by the watchdog.
     * 0: the handler's time counts against the body's deadline. */
    int work_ms;
} cs_handler;

#define CS_HANDLER_MAX_BODY (64 * 1024)

/* Limits against slow and idle clients (docs/serve.md says why):
 * - the TLS handshake, and each request head as a whole, within
 *   CS_SERVER_HEAD_MS (CivetWeb's request_timeout_ms);
 * - the next request on a kept-alive connection within
 *   CS_SERVER_KEEP_ALIVE_MS (keep_alive_timeout_ms);
 * - a request body whole within CS_SERVER_BODY_MS plus one second per
 *   CS_SERVER_BODY_RATE bytes it declares (a minimum rate; 64 KiB: 9 s),
 *   else 408 and the connection is closed;
 * - a watchdog looks every CS_SERVER_WATCH_MS. */
#define CS_SERVER_THREADS 256
#define CS_SERVER_HEAD_MS 5000
#define CS_SERVER_KEEP_ALIVE_MS 500
#define CS_SERVER_BODY_MS 5000
#define CS_SERVER_BODY_RATE (16 * 1024)
#define CS_SERVER_WATCH_MS 100

/* Whether the server asks TLS clients for a certificate. A certificate that
 * is sent is always verified, and the handshake fails if it does not verify
 * (another CA, expired, not for clientAuth): "request" lets a client without
 * one in, never a client with a bad one. */
typedef enum cs_client_auth {
    CS_CLIENT_AUTH_NONE = 0, /* no CertificateRequest at all */
    CS_CLIENT_AUTH_REQUEST,  /* ask; a client may send none */
    CS_CLIENT_AUTH_REQUIRE,  /* ask; no certificate, no handshake */
} cs_client_auth;

typedef struct cs_server_config {
    const char *const *hosts; /* addresses to listen on: "127.0.0.1", "::1" */
    size_t hosts_len;
    int port;                 /* 0: any free port (see cs_server_port) */
    const char *document_root; /* folder served as static files; NULL: none */
    const cs_cert *leaf;
    const cs_cert *const *chain; /* intermediates sent after the leaf */
    size_t chain_len;
    const cs_key *key;
    const cs_route *routes;   /* copied at start */
    size_t routes_len;
    /* Worker threads; 0: CS_SERVER_THREADS. CivetWeb gives each connection
     * a thread for its whole life, keep-alive included; when fewer than an
     * eighth are free, idle TLS connections are closed, oldest first (see
     * the limits below). */
    int threads;
    /* Open connections one client address may hold; 0: a quarter of the
     * threads (at least 8). A TLS connection over it is closed before its
     * handshake, a plain-HTTP one answered 503 and closed. */
    int per_address;
    /* Strict-Transport-Security: max-age=hsts_max_age on HTTPS responses
     * (pages, files, handlers; never on plain HTTP). 0: no header. */
    long hsts_max_age;
    /* 1: no session cache and no tickets, so every connection is a full
     * handshake (benchmarks). 0 (the default): TLS 1.2 session IDs and TLS
     * 1.3 tickets let a returning client skip the certificate signature. */
    int no_resumption;
    /* Client certificates (mTLS). client_ca: the CA certificates a client
     * certificate must chain to, copied at start. Each must be a CA; their
     * names are the acceptable CAs sent in the CertificateRequest. The path
     * must end at a self-signed one (no partial chains): an intermediate
     * listed here only fills in between, as the intermediates the client
     * sends do. Checked X.509-strict, for the purpose sslclient (an
     * extendedKeyUsage without clientAuth is refused), within the validity
     * period, at most 4 intermediates. Required unless client_auth is NONE,
     * refused with NONE. */
    const cs_cert *const *client_ca;
    size_t client_ca_len;
    cs_client_auth client_auth;
    const cs_handler *handlers; /* copied at start */
    size_t handlers_len;
    /* A plain-HTTP listener on the same hosts: -1 none, 0 any free port
     * (see cs_server_http_port), else that port. It serves only the routes
     * and handlers marked plain; anything else there is a 404. Note that a
     * zeroed config means "any free port": set -1 for none. */
    int http_port;
    /* NULL, or the OCSP responder answering CS_OCSP_PATH (POST, and GET
     * with the request in the path) on both listeners, through
     * cs_ocsp_handler. The server takes its own reference at start and gives
     * it back when it stops, so the caller may free its own at any time.
     * With client_auth other than NONE it also refuses revoked clients: each
     * client certificate the responder's issuer issued is looked up
     * (cs_ocsp_status) on every full handshake (revoked: the handshake fails,
     * alert certificate_revoked), every session ticket offered (revoked: not
     * resumed, so a full handshake refuses it) and every request (revoked:
     * 403, for connections made before the revocation); a lookup that fails
     * refuses too (503 on a request). TLS 1.2 session ids are then not
     * cached (OpenSSL resumes those without asking): tickets only.
     * Certificates the database does not know are admitted as before. */
    cs_ocsp_responder *ocsp;
} cs_server_config;

/* Check the key matches the leaf (CS_EMISMATCH), build the TLS context (TLS
 * 1.2+, client verification as client_auth says), and listen. A port in use
 * or a TLS failure is CS_ESERVER with CivetWeb's or OpenSSL's words. */
CS_NODISCARD cs_code cs_server_start(const cs_server_config *cfg, cs_server **out,
                                     cs_err *err);
/* The port actually bound (useful with port 0). */
int cs_server_port(const cs_server *srv);
/* The plain-HTTP port bound, or -1 without one. */
int cs_server_http_port(const cs_server *srv);
void cs_server_stop(cs_server *srv);

/* Hot credential swap. Checks that key is private and matches leaf
 * (CS_EMISMATCH; on any error nothing changed), then every new handshake
 * gets leaf + chain + key while connections already open finish on the old
 * ones. The server takes its own references (the caller may free its
 * objects). Sessions from before the reload are not resumed (a client
 * holding a ticket or session id makes a full handshake and sees the new
 * certificate), and the staple is cleared: it was for the old certificate.
 * Thread-safe. */
CS_NODISCARD cs_code cs_server_reload(cs_server *srv, const cs_cert *leaf,
                                      const cs_cert *const *chain, size_t chain_len,
                                      const cs_key *key, cs_err *err);

/* The OCSP response (DER, copied) stapled to handshakes whose client asks
 * (status_request), for the current credentials; NULL clears it. Core does
 * not parse it: the caller made it for the current leaf. Thread-safe. */
CS_NODISCARD cs_code cs_server_set_staple(cs_server *srv, const unsigned char *der, size_t len,
                                          cs_err *err);

/* Replace the body (and, unless content_type is NULL, the type) of the route
 * given at start for path (CS_ENOENT for another path: routes are fixed at
 * start). A client_marker route keeps its marker, which the new body must
 * hold. Requests in flight finish with the old bytes. Thread-safe. */
CS_NODISCARD cs_code cs_server_set_route(cs_server *srv, const char *path,
                                         const char *content_type, const char *body,
                                         size_t len, cs_err *err);

#endif
