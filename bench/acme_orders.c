/* Complete ACME orders as fast as a server gives them (issue 12 section 5):
 * the cheap client of bench/acme_orders.sh, for pebble and chainsmith alike.
 *
 *   acme_orders --directory URL --ca-bundle PEM --challtestsrv URL
 *               [--accounts 32] [--orders 500] [--poll-ms 20] [--server-pid PID]
 *               [--timeout 60]
 *
 * An order is: newOrder (one name) -> POST-as-GET the authorization ->
 * publish the http-01 answer on pebble-challtestsrv (/add-http01) -> answer
 * the challenge -> poll the authorization until valid -> poll the order until
 * ready -> finalize with a fresh P-256 CSR -> poll the order until valid ->
 * download the chain. Its latency runs from newOrder to the downloaded chain.
 *
 * Each account is a thread with its own libcurl handle (one kept-alive TLS
 * connection), registered before the clock starts; the threads order until
 * --orders are done in all. Every response's Replay-Nonce is used for the
 * next request, as clients do (badNonce: retried with the nonce it carried).
 * Polls come every --poll-ms whatever Retry-After says, so every server is
 * polled alike. The Python driver this replaces (acme_orders.py) spent about
 * 20 ms of CPU per order itself, as much as a server; this one's own CPU per
 * order is printed (client_cpu_ms_per_order).
 *
 * --server-pid: the server's CPU (all threads, /proc/PID/stat) during the
 * run, its RSS before the run and the peak sampled every 0.2 s.
 * --timeout S: a request unanswered for S seconds means the server stalled
 * (Debian's pebble 2.4.0 wedges on its store lock now and then): every
 * thread stops, "stalled": true and exit status 3.
 *
 * Prints one JSON line, the keys acme_orders.sh reads. A benchmark: it
 * asserts nothing about the server beyond counting errors. */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- options and shared state ---- */

static struct {
    const char *directory, *ca, *challtestsrv;
    int accounts, orders, poll_ms, server_pid, timeout_s;
} opt = {NULL, NULL, NULL, 32, 500, 20, 0, 60};

static char dir_new_nonce[512], dir_new_account[512], dir_new_order[512];
static atomic_int next_order, stalled;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double *latencies; /* seconds, under lock */
static int done_orders, errors;
static char first_error[400];
static long long polls;
static pthread_barrier_t ready;

/* Where an order's latency goes: the same steps as acme_orders.py. */
enum { P_NEW_ORDER, P_AUTHZ, P_PUBLISH, P_CHALLENGE, P_AUTHZ_WAIT, P_READY_WAIT, P_FINALIZE,
       P_VALID_WAIT, P_DOWNLOAD, P_N };
static const char *const phase_names[P_N] = {"newOrder", "authz", "publish", "challenge",
                                             "authz_wait", "order_ready_wait", "finalize",
                                             "order_valid_wait", "download"};
static double phase_sum[P_N];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- base64url ---- */

static char *b64url(const unsigned char *in, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len / 3 * 4 + 5), *p = out;
    size_t i;

    if (!out)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *p++ = abc[v >> 18 & 63], *p++ = abc[v >> 12 & 63];
        *p++ = abc[v >> 6 & 63], *p++ = abc[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *p++ = abc[v >> 18 & 63], *p++ = abc[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *p++ = abc[v >> 18 & 63], *p++ = abc[v >> 12 & 63], *p++ = abc[v >> 6 & 63];
    }
    *p = '\0';
    return out;
}

static char *b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

/* ---- one account: a key, a kept-alive connection, the last nonce ---- */

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

typedef struct client {
    CURL *acme, *mgmt;
    EVP_PKEY *key;
    char *jwk;        /* compact JSON, RFC 7638 member order */
    char thumb[64];   /* base64url SHA-256 of jwk */
    char kid[512];    /* the account URL */
    char nonce[256];  /* from the last response, or "" */
    char location[512];
    buf body;
    long status;
    char err[300];
} client;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    buf *b = arg;
    size_t len = size * n;

    if (b->len + len + 1 > b->cap) {
        size_t cap = (b->len + len + 1) * 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* Copy header name's value from line into out (cap bytes) when it matches. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    line += n + 1;
    len -= n + 1;
    while (len > 0 && (*line == ' ' || *line == '\t'))
        line++, len--;
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, line, len);
    out[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    client *c = arg;

    header_value(p, size * n, "Replay-Nonce", c->nonce, sizeof c->nonce);
    header_value(p, size * n, "Location", c->location, sizeof c->location);
    return size * n;
}

static void fail(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* One request on h: body NULL is a GET (head_only: a HEAD). 0 and c->status,
 * c->body, or -1 with c->err. */
static int http(client *c, CURL *h, const char *url, const char *body, const char *type,
                int head_only)
{
    struct curl_slist *hdr = NULL;
    char ct[128];
    CURLcode rc;

    c->body.len = 0;
    if (c->body.data)
        c->body.data[0] = '\0';
    c->location[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, head_only ? 1L : 0L);
    if (body) {
        snprintf(ct, sizeof ct, "Content-Type: %s", type);
        hdr = curl_slist_append(hdr, ct);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        if (head_only)
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        if (rc == CURLE_OPERATION_TIMEDOUT)
            atomic_store(&stalled, 1);
        fail(c, "%s: %s", url, curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    return 0;
}

static CURL *new_handle(client *c, int tls)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)opt.timeout_s * 1000);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "chainsmith-bench");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (tls)
        curl_easy_setopt(h, CURLOPT_CAINFO, opt.ca);
    return h;
}

/* ---- JWS (ES256) ---- */

static int make_key(client *c)
{
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32], md[32];
    char *xs = NULL, *ys = NULL, *t = NULL;
    int ok = 0;

    c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!c->key || !EVP_PKEY_get_bn_param(c->key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(c->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
        BN_bn2binpad(x, xb, 32) != 32 || BN_bn2binpad(y, yb, 32) != 32)
        goto done;
    xs = b64url(xb, 32);
    ys = b64url(yb, 32);
    c->jwk = malloc(200);
    if (!xs || !ys || !c->jwk)
        goto done;
    /* RFC 7638: the required members, sorted, no spaces: also the thumbprint input */
    snprintf(c->jwk, 200, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
    if (!EVP_Digest(c->jwk, strlen(c->jwk), md, NULL, EVP_sha256(), NULL))
        goto done;
    t = b64url(md, 32);
    if (!t)
        goto done;
    snprintf(c->thumb, sizeof c->thumb, "%s", t);
    ok = 1;
done:
    BN_free(x);
    BN_free(y);
    free(xs);
    free(ys);
    free(t);
    return ok;
}

/* ES256 over data: the raw r || s JWS wants (RFC 7518 3.4), base64url. */
static char *sign_es256(EVP_PKEY *key, const char *data)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80], raw[64];
    const unsigned char *p = der;
    size_t der_len = sizeof der;
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r, *s;
    char *out = NULL;

    if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, der, &der_len, (const unsigned char *)data, strlen(data)) != 1)
        goto done;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!sig)
        goto done;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32)
        out = b64url(raw, 64);
done:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return out;
}

/* The flattened JWS of payload ("" for POST-as-GET) to url, signed with the
 * account's kid once it has one, else its jwk; the nonce is the last
 * response's, or a fresh one. Free with free(). */
static char *jws(client *c, const char *url, const char *payload)
{
    char *prot = NULL, *p64 = NULL, *b64 = NULL, *input = NULL, *sig = NULL, *out = NULL;
    size_t n;

    if (!c->nonce[0] && (http(c, c->acme, dir_new_nonce, NULL, NULL, 1) != 0 || !c->nonce[0])) {
        if (!c->err[0])
            fail(c, "newNonce: no Replay-Nonce");
        return NULL;
    }
    n = strlen(c->nonce) + strlen(url) + strlen(c->jwk) + strlen(c->kid) + 100;
    prot = malloc(n);
    if (!prot)
        goto done;
    if (c->kid[0])
        snprintf(prot, n, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
                 c->kid, c->nonce, url);
    else
        snprintf(prot, n, "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
                 c->jwk, c->nonce, url);
    c->nonce[0] = '\0'; /* used */
    p64 = b64url_str(prot);
    b64 = b64url_str(payload);
    if (!p64 || !b64)
        goto done;
    n = strlen(p64) + strlen(b64) + 2;
    input = malloc(n);
    if (!input)
        goto done;
    snprintf(input, n, "%s.%s", p64, b64);
    sig = sign_es256(c->key, input);
    if (!sig)
        goto done;
    n = strlen(p64) + strlen(b64) + strlen(sig) + 64;
    out = malloc(n);
    if (out)
        snprintf(out, n, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64,
                 b64, sig);
done:
    if (!out)
        fail(c, "signing a request failed");
    free(prot);
    free(p64);
    free(b64);
    free(input);
    free(sig);
    return out;
}

/* A signed POST; a badNonce answer is retried with the nonce it carried
 * (RFC 8555 6.5), a few times. 0 and a 2xx in c->status, or -1 with c->err. */
static int post(client *c, const char *url, const char *payload, const char *what)
{
    int tries;

    for (tries = 0; tries < 5; tries++) {
        char *body = jws(c, url, payload);
        int rc;
        if (!body)
            return -1;
        rc = http(c, c->acme, url, body, "application/jose+json", 0);
        free(body);
        if (rc != 0)
            return -1;
        if (c->status >= 200 && c->status < 300)
            return 0;
        if (c->status != 400 || !strstr(c->body.data ? c->body.data : "", ":badNonce"))
            break;
    }
    fail(c, "%s: %ld %.200s", what, c->status, c->body.data ? c->body.data : "");
    return -1;
}

/* POST url and parse the JSON answer (new reference), or NULL with c->err. */
static json_t *post_json(client *c, const char *url, const char *payload, const char *what)
{
    json_t *j;

    if (post(c, url, payload, what) != 0)
        return NULL;
    j = json_loadb(c->body.data ? c->body.data : "", c->body.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        fail(c, "%s: not a JSON object: %.200s", what, c->body.data ? c->body.data : "");
        return NULL;
    }
    return j;
}

/* Poll url (POST-as-GET) every --poll-ms until its status is one of want
 * ("valid|invalid"); 60 s at most. The object, or NULL with c->err. */
static json_t *wait_status(client *c, const char *url, const char *want, long long *npolls)
{
    double until = now_s() + 60;

    for (;;) {
        json_t *j = post_json(c, url, "", "poll");
        const char *st;
        char tok[40];
        if (!j)
            return NULL;
        (*npolls)++;
        st = json_string_value(json_object_get(j, "status"));
        snprintf(tok, sizeof tok, "|%s|", st ? st : "?");
        {
            char w[64];
            snprintf(w, sizeof w, "|%s|", want);
            if (strstr(w, tok))
                return j;
        }
        json_decref(j);
        if (now_s() > until || atomic_load(&stalled)) {
            fail(c, "%s: still %s after 60 s", url, st ? st : "?");
            return NULL;
        }
        sleep_ms(opt.poll_ms);
    }
}

/* A fresh P-256 key's CSR for name, DER in base64url. */
static char *csr_for(const char *name)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subj = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *san = NULL;
    unsigned char *der = NULL;
    char *out = NULL, value[300];
    int len;

    snprintf(value, sizeof value, "DNS:%s", name);
    if (!key || !req || !subj || !exts ||
        !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)name, -1,
                                    -1, 0) ||
        !X509_REQ_set_subject_name(req, subj) || !X509_REQ_set_pubkey(req, key))
        goto done;
    san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
    if (!san || !sk_X509_EXTENSION_push(exts, san))
        goto done;
    san = NULL;
    if (!X509_REQ_add_extensions(req, exts) || !X509_REQ_sign(req, key, EVP_sha256()))
        goto done;
    len = i2d_X509_REQ(req, &der);
    if (len > 0)
        out = b64url(der, (size_t)len);
done:
    OPENSSL_free(der);
    X509_EXTENSION_free(san);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(subj);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return out;
}

/* challtestsrv's management API: add-http01 or del-http01. */
static int challtestsrv(client *c, const char *op, const char *token, const char *content)
{
    char url[600], body[600];

    snprintf(url, sizeof url, "%s/%s", opt.challtestsrv, op);
    if (content)
        snprintf(body, sizeof body, "{\"token\":\"%s\",\"content\":\"%s\"}", token, content);
    else
        snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
    if (http(c, c->mgmt, url, body, "application/json", 0) != 0)
        return -1;
    if (c->status != 200) {
        fail(c, "challtestsrv %s: %ld", op, c->status);
        return -1;
    }
    return 0;
}

/* One order for name; phases[] gets each step's wall time. 0 or -1 with c->err. */
static int one_order(client *c, const char *name, double *phases, long long *npolls)
{
    json_t *order = NULL, *authz = NULL, *chall = NULL, *done = NULL;
    char order_url[512], payload[600], keyauth[300], token[128], url[512];
    char *csr = NULL;
    const char *s;
    double t = now_s(), t2;
    size_t i;
    int rc = -1;

#define MARK(p) (t2 = now_s(), phases[p] += t2 - t, t = t2)
    snprintf(payload, sizeof payload, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}",
             name);
    order = post_json(c, dir_new_order, payload, "newOrder");
    if (!order)
        goto done;
    snprintf(order_url, sizeof order_url, "%s", c->location);
    MARK(P_NEW_ORDER);
    s = json_string_value(json_array_get(json_object_get(order, "authorizations"), 0));
    if (!s || !order_url[0]) {
        fail(c, "newOrder: no authorization or no Location");
        goto done;
    }
    snprintf(url, sizeof url, "%s", s);
    authz = post_json(c, url, "", "authz");
    if (!authz)
        goto done;
    MARK(P_AUTHZ);
    json_t *list = json_object_get(authz, "challenges");
    for (i = 0; i < json_array_size(list); i++) {
        json_t *ch = json_array_get(list, i);
        const char *type = json_string_value(json_object_get(ch, "type"));
        if (type && strcmp(type, "http-01") == 0)
            chall = ch;
    }
    if (!chall || !json_string_value(json_object_get(chall, "token")) ||
        !json_string_value(json_object_get(chall, "url"))) {
        fail(c, "authz: no http-01 challenge");
        goto done;
    }
    snprintf(token, sizeof token, "%s", json_string_value(json_object_get(chall, "token")));
    snprintf(keyauth, sizeof keyauth, "%s.%s", token, c->thumb);
    if (challtestsrv(c, "add-http01", token, keyauth) != 0)
        goto done;
    MARK(P_PUBLISH);
    if (post(c, json_string_value(json_object_get(chall, "url")), "{}", "challenge") != 0)
        goto done;
    MARK(P_CHALLENGE);
    done = wait_status(c, url, "valid|invalid", npolls);
    (void)challtestsrv(c, "del-http01", token, NULL);
    if (!done)
        goto done;
    MARK(P_AUTHZ_WAIT);
    if (strcmp(json_string_value(json_object_get(done, "status")), "valid") != 0) {
        fail(c, "authorization invalid: %.200s", c->body.data);
        goto done;
    }
    json_decref(done);
    done = wait_status(c, order_url, "ready|invalid", npolls);
    if (!done)
        goto done;
    MARK(P_READY_WAIT);
    s = json_string_value(json_object_get(done, "finalize"));
    csr = csr_for(name);
    if (!s || !csr) {
        fail(c, "order: no finalize URL, or no CSR made");
        goto done;
    }
    snprintf(url, sizeof url, "%s", s);
    snprintf(payload, sizeof payload, "{\"csr\":\"%s\"}", csr);
    if (post(c, url, payload, "finalize") != 0)
        goto done;
    MARK(P_FINALIZE);
    json_decref(done);
    done = wait_status(c, order_url, "valid|invalid", npolls);
    if (!done)
        goto done;
    MARK(P_VALID_WAIT);
    s = json_string_value(json_object_get(done, "certificate"));
    if (!s) {
        fail(c, "order not valid: %.200s", c->body.data);
        goto done;
    }
    snprintf(url, sizeof url, "%s", s);
    if (post(c, url, "", "download") != 0)
        goto done;
    if (!c->body.data || !strstr(c->body.data, "BEGIN CERTIFICATE")) {
        fail(c, "download: no certificate");
        goto done;
    }
    MARK(P_DOWNLOAD);
    rc = 0;
#undef MARK
done:
    free(csr);
    json_decref(done);
    json_decref(authz);
    json_decref(order);
    return rc;
}

static void count_error(const client *c)
{
    pthread_mutex_lock(&lock);
    if (!errors++)
        snprintf(first_error, sizeof first_error, "%s", c->err);
    pthread_mutex_unlock(&lock);
}

static void *account_thread(void *arg)
{
    client *c = arg;
    double phases[P_N] = {0};
    long long npolls = 0;
    char name[128];
    int n, registered;

    c->acme = new_handle(c, 1);
    c->mgmt = new_handle(c, 0);
    registered = c->acme && c->mgmt && make_key(c) &&
                 post(c, dir_new_account, "{\"termsOfServiceAgreed\":true,"
                      "\"contact\":[\"mailto:ops@example.org\"]}", "newAccount") == 0 &&
                 c->location[0];
    if (registered)
        snprintf(c->kid, sizeof c->kid, "%s", c->location);
    else
        count_error(c);
    pthread_barrier_wait(&ready);
    while (registered && !atomic_load(&stalled)) {
        n = atomic_fetch_add(&next_order, 1);
        if (n >= opt.orders)
            break;
        snprintf(name, sizeof name, "o%d.r%d.bench.test", n, (int)getpid());
        double t = now_s();
        c->err[0] = '\0';
        if (one_order(c, name, phases, &npolls) == 0) {
            pthread_mutex_lock(&lock);
            latencies[done_orders++] = now_s() - t;
            pthread_mutex_unlock(&lock);
        } else {
            count_error(c);
        }
    }
    pthread_mutex_lock(&lock);
    for (n = 0; n < P_N; n++)
        phase_sum[n] += phases[n];
    polls += npolls;
    pthread_mutex_unlock(&lock);
    curl_easy_cleanup(c->acme);
    curl_easy_cleanup(c->mgmt);
    free(c->body.data);
    free(c->jwk);
    EVP_PKEY_free(c->key);
    return NULL;
}

/* ---- the server's CPU and RSS ---- */

static double server_cpu(int pid)
{
    char path[64], line[2048], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    int i;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    fclose(f);
    p = strrchr(line, ')');
    for (i = 0; p && i < 12; i++) /* fields 14 and 15: utime, stime */
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long server_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static atomic_int watching;
static long rss_peak;

static void *watch_thread(void *arg)
{
    (void)arg;
    while (atomic_load(&watching)) {
        long kb = server_rss_kb(opt.server_pid);
        if (kb > rss_peak)
            rss_peak = kb;
        sleep_ms(200);
    }
    return NULL;
}

/* ---- main ---- */

static int get_directory(void)
{
    client c;
    json_t *d;
    const char *k[3] = {"newNonce", "newAccount", "newOrder"};
    char *out[3] = {dir_new_nonce, dir_new_account, dir_new_order};
    int i, rc = -1;

    memset(&c, 0, sizeof c);
    c.acme = new_handle(&c, 1);
    if (!c.acme || http(&c, c.acme, opt.directory, NULL, NULL, 0) != 0 || c.status != 200) {
        fprintf(stderr, "acme_orders: directory %s: %s %ld\n", opt.directory, c.err, c.status);
        goto done;
    }
    d = json_loadb(c.body.data ? c.body.data : "", c.body.len, 0, NULL);
    for (i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(d, k[i]));
        if (!v) {
            fprintf(stderr, "acme_orders: the directory has no %s\n", k[i]);
            json_decref(d);
            goto done;
        }
        snprintf(out[i], 512, "%s", v);
    }
    json_decref(d);
    rc = 0;
done:
    curl_easy_cleanup(c.acme);
    free(c.body.data);
    return rc;
}

/* This process's CPU so far (all threads), seconds. */
static double own_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: acme_orders --directory URL --ca-bundle PEM --challtestsrv URL\n"
                    "       [--accounts 32] [--orders 500] [--poll-ms 20] [--server-pid PID]"
                    " [--timeout 60]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    client *clients;
    pthread_t *threads, watcher;
    double start, seconds, cpu0 = 0, cpu1, client_cpu;
    long rss_idle = 0;
    int i;

    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--directory") == 0)
            opt.directory = v;
        else if (strcmp(a, "--ca-bundle") == 0)
            opt.ca = v;
        else if (strcmp(a, "--challtestsrv") == 0)
            opt.challtestsrv = v;
        else if (strcmp(a, "--accounts") == 0)
            opt.accounts = atoi(v);
        else if (strcmp(a, "--orders") == 0)
            opt.orders = atoi(v);
        else if (strcmp(a, "--poll-ms") == 0)
            opt.poll_ms = atoi(v);
        else if (strcmp(a, "--server-pid") == 0)
            opt.server_pid = atoi(v);
        else if (strcmp(a, "--timeout") == 0)
            opt.timeout_s = atoi(v);
        else
            usage();
    }
    if (i != argc || !opt.directory || !opt.ca || !opt.challtestsrv || opt.accounts < 1 ||
        opt.orders < 1 || opt.poll_ms < 0 || opt.timeout_s < 1)
        usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (get_directory() != 0)
        return 1;
    clients = calloc((size_t)opt.accounts, sizeof *clients);
    threads = calloc((size_t)opt.accounts, sizeof *threads);
    latencies = calloc((size_t)opt.orders, sizeof *latencies);
    if (!clients || !threads || !latencies)
        return 1;
    pthread_barrier_init(&ready, NULL, (unsigned)opt.accounts + 1);
    for (i = 0; i < opt.accounts; i++)
        pthread_create(&threads[i], NULL, account_thread, &clients[i]);
    pthread_barrier_wait(&ready); /* accounts registered: the clock starts */
    if (opt.server_pid) {
        cpu0 = server_cpu(opt.server_pid);
        rss_idle = rss_peak = server_rss_kb(opt.server_pid);
        atomic_store(&watching, 1);
        pthread_create(&watcher, NULL, watch_thread, NULL);
    }
    client_cpu = -own_cpu();
    start = now_s();
    for (i = 0; i < opt.accounts; i++)
        pthread_join(threads[i], NULL);
    seconds = now_s() - start;
    client_cpu += own_cpu();
    cpu1 = opt.server_pid ? server_cpu(opt.server_pid) : 0;
    if (opt.server_pid) {
        atomic_store(&watching, 0);
        pthread_join(watcher, NULL);
        long kb = server_rss_kb(opt.server_pid);
        if (kb > rss_peak)
            rss_peak = kb;
    }

    qsort(latencies, (size_t)done_orders, sizeof *latencies, cmp_double);
#define PCT(q) (done_orders ? latencies[(int)((q) * done_orders) < done_orders ? \
                                         (int)((q) * done_orders) : done_orders - 1] * 1000 : 0)
    json_t *phase = json_object();
    for (i = 0; i < P_N; i++)
        json_object_set_new(phase, phase_names[i],
                            json_real(done_orders ? phase_sum[i] / done_orders * 1000 : 0));
    json_t *out = json_pack(
        "{s:i, s:i, s:b, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:s?}", "orders",
        done_orders, "errors", errors, "stalled", atomic_load(&stalled), "seconds", seconds,
        "orders_per_s", seconds > 0 ? done_orders / seconds : 0.0, "p50_ms", PCT(0.50),
        "p99_ms", PCT(0.99), "max_ms", PCT(1.0), "client_cpu_s", client_cpu,
        "client_cpu_ms_per_order", done_orders ? client_cpu / done_orders * 1000 : 0.0,
        "polls_per_order", done_orders ? (double)polls / done_orders : 0.0, "phase_ms", phase,
        "first_error", errors ? first_error : NULL);
#undef PCT
    if (opt.server_pid) {
        json_object_set_new(out, "server_cpu_s", json_real(cpu1 - cpu0));
        json_object_set_new(out, "rss_idle_kb", json_integer(rss_idle));
        json_object_set_new(out, "rss_peak_kb", json_integer(rss_peak));
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    puts(text ? text : "{}");
    free(text);
    json_decref(out);
    return atomic_load(&stalled) ? 3 : (errors && !done_orders) ? 1 : 0;
}
