/* The validation worker's pool: configuration, the bounded queue, the
 * threads that take validations from it, and the helpers every challenge
 * type shares (deadlines, outcomes, addresses, quoting). The checks
 * themselves: acme_validate_http.c, acme_validate_tls.c,
 * acme_validate_dns.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "acme_validate.h"
#include "acme_validate_internal.h"
#include "lazy.h"

#define DOMAIN_MAX 253
#define TOKEN_MAX 256
#define KEY_AUTHORIZATION_MAX 1024

/* A validation waiting in the queue; the strings are its own copies. */
typedef struct job {
    struct job *next;
    cs_challenge_type type;
    char *domain, *token, *key_authorization;
    cs_validation_done done;
    void *arg;
} job;

struct cs_validator {
    csi_validate_config config;
    SSL_CTX *tls;
    atomic_int stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job *head, *tail; /* under lock */
    int queued;       /* under lock */
    pthread_t *threads;
    int started;      /* threads running */
};

/* ---- shared helpers ---------------------------------------------------- */

int64_t csi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t csi_validation_left_ms(const csi_validation *val)
{
    return val->deadline_ms - csi_now_ms();
}

int csi_validation_slice_ms(const csi_validation *val)
{
    int64_t left = csi_validation_left_ms(val);
    if (left <= 0)
        return 0;
    return left < CSI_VALIDATE_SLICE_MS ? (int)left : CSI_VALIDATE_SLICE_MS;
}

int csi_validation_should_end(const csi_validation *val)
{
    return atomic_load(val->stop) || csi_validation_left_ms(val) <= 0;
}

static void vrecord(csi_validation *val, const char *problem, const char *fmt, va_list ap)
{
    int n;
    if (val->problem || val->detail[0])
        return; /* the first outcome stands */
    val->problem = problem;
    n = snprintf(val->detail, sizeof val->detail, "%s: %s: ",
                 cs_challenge_type_name(val->type), val->domain);
    if (n < 0 || (size_t)n >= sizeof val->detail)
        return;
    vsnprintf(val->detail + n, sizeof val->detail - (size_t)n, fmt, ap);
}

int csi_validation_fail(csi_validation *val, const char *problem, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrecord(val, problem, fmt, ap);
    va_end(ap);
    return -1;
}

int csi_validation_ok(csi_validation *val, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrecord(val, NULL, fmt, ap);
    va_end(ap);
    return 0;
}

int csi_validation_fail_waiting(csi_validation *val, const char *timeout_problem,
                                const char *what)
{
    if (atomic_load(val->stop))
        return csi_validation_fail(val, "serverInternal",
                                   "validator stopped before this validation finished (%s)",
                                   what);
    return csi_validation_fail(val, timeout_problem, "timed out after %d ms while %s",
                               val->config->timeout_ms, what);
}

void csi_quote(char *out, size_t cap, const unsigned char *s, size_t len, size_t max)
{
    size_t o = 0, i;
    int cut = len > max;
    if (cap < 8) {
        if (cap)
            out[0] = '\0';
        return;
    }
    if (cut)
        len = max;
    out[o++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            if (o + 1 >= cap - 5)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= cap - 5)
                break;
            snprintf(out + o, cap - o, "\\x%02x", c);
            o += 4;
        }
    }
    cut = cut || i < len;
    out[o++] = '"';
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void csi_addr_text(const struct sockaddr_storage *a, char *out, size_t cap)
{
    const void *raw = a->ss_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if (!inet_ntop(a->ss_family, raw, out, (socklen_t)cap))
        snprintf(out, cap, "?");
}

static int ipv4_unusable(uint32_t ip, const char **why)
{
    if ((ip >> 24) == 0)
        *why = "unspecified (0.0.0.0/8)";
    else if ((ip >> 16) == 0xa9fe)
        *why = "link-local (169.254.0.0/16)";
    else if (ip == 0xffffffffu)
        *why = "the broadcast address";
    else if ((ip >> 28) == 0xe)
        *why = "multicast (224.0.0.0/4)";
    else if ((ip >> 28) == 0xf)
        *why = "reserved (240.0.0.0/4)";
    else
        return 0;
    return 1;
}

int csi_addr_unusable(const struct sockaddr_storage *a, const char **why)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        return ipv4_unusable(ntohl(in->sin_addr.s_addr), why);
    }
    if (a->ss_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_UNSPECIFIED(in6)) {
            *why = "unspecified (::)";
            return 1;
        }
        if (IN6_IS_ADDR_MULTICAST(in6)) {
            *why = "multicast (ff00::/8)";
            return 1;
        }
        if (IN6_IS_ADDR_LINKLOCAL(in6)) {
            *why = "link-local (fe80::/10)";
            return 1;
        }
        if (memcmp(in6->s6_addr, mapped, sizeof mapped) == 0) {
            uint32_t ip = ((uint32_t)in6->s6_addr[12] << 24) | ((uint32_t)in6->s6_addr[13] << 16) |
                          ((uint32_t)in6->s6_addr[14] << 8) | in6->s6_addr[15];
            return ipv4_unusable(ip, why);
        }
        return 0;
    }
    *why = "not an IP address";
    return 1;
}

int csi_addr_parse(const char *text, struct sockaddr_storage *out)
{
    char buf[64];
    size_t n = strlen(text);
    memset(out, 0, sizeof *out);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        if (n - 2 >= sizeof buf)
            return -1;
        memcpy(buf, text + 1, n - 2);
        buf[n - 2] = '\0';
        out->ss_family = AF_INET6;
        return inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)out)->sin6_addr) == 1 ? 0 : -1;
    }
    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)out)->sin_addr) == 1) {
        out->ss_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)out)->sin6_addr) == 1) {
        out->ss_family = AF_INET6;
        return 0;
    }
    memset(out, 0, sizeof *out);
    return -1;
}

void csi_key_authorization_digest(const char *key_authorization, unsigned char out[32])
{
    unsigned int len = 32;
    /* SHA-256 over a short string cannot fail short of memory; a zeroed
     * digest then simply matches nothing. */
    if (!EVP_Digest(key_authorization, strlen(key_authorization), out, &len, EVP_sha256(),
                    NULL))
        memset(out, 0, 32);
}

void csi_key_authorization_b64url(const char *key_authorization, char out[44])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char d[32];
    size_t i, o = 0;
    csi_key_authorization_digest(key_authorization, d);
    for (i = 0; i + 2 < 32; i += 3) {
        uint32_t v = ((uint32_t)d[i] << 16) | ((uint32_t)d[i + 1] << 8) | d[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    {   /* 32 = 10 * 3 + 2: the last two bytes give three characters */
        uint32_t v = ((uint32_t)d[30] << 16) | ((uint32_t)d[31] << 8);
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
}

const char *cs_challenge_type_name(cs_challenge_type type)
{
    switch (type) {
    case CS_CHALLENGE_HTTP01:
        return "http-01";
    case CS_CHALLENGE_TLSALPN01:
        return "tls-alpn-01";
    case CS_CHALLENGE_DNS01:
        return "dns-01";
    }
    return NULL;
}

int cs_challenge_type_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "http-01") == 0)
        return CS_CHALLENGE_HTTP01;
    if (strcmp(name, "tls-alpn-01") == 0)
        return CS_CHALLENGE_TLSALPN01;
    if (strcmp(name, "dns-01") == 0)
        return CS_CHALLENGE_DNS01;
    return -1;
}

/* ---- configuration ----------------------------------------------------- */

static void config_free(csi_validate_config *c)
{
    size_t i;
    for (i = 0; i < c->rules_len; i++)
        free(c->rules[i].pattern);
    free(c->rules);
    free(c->dns_servers);
    memset(c, 0, sizeof *c);
}

int csi_dns_name_ok(const char *s)
{
    size_t n = strlen(s), label = 0, i;
    if (n == 0 || n > DOMAIN_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            if (label == 0 && c == '-')
                return 0;
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

static cs_code parse_rule(const char *text, size_t index, csi_resolve_rule *rule, cs_err *err)
{
    const char *eq = text ? strchr(text, '=') : NULL;
    const char *why = NULL;
    char *pattern = NULL;
    size_t plen, i;

    if (!eq)
        return cs_err_set(err, CS_EINVAL,
                          "validation resolve[%zu]: \"%.100s\": not pattern=address "
                          "(e.g. \"*.test=127.0.0.1\")",
                          index + 1, text ? text : "(null)");
    plen = (size_t)(eq - text);
    if (csi_addr_parse(eq + 1, &rule->addr) != 0)
        return cs_err_set(err, CS_EINVAL,
                          "validation resolve[%zu]: \"%.100s\": address is not an IPv4 or "
                          "IPv6 literal",
                          index + 1, text);
    if (csi_addr_unusable(&rule->addr, &why))
        return cs_err_set(err, CS_EINVAL,
                          "validation resolve[%zu]: \"%.100s\": address is %s: nothing can "
                          "answer from it",
                          index + 1, text, why);
    pattern = malloc(plen + 1);
    if (!pattern)
        return cs_err_set(err, CS_ENOMEM, "validation resolve: out of memory");
    memcpy(pattern, text, plen);
    pattern[plen] = '\0';
    rule->wildcard = 0;
    if (strcmp(pattern, "*") == 0) {
        rule->wildcard = 1;
        pattern[0] = '\0';
    } else if (plen > 2 && pattern[0] == '*' && pattern[1] == '.' &&
               csi_dns_name_ok(pattern + 2)) {
        rule->wildcard = 1;
        memmove(pattern, pattern + 1, plen); /* ".test" and its NUL */
    } else if (!csi_dns_name_ok(pattern)) {
        free(pattern);
        return cs_err_set(err, CS_EINVAL,
                          "validation resolve[%zu]: \"%.100s\": pattern is not a DNS name, "
                          "\"*.\" and a DNS name, or \"*\"",
                          index + 1, text);
    }
    for (i = 0; pattern[i]; i++)
        if (pattern[i] >= 'A' && pattern[i] <= 'Z')
            pattern[i] = (char)(pattern[i] - 'A' + 'a');
    rule->pattern = pattern;
    return CS_OK;
}

static cs_code parse_port(int port, const char *name, cs_err *err)
{
    if (port < 0 || port > 65535)
        return cs_err_set(err, CS_EINVAL, "validation %s: %d is not a port (1..65535, 0: default)",
                          name, port);
    return CS_OK;
}

/* "127.0.0.1:8053", "[::1]:8053", "10.0.0.1", "::1" -> c-ares' server list. */
static cs_code parse_dns_resolver(const char *text, char **out, cs_err *err)
{
    char host[64], *list;
    const char *colon, *why = NULL;
    long port = 53;
    struct sockaddr_storage addr;
    char addr_text[64];

    if (strlen(text) >= sizeof host)
        goto bad;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            goto bad;
        memcpy(host, text, (size_t)(close - text) + 1);
        host[close - text + 1] = '\0';
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon)
            goto bad;
    } else if (csi_addr_parse(text, &addr) == 0 && addr.ss_family == AF_INET6) {
        snprintf(host, sizeof host, "[%s]", text); /* a bare IPv6 address, port 53 */
        colon = NULL;
    } else {
        colon = strrchr(text, ':');
        memcpy(host, text, colon ? (size_t)(colon - text) : strlen(text));
        host[colon ? (size_t)(colon - text) : strlen(text)] = '\0';
    }
    if (colon) {
        char *end;
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
            goto bad;
    }
    if (csi_addr_parse(host, &addr) != 0)
        goto bad;
    if (csi_addr_unusable(&addr, &why))
        return cs_err_set(err, CS_EINVAL,
                          "validation dns_resolver: \"%.100s\": address is %s", text, why);
    csi_addr_text(&addr, addr_text, sizeof addr_text);
    list = malloc(strlen(addr_text) + 16);
    if (!list)
        return cs_err_set(err, CS_ENOMEM, "validation dns_resolver: out of memory");
    if (addr.ss_family == AF_INET6)
        sprintf(list, "[%s]:%ld", addr_text, port);
    else
        sprintf(list, "%s:%ld", addr_text, port);
    *out = list;
    return CS_OK;
bad:
    return cs_err_set(err, CS_EINVAL,
                      "validation dns_resolver: \"%.100s\": not an IP address with an optional "
                      "port (\"127.0.0.1:8053\", \"[::1]:53\")",
                      text);
}

static cs_code config_parse(const cs_validator_config *in, csi_validate_config *c, cs_err *err)
{
    cs_code rc;
    size_t i;

    memset(c, 0, sizeof *c);
    rc = parse_port(in->http_port, "http_port", err);
    if (rc == CS_OK)
        rc = parse_port(in->tls_port, "tls_port", err);
    if (rc != CS_OK)
        return rc;
    if (in->workers < 0 || in->workers > 1024)
        return cs_err_set(err, CS_EINVAL, "validation workers: %d (1..1024, 0: default)",
                          in->workers);
    if (in->queue_max < 0)
        return cs_err_set(err, CS_EINVAL, "validation queue_max: %d (0: default)", in->queue_max);
    if (in->timeout_ms < 0)
        return cs_err_set(err, CS_EINVAL, "validation timeout_ms: %d (0: default)",
                          in->timeout_ms);
    if (in->resolve_len && !in->resolve)
        return cs_err_set(err, CS_EINVAL, "validation resolve: %zu rules but no array",
                          in->resolve_len);
    c->http_port = in->http_port ? in->http_port : 80;
    c->tls_port = in->tls_port ? in->tls_port : 443;
    c->workers = in->workers ? in->workers : CS_VALIDATOR_WORKERS;
    c->queue_max = in->queue_max ? in->queue_max : CS_VALIDATOR_QUEUE;
    c->timeout_ms = in->timeout_ms ? in->timeout_ms : CS_VALIDATOR_TIMEOUT_MS;
    if (in->resolve_len) {
        c->rules = calloc(in->resolve_len, sizeof *c->rules);
        if (!c->rules)
            return cs_err_set(err, CS_ENOMEM, "validation resolve: out of memory");
    }
    for (i = 0; i < in->resolve_len; i++) {
        rc = parse_rule(in->resolve[i], i, &c->rules[i], err);
        if (rc != CS_OK) {
            config_free(c);
            return rc;
        }
        c->rules_len = i + 1;
    }
    if (in->dns_resolver) {
        rc = parse_dns_resolver(in->dns_resolver, &c->dns_servers, err);
        if (rc != CS_OK) {
            config_free(c);
            return rc;
        }
    }
    return CS_OK;
}

/* ---- the pool ---------------------------------------------------------- */

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->domain);
    free(j->token);
    if (j->key_authorization)
        OPENSSL_cleanse(j->key_authorization, strlen(j->key_authorization));
    free(j->key_authorization);
    free(j);
}

static void run(cs_validator *v, job *j)
{
    csi_validation val;
    int rc = -1;

    memset(&val, 0, sizeof val);
    val.config = &v->config;
    val.tls = v->tls;
    val.stop = &v->stop;
    val.deadline_ms = csi_now_ms() + v->config.timeout_ms;
    val.type = j->type;
    val.domain = j->domain;
    val.token = j->token;
    val.key_authorization = j->key_authorization;

    if (atomic_load(&v->stop)) {
        csi_validation_fail(&val, "serverInternal",
                            "validator stopped before this validation began");
    } else {
        switch (j->type) {
        case CS_CHALLENGE_HTTP01:
            rc = csi_check_http01(&val);
            break;
        case CS_CHALLENGE_TLSALPN01:
            rc = csi_check_tlsalpn01(&val);
            break;
        case CS_CHALLENGE_DNS01:
            rc = csi_check_dns01(&val);
            break;
        }
        if (rc != 0 && !val.problem)
            csi_validation_fail(&val, "serverInternal", "the check failed without a reason");
    }
    ERR_clear_error(); /* nothing of one validation's OpenSSL errors reaches the next */
    j->done(j->arg, val.problem, val.detail);
}

static void *worker(void *arg)
{
    cs_validator *v = arg;
    for (;;) {
        job *j;
        pthread_mutex_lock(&v->lock);
        while (!v->head && !atomic_load(&v->stop))
            pthread_cond_wait(&v->wake, &v->lock);
        j = v->head;
        if (j) {
            v->head = j->next;
            if (!v->head)
                v->tail = NULL;
            v->queued--;
        }
        pthread_mutex_unlock(&v->lock);
        if (!j)
            break; /* stopping and nothing left to answer */
        run(v, j);
        job_free(j);
    }
    return NULL;
}

static SSL_CTX *client_tls(cs_err *err)
{
    static const unsigned char alpn[] = "\x0a" "acme-tls/1";
    SSL_CTX *ctx = SSL_CTX_new_ex(NULL, NULL, TLS_client_method());
    if (!ctx) {
        cs_err_ossl(err, CS_ECRYPTO, "validation: making the TLS client context");
        return NULL;
    }
    /* RFC 8737 3: TLS 1.2 or later; the certificate is self-signed by
     * design, so it is inspected, not verified. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1) != 0) {
        cs_err_ossl(err, CS_ECRYPTO, "validation: setting up the TLS client context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init(void)
{
    global_ok = csi_validate_http_global_init() == 0 && csi_validate_dns_global_init() == 0;
}

static void stop_threads(cs_validator *v)
{
    int i;
    pthread_mutex_lock(&v->lock);
    atomic_store(&v->stop, 1);
    pthread_cond_broadcast(&v->wake);
    pthread_mutex_unlock(&v->lock);
    for (i = 0; i < v->started; i++)
        pthread_join(v->threads[i], NULL);
    v->started = 0;
}

static void validator_free(cs_validator *v)
{
    job *j = v->head;
    while (j) { /* none when threads ran; here for a start that failed */
        job *next = j->next;
        job_free(j);
        j = next;
    }
    free(v->threads);
    SSL_CTX_free(v->tls);
    pthread_cond_destroy(&v->wake);
    pthread_mutex_destroy(&v->lock);
    config_free(&v->config);
    free(v);
}

cs_code cs_validator_start(const cs_validator_config *config, cs_validator **out, cs_err *err)
{
    cs_validator *v = NULL;
    sigset_t all, old_mask;
    cs_code rc;
    int i;

    if (!config || !out)
        return cs_err_set(err, CS_EINVAL, "validation: no configuration");
    /* opened here, not at load time (core/lazy.h): a missing one is named */
    rc = cs_lazy_load(&cs_lazy_curl, err);
    if (rc == CS_OK)
        rc = cs_lazy_load(&cs_lazy_cares, err);
    if (rc != CS_OK)
        return rc;
    pthread_once(&global_once, global_init);
    if (!global_ok)
        return cs_err_set(err, CS_ECRYPTO,
                          "validation: libcurl or c-ares failed to initialise");
    v = calloc(1, sizeof *v);
    if (!v)
        return cs_err_set(err, CS_ENOMEM, "validation: out of memory");
    rc = config_parse(config, &v->config, err);
    if (rc != CS_OK) {
        free(v);
        return rc;
    }
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        config_free(&v->config);
        free(v);
        return cs_err_set(err, CS_ENOMEM, "validation: no mutex");
    }
    if (pthread_cond_init(&v->wake, NULL) != 0) {
        pthread_mutex_destroy(&v->lock);
        config_free(&v->config);
        free(v);
        return cs_err_set(err, CS_ENOMEM, "validation: no condition variable");
    }
    atomic_init(&v->stop, 0);
    v->tls = client_tls(err);
    v->threads = calloc((size_t)v->config.workers, sizeof *v->threads);
    if (!v->tls || !v->threads) {
        rc = v->tls ? cs_err_set(err, CS_ENOMEM, "validation: out of memory") : CS_ECRYPTO;
        validator_free(v);
        return rc;
    }
    /* The workers start with every signal blocked, and keep it so: a
     * signal is the main loop's to take (signals.h), and a write to a peer
     * that hung up (OpenSSL's close_notify on a socket) must be EPIPE, not a
     * SIGPIPE that ends the process. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    for (i = 0; i < v->config.workers; i++) {
        pthread_attr_t attr;
        int e;
        pthread_attr_init(&attr);
        /* A check uses a few KiB of stack (buffers of 1-8 KiB), OpenSSL's
         * handshake and libcurl's transfer some more: 256 KiB, as CivetWeb's. */
        pthread_attr_setstacksize(&attr, 256 * 1024);
        e = pthread_create(&v->threads[i], &attr, worker, v);
        pthread_attr_destroy(&attr);
        if (e != 0) {
            pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
            stop_threads(v);
            validator_free(v);
            return cs_err_set(err, CS_EIO, "validation: cannot start worker %d: %s", i + 1,
                              strerror(e));
        }
        v->started = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    *out = v;
    return CS_OK;
}

static int token_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > TOKEN_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int printable_ok(const char *s, size_t max)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > max)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int is_ipv4_literal(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1;
}

cs_code cs_validator_submit(cs_validator *v, cs_challenge_type type, const char *domain,
                            const char *token, const char *key_authorization,
                            cs_validation_done done, void *arg, cs_err *err)
{
    job *j = NULL;
    size_t tlen;

    if (!v || !done)
        return cs_err_set(err, CS_EINVAL, "validation submit: no validator or no callback");
    if (!cs_challenge_type_name(type))
        return cs_err_set(err, CS_EINVAL, "validation submit: unknown challenge type %d",
                          (int)type);
    if (!domain || !csi_dns_name_ok(domain) || is_ipv4_literal(domain))
        return cs_err_set(err, CS_EINVAL,
                          "validation submit: domain \"%.100s\": not a DNS name (letters, "
                          "digits, '-', '.'; no \"*.\", no trailing dot)",
                          domain ? domain : "(null)");
    if (!token || !token_ok(token))
        return cs_err_set(err, CS_EINVAL,
                          "validation submit: token: not 1..%d base64url characters", TOKEN_MAX);
    if (!key_authorization || !printable_ok(key_authorization, KEY_AUTHORIZATION_MAX))
        return cs_err_set(err, CS_EINVAL,
                          "validation submit: key authorization: not 1..%d printable ASCII "
                          "characters",
                          KEY_AUTHORIZATION_MAX);
    tlen = strlen(token);
    if (strncmp(key_authorization, token, tlen) != 0 || key_authorization[tlen] != '.')
        return cs_err_set(err, CS_EINVAL,
                          "validation submit: key authorization does not start with the "
                          "token and '.' (RFC 8555 8.1)");
    j = calloc(1, sizeof *j);
    if (!j)
        return cs_err_set(err, CS_ENOMEM, "validation submit: out of memory");
    j->type = type;
    j->domain = strdup(domain);
    j->token = strdup(token);
    j->key_authorization = strdup(key_authorization);
    j->done = done;
    j->arg = arg;
    if (!j->domain || !j->token || !j->key_authorization) {
        job_free(j);
        return cs_err_set(err, CS_ENOMEM, "validation submit: out of memory");
    }
    pthread_mutex_lock(&v->lock);
    if (v->queued >= v->config.queue_max) {
        int queued = v->queued;
        pthread_mutex_unlock(&v->lock);
        job_free(j);
        return cs_err_set(err, CS_ETOOLARGE,
                          "validation submit: %d validations already wait; try again later",
                          queued);
    }
    if (v->tail)
        v->tail->next = j;
    else
        v->head = j;
    v->tail = j;
    v->queued++;
    pthread_cond_signal(&v->wake);
    pthread_mutex_unlock(&v->lock);
    return CS_OK;
}

void cs_validator_stop(cs_validator *v)
{
    if (!v)
        return;
    stop_threads(v); /* the workers answer what is queued, then leave */
    validator_free(v);
}
