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
} cs_route;

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
} cs_server_config;

/* Check the key matches the leaf (CS_EMISMATCH), build the TLS context (TLS
 * 1.2+), and listen. A port in use or a TLS failure is CS_ESERVER with
 * CivetWeb's or OpenSSL's words. */
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
