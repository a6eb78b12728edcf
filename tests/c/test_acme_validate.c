/* The ACME validation worker against real responders on loopback: an HTTP
 * responder and a TLS responder (OpenSSL, ALPN acme-tls/1, certificates
 * made per SNI name) run on threads here; DNS is Debian's
 * pebble-challtestsrv, started on free ports and fed through its
 * management API. Each responder behaves by the name or token it is asked
 * for, so one responder covers the good and every bad case. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme_validate.h"
#include "check.h"
#include "error.h"

extern char **environ;

/* Every key authorization here is token "." THUMB. */
#define THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
#define TLS_TOKEN "tls-token_1"
#define DNS_TOKEN "dns-token_1"
/* Generous bound on waiting for one outcome: a loaded 2-core machine. */
#define WAIT_SECS 90

static void key_authorization(const char *token, char *out, size_t cap)
{
    snprintf(out, cap, "%s.%s", token, THUMB);
}

/* base64url(SHA-256(ka)), written independently of the validator's own. */
static void dns_value(const char *token, char out[64])
{
    char ka[300];
    unsigned char d[32], b64[64];
    unsigned len = 32;
    int n, i;
    key_authorization(token, ka, sizeof ka);
    EVP_Digest(ka, strlen(ka), d, &len, EVP_sha256(), NULL);
    n = EVP_EncodeBlock(b64, d, 32);
    for (i = 0; i < n && b64[i] != '='; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[i] = '\0';
}

/* ---- outcomes ---------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int sequence;

typedef struct outcome {
    int calls, order;
    int valid;
    int signals_blocked; /* SIGPIPE and SIGTERM blocked on the calling thread */
    char problem[64];
    char detail[1024];
} outcome;

static void on_done(void *arg, const char *problem, const char *detail)
{
    outcome *o = arg;
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    pthread_mutex_lock(&lock);
    o->signals_blocked = sigismember(&mask, SIGPIPE) == 1 && sigismember(&mask, SIGTERM) == 1;
    o->calls++;
    o->order = ++sequence;
    o->valid = problem == NULL;
    snprintf(o->problem, sizeof o->problem, "%s", problem ? problem : "");
    snprintf(o->detail, sizeof o->detail, "%s", detail ? detail : "(null detail)");
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Wait until each of n outcomes has been called back: 0, or -1 after
 * WAIT_SECS (a hang: the test then fails rather than blocks). */
static int wait_all(outcome *o, int n)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECS;
    pthread_mutex_lock(&lock);
    for (;;) {
        int i, done = 0;
        for (i = 0; i < n; i++)
            done += o[i].calls > 0;
        if (done == n)
            break;
        if (pthread_cond_timedwait(&changed, &lock, &until) == ETIMEDOUT) {
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    if (rc)
        fprintf(stderr, "timed out waiting for %d validations\n", n);
    return rc;
}

/* Wait until *counter >= n (counters are changed under lock). */
static int wait_counter(const int *counter, int n)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECS;
    pthread_mutex_lock(&lock);
    while (*counter < n && rc == 0)
        if (pthread_cond_timedwait(&changed, &lock, &until) == ETIMEDOUT)
            rc = -1;
    pthread_mutex_unlock(&lock);
    return rc;
}

static void validate(cs_validator *v, cs_challenge_type type, const char *domain,
                     const char *token, outcome *o)
{
    char ka[300];
    cs_err err;
    memset(o, 0, sizeof *o);
    key_authorization(token, ka, sizeof ka);
    CHECK_OK(cs_validator_submit(v, type, domain, token, ka, on_done, o, &err), &err);
    CHECK(wait_all(o, 1) == 0);
    fprintf(stderr, "  %-11s %-22s %-18s %s\n", cs_challenge_type_name(type), domain,
            o->valid ? "valid" : o->problem, o->detail);
}

/* Every outcome arrives on a validator thread, where no signal is taken. */
#define CHECK_VALID(o) CHECK((o).calls == 1 && (o).valid && (o).detail[0] && (o).signals_blocked)
#define CHECK_PROBLEM(o, type, text)                                                    \
    CHECK((o).calls == 1 && !(o).valid && strcmp((o).problem, (type)) == 0 &&          \
          strstr((o).detail, (text)) != NULL && (o).signals_blocked)

/* ---- sockets ----------------------------------------------------------- */

static int listen_loopback(int type, int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        (type == SOCK_STREAM && listen(fd, 64) != 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port free for TCP and UDP now (for a child process to bind). */
static int free_port(void)
{
    int tries;
    for (tries = 0; tries < 50; tries++) {
        int port, tcp = listen_loopback(SOCK_STREAM, &port), udp;
        struct sockaddr_in a;
        if (tcp < 0)
            continue;
        udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        if (udp >= 0 && bind(udp, (struct sockaddr *)&a, sizeof a) == 0) {
            close(udp);
            close(tcp);
            return port;
        }
        if (udp >= 0)
            close(udp);
        close(tcp);
    }
    return -1;
}

static int connect_loopback(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

/* ---- responders -------------------------------------------------------- */

/* A listener with one thread accepting and one detached thread per
 * connection; stop waits until every connection thread has left. */
typedef struct responder {
    int fd, port;
    int fd6; /* the same port on ::1, or -1 */
    atomic_int stop;
    int active;  /* connection threads, under lock */
    int hanging; /* requests held without an answer, under lock */
    int accepted; /* under lock */
    pthread_t thread;
    SSL_CTX *tls; /* NULL: plain HTTP */
    void (*serve)(struct responder *r, int fd);
} responder;

typedef struct conn {
    responder *r;
    int fd;
} conn;

static void *conn_thread(void *arg)
{
    conn *c = arg;
    c->r->serve(c->r, c->fd);
    close(c->fd);
    pthread_mutex_lock(&lock);
    c->r->active--;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    free(c);
    return NULL;
}

static void *accept_thread(void *arg)
{
    responder *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p[2] = {{r->fd, POLLIN, 0}, {r->fd6, POLLIN, 0}};
        conn *c;
        pthread_t t;
        int fd;
        if (poll(p, r->fd6 >= 0 ? 2 : 1, 100) <= 0)
            continue;
        fd = accept(p[0].revents ? r->fd : r->fd6, NULL, NULL);
        if (fd < 0)
            continue;
        c = malloc(sizeof *c);
        c->r = r;
        c->fd = fd;
        pthread_mutex_lock(&lock);
        r->active++;
        r->accepted++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        if (pthread_create(&t, NULL, conn_thread, c) != 0) {
            close(fd);
            free(c);
            pthread_mutex_lock(&lock);
            r->active--;
            pthread_mutex_unlock(&lock);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

static int responder_start(responder *r)
{
    int tries;
    /* 127.0.0.1 and ::1 on one port, so that IPv6 is tested too (no
     * wildcard address: loopback only). */
    for (tries = 0; tries < 50; tries++) {
        struct sockaddr_in6 a6;
        int one = 1;
        r->fd = listen_loopback(SOCK_STREAM, &r->port);
        if (r->fd < 0)
            return -1;
        r->fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_loopback;
        a6.sin6_port = htons((uint16_t)r->port);
        setsockopt(r->fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (r->fd6 >= 0 && bind(r->fd6, (struct sockaddr *)&a6, sizeof a6) == 0 &&
            listen(r->fd6, 64) == 0)
            break;
        if (r->fd6 >= 0)
            close(r->fd6);
        r->fd6 = -1;
        close(r->fd);
        r->fd = -1;
    }
    if (r->fd < 0)
        return -1;
    atomic_init(&r->stop, 0);
    return pthread_create(&r->thread, NULL, accept_thread, r) == 0 ? 0 : -1;
}

static void responder_stop(responder *r)
{
    struct timespec until;
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    close(r->fd);
    close(r->fd6);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECS;
    pthread_mutex_lock(&lock);
    while (r->active > 0)
        if (pthread_cond_timedwait(&changed, &lock, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&lock);
}

/* Read a request head (up to 8 KiB) from a plain socket or a TLS one. */
static int read_head(responder *r, int fd, SSL *ssl, char *buf, size_t cap)
{
    size_t used = 0;
    while (used + 1 < cap && !atomic_load(&r->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        int n;
        if (!ssl || SSL_pending(ssl) == 0)
            if (poll(&p, 1, 100) <= 0)
                continue;
        n = ssl ? SSL_read(ssl, buf + used, (int)(cap - 1 - used))
                : (int)recv(fd, buf + used, cap - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (buf[0] < 'A' || buf[0] > 'Z')
            return -2; /* not HTTP: a TLS ClientHello, say */
        if (strstr(buf, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

static void send_reply(int fd, SSL *ssl, int status, const char *location, const void *body,
                       size_t len)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
                     status, len, location ? "Location: " : "", location ? location : "",
                     location ? "\r\n" : "");
    if (ssl) {
        SSL_write(ssl, head, n);
        if (len)
            SSL_write(ssl, body, (int)len);
    } else {
        write_all(fd, head, (size_t)n);
        write_all(fd, body, len);
    }
}

/* What /redirected/<token> and the good tokens answer: the key
 * authorization, with a trailing newline the validator must ignore. */
static void send_key_authorization(int fd, SSL *ssl, const char *token)
{
    char ka[400];
    key_authorization(token, ka, sizeof ka);
    strcat(ka, "\r\n");
    send_reply(fd, ssl, 200, NULL, ka, strlen(ka));
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The HTTP responder: behaviour by token prefix. */
static void serve_http(responder *r, int fd)
{
    char req[8192], path[1024], location[1200];
    const char *token;
    int rc = read_head(r, fd, NULL, req, sizeof req);
    if (rc == -2) {
        send_reply(fd, NULL, 400, NULL, "not HTTP", 8);
        return;
    }
    if (rc != 0 || sscanf(req, "GET %1023s ", path) != 1)
        return;
    if (starts(path, "/redirected/")) {
        send_key_authorization(fd, NULL, path + strlen("/redirected/"));
        return;
    }
    if (!starts(path, "/.well-known/acme-challenge/")) {
        send_reply(fd, NULL, 404, NULL, "", 0);
        return;
    }
    token = path + strlen("/.well-known/acme-challenge/");
    if (starts(token, "good")) {
        send_key_authorization(fd, NULL, token);
    } else if (starts(token, "wrong")) {
        send_reply(fd, NULL, 200, NULL, "not the key authorization", 25);
    } else if (starts(token, "binary")) {
        send_reply(fd, NULL, 200, NULL, "\x01\"<script>\"\xff", 12);
    } else if (starts(token, "big")) {
        static char big[20000];
        memset(big, 'A', sizeof big);
        send_reply(fd, NULL, 200, NULL, big, sizeof big);
    } else if (starts(token, "notfound")) {
        send_reply(fd, NULL, 404, NULL, "no such token", 13);
    } else if (starts(token, "loop")) {
        send_reply(fd, NULL, 302, path, "", 0);
    } else if (starts(token, "redir")) {
        snprintf(location, sizeof location, "http://other.test/redirected/%s", token);
        send_reply(fd, NULL, 302, location, "", 0);
    } else if (starts(token, "relative")) {
        snprintf(location, sizeof location, "/redirected/%s", token);
        send_reply(fd, NULL, 301, location, "", 0);
    } else if (starts(token, "tohttps")) {
        snprintf(location, sizeof location, "https://a.test/redirected/%s", token);
        send_reply(fd, NULL, 307, location, "", 0);
    } else if (starts(token, "badport")) {
        snprintf(location, sizeof location, "http://a.test:8081/redirected/%s", token);
        send_reply(fd, NULL, 302, location, "", 0);
    } else if (starts(token, "ftp")) {
        send_reply(fd, NULL, 302, "ftp://a.test/x", "", 0);
    } else if (starts(token, "toip")) {
        snprintf(location, sizeof location, "http://127.0.0.1/redirected/%s", token);
        send_reply(fd, NULL, 302, location, "", 0);
    } else if (starts(token, "v6redir")) {
        snprintf(location, sizeof location, "http://[::1]/redirected/%s", token);
        send_reply(fd, NULL, 302, location, "", 0);
    } else if (starts(token, "metadata")) {
        send_reply(fd, NULL, 302, "http://169.254.169.254/latest/meta-data/", "", 0);
    } else if (starts(token, "badhost")) {
        send_reply(fd, NULL, 302, "http://a_b.test/x", "", 0);
    } else if (starts(token, "zero")) {
        snprintf(location, sizeof location, "http://0.0.0.0/redirected/%s", token);
        send_reply(fd, NULL, 302, location, "", 0);
    } else if (starts(token, "hang")) {
        char sink[256];
        pthread_mutex_lock(&lock);
        r->hanging++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        /* Never answer: hold the connection until the client gives up. */
        while (!atomic_load(&r->stop)) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 100) > 0 && recv(fd, sink, sizeof sink, 0) <= 0)
                break;
        }
    } else {
        send_reply(fd, NULL, 404, NULL, "", 0);
    }
}

/* Accepts, reads whatever comes, never answers. */
static void serve_silent(responder *r, int fd)
{
    char sink[256];
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0 && recv(fd, sink, sizeof sink, 0) <= 0)
            break;
    }
}

/* ---- the TLS responder ------------------------------------------------- */

static EVP_PKEY *tls_key;

/* A tls-alpn-01 certificate for name, spoiled as the name asks:
 * alpn-digest (digest of another key authorization), alpn-noncrit
 * (extension not critical), alpn-twosan (a second SAN), alpn-wrongsan,
 * alpn-noext (no acmeIdentifier); anything else is right. */
static X509 *make_cert(const char *name)
{
    X509 *x = X509_new();
    X509_NAME *subject = X509_NAME_new();
    X509_EXTENSION *san = NULL, *acme = NULL;
    ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    unsigned char d[32], *der = NULL;
    unsigned len = 32;
    char ka[300], sans[400];
    int der_len;

    key_authorization(starts(name, "alpn-digest") ? "another-token" : TLS_TOKEN, ka, sizeof ka);
    EVP_Digest(ka, strlen(ka), d, &len, EVP_sha256(), NULL);
    ASN1_OCTET_STRING_set(inner, d, 32);
    der_len = i2d_ASN1_OCTET_STRING(inner, &der);
    ASN1_OCTET_STRING_set(outer, der, der_len);
    OPENSSL_free(der);
    if (starts(name, "alpn-twosan"))
        snprintf(sans, sizeof sans, "DNS:%s,DNS:extra.test", name);
    else if (starts(name, "alpn-wrongsan"))
        snprintf(sans, sizeof sans, "DNS:someone-else.test");
    else
        snprintf(sans, sizeof sans, "DNS:%s", name);
    san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
    acme = X509_EXTENSION_create_by_OBJ(NULL, oid, !starts(name, "alpn-noncrit"), outer);

    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)"acme",
                               -1, -1, 0);
    X509_set_subject_name(x, subject);
    X509_set_issuer_name(x, subject);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, tls_key);
    X509_add_ext(x, san, -1);
    if (!starts(name, "alpn-noext"))
        X509_add_ext(x, acme, -1);
    X509_sign(x, tls_key, EVP_sha256());

    X509_EXTENSION_free(san);
    X509_EXTENSION_free(acme);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(inner);
    ASN1_OCTET_STRING_free(outer);
    X509_NAME_free(subject);
    return x;
}

static int cert_cb(SSL *ssl, void *arg)
{
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    X509 *x = make_cert(name ? name : "a.test");
    int ok = SSL_use_certificate(ssl, x) == 1 && SSL_use_PrivateKey(ssl, tls_key) == 1;
    (void)arg;
    X509_free(x);
    return ok;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg)
{
    static const unsigned char ours[] = "\x0a" "acme-tls/1" "\x08" "http/1.1";
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)arg;
    if (name && starts(name, "noalpn"))
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

/* The TLS responder: an acme-tls/1 handshake ends there; anything else is
 * HTTPS, answering /redirected/<token> (the target of tohttps). */
static void serve_tls(responder *r, int fd)
{
    struct timeval tv = {10, 0};
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    char req[8192], path[1024];
    SSL *ssl = SSL_new(r->tls);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1)
        goto done;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len == 10 && memcmp(alpn, "acme-tls/1", 10) == 0) {
        SSL_shutdown(ssl);
        goto done;
    }
    if (read_head(r, fd, ssl, req, sizeof req) == 0 && sscanf(req, "GET %1023s ", path) == 1 &&
        starts(path, "/redirected/"))
        send_key_authorization(fd, ssl, path + strlen("/redirected/"));
    else
        send_reply(fd, ssl, 404, NULL, "", 0);
    SSL_shutdown(ssl);
done:
    SSL_free(ssl);
    ERR_clear_error();
}

static SSL_CTX *server_tls(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    return ctx;
}

/* ---- pebble-challtestsrv ------------------------------------------------ */

static pid_t challtestsrv;
static int dns_port, mgmt_port, cts_http_port, cts_tls_port;

/* DNS, and its own http-01 and tls-alpn-01 responders: Let's Encrypt's
 * reference responders, a second opinion beside ours. */
static int challtestsrv_start(void)
{
    char dns[32], mgmt[32], http[32], tls[32];
    char *argv[] = {"pebble-challtestsrv", "-dns01", dns, "-management", mgmt, "-http01", http,
                    "-https01", "", "-tlsalpn01", tls, NULL};
    posix_spawn_file_actions_t fa;
    int i, rc;

    dns_port = free_port();
    mgmt_port = free_port();
    cts_http_port = free_port();
    cts_tls_port = free_port();
    if (dns_port < 0 || mgmt_port < 0 || cts_http_port < 0 || cts_tls_port < 0)
        return -1;
    snprintf(dns, sizeof dns, "127.0.0.1:%d", dns_port);
    snprintf(mgmt, sizeof mgmt, "127.0.0.1:%d", mgmt_port);
    snprintf(http, sizeof http, "127.0.0.1:%d", cts_http_port);
    snprintf(tls, sizeof tls, "127.0.0.1:%d", cts_tls_port);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "challtestsrv.log", O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    rc = posix_spawnp(&challtestsrv, "pebble-challtestsrv", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot run pebble-challtestsrv (tools/setup.sh --test installs "
                        "pebble): %s\n", strerror(rc));
        challtestsrv = 0;
        return -1;
    }
    /* Ready when the management port answers (it starts after the DNS
     * server); a bounded readiness poll, not a sleep standing in for it. */
    for (i = 0; i < WAIT_SECS * 20; i++) {
        int fd = connect_loopback(mgmt_port), status;
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (waitpid(challtestsrv, &status, WNOHANG) == challtestsrv) {
            fprintf(stderr, "pebble-challtestsrv exited (see challtestsrv.log)\n");
            challtestsrv = 0;
            return -1;
        }
        poll(NULL, 0, 50);
    }
    return -1;
}

static void challtestsrv_stop(void)
{
    if (challtestsrv > 0) {
        kill(challtestsrv, SIGTERM);
        waitpid(challtestsrv, NULL, 0);
    }
}

/* POST json to the management API; 0 on a 200. */
static int challtestsrv_post(const char *path, const char *json)
{
    char req[1024], resp[256];
    int fd = connect_loopback(mgmt_port), n, used = 0;
    if (fd < 0)
        return -1;
    n = snprintf(req, sizeof req,
                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 path, strlen(json), json);
    write_all(fd, req, (size_t)n);
    while (used < (int)sizeof resp - 1) {
        n = (int)recv(fd, resp + used, sizeof resp - 1 - (size_t)used, 0);
        if (n <= 0)
            break;
        used += n;
    }
    resp[used] = '\0';
    close(fd);
    if (strncmp(resp, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "challtestsrv %s %s: %.80s\n", path, json, resp);
        return -1;
    }
    return 0;
}

/* ---- the tests --------------------------------------------------------- */

static responder http_r, tls_r;

static void test_config(void)
{
    cs_validator_config c;
    cs_validator *v = NULL;
    cs_err err;
    const char *bad_pattern[] = {"a.test=127.0.0.1", "no-equals-sign"};
    const char *zero[] = {"*.test=0.0.0.0"};
    const char *mcast[] = {"*.test=ff02::1"};
    const char *not_ip[] = {"a.test=localhost"};
    const char *bad_name[] = {"a..test=127.0.0.1"};
    const char *good[] = {"*.test=127.0.0.1", "a.example=[::1]", "*=127.0.0.1"};
    char ka[300];

    memset(&c, 0, sizeof c);
    c.http_port = 70000;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "http_port: 70000");
    c.http_port = 0;
    c.tls_port = -1;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "tls_port");
    c.tls_port = 0;
    c.resolve = bad_pattern;
    c.resolve_len = 2;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err,
               "resolve[2]: \"no-equals-sign\": not pattern=address");
    c.resolve = zero;
    c.resolve_len = 1;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "unspecified");
    c.resolve = mcast;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "multicast");
    c.resolve = not_ip;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "not an IPv4 or IPv6");
    c.resolve = bad_name;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "pattern is not a DNS name");
    c.resolve = good;
    c.resolve_len = 3;
    c.dns_resolver = "dns.example:53";
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "dns_resolver");
    c.dns_resolver = "127.0.0.1:99999";
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "dns_resolver");
    c.dns_resolver = "0.0.0.0:53";
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "unspecified");
    c.dns_resolver = "[::1]:8053";
    c.workers = -1;
    CHECK_FAIL(cs_validator_start(&c, &v, &err), CS_EINVAL, &err, "workers");
    c.workers = 1;
    CHECK(v == NULL);
    CHECK_OK(cs_validator_start(&c, &v, &err), &err);

    /* Arguments a validation must not be queued with. */
    key_authorization("tok", ka, sizeof ka);
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_DNS01, "*.a.test", "tok", ka, on_done, NULL,
                                   &err),
               CS_EINVAL, &err, "domain \"*.a.test\"");
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test.", "tok", ka, on_done, NULL,
                                   &err),
               CS_EINVAL, &err, "domain \"a.test.\"");
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "127.0.0.1", "tok", ka, on_done,
                                   NULL, &err),
               CS_EINVAL, &err, "not a DNS name");
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "../etc", "../etc.x",
                                   on_done, NULL, &err),
               CS_EINVAL, &err, "token");
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "tok", "other.x", on_done,
                                   NULL, &err),
               CS_EINVAL, &err, "does not start with the token");
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "tok", "tok.a b", on_done,
                                   NULL, &err),
               CS_EINVAL, &err, "printable");
    CHECK_FAIL(cs_validator_submit(v, (cs_challenge_type)7, "a.test", "tok", ka, on_done, NULL,
                                   &err),
               CS_EINVAL, &err, "unknown challenge type");
    cs_validator_stop(v);
    cs_validator_stop(NULL);

    CHECK(strcmp(cs_challenge_type_name(CS_CHALLENGE_TLSALPN01), "tls-alpn-01") == 0);
    CHECK(cs_challenge_type_parse("dns-01") == CS_CHALLENGE_DNS01);
    CHECK(cs_challenge_type_parse("http-02") == -1);
}

static cs_validator *start(int http_port, int tls_port, const char *dns, int workers,
                           int timeout_ms)
{
    static const char *rules[] = {"v6.test=[::1]", "*.test=127.0.0.1"};
    cs_validator_config c;
    cs_validator *v = NULL;
    cs_err err;
    memset(&c, 0, sizeof c);
    c.http_port = http_port;
    c.tls_port = tls_port;
    c.resolve = rules;
    c.resolve_len = 2;
    c.dns_resolver = dns;
    c.workers = workers;
    c.timeout_ms = timeout_ms;
    CHECK_OK(cs_validator_start(&c, &v, &err), &err);
    return v;
}

static void test_http01(cs_validator *v)
{
    outcome o;

    validate(v, CS_CHALLENGE_HTTP01, "a.test", "good-1", &o);
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "127.0.0.1") != NULL);
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "wrong-1", &o);
    CHECK_PROBLEM(o, "incorrectResponse", "\"not the key authorization\"");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "binary-1", &o);
    CHECK_PROBLEM(o, "incorrectResponse", "\\x01\\x22<script>\\x22\\xff");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "big-1", &o);
    CHECK_PROBLEM(o, "incorrectResponse", "body over 8192 bytes");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "notfound-1", &o);
    CHECK_PROBLEM(o, "unauthorized", "status 404");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "loop-1", &o);
    CHECK_PROBLEM(o, "connection", "more than 10 redirects");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "redir-1", &o);
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "other.test") != NULL);
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "relative-1", &o);
    CHECK_VALID(o);
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "tohttps-1", &o);
    CHECK_VALID(o); /* https on "443" went to tls_port */
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "badport-1", &o);
    CHECK_PROBLEM(o, "connection", "only http on port 80 and https on port 443");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "ftp-1", &o);
    CHECK_PROBLEM(o, "connection", "\"ftp://a.test/x\"");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "zero-1", &o);
    CHECK_PROBLEM(o, "connection", "0.0.0.0, which is unspecified");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "toip-1", &o);
    CHECK_VALID(o); /* an address literal: connected to as it is, port 80 -> http_port */
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "v6redir-1", &o);
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "::1 port") != NULL);
    validate(v, CS_CHALLENGE_HTTP01, "v6.test", "good-v6", &o); /* rule "v6.test=[::1]" */
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "::1 port") != NULL);
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "metadata-1", &o);
    CHECK_PROBLEM(o, "connection", "169.254.169.254, which is link-local");
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "badhost-1", &o);
    CHECK_PROBLEM(o, "connection", "host is not a DNS name or an IP address");
}

static void test_tlsalpn01(cs_validator *v)
{
    outcome o;

    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-good.test", TLS_TOKEN, &o);
    CHECK_VALID(o);
    validate(v, CS_CHALLENGE_TLSALPN01, "v6.test", TLS_TOKEN, &o);
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "::1 port") != NULL);
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-digest.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "incorrectResponse", "not SHA-256 of the key authorization");
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-noncrit.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "incorrectResponse", "not critical");
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-twosan.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "incorrectResponse", "has 2 entries");
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-wrongsan.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "incorrectResponse", "\"someone-else.test\", not alpn-wrongsan.test");
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-noext.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "incorrectResponse", "no acmeIdentifier");
    validate(v, CS_CHALLENGE_TLSALPN01, "noalpn.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "tls", "did not select ALPN \"acme-tls/1\"");
    /* The key authorization the validator is given decides: another token
     * against the right certificate for TLS_TOKEN fails. */
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-good.test", "another-token", &o);
    CHECK_PROBLEM(o, "incorrectResponse", "not SHA-256");
    /* Plain HTTP where TLS is expected. */
}

static void test_dns01(cs_validator *v)
{
    char value[64], json[300];
    outcome o;

    dns_value(DNS_TOKEN, value);
    snprintf(json, sizeof json, "{\"host\":\"_acme-challenge.dns-good.test.\",\"value\":\"%s\"}",
             value);
    CHECK(challtestsrv_post("/set-txt", json) == 0);
    CHECK(challtestsrv_post("/set-txt", "{\"host\":\"_acme-challenge.dns-wrong.test.\","
                                        "\"value\":\"wrong\\u0001value\"}") == 0);
    /* Several records: one right is enough. */
    CHECK(challtestsrv_post("/set-txt", "{\"host\":\"_acme-challenge.dns-multi.test.\","
                                        "\"value\":\"first-wrong\"}") == 0);
    snprintf(json, sizeof json, "{\"host\":\"_acme-challenge.dns-multi.test.\",\"value\":\"%s\"}",
             value);
    CHECK(challtestsrv_post("/set-txt", json) == 0);
    CHECK(challtestsrv_post("/set-servfail", "{\"host\":\"_acme-challenge.dns-fail.test.\"}") ==
          0);

    validate(v, CS_CHALLENGE_DNS01, "dns-good.test", DNS_TOKEN, &o);
    CHECK_VALID(o);
    validate(v, CS_CHALLENGE_DNS01, "dns-multi.test", DNS_TOKEN, &o);
    CHECK_VALID(o);
    validate(v, CS_CHALLENGE_DNS01, "dns-wrong.test", DNS_TOKEN, &o);
    CHECK_PROBLEM(o, "incorrectResponse", "\"wrong\\x01value\"");
    CHECK(strstr(o.detail, value) != NULL); /* names what was expected */
    validate(v, CS_CHALLENGE_DNS01, "dns-none.test", DNS_TOKEN, &o);
    CHECK_PROBLEM(o, "unauthorized", "no TXT record at _acme-challenge.dns-none.test");
    validate(v, CS_CHALLENGE_DNS01, "dns-fail.test", DNS_TOKEN, &o);
    CHECK_PROBLEM(o, "dns", "_acme-challenge.dns-fail.test");
}

/* http-01 and tls-alpn-01 for names no resolve rule matches: A/AAAA from
 * the configured resolver (challtestsrv answers 127.0.0.1 and ::1 unless
 * told otherwise). */
static void test_dns_addresses(cs_validator *v)
{
    outcome o;

    validate(v, CS_CHALLENGE_HTTP01, "viadns.example", "good-dns", &o);
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "address from DNS") != NULL);
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-good.example", TLS_TOKEN, &o);
    CHECK_VALID(o);
    CHECK(challtestsrv_post("/add-a", "{\"host\":\"zero.example.\",\"addresses\":"
                                      "[\"0.0.0.0\"]}") == 0);
    CHECK(challtestsrv_post("/add-aaaa", "{\"host\":\"zero.example.\",\"addresses\":"
                                         "[\"::\"]}") == 0);
    validate(v, CS_CHALLENGE_HTTP01, "zero.example", "good-zero", &o);
    CHECK_PROBLEM(o, "dns", "only to addresses nothing can answer from (");
    CHECK(strstr(o.detail, "0.0.0.0") != NULL);
    CHECK(challtestsrv_post("/set-servfail", "{\"host\":\"broken.example.\"}") == 0);
    validate(v, CS_CHALLENGE_TLSALPN01, "broken.example", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "dns", "broken.example");
}

/* pebble-challtestsrv's own responders, set up as a client's hooks would. */
static void test_reference_responders(void)
{
    cs_validator *v = start(cts_http_port, cts_tls_port, NULL, 2, 30000);
    char ka[300], json[600];
    outcome o;

    key_authorization("ref-token", ka, sizeof ka);
    snprintf(json, sizeof json, "{\"token\":\"ref-token\",\"content\":\"%s\"}", ka);
    CHECK(challtestsrv_post("/add-http01", json) == 0);
    snprintf(json, sizeof json, "{\"host\":\"ref.test\",\"content\":\"%s\"}", ka);
    CHECK(challtestsrv_post("/add-tlsalpn01", json) == 0);
    validate(v, CS_CHALLENGE_HTTP01, "ref.test", "ref-token", &o);
    CHECK_VALID(o);
    validate(v, CS_CHALLENGE_TLSALPN01, "ref.test", "ref-token", &o);
    CHECK_VALID(o);
    /* The same responders, asked for what they were not given. */
    validate(v, CS_CHALLENGE_HTTP01, "ref.test", "unknown-token", &o);
    CHECK_PROBLEM(o, "incorrectResponse", "with \"\", not the key authorization"); /* 200, empty */
    validate(v, CS_CHALLENGE_TLSALPN01, "ref.test", "other-token", &o);
    CHECK_PROBLEM(o, "incorrectResponse", "not SHA-256 of the key authorization");
    cs_validator_stop(v);
}

/* Many validations of every type at once on 4 workers: all valid. */
static void test_many(cs_validator *v)
{
    enum { N = 36 };
    static outcome o[N];
    char ka[300], token[64];
    cs_err err;
    int i, valid = 0;

    memset(o, 0, sizeof o);
    for (i = 0; i < N; i++) {
        cs_challenge_type type = (cs_challenge_type)(i % 3);
        const char *domain = type == CS_CHALLENGE_HTTP01     ? "many.test"
                             : type == CS_CHALLENGE_TLSALPN01 ? "alpn-many.test"
                                                              : "dns-good.test";
        snprintf(token, sizeof token, "%s",
                 type == CS_CHALLENGE_HTTP01 ? "good-many" : type == CS_CHALLENGE_TLSALPN01
                                                                  ? TLS_TOKEN
                                                                  : DNS_TOKEN);
        key_authorization(token, ka, sizeof ka);
        CHECK_OK(cs_validator_submit(v, type, domain, token, ka, on_done, &o[i], &err), &err);
    }
    CHECK(wait_all(o, N) == 0);
    for (i = 0; i < N; i++) {
        valid += o[i].calls == 1 && o[i].valid;
        if (!o[i].valid)
            fprintf(stderr, "  many[%d]: %s %s\n", i, o[i].problem, o[i].detail);
    }
    CHECK(valid == N);
}

/* A responder that accepts and never answers: the validation gives up at
 * its timeout as "connection", while the other worker goes on. */
static void test_timeout(void)
{
    cs_validator *v = start(http_r.port, tls_r.port, NULL, 2, 5000);
    outcome hang, good[3];
    char ka[300];
    cs_err err;
    int i, hanging;

    memset(&hang, 0, sizeof hang);
    memset(good, 0, sizeof good);
    pthread_mutex_lock(&lock);
    hanging = http_r.hanging;
    pthread_mutex_unlock(&lock);
    key_authorization("hang-1", ka, sizeof ka);
    CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "hang-1", ka, on_done, &hang,
                                 &err),
             &err);
    CHECK(wait_counter(&http_r.hanging, hanging + 1) == 0); /* it is being held */
    key_authorization("good-t", ka, sizeof ka);
    for (i = 0; i < 3; i++)
        CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "good-t", ka, on_done,
                                     &good[i], &err),
                 &err);
    CHECK(wait_all(good, 3) == 0);
    CHECK(wait_all(&hang, 1) == 0);
    fprintf(stderr, "  hang: %s %s\n", hang.problem, hang.detail);
    CHECK_PROBLEM(hang, "connection", "timed out after 5000 ms");
    for (i = 0; i < 3; i++) {
        CHECK_VALID(good[i]);
        CHECK(good[i].order < hang.order); /* went on while the other waited */
    }
    cs_validator_stop(v);
}

/* A resolver that never answers: dns-01 ends as "dns", timed out. */
static void test_dns_timeout(void)
{
    int port, fd = listen_loopback(SOCK_DGRAM, &port);
    char resolver[32];
    cs_validator *v;
    outcome o;

    snprintf(resolver, sizeof resolver, "127.0.0.1:%d", port);
    v = start(http_r.port, tls_r.port, resolver, 1, 2000);
    validate(v, CS_CHALLENGE_DNS01, "silent.test", DNS_TOKEN, &o);
    CHECK_PROBLEM(o, "dns", "timed out after 2000 ms");
    /* The same resolver for a name without a rule: dns, not a hang. */
    validate(v, CS_CHALLENGE_HTTP01, "silent.example", "good-x", &o);
    CHECK_PROBLEM(o, "dns", "timed out");
    cs_validator_stop(v);
    close(fd);
}

/* No rule and no dns_resolver: the system's resolver configuration,
 * /etc/hosts included (localhost is 127.0.0.1 there). */
static void test_system_resolver(void)
{
    cs_validator *v = start(http_r.port, tls_r.port, NULL, 1, 30000);
    outcome o;

    validate(v, CS_CHALLENGE_HTTP01, "localhost", "good-sys", &o);
    CHECK_VALID(o);
    CHECK(strstr(o.detail, "address from the system's resolver") != NULL);
    cs_validator_stop(v);
}

/* Nothing listening: connection refused. */
static void test_refused(void)
{
    int port, fd = listen_loopback(SOCK_STREAM, &port);
    cs_validator *v;
    outcome o;

    close(fd); /* a port nobody listens on now */
    v = start(port, port, NULL, 1, 10000);
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "good-1", &o);
    CHECK_PROBLEM(o, "connection", "127.0.0.1");
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-good.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "connection", "cannot connect to port");
    /* http-01 against the TLS responder: no HTTP answer. */
    cs_validator_stop(v);
    v = start(tls_r.port, http_r.port, NULL, 1, 10000);
    validate(v, CS_CHALLENGE_HTTP01, "a.test", "good-1", &o);
    CHECK(o.calls == 1 && !o.valid && strcmp(o.problem, "connection") == 0);
    /* tls-alpn-01 against the plain HTTP responder: no TLS. */
    validate(v, CS_CHALLENGE_TLSALPN01, "alpn-good.test", TLS_TOKEN, &o);
    CHECK_PROBLEM(o, "tls", "TLS handshake with 127.0.0.1 port");
    cs_validator_stop(v);
}

/* A full queue refuses; what was taken is still answered. */
static void test_queue_full(void)
{
    cs_validator_config c;
    const char *rules[] = {"*.test=127.0.0.1"};
    cs_validator *v = NULL;
    outcome a, b;
    char ka[300];
    cs_err err;
    int hanging;

    memset(&c, 0, sizeof c);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    c.http_port = http_r.port;
    c.tls_port = tls_r.port;
    c.resolve = rules;
    c.resolve_len = 1;
    c.workers = 1;
    c.queue_max = 1;
    c.timeout_ms = 600000;
    CHECK_OK(cs_validator_start(&c, &v, &err), &err);
    pthread_mutex_lock(&lock);
    hanging = http_r.hanging;
    pthread_mutex_unlock(&lock);
    key_authorization("hang-q", ka, sizeof ka);
    CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "hang-q", ka, on_done, &a,
                                 &err),
             &err);
    CHECK(wait_counter(&http_r.hanging, hanging + 1) == 0); /* the one worker is busy */
    CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "hang-q", ka, on_done, &b,
                                 &err),
             &err);
    CHECK_FAIL(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "hang-q", ka, on_done, &b,
                                   &err),
               CS_ETOOLARGE, &err, "1 validations already wait");
    cs_validator_stop(v);
    CHECK_PROBLEM(a, "serverInternal", "validator stopped before this validation finished");
    CHECK_PROBLEM(b, "serverInternal", "validator stopped before this validation began");
}

/* Stop with validations in flight of every kind and more queued: it
 * returns (their timeout is 10 minutes, so waiting them out would fail the
 * test by its ctest TIMEOUT), and every one is answered exactly once. */
static void test_stop_in_flight(void)
{
    enum { QUEUED = 6 };
    int dport, dfd = listen_loopback(SOCK_DGRAM, &dport);
    responder silent_tls; /* accepts and never starts TLS */
    char resolver[32], ka[300], tka[300], dka[300], qka[300];
    outcome hang[2], tls_hang, dns_hang, queued[QUEUED];
    cs_validator *v;
    cs_err err;
    int i, hanging, accepted;
    struct pollfd p = {dfd, POLLIN, 0};

    memset(&silent_tls, 0, sizeof silent_tls);
    silent_tls.serve = serve_silent;
    CHECK(responder_start(&silent_tls) == 0);
    snprintf(resolver, sizeof resolver, "127.0.0.1:%d", dport);
    memset(hang, 0, sizeof hang);
    memset(&tls_hang, 0, sizeof tls_hang);
    memset(&dns_hang, 0, sizeof dns_hang);
    memset(queued, 0, sizeof queued);
    v = start(http_r.port, silent_tls.port, resolver, 4, 600000);
    pthread_mutex_lock(&lock);
    hanging = http_r.hanging;
    accepted = silent_tls.accepted;
    pthread_mutex_unlock(&lock);
    key_authorization("hang-s", ka, sizeof ka);
    key_authorization(TLS_TOKEN, tka, sizeof tka);
    key_authorization(DNS_TOKEN, dka, sizeof dka);
    key_authorization("good-q", qka, sizeof qka);
    for (i = 0; i < 2; i++)
        CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "hang-s", ka, on_done,
                                     &hang[i], &err),
                 &err);
    CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_TLSALPN01, "alpn-good.test", TLS_TOKEN, tka,
                                 on_done, &tls_hang, &err),
             &err);
    CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_DNS01, "stop.test", DNS_TOKEN, dka, on_done,
                                 &dns_hang, &err),
             &err);
    for (i = 0; i < QUEUED; i++)
        CHECK_OK(cs_validator_submit(v, CS_CHALLENGE_HTTP01, "a.test", "good-q", qka, on_done,
                                     &queued[i], &err),
                 &err);
    /* All four workers are inside their waits: two held requests, one TLS
     * connection accepted, one DNS question arrived. */
    CHECK(wait_counter(&http_r.hanging, hanging + 2) == 0);
    CHECK(wait_counter(&silent_tls.accepted, accepted + 1) == 0);
    CHECK(poll(&p, 1, WAIT_SECS * 1000) == 1);
    cs_validator_stop(v);
    for (i = 0; i < 2; i++)
        CHECK_PROBLEM(hang[i], "serverInternal", "stopped before this validation finished");
    CHECK_PROBLEM(tls_hang, "serverInternal", "stopped before this validation finished");
    CHECK_PROBLEM(dns_hang, "serverInternal", "stopped before this validation finished");
    for (i = 0; i < QUEUED; i++)
        CHECK_PROBLEM(queued[i], "serverInternal", "stopped before this validation began");
    fprintf(stderr, "  stopped: %s | %s | %s\n", hang[0].detail, tls_hang.detail,
            dns_hang.detail);
    responder_stop(&silent_tls);
    close(dfd);
}

int main(void)
{
    char dir[] = "/tmp/cs-test-validate-XXXXXX";
    cs_validator *v;
    char resolver[32];

    signal(SIGPIPE, SIG_IGN);
    /* A proxy in the environment must not be used: every http-01 test
     * would fail through this one. */
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
    setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
    if (!mkdtemp(dir) || chdir(dir) != 0) {
        perror("temporary directory");
        return 1;
    }
    tls_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(tls_key != NULL);

    test_config();

    http_r.serve = serve_http;
    CHECK(responder_start(&http_r) == 0);
    tls_r.serve = serve_tls;
    tls_r.tls = server_tls();
    CHECK(responder_start(&tls_r) == 0);
    CHECK(challtestsrv_start() == 0);
    snprintf(resolver, sizeof resolver, "127.0.0.1:%d", dns_port);

    v = start(http_r.port, tls_r.port, resolver, 4, 30000);
    test_http01(v);
    test_tlsalpn01(v);
    test_dns01(v);
    test_dns_addresses(v);
    test_many(v);
    cs_validator_stop(v);
    test_reference_responders();

    test_timeout();
    test_dns_timeout();
    test_system_resolver();
    test_refused();
    test_queue_full();
    test_stop_in_flight();

    challtestsrv_stop();
    responder_stop(&http_r);
    responder_stop(&tls_r);
    SSL_CTX_free(tls_r.tls);
    EVP_PKEY_free(tls_key);
    if (chdir("/") == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return CHECK_DONE();
}
