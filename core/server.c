/* The embedded HTTPS server: CivetWeb listening on loopback, with an SSL_CTX
 * built in server_tls.c (TLS 1.2+, ECDHE + AEAD for 1.2, the chain sent after the leaf,
 * client certificates verified when asked for), a table of in-memory routes
 * prepared before start, handlers for prefixes (OCSP), and an optional
 * plain-HTTP listener for what is signed anyway (CRLs, OCSP).
 *
 * Hot reload: the credentials (leaf, chain, key, staple) are an immutable,
 * reference-counted object; a certificate callback installs the current one
 * on each new handshake, and a reload swaps the pointer under srv->lock.
 * Route bodies are swapped the same way. */
#include "server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <civetweb.h>

#include "internal.h"
#include "server_internal.h"

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

static const response method_not_allowed[2] = {
    {METHOD_NOT_ALLOWED("keep-alive"), sizeof METHOD_NOT_ALLOWED("keep-alive") - 1,
     sizeof METHOD_NOT_ALLOWED("keep-alive") - 1},
    {METHOD_NOT_ALLOWED("close"), sizeof METHOD_NOT_ALLOWED("close") - 1,
     sizeof METHOD_NOT_ALLOWED("close") - 1},
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
                         const route_body *r, int closing, int head_only)
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

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
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
                         const route_body *r)
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

static void body_free(route_body *b)
{
    if (!b)
        return;
    free(b->type);
    free(b->storage);
    free(b);
}

/* The route's current body, with a reference the caller gives back with
 * body_put: a cs_server_set_route meanwhile frees nothing this request reads. */
static route_body *body_get(cs_server *srv, const route *r)
{
    route_body *b;

    pthread_mutex_lock(&srv->lock);
    b = r->body;
    b->refs++;
    pthread_mutex_unlock(&srv->lock);
    return b;
}

static void body_put(cs_server *srv, route_body *b)
{
    int last;

    pthread_mutex_lock(&srv->lock);
    last = --b->refs == 0;
    pthread_mutex_unlock(&srv->lock);
    if (last)
        body_free(b);
}

/* A short answer of our own (404, 413, 500): status line, a text body. */
static int send_plain_status(struct mg_connection *conn, const struct mg_request_info *ri,
                             int status, const char *text, int closing)
{
    char out[512];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Connection: %s\r\n"
                     "\r\n",
                     status, mg_get_response_code_text(conn, status), strlen(text),
                     closing ? "close" : "keep-alive");

    if (n < 0 || (size_t)n >= sizeof out)
        return 500;
    mg_write(conn, out, (size_t)n);
    if (strcmp(ri->request_method, "HEAD") != 0)
        mg_write(conn, text, strlen(text));
    return status;
}

static const handler *find_handler(const cs_server *srv, const char *path)
{
    size_t i;
    for (i = 0; i < srv->handlers_len; i++) {
        const handler *h = &srv->handlers[i];
        if (strncmp(path, h->prefix, h->prefix_len) == 0 &&
            (path[h->prefix_len] == '\0' || path[h->prefix_len] == '/' ||
             h->prefix[h->prefix_len - 1] == '/'))
            return h;
    }
    return NULL;
}

/* Read the whole request body into *out (NULL when there is none), at most
 * CS_HANDLER_MAX_BODY bytes: 0, or 413 when it is larger, or 500. */
static int read_body(struct mg_connection *conn, const struct mg_request_info *ri,
                     unsigned char **out, size_t *len)
{
    unsigned char *buf;
    size_t used = 0;
    int n;

    *out = NULL;
    *len = 0;
    if (ri->content_length > CS_HANDLER_MAX_BODY)
        return 413;
    if (ri->content_length == 0 ||
        (ri->content_length < 0 && !mg_get_header(conn, "Transfer-Encoding")))
        return 0;
    buf = malloc(CS_HANDLER_MAX_BODY + 1);
    if (!buf)
        return 500;
    /* one byte more than allowed: a chunked body that has it is too large */
    while (used <= CS_HANDLER_MAX_BODY) {
        n = mg_read(conn, buf + used, CS_HANDLER_MAX_BODY + 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    if (used > CS_HANDLER_MAX_BODY) {
        free(buf);
        return 413;
    }
    *out = buf;
    *len = used;
    return 0;
}

/* A handler's request: read the body, call it, send what it answered. */
static int call_handler(struct mg_connection *conn, const struct mg_request_info *ri,
                        const handler *h)
{
    cs_http_reply reply = {500, NULL, NULL, 0};
    unsigned char *body = NULL;
    size_t body_len = 0;
    const char *path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    const char *type;
    char head[1024];
    int closing = !keeps_alive(conn, ri), status, n;

    status = read_body(conn, ri, &body, &body_len);
    if (status == 413)
        return send_plain_status(conn, ri, 413, "request body too large\n", 1);
    if (status != 0)
        return send_plain_status(conn, ri, 500, "out of memory\n", 1);
    h->fn(h->ctx, ri->request_method, path, body, body_len, &reply);
    free(body);
    status = reply.status >= 200 && reply.status <= 599 ? reply.status : 500;
    type = reply.content_type && !has_ctl(reply.content_type) && strlen(reply.content_type) < 200
               ? reply.content_type
               : "application/octet-stream";
    if (!reply.body)
        reply.body_len = 0;
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "%s"
                 "Connection: %s\r\n"
                 "\r\n",
                 status, mg_get_response_code_text(conn, status), type, reply.body_len,
                 security_headers, closing ? "close" : "keep-alive");
    if (n > 0 && (size_t)n < sizeof head) {
        mg_write(conn, head, (size_t)n);
        if (reply.body_len > 0 && strcmp(ri->request_method, "HEAD") != 0)
            mg_write(conn, reply.body, reply.body_len);
    } else {
        mg_write(conn, server_error, sizeof server_error - 1);
        status = 500;
    }
    free(reply.body);
    return status;
}

/* Registered on "/", which CivetWeb matches as a prefix of every path: an exact
 * route answers, then a handler; anything else returns 0 so CivetWeb serves
 * document_root, except on the plain listener, which serves only what is
 * marked plain and answers 404 to the rest. */
static int route_handler(struct mg_connection *conn, void *cbdata)
{
    cs_server *srv = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const route *r;
    const handler *h;
    int plain, status;

    if (!ri || !ri->local_uri || !ri->request_method)
        return 0;
    plain = !ri->is_ssl;
    r = find_route(srv, ri->local_uri);
    if (r && (r->plain || !plain)) {
        route_body *b = body_get(srv, r);
        status = send_response(conn, ri, b);
        body_put(srv, b);
        return status;
    }
    h = r ? NULL : find_handler(srv, ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri);
    if (h && (h->plain || !plain))
        return call_handler(conn, ri, h);
    if (plain)
        return send_plain_status(conn, ri, 404, "not served over http; use https\n",
                                 !keeps_alive(conn, ri));
    return 0;
}

static void free_routes(route *routes, size_t n)
{
    size_t i;
    if (!routes)
        return;
    for (i = 0; i < n; i++) {
        free(routes[i].path);
        free(routes[i].marker);
        body_free(routes[i].body);
    }
    free(routes);
}

static void free_handlers(handler *handlers, size_t n)
{
    size_t i;
    if (!handlers)
        return;
    for (i = 0; i < n; i++)
        free(handlers[i].prefix);
    free(handlers);
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
                          const char *body, size_t body_len, size_t pre, size_t skip,
                          const char *insert)
{
    size_t insert_len = insert ? strlen(insert) : 0;
    size_t post = body_len - pre - skip;
    char *at = *p;

    memcpy(at, head, head_len);
    at += head_len;
    if (pre > 0)
        memcpy(at, body, pre);
    at += pre;
    if (insert_len > 0)
        memcpy(at, insert, insert_len);
    at += insert_len;
    if (post > 0)
        memcpy(at, body + pre + skip, post);
    at += post;
    res->bytes = *p;
    res->head_len = head_len;
    res->len = (size_t)(at - *p);
    *p = at;
}

/* The prepared responses for one body of a route (what names it in
 * messages: "routes[2]", "set_route /crl.pem"). */
static cs_code build_body(const char *what, const char *type, const char *marker,
                          const char *src, size_t src_len, route_body **out, cs_err *err)
{
    route_body *b = NULL;
    size_t pre = src_len, skip = 0; /* the body around the marker */
    size_t body_len = src_len;      /* as served to an anonymous client */
    char head[3][1024];
    int n[3] = {0, 0, 0};
    char *p;
    cs_code rc = CS_OK;

    if (has_ctl(type))
        return cs_err_set(err, CS_EINVAL, "server: %s.content_type: control characters", what);
    if (!src && src_len > 0)
        return cs_err_set(err, CS_EINVAL, "server: %s.body: NULL with a length", what);
    if (marker) {
        const char *at = NULL;
        if (!*marker)
            return cs_err_set(err, CS_EINVAL, "server: %s.client_marker: empty", what);
        skip = strlen(marker);
        for (pre = 0; src_len >= skip && pre <= src_len - skip; pre++) {
            if (memcmp(src + pre, marker, skip) == 0) {
                at = src + pre;
                break;
            }
        }
        if (!at)
            return cs_err_set(err, CS_EINVAL,
                              "server: %s.client_marker: '%s' is not in the body", what, marker);
        body_len = src_len - skip + strlen(no_client_cert);
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
    if (n[0] < 0 || n[1] < 0 || n[2] < 0)
        return cs_err_set(err, CS_EINVAL, "server: %s.content_type: too long", what);
    b = calloc(1, sizeof *b);
    if (!b)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory copying %s", what);
    b->refs = 1;
    b->type = strdup(type);
    b->storage = malloc((size_t)n[0] + (size_t)n[1] + (size_t)n[2] + 2 * body_len + src_len + 1);
    if (!b->type || !b->storage) {
        rc = cs_err_set(err, CS_ENOMEM, "server: out of memory copying %s", what);
        goto done;
    }
    p = b->storage;
    fill_response(&b->keep_alive, &p, head[0], (size_t)n[0], src, src_len, pre, skip,
                  marker ? no_client_cert : NULL);
    fill_response(&b->close, &p, head[1], (size_t)n[1], src, src_len, pre, skip,
                  marker ? no_client_cert : NULL);
    if (marker) {
        fill_response(&b->greeting, &p, head[2], (size_t)n[2], src, src_len, pre, skip, NULL);
        b->greet = 1;
        b->body_pre_len = pre;
    }
    *out = b;
    b = NULL;
done:
    body_free(b);
    return rc;
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
        char what[32];

        snprintf(what, sizeof what, "routes[%zu]", i + 1);
        if (!src->path || src->path[0] != '/' || has_ctl(src->path)) {
            rc = cs_err_set(err, CS_EINVAL, "server: %s.path: must start with '/'", what);
            goto done;
        }
        rc = build_body(what, type, src->client_marker, src->body, src->body_len,
                        &routes[i].body, err);
        if (rc != CS_OK)
            goto done;
        routes[i].path = strdup(src->path);
        routes[i].marker = src->client_marker ? strdup(src->client_marker) : NULL;
        routes[i].plain = src->plain != 0;
        if (!routes[i].path || (src->client_marker && !routes[i].marker)) {
            rc = cs_err_set(err, CS_ENOMEM, "server: out of memory copying routes");
            goto done;
        }
    }
    *out = routes;
    routes = NULL;
done:
    free_routes(routes, cfg->routes_len);
    return rc;
}

static cs_code build_handlers(const cs_server_config *cfg, handler **out, cs_err *err)
{
    handler *handlers = NULL;
    size_t i;
    cs_code rc = CS_OK;

    *out = NULL;
    if (cfg->handlers_len == 0)
        return CS_OK;
    if (!cfg->handlers)
        return cs_err_set(err, CS_EINVAL, "server: handlers: NULL with a length");
    handlers = calloc(cfg->handlers_len, sizeof *handlers);
    if (!handlers)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory copying handlers");
    for (i = 0; i < cfg->handlers_len; i++) {
        const cs_handler *src = &cfg->handlers[i];
        if (!src->prefix || src->prefix[0] != '/' || has_ctl(src->prefix) ||
            strpbrk(src->prefix, "?*|$")) {
            rc = cs_err_set(err, CS_EINVAL,
                            "server: handlers[%zu].prefix: must start with '/', no ?*|$",
                            i + 1);
            goto done;
        }
        if (!src->fn) {
            rc = cs_err_set(err, CS_EINVAL, "server: handlers[%zu].fn: missing", i + 1);
            goto done;
        }
        handlers[i].prefix = strdup(src->prefix);
        if (!handlers[i].prefix) {
            rc = cs_err_set(err, CS_ENOMEM, "server: out of memory copying handlers");
            goto done;
        }
        handlers[i].prefix_len = strlen(src->prefix);
        handlers[i].fn = src->fn;
        handlers[i].ctx = src->ctx;
        handlers[i].plain = src->plain != 0;
    }
    *out = handlers;
    handlers = NULL;
done:
    free_handlers(handlers, cfg->handlers_len);
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
    /* a handler's prefix, as CivetWeb matches it: itself and what is under it */
    for (i = 0; i < srv->handlers_len; i++)
        mg_set_auth_handler(srv->mg, srv->handlers[i].prefix, route_is_public, NULL);
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
    pthread_mutex_init(&srv->lock, NULL);
    srv->http_port = -1;
    rc = build_routes(cfg, &srv->routes, err);
    if (rc != CS_OK)
        goto done;
    srv->routes_len = cfg->routes_len;
    rc = build_handlers(cfg, &srv->handlers, err);
    if (rc != CS_OK)
        goto done;
    srv->handlers_len = cfg->handlers_len;
    rc = cs_creds_new(cfg->leaf->x509, NULL, (const X509 *const *)NULL, 0, cfg->key->pkey, NULL, 0,
                      &srv->creds, err);
    for (size_t i = 0; rc == CS_OK && i < cfg->chain_len; i++) {
        X509_up_ref(cfg->chain[i]->x509);
        if (!sk_X509_push(srv->creds->chain, cfg->chain[i]->x509)) {
            X509_free(cfg->chain[i]->x509);
            rc = cs_err_set(err, CS_ENOMEM, "server: out of memory");
        }
    }
    if (rc != CS_OK)
        goto done;
    rc = cs_tls_ctx_build(cfg, srv, &srv->ssl_ctx, err);
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
    X509 **certs = NULL;
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
    certs = chain_len > 0 ? calloc(chain_len, sizeof *certs) : NULL;
    if (chain_len > 0 && !certs)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory");
    for (i = 0; i < chain_len; i++)
        certs[i] = chain[i]->x509;
    rc = cs_creds_new(leaf->x509, NULL, (const X509 *const *)certs, chain_len, key->pkey, NULL, 0,
                      &c, err);
    free(certs);
    if (rc != CS_OK)
        return rc;
    cs_creds_swap(srv, c, 1);
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
    cur = cs_creds_get(srv, NULL);
    rc = cs_creds_new(cur->leaf, cur->chain, NULL, 0, cur->key, der, der ? len : 0, &c, err);
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
    cs_creds_free(c);
    cs_creds_put(srv, cur);
    return rc;
}

cs_code cs_server_set_route(cs_server *srv, const char *path, const char *content_type,
                            const char *body, size_t len, cs_err *err)
{
    route *r = NULL;
    route_body *b = NULL, *old;
    char what[128];
    char *type = NULL;
    size_t i;
    cs_code rc;

    if (!srv)
        return cs_err_set(err, CS_EINVAL, "server: set_route: no server");
    if (!path)
        return cs_err_set(err, CS_EINVAL, "server: set_route: path: missing");
    for (i = 0; i < srv->routes_len; i++)
        if (strcmp(srv->routes[i].path, path) == 0)
            r = &srv->routes[i];
    snprintf(what, sizeof what, "set_route %.100s", path);
    if (!r)
        return cs_err_set(err, CS_ENOENT, "server: %s: no such route (routes are fixed at "
                          "start)", what);
    if (!content_type) {
        old = body_get(srv, r);
        type = strdup(old->type);
        body_put(srv, old);
        if (!type)
            return cs_err_set(err, CS_ENOMEM, "server: out of memory");
        content_type = type;
    }
    rc = build_body(what, content_type, r->marker, body, len, &b, err);
    free(type);
    if (rc != CS_OK)
        return rc;
    pthread_mutex_lock(&srv->lock);
    old = r->body;
    r->body = b;
    pthread_mutex_unlock(&srv->lock);
    body_put(srv, old);
    return CS_OK;
}

void cs_server_stop(cs_server *srv)
{
    if (!srv)
        return;
    /* Joins every worker: after this no handler reads routes or the context. */
    if (srv->mg)
        mg_stop(srv->mg);
    SSL_CTX_free(srv->ssl_ctx);
    cs_creds_free(srv->creds);
    free_routes(srv->routes, srv->routes_len);
    free_handlers(srv->handlers, srv->handlers_len);
    if (srv->library_initialized)
        mg_exit_library();
    pthread_mutex_destroy(&srv->lock);
    pthread_mutex_destroy(&srv->log_lock);
    free(srv);
}
