/* The HTTPS server against real clients: curl and openssl s_client, over a
 * P-256 root -> intermediate (pathlen 0) -> leaf chain made with the CLI. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cert.h"
#include "check.h"
#include "error.h"
#include "fixtures.h"
#include "key.h"
#include "ocsp.h"
#include "server.h"
#include "signals.h"
#include "store.h"

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
    "authorityKeyIdentifier = keyid\n"
    "[client]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = clientAuth\n"
    "subjectAltName = email:alice@example.com\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[client_noaki]\n" /* fine for OpenSSL, not X.509-strict */
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = clientAuth\n"
    "subjectAltName = email:alice@example.com\n"
    "subjectKeyIdentifier = none\n"
    "authorityKeyIdentifier = none\n";

static int make_chain(void)
{
    char path[128];
    fx_path(path, sizeof path, "ext.cnf");
    if (fx_write_file(path, ext_cnf, strlen(ext_cnf)) != 0)
        return -1;
    return fx_run(NULL, 0, "{ "
                  "for k in root inter leaf leaf2 other client oroot oclient; do "
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
                  /* the renewed leaf, and an OCSP response ('unknown') to staple */
                  "openssl req -new -config ext.cnf -key leaf2.key -subj '/CN=localhost' "
                  "-out leaf2.csr || exit 1; "
                  "openssl x509 -req -in leaf2.csr -CA inter.pem -CAkey inter.key "
                  "-CAcreateserial -extfile ext.cnf -extensions leaf -sha256 -days 2 "
                  "-out leaf2.pem || exit 1; "
                  ": > index.txt; "
                  "openssl ocsp -issuer inter.pem -cert leaf.pem -no_nonce -reqout ocspreq.der "
                  "|| exit 1; "
                  "openssl ocsp -index index.txt -rsigner inter.pem -rkey inter.key -CA inter.pem "
                  "-reqin ocspreq.der -respout staple.der -ndays 1 || exit 1; "
                  /* a client of ours (subject with HTML in it), one of another CA */
                  "openssl req -new -config ext.cnf -key client.key "
                  "-subj '/O=Test/CN=Alice <b>&' -out client.csr || exit 1; "
                  "openssl x509 -req -in client.csr -CA inter.pem -CAkey inter.key "
                  "-CAcreateserial -extfile ext.cnf -extensions client -sha256 -days 2 "
                  "-out client.pem || exit 1; "
                  "cat client.pem inter.pem > client-chain.pem; "
                  "openssl x509 -req -in client.csr -CA inter.pem -CAkey inter.key "
                  "-CAcreateserial -extfile ext.cnf -extensions client_noaki -sha256 -days 2 "
                  "-out noaki.pem || exit 1; "
                  "openssl req -x509 -new -config ext.cnf -extensions root -key oroot.key "
                  "-subj '/CN=Other Root' -sha256 -days 2 -out oroot.pem || exit 1; "
                  "openssl req -new -config ext.cnf -key oclient.key -subj '/CN=Mallory' "
                  "-out oclient.csr || exit 1; "
                  "openssl x509 -req -in oclient.csr -CA oroot.pem -CAkey oroot.key "
                  "-CAcreateserial -extfile ext.cnf -extensions client -sha256 -days 2 "
                  "-out oclient.pem || exit 1; "
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

    rc = fx_run(NULL, 0,
                "rm -f sess.%s; "
                "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
                "openssl s_client -connect 127.0.0.1:%d -tls1_3 -ign_eof -sess_out sess.%s "
                ">/dev/null 2>&1", tag, port, tag);
    if (rc != 0)
        return -1;
    rc = fx_run(out, sizeof out,
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
    const cs_route bad_route[] = {{"noslash", "text/plain", "x", 1, NULL, 0}};
    const cs_route bad_type[] = {{"/", "text/plain\r\nX-Evil: 1", "x", 1, NULL, 0}};

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

/* A client certificate of ours that expired yesterday: openssl x509 -req
 * cannot backdate, core can. */
static int make_expired(const cs_cert *inter, const cs_key *inter_key)
{
    static const cs_rdn subject[] = {{"O", "Test"}, {"CN", "Expired"}};
    static const char *const eku[] = {"clientAuth"};
    static const cs_name san[] = {{CS_NAME_EMAIL, "expired@example.com"}};
    cs_cert_spec spec = fx_leaf_spec(subject, 2, eku, san, 1, 1);
    cs_key *key = NULL;
    cs_cert *cert = NULL;
    cs_err err;
    char path[128];
    time_t now = time(NULL);
    int ok;

    spec.not_before = (int64_t)now - 3 * 86400;
    spec.not_after = (int64_t)now - 86400;
    fx_path(path, sizeof path, "client.key");
    ok = cs_key_load_file(path, &key, &err) == CS_OK &&
         cs_cert_sign(&spec, key, inter, inter_key, &cert, &err) == CS_OK;
    if (ok) {
        const cs_cert *one = cert;
        fx_path(path, sizeof path, "expired.pem");
        ok = cs_cert_save(&one, 1, path, 0, &err) == CS_OK;
    }
    if (!ok)
        fprintf(stderr, "expired client: %s\n", err.msg);
    cs_cert_free(cert);
    cs_key_free(key);
    return ok ? 0 : -1;
}

/* curl as a client: port, then "--cert ", file, "--key ", file (or four ""). */
#define CURL_AS                                                                         \
    "curl -sS --max-time 10 --cacert root.pem --resolve localhost:%d:127.0.0.1 "       \
    "%s%s %s%s "

/* curl with a client certificate (cert and key files in fx_dir, or "" for
 * none) against a server on port: the exit status; the body in out. */
static int fetch_as(char *out, size_t cap, int port, const char *cert, const char *key,
                    const char *extra)
{
    return fx_run(out, cap, CURL_AS "%s https://localhost:%d/ 2>/dev/null", port,
                  *cert ? "--cert " : "", cert, *key ? "--key " : "", key, extra, port);
}

static void test_client_errors(const cs_server_config *good, const cs_cert *root,
                               const cs_cert *leaf)
{
    cs_server_config c;
    cs_server *srv = NULL;
    cs_err err;
    const cs_cert *cas[] = {root};
    const cs_cert *not_ca[] = {leaf};
    const cs_cert *holes[] = {root, NULL};
    const cs_route no_marker[] = {{"/", "text/html", "Hello", 5, "{{client}}", 0}};
    const cs_route empty_marker[] = {{"/", "text/html", "Hello", 5, "", 0}};

    c = *good;
    c.client_ca = cas;
    c.client_ca_len = 1;
    c.client_auth = CS_CLIENT_AUTH_NONE;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err,
               "client_ca: given, but client certificates are not asked for (none)");
    c.client_ca_len = 0;
    c.client_auth = CS_CLIENT_AUTH_REQUIRE;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "client_ca: at least one");
    c.client_auth = CS_CLIENT_AUTH_REQUEST;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "client_ca: at least one");
    c.client_auth = (cs_client_auth)7;
    c.client_ca_len = 1;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "client_auth: 7");
    c.client_auth = CS_CLIENT_AUTH_REQUIRE;
    c.client_ca = not_ca;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err,
               "client_ca[1]: not a CA certificate");
    c.client_ca = holes;
    c.client_ca_len = 2;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "client_ca[2]: missing");
    c = *good;
    c.routes = no_marker;
    c.routes_len = 1;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err,
               "routes[1].client_marker: '{{client}}' is not in the body");
    c.routes = empty_marker;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err,
               "routes[1].client_marker: empty");
    CHECK(srv == NULL);
}

/* mTLS: who gets in under "require" and "request", what the greeting says,
 * what the CertificateRequest names, and that no request goes out without. */
static void request_handler(void *ctx, const cs_http_request *req, cs_http_reply *out);

static void test_client_auth(const cs_server_config *base, const cs_cert *root,
                             const cs_cert *inter, const cs_cert *leaf)
{
    static const char page[] = "<p>Hello, {{client}}!</p>";
    const cs_route greet[] = {{"/", "text/html; charset=utf-8", page, sizeof page - 1,
                               "{{client}}", 0}};
    const cs_cert *root_inter[] = {root, inter};
    const cs_cert *root_only[] = {root};
    const cs_cert *inter_only[] = {inter};
    cs_server_config c = *base;
    cs_server *srv = NULL;
    cs_err err;
    char out[16384], serial[128], want[512];
    int port, rc;

    test_client_errors(base, root, leaf);
    rc = fx_run(serial, sizeof serial, "openssl x509 -in client.pem -noout -serial | cut -d= -f2 "
                "| tr -d '\\n'");
    CHECK(rc == 0 && strlen(serial) > 8);
    snprintf(want, sizeof want,
             "<p>Hello, O=Test, CN=Alice &lt;b&gt;&amp; (serial %s)!</p>", serial);

    c.routes = greet;
    c.routes_len = 1;
    c.client_ca = root_inter;
    c.client_ca_len = 2;
    c.client_auth = CS_CLIENT_AUTH_REQUIRE;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        /* ours gets in and is greeted by subject (escaped) and serial */
        rc = fetch_as(out, sizeof out, port, "client.pem", "client.key", "");
        CHECK(rc == 0 && strcmp(out, want) == 0);
        if (strcmp(out, want) != 0)
            fprintf(stderr, "got  %s\nwant %s\n", out, want);
        rc = fetch_as(out, sizeof out, port, "client.pem", "client.key", "-i");
        snprintf(want + 256, 256, "Content-Length: %zu\r\n", strlen(want));
        CHECK(rc == 0 && strstr(out, want + 256) != NULL);
        CHECK(strstr(out, "X-Content-Type-Options: nosniff\r\n") != NULL);
        rc = fetch_as(out, sizeof out, port, "client.pem", "client.key", "-I");
        CHECK(rc == 0 && strstr(out, want + 256) != NULL && strstr(out, "Hello") == NULL);
        /* every request on a kept-alive connection is greeted */
        rc = fx_run(out, sizeof out, CURL_AS "-w '[%%{num_connects}]' "
                    "https://localhost:%d/ https://localhost:%d/ 2>/dev/null", port, "--cert ",
                    "client.pem", "--key ", "client.key", port, port);
        CHECK(rc == 0 && count(out, "CN=Alice") == 2 && strstr(out, "[0]") != NULL);
        /* TLS 1.2 as well (the certificate comes in the handshake proper) */
        rc = fetch_as(out, sizeof out, port, "client.pem", "client.key",
                      "--tlsv1.2 --tls-max 1.2");
        CHECK(rc == 0 && strstr(out, "CN=Alice") != NULL);
        /* refused: none, another CA's, an expired one, a server certificate */
        CHECK(fetch_as(out, sizeof out, port, "", "", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "oclient.pem", "oclient.key", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "expired.pem", "client.key", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "leaf.pem", "leaf.key", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "noaki.pem", "client.key", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "oclient.pem", "oclient.key",
                       "--tlsv1.2 --tls-max 1.2") != 0);
        /* a resumed TLS 1.2 session keeps the client's identity (and resumes at
         * all: OpenSSL needs a session id context under SSL_VERIFY_PEER) */
        rc = fx_run(NULL, 0, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -tls1_2 "
                    "-quiet -connect 127.0.0.1:%d -CAfile root.pem -cert client.pem "
                    "-key client.key -sess_out sess.pem >/dev/null 2>&1", port);
        fx_run(out, sizeof out, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -tls1_2 "
               "-ign_eof -connect 127.0.0.1:%d -CAfile root.pem -sess_in sess.pem 2>&1", port);
        CHECK(rc == 0 && strstr(out, "\nReused, ") != NULL);
        CHECK(strstr(out, "CN=Alice &lt;b&gt;&amp; (serial ") != NULL);
        /* the CertificateRequest names both CAs */
        fx_run(out, sizeof out, "openssl s_client -connect 127.0.0.1:%d </dev/null 2>&1", port);
        CHECK(strstr(out, "Acceptable client certificate CA names") != NULL);
        CHECK(strstr(out, "CN = Test Root") != NULL && strstr(out, "CN = Test Inter") != NULL);
        cs_server_stop(srv);
        srv = NULL;
    }

    /* a request-style handler sees the verified client certificate */
    {
        int calls = 0;
        const cs_handler req[] = {{"/req", NULL, &calls, 0, request_handler, 0}};
        cs_server_config r = c;

        r.handlers = req;
        r.handlers_len = 1;
        r.client_auth = CS_CLIENT_AUTH_REQUEST;
        CHECK_OK(cs_server_start(&r, &srv, &err), &err);
        if (srv) {
            port = cs_server_port(srv);
            rc = fx_run(out, sizeof out, CURL_AS "https://localhost:%d/req 2>/dev/null", port,
                        "--cert ", "client.pem", "--key ", "client.key", port);
            CHECK(rc == 0 && strstr(out, " tls=1 cert=yes") != NULL);
            rc = fx_run(out, sizeof out, CURL_AS "https://localhost:%d/req 2>/dev/null", port,
                        "", "", "", "", port);
            CHECK(rc == 0 && strstr(out, " tls=1 cert=no") != NULL);
            cs_server_stop(srv);
            srv = NULL;
        }
    }

    /* Only the root trusted: the client sends its intermediate, or is refused. */
    c.client_ca = root_only;
    c.client_ca_len = 1;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        rc = fetch_as(out, sizeof out, port, "client-chain.pem", "client.key", "");
        CHECK(rc == 0 && strstr(out, "CN=Alice") != NULL);
        CHECK(fetch_as(out, sizeof out, port, "client.pem", "client.key", "") != 0);
        cs_server_stop(srv);
        srv = NULL;
    }

    /* Only the intermediate: not a trust anchor (no partial chains). */
    c.client_ca = inter_only;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        CHECK(fetch_as(out, sizeof out, port, "client-chain.pem", "client.key", "") != 0);
        cs_server_stop(srv);
        srv = NULL;
    }

    /* "request": no certificate is anonymous, a bad one is still refused. */
    c.client_ca = root_inter;
    c.client_ca_len = 2;
    c.client_auth = CS_CLIENT_AUTH_REQUEST;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        rc = fetch_as(out, sizeof out, port, "", "", "");
        CHECK(rc == 0 && strcmp(out, "<p>Hello, anonymous (no client certificate)!</p>") == 0);
        rc = fetch_as(out, sizeof out, port, "client.pem", "client.key", "");
        CHECK(rc == 0 && strcmp(out, want) == 0);
        CHECK(fetch_as(out, sizeof out, port, "oclient.pem", "oclient.key", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "expired.pem", "client.key", "") != 0);
        CHECK(fetch_as(out, sizeof out, port, "leaf.pem", "leaf.key", "") != 0);
        cs_server_stop(srv);
        srv = NULL;
    }

    /* "none": no CertificateRequest; a greeting route still works. */
    c.client_ca = NULL;
    c.client_ca_len = 0;
    c.client_auth = CS_CLIENT_AUTH_NONE;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        fx_run(out, sizeof out, "openssl s_client -connect 127.0.0.1:%d </dev/null 2>&1", port);
        CHECK(strstr(out, "No client certificate CA names sent") != NULL);
        CHECK(strstr(out, "Acceptable client certificate CA names") == NULL);
        rc = fetch_as(out, sizeof out, port, "client.pem", "client.key", "");
        CHECK(rc == 0 && strcmp(out, "<p>Hello, anonymous (no client certificate)!</p>") == 0);
        cs_server_stop(srv);
    }
}

/* ---- A TLS client of our own, for what the CLI tools cannot hold: a
 * connection kept open across a reload, a session offered after one. ---- */

typedef struct tls_client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} tls_client;

static void client_close(tls_client *c)
{
    if (c->ssl) {
        /* a close of ours, not a failure: the session stays resumable */
        SSL_shutdown(c->ssl);
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
    c->fd = -1;
}

/* Connect and handshake, verifying against root.pem; offer sess if given,
 * and the client certificate cert with key (files in fx_dir) if not NULL.
 * max_version: TLS1_2_VERSION or TLS1_3_VERSION. 0 on success. */
static int client_open_as(tls_client *c, int port, int max_version, SSL_SESSION *sess,
                          const char *cert, const char *key)
{
    struct sockaddr_in sa;
    char root[128];

    c->fd = -1;
    c->ssl = NULL;
    c->ctx = SSL_CTX_new(TLS_client_method());
    fx_path(root, sizeof root, "root.pem");
    if (!c->ctx || !SSL_CTX_load_verify_locations(c->ctx, root, NULL))
        goto fail;
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_max_proto_version(c->ctx, max_version);
    /* no client cache: freeing the context would mark its sessions
     * not resumable, and each connection has its own context */
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
    if (cert) {
        char cert_path[128], key_path[128];
        fx_path(cert_path, sizeof cert_path, cert);
        fx_path(key_path, sizeof key_path, key);
        if (SSL_CTX_use_certificate_file(c->ctx, cert_path, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(c->ctx, key_path, SSL_FILETYPE_PEM) != 1)
            goto fail;
    }
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto fail;
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set1_host(c->ssl, "localhost"))
        goto fail;
    if (sess && !SSL_set_session(c->ssl, sess))
        goto fail;
    if (SSL_connect(c->ssl) != 1)
        goto fail;
    return 0;
fail:
    client_close(c);
    return -1;
}

static int client_open(tls_client *c, int port, int max_version, SSL_SESSION *sess)
{
    return client_open_as(c, port, max_version, sess, NULL, NULL);
}

/* GET path on the open connection, keeping it alive; the whole response
 * (headers and body, by its Content-Length) in out. 0 on success. */
static int client_get(tls_client *c, const char *path, char *out, size_t cap)
{
    char req[256];
    size_t used = 0;
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);

    if (SSL_write(c->ssl, req, n) != n)
        return -1;
    while (used + 1 < cap) {
        const char *end, *cl;
        int r = SSL_read(c->ssl, out + used, (int)(cap - 1 - used));
        if (r <= 0)
            return -1;
        used += (size_t)r;
        out[used] = '\0';
        end = strstr(out, "\r\n\r\n");
        cl = strstr(out, "Content-Length: ");
        if (end && cl && used >= (size_t)(end + 4 - out) + strtoul(cl + 16, NULL, 10))
            return 0;
    }
    return -1;
}

/* The serial of the certificate the server sent on this connection (hex),
 * into out. */
static void client_serial(const tls_client *c, char *out, size_t cap)
{
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    BIGNUM *bn = peer ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;

    snprintf(out, cap, "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(peer);
}

/* The serial a fresh connection is served, or "?" */
static void served_serial(int port, char *out, size_t cap)
{
    tls_client c;
    snprintf(out, cap, "?");
    if (client_open(&c, port, TLS1_3_VERSION, NULL) == 0) {
        client_serial(&c, out, cap);
        client_close(&c);
    }
}

static void file_serial(const char *name, char *out, size_t cap)
{
    char rc_out[128];
    snprintf(out, cap, "!");
    if (fx_run(rc_out, sizeof rc_out, "openssl x509 -in %s -noout -serial | cut -d= -f2 | "
               "tr -d '\\n'", name) == 0)
        snprintf(out, cap, "%s", rc_out);
}

/* A session that resumes on the server before a reload does not after it:
 * the client makes a full handshake and sees the new certificate. */
static int resumes_after(int port, int version, cs_server *srv, const cs_cert *leaf2,
                         const cs_cert *const *chain, const cs_key *key2, const char *want,
                         int *reused_before)
{
    tls_client c;
    SSL_SESSION *sess = NULL;
    char out[4096], serial[128];
    cs_err err;
    int reused = -1;

    *reused_before = -1;
    if (client_open(&c, port, version, NULL) != 0)
        return -1;
    if (client_get(&c, "/", out, sizeof out) == 0) /* TLS 1.3 tickets come with data */
        sess = SSL_get1_session(c.ssl);
    client_close(&c);
    if (!sess)
        return -1;
    if (client_open(&c, port, version, sess) == 0) {
        *reused_before = SSL_session_reused(c.ssl);
        client_close(&c);
    }
    CHECK_OK(cs_server_reload(srv, leaf2, chain, 1, key2, &err), &err);
    if (client_open(&c, port, version, sess) == 0) {
        reused = SSL_session_reused(c.ssl);
        client_serial(&c, serial, sizeof serial);
        CHECK(strcmp(serial, want) == 0);
        client_close(&c);
    }
    SSL_SESSION_free(sess);
    return reused;
}

static void test_reload(const cs_server_config *base, const cs_cert *leaf,
                        const cs_cert *const *chain, const cs_key *key, const cs_cert *leaf2,
                        const cs_key *key2)
{
    cs_server_config c = *base;
    cs_server *srv = NULL;
    tls_client kept;
    char s1[128], s2[128], got[128], out[16384];
    cs_err err;
    int port, before, rc;

    file_serial("leaf.pem", s1, sizeof s1);
    file_serial("leaf2.pem", s2, sizeof s2);
    CHECK(strcmp(s1, s2) != 0);
    c.http_port = -1;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (!srv)
        return;
    port = cs_server_port(srv);
    CHECK(cs_server_http_port(srv) == -1);
    served_serial(port, got, sizeof got);
    CHECK(strcmp(got, s1) == 0);

    /* refused: a key that is not the new leaf's, a public key, no leaf;
     * nothing changed */
    CHECK_FAIL(cs_server_reload(srv, leaf2, chain, 1, key, &err), CS_EMISMATCH, &err,
               "server: reload: the key does not match the certificate");
    CHECK_FAIL(cs_server_reload(srv, NULL, chain, 1, key2, &err), CS_EINVAL, &err,
               "reload: leaf: missing");
    CHECK_FAIL(cs_server_reload(srv, leaf2, NULL, 1, key2, &err), CS_EINVAL, &err,
               "reload: chain: NULL with a length");
    served_serial(port, got, sizeof got);
    CHECK(strcmp(got, s1) == 0);

    /* A connection open across the reload keeps working on the old leaf; a
     * new one gets the new leaf. */
    CHECK(client_open(&kept, port, TLS1_3_VERSION, NULL) == 0);
    CHECK(client_get(&kept, "/", out, sizeof out) == 0 && strstr(out, "Hello, World!"));
    CHECK_OK(cs_server_reload(srv, leaf2, chain, 1, key2, &err), &err);
    served_serial(port, got, sizeof got);
    CHECK(strcmp(got, s2) == 0);
    rc = client_get(&kept, "/", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "Hello, World!") != NULL);
    client_serial(&kept, got, sizeof got);
    CHECK(strcmp(got, s1) == 0);
    client_close(&kept);
    /* curl, with the chain, verifies the new leaf */
    rc = fx_run(out, sizeof out, "curl -sS --max-time 10 --cacert root.pem --resolve "
                "localhost:%d:127.0.0.1 https://localhost:%d/", port, port);
    CHECK(rc == 0 && strcmp(out, "Hello, World!") == 0);

    /* Sessions from before a reload are not resumed, TLS 1.2 and 1.3 alike
     * (and the same session did resume before it: the test can tell). */
    CHECK_OK(cs_server_reload(srv, leaf, chain, 1, key, &err), &err);
    rc = resumes_after(port, TLS1_2_VERSION, srv, leaf2, chain, key2, s2, &before);
    CHECK(before == 1 && rc == 0);
    if (before != 1 || rc != 0)
        fprintf(stderr, "TLS 1.2: resumed before %d, after %d\n", before, rc);
    CHECK_OK(cs_server_reload(srv, leaf, chain, 1, key, &err), &err);
    rc = resumes_after(port, TLS1_3_VERSION, srv, leaf2, chain, key2, s2, &before);
    CHECK(before == 1 && rc == 0);
    if (before != 1 || rc != 0)
        fprintf(stderr, "TLS 1.3: resumed before %d, after %d\n", before, rc);
    cs_server_stop(srv);
}

/* OCSP stapling: sent to a client that asks, cleared by NULL and by a
 * reload (the staple was for the old certificate). */
static void test_staple(const cs_server_config *base, const cs_cert *leaf2,
                        const cs_cert *const *chain, const cs_key *key2)
{
    cs_server_config c = *base;
    cs_server *srv = NULL;
    unsigned char *der;
    size_t len = 0;
    char out[32768];
    cs_err err;
    int port;

#define STATUS "openssl s_client -connect 127.0.0.1:%d -status </dev/null 2>&1"
    der = (unsigned char *)fx_read_file("staple.der", &len);
    CHECK(der != NULL && len > 100);
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (!srv || !der) {
        free(der);
        cs_server_stop(srv);
        return;
    }
    port = cs_server_port(srv);
    fx_run(out, sizeof out, STATUS, port);
    CHECK(strstr(out, "OCSP response: no response sent") != NULL);
    CHECK_OK(cs_server_set_staple(srv, der, len, &err), &err);
    fx_run(out, sizeof out, STATUS, port);
    CHECK(strstr(out, "OCSP Response Status: successful") != NULL);
    fx_run(out, sizeof out, STATUS " -tls1_2", port);
    CHECK(strstr(out, "OCSP Response Status: successful") != NULL);
    /* not asked, not sent */
    fx_run(out, sizeof out, "openssl s_client -connect 127.0.0.1:%d </dev/null 2>&1", port);
    CHECK(strstr(out, "OCSP") == NULL);
    CHECK_OK(cs_server_set_staple(srv, NULL, 0, &err), &err);
    fx_run(out, sizeof out, STATUS, port);
    CHECK(strstr(out, "OCSP response: no response sent") != NULL);
    CHECK_FAIL(cs_server_set_staple(srv, der, 0, &err), CS_EINVAL, &err, "set_staple: 0 bytes");
    CHECK_OK(cs_server_set_staple(srv, der, len, &err), &err);
    CHECK_OK(cs_server_reload(srv, leaf2, chain, 1, key2, &err), &err);
    fx_run(out, sizeof out, STATUS, port);
    CHECK(strstr(out, "OCSP response: no response sent") != NULL);
    cs_server_stop(srv);
    free(der);
}

/* The test handler: "<method> <path> <body length>", text/plain; 299 when the
 * body is "bad status" (sent as is), 999 otherwise invalid (sent as 500). */
static void echo_handler(void *ctx, const char *method, const char *path,
                         const unsigned char *body, size_t body_len, cs_http_reply *out)
{
    int *calls = ctx;
    char text[512];
    int n = snprintf(text, sizeof text, "%s %s %zu", method, path, body_len);

    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    out->status = 200;
    if (body_len == 10 && memcmp(body, "bad status", 10) == 0)
        out->status = 999;
    out->content_type = "text/x-echo";
    out->body = malloc((size_t)n);
    if (out->body) {
        memcpy(out->body, text, (size_t)n);
        out->body_len = (size_t)n;
    }
}

/* The request-style test handler: "<method> <path> q=<query> t=<type>
 * n=<body length> big=<too_large> tls=<0|1> cert=<yes|no>", text/plain, with
 * the headers an ACME server sends; a body "split" asks for a header line
 * that would split the response (sent as 500), "long" for a long header. */
static void request_handler(void *ctx, const cs_http_request *req, cs_http_reply *out)
{
    int *calls = ctx;
    char text[512];
    char *filler = NULL;
    int n = snprintf(text, sizeof text, "%s %s q=%s t=%s n=%zu big=%d tls=%d cert=%s",
                     req->method, req->path, req->query ? req->query : "(none)",
                     req->content_type ? req->content_type : "(none)", req->body_len,
                     req->too_large, req->tls, req->client_cert ? "yes" : "no");
    cs_err err;

    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    out->status = req->too_large ? 413 : 200;
    out->content_type = req->too_large ? "application/problem+json" : "text/plain";
    if (cs_http_reply_header(out, "Replay-Nonce", "n0nce", &err) != CS_OK ||
        cs_http_reply_header(out, "Link", "<https://x.test/acme/directory>;rel=\"index\"",
                             &err) != CS_OK ||
        cs_http_reply_header(out, "Cache-Control", "no-store", &err) != CS_OK)
        return;
    if (req->body_len == 5 && memcmp(req->body, "split", 5) == 0) {
        free(out->headers);
        out->headers = strdup("X-A: 1\r\nInjected\r\n");
    }
    if (req->body_len == 4 && memcmp(req->body, "long", 4) == 0) {
        filler = malloc(3000);
        if (filler) {
            memset(filler, 'x', 2999);
            filler[2999] = '\0';
            if (cs_http_reply_header(out, "X-Long", filler, &err) != CS_OK)
                out->status = 500;
        }
        free(filler);
    }
    out->body = malloc((size_t)n);
    if (out->body) {
        memcpy(out->body, text, (size_t)n);
        out->body_len = (size_t)n;
    }
}

/* cs_http_reply_header refuses what would break the response. */
static void test_reply_header(void)
{
    cs_http_reply r = {200, NULL, NULL, 0, NULL};
    cs_err err;

    CHECK_OK(cs_http_reply_header(&r, "Location", "https://x.test/acme/order/1", &err), &err);
    CHECK_OK(cs_http_reply_header(&r, "Retry-After", "1", &err), &err);
    CHECK(r.headers && strcmp(r.headers, "Location: https://x.test/acme/order/1\r\n"
                                         "Retry-After: 1\r\n") == 0);
    CHECK_FAIL(cs_http_reply_header(&r, "Content-Length", "1", &err), CS_EINVAL, &err,
               "'Content-Length': not a name a handler may send");
    CHECK_FAIL(cs_http_reply_header(&r, "connection", "close", &err), CS_EINVAL, &err,
               "not a name");
    CHECK_FAIL(cs_http_reply_header(&r, "Bad Name", "1", &err), CS_EINVAL, &err, "not a name");
    CHECK_FAIL(cs_http_reply_header(&r, "", "1", &err), CS_EINVAL, &err, "not a name");
    CHECK_FAIL(cs_http_reply_header(&r, "X-A", "1\r\nX-B: 2", &err), CS_EINVAL, &err,
               "X-A: control character in the value");
    /* nothing appended by the refusals */
    CHECK(strcmp(r.headers, "Location: https://x.test/acme/order/1\r\nRetry-After: 1\r\n") == 0);
    free(r.headers);
}

/* Handlers on the HTTPS port, and the plain listener serving only what is
 * marked plain; set_route replacing bodies. */
static void test_handlers_plain(const cs_server_config *base)
{
    static const char page[] = "<p>{{client}}</p>";
    const cs_route routes[] = {
        {"/", "text/plain; charset=utf-8", "Hello, World!", 13, NULL, 0},
        {"/crl.pem", "application/x-pem-file", "CRL v1", 6, NULL, 1},
        {"/greet", "text/html", page, sizeof page - 1, "{{client}}", 0},
    };
    int calls = 0;
    const cs_handler handlers[] = {
        {"/ocsp", echo_handler, &calls, 1, NULL, 0},
        {"/private", echo_handler, &calls, 0, NULL, 0},
        {"/req", NULL, &calls, 0, request_handler, 0},
    };
    const cs_handler bad_prefix[] = {{"ocsp", echo_handler, &calls, 1, NULL, 0}};
    const cs_handler no_fn[] = {{"/ocsp", NULL, &calls, 1, NULL, 0}};
    const cs_handler both_fn[] = {{"/ocsp", echo_handler, &calls, 1, request_handler, 0}};
    const cs_handler bad_work[] = {{"/ocsp", echo_handler, &calls, 1, NULL, -1}};
    cs_server_config c = *base;
    cs_server *srv = NULL, *none = NULL;
    char out[16384];
    cs_err err;
    int port, http, rc;

    c.routes = routes;
    c.routes_len = 3;
    c.handlers = bad_prefix;
    c.handlers_len = 1;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "handlers[1].prefix");
    c.handlers = no_fn;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "handlers[1].fn: missing");
    c.handlers = both_fn;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err,
               "handlers[1].fn: and serve both set");
    c.handlers = bad_work;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "handlers[1].work_ms: negative");
    c.http_port = 70000;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err, "http_port");
    c.handlers = handlers;
    c.handlers_len = 3;
    c.http_port = 0;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (!srv)
        return;
    port = cs_server_port(srv);
    http = cs_server_http_port(srv);
    CHECK(http > 0 && http != port);

#define HTTPS "curl -sS --max-time 10 --cacert root.pem --resolve localhost:%d:127.0.0.1 "
#define CODE "-o /dev/null -w '%%{http_code}' "
    /* handlers over HTTPS: GET with the raw path, POST with its body */
    rc = fx_run(out, sizeof out, HTTPS "-i https://localhost:%d/ocsp/MEow%%2Bab%%3D%%3D", port,
                port);
    CHECK(rc == 0 && strstr(out, "HTTP/1.1 200 OK\r\n") == out);
    CHECK(strstr(out, "Content-Type: text/x-echo\r\n") != NULL);
    CHECK(strstr(out, "\r\n\r\nGET /ocsp/MEow+ab== 0") != NULL);
    if (!strstr(out, "\r\n\r\nGET /ocsp/MEow+ab== 0"))
        fprintf(stderr, "got %s\n", out);
    rc = fx_run(out, sizeof out, HTTPS "-H 'Content-Type: application/ocsp-request' "
                "--data-binary @ocspreq.der https://localhost:%d/ocsp", port, port);
    CHECK(rc == 0 && strncmp(out, "POST /ocsp ", 11) == 0 && atoi(out + 11) > 20);
    rc = fx_run(out, sizeof out, HTTPS "https://localhost:%d/private", port, port);
    CHECK(rc == 0 && strcmp(out, "GET /private 0") == 0);
    /* a chunked body is read too */
    rc = fx_run(out, sizeof out, HTTPS "-H 'Transfer-Encoding: chunked' --data-binary "
                "@ocspreq.der https://localhost:%d/ocsp", port, port);
    CHECK(rc == 0 && strncmp(out, "POST /ocsp ", 11) == 0 && atoi(out + 11) > 20);
    /* not the prefix: "/ocspx" is a file (none: 404) */
    rc = fx_run(out, sizeof out, HTTPS CODE "https://localhost:%d/ocspx", port, port);
    CHECK(rc == 0 && strcmp(out, "404") == 0);
    /* bodies over 64 KiB: 413 without a call, also chunked */
    calls = 0;
    rc = fx_run(out, sizeof out, "head -c 70000 /dev/zero > big.bin; " HTTPS CODE
                "--data-binary @big.bin https://localhost:%d/ocsp", port, port);
    CHECK(rc == 0 && strcmp(out, "413") == 0);
    rc = fx_run(out, sizeof out, HTTPS CODE "-H 'Transfer-Encoding: chunked' "
                "--data-binary @big.bin https://localhost:%d/ocsp", port, port);
    CHECK(rc == 0 && strcmp(out, "413") == 0);
    CHECK(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 0);
    rc = fx_run(out, sizeof out, HTTPS CODE "--data-binary 'bad status' "
                "https://localhost:%d/ocsp", port, port);
    CHECK(rc == 0 && strcmp(out, "500") == 0);

    /* a request-style handler sees method, query, Content-Type, the client
     * certificate (none here) and sends its own headers */
    rc = fx_run(out, sizeof out, HTTPS "-i 'https://localhost:%d/req/x?a=b&c=%%2F'", port, port);
    CHECK(rc == 0 && strstr(out, "HTTP/1.1 200 OK\r\n") == out);
    CHECK(strstr(out, "\r\nReplay-Nonce: n0nce\r\n") != NULL);
    CHECK(strstr(out, "\r\nLink: <https://x.test/acme/directory>;rel=\"index\"\r\n") != NULL);
    CHECK(strstr(out, "\r\nCache-Control: no-store\r\n") != NULL);
    CHECK(strstr(out, "\r\nContent-Type: text/plain\r\n") != NULL);
    CHECK(strstr(out, "\r\n\r\nGET /req/x q=a=b&c=%2F t=(none) n=0 big=0 tls=1 cert=no") != NULL);
    if (!strstr(out, "\r\n\r\nGET /req/x q=a=b&c=%2F"))
        fprintf(stderr, "got %s\n", out);
    rc = fx_run(out, sizeof out, HTTPS "-I https://localhost:%d/req", port, port);
    CHECK(rc == 0 && strstr(out, "HTTP/1.1 200 OK\r\n") == out);
    CHECK(strstr(out, "\r\nReplay-Nonce: n0nce\r\n") != NULL);
    rc = fx_run(out, sizeof out, HTTPS "-H 'Content-Type: application/jose+json' "
                "--data-binary '{}' https://localhost:%d/req", port, port);
    CHECK(rc == 0 && strcmp(out, "POST /req q=(none) t=application/jose+json n=2 big=0 tls=1 "
                            "cert=no") == 0);
    /* too large: the handler answers it (its own 413 and type) */
    rc = fx_run(out, sizeof out, HTTPS "-i --data-binary @big.bin https://localhost:%d/req",
                port, port);
    CHECK(rc == 0 && strstr(out, "HTTP/1.1 413 ") == out);
    CHECK(strstr(out, "\r\nContent-Type: application/problem+json\r\n") != NULL);
    CHECK(strstr(out, "\r\nReplay-Nonce: n0nce\r\n") != NULL);
    CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
    CHECK(strstr(out, "n=0 big=1 tls=1") != NULL);
    /* headers that would split the response: 500, no trace of them */
    rc = fx_run(out, sizeof out, HTTPS "-i --data-binary split https://localhost:%d/req", port,
                port);
    CHECK(rc == 0 && strstr(out, "HTTP/1.1 500 ") == out);
    CHECK(strstr(out, "Injected") == NULL && strstr(out, "X-A") == NULL);
    /* a header longer than the fixed part of the head still goes out */
    rc = fx_run(out, sizeof out, HTTPS "-i --data-binary long https://localhost:%d/req", port,
                port);
    CHECK(rc == 0 && strstr(out, "HTTP/1.1 200 OK\r\n") == out);
    CHECK(strstr(out, "\r\nX-Long: xxxxxxxxxx") != NULL);
    /* not on the plain listener (plain = 0) */

    /* the plain listener: plain routes and handlers only */
#define PLAIN "curl -sS --max-time 10 "
    rc = fx_run(out, sizeof out, PLAIN "http://127.0.0.1:%d/crl.pem", http);
    CHECK(rc == 0 && strcmp(out, "CRL v1") == 0);
    rc = fx_run(out, sizeof out, PLAIN "http://127.0.0.1:%d/ocsp/AAA", http);
    CHECK(rc == 0 && strcmp(out, "GET /ocsp/AAA 0") == 0);
    rc = fx_run(out, sizeof out, PLAIN "--data-binary @ocspreq.der http://127.0.0.1:%d/ocsp",
                http);
    CHECK(rc == 0 && strncmp(out, "POST /ocsp ", 11) == 0);
    rc = fx_run(out, sizeof out, PLAIN CODE "http://127.0.0.1:%d/", http);
    CHECK(rc == 0 && strcmp(out, "404") == 0);
    rc = fx_run(out, sizeof out, PLAIN CODE "http://127.0.0.1:%d/private", http);
    CHECK(rc == 0 && strcmp(out, "404") == 0);
    rc = fx_run(out, sizeof out, PLAIN CODE "http://127.0.0.1:%d/req", http);
    CHECK(rc == 0 && strcmp(out, "404") == 0);
    rc = fx_run(out, sizeof out, PLAIN CODE "http://127.0.0.1:%d/a.txt", http);
    CHECK(rc == 0 && strcmp(out, "404") == 0);
    rc = fx_run(out, sizeof out, PLAIN CODE "http://127.0.0.1:%d/greet", http);
    CHECK(rc == 0 && strcmp(out, "404") == 0);
    /* and both on HTTPS */
    rc = fx_run(out, sizeof out, HTTPS "https://localhost:%d/crl.pem", port, port);
    CHECK(rc == 0 && strcmp(out, "CRL v1") == 0);
    rc = fx_run(out, sizeof out, HTTPS "https://localhost:%d/a.txt", port, port);
    CHECK(rc == 0 && strcmp(out, "file a\n") == 0);
    /* TLS on the plain port fails, plain on the TLS port is no page */
    rc = fx_run(out, sizeof out, HTTPS "https://localhost:%d/crl.pem 2>&1", http, http);
    CHECK(rc != 0);

    /* set_route: the new bytes from the next request on */
    CHECK_OK(cs_server_set_route(srv, "/crl.pem", NULL, "CRL v2, longer", 14, &err), &err);
    rc = fx_run(out, sizeof out, PLAIN "-i http://127.0.0.1:%d/crl.pem", http);
    CHECK(rc == 0 && strstr(out, "\r\n\r\nCRL v2, longer") != NULL);
    CHECK(strstr(out, "Content-Type: application/x-pem-file\r\n") != NULL);
    CHECK_OK(cs_server_set_route(srv, "/crl.pem", "text/plain", "v3", 2, &err), &err);
    rc = fx_run(out, sizeof out, PLAIN "-i http://127.0.0.1:%d/crl.pem", http);
    CHECK(rc == 0 && strstr(out, "Content-Type: text/plain\r\n") != NULL);
    CHECK(strstr(out, "\r\n\r\nv3") != NULL);
    CHECK_FAIL(cs_server_set_route(srv, "/nope", NULL, "x", 1, &err), CS_ENOENT, &err,
               "set_route /nope: no such route");
    CHECK_FAIL(cs_server_set_route(srv, "/greet", NULL, "no marker", 9, &err), CS_EINVAL, &err,
               "set_route /greet.client_marker: '{{client}}' is not in the body");
    CHECK_FAIL(cs_server_set_route(srv, "/crl.pem", "a\r\nb", "x", 1, &err), CS_EINVAL, &err,
               "content_type: control characters");
    rc = fx_run(out, sizeof out, HTTPS "https://localhost:%d/greet", port, port);
    CHECK(rc == 0 && strcmp(out, "<p>anonymous (no client certificate)</p>") == 0);
    CHECK_OK(cs_server_set_route(srv, "/greet", NULL, "<b>{{client}}</b>", 17, &err), &err);
    rc = fx_run(out, sizeof out, HTTPS "https://localhost:%d/greet", port, port);
    CHECK(rc == 0 && strcmp(out, "<b>anonymous (no client certificate)</b>") == 0);

    /* the same http port twice */
    c.http_port = http;
    CHECK_FAIL(cs_server_start(&c, &none, &err), CS_ESERVER, &err,
               "(plain http) is already in use");
    cs_server_stop(srv);
}

#define HTTPS_CHURN "curl -sS --max-time 20 --cacert root.pem --resolve localhost:%d:127.0.0.1 "

typedef struct churn {
    cs_server *srv;
    const cs_cert *leaf[2];
    const cs_key *key[2];
    const cs_cert *const *chain;
    volatile int stop;
    int swaps, failures;
} churn;

/* The OCSP lookup of test_ocsp_route: every certificate good, calls counted. */
static cs_code all_good(void *arg, const char *issuer, const char *serial_hex,
                        cs_revocation *out, cs_err *err)
{
    (void)issuer;
    (void)serial_hex;
    (void)err;
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
    out->status = CS_STATUS_GOOD;
    out->revoked_at = 0;
    out->reason = -1;
    return CS_OK;
}

/* cs_server_config.ocsp: core answers /ocsp itself (POST over plain http,
 * GET over https), holding its own reference: the caller's is gone before
 * the first request. A handler of the caller's on /ocsp is refused. */
static void test_ocsp_route(const cs_server_config *base, const cs_cert *inter,
                            const cs_key *inter_key)
{
    int calls = 0;
    const cs_handler taken[] = {{"/ocsp", echo_handler, &calls, 1, NULL, 0}};
    cs_ocsp_params p = {inter, inter, inter_key, 3600, all_good, &calls};
    cs_ocsp_responder *r = NULL;
    cs_server_config c = *base;
    cs_server *srv = NULL;
    char out[16384];
    cs_err err;
    int port, http, rc;

    CHECK_OK(cs_ocsp_responder_new(&p, &r, &err), &err);
    if (!r)
        return;
    c.ocsp = r;
    c.http_port = 0;
    c.handlers = taken;
    c.handlers_len = 1;
    CHECK_FAIL(cs_server_start(&c, &srv, &err), CS_EINVAL, &err,
               "handlers[1].prefix: /ocsp is the OCSP responder's");
    c.handlers = NULL;
    c.handlers_len = 0;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    cs_ocsp_responder_free(r); /* ours; the server holds its own */
    if (!srv)
        return;
    port = cs_server_port(srv);
    http = cs_server_http_port(srv);
    rc = fx_run(out, sizeof out, "openssl ocsp -issuer inter.pem -cert leaf.pem -CAfile root.pem "
                "-url http://127.0.0.1:%d/ocsp 2>&1", http);
    CHECK(rc == 0 && strstr(out, "leaf.pem: good") != NULL);
    rc = fx_run(out, sizeof out, "openssl ocsp -issuer inter.pem -cert leaf.pem -no_nonce "
                "-reqout ocsp-get.der >/dev/null 2>&1 && "
                "curl -sS --max-time 10 --cacert root.pem --resolve localhost:%d:127.0.0.1 "
                "-o ocsp-get.resp \"https://localhost:%d/ocsp/$(openssl base64 -A "
                "-in ocsp-get.der | sed 's/+/%%2B/g; s|/|%%2F|g; s/=/%%3D/g')\" && "
                "openssl ocsp -reqin ocsp-get.der -respin ocsp-get.resp -issuer inter.pem "
                "-cert leaf.pem -CAfile root.pem -no_nonce 2>&1", port, port);
    CHECK(rc == 0 && strstr(out, "leaf.pem: good") != NULL);
    CHECK(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 2);
    /* other methods: 405, as cs_ocsp_http answers them */
    rc = fx_run(out, sizeof out, "curl -sS --max-time 10 -o /dev/null -w '%%{http_code}' "
                "-X PUT http://127.0.0.1:%d/ocsp", http);
    CHECK(rc == 0 && strcmp(out, "405") == 0);
    cs_server_stop(srv);
}

/* The OCSP lookup that cannot read its database. */
static cs_code no_database(void *arg, const char *issuer, const char *serial_hex,
                           cs_revocation *out, cs_err *err)
{
    (void)issuer;
    (void)serial_hex;
    (void)out;
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
    return cs_err_set(err, CS_EDB, "database is locked");
}

/* dana (issued into ca.db) as a TLS client of port: 1 if she gets a page
 * greeting her (a session offered when sess, and *reused set), 0 if the
 * handshake or the request fails; the response, if any, in out. */
static int dana_gets_in(int port, int version, SSL_SESSION *sess, int *reused, char *out,
                        size_t cap)
{
    tls_client c;
    int in;

    out[0] = '\0';
    if (reused)
        *reused = 0;
    if (client_open_as(&c, port, version, sess, "dana.pem", "client.key") != 0)
        return 0;
    if (reused)
        *reused = SSL_session_reused(c.ssl);
    /* TLS 1.3: the server verifies her certificate after its Finished, so a
     * refusal shows on the first read */
    in = client_get(&c, "/", out, cap) == 0 && strstr(out, "CN=Dana (serial ") != NULL;
    client_close(&c);
    return in;
}

/* A session of dana's, read after one request (TLS 1.3 tickets come after
 * the handshake). NULL if none. */
static SSL_SESSION *dana_session(int port, int version)
{
    tls_client c;
    SSL_SESSION *sess = NULL;
    char out[4096];

    if (client_open_as(&c, port, version, NULL, "dana.pem", "client.key") != 0)
        return NULL;
    if (client_get(&c, "/", out, sizeof out) == 0)
        sess = SSL_get1_session(c.ssl);
    client_close(&c);
    return sess;
}

/* Issue 10 §1: with an OCSP responder and client certificates asked for, a
 * client certificate revoked in ca.db is refused from the moment the
 * revocation commits: full handshakes (TLS 1.2 and 1.3), sessions saved
 * before (tickets: not resumed), a connection kept alive from before (403
 * on its next request). A client of a CA the database does not know gets
 * in without a lookup; a lookup that fails refuses (fail closed). */
static void test_revoked_clients(const cs_server_config *base, const cs_cert *root,
                                 const cs_cert *inter, const cs_key *inter_key)
{
    static const char page[] = "<p>Hello, {{client}}!</p>";
    const cs_route greet[] = {{"/", "text/html; charset=utf-8", page, sizeof page - 1,
                               "{{client}}", 0}};
    const cs_rdn dn[] = {{"CN", "Dana"}};
    const char *const client_auth[] = {"clientAuth"};
    const cs_name san[] = {{CS_NAME_EMAIL, "dana@example.com"}};
    const char *const oclient = "oclient.pem";
    cs_cert *dana = NULL, *oroot = NULL, *eve = NULL;
    const cs_cert *cas[3] = {root, inter, NULL};
    cs_ocsp_params p = {inter, inter, inter_key, 3600, NULL, NULL};
    cs_cert_spec spec = fx_leaf_spec(dn, 1, client_auth, san, 1, 2);
    cs_ocsp_responder *r = NULL;
    cs_key *client_key = NULL;
    cs_store *store = NULL;
    SSL_SESSION *s13 = NULL, *s12 = NULL;
    cs_server_config c = *base;
    cs_server *srv = NULL;
    tls_client kept;
    char db[128], path[128], out[16384];
    char *serial = NULL;
    cs_err err;
    int port, reused = 0, calls = 0;

    fx_path(db, sizeof db, "ca.db");
    fx_path(path, sizeof path, "client.key");
    CHECK_OK(cs_key_load_file(path, &client_key, &err), &err);
    fx_path(path, sizeof path, "oroot.pem");
    CHECK_OK(cs_cert_load_file(path, &oroot, &err), &err);
    CHECK_OK(cs_store_open(db, &store, &err), &err);
    if (store && client_key)
        CHECK_OK(cs_store_issue(store, &spec, client_key, inter, inter_key, "client", &dana,
                                &err), &err);
    if (dana)
        fx_save_cert(dana, "dana.pem", 1);
    CHECK_OK(cs_ocsp_responder_open(db, &p, &r, &err), &err);
    if (!dana || !r || !oroot)
        goto done;
    serial = cs_cert_serial_hex(dana);
    cas[2] = oroot;
    c.routes = greet;
    c.routes_len = 1;
    c.client_ca = cas;
    c.client_ca_len = 3;
    c.client_auth = CS_CLIENT_AUTH_REQUIRE;
    c.ocsp = r;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (!srv)
        goto done;
    port = cs_server_port(srv);

    /* before: dana gets in, and resumes */
    CHECK(dana_gets_in(port, TLS1_2_VERSION, NULL, NULL, out, sizeof out));
    s13 = dana_session(port, TLS1_3_VERSION);
    s12 = dana_session(port, TLS1_2_VERSION);
    CHECK(s13 != NULL && s12 != NULL);
    CHECK(dana_gets_in(port, TLS1_3_VERSION, s13, &reused, out, sizeof out) && reused);
    CHECK(dana_gets_in(port, TLS1_2_VERSION, s12, &reused, out, sizeof out) && reused);
    /* No session ids while clients are checked: a TLS 1.2 client without
     * tickets makes full handshakes (OpenSSL would resume a cached id
     * without a callback that could refuse it). */
    fx_run(out, sizeof out, "openssl s_client -tls1_2 -no_ticket -connect 127.0.0.1:%d "
           "-CAfile root.pem -cert dana.pem -key client.key -reconnect </dev/null 2>&1 | "
           "grep -E '^(New|Reused),' | sort -u", port);
    CHECK(strstr(out, "New,") != NULL && strstr(out, "Reused,") == NULL);

    /* A certificate our intermediate signed outside chainsmith, with no
     * record in ca.db (nothing could ever revoke it): refused, at the
     * handshake and so before any page; dana still gets in. */
    CHECK_OK(cs_cert_sign(&spec, client_key, inter, inter_key, &eve, &err), &err);
    if (eve) {
        fx_save_cert(eve, "eve.pem", 1);
        CHECK(fetch_as(out, sizeof out, port, "eve.pem", "client.key", "") != 0 ||
              strstr(out, "CN=Dana (serial ") == NULL);
        fx_run(out, sizeof out, "openssl s_client -tls1_2 -connect 127.0.0.1:%d -CAfile root.pem "
               "-cert eve.pem -key client.key </dev/null 2>&1", port);
        CHECK(strstr(out, "alert certificate unknown") != NULL ||
              strstr(out, "alert bad certificate") != NULL);
        CHECK(dana_gets_in(port, TLS1_3_VERSION, NULL, NULL, out, sizeof out));
    }

    /* A connection she keeps open across the revocation (CivetWeb closes
     * one idle for 500 ms: only the revocation comes between its requests). */
    CHECK(client_open_as(&kept, port, TLS1_3_VERSION, NULL, "dana.pem", "client.key") == 0);
    CHECK(client_get(&kept, "/", out, sizeof out) == 0 && strstr(out, "CN=Dana (serial "));

    /* revoked, committed: from now on, no wait */
    CHECK_OK(cs_store_revoke(store, serial, NULL, 1, (int64_t)time(NULL), &err), &err);
    /* the connection from before: 403 on its next request */
    CHECK(client_get(&kept, "/", out, sizeof out) == 0);
    CHECK(strstr(out, "HTTP/1.1 403 Forbidden\r\n") == out);
    CHECK(strstr(out, "client certificate revoked") && !strstr(out, "CN=Dana"));
    client_close(&kept);
    CHECK(!dana_gets_in(port, TLS1_3_VERSION, NULL, NULL, out, sizeof out));
    CHECK(!dana_gets_in(port, TLS1_2_VERSION, NULL, NULL, out, sizeof out));
    CHECK(!dana_gets_in(port, TLS1_3_VERSION, s13, &reused, out, sizeof out) && !reused);
    CHECK(!dana_gets_in(port, TLS1_2_VERSION, s12, &reused, out, sizeof out) && !reused);
    /* the alert names the reason */
    fx_run(out, sizeof out, "openssl s_client -tls1_2 -connect 127.0.0.1:%d -CAfile root.pem "
           "-cert dana.pem -key client.key </dev/null 2>&1", port);
    CHECK(strstr(out, "alert certificate revoked") != NULL);
    /* another CA's client is no business of ca.db's */
    CHECK(fetch_as(out, sizeof out, port, oclient, "oclient.key", "") == 0 &&
          strstr(out, "CN=Mallory (serial ") != NULL);
    cs_server_stop(srv);
    srv = NULL;

    /* A lookup that fails refuses; another CA's client is not looked up. */
    cs_ocsp_responder_free(r);
    r = NULL;
    p.lookup = no_database;
    p.lookup_arg = &calls;
    CHECK_OK(cs_ocsp_responder_new(&p, &r, &err), &err);
    c.ocsp = r;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (!srv)
        goto done;
    port = cs_server_port(srv);
    CHECK(fetch_as(out, sizeof out, port, oclient, "oclient.key", "") == 0 &&
          strstr(out, "CN=Mallory (serial ") != NULL);
    CHECK(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 0);
    CHECK(!dana_gets_in(port, TLS1_3_VERSION, NULL, NULL, out, sizeof out));
    CHECK(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 1);
    cs_server_stop(srv);
    srv = NULL;

    /* Client certificates not asked for: the responder answers /ocsp, and
     * nothing is looked up. */
    c.client_ca = NULL;
    c.client_ca_len = 0;
    c.client_auth = CS_CLIENT_AUTH_NONE;
    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        CHECK(fetch_as(out, sizeof out, port, "", "", "") == 0 &&
              strstr(out, "anonymous (no client certificate)") != NULL);
        CHECK(__atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 1);
    }
done:
    cs_server_stop(srv);
    SSL_SESSION_free(s13);
    SSL_SESSION_free(s12);
    free(serial);
    cs_ocsp_responder_free(r);
    cs_store_close(store);
    cs_cert_free(dana);
    cs_cert_free(eve);
    cs_cert_free(oroot);
    cs_key_free(client_key);
}

/* Reload and replace a route as fast as it can while clients request:
 * under ASan, a body or certificate freed under a request shows here. */
static void *churn_run(void *arg)
{
    churn *ch = arg;
    cs_err err;
    int i = 0;

    while (!__atomic_load_n(&ch->stop, __ATOMIC_SEQ_CST) && i < 20000) {
        const char *body = i % 2 ? "body B" : "body A";
        if (cs_server_set_route(ch->srv, "/", NULL, body, 6, &err) != CS_OK)
            ch->failures++;
        if (i % 8 == 0 && cs_server_reload(ch->srv, ch->leaf[i / 8 % 2], ch->chain, 1,
                                           ch->key[i / 8 % 2], &err) != CS_OK)
            ch->failures++;
        i++;
    }
    ch->swaps = i;
    return NULL;
}

/* Requests during reloads and route swaps: every one answered whole, with
 * one of the two bodies, over a chain that verifies. */
static void test_churn(const cs_server_config *base, const cs_cert *leaf,
                       const cs_cert *const *chain, const cs_key *key, const cs_cert *leaf2,
                       const cs_key *key2)
{
    cs_server_config c = *base;
    cs_server *srv = NULL;
    churn ch;
    pthread_t t;
    char out[16384];
    cs_err err;
    int port, rc;

    CHECK_OK(cs_server_start(&c, &srv, &err), &err);
    if (!srv)
        return;
    port = cs_server_port(srv);
    memset(&ch, 0, sizeof ch);
    ch.srv = srv;
    ch.leaf[0] = leaf;
    ch.leaf[1] = leaf2;
    ch.key[0] = key;
    ch.key[1] = key2;
    ch.chain = chain;
    CHECK(pthread_create(&t, NULL, churn_run, &ch) == 0);
    /* kept-alive requests, then new connections */
    rc = fx_run(out, sizeof out, HTTPS_CHURN "-w '|' https://localhost:%d/?n=[1-40]", port,
                port);
    CHECK(rc == 0 && count(out, "body A|") + count(out, "body B|") == 40);
    rc = fx_run(out, sizeof out, HTTPS_CHURN "-w '|' -H 'Connection: close' "
                "https://localhost:%d/?n=[1-20]", port, port);
    CHECK(rc == 0 && count(out, "body A|") + count(out, "body B|") == 20);
    __atomic_store_n(&ch.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    CHECK(ch.failures == 0 && ch.swaps > 0);
    cs_server_stop(srv);
}

static void send_sighup_twice(void)
{
    raise(SIGHUP); /* caught: kept for the next wait */
}

static void test_reload_signals(void)
{
    struct sigaction ign, old, now;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGHUP, &ign, &old);

    CHECK(cs_wait_for_signal(20) == 0);
    /* a signal between two waits is kept, not fatal */
    send_sighup_twice();
    raise(SIGTERM);
    CHECK(cs_wait_for_signal(5000) == SIGTERM); /* a stop before a reload */
    CHECK(cs_wait_for_signal(5000) == SIGHUP);
    CHECK(cs_wait_for_signal(20) == 0);
    raise(SIGINT);
    CHECK(cs_wait_for_signal(5000) == SIGINT);
    cs_release_signals();
    sigaction(SIGHUP, NULL, &now);
    CHECK(now.sa_handler == SIG_IGN);
    sigaction(SIGHUP, &old, NULL);
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
    CHECK(cs_wait_for_signal(5000) == SIGTERM);
    pthread_join(t, NULL);

    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(cs_wait_for_signal(50) == 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    CHECK(ms >= 50 && ms < 2000);
    cs_release_signals();
    sigaction(SIGTERM, NULL, &now);
    CHECK(now.sa_handler == SIG_IGN);

    sigaction(SIGTERM, &old, NULL);
}

int main(void)
{
    cs_err err;
    cs_cert *leaf = NULL, *inter = NULL, *root = NULL;
    cs_key *key = NULL, *other = NULL, *inter_key = NULL, *key2 = NULL;
    cs_cert *leaf2 = NULL;
    cs_server *srv = NULL, *srv2 = NULL, *srv6 = NULL;
    char path[128], www[128], out[16384];
    const char *const hosts[] = {"127.0.0.1"};
    const char *const hosts6[] = {"::1"};
    const cs_route routes[] = {
        {"/", "text/plain; charset=utf-8", "Hello, World!", 13, NULL, 0},
        {"/empty", "text/plain", NULL, 0, NULL, 0},
    };
    const cs_cert *chain[1];
    cs_server_config cfg;
    int port, rc;

    if (!fx_mkdtemp("server"))
        return 1;
    CHECK(make_chain() == 0);

#define LOAD(fn, name, outp)                                                     \
    do {                                                                         \
        fx_path(path, sizeof path, name);                                        \
        CHECK_OK(fn(path, outp, &err), &err);                                    \
    } while (0)
    LOAD(cs_cert_load_file, "leaf.pem", &leaf);
    LOAD(cs_cert_load_file, "inter.pem", &inter);
    LOAD(cs_cert_load_file, "root.pem", &root);
    LOAD(cs_key_load_file, "inter.key", &inter_key);
    LOAD(cs_key_load_file, "leaf.key", &key);
    LOAD(cs_key_load_file, "other.key", &other);
    LOAD(cs_cert_load_file, "leaf2.pem", &leaf2);
    LOAD(cs_key_load_file, "leaf2.key", &key2);
    if (!leaf || !inter || !root || !key || !other || !inter_key || !leaf2 || !key2 ||
        make_expired(inter, inter_key) != 0) {
        fprintf(stderr, "fixtures missing in %s\n", fx_dir);
        return CHECK_DONE();
    }
    fx_path(www, sizeof www, "www");
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

    cfg.http_port = -1;

    test_config_errors(&cfg);
    test_client_auth(&cfg, root, inter, leaf);
    test_reload(&cfg, leaf, chain, key, leaf2, key2);
    test_staple(&cfg, leaf2, chain, key2);
    test_reply_header();
    test_handlers_plain(&cfg);
    test_ocsp_route(&cfg, inter, inter_key);
    test_revoked_clients(&cfg, root, inter, inter_key);
    test_churn(&cfg, leaf, chain, key, leaf2, key2);

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
    rc = fx_run(out, sizeof out, CURL "https://localhost:%d/", port, port);
    CHECK(rc == 0);
    CHECK(strcmp(out, "Hello, World!") == 0);

    /* Headers: content type, length, the security headers. */
    rc = fx_run(out, sizeof out, CURL "-i https://localhost:%d/", port, port);
    CHECK(rc == 0);
    CHECK(strstr(out, "HTTP/1.1 200 OK\r\n") == out);
    CHECK(strstr(out, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
    CHECK(strstr(out, "Content-Length: 13\r\n") != NULL);
    CHECK(strstr(out, "X-Content-Type-Options: nosniff\r\n") != NULL);
    CHECK(strstr(out, "Content-Security-Policy: default-src 'self'") != NULL);

    /* HEAD: headers only; POST: 405. */
    rc = fx_run(out, sizeof out, CURL "-I https://localhost:%d/", port, port);
    CHECK(rc == 0);
    CHECK(strstr(out, "Content-Length: 13\r\n") != NULL);
    CHECK(strstr(out, "Hello") == NULL);
    rc = fx_run(out, sizeof out, CURL "-o /dev/null -w '%%{http_code}' -d x https://localhost:%d/",
                port, port);
    CHECK(rc == 0 && strcmp(out, "405") == 0);

    /* Routes skip CivetWeb's password-file lookup, and that opens nothing:
     * PUT and DELETE on a route or a file are 405 (files are served by
     * serve_file, GET and HEAD only), and no file is written or removed. */
    rc = fx_run(out, sizeof out,
                CURL "-o /dev/null -w '%%{http_code}' -X PUT -d x https://localhost:%d/", port,
                port);
    CHECK(rc == 0 && strcmp(out, "405") == 0);
    rc = fx_run(out, sizeof out,
                CURL "-o /dev/null -w '%%{http_code}' -X PUT -d x https://localhost:%d/new.txt",
                port, port);
    CHECK(rc == 0 && strcmp(out, "405") == 0);
    rc = fx_run(out, sizeof out,
                CURL "-o /dev/null -w '%%{http_code}' -X DELETE https://localhost:%d/a.txt", port,
                port);
    CHECK(rc == 0 && strcmp(out, "405") == 0);
    rc = fx_run(NULL, 0, "test ! -e www/new.txt && test -f www/a.txt");
    CHECK(rc == 0);

    /* An empty route. */
    rc = fx_run(out, sizeof out, CURL "-w '[%%{http_code}]' https://localhost:%d/empty", port,
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
    rc = fx_run(out, sizeof out, "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
                "HEAD / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | " RAW,
                port);
    CHECK(strcmp(out, HEAD_200("keep-alive") "Hello, World!" HEAD_200("close")) == 0);
    rc = fx_run(out, sizeof out,
                "printf 'GET / HTTP/1.0\\r\\n\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' | " RAW, port);
    CHECK(strcmp(out, HEAD_200("close") "Hello, World!") == 0);
    rc = fx_run(out, sizeof out,
                "printf 'GET / HTTP/1.0\\r\\nConnection: Keep-Alive\\r\\n\\r\\n"
                "DELETE / HTTP/1.1\\r\\nHost: x\\r\\nConnection: foo, close\\r\\n\\r\\n' | " RAW,
                port);
    CHECK(strcmp(out, HEAD_200("keep-alive") "Hello, World!"
                      "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
                      "Content-Length: 0\r\nX-Content-Type-Options: nosniff\r\n"
                      "Connection: close\r\n\r\n") == 0);

    /* Connection: close ends in a close_notify alert, then the socket closes. */
    rc = fx_run(out, sizeof out,
                "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
                "openssl s_client -msg -ign_eof -connect 127.0.0.1:%d 2>&1", port);
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    CHECK(strstr(out, "<<< TLS 1.3, Alert [length 0002], warning close_notify") != NULL);
    rc = fx_run(out, sizeof out,
                CURL "-H 'Connection: close' -w '[%%{num_connects}]' "
                "https://localhost:%d/ https://localhost:%d/", port, port, port);
    CHECK(rc == 0 && strcmp(out, "Hello, World![1]Hello, World![1]") == 0);

    /* Keep-alive: two requests, one connection. */
    rc = fx_run(out, sizeof out,
                CURL "-w '[%%{num_connects}]' https://localhost:%d/ https://localhost:%d/", port,
                port, port);
    CHECK(rc == 0 && strcmp(out, "Hello, World![1]Hello, World![0]") == 0);

    /* Leaf and intermediate on the wire. */
    rc = fx_run(out, sizeof out,
                "openssl s_client -connect 127.0.0.1:%d -servername localhost -showcerts "
                "</dev/null 2>/dev/null", port);
    CHECK(count(out, "-----BEGIN CERTIFICATE-----") == 2);
    CHECK(strstr(out, "Test Inter") != NULL);

    /* TLS 1.2 and 1.3 work; 1.0/1.1 and non-ECDHE/non-AEAD suites do not. */
    rc = fx_run(NULL, 0, CURL "-o /dev/null --tlsv1.2 --tls-max 1.2 https://localhost:%d/ "
                "2>/dev/null", port, port);
    CHECK(rc == 0);
    rc = fx_run(NULL, 0, CURL "-o /dev/null --tlsv1.3 https://localhost:%d/ 2>/dev/null", port,
                port);
    CHECK(rc == 0);
    rc = fx_run(NULL, 0, CURL "-o /dev/null --tls-max 1.1 https://localhost:%d/ 2>/dev/null",
                port, port);
    CHECK(rc != 0);
    rc = fx_run(out, sizeof out,
                "openssl s_client -connect 127.0.0.1:%d -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' "
                "</dev/null 2>&1", port);
    CHECK(rc != 0);
    rc = fx_run(NULL, 0,
                "openssl s_client -connect 127.0.0.1:%d -tls1_2 -cipher AES128-GCM-SHA256 "
                "</dev/null >/dev/null 2>&1", port);
    CHECK(rc != 0);
    rc = fx_run(NULL, 0,
                "openssl s_client -connect 127.0.0.1:%d -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA "
                "</dev/null >/dev/null 2>&1", port);
    CHECK(rc != 0);
    rc = fx_run(out, sizeof out,
                "openssl s_client -connect 127.0.0.1:%d -tls1_2 </dev/null 2>/dev/null", port);
    CHECK(rc == 0);
    CHECK(strstr(out, "ECDHE-ECDSA-") != NULL);

    /* Static files, no listing, no escape. */
    rc = fx_run(out, sizeof out, CURL "-i https://localhost:%d/a.txt", port, port);
    CHECK(rc == 0);
    CHECK(strstr(out, "200 OK") != NULL && strstr(out, "file a\n") != NULL);
    CHECK(strstr(out, "X-Content-Type-Options: nosniff") != NULL);
    rc = fx_run(out, sizeof out, CURL "-o /dev/null -w '%%{http_code}' https://localhost:%d/sub/",
                port, port);
    CHECK(rc == 0 && (strcmp(out, "403") == 0 || strcmp(out, "404") == 0));
    rc = fx_run(out, sizeof out, CURL "https://localhost:%d/sub/", port, port);
    CHECK(strstr(out, "b.txt") == NULL);
    rc = fx_run(out, sizeof out, CURL "https://localhost:%d/sub/b.txt", port, port);
    CHECK(rc == 0 && strcmp(out, "in sub\n") == 0);
    rc = fx_run(out, sizeof out, CURL "--path-as-is https://localhost:%d/../../etc/passwd", port,
                port);
    CHECK(strstr(out, "root:") == NULL);
    rc = fx_run(out, sizeof out,
                CURL "--path-as-is https://localhost:%d/%%2e%%2e/%%2e%%2e/etc/passwd", port, port);
    CHECK(strstr(out, "root:") == NULL);
    rc = fx_run(out, sizeof out, CURL "-o /dev/null -w '%%{http_code}' https://localhost:%d/nope",
                port, port);
    CHECK(rc == 0 && strcmp(out, "404") == 0);

    /* Resumption is on by default: TLS 1.2 session IDs, TLS 1.3 tickets. */
    rc = fx_run(out, sizeof out,
                "openssl s_client -connect 127.0.0.1:%d -tls1_2 -reconnect </dev/null 2>&1", port);
    CHECK(count(out, "\nReused, TLSv1.2") == 5);
    CHECK(resumes_tls13(port, "on") == 1);

    /* The same port again: the message names the address:port taken. */
    {
        cs_server_config c = cfg;
        char want[96];
        c.port = port;
        snprintf(want, sizeof want, "server: 127.0.0.1:%d (https) is already in use", port);
        CHECK_FAIL(cs_server_start(&c, &srv2, &err), CS_ESERVER, &err, want);
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
            rc = fx_run(out, sizeof out,
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
            rc = fx_run(out, sizeof out,
                        "curl -sS --max-time 10 --cacert root.pem https://[::1]:%d/", p6);
            CHECK(rc == 0 && strcmp(out, "Hello, World!") == 0);
            rc = fx_run(out, sizeof out,
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
    test_reload_signals();

    cs_key_free(key2);
    cs_cert_free(leaf2);
    cs_key_free(inter_key);
    cs_cert_free(root);
    cs_key_free(other);
    cs_key_free(key);
    cs_cert_free(inter);
    cs_cert_free(leaf);
    fx_rmdir();
    return CHECK_DONE();
}
