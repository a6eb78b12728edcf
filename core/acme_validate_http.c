/* The http-01 check (RFC 8555 8.3) with libcurl: GET
 * http://<domain>/.well-known/acme-challenge/<token>, the body (trailing
 * whitespace ignored) must be the key authorization.
 *
 * Redirects are followed here, one hop at a time, not by libcurl: each
 * target is checked against RFC 8555 8.3 (http on port 80 or https on port
 * 443 only; the configured http_port and tls_port stand in for them) and
 * its name resolved the way the first one was (resolve rules, then the
 * configured DNS), so libcurl never resolves a name, never follows anything
 * by itself and never reads a proxy from the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "acme_validate_internal.h"

typedef struct body {
    unsigned char data[CS_VALIDATOR_BODY_MAX + 1];
    size_t len;
    int over; /* more than CS_VALIDATOR_BODY_MAX arrived */
} body;

int csi_validate_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -1;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    body *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > CS_VALIDATOR_BODY_MAX) {
        b->over = 1;
        return 0; /* CURLE_WRITE_ERROR: stop reading */
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

/* Where one hop goes: scheme, the host as the URL spells it, and the port
 * to connect to after the stand-ins. */
typedef struct hop {
    char url[2048];
    char host[300];  /* "a.test", "127.0.0.1", "[::1]" */
    int https;
    int port;        /* what we connect to */
} hop;

/* RFC 8555 8.3: "the server MUST only follow redirects to HTTP and HTTPS
 * on the standard ports". */
static int hop_parse(csi_validation *val, hop *h)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, quoted[300];
    long p;
    int rc = -1;

    csi_quote(quoted, sizeof quoted, (const unsigned char *)h->url, strlen(h->url), 200);
    if (!u)
        return csi_validation_fail(val, "serverInternal", "out of memory");
    if (curl_url_set(u, CURLUPART_URL, h->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        rc = csi_validation_fail(val, "connection", "redirect to %s: not a URL we can follow",
                                 quoted);
        goto done;
    }
    p = strtol(port, NULL, 10);
    if (strcasecmp(scheme, "http") == 0 && (p == 80 || p == val->config->http_port)) {
        h->https = 0;
        h->port = val->config->http_port;
    } else if (strcasecmp(scheme, "https") == 0 && (p == 443 || p == val->config->tls_port)) {
        h->https = 1;
        h->port = val->config->tls_port;
    } else {
        rc = csi_validation_fail(val, "connection",
                                 "redirect to %s: only http on port 80 and https on port 443 "
                                 "may be followed (RFC 8555 8.3)",
                                 quoted);
        goto done;
    }
    {
        struct sockaddr_storage lit;
        /* Only names we can hand to libcurl's CONNECT_TO/RESOLVE lists and
         * to c-ares as they are: LDH names and IP literals. */
        if (strlen(host) >= sizeof h->host ||
            (!csi_dns_name_ok(host) && csi_addr_parse(host, &lit) != 0)) {
            rc = csi_validation_fail(val, "connection",
                                     "redirect to %s: host is not a DNS name or an IP address",
                                     quoted);
            goto done;
        }
    }
    strcpy(h->host, host);
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* The addresses for the hop's host as libcurl's "addr,addr,[v6]" list. */
static int hop_addresses(csi_validation *val, const hop *h, char *list, size_t cap,
                         const char **how)
{
    struct sockaddr_storage lit;
    csi_addrs addrs;
    size_t i, used = 0;

    list[0] = '\0';
    if (csi_addr_parse(h->host, &lit) == 0) {
        const char *why;
        if (csi_addr_unusable(&lit, &why))
            return csi_validation_fail(val, "connection", "redirect to address %s, which is %s",
                                       h->host, why);
        *how = "the URL";
        return 1; /* a literal: libcurl connects to it without resolving */
    }
    if (csi_resolve_name(val, h->host, &addrs) != 0)
        return -1;
    for (i = 0; i < addrs.len; i++) {
        char text[64];
        csi_addr_text(&addrs.addr[i], text, sizeof text);
        used += (size_t)snprintf(list + used, cap - used,
                                 addrs.addr[i].ss_family == AF_INET6 ? "%s[%s]" : "%s%s",
                                 i ? "," : "", text);
        if (used >= cap)
            return csi_validation_fail(val, "serverInternal", "address list too long");
    }
    *how = addrs.how;
    return 0;
}

static int should_end_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return csi_validation_should_end(arg);
}

/* One GET. Returns 0 with *status and b filled, -1 with the failure
 * recorded. */
static int fetch(csi_validation *val, const hop *h, body *b, long *status, char **location,
                 char *where, size_t where_cap)
{
    char addrs[CSI_VALIDATE_ADDRS_MAX * 48], connect_to[400], resolve[800], quoted[300];
    char errbuf[CURL_ERROR_SIZE];
    const char *how = "";
    struct curl_slist *ct = NULL, *rs = NULL;
    CURL *e = NULL;
    CURLM *m = NULL;
    CURLcode cc = CURLE_OK;
    CURLMsg *msg;
    int running = 1, literal, aborted = 0, left, rc = -1;
    char *ip = NULL;
    long port = 0;

    csi_quote(quoted, sizeof quoted, (const unsigned char *)h->url, strlen(h->url), 200);
    snprintf(where, where_cap, "%s port %d", h->host, h->port);
    literal = hop_addresses(val, h, addrs, sizeof addrs, &how);
    if (literal < 0)
        return -1;
    if (!literal && snprintf(where, where_cap, "%.200s (%.180s port %d, address from %s)",
                             h->host, addrs, h->port, how) >= (int)where_cap)
        where[where_cap - 1] = '\0'; /* until libcurl says which address it used */
    snprintf(connect_to, sizeof connect_to, "::%s:%d", h->host, h->port);
    ct = curl_slist_append(NULL, connect_to);
    if (!literal) {
        snprintf(resolve, sizeof resolve, "%s:%d:%s", h->host, h->port, addrs);
        rs = curl_slist_append(NULL, resolve);
    }
    e = curl_easy_init();
    m = curl_multi_init();
    if (!ct || (!literal && !rs) || !e || !m) {
        rc = csi_validation_fail(val, "serverInternal", "out of memory");
        goto done;
    }
    left = (int)csi_validation_left_ms(val);
    if (left <= 0)
        left = 1;
    errbuf[0] = '\0';
    b->len = 0;
    b->over = 0;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, ct);
    curl_easy_setopt(e, CURLOPT_RESOLVE, rs);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never $http_proxy and friends */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "chainsmith-acme-validator");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, should_end_cb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, val);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    /* https only after a redirect, to a self-run responder: as Boulder,
     * the certificate is not what is checked. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (curl_multi_add_handle(m, e) != CURLM_OK) {
        rc = csi_validation_fail(val, "serverInternal", "libcurl refused the transfer");
        goto done;
    }
    /* Our own loop rather than curl_easy_perform, so a stop is seen within
     * a slice, not after libcurl's up-to-a-second idle waits. */
    while (running) {
        if (csi_validation_should_end(val)) {
            aborted = 1;
            break;
        }
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, csi_validation_slice_ms(val) + 1, NULL);
    }
    if (!aborted) {
        int queued;
        cc = CURLE_RECV_ERROR;
        while ((msg = curl_multi_info_read(m, &queued)))
            if (msg->msg == CURLMSG_DONE)
                cc = msg->data.result;
    }
    if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && *ip &&
        curl_easy_getinfo(e, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK)
        snprintf(where, where_cap, "%s (%s port %ld, address from %s)", h->host, ip, port, how);
    if (aborted || cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_ABORTED_BY_CALLBACK) {
        char what[800];
        snprintf(what, sizeof what, "fetching %s from %.400s", quoted, where);
        if (!atomic_load(val->stop) && cc == CURLE_OPERATION_TIMEDOUT &&
            csi_validation_left_ms(val) > 0)
            val->deadline_ms = csi_now_ms(); /* libcurl's clock ran out first */
        rc = csi_validation_fail_waiting(val, "connection", what);
        goto done;
    }
    if (cc == CURLE_WRITE_ERROR && b->over) {
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s answered %s with a body over %d bytes", where, quoted,
                                 CS_VALIDATOR_BODY_MAX);
        goto done;
    }
    if (cc != CURLE_OK) {
        const char *problem = "connection";
        char quoted_err[CURL_ERROR_SIZE + 40];
        if (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
            cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CIPHER ||
            cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_SHUTDOWN_FAILED)
            problem = "tls";
        csi_quote(quoted_err, sizeof quoted_err, (const unsigned char *)errbuf, strlen(errbuf),
                  200);
        rc = csi_validation_fail(val, problem, "fetching %s from %s: %s (%s)", quoted, where,
                                 curl_easy_strerror(cc), errbuf[0] ? quoted_err : "no detail");
        goto done;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    *location = NULL;
    {
        char *loc = NULL;
        if (curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) {
            *location = strdup(loc);
            if (!*location) {
                rc = csi_validation_fail(val, "serverInternal", "out of memory");
                goto done;
            }
        }
    }
    rc = 0;
done:
    if (m && e)
        curl_multi_remove_handle(m, e);
    curl_easy_cleanup(e);
    curl_multi_cleanup(m);
    curl_slist_free_all(ct);
    curl_slist_free_all(rs);
    return rc;
}

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int csi_check_http01(csi_validation *val)
{
    body *resp = NULL; /* 8 KiB: on the heap, not a worker's small stack */
    hop h;
    int hops, rc = -1;
    char where[400];

    resp = malloc(sizeof *resp);
    if (!resp)
        return csi_validation_fail(val, "serverInternal", "out of memory");
    snprintf(h.url, sizeof h.url, "http://%s/.well-known/acme-challenge/%s", val->domain,
             val->token);
    for (hops = 0;; hops++) {
        long status = 0;
        char *location = NULL, quoted[300];
        size_t len;

        if (hop_parse(val, &h) != 0)
            goto done;
        if (fetch(val, &h, resp, &status, &location, where, sizeof where) != 0)
            goto done;
        csi_quote(quoted, sizeof quoted, (const unsigned char *)h.url, strlen(h.url), 200);
        if (is_redirect(status) && location) {
            if (hops + 1 > CS_VALIDATOR_REDIRECTS_MAX) {
                free(location);
                rc = csi_validation_fail(val, "connection",
                                         "more than %d redirects (the last from %s at %s)",
                                         CS_VALIDATOR_REDIRECTS_MAX, quoted, where);
                goto done;
            }
            if (strlen(location) >= sizeof h.url) {
                free(location);
                rc = csi_validation_fail(val, "connection", "%s redirects %s to a URL over %zu "
                                         "bytes", where, quoted, sizeof h.url - 1);
                goto done;
            }
            strcpy(h.url, location);
            free(location);
            continue;
        }
        free(location);
        if (status != 200) {
            char excerpt[120];
            csi_quote(excerpt, sizeof excerpt, resp->data, resp->len, 64);
            rc = csi_validation_fail(val, "unauthorized",
                                     "%s answered %s with status %ld (body %s)", where, quoted,
                                     status, excerpt);
            goto done;
        }
        /* RFC 8555 8.3: whitespace at the end of the body is not part of it. */
        len = resp->len;
        while (len > 0 && (resp->data[len - 1] == ' ' || resp->data[len - 1] == '\t' ||
                           resp->data[len - 1] == '\r' || resp->data[len - 1] == '\n'))
            len--;
        if (len != strlen(val->key_authorization) ||
            memcmp(resp->data, val->key_authorization, len) != 0) {
            char excerpt[200];
            csi_quote(excerpt, sizeof excerpt, resp->data, resp->len, 120);
            rc = csi_validation_fail(val, "incorrectResponse",
                                     "%s answered %s with %s, not the key authorization",
                                     where, quoted, excerpt);
            goto done;
        }
        rc = csi_validation_ok(val, "%s answered %s with the key authorization", where, quoted);
        goto done;
    }
done:
    free(resp);
    return rc;
}
