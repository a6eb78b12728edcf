/* What the server's three files share, and only they: core/server.c (the
 * lifecycle: configuration checks, CivetWeb start and stop, reload,
 * set_staple, set_route), core/server_tls.c (the SSL_CTX and the
 * credentials each handshake is given) and core/server_http.c (routes,
 * handlers, the responses and the plain-HTTP filter). Not installed, never
 * included by bindings: the struct layouts change with the code. */
#ifndef CS_SERVER_INTERNAL_H
#define CS_SERVER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "error.h"
#include "server.h"

struct mg_callbacks;
struct mg_connection;
struct mg_context;
struct mg_request_info;

/* What each connection holds and until when (server_guard.c). */
typedef struct guard guard;

/* A whole response prepared before start: headers then body, so a GET is
 * one mg_write (one TLS record, one send) and a HEAD the first head_len bytes
 * of it. Nothing is allocated or formatted per request. */
typedef struct response {
    const char *bytes;
    size_t head_len;
    size_t len;
} response;

/* Two copies per route, told apart only by their Connection header: the
 * client must learn whether CivetWeb will close after this response, or it
 * sends its next request into a closing socket (wrk counted a read error on
 * every `Connection: close` request before this). */
typedef struct route_body {
    int refs;      /* under srv->lock: the route's own, plus one per request */
    char *type;
    char *storage; /* one allocation holding both responses */
    response keep_alive;
    response close;
    /* A route greeting the client: keep_alive and close greet an anonymous
     * client (prepared, like any route); a client with a certificate gets
     * greeting, which holds the headers up to "Content-Length: " (head_len
     * bytes) and the body without its marker, filled in by send_greeting
     * (server_http.c) at body_pre_len. */
    int greet;
    response greeting;
    size_t body_pre_len;
} route_body;

typedef struct route {
    char *path;
    char *marker; /* client_marker, or NULL */
    int plain;
    route_body *body; /* under srv->lock: cs_server_set_route replaces it */
} route;

typedef struct handler {
    char *prefix;
    size_t prefix_len;
    cs_handler_fn fn;   /* exactly one of fn and serve */
    cs_request_fn serve;
    void *ctx;
    int plain;
    int work_ms; /* cs_handler.work_ms */
} handler;

/* What a new handshake is given: immutable once made, freed by the last
 * holder (the server's current pointer, or a handshake installing it). */
typedef struct creds {
    int refs; /* under srv->lock */
    X509 *leaf;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
    unsigned char *staple; /* DER OCSP response, or NULL */
    size_t staple_len;
} creds;

struct cs_server {
    struct mg_context *mg;
    SSL_CTX *ssl_ctx; /* ours: CivetWeb borrows it (external_ssl_ctx returns 1) */
    route *routes;
    size_t routes_len;
    handler *handlers;
    size_t handlers_len;
    /* cfg->ocsp with the server's own reference (NULL: none): the OCSP
     * handler's ctx, dropped after mg_stop has joined the workers. */
    cs_ocsp_responder *ocsp;
    /* 1: client certificates are asked for and ocsp is set, so each one is
     * looked up (csi_tls_client_refused) at the handshake and per request. */
    int checks_clients;
    int port;
    int http_port; /* -1: no plain listener */
    /* Guards creds, generation and every route's body pointer and refs. */
    pthread_mutex_t lock;
    creds *creds;
    /* Bumped by each reload; part of the session id context, so a session
     * from older credentials is not resumed (see on_client_hello
     * in server_tls.c). */
    unsigned long generation;
    int library_initialized;
    guard *guard;
    /* realpath of the document root (no trailing '/'), or NULL: none */
    char *www;
    size_t www_len;
    /* "Strict-Transport-Security: max-age=N\r\n", or "" */
    char hsts[80];
    /* CivetWeb's first complaint while starting ("cannot bind to ...: 98
     * (Address already in use)"), more telling than mg_error_data's summary. */
    pthread_mutex_t log_lock;
    int starting;
    char start_log[256];
};

/* ---- the TLS side, in server_tls.c ---- */

/* The server's SSL_CTX for cfg (already checked): TLS 1.2+, leaf, chain and
 * key, client verification as cfg asks, and the callbacks that give each
 * handshake srv's current credentials. Free with SSL_CTX_free. */
CS_NODISCARD cs_code csi_tls_ctx_build(const cs_server_config *cfg, cs_server *srv,
                                      SSL_CTX **out, cs_err *err);

/* New credentials (refs 1) holding a reference to key, and to leaf and
 * chain_in or, if chain_in is NULL, fresh copies of leaf and the chain_len
 * certificates of chain (see fresh_copy in server_tls.c), and a copy of the
 * staple. Free with csi_creds_free while unshared, else csi_creds_put. */
CS_NODISCARD cs_code csi_creds_new(X509 *leaf, STACK_OF(X509) *chain_in,
                                  const cs_cert *const *chain, size_t chain_len, EVP_PKEY *key,
                                  const unsigned char *staple, size_t staple_len, creds **out,
                                  cs_err *err);
void csi_creds_free(creds *c);
/* srv's current credentials with a reference for the caller; give it back
 * with csi_creds_put (NULL is fine). */
creds *csi_creds_get(cs_server *srv);
void csi_creds_put(cs_server *srv, creds *c);
/* A new certificate: takes over c's reference (csi_creds_swap in
 * server_tls.c says what it does to resumption). */
void csi_creds_swap(cs_server *srv, creds *c);

/* Whether srv refuses the client certificate peer (verified, or resumed
 * from a session that was): 1 the database says revoked, 2 our issuer
 * signed it but the database does not hold it (not issued through
 * chainsmith: a copied key, a lost record), -1 its status could not be
 * read (refuse: fail closed, the reason on stderr), 0 admit (good, another
 * CA's, no certificate, or the server checks none). */
int csi_tls_client_refused(cs_server *srv, X509 *peer);

/* ---- the HTTP side, in server_http.c ---- */

/* cfg's routes and handlers copied and checked, responses prepared (NULL
 * when there are none); the handlers end with the OCSP responder's when
 * cfg->ocsp is set. Free with csi_routes_free and csi_handlers_free,
 * which take the count and accept NULL. */
CS_NODISCARD cs_code csi_routes_build(const cs_server_config *cfg, const char *hsts,
                                     route **out, cs_err *err);
void csi_routes_free(route *routes, size_t n);
CS_NODISCARD cs_code csi_handlers_build(const cs_server_config *cfg, handler **out,
                                       size_t *out_len, cs_err *err);
void csi_handlers_free(handler *handlers, size_t n);

/* A route body of refs 1, extra (header lines, "" for none) in its
 * headers; give it back with csi_route_body_put. */
CS_NODISCARD cs_code csi_route_body_build(const char *what, const char *type,
                                         const char *marker, const char *extra,
                                         const char *src, size_t src_len, route_body **out,
                                         cs_err *err);
/* Read a request body of at most max bytes before its deadline (see
 * csi_guard_body_ms): 0 and *out (malloc'd, NULL when there is no body), or
 * the status to answer: 413 too large, 408 too slow or cut short, 500. */
int csi_http_read_body(struct mg_connection *conn, const struct mg_request_info *ri,
                      size_t max, unsigned char **out, size_t *len);
route_body *csi_route_body_get(cs_server *srv, const route *r);
void csi_route_body_put(cs_server *srv, route_body *b);
/* The route with exactly this path, or NULL. */
route *csi_route_find(const cs_server *srv, const char *path);

/* The request handler for "/", cbdata the cs_server; and the auth handlers
 * that keep CivetWeb from looking for password files on our paths. */
int csi_route_handler(struct mg_connection *conn, void *cbdata);
CS_NODISCARD cs_code csi_routes_mark_public(cs_server *srv, cs_err *err);

/* ---- hostile clients, in server_guard.c ---- */

/* A guard of threads slots for cfg's limits. Free with csi_guard_free (NULL
 * is fine), which also stops the watchdog csi_guard_start started. */
CS_NODISCARD cs_code csi_guard_new(const cs_server_config *cfg, int threads, guard **out,
                                  cs_err *err);
CS_NODISCARD cs_code csi_guard_start(guard *g, cs_err *err);
void csi_guard_free(guard *g);
/* Sets init_thread, init_connection, connection_close, begin_request and
 * end_request; the context's user data must be the cs_server. */
void csi_guard_callbacks(struct mg_callbacks *cb);
/* The SSL_CTX info callback that hands each TLS socket to the guard. */
void csi_guard_tls_info(const SSL *ssl, int where, int ret);
/* How long a body of content_length bytes (-1: unknown) may take, ms. */
long long csi_guard_body_ms(long long content_length);
/* The server's own work on conn's request (a handler waiting for the Lua
 * loop) will take up to ms more: its deadline becomes at least now + ms. */
void csi_guard_extend(const struct mg_connection *conn, long long ms);

#endif
