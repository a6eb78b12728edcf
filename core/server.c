/* The embedded HTTPS server's lifecycle: check the configuration, start
 * CivetWeb on loopback (with an http_port, also plain HTTP for what is
 * signed anyway: CRLs, OCSP) with the SSL_CTX built in server_tls.c and the
 * request handler of server_http.c, stop it, and change it while it runs:
 * cs_server_reload and cs_server_set_staple swap the credentials,
 * cs_server_set_route a route's body. What the three files share is in
 * server_internal.h.
 *
 * Hot reload: the credentials (leaf, chain, key, staple) are an immutable,
 * reference-counted object; a certificate callback installs the current one
 * on each new handshake, and a reload swaps the pointer under srv->lock.
 * Route bodies are swapped the same way. */
/* realpath is XSI */
#define _XOPEN_SOURCE 700

#include "server.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <civetweb.h>

#include "internal.h"
#include "ocsp.h"
#include "server_internal.h"

/* CivetWeb calls this twice: at start with *ssl_ctx == NULL (we hand over our
 * context) and when the context is freed with *ssl_ctx set (returning 1 tells
 * CivetWeb not to SSL_CTX_free it: cs_server_stop does, after mg_stop). */
static int external_ssl_ctx(void **ssl_ctx, void *user_data)
{
    cs_server *srv = user_data;
    if (*ssl_ctx == NULL)
        *ssl_ctx = srv->ssl_ctx;
    return 1;
}

/* Runtime noise (failed handshakes, clients going away) stays out of stderr;
 * start-up failures come back in cs_err. */
static int log_message(const struct mg_connection *conn, const char *message)
{
    const struct mg_context *mg = conn ? mg_get_context(conn) : NULL;
    cs_server *srv = mg ? mg_get_user_data(mg) : NULL;

    if (!srv || !message)
        return 1;
    pthread_mutex_lock(&srv->log_lock);
    if (srv->starting && srv->start_log[0] == '\0') {
        size_t n;
        snprintf(srv->start_log, sizeof srv->start_log, "%s", message);
        n = strlen(srv->start_log);
        while (n > 0 && (srv->start_log[n - 1] == '\n' || srv->start_log[n - 1] == '\r'))
            srv->start_log[--n] = '\0';
    }
    pthread_mutex_unlock(&srv->log_lock);
    return 1;
}

static cs_code check_client_auth(const cs_server_config *cfg, cs_err *err)
{
    size_t i;

    switch (cfg->client_auth) {
    case CS_CLIENT_AUTH_NONE:
        if (cfg->client_ca_len > 0)
            return cs_err_set(err, CS_EINVAL, "server: client_ca: given, but client "
                              "certificates are not asked for (none)");
        return CS_OK;
    case CS_CLIENT_AUTH_REQUEST:
    case CS_CLIENT_AUTH_REQUIRE:
        break;
    default:
        return cs_err_set(err, CS_EINVAL, "server: client_auth: %d is not a mode",
                          (int)cfg->client_auth);
    }
    if (cfg->client_ca_len == 0)
        return cs_err_set(err, CS_EINVAL,
                          "server: client_ca: at least one CA is needed to verify clients");
    if (!cfg->client_ca)
        return cs_err_set(err, CS_EINVAL, "server: client_ca: NULL with a length");
    for (i = 0; i < cfg->client_ca_len; i++) {
        const cs_cert *ca = cfg->client_ca[i];
        if (!ca || !ca->x509)
            return cs_err_set(err, CS_EINVAL, "server: client_ca[%zu]: missing", i + 1);
        /* 1: a CA by basicConstraints; anything else could never sign a path */
        if (X509_check_ca(ca->x509) != 1)
            return cs_err_set(err, CS_EINVAL, "server: client_ca[%zu]: not a CA certificate",
                              i + 1);
    }
    return CS_OK;
}

static cs_code check_config(const cs_server_config *cfg, cs_err *err)
{
    size_t i;

    if (!cfg)
        return cs_err_set(err, CS_EINVAL, "server: no configuration");
    if (!cfg->leaf || !cfg->leaf->x509)
        return cs_err_set(err, CS_EINVAL, "server: leaf: missing");
    if (!cfg->key || !cfg->key->pkey)
        return cs_err_set(err, CS_EINVAL, "server: key: missing");
    if (!cfg->key->is_private)
        return cs_err_set(err, CS_EINVAL, "server: key: public key only, has no private key");
    if (!cfg->hosts || cfg->hosts_len == 0)
        return cs_err_set(err, CS_EINVAL, "server: hosts: at least one address is needed");
    for (i = 0; i < cfg->hosts_len; i++) {
        const char *h = cfg->hosts[i];
        if (!h || !*h || strlen(h) > 64 || strpbrk(h, ",[] \t\r\n"))
            return cs_err_set(err, CS_EINVAL, "server: hosts[%zu]: not an address", i + 1);
    }
    if (cfg->port < 0 || cfg->port > 65535)
        return cs_err_set(err, CS_EINVAL, "server: port: %d is not in 0..65535", cfg->port);
    if (cfg->http_port < -1 || cfg->http_port > 65535)
        return cs_err_set(err, CS_EINVAL, "server: http_port: %d is not in -1..65535",
                          cfg->http_port);
    if (cfg->http_port > 0 && cfg->http_port == cfg->port)
        return cs_err_set(err, CS_EINVAL, "server: http_port: %d is also the https port",
                          cfg->http_port);
    if (cfg->chain_len > 0 && !cfg->chain)
        return cs_err_set(err, CS_EINVAL, "server: chain: NULL with a length");
    for (i = 0; i < cfg->chain_len; i++)
        if (!cfg->chain[i] || !cfg->chain[i]->x509)
            return cs_err_set(err, CS_EINVAL, "server: chain[%zu]: missing", i + 1);
    if (cfg->routes_len > 0 && !cfg->routes)
        return cs_err_set(err, CS_EINVAL, "server: routes: NULL with a length");
    if (cfg->threads < 0 || cfg->threads > 1024)
        return cs_err_set(err, CS_EINVAL, "server: threads: %d is not in 0..1024",
                          cfg->threads);
    if (cfg->document_root && !*cfg->document_root)
        return cs_err_set(err, CS_EINVAL, "server: document_root: empty");
    if (cfg->per_address < 0 || cfg->per_address > 1024)
        return cs_err_set(err, CS_EINVAL, "server: per_address: %d is not in 0..1024",
                          cfg->per_address);
    if (cfg->hsts_max_age < 0 || cfg->hsts_max_age > 999999999L)
        return cs_err_set(err, CS_EINVAL, "server: hsts_max_age: %ld is not in 0..999999999",
                          cfg->hsts_max_age);
    return check_client_auth(cfg, err);
}

/* "127.0.0.1:8443s,[::1]:8443s", each followed by "127.0.0.1:8080" with an
 * http_port. */
static char *listening_ports(const cs_server_config *cfg)
{
    size_t i, cap = cfg->hosts_len * 160 + 1, used = 0;
    char *s = malloc(cap);

    if (!s)
        return NULL;
    s[0] = '\0';
    for (i = 0; i < cfg->hosts_len; i++) {
        const char *h = cfg->hosts[i];
        int v6 = strchr(h, ':') != NULL;
        int n = snprintf(s + used, cap - used, "%s%s%s%s:%ds", i ? "," : "", v6 ? "[" : "",
                         h, v6 ? "]" : "", cfg->port);
        if (n < 0 || (size_t)n >= cap - used) {
            free(s);
            return NULL;
        }
        used += (size_t)n;
        if (cfg->http_port < 0)
            continue;
        n = snprintf(s + used, cap - used, ",%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "",
                     cfg->http_port);
        if (n < 0 || (size_t)n >= cap - used) {
            free(s);
            return NULL;
        }
        used += (size_t)n;
    }
    return s;
}

/* 1 when host:port cannot be bound because another socket holds it (bound
 * as CivetWeb binds: SO_REUSEADDR, IPv6 only for an IPv6 address). */
static int port_taken(const char *host, int port)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[16];
    int taken = 0, one = 1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return 0;
    for (ai = res; ai && !taken; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE)
            taken = 1;
        close(fd);
    }
    freeaddrinfo(res);
    return taken;
}

/* After a failed start: "127.0.0.1:8443 (https)" for the first listener
 * another process holds, into buf; 0 when none is (another cause). */
static int taken_listener(const cs_server_config *cfg, char *buf, size_t len)
{
    for (size_t i = 0; i < cfg->hosts_len; i++) {
        const char *h = cfg->hosts[i];
        int v6 = strchr(h, ':') != NULL;
        for (int k = 0; k < 2; k++) {
            int port = k == 0 ? cfg->port : cfg->http_port;
            if (port <= 0 || !port_taken(h, port))
                continue;
            snprintf(buf, len, "%s%s%s:%d (%s)", v6 ? "[" : "", h, v6 ? "]" : "", port,
                     k == 0 ? "https" : "plain http");
            return 1;
        }
    }
    return 0;
}

cs_code cs_server_start(const cs_server_config *cfg, cs_server **out, cs_err *err)
{
    cs_server *srv = NULL;
    char *ports = NULL;
    char threads[16];
    char head_ms[16], keep_alive_ms[16];
    int nthreads;
    char mg_text[256] = "";
    unsigned mg_code = 0;
    struct mg_error_data mg_err = {&mg_code, mg_text, sizeof mg_text};
    struct mg_callbacks callbacks;
    struct mg_init_data init;
    struct mg_server_port bound[8];
    const char *options[32];
    size_t n = 0;
    cs_err sub;
    cs_code rc;
    int nports;

    rc = check_config(cfg, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_cert_check_key(cfg->leaf, cfg->key, &sub);
    if (rc == CS_EMISMATCH)
        return cs_err_set(err, rc, "server: the key does not match the certificate: %s",
                          sub.msg);
    if (rc != CS_OK)
        return cs_err_set(err, rc, "server: %s", sub.msg);

    srv = calloc(1, sizeof *srv);
    if (!srv)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory");
    pthread_mutex_init(&srv->log_lock, NULL);
    pthread_mutex_init(&srv->lock, NULL);
    srv->http_port = -1;
    if (cfg->hsts_max_age > 0)
        snprintf(srv->hsts, sizeof srv->hsts, "Strict-Transport-Security: max-age=%ld\r\n",
                 cfg->hsts_max_age);
    rc = csi_routes_build(cfg, srv->hsts, &srv->routes, err);
    if (rc != CS_OK)
        goto done;
    srv->routes_len = cfg->routes_len;
    rc = csi_handlers_build(cfg, &srv->handlers, &srv->handlers_len, err);
    if (rc != CS_OK)
        goto done;
    srv->ocsp = cs_ocsp_responder_ref(cfg->ocsp);
    srv->checks_clients = srv->ocsp && cfg->client_auth != CS_CLIENT_AUTH_NONE;
    rc = csi_creds_new(cfg->leaf->x509, NULL, cfg->chain, cfg->chain_len, cfg->key->pkey, NULL,
                      0, &srv->creds, err);
    if (rc != CS_OK)
        goto done;
    rc = csi_tls_ctx_build(cfg, srv, &srv->ssl_ctx, err);
    if (rc != CS_OK)
        goto done;
    if (cfg->document_root) {
        srv->www = realpath(cfg->document_root, NULL);
        if (!srv->www) {
            rc = cs_err_set(err, CS_ENOENT, "server: document_root: %s: %s",
                            cfg->document_root, strerror(errno));
            goto done;
        }
        srv->www_len = strlen(srv->www);
        while (srv->www_len > 0 && srv->www[srv->www_len - 1] == '/') /* "/" itself */
            srv->www[--srv->www_len] = '\0';
    }
    nthreads = cfg->threads > 0 ? cfg->threads : CS_SERVER_THREADS;
    rc = csi_guard_new(cfg, nthreads, &srv->guard, err);
    if (rc != CS_OK)
        goto done;
    ports = listening_ports(cfg);
    if (!ports) {
        rc = cs_err_set(err, CS_ENOMEM, "server: out of memory");
        goto done;
    }
    snprintf(threads, sizeof threads, "%d", nthreads);
    snprintf(head_ms, sizeof head_ms, "%d", CS_SERVER_HEAD_MS);
    snprintf(keep_alive_ms, sizeof keep_alive_ms, "%d", CS_SERVER_KEEP_ALIVE_MS);

    options[n++] = "listening_ports";
    options[n++] = ports;
    /* no document_root: serve_file (server_http.c) resolves and serves
     * files itself, and CivetWeb would follow symlinks out of it */
    options[n++] = "enable_directory_listing";
    options[n++] = "no";
    options[n++] = "ssl_protocol_version";
    options[n++] = "4";
    options[n++] = "tcp_nodelay";
    options[n++] = "1";
    options[n++] = "num_threads";
    options[n++] = threads;
    options[n++] = "enable_keep_alive";
    options[n++] = "yes";
    /* the TLS handshake and each request head, whole (server_guard.c) */
    options[n++] = "request_timeout_ms";
    options[n++] = head_ms;
    options[n++] = "keep_alive_timeout_ms";
    options[n++] = keep_alive_ms;
    /* an accepted connection waits here for a worker; the watchdog keeps
     * some free, so a short queue is enough */
    options[n++] = "connection_queue";
    options[n++] = "64";
    options[n++] = "listen_backlog";
    options[n++] = "512";
    options[n++] = "additional_header";
    options[n++] = "X-Content-Type-Options: nosniff";
    options[n++] = NULL;

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.external_ssl_ctx = external_ssl_ctx;
    callbacks.log_message = log_message;
    csi_guard_callbacks(&callbacks);
    init.callbacks = &callbacks;
    init.user_data = srv;
    init.configuration_options = options;

    /* Reference-counted in CivetWeb; paired with mg_exit_library in stop. */
    mg_init_library(MG_FEATURES_TLS);
    srv->library_initialized = 1;

    srv->starting = 1;
    srv->mg = mg_start2(&init, &mg_err);
    pthread_mutex_lock(&srv->log_lock);
    srv->starting = 0;
    pthread_mutex_unlock(&srv->log_lock);
    if (!srv->mg) {
        const char *why = mg_text[0] ? mg_text : "CivetWeb failed to start";
        char taken[128];
        if (taken_listener(cfg, taken, sizeof taken))
            rc = cs_err_set(err, CS_ESERVER, "server: %s is already in use by another process",
                            taken);
        else if (srv->start_log[0])
            rc = cs_err_set(err, CS_ESERVER, "server: cannot listen on %s: %s (%s)", ports,
                            why, srv->start_log);
        else
            rc = cs_err_set(err, CS_ESERVER, "server: cannot listen on %s: %s", ports, why);
        goto done;
    }
    rc = csi_guard_start(srv->guard, err);
    if (rc != CS_OK)
        goto done;
    mg_set_request_handler(srv->mg, "/", csi_route_handler, srv);
    rc = csi_routes_mark_public(srv, err);
    if (rc != CS_OK)
        goto done;

    nports = mg_get_server_ports(srv->mg, (int)(sizeof bound / sizeof bound[0]), bound);
    srv->port = cfg->port;
    for (int i = nports - 1; i >= 0; i--) { /* the first of each kind */
        if (bound[i].is_ssl)
            srv->port = bound[i].port;
        else
            srv->http_port = bound[i].port;
    }

    *out = srv;
    srv = NULL;
done:
    free(ports);
    cs_server_stop(srv);
    return rc;
}

int cs_server_port(const cs_server *srv)
{
    return srv ? srv->port : 0;
}

int cs_server_http_port(const cs_server *srv)
{
    return srv ? srv->http_port : -1;
}

cs_code cs_server_reload(cs_server *srv, const cs_cert *leaf, const cs_cert *const *chain,
                         size_t chain_len, const cs_key *key, cs_err *err)
{
    creds *c = NULL;
    cs_err sub;
    size_t i;
    cs_code rc;

    if (!srv)
        return cs_err_set(err, CS_EINVAL, "server: reload: no server");
    if (!leaf || !leaf->x509)
        return cs_err_set(err, CS_EINVAL, "server: reload: leaf: missing");
    if (!key || !key->pkey)
        return cs_err_set(err, CS_EINVAL, "server: reload: key: missing");
    if (!key->is_private)
        return cs_err_set(err, CS_EINVAL,
                          "server: reload: key: public key only, has no private key");
    if (chain_len > 0 && !chain)
        return cs_err_set(err, CS_EINVAL, "server: reload: chain: NULL with a length");
    for (i = 0; i < chain_len; i++)
        if (!chain[i] || !chain[i]->x509)
            return cs_err_set(err, CS_EINVAL, "server: reload: chain[%zu]: missing", i + 1);
    rc = cs_cert_check_key(leaf, key, &sub);
    if (rc == CS_EMISMATCH)
        return cs_err_set(err, rc, "server: reload: the key does not match the certificate: %s",
                          sub.msg);
    if (rc != CS_OK)
        return cs_err_set(err, rc, "server: reload: %s", sub.msg);
    rc = csi_creds_new(leaf->x509, NULL, chain, chain_len, key->pkey, NULL, 0, &c, err);
    if (rc != CS_OK)
        return rc;
    csi_creds_swap(srv, c);
    return CS_OK;
}

cs_code cs_server_set_staple(cs_server *srv, const unsigned char *der, size_t len, cs_err *err)
{
    creds *cur, *c = NULL;
    cs_code rc;

    if (!srv)
        return cs_err_set(err, CS_EINVAL, "server: set_staple: no server");
    if (der && (len == 0 || len > 1024 * 1024))
        return cs_err_set(err, CS_EINVAL, "server: set_staple: %zu bytes is not a response "
                          "size (1 to 1048576)", len);
    /* The same certificate with another staple. A reload racing this one
     * wins or loses whole: the staple goes to the credentials read here. */
    cur = csi_creds_get(srv);
    rc = csi_creds_new(cur->leaf, cur->chain, NULL, 0, cur->key, der, der ? len : 0, &c, err);
    if (rc == CS_OK) {
        pthread_mutex_lock(&srv->lock);
        if (srv->creds == cur) {
            srv->creds = c;
            cur->refs--; /* the server's reference; ours is put below */
            c = NULL;
        }
        pthread_mutex_unlock(&srv->lock);
        if (c)
            rc = cs_err_set(err, CS_EINVAL, "server: set_staple: the credentials were "
                            "reloaded meanwhile; the staple was for the old ones");
    }
    csi_creds_free(c);
    csi_creds_put(srv, cur);
    return rc;
}

cs_code cs_server_set_route(cs_server *srv, const char *path, const char *content_type,
                            const char *body, size_t len, cs_err *err)
{
    route *r;
    route_body *b = NULL, *old;
    char what[128];
    char *type = NULL;
    cs_code rc;

    if (!srv)
        return cs_err_set(err, CS_EINVAL, "server: set_route: no server");
    if (!path)
        return cs_err_set(err, CS_EINVAL, "server: set_route: path: missing");
    r = csi_route_find(srv, path);
    snprintf(what, sizeof what, "set_route %.100s", path);
    if (!r)
        return cs_err_set(err, CS_ENOENT, "server: %s: no such route (routes are fixed at "
                          "start)", what);
    if (!content_type) {
        old = csi_route_body_get(srv, r);
        type = strdup(old->type);
        csi_route_body_put(srv, old);
        if (!type)
            return cs_err_set(err, CS_ENOMEM, "server: out of memory");
        content_type = type;
    }
    rc = csi_route_body_build(what, content_type, r->marker, r->plain ? "" : srv->hsts, body,
                             len, &b, err);
    free(type);
    if (rc != CS_OK)
        return rc;
    pthread_mutex_lock(&srv->lock);
    old = r->body;
    r->body = b;
    pthread_mutex_unlock(&srv->lock);
    csi_route_body_put(srv, old);
    return CS_OK;
}

void cs_server_stop(cs_server *srv)
{
    if (!srv)
        return;
    /* Joins every worker: after this no handler reads routes or the context. */
    if (srv->mg)
        mg_stop(srv->mg);
    csi_guard_free(srv->guard);
    free(srv->www);
    SSL_CTX_free(srv->ssl_ctx);
    csi_creds_free(srv->creds);
    csi_routes_free(srv->routes, srv->routes_len);
    csi_handlers_free(srv->handlers, srv->handlers_len);
    cs_ocsp_responder_free(srv->ocsp);
    if (srv->library_initialized)
        mg_exit_library();
    pthread_mutex_destroy(&srv->lock);
    pthread_mutex_destroy(&srv->log_lock);
    free(srv);
}
