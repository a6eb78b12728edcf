/* The HTTP side of the embedded server: one request handler on "/" that
 * answers every path. In-memory routes are prepared before start (the whole
 * response, twice: keep-alive and close), a route may greet the client by
 * its verified certificate, handlers answer prefixes (OCSP: cs_ocsp_handler
 * for cs_server_config.ocsp) with the request
 * body read up to CS_HANDLER_MAX_BODY, and the plain-HTTP listener serves
 * only what is marked plain (signed anyway: CRLs, OCSP), and a client whose
 * certificate was revoked gets 403 from the next request on. Route bodies are
 * reference-counted under srv->lock, so set_route can swap one while a
 * request still sends the old. */
/* realpath is XSI */
#define _XOPEN_SOURCE 700

#include "server_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>

#include <civetweb.h>

#include "internal.h"
#include "ocsp.h"

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
    subject = csi_name_oneline(X509_get_subject_name(peer.x509));
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
                         const route_body *r, const char *hsts, int closing, int head_only)
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
    n = snprintf(tail, sizeof tail, "%zu\r\n%s%sConnection: %s\r\n\r\n", body_len,
                 security_headers, hsts, closing ? "close" : "keep-alive");
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

route *csi_route_find(const cs_server *srv, const char *path)
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
 * enable_keep_alive=yes), as far as the client has a say: its Connection
 * header if it sent one, else keep-alive for HTTP/1.1 only. */
static int client_keeps_alive(const struct mg_connection *conn,
                              const struct mg_request_info *ri)
{
    const char *connection = mg_get_header(conn, "Connection");

    if (connection)
        return has_token(connection, "keep-alive");
    return ri->http_version && strcmp(ri->http_version, "1.1") == 0;
}

/* The same for a route: a request body we do not read makes CivetWeb close
 * too, so such requests are told "close". */
static int keeps_alive(const struct mg_connection *conn, const struct mg_request_info *ri)
{
    if (ri->content_length > 0 || mg_get_header(conn, "Transfer-Encoding"))
        return 0;
    return client_keeps_alive(conn, ri);
}

/* Every answer of ours goes out here, in one mg_write: a GET gets the whole
 * response, a HEAD its headers, any other method a 405. Returns the status. */
static int send_response(const cs_server *srv, struct mg_connection *conn,
                         const struct mg_request_info *ri, const route_body *r)
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
        return send_greeting(conn, ri, r, srv->hsts, closing, head_only);
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
 * csi_route_body_put: a cs_server_set_route meanwhile frees nothing this request reads. */
route_body *csi_route_body_get(cs_server *srv, const route *r)
{
    route_body *b;

    pthread_mutex_lock(&srv->lock);
    b = r->body;
    b->refs++;
    pthread_mutex_unlock(&srv->lock);
    return b;
}

void csi_route_body_put(cs_server *srv, route_body *b)
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
 * max bytes, before the deadline csi_guard_body_ms gives from now: 0, or 413
 * when it is larger, 408 when it is late or cut short, or 500. One byte per
 * mg_read: CivetWeb's read of n bytes returns only when all n came or the
 * line went quiet for a whole request_timeout_ms, so a client trickling a
 * byte a second could stretch a larger read without end; a one-byte read
 * lasts at most that timeout, and the deadline is checked between them.
 * Bytes already received are copied from CivetWeb's buffer or OpenSSL's
 * record, without a system call. For any route that reads a body. */
int csi_http_read_body(struct mg_connection *conn, const struct mg_request_info *ri,
                      size_t max, unsigned char **out, size_t *len)
{
    unsigned char *buf;
    size_t cap;
    size_t used = 0;
    int chunked = mg_get_header(conn, "Transfer-Encoding") != NULL;
    struct timespec now;
    long long deadline;
    int n, status = 0;

    *out = NULL;
    *len = 0;
    if (ri->content_length > (long long)max)
        return 413;
    if (ri->content_length == 0 || (ri->content_length < 0 && !chunked))
        return 0;
    /* a known length needs no more room than itself (an OCSP request is
     * about 100 bytes); chunked, the most allowed plus one */
    cap = ri->content_length > 0 ? (size_t)ri->content_length : max + 1;
    buf = malloc(cap);
    if (!buf)
        return 500;
    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 +
               csi_guard_body_ms(ri->content_length);
    /* one byte more than allowed: a chunked body that has it is too large */
    while (used < cap) {
        n = mg_read(conn, buf + used, 1);
        if (n <= 0)
            break;
        used += (size_t)n;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 > deadline && used < cap) {
            status = 408;
            break;
        }
    }
    if (status == 0 && used > max)
        status = 413;
    /* a declared length that did not come whole: the client went away or
     * the line stayed quiet past request_timeout_ms */
    if (status == 0 && ri->content_length > 0 && used < cap)
        status = 408;
    if (status != 0) {
        free(buf);
        return status;
    }
    *out = buf;
    *len = used;
    return 0;
}

/* Whether c may start or continue an HTTP token (RFC 9110 5.6.2). */
static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The headers the server writes itself, which a reply may not repeat. */
static int is_server_header(const char *name, size_t len)
{
    static const char *const ours[] = {"Content-Type", "Content-Length", "Connection",
                                       "Transfer-Encoding"};
    size_t i;

    for (i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strlen(ours[i]) == len && strncasecmp(ours[i], name, len) == 0)
            return 1;
    return 0;
}

cs_code cs_http_reply_header(cs_http_reply *out, const char *name, const char *value,
                             cs_err *err)
{
    size_t name_len, value_len, old_len;
    const char *p;
    char *grown;

    if (!out || !name || !value)
        return cs_err_set(err, CS_EINVAL, "server: reply header: NULL argument");
    name_len = strlen(name);
    value_len = strlen(value);
    for (p = name; *p; p++)
        if (!is_tchar(*p))
            break;
    if (name_len == 0 || *p || is_server_header(name, name_len))
        return cs_err_set(err, CS_EINVAL, "server: reply header '%.40s': not a name a handler "
                          "may send", name);
    for (p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return cs_err_set(err, CS_EINVAL, "server: reply header %s: control character in "
                              "the value", name);
    old_len = out->headers ? strlen(out->headers) : 0;
    grown = realloc(out->headers, old_len + name_len + value_len + 5);
    if (!grown)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory adding header %s", name);
    memcpy(grown + old_len, name, name_len);
    memcpy(grown + old_len + name_len, ": ", 2);
    memcpy(grown + old_len + name_len + 2, value, value_len);
    memcpy(grown + old_len + name_len + 2 + value_len, "\r\n", 3);
    out->headers = grown;
    return CS_OK;
}

/* Whether headers (a reply's, NULL for none) is lines of "Name: value\r\n"
 * as cs_http_reply_header writes them: a handler that filled it by hand
 * must not split the response. */
static int headers_ok(const char *headers)
{
    const char *p = headers, *colon;

    if (!p)
        return 1;
    while (*p) {
        colon = p;
        while (is_tchar(*colon))
            colon++;
        if (colon == p || colon[0] != ':' || colon[1] != ' ' ||
            is_server_header(p, (size_t)(colon - p)))
            return 0;
        for (p = colon + 2; *p && *p != '\r'; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return 0;
        if (p[0] != '\r' || p[1] != '\n')
            return 0;
        p += 2;
    }
    return 1;
}

/* A body too large to take, read and dropped when it says how long it is
 * (up to CS_HANDLER_DRAIN_MAX bytes, within CS_SERVER_BODY_MS): the reply
 * then reaches the client. Closing on unread bytes makes the kernel send a
 * reset, which can throw the reply away before the client reads it. */
#define CS_HANDLER_DRAIN_MAX (16 * 1024 * 1024)
static void drain_body(struct mg_connection *conn, const struct mg_request_info *ri)
{
    char buf[16384];
    long long left = ri->content_length;
    struct timespec now;
    long long deadline;
    int n;

    if (left <= 0 || left > CS_HANDLER_DRAIN_MAX || mg_get_header(conn, "Transfer-Encoding"))
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + CS_SERVER_BODY_MS;
    while (left > 0) {
        n = mg_read(conn, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf);
        if (n <= 0)
            return;
        left -= n;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 > deadline)
            return;
    }
}

/* Call a request-style handler (cs_request_fn): the request as it came. */
static void serve_request(const handler *h, struct mg_connection *conn,
                          const struct mg_request_info *ri, const char *path,
                          const unsigned char *body, size_t body_len, int too_large,
                          cs_http_reply *reply)
{
    cs_http_request req;
    cs_cert peer;

    memset(&req, 0, sizeof req);
    req.method = ri->request_method;
    req.path = path;
    req.query = ri->query_string;
    req.content_type = mg_get_header(conn, "Content-Type");
    req.authorization = mg_get_header(conn, "Authorization");
    req.body = body;
    req.body_len = body_len;
    req.too_large = too_large;
    req.tls = ri->is_ssl != 0;
    if (ri->is_ssl && ri->client_cert && ri->client_cert->peer_cert) {
        peer.x509 = ri->client_cert->peer_cert; /* CivetWeb's, valid for the connection */
        req.client_cert = &peer;
    }
    req.remote_addr = ri->remote_addr;
    h->serve(h->ctx, &req, reply);
}

/* A handler's request: read the body, call it, send what it answered. */
static int call_handler(const cs_server *srv, struct mg_connection *conn,
                        const struct mg_request_info *ri, const handler *h)
{
    cs_http_reply reply = {500, NULL, NULL, 0, NULL};
    unsigned char *body = NULL;
    size_t body_len = 0;
    const char *path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    const char *type;
    char *head = NULL;
    size_t head_cap;
    int closing, status, n, too_large = 0;

    status = csi_http_read_body(conn, ri, CS_HANDLER_MAX_BODY, &body, &body_len);
    if (status == 413 && !h->serve)
        return send_plain_status(conn, ri, 413, "request body too large\n", 1);
    if (status == 413) {
        too_large = 1;
        drain_body(conn, ri);
    } else if (status == 408)
        return send_plain_status(conn, ri, 408, "request body too slow or cut short\n", 1);
    else if (status != 0)
        return send_plain_status(conn, ri, 500, "out of memory\n", 1);
    /* A body of known length is read whole, so the connection can stay (an
     * OCSP client's next POST needs no new handshake); a chunked one is
     * closed after, as routes do, and so is one left unread. */
    closing = !client_keeps_alive(conn, ri) || mg_get_header(conn, "Transfer-Encoding") ||
              too_large;
    /* The body is in: from here the time is the server's, not the client's
     * (an ACME request may wait its ask timeout for the Lua loop), so the
     * watchdog's deadline covers that wait, and then the reply's write. */
    if (h->work_ms > 0)
        csi_guard_extend(conn, (long long)h->work_ms + CS_SERVER_BODY_MS);
    if (h->serve)
        serve_request(h, conn, ri, path, body, body_len, too_large, &reply);
    else
        h->fn(h->ctx, ri->request_method, path, body, body_len, &reply);
    if (h->work_ms > 0)
        csi_guard_extend(conn, CS_SERVER_BODY_MS);
    free(body);
    status = reply.status >= 200 && reply.status <= 599 ? reply.status : 500;
    type = reply.content_type && !has_ctl(reply.content_type) && strlen(reply.content_type) < 200
               ? reply.content_type
               : "application/octet-stream";
    if (!reply.body)
        reply.body_len = 0;
    if (!headers_ok(reply.headers)) {
        fprintf(stderr, "server: handler %s: malformed reply headers, sent 500\n", h->prefix);
        free(reply.headers);
        reply.headers = NULL;
        free(reply.body);
        reply.body = NULL;
        reply.body_len = 0;
        status = 500;
    }
    head_cap = 1024 + (reply.headers ? strlen(reply.headers) : 0);
    head = malloc(head_cap);
    n = head ? snprintf(head, head_cap,
                        "HTTP/1.1 %d %s\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %zu\r\n"
                        "%s%s%s"
                        "Connection: %s\r\n"
                        "\r\n",
                        status, mg_get_response_code_text(conn, status), type, reply.body_len,
                        reply.headers ? reply.headers : "", security_headers,
                        ri->is_ssl ? srv->hsts : "", closing ? "close" : "keep-alive")
             : -1;
    if (n > 0 && (size_t)n < head_cap) {
        mg_write(conn, head, (size_t)n);
        if (reply.body_len > 0 && strcmp(ri->request_method, "HEAD") != 0)
            mg_write(conn, reply.body, reply.body_len);
    } else {
        mg_write(conn, server_error, sizeof server_error - 1);
        status = 500;
    }
    free(head);
    free(reply.headers);
    free(reply.body);
    return status;
}

/* Whether a path names something hidden: a segment starting with '.'
 * (".git", ".htpasswd", and "." or ".." that survived decoding). */
static int has_dot_segment(const char *path)
{
    const char *p;

    for (p = path; *p; p++)
        if (*p == '.' && (p == path || p[-1] == '/'))
            return 1;
    return 0;
}

/* Whether the resolved path is the document root or under it, through no
 * hidden segment (a symlink may point at www/.git). */
static int inside_www(const cs_server *srv, const char *real)
{
    if (strncmp(real, srv->www, srv->www_len) != 0)
        return 0;
    if (real[srv->www_len] != '\0' && real[srv->www_len] != '/')
        return 0;
    return !has_dot_segment(real + srv->www_len);
}

/* A file from the document root, resolved by us (CivetWeb follows
 * symlinks out of it and serves dotfiles): the request path, decoded and
 * without dot segments, must name no hidden segment, and the file it
 * resolves to, symlinks followed, must lie inside the root, also hidden
 * segments free. A folder serves its index.html. Anything else is a 404,
 * the same answer as a missing file, so nothing outside is confirmed. */
static int serve_file(const cs_server *srv, struct mg_connection *conn,
                      const struct mg_request_info *ri)
{
    char path[PATH_MAX], index[PATH_MAX];
    char *real = NULL, *real_index = NULL;
    const char *uri = ri->local_uri;
    struct stat st;
    int n, status = 404;

    if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
        mg_write(conn, method_not_allowed[1].bytes, method_not_allowed[1].len);
        return 405;
    }
    if (!srv->www || uri[0] != '/' || has_dot_segment(uri) || strchr(uri, '\\') ||
        has_ctl(uri))
        goto done;
    n = snprintf(path, sizeof path, "%s%s", srv->www, uri);
    if (n < 0 || (size_t)n >= sizeof path)
        goto done;
    real = realpath(path, NULL);
    if (!real || !inside_www(srv, real) || stat(real, &st) != 0)
        goto done;
    if (S_ISDIR(st.st_mode)) {
        n = snprintf(index, sizeof index, "%s/index.html", real);
        if (n < 0 || (size_t)n >= sizeof index)
            goto done;
        real_index = realpath(index, NULL);
        if (!real_index || !inside_www(srv, real_index) || stat(real_index, &st) != 0)
            goto done;
        free(real);
        real = real_index;
        real_index = NULL;
    }
    if (!S_ISREG(st.st_mode))
        goto done;
    mg_send_mime_file2(conn, real, NULL, ri->is_ssl && srv->hsts[0] ? srv->hsts : NULL);
    status = 200;
done:
    if (status == 404)
        status = send_plain_status(conn, ri, 404, "not found\n", !keeps_alive(conn, ri));
    free(real_index);
    free(real);
    return status;
}

/* Registered on "/", which CivetWeb matches as a prefix of every path: an exact
 * route answers, then a handler, then a file from the document root
 * (serve_file), except on the plain listener, which serves only what is
 * marked plain and answers 404 to the rest. */
int csi_route_handler(struct mg_connection *conn, void *cbdata)
{
    cs_server *srv = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const route *r;
    const handler *h;
    int plain, status;

    if (!ri || !ri->local_uri || !ri->request_method)
        return 0;
    plain = !ri->is_ssl;
    /* Every request of a client with a certificate, files included: a
     * connection made before the certificate was revoked (kept alive for as
     * long as the client keeps sending) is refused from the next request. */
    if (srv->checks_clients && !plain && ri->client_cert) {
        int refused = csi_tls_client_refused(srv, ri->client_cert->peer_cert);
        if (refused == 1)
            return send_plain_status(conn, ri, 403, "client certificate revoked\n", 1);
        if (refused == 2)
            return send_plain_status(conn, ri, 403, "client certificate not in the CA's "
                                     "records\n", 1);
        if (refused < 0)
            return send_plain_status(conn, ri, 503, "cannot read the client certificate's "
                                     "revocation status\n", 1);
    }
    r = csi_route_find(srv, ri->local_uri);
    if (r && (r->plain || !plain)) {
        route_body *b = csi_route_body_get(srv, r);
        status = send_response(srv, conn, ri, b);
        csi_route_body_put(srv, b);
        return status;
    }
    h = r ? NULL : find_handler(srv, ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri);
    if (h && (h->plain || !plain))
        return call_handler(srv, conn, ri, h);
    if (plain)
        return send_plain_status(conn, ri, 404, "not served over http; use https\n",
                                 !keeps_alive(conn, ri));
    return serve_file(srv, conn, ri);
}

void csi_routes_free(route *routes, size_t n)
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

void csi_handlers_free(handler *handlers, size_t n)
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
                       const char *extra, const char *connection)
{
    int n = snprintf(buf, cap,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     type, body_len, security_headers, extra, connection);
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
cs_code csi_route_body_build(const char *what, const char *type, const char *marker,
                            const char *extra, const char *src, size_t src_len,
                            route_body **out, cs_err *err)
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
    n[0] = format_head(head[0], sizeof head[0], type, body_len, extra, "keep-alive");
    n[1] = format_head(head[1], sizeof head[1], type, body_len, extra, "close");
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

cs_code csi_routes_build(const cs_server_config *cfg, const char *hsts, route **out,
                        cs_err *err)
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
        /* HSTS only where it reaches HTTPS alone (RFC 6797 7.2) */
        rc = csi_route_body_build(what, type, src->client_marker, src->plain ? "" : hsts,
                                 src->body, src->body_len, &routes[i].body, err);
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
    csi_routes_free(routes, cfg->routes_len);
    return rc;
}

cs_code csi_handlers_build(const cs_server_config *cfg, handler **out, size_t *out_len,
                          cs_err *err)
{
    handler *handlers = NULL;
    size_t i, n = cfg->handlers_len + (cfg->ocsp ? 1 : 0);
    cs_code rc = CS_OK;

    *out = NULL;
    *out_len = 0;
    if (n == 0)
        return CS_OK;
    if (cfg->handlers_len > 0 && !cfg->handlers)
        return cs_err_set(err, CS_EINVAL, "server: handlers: NULL with a length");
    handlers = calloc(n, sizeof *handlers);
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
        if (!src->fn == !src->serve) {
            rc = cs_err_set(err, CS_EINVAL, "server: handlers[%zu].fn: %s", i + 1,
                            src->fn ? "and serve both set (one of them)" : "missing");
            goto done;
        }
        if (cfg->ocsp && strcmp(src->prefix, CS_OCSP_PATH) == 0) {
            rc = cs_err_set(err, CS_EINVAL, "server: handlers[%zu].prefix: %s is the OCSP "
                            "responder's (ocsp)", i + 1, CS_OCSP_PATH);
            goto done;
        }
        handlers[i].prefix = strdup(src->prefix);
        if (!handlers[i].prefix) {
            rc = cs_err_set(err, CS_ENOMEM, "server: out of memory copying handlers");
            goto done;
        }
        handlers[i].prefix_len = strlen(src->prefix);
        handlers[i].fn = src->fn;
        handlers[i].serve = src->serve;
        handlers[i].ctx = src->ctx;
        handlers[i].plain = src->plain != 0;
        if (src->work_ms < 0) {
            rc = cs_err_set(err, CS_EINVAL, "server: handlers[%zu].work_ms: negative", i + 1);
            goto done;
        }
        handlers[i].work_ms = src->work_ms;
    }
    /* The responder: signed answers, so on the plain listener too (RFC 6960
     * A.1 has clients fetch over http). Its ctx is the server's reference. */
    if (cfg->ocsp) {
        handlers[i].prefix = strdup(CS_OCSP_PATH);
        if (!handlers[i].prefix) {
            rc = cs_err_set(err, CS_ENOMEM, "server: out of memory copying handlers");
            goto done;
        }
        handlers[i].prefix_len = sizeof CS_OCSP_PATH - 1;
        handlers[i].fn = cs_ocsp_handler;
        handlers[i].ctx = cfg->ocsp;
        handlers[i].plain = 1;
    }
    *out = handlers;
    *out_len = n;
    handlers = NULL;
done:
    csi_handlers_free(handlers, n);
    return rc;
}

/* "/root.pem" becomes the pattern "/root.pem$": exactly that path, which
 * csi_route_handler answers whatever the method. A path with pattern characters
 * keeps CivetWeb's default check. */
cs_code csi_routes_mark_public(cs_server *srv, cs_err *err)
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
    /* and the files serve_file serves: CivetWeb has no document root of
     * its own (so it serves nothing we did not resolve) */
    mg_set_auth_handler(srv->mg, "/", route_is_public, NULL);
    return CS_OK;
}
