/* Name resolution for the validation worker, and the dns-01 check
 * (RFC 8555 8.4), with c-ares.
 *
 * Why c-ares and not res_nquery: every lookup here must end by the
 * validation's deadline (in milliseconds) and at once when the validator
 * stops. res_nquery blocks for whole seconds of RES_TIMEOUT times attempts
 * and cannot be interrupted, and glibc's private resolver state takes a
 * name server on another port only through its internal fields (IPv6 ones
 * only through _u._ext). c-ares takes "127.0.0.1:8053" or "[::1]:53" as
 * it is, and leaves the waiting to us: we poll its sockets in slices of
 * CSI_VALIDATE_SLICE_MS and check the deadline and the stop flag between
 * slices. The same goes for A/AAAA lookups, where getaddrinfo would block
 * past the deadline. */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/select.h> /* ares.h uses fd_set and struct timeval without them */
#include <sys/time.h>

#include <ares.h>

#include "acme_validate_internal.h"

int csi_validate_dns_global_init(void)
{
    return ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS ? 0 : -1;
}

/* A channel asking the configured resolver (DNS only, no hosts file), or
 * the system's resolvers and hosts file; never a search list, so "a.test"
 * is looked up as it is. */
static int channel_open(csi_validation *val, ares_channel *out)
{
    struct ares_options opt;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS | ARES_OPT_FLAGS;
    int64_t left = csi_validation_left_ms(val);
    int rc;
    char lookups[] = "b";

    memset(&opt, 0, sizeof opt);
    /* Up to 3 tries per server, each a third of what is left (at least a
     * slice): the deadline, not c-ares, has the last word. */
    opt.timeout = (int)(left / 3 > CSI_VALIDATE_SLICE_MS ? left / 3 : CSI_VALIDATE_SLICE_MS);
    opt.tries = 3;
    /* A SERVFAIL or REFUSED answer is an answer: report it as such (c-ares
     * would otherwise drop it, try the next server and end with "could not
     * contact DNS servers"). Boulder fails on SERVFAIL too. */
    opt.flags = ARES_FLAG_NOCHECKRESP;
    opt.domains = NULL;
    opt.ndomains = 0;
    if (val->config->dns_servers) {
        opt.lookups = lookups;
        mask |= ARES_OPT_LOOKUPS;
    }
    rc = ares_init_options(out, &opt, mask);
    if (rc != ARES_SUCCESS)
        return csi_validation_fail(val, "serverInternal", "cannot set up a DNS resolver: %s",
                                   ares_strerror(rc));
    if (val->config->dns_servers) {
        rc = ares_set_servers_ports_csv(*out, val->config->dns_servers);
        if (rc != ARES_SUCCESS) {
            ares_destroy(*out);
            return csi_validation_fail(val, "serverInternal", "DNS resolver %s refused: %s",
                                       val->config->dns_servers, ares_strerror(rc));
        }
    }
    return 0;
}

/* Drive the channel until *finished, the deadline, or stop. Returns 0 when
 * finished, -1 (and cancels what is pending, so callbacks have run) when
 * not. */
static int channel_wait(csi_validation *val, ares_channel ch, const int *finished)
{
    while (!*finished) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        struct timeval max_tv, tv, *tvp;
        int bits, n = 0, i, wait_ms, ready;

        if (csi_validation_should_end(val)) {
            ares_cancel(ch);
            return -1;
        }
        bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short events = 0;
            /* ares.h's ARES_GETSOCK_WRITABLE shifts a signed 1 into the
             * sign bit for the 16th socket: the same test, unsigned. */
            if ((unsigned)bits & (1u << i))
                events |= POLLIN;
            if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
                events |= POLLOUT;
            if (!events)
                continue;
            pfd[n].fd = socks[i];
            pfd[n].events = events;
            pfd[n].revents = 0;
            n++;
        }
        wait_ms = csi_validation_slice_ms(val);
        max_tv.tv_sec = wait_ms / 1000;
        max_tv.tv_usec = (wait_ms % 1000) * 1000;
        tvp = ares_timeout(ch, &max_tv, &tv);
        wait_ms = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
        ready = poll(pfd, (nfds_t)n, wait_ms);
        if (ready <= 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* c-ares' own timeouts */
            continue;
        }
        for (i = 0; i < n; i++) {
            int r = pfd[i].revents & (POLLIN | POLLERR | POLLHUP);
            int w = pfd[i].revents & (POLLOUT | POLLERR | POLLHUP);
            if (r || w)
                ares_process_fd(ch, r ? pfd[i].fd : ARES_SOCKET_BAD,
                                w ? pfd[i].fd : ARES_SOCKET_BAD);
        }
    }
    return 0;
}

/* ---- A/AAAA ------------------------------------------------------------ */

typedef struct addr_query {
    int finished;
    int status;
    csi_addrs *out;
    /* unusable addresses met, for the detail */
    char dropped[160];
} addr_query;

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    addr_query *q = arg;
    struct ares_addrinfo_node *node;
    (void)timeouts;
    q->finished = 1;
    q->status = status;
    if (status != ARES_SUCCESS || !res) {
        ares_freeaddrinfo(res);
        return;
    }
    for (node = res->nodes; node; node = node->ai_next) {
        struct sockaddr_storage a;
        const char *why;
        if (node->ai_family != AF_INET && node->ai_family != AF_INET6)
            continue;
        if (node->ai_addrlen > sizeof a)
            continue;
        memset(&a, 0, sizeof a);
        memcpy(&a, node->ai_addr, node->ai_addrlen);
        if (csi_addr_unusable(&a, &why)) {
            char text[64];
            size_t used = strlen(q->dropped);
            csi_addr_text(&a, text, sizeof text);
            if (used + strlen(text) + 3 < sizeof q->dropped)
                snprintf(q->dropped + used, sizeof q->dropped - used, "%s%s", used ? ", " : "",
                         text);
            continue;
        }
        if (q->out->len < CSI_VALIDATE_ADDRS_MAX)
            q->out->addr[q->out->len++] = a;
    }
    ares_freeaddrinfo(res);
}

static const char *resolver_name(const csi_validation *val)
{
    return val->config->dns_servers ? val->config->dns_servers : "the system's resolver";
}

static int lookup_addresses(csi_validation *val, const char *name, csi_addrs *out)
{
    ares_channel ch;
    addr_query q;
    struct ares_addrinfo_hints hints;

    memset(&q, 0, sizeof q);
    q.out = out;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (channel_open(val, &ch) != 0)
        return -1;
    ares_getaddrinfo(ch, name, NULL, &hints, on_addrinfo, &q);
    if (channel_wait(val, ch, &q.finished) != 0) {
        char what[300];
        ares_destroy(ch);
        snprintf(what, sizeof what, "looking up %s at %s", name, resolver_name(val));
        return csi_validation_fail_waiting(val, "dns", what);
    }
    ares_destroy(ch);
    if (q.status == ARES_ENOTFOUND || q.status == ARES_ENODATA || q.status == ARES_ENONAME)
        return csi_validation_fail(val, "dns", "no A or AAAA record for %s at %s (%s)", name,
                                   resolver_name(val), ares_strerror(q.status));
    if (q.status != ARES_SUCCESS)
        return csi_validation_fail(val, "dns", "looking up %s at %s: %s", name,
                                   resolver_name(val), ares_strerror(q.status));
    if (out->len == 0 && q.dropped[0])
        return csi_validation_fail(val, "dns",
                                   "%s resolves only to addresses nothing can answer from "
                                   "(%s)",
                                   name, q.dropped);
    if (out->len == 0)
        return csi_validation_fail(val, "dns", "no A or AAAA record for %s at %s", name,
                                   resolver_name(val));
    out->how = val->config->dns_servers ? "DNS" : "the system's resolver";
    return 0;
}

static int rule_matches(const csi_resolve_rule *r, const char *name)
{
    size_t n, p;
    if (!r->wildcard)
        return strcasecmp(r->pattern, name) == 0;
    if (!r->pattern[0])
        return 1; /* "*" */
    n = strlen(name);
    p = strlen(r->pattern); /* ".test" */
    return n > p && strcasecmp(name + n - p, r->pattern) == 0;
}

int csi_resolve_name(csi_validation *val, const char *name, csi_addrs *out)
{
    size_t i;
    memset(out, 0, sizeof *out);
    for (i = 0; i < val->config->rules_len; i++) {
        if (rule_matches(&val->config->rules[i], name)) {
            out->addr[0] = val->config->rules[i].addr;
            out->len = 1;
            out->how = "resolve rule";
            return 0;
        }
    }
    return lookup_addresses(val, name, out);
}

/* ---- dns-01 ------------------------------------------------------------ */

typedef struct txt_query {
    int finished;
    int status;
    unsigned char *answer; /* a copy of the reply */
    int answer_len;
} txt_query;

static void on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    txt_query *q = arg;
    (void)timeouts;
    q->finished = 1;
    q->status = status;
    if (status == ARES_SUCCESS && abuf && alen > 0) {
        q->answer = malloc((size_t)alen);
        if (q->answer) {
            memcpy(q->answer, abuf, (size_t)alen);
            q->answer_len = alen;
        } else {
            q->status = ARES_ENOMEM;
        }
    }
}

int csi_check_dns01(csi_validation *val)
{
    char name[300], expected[44], seen[400];
    ares_channel ch;
    txt_query q;
    struct ares_txt_ext *txt = NULL, *t;
    unsigned char record[1024];
    size_t record_len = 0;
    int records = 0, found = 0, rc;

    snprintf(name, sizeof name, "_acme-challenge.%s", val->domain);
    csi_key_authorization_b64url(val->key_authorization, expected);
    memset(&q, 0, sizeof q);
    seen[0] = '\0';
    if (channel_open(val, &ch) != 0)
        return -1;
    ares_query(ch, name, 1 /* C_IN */, 16 /* T_TXT */, on_txt, &q);
    if (channel_wait(val, ch, &q.finished) != 0) {
        char what[360];
        ares_destroy(ch);
        free(q.answer);
        snprintf(what, sizeof what, "asking %s for TXT %s", resolver_name(val), name);
        return csi_validation_fail_waiting(val, "dns", what);
    }
    ares_destroy(ch);
    if (q.status == ARES_ENOTFOUND || q.status == ARES_ENODATA) {
        free(q.answer);
        return csi_validation_fail(val, "unauthorized", "no TXT record at %s (%s, asked %s)",
                                   name, q.status == ARES_ENOTFOUND ? "NXDOMAIN" : "no data",
                                   resolver_name(val));
    }
    if (q.status != ARES_SUCCESS) {
        free(q.answer);
        return csi_validation_fail(val, "dns", "asking %s for TXT %s: %s", resolver_name(val),
                                   name, ares_strerror(q.status));
    }
    rc = ares_parse_txt_reply_ext(q.answer, q.answer_len, &txt);
    free(q.answer);
    if (rc == ARES_ENODATA)
        return csi_validation_fail(val, "unauthorized", "no TXT record at %s (asked %s)", name,
                                   resolver_name(val));
    if (rc != ARES_SUCCESS)
        return csi_validation_fail(val, "dns", "TXT reply for %s from %s: %s", name,
                                   resolver_name(val), ares_strerror(rc));
    /* A record may come in several strings (RFC 1035 3.3.14): joined, as
     * Boulder does. One matching record is enough (RFC 8555 8.4). */
    for (t = txt;; t = t->next) {
        if (!t || t->record_start) {
            if (records > 0) {
                if (record_len == 43 && memcmp(record, expected, 43) == 0)
                    found = 1;
                if (records <= 3) {
                    char quoted[80];
                    size_t used = strlen(seen);
                    csi_quote(quoted, sizeof quoted, record, record_len, 60);
                    snprintf(seen + used, sizeof seen - used, "%s%s", used ? ", " : "", quoted);
                }
            }
            if (!t)
                break;
            records++;
            record_len = 0;
        }
        if (record_len + t->length <= sizeof record) {
            memcpy(record + record_len, t->txt, t->length);
            record_len += t->length;
        } else {
            record_len = sizeof record + 1; /* too long to be ours */
        }
    }
    ares_free_data(txt);
    if (found)
        return csi_validation_ok(val, "TXT %s from %s holds the key authorization's digest",
                                 name, resolver_name(val));
    if (records == 0)
        return csi_validation_fail(val, "unauthorized", "no TXT record at %s (asked %s)", name,
                                   resolver_name(val));
    return csi_validation_fail(val, "incorrectResponse",
                               "no TXT record at %s is %s (base64url of SHA-256 of the key "
                               "authorization); %d found: %s%s",
                               name, expected, records, seen, records > 3 ? ", ..." : "");
}
