/* The embedded HTTPS server: CivetWeb listening on loopback, with an SSL_CTX
 * built here (TLS 1.2+, ECDHE + AEAD for 1.2, the chain sent after the leaf,
 * client certificates verified when asked for) and a table of in-memory
 * routes prepared before start. */
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <civetweb.h>

#include "internal.h"

/* TLS 1.2 suites: forward secret key exchange and AEAD only. TLS 1.3 suites
 * are all AEAD and keep OpenSSL's defaults. */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static const char security_headers[] =
    "X-Content-Type-Options: nosniff\r\n"
    "Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'\r\n";

/* The same headers for both Connection values (send_response picks). */
#define METHOD_NOT_ALLOWED(connection)                                                      \
    "HTTP/1.1 405 Method Not Allowed\r\n"                                                   \
    "Allow: GET, HEAD\r\n"                                                                  \
    "Content-Length: 0\r\n"                                                                 \
    "X-Content-Type-Options: nosniff\r\n"                                                   \
    "Connection: " connection "\r\n"                                                        \
    "\r\n"

/* Intermediates allowed between a client certificate and its root. */
static const int client_verify_depth = 4;

/* HTML-safe as it is: served without escaping. */
static const char no_client_cert[] = "anonymous (no client certificate)";

/* Out of memory while greeting. "close" is always safe to announce: the
 * client then closes, whatever CivetWeb would have done. */
static const char server_error[] =
    "HTTP/1.1 500 Internal Server Error\r\n"
    "Content-Length: 0\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Connection: close\r\n"
    "\r\n";

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
typedef struct route {
    char *path;
    char *storage; /* one allocation holding both responses */
    response keep_alive;
    response close;
    /* A route greeting the client: keep_alive and close greet an anonymous
     * client (prepared, like any route); a client with a certificate gets
     * greeting, which holds the headers up to "Content-Length: " (head_len
     * bytes) and the body without its marker, filled in by send_greeting at
     * body_pre_len. */
    int greet;
    response greeting;
    size_t body_pre_len;
} route;

static const response method_not_allowed[2] = {
    {METHOD_NOT_ALLOWED("keep-alive"), sizeof METHOD_NOT_ALLOWED("keep-alive") - 1,
     sizeof METHOD_NOT_ALLOWED("keep-alive") - 1},
    {METHOD_NOT_ALLOWED("close"), sizeof METHOD_NOT_ALLOWED("close") - 1,
     sizeof METHOD_NOT_ALLOWED("close") - 1},
};

struct cs_server {
    struct mg_context *mg;
    SSL_CTX *ssl_ctx; /* ours: CivetWeb borrows it (external_ssl_ctx returns 1) */
    route *routes;
    size_t routes_len;
    int port;
    int library_initialized;
    /* CivetWeb's first complaint while starting ("cannot bind to ...: 98
     * (Address already in use)"), more telling than mg_error_data's summary. */
    pthread_mutex_t log_lock;
    int starting;
    char start_log[256];
};

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

/* The entity c stands for in HTML text, or NULL: c is safe as is. */
static const char *html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

/* s HTML-escaped, control characters as '?'; free with free(). */
static char *html_escape(const char *s)
{
    size_t n = strlen(s), used = 0;
    char *out = malloc(6 * n + 1); /* "&quot;" is the longest */

    if (!out)
        return NULL;
    for (; *s; s++) {
        const char *e = html_entity(*s);
        if (e) {
            memcpy(out + used, e, strlen(e));
            used += strlen(e);
        } else {
            out[used++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
        }
    }
    out[used] = '\0';
    return out;
}

/* The client, as the greeting names it: "<subject> (serial <HEX>)" from the
 * certificate the handshake verified, HTML-escaped; free with free(). NULL
 * when out of memory. */
static char *client_greeting(const struct mg_request_info *ri)
{
    const struct mg_client_cert *cc = ri->client_cert;
    cs_cert peer;
    char *subject = NULL, *serial = NULL, *text = NULL, *escaped = NULL;
    size_t cap;

    peer.x509 = cc->peer_cert; /* CivetWeb's reference, valid for the connection */
    subject = cs_name_oneline(X509_get_subject_name(peer.x509));
    serial = cs_cert_serial_hex(&peer);
    if (!subject || !serial)
        goto done;
    cap = strlen(subject) + strlen(serial) + sizeof " (serial )";
    text = malloc(cap);
    if (!text)
        goto done;
    snprintf(text, cap, "%s (serial %s)", subject, serial);
    escaped = html_escape(text);
done:
    free(text);
    free(serial);
    free(subject);
    return escaped;
}

/* A greeting route's response for this connection's client, in one
 * mg_write: r->greeting holds the headers up to "Content-Length: " and the body
 * without its marker; the length, the rest of the headers and the client's
 * name are filled in here. Returns the HTTP status sent. */
static int send_greeting(struct mg_connection *conn, const struct mg_request_info *ri,
                         const route *r, int closing, int head_only)
{
    const response *res = &r->greeting;
    char *who = client_greeting(ri);
    char *out = NULL;
    char tail[512];
    size_t who_len, body_len, head_len, used;
    int n, status = 500;

    if (!who)
        goto done;
    who_len = strlen(who);
    body_len = res->len - res->head_len + who_len;
    n = snprintf(tail, sizeof tail, "%zu\r\n%sConnection: %s\r\n\r\n", body_len,
                 security_headers, closing ? "close" : "keep-alive");
    if (n < 0 || (size_t)n >= sizeof tail)
        goto done;
    head_len = res->head_len + (size_t)n;
    out = malloc(head_len + body_len);
    if (!out)
        goto done;
    memcpy(out, res->bytes, res->head_len);
    used = res->head_len;
    memcpy(out + used, tail, (size_t)n);
    used += (size_t)n;
    memcpy(out + used, res->bytes + res->head_len, r->body_pre_len);
    used += r->body_pre_len;
    memcpy(out + used, who, who_len);
    used += who_len;
    memcpy(out + used, res->bytes + res->head_len + r->body_pre_len,
           res->len - res->head_len - r->body_pre_len);
    mg_write(conn, out, head_only ? head_len : head_len + body_len);
    status = 200;
done:
    if (status != 200)
        mg_write(conn, server_error, sizeof server_error - 1);
    free(out);
    free(who);
    return status;
}

static const route *find_route(const cs_server *srv, const char *path)
{
    size_t i;
    for (i = 0; i < srv->routes_len; i++)
        if (strcmp(srv->routes[i].path, path) == 0)
            return &srv->routes[i];
    return NULL;
}

/* Whether the comma-separated header value lists token (any case). */
static int has_token(const char *value, const char *token)
{
    size_t n = strlen(token);

    while (*value) {
        while (*value == ' ' || *value == '\t' || *value == ',')
            value++;
        if (strncasecmp(value, token, n) == 0) {
            const char *end = value + n;
            while (*end == ' ' || *end == '\t')
                end++;
            if (*end == '\0' || *end == ',')
                return 1;
        }
        while (*value && *value != ',')
            value++;
    }
    return 0;
}

/* What CivetWeb's should_keep_alive decides after the handler returns (with
 * enable_keep_alive=yes): the client's Connection header if it sent one,
 * else keep-alive for HTTP/1.1 only. A request body we do not read makes
 * CivetWeb close too, so such requests are told "close". */
static int keeps_alive(const struct mg_connection *conn, const struct mg_request_info *ri)
{
    const char *connection = mg_get_header(conn, "Connection");

    if (ri->content_length > 0 || mg_get_header(conn, "Transfer-Encoding"))
        return 0;
    if (connection)
        return has_token(connection, "keep-alive");
    return ri->http_version && strcmp(ri->http_version, "1.1") == 0;
}

/* Every answer of ours goes out here, in one mg_write: a GET gets the whole
 * response, a HEAD its headers, any other method a 405. Returns the status. */
static int send_response(struct mg_connection *conn, const struct mg_request_info *ri,
                         const route *r)
{
    int closing = !keeps_alive(conn, ri);
    const response *res = closing ? &r->close : &r->keep_alive;
    int head_only = strcmp(ri->request_method, "HEAD") == 0;

    if (!head_only && strcmp(ri->request_method, "GET") != 0) {
        res = &method_not_allowed[closing];
        mg_write(conn, res->bytes, res->len);
        return 405;
    }
    if (r->greet && ri->client_cert && ri->client_cert->peer_cert)
        return send_greeting(conn, ri, r, closing, head_only);
    mg_write(conn, res->bytes, head_only ? res->head_len : res->len);
    return 200;
}

/* Our routes are public pages held in memory. Without this, CivetWeb looks
 * for a password file on every request, and for a route (which maps to no
 * folder) it stats "/.htpasswd" at the filesystem root. */
static int route_is_public(struct mg_connection *conn, void *cbdata)
{
    (void)conn;
    (void)cbdata;
    return 1;
}

/* Registered on "/", which CivetWeb matches as a prefix of every path: an exact
 * route answers, anything else returns 0 so CivetWeb serves document_root. */
static int route_handler(struct mg_connection *conn, void *cbdata)
{
    const cs_server *srv = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const route *r;

    if (!ri || !ri->local_uri || !ri->request_method)
        return 0;
    r = find_route(srv, ri->local_uri);
    if (!r)
        return 0;
    return send_response(conn, ri, r);
}

static void free_routes(route *routes, size_t n)
{
    size_t i;
    if (!routes)
        return;
    for (i = 0; i < n; i++) {
        free(routes[i].path);
        free(routes[i].storage);
    }
    free(routes);
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* The headers of a 200 for a body of body_len bytes; the length, or -1 if
 * they do not fit in cap. */
static int format_head(char *buf, size_t cap, const char *type, size_t body_len,
                       const char *connection)
{
    int n = snprintf(buf, cap,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     type, body_len, security_headers, connection);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Lay head + body out at *p, the skip bytes after the first pre of the body
 * (a greeting's marker) replaced by insert, and advance *p past them. */
static void fill_response(response *res, char **p, const char *head, size_t head_len,
                          const cs_route *src, size_t pre, size_t skip, const char *insert)
{
    size_t insert_len = insert ? strlen(insert) : 0;
    size_t post = src->body_len - pre - skip;
    char *at = *p;

    memcpy(at, head, head_len);
    at += head_len;
    if (pre > 0)
        memcpy(at, src->body, pre);
    at += pre;
    if (insert_len > 0)
        memcpy(at, insert, insert_len);
    at += insert_len;
    if (post > 0)
        memcpy(at, src->body + pre + skip, post);
    at += post;
    res->bytes = *p;
    res->head_len = head_len;
    res->len = (size_t)(at - *p);
    *p = at;
}

static cs_code build_routes(const cs_server_config *cfg, route **out, cs_err *err)
{
    route *routes = NULL;
    size_t i;
    cs_code rc = CS_OK;

    if (cfg->routes_len == 0) {
        *out = NULL;
        return CS_OK;
    }
    routes = calloc(cfg->routes_len, sizeof *routes);
    if (!routes)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory copying routes");
    for (i = 0; i < cfg->routes_len; i++) {
        const cs_route *src = &cfg->routes[i];
        const char *type = src->content_type ? src->content_type : "application/octet-stream";
        const char *marker = src->client_marker;
        size_t pre = src->body_len, skip = 0; /* the body around the marker */
        size_t body_len = src->body_len; /* as served to an anonymous client */
        char head[3][1024];
        int n[3] = {0, 0, 0};
        char *p;

        if (!src->path || src->path[0] != '/' || has_ctl(src->path)) {
            rc = cs_err_set(err, CS_EINVAL, "server: routes[%zu].path: must start with '/'",
                            i + 1);
            goto done;
        }
        if (has_ctl(type)) {
            rc = cs_err_set(err, CS_EINVAL,
                            "server: routes[%zu].content_type: control characters", i + 1);
            goto done;
        }
        if (!src->body && src->body_len > 0) {
            rc = cs_err_set(err, CS_EINVAL, "server: routes[%zu].body: NULL with a length",
                            i + 1);
            goto done;
        }
        if (marker) {
            const char *at = NULL;
            if (!*marker) {
                rc = cs_err_set(err, CS_EINVAL, "server: routes[%zu].client_marker: empty",
                                i + 1);
                goto done;
            }
            skip = strlen(marker);
            for (pre = 0; src->body_len >= skip && pre <= src->body_len - skip; pre++) {
                if (memcmp(src->body + pre, marker, skip) == 0) {
                    at = src->body + pre;
                    break;
                }
            }
            if (!at) {
                rc = cs_err_set(err, CS_EINVAL,
                                "server: routes[%zu].client_marker: '%s' is not in the body",
                                i + 1, marker);
                goto done;
            }
            body_len = src->body_len - skip + strlen(no_client_cert);
            n[2] = snprintf(head[2], sizeof head[2],
                            "HTTP/1.1 200 OK\r\n"
                            "Content-Type: %s\r\n"
                            "Content-Length: ",
                            type);
            if (n[2] >= (int)sizeof head[2])
                n[2] = -1;
        }
        n[0] = format_head(head[0], sizeof head[0], type, body_len, "keep-alive");
        n[1] = format_head(head[1], sizeof head[1], type, body_len, "close");
        if (n[0] < 0 || n[1] < 0 || n[2] < 0) {
            rc = cs_err_set(err, CS_EINVAL, "server: routes[%zu].content_type: too long",
                            i + 1);
            goto done;
        }
        routes[i].path = strdup(src->path);
        routes[i].storage = malloc((size_t)n[0] + (size_t)n[1] + (size_t)n[2] + 2 * body_len +
                                   src->body_len + 1);
        if (!routes[i].path || !routes[i].storage) {
            rc = cs_err_set(err, CS_ENOMEM, "server: out of memory copying routes");
            goto done;
        }
        p = routes[i].storage;
        fill_response(&routes[i].keep_alive, &p, head[0], (size_t)n[0], src, pre, skip,
                      marker ? no_client_cert : NULL);
        fill_response(&routes[i].close, &p, head[1], (size_t)n[1], src, pre, skip,
                      marker ? no_client_cert : NULL);
        if (marker) {
            fill_response(&routes[i].greeting, &p, head[2], (size_t)n[2], src, pre, skip, NULL);
            routes[i].greet = 1;
            routes[i].body_pre_len = pre;
        }
    }
    *out = routes;
    routes = NULL;
done:
    free_routes(routes, cfg->routes_len);
    return rc;
}

/* Client certificates: verified against a store of client_ca only (the
 * server's own trust has nothing to do with it), X.509-strict, for TLS client
 * use, and the handshake fails on any verification error (no callback that
 * could wave one through). */
static cs_code set_client_auth(const cs_server_config *cfg, SSL_CTX *ctx, cs_err *err)
{
    X509_STORE *store = NULL;
    X509_VERIFY_PARAM *param;
    int mode;
    size_t i;
    cs_code rc = CS_OK;

    if (cfg->client_auth == CS_CLIENT_AUTH_NONE) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return CS_OK;
    }
    store = X509_STORE_new();
    if (!store) {
        rc = cs_err_ossl(err, CS_ENOMEM, "server: cannot create the client CA store");
        goto done;
    }
    for (i = 0; i < cfg->client_ca_len; i++) {
        X509 *ca = cfg->client_ca[i]->x509;
        if (!X509_STORE_add_cert(store, ca) || !SSL_CTX_add_client_CA(ctx, ca)) {
            rc = cs_err_ossl(err, CS_ESERVER, "server: cannot add client_ca[%zu]", i + 1);
            goto done;
        }
    }
    X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
    if (!SSL_CTX_set1_verify_cert_store(ctx, store)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the client CA store");
        goto done;
    }
    param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (!SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the client purpose");
        goto done;
    }
    SSL_CTX_set_verify_depth(ctx, client_verify_depth);
    mode = SSL_VERIFY_PEER;
    if (cfg->client_auth == CS_CLIENT_AUTH_REQUIRE)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
done:
    X509_STORE_free(store); /* the context holds its own reference */
    return rc;
}

/* Resumption on: a bounded server-side cache for TLS 1.2 session IDs (the
 * id context is what OpenSSL requires before it resumes a session that
 * verified a client certificate) and OpenSSL's default stateless TLS 1.3
 * tickets. Off: nothing cached, no tickets issued, and none accepted. */
static cs_code set_resumption(const cs_server_config *cfg, SSL_CTX *ctx, cs_err *err)
{
    static const unsigned char sid_ctx[] = "chainsmith";

    if (cfg->no_resumption) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        if (!SSL_CTX_set_num_tickets(ctx, 0))
            return cs_err_ossl(err, CS_ESERVER, "server: cannot turn session tickets off");
        return CS_OK;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, 1024); /* bounds RSS; OpenSSL's default is 20480 */
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1))
        return cs_err_ossl(err, CS_ESERVER, "server: cannot set the session id context");
    return CS_OK;
}

static cs_code build_ssl_ctx(const cs_server_config *cfg, SSL_CTX **out, cs_err *err)
{
    SSL_CTX *ctx = NULL;
    size_t i;
    cs_code rc = CS_OK;

    ctx = SSL_CTX_new_ex(NULL, NULL, TLS_server_method());
    if (!ctx) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot create the TLS context");
        goto done;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot require TLS 1.2");
        goto done;
    }
    if (!SSL_CTX_set_cipher_list(ctx, tls12_ciphers)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the TLS 1.2 cipher list");
        goto done;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    rc = set_resumption(cfg, ctx, err);
    if (rc != CS_OK)
        goto done;
    /* X25519 first: the cheapest key exchange, also for TLS 1.2 clients that
     * list a NIST curve first (the server's order wins). */
    if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384")) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the key exchange groups");
        goto done;
    }
    /* No SSL_MODE_RELEASE_BUFFERS: it saved about 6 kB per idle keep-alive
     * connection but cost 6% more instructions per request (a malloc and
     * free of the record buffers each time); see bench/README.md. */
    if (!SSL_CTX_use_certificate(ctx, cfg->leaf->x509)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot use the leaf certificate");
        goto done;
    }
    for (i = 0; i < cfg->chain_len; i++) {
        if (!SSL_CTX_add1_chain_cert(ctx, cfg->chain[i]->x509)) {
            rc = cs_err_ossl(err, CS_ESERVER, "server: cannot add chain[%zu]", i + 1);
            goto done;
        }
    }
    if (!SSL_CTX_use_PrivateKey(ctx, cfg->key->pkey)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot use the private key");
        goto done;
    }
    if (!SSL_CTX_check_private_key(ctx)) {
        rc = cs_err_ossl(err, CS_EMISMATCH,
                         "server: the key does not match the certificate");
        goto done;
    }
    rc = set_client_auth(cfg, ctx, err);
    if (rc != CS_OK)
        goto done;
    *out = ctx;
    ctx = NULL;
done:
    SSL_CTX_free(ctx);
    return rc;
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
    return check_client_auth(cfg, err);
}

/* "127.0.0.1:8443s,[::1]:8443s" */
static char *listening_ports(const cs_server_config *cfg)
{
    size_t i, cap = cfg->hosts_len * 80 + 1, used = 0;
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
    }
    return s;
}

/* "/root.pem" becomes the pattern "/root.pem$": exactly that path, which
 * route_handler answers whatever the method. A path with pattern characters
 * keeps CivetWeb's default check. */
static cs_code mark_routes_public(cs_server *srv, cs_err *err)
{
    size_t i;

    for (i = 0; i < srv->routes_len; i++) {
        const char *path = srv->routes[i].path;
        size_t n = strlen(path);
        char *pattern;

        if (strpbrk(path, "?*|$"))
            continue;
        pattern = malloc(n + 2);
        if (!pattern)
            return cs_err_set(err, CS_ENOMEM, "server: out of memory");
        memcpy(pattern, path, n);
        memcpy(pattern + n, "$", 2);
        mg_set_auth_handler(srv->mg, pattern, route_is_public, NULL); /* copies it */
        free(pattern);
    }
    return CS_OK;
}

cs_code cs_server_start(const cs_server_config *cfg, cs_server **out, cs_err *err)
{
    cs_server *srv = NULL;
    char *ports = NULL;
    char threads[16];
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
    rc = build_routes(cfg, &srv->routes, err);
    if (rc != CS_OK)
        goto done;
    srv->routes_len = cfg->routes_len;
    rc = build_ssl_ctx(cfg, &srv->ssl_ctx, err);
    if (rc != CS_OK)
        goto done;
    ports = listening_ports(cfg);
    if (!ports) {
        rc = cs_err_set(err, CS_ENOMEM, "server: out of memory");
        goto done;
    }
    snprintf(threads, sizeof threads, "%d", cfg->threads > 0 ? cfg->threads : 32);

    options[n++] = "listening_ports";
    options[n++] = ports;
    if (cfg->document_root) {
        options[n++] = "document_root";
        options[n++] = cfg->document_root;
    }
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
    options[n++] = "request_timeout_ms";
    options[n++] = "10000";
    options[n++] = "additional_header";
    options[n++] = "X-Content-Type-Options: nosniff";
    options[n++] = NULL;

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.external_ssl_ctx = external_ssl_ctx;
    callbacks.log_message = log_message;
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
        if (srv->start_log[0])
            rc = cs_err_set(err, CS_ESERVER, "server: cannot listen on %s: %s (%s)", ports,
                            why, srv->start_log);
        else
            rc = cs_err_set(err, CS_ESERVER, "server: cannot listen on %s: %s", ports, why);
        goto done;
    }
    mg_set_request_handler(srv->mg, "/", route_handler, srv);
    rc = mark_routes_public(srv, err);
    if (rc != CS_OK)
        goto done;

    nports = mg_get_server_ports(srv->mg, (int)(sizeof bound / sizeof bound[0]), bound);
    srv->port = nports > 0 ? bound[0].port : cfg->port;

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

void cs_server_stop(cs_server *srv)
{
    if (!srv)
        return;
    /* Joins every worker: after this no handler reads routes or the context. */
    if (srv->mg)
        mg_stop(srv->mg);
    SSL_CTX_free(srv->ssl_ctx);
    free_routes(srv->routes, srv->routes_len);
    if (srv->library_initialized)
        mg_exit_library();
    pthread_mutex_destroy(&srv->log_lock);
    free(srv);
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

int cs_wait_for_stop_signal(int timeout_ms)
{
    struct sigaction sa, old_int, old_term;
    struct timespec start, now, nap = {0, 10 * 1000 * 1000};
    int sig;

    stop_signal = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    clock_gettime(CLOCK_MONOTONIC, &start);

    while (!stop_signal) {
        if (timeout_ms > 0) {
            long long elapsed;
            clock_gettime(CLOCK_MONOTONIC, &now);
            elapsed = (long long)(now.tv_sec - start.tv_sec) * 1000 +
                      (now.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed >= timeout_ms)
                break;
        }
        nanosleep(&nap, NULL); /* EINTR on the signal: the loop re-checks */
    }
    sig = stop_signal;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    stop_signal = 0;
    return sig;
}
