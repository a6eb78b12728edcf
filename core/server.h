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

/* A page served from memory (prepared before start; no callback into Lua). */
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
} cs_route;

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
    /* Worker threads; 0: 32. CivetWeb gives each connection a thread for its
     * whole life, keep-alive included: one more connection than threads
     * waits until one closes or idles out (keep_alive_timeout_ms, 500). */
    int threads;
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
} cs_server_config;

/* Check the key matches the leaf (CS_EMISMATCH), build the TLS context (TLS
 * 1.2+, client verification as client_auth says), and listen. A port in use
 * or a TLS failure is CS_ESERVER with CivetWeb's or OpenSSL's words. */
CS_NODISCARD cs_code cs_server_start(const cs_server_config *cfg, cs_server **out,
                                     cs_err *err);
/* The port actually bound (useful with port 0). */
int cs_server_port(const cs_server *srv);
void cs_server_stop(cs_server *srv);

/* Block until SIGINT or SIGTERM arrives (or timeout_ms passes, if > 0);
 * return the signal number, or 0 on timeout. The previous handlers are
 * restored before returning. */
int cs_wait_for_stop_signal(int timeout_ms);

#endif
