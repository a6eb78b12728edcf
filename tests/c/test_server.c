/* The HTTPS server against real clients: curl and openssl s_client, over a
 * P-256 root -> intermediate (pathlen 0) -> leaf chain made with the CLI. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "check.h"
#include "error.h"
#include "key.h"
#include "server.h"

static char dir[64];

static const char ext_cnf[] =
    "[req]\n"
    "distinguished_name = dn\n"
    "[dn]\n"
    "[root]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "[inter]\n"
    "basicConstraints = critical,CA:TRUE,pathlen:0\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[leaf]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n";

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* Run a shell command in dir; its stdout (up to cap - 1 bytes) in out; the
 * exit status, or -1. */
static int run(char *out, size_t cap, const char *fmt, ...) CS_PRINTF(3, 4);
static int run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[2048];
    int n;
    size_t used = 0;
    FILE *p;
    va_list ap;

    n = snprintf(cmd, sizeof cmd, "cd '%s' && ", dir);
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out && cap > 0) {
        while (used + 1 < cap) {
            size_t got = fread(out + used, 1, cap - 1 - used, p);
            if (got == 0)
                break;
            used += got;
        }
        out[used] = '\0';
    }
    {
        char sink[256];
        while (fread(sink, 1, sizeof sink, p) > 0)
            ;
    }
    n = pclose(p);
    return WIFEXITED(n) ? WEXITSTATUS(n) : -1;
}

static int make_chain(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ext.cnf", dir);
    if (write_file(path, ext_cnf) != 0)
        return -1;
    return run(NULL, 0, "{ "
               "for k in root inter leaf other; do "
               "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key "
               "|| exit 1; done; "
               "openssl req -x509 -new -config ext.cnf -extensions root -key root.key "
               "-subj '/CN=Test Root' -sha256 -days 2 -out root.pem || exit 1; "
               "openssl req -new -config ext.cnf -key inter.key -subj '/CN=Test Inter' "
               "-out inter.csr || exit 1; "
               "openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key "
               "-CAcreateserial -extfile ext.cnf -extensions inter -sha256 -days 2 "
               "-out inter.pem || exit 1; "
               "openssl req -new -config ext.cnf -key leaf.key -subj '/CN=localhost' "
               "-out leaf.csr || exit 1; "
               "openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key "
               "-CAcreateserial -extfile ext.cnf -extensions leaf -sha256 -days 2 "
               "-out leaf.pem || exit 1; "
               "mkdir -p www/sub && printf 'file a\\n' > www/a.txt "
               "&& printf 'in sub\\n' > www/sub/b.txt; "
               "} >/dev/null 2>&1");
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    const char *p = strstr(hay, needle);
    while (p) {
        n++;
        p = strstr(p + strlen(needle), needle);
    }
    return n;
}

/* 1 if a TLS 1.3 session saved from one connection resumes the next, 0 if
 * not (or no session was offered), -1 if s_client failed. The request makes
 * s_client read past the handshake, where TLS 1.3 tickets arrive. */
static int resumes_tls13(int port, const char *tag)
{
    char out[16384];
    int rc;

    rc = run(NULL, 0,
             "rm -f sess.%s; printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
             "openssl s_client -connect 127.0.0.1:%d -tls1_3 -ign_eof -sess_out sess.%s "
             ">/dev/null 2>&1", tag, port, tag);
    if (rc != 0)
        return -1;
    rc = run(out, sizeof out,
             "if [ -s sess.%s ]; then openssl s_client -connect 127.0.0.1:%d -tls1_3 "
             "-sess_in sess.%s </dev/null 2>&1; fi", tag, port, tag);
    if (rc != 0)
        return -1;
    return strstr(out, "\nReused, TLSv1.3") != NULL;
}

static void *send_sigterm(void *arg)
{
    struct timespec t = {0, 100 * 1000 * 1000};
    (void)arg;
    nanosleep(&t, NULL);
    kill(getpid(), SIGTERM);
    return NULL;
}

static void test_config_errors(const cs_server_config *good)
{
    cs_server_config c;
    cs_server *srv = NULL;
    cs_err err;
    const char *const hosts[] = {"127.0.0.1"};
    const char *const bad_hosts[] = {"127.0.0.1,0.0.0.0"};
    const cs_route bad_route[] = {{"noslash", "text/plain", "x", 1}};
    const cs_route bad_type[] = {{"/", "text/plain\r\nX-Evil: 1", "x", 1}};

    CHECK_FAIL(cs_server_start(NULL, &srv, &err), CS_EINVAL, &err, "configuration");
    c = *good;
    c.leaf = NULL;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "leaf");
    c = *good;
    c.key = NULL;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "key");
    c = *good;
    c.hosts_len = 0;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "hosts");
    c = *good;
    c.hosts = bad_hosts;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "hosts[1]");
    c = *good;
    c.hosts = hosts;
    c.port = 70000;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "port");
    c.port = -1;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "port");
    c = *good;
    c.routes = bad_route;
    c.routes_len = 1;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "routes[1].path");
    c.routes = bad_type;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "routes[1].content_type");
    CHECK(srv == NULL);
}

static void test_signals(void)
{
    pthread_t t;
    struct sigaction ign, old, now;
    struct timespec a, b;
    long ms;

    /* The previous handler (here SIG_IGN) comes back afterwards. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGTERM, &ign, &old);

    CHECK(pthread_create(&t, NULL, send_sigterm, NULL) == 0);
    CHECK(cs_wait_for_stop_signal(5000) == SIGTERM);
    pthread_join(t, NULL);
    sigaction(SIGTERM, NULL, &now);
    CHECK(now.sa_handler == SIG_IGN);

    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(cs_wait_for_stop_signal(50) == 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    CHECK(ms >= 50 && ms < 2000);

    sigaction(SIGTERM, &old, NULL);
}

int main(void)
{
    cs_err err;
    cs_cert *leaf = NULL, *inter = NULL;
    cs_key *key = NULL, *other = NULL;
    cs_server *srv = NULL, *srv2 = NULL, *srv6 = NULL;
    char path[128], www[128], out[16384];
    const char *const hosts[] = {"127.0.0.1"};
    const char *const hosts6[] = {"::1"};
    const cs_route routes[] = {
        {"/", "text/plain; charset=utf-8", "Hello, World!", 13},
        {"/empty", "text/plain", NULL, 0},
    };
    const cs_cert *chain[1];
    cs_server_config cfg;
    int port, rc;

    snprintf(dir, sizeof dir, "/tmp/cs_test_server_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK(make_chain() == 0);

#define LOAD(fn, name, outp)                                                     \
    do {                                                                         \
        snprintf(path, sizeof path, "%s/%s", dir, name);                         \
        CHECK_OK(fn(path, outp, &err), &err);                                    \
    } while (0)
    LOAD(cs_cert_load_file, "leaf.pem", &leaf);
    LOAD(cs_cert_load_file, "inter.pem", &inter);
    LOAD(cs_key_load_file, "leaf.key", &key);
    LOAD(cs_key_load_file, "other.key", &other);
    if (!leaf || !inter || !key || !other) {
        fprintf(stderr, "fixtures missing in %s\n", dir);
        return CHECK_DONE();
    }
    snprintf(www, sizeof www, "%s/www", dir);
    chain[0] = inter;

    memset(&cfg, 0, sizeof cfg);
    cfg.hosts = hosts;
    cfg.hosts_len = 1;
    cfg.port = 0;
    cfg.document_root = www;
    cfg.leaf = leaf;
    cfg.chain = chain;
    cfg.chain_len = 1;
    cfg.key = key;
    cfg.routes = routes;
    cfg.routes_len = 2;
    cfg.threads = 4;

    test_config_errors(&cfg);

    /* A key that is not the leaf's. */
    {
        cs_server_config c = cfg;
        c.key = other;
        CHECK_FAIL(cs_server_start(&c, &srv2, &err), CS_EMISMATCH, &err,
                   "server: the key does not match the certificate");
        CHECK(srv2 == NULL);
    }

    CHECK_OK(cs_server_start(&cfg, &srv, &err), &err);
    if (!srv)
        goto done;
    port = cs_server_port(srv);
    CHECK(port > 0 && port <= 65535);

#define CURL "curl -sS --max-time 10 --cacert root.pem --resolve localhost:%d:127.0.0.1 "
    /* The route, verified against the root only: the intermediate is sent. */
    rc = run(out, sizeof out, CURL "https://localhost:%d/", port, port);
    CHECK(rc == 0);
    CHECK(strcmp(out, "Hello, World!") == 0);

    /* Headers: content type, length, the security headers. */
    rc = run(out, sizeof out, CURL "-i https://localhost:%d/", port, port);
    CHECK(rc == 0);
    CHECK(strstr(out, "HTTP/1.1 200 OK\r\n") == out);
    CHECK(strstr(out, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
    CHECK(strstr(out, "Content-Length: 13\r\n") != NULL);
    CHECK(strstr(out, "X-Content-Type-Options: nosniff\r\n") != NULL);
    CHECK(strstr(out, "Content-Security-Policy: default-src 'self'") != NULL);

    /* HEAD: headers only; POST: 405. */
    rc = run(out, sizeof out, CURL "-I https://localhost:%d/", port, port);
    CHECK(rc == 0);
    CHECK(strstr(out, "Content-Length: 13\r\n") != NULL);
    CHECK(strstr(out, "Hello") == NULL);
    rc = run(out, sizeof out, CURL "-o /dev/null -w '%%{http_code}' -d x https://localhost:%d/",
             port, port);
    CHECK(rc == 0 && strcmp(out, "405") == 0);

    /* Routes skip CivetWeb's password-file lookup, and that opens nothing:
     * PUT and DELETE on a route are 405, on a file still refused, and no file
     * is written or removed. */
    rc = run(out, sizeof out,
             CURL "-o /dev/null -w '%%{http_code}' -X PUT -d x https://localhost:%d/", port, port);
    CHECK(rc == 0 && strcmp(out, "405") == 0);
    rc = run(out, sizeof out,
             CURL "-o /dev/null -w '%%{http_code}' -X PUT -d x https://localhost:%d/new.txt",
             port, port);
    CHECK(rc == 0 && strcmp(out, "401") == 0);
    rc = run(out, sizeof out,
             CURL "-o /dev/null -w '%%{http_code}' -X DELETE https://localhost:%d/a.txt", port,
             port);
    CHECK(rc == 0 && strcmp(out, "401") == 0);
    rc = run(NULL, 0, "test ! -e www/new.txt && test -f www/a.txt");
    CHECK(rc == 0);

    /* An empty route. */
    rc = run(out, sizeof out, CURL "-w '[%%{http_code}]' https://localhost:%d/empty", port,
             port);
    CHECK(rc == 0 && strcmp(out, "[200]") == 0);

    /* The exact bytes on the wire, one response each way: the body and the
     * headers as before, and a Connection header that says what the server
     * does next (without it, a client that asked to close kept the socket and
     * its next request met a closed connection: wrk's read errors). */
#define HEAD_200(conn)                                                                   \
    "HTTP/1.1 200 OK\r\n"                                                               \
    "Content-Type: text/plain; charset=utf-8\r\n"                                       \
    "Content-Length: 13\r\n"                                                            \
    "X-Content-Type-Options: nosniff\r\n"                                               \
    "Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'\r\n" \
    "Connection: " conn "\r\n\r\n"
#define RAW "openssl s_client -quiet -ign_eof -connect 127.0.0.1:%d 2>/dev/null"
    rc = run(out, sizeof out, "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
             "HEAD / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | " RAW,
             port);
    CHECK(strcmp(out, HEAD_200("keep-alive") "Hello, World!" HEAD_200("close")) == 0);
    rc = run(out, sizeof out, "printf 'GET / HTTP/1.0\\r\\n\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' | " RAW,
             port);
    CHECK(strcmp(out, HEAD_200("close") "Hello, World!") == 0);
    rc = run(out, sizeof out,
             "printf 'GET / HTTP/1.0\\r\\nConnection: Keep-Alive\\r\\n\\r\\n"
             "DELETE / HTTP/1.1\\r\\nHost: x\\r\\nConnection: foo, close\\r\\n\\r\\n' | " RAW,
             port);
    CHECK(strcmp(out, HEAD_200("keep-alive") "Hello, World!"
                      "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
                      "Content-Length: 0\r\nX-Content-Type-Options: nosniff\r\n"
                      "Connection: close\r\n\r\n") == 0);

    /* Connection: close ends in a close_notify alert, then the socket closes. */
    rc = run(out, sizeof out,
             "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
             "openssl s_client -msg -ign_eof -connect 127.0.0.1:%d 2>&1", port);
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    CHECK(strstr(out, "<<< TLS 1.3, Alert [length 0002], warning close_notify") != NULL);
    rc = run(out, sizeof out,
             CURL "-H 'Connection: close' -w '[%%{num_connects}]' "
             "https://localhost:%d/ https://localhost:%d/", port, port, port);
    CHECK(rc == 0 && strcmp(out, "Hello, World![1]Hello, World![1]") == 0);

    /* Keep-alive: two requests, one connection. */
    rc = run(out, sizeof out,
             CURL "-w '[%%{num_connects}]' https://localhost:%d/ https://localhost:%d/", port,
             port, port);
    CHECK(rc == 0 && strcmp(out, "Hello, World![1]Hello, World![0]") == 0);

    /* Leaf and intermediate on the wire. */
    rc = run(out, sizeof out,
             "openssl s_client -connect 127.0.0.1:%d -servername localhost -showcerts "
             "</dev/null 2>/dev/null", port);
    CHECK(count(out, "-----BEGIN CERTIFICATE-----") == 2);
    CHECK(strstr(out, "Test Inter") != NULL);

    /* TLS 1.2 and 1.3 work; 1.0/1.1 and non-ECDHE/non-AEAD suites do not. */
    rc = run(NULL, 0, CURL "-o /dev/null --tlsv1.2 --tls-max 1.2 https://localhost:%d/ "
             "2>/dev/null", port, port);
    CHECK(rc == 0);
    rc = run(NULL, 0, CURL "-o /dev/null --tlsv1.3 https://localhost:%d/ 2>/dev/null", port,
             port);
    CHECK(rc == 0);
    rc = run(NULL, 0, CURL "-o /dev/null --tls-max 1.1 https://localhost:%d/ 2>/dev/null",
             port, port);
    CHECK(rc != 0);
    rc = run(out, sizeof out,
             "openssl s_client -connect 127.0.0.1:%d -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' "
             "</dev/null 2>&1", port);
    CHECK(rc != 0);
    rc = run(NULL, 0,
             "openssl s_client -connect 127.0.0.1:%d -tls1_2 -cipher AES128-GCM-SHA256 "
             "</dev/null >/dev/null 2>&1", port);
    CHECK(rc != 0);
    rc = run(NULL, 0,
             "openssl s_client -connect 127.0.0.1:%d -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA "
             "</dev/null >/dev/null 2>&1", port);
    CHECK(rc != 0);
    rc = run(out, sizeof out,
             "openssl s_client -connect 127.0.0.1:%d -tls1_2 </dev/null 2>/dev/null", port);
    CHECK(rc == 0);
    CHECK(strstr(out, "ECDHE-ECDSA-") != NULL);

    /* Static files, no listing, no escape. */
    rc = run(out, sizeof out, CURL "-i https://localhost:%d/a.txt", port, port);
    CHECK(rc == 0);
    CHECK(strstr(out, "200 OK") != NULL && strstr(out, "file a\n") != NULL);
    CHECK(strstr(out, "X-Content-Type-Options: nosniff") != NULL);
    rc = run(out, sizeof out, CURL "-o /dev/null -w '%%{http_code}' https://localhost:%d/sub/",
             port, port);
    CHECK(rc == 0 && (strcmp(out, "403") == 0 || strcmp(out, "404") == 0));
    rc = run(out, sizeof out, CURL "https://localhost:%d/sub/", port, port);
    CHECK(strstr(out, "b.txt") == NULL);
    rc = run(out, sizeof out, CURL "https://localhost:%d/sub/b.txt", port, port);
    CHECK(rc == 0 && strcmp(out, "in sub\n") == 0);
    rc = run(out, sizeof out, CURL "--path-as-is https://localhost:%d/../../etc/passwd", port,
             port);
    CHECK(strstr(out, "root:") == NULL);
    rc = run(out, sizeof out,
             CURL "--path-as-is https://localhost:%d/%%2e%%2e/%%2e%%2e/etc/passwd", port, port);
    CHECK(strstr(out, "root:") == NULL);
    rc = run(out, sizeof out, CURL "-o /dev/null -w '%%{http_code}' https://localhost:%d/nope",
             port, port);
    CHECK(rc == 0 && strcmp(out, "404") == 0);

    /* Resumption is on by default: TLS 1.2 session IDs, TLS 1.3 tickets. */
    rc = run(out, sizeof out,
             "openssl s_client -connect 127.0.0.1:%d -tls1_2 -reconnect </dev/null 2>&1", port);
    CHECK(count(out, "\nReused, TLSv1.2") == 5);
    CHECK(resumes_tls13(port, "on") == 1);

    /* The same port again. */
    {
        cs_server_config c = cfg;
        c.port = port;
        CHECK_FAIL(cs_server_start(&c, &srv2, &err), CS_ESERVER, &err,
                   "server: cannot listen on 127.0.0.1:");
        CHECK(srv2 == NULL);
        if (err.code == CS_ESERVER)
            printf("(expected) %s\n", err.msg);
    }

    /* Resumption off: every connection is a full handshake. */
    {
        cs_server_config c = cfg;
        cs_server *off = NULL;
        c.no_resumption = 1;
        CHECK_OK(cs_server_start(&c, &off, &err), &err);
        if (off) {
            int p = cs_server_port(off);
            rc = run(out, sizeof out,
                     "openssl s_client -connect 127.0.0.1:%d -tls1_2 -reconnect </dev/null 2>&1",
                     p);
            CHECK(count(out, "\nNew, TLSv1.2") == 6 && count(out, "Reused") == 0);
            CHECK(resumes_tls13(p, "off") == 0);
        }
        cs_server_stop(off);
    }

    /* IPv6 loopback, no document root: the route only. */
    {
        cs_server_config c = cfg;
        c.hosts = hosts6;
        c.document_root = NULL;
        c.routes_len = 1;
        c.threads = 0;
        CHECK_OK(cs_server_start(&c, &srv6, &err), &err);
        if (srv6) {
            int p6 = cs_server_port(srv6);
            rc = run(out, sizeof out,
                     "curl -sS --max-time 10 --cacert root.pem https://[::1]:%d/", p6);
            CHECK(rc == 0 && strcmp(out, "Hello, World!") == 0);
            rc = run(out, sizeof out,
                     "curl -sS --max-time 10 --cacert root.pem -o /dev/null "
                     "-w '%%{http_code}' https://[::1]:%d/a.txt", p6);
            CHECK(rc == 0 && strcmp(out, "404") == 0);
        }
    }

done:
    cs_server_stop(srv6);
    cs_server_stop(srv);
    cs_server_stop(NULL);

    test_signals();

    cs_key_free(other);
    cs_key_free(key);
    cs_cert_free(inter);
    cs_cert_free(leaf);
    run(NULL, 0, "cd / && rm -rf '%s'", dir);
    return CHECK_DONE();
}
