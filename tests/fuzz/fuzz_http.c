/* libFuzzer target: whatever bytes a client sends, the real server answers
 * or closes, and never serves a byte from outside its www folder. One
 * cs_server is started at init on 127.0.0.1 (ports 0) as serve.lua starts
 * it: a hello page with the client marker, a CRL route and the /ocsp handler
 * (both also on the plain-HTTP listener), static files from a temporary www
 * whose parent holds a file no request may reach. Per input: the first byte
 * picks the listener (even: plain HTTP, odd: TLS), the rest is written as
 * is on a new connection, the write side is closed, and the answer is read
 * until the server closes or 2 s pass. Coverage is CivetWeb's parser and
 * our route dispatch, body reader and handlers (the CS_FUZZ build
 * instruments civetweb.c); slow per input, but the real path. With
 * CS_FUZZ_SEEDS=dir, requests for every route are written there; with
 * CS_FUZZ_SYMLINK=1, www also holds a symlink to the outside file. Build with
 * -DCS_FUZZ=ON and CC=clang; see tests/fuzz/README.md. */
#define _GNU_SOURCE /* memmem */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include "crl.h"
#include "fuzz_common.h"
#include "internal.h"
#include "ocsp.h"
#include "server.h"

#define OUTSIDE "fuzz_http: a file outside www/ 6c1d0f"
#define READ_MS 2000

static cs_server *server;
static cs_ocsp_responder *responder;
static SSL_CTX *client_ctx;
static char root[] = "/tmp/fuzz_http.XXXXXX";
static char www[sizeof root + 8];
static int plain_port, tls_port;
static unsigned long timeouts;

static cs_code lookup(void *arg, const char *issuer, const char *serial_hex,
                      cs_revocation *out, cs_err *err)
{
    size_t n = strlen(serial_hex);

    (void)arg;
    (void)issuer;
    (void)err;
    memset(out, 0, sizeof *out);
    out->status = n && serial_hex[n - 1] == '1' ? CS_STATUS_REVOKED : CS_STATUS_GOOD;
    out->revoked_at = out->status == CS_STATUS_REVOKED ? 1700000000 : 0;
    out->reason = -1;
    return CS_OK;
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fz_die(path, NULL);
}

static void remove_tree(void)
{
    char cmd[512];

    cs_server_stop(server);
    server = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_http: could not remove %s\n", root);
}

static void seed_request(const char *dir, const char *name, int tls, const char *head,
                         const unsigned char *body, size_t body_len)
{
    size_t hlen = strlen(head);
    unsigned char *buf = malloc(1 + hlen + body_len);

    if (!buf)
        fz_die("out of memory", NULL);
    buf[0] = tls ? 1 : 0;
    memcpy(buf + 1, head, hlen);
    if (body_len)
        memcpy(buf + 1 + hlen, body, body_len);
    fz_seed(dir, name, buf, 1 + hlen + body_len);
    free(buf);
}

static void seeds(const char *dir, const cs_cert *ca)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    OCSP_CERTID *id = NULL;
    unsigned char *der = NULL;
    char head[4096], b64[4096];
    int len = 0;

    if (req && serial && ASN1_INTEGER_set(serial, 0x21) == 1)
        id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca->x509),
                              X509_get0_pubkey_bitstr(ca->x509), serial);
    if (!id || !OCSP_request_add0_id(req, id))
        fz_die("OCSP request", NULL);
    len = i2d_OCSP_REQUEST(req, &der);
    if (len <= 0 || len > 1024)
        fz_die("OCSP request DER", NULL);
    EVP_EncodeBlock((unsigned char *)b64, der, len);

    snprintf(head, sizeof head, "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/ocsp-request\r\nContent-Length: %d\r\n\r\n", len);
    seed_request(dir, "ocsp-post", 0, head, der, (size_t)len);
    snprintf(head, sizeof head, "GET /ocsp/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b64);
    seed_request(dir, "ocsp-get", 0, head, NULL, 0);
    snprintf(head, sizeof head, "POST /ocsp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "%x\r\n", len);
    seed_request(dir, "ocsp-chunked", 1, head, der, (size_t)len);
    seed_request(dir, "crl", 0, "GET /crl.der HTTP/1.1\r\nHost: x\r\nConnection: keep-alive"
                 "\r\n\r\nHEAD /crl.der HTTP/1.0\r\n\r\n", NULL, 0);
    seed_request(dir, "hello", 1, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", NULL, 0);
    seed_request(dir, "static", 1, "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nRange: "
                 "bytes=1-3\r\nIf-Modified-Since: Sat, 29 Oct 1994 19:43:31 GMT\r\n\r\n",
                 NULL, 0);
    seed_request(dir, "dir", 1, "GET /sub/ HTTP/1.1\r\n\r\nGET /sub/../a.txt?x=1#f HTTP/1.1"
                 "\r\n\r\n", NULL, 0);
    seed_request(dir, "outside", 1, "GET /../outside.txt HTTP/1.0\r\n\r\n", NULL, 0);
    seed_request(dir, "link", 1, "GET /link.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", NULL,
                 0);
    seed_request(dir, "options", 0, "OPTIONS * HTTP/1.1\r\nExpect: 100-continue\r\n"
                 "Content-Length: 3\r\n\r\nabc", NULL, 0);
    OPENSSL_free(der);
    ASN1_INTEGER_free(serial);
    OCSP_REQUEST_free(req);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const hosts[] = {"127.0.0.1"};
    static const char hello[] = "<p>Hello, {{client}}</p>\n";
    cs_key *ca_key = fz_fixed_key("chainsmith fuzz_http CA");
    cs_key *leaf_key = fz_fixed_key("chainsmith fuzz_http leaf");
    cs_cert *ca = fz_ca(ca_key, "Fuzz HTTP CA");
    cs_cert *leaf = fz_issue(leaf_key, "localhost", ca, ca_key, 0);
    cs_crl_params cp = {1700000000, 1700086400, 1, NULL, 0};
    cs_crl *crl = NULL;
    unsigned char *crl_der = NULL;
    size_t crl_len = 0;
    cs_ocsp_params op;
    cs_server_config cfg;
    cs_route routes[3];
    cs_err err;

    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* a server that closes first is no crash of ours */
    if (!mkdtemp(root))
        fz_die(root, NULL);
    snprintf(www, sizeof www, "%s/www", root);
    if (mkdir(www, 0700) != 0)
        fz_die(www, NULL);
    put(root, "outside.txt", OUTSIDE "\n");
    put(www, "a.txt", "static file\n");
    put(www, "index.html", "<p>index</p>\n");
    {
        char sub[sizeof www + 8];
        snprintf(sub, sizeof sub, "%s/sub", www);
        if (mkdir(sub, 0700) != 0)
            fz_die(sub, NULL);
        put(sub, "b.css", "p { }\n");
    }
    if (getenv("CS_FUZZ_SYMLINK")) {
        /* www/link.txt -> ../outside.txt: refused once symlinks leaving www are */
        char link[sizeof www + 16];
        snprintf(link, sizeof link, "%s/link.txt", www);
        if (symlink("../outside.txt", link) != 0)
            fz_die(link, NULL);
    }

    if (cs_crl_sign(&cp, ca, ca_key, &crl, &err) != CS_OK ||
        cs_crl_der(crl, &crl_der, &crl_len, &err) != CS_OK)
        fz_die("CRL", &err);
    memset(&op, 0, sizeof op);
    op.issuer = op.signer = ca;
    op.signer_key = ca_key;
    op.next_update_secs = 3600;
    op.lookup = lookup;
    if (cs_ocsp_responder_new(&op, &responder, &err) != CS_OK)
        fz_die("responder", &err);

    memset(routes, 0, sizeof routes);
    routes[0] = (cs_route){"/", "text/html; charset=utf-8", hello, sizeof hello - 1,
                           "{{client}}", 0};
    routes[1] = (cs_route){"/crl.der", "application/pkix-crl", (const char *)crl_der,
                           crl_len, NULL, 1};
    routes[2] = (cs_route){"/root.pem", "application/x-pem-file", "-----BEGIN", 10, NULL, 0};
    memset(&cfg, 0, sizeof cfg);
    cfg.hosts = hosts;
    cfg.hosts_len = 1;
    cfg.port = 0;
    cfg.http_port = 0;
    cfg.document_root = www;
    cfg.leaf = leaf;
    cfg.key = leaf_key;
    cfg.chain = (const cs_cert *const *)&ca;
    cfg.chain_len = 1;
    cfg.routes = routes;
    cfg.routes_len = 3;
    cfg.ocsp = responder; /* /ocsp on both listeners, core to core */
    cfg.threads = 4;
    if (cs_server_start(&cfg, &server, &err) != CS_OK)
        fz_die("server", &err);
    atexit(remove_tree);
    plain_port = cs_server_http_port(server);
    tls_port = cs_server_port(server);

    client_ctx = SSL_CTX_new(TLS_client_method());
    if (!client_ctx)
        fz_die("client SSL_CTX", NULL);
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL); /* not what is tested here */

    if (fz_seed_dir())
        seeds(fz_seed_dir(), ca);
    free(crl_der);
    cs_crl_free(crl);
    cs_cert_free(leaf);
    cs_cert_free(ca);
    cs_key_free(leaf_key);
    cs_key_free(ca_key);
    return 0;
}

static int connect_to(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {READ_MS / 1000, (READ_MS % 1000) * 1000};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        fz_die("socket", NULL);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fz_die("connect", NULL);
    return fd;
}

/* Append what arrives on fd (or ssl) to buf until EOF, an error or the
 * deadline; 1 if the deadline passed with the connection still open. */
static int read_answer(int fd, SSL *ssl, char *buf, size_t cap, size_t *len)
{
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        char tmp[4096];
        int n;
        if (!(ssl && SSL_pending(ssl) > 0) && poll(&p, 1, READ_MS) == 0)
            return 1;
        n = ssl ? SSL_read(ssl, tmp, (int)sizeof tmp) : (int)read(fd, tmp, sizeof tmp);
        if (n <= 0)
            return 0;
        if (*len < cap) {
            size_t k = (size_t)n < cap - *len ? (size_t)n : cap - *len;
            memcpy(buf + *len, tmp, k);
            *len += k;
        }
    }
}

/* Does a successful answer (2xx) carry the outside file? Error pages may
 * echo the request, and the fuzzer soon learns the marker: an answer holding
 * it counts only when the request does not, and only in the body of the
 * answer whose status line comes last before it. */
static int served_outside(const char *answer, size_t len, const unsigned char *req,
                          size_t req_len)
{
    const char *hit = memmem(answer, len, OUTSIDE, strlen(OUTSIDE));
    const char *status = NULL;

    if (!hit || memmem(req, req_len, OUTSIDE, strlen(OUTSIDE)))
        return 0;
    for (const char *p = answer; p && p < hit;) {
        p = memmem(p, (size_t)(hit - p), "HTTP/1.", 7);
        if (p) {
            status = p;
            p += 7;
        }
    }
    return status && hit - status > 10 && status[8] == ' ' && status[9] == '2';
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static char answer[1 << 20];
    size_t len = 0;
    int tls, fd, late = 0;
    SSL *ssl = NULL;

    if (size < 1)
        return 0;
    tls = data[0] & 1;
    data++;
    size--;
    fd = connect_to(tls ? tls_port : plain_port);
    if (tls) {
        ssl = SSL_new(client_ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1)
            fz_die("SSL_new", NULL);
        SSL_set_tlsext_host_name(ssl, "localhost");
        if (SSL_connect(ssl) != 1) {
            late = 1; /* counted with the slow answers: the machine may be loaded */
            goto done;
        }
        if (size > 0 && SSL_write(ssl, data, (int)size) <= 0)
            goto done; /* the server closed early: fine */
        SSL_shutdown(ssl); /* close_notify: the request ends here */
    } else {
        size_t off = 0;
        while (off < size) {
            ssize_t n = write(fd, data + off, size - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    shutdown(fd, SHUT_WR);
    late = read_answer(fd, ssl, answer, sizeof answer, &len);
    if (getenv("CS_FUZZ_VERBOSE")) /* what came back: its first line */
        fprintf(stderr, "fuzz_http: %s: %zu bytes: %.*s\n", tls ? "https" : "http", len,
                (int)strcspn(answer, "\r\n") < (int)len ? (int)strcspn(answer, "\r\n") : (int)len,
                answer);
    if (served_outside(answer, len, data, size)) {
        fprintf(stderr, "fuzz_http: served a file outside www/\n");
        abort();
    }
done:
    if (late && ++timeouts % 100 == 1)
        fprintf(stderr, "fuzz_http: %lu answers not finished within %d ms\n", timeouts, READ_MS);
    SSL_free(ssl);
    ERR_clear_error();
    close(fd);
    return 0;
}
