/* The embedded server against hostile clients (issue 15): what a connection
 * may hold and for how long, and what a request must look like before any
 * route sees it.
 *
 * CivetWeb gives each connection a worker thread for its whole life, so a
 * client that connects and sends nothing, or sends a body one byte a
 * second, holds a thread. Against that:
 *
 * - Deadlines. CivetWeb's request_timeout_ms (CS_SERVER_HEAD_MS) bounds the
 *   TLS handshake and each request head as a whole; keep_alive_timeout_ms
 *   the wait for the next request. A body must arrive whole within
 *   csi_guard_body_ms of its head (csi_http_read_body checks it between
 *   reads, one byte at a time, so a trickle cannot stretch one read).
 *   Once the body is in, a handler that waits for the Lua loop (ACME, the
 *   signing API: cs_handler.work_ms, their ask timeout) moves the deadline
 *   past that wait and the reply's write (csi_guard_extend): the time is
 *   the server's, and a decision slower than the body's deadline must come
 *   back as a 503 with Retry-After, not as a cut connection.
 * - A watchdog thread. Each worker has a slot saying what its connection is
 *   doing (handshake, waiting for a head, in a request) and until when.
 *   For a TLS connection the slot also holds its socket (the SSL object
 *   knows it, from the first handshake callback on), so the watchdog can
 *   shutdown() it: past its deadline, or, when fewer than a reserve of
 *   workers are free, if it is idle (handshake or waiting for a head),
 *   oldest first. The worker's poll then returns at once and CivetWeb
 *   closes the connection.
 * - A cap per client address: a TLS connection over it is cut before its
 *   handshake; a plain-HTTP one is answered 503 and closed at its request.
 * - Strict framing (begin_request): two Content-Length values, a
 *   Content-Length beside Transfer-Encoding, or a repeated
 *   Transfer-Encoding are a 400, and the connection is closed, so what
 *   follows is never read as another request (request smuggling).
 *
 * Plain-HTTP sockets are not reachable from CivetWeb's public API: those
 * connections get the deadlines CivetWeb and the body reader enforce, the
 * cap, but no watchdog.
 *
 * Memory (glibc): idle workers cost about 16 kB each (two stack pages,
 * CivetWeb's connection and the first page of its request buffer), which no
 * callback can change. A worker that served keeps what the connection
 * touched (about 30 kB of stack after a TLS handshake, its malloc cache), so
 * what matters is how many workers serve: CivetWeb is built with
 * ALTERNATIVE_QUEUE (CMakeLists.txt), which hands each connection to the
 * free worker with the lowest index, so a load of 32 connections keeps
 * about 32 workers warm rather than cycling through all of them. Nothing
 * is given back per connection: an madvise of the worker's stack after
 * each close, tried before, made every next connection fault its stack in
 * again, 5 to 6 page faults and most of 200 us of CPU per connection on
 * this project's VM (bench/README.md). Instead:
 * - glibc gives threads up to 8 malloc arenas per CPU, each keeping what it
 *   freed: limit_arenas caps them at one per CPU;
 * - the watchdog returns free heap pages (malloc_trim) once no connection
 *   has been open for CS_GUARD_TRIM_IDLE_MS: right after a close, a
 *   server under load would fault them in again (about one page fault per
 *   connection when it trimmed at every idle tick). */
#define _GNU_SOURCE /* malloc_trim */
#include "server_internal.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <civetweb.h>

enum slot_state {
    SLOT_FREE = 0,  /* no connection */
    SLOT_HANDSHAKE, /* TLS handshake under way */
    SLOT_IDLE,      /* waiting for a request head */
    SLOT_REQUEST,   /* head read: body, handler, response */
};

/* One per worker thread (CivetWeb's thread pointer), under g->lock. */
typedef struct guard_slot {
    enum slot_state state;
    int fd;          /* the TLS connection's socket, or -1 */
    int counted;     /* counts against addr's cap */
    int refused;     /* over the cap: answered 503 at its request */
    int cut;         /* shut down by the watchdog already */
    long long since; /* when the state began (ms, monotonic) */
    long long deadline;
    char addr[48];
} guard_slot;

/* How long the server must have had no connection open before the
 * watchdog gives free heap pages back (malloc_trim). */
#define CS_GUARD_TRIM_IDLE_MS 2000

struct guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    guard_slot *slots;
    int n;         /* slots (worker threads) */
    int assigned;  /* slots handed to threads so far */
    int per_address;
    int reserve;   /* free workers the watchdog keeps */
    int stop;
    int thread_started;
    pthread_t thread;
    unsigned long cut_idle, cut_late, refused; /* for tests and docs */
    unsigned long closed, closed_at_trim; /* connections closed; at the last trim */
    long long idle_since; /* when the last connection closed (ms), 0: some are open */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long csi_guard_body_ms(long long content_length)
{
    long long len = content_length > 0 ? content_length : CS_HANDLER_MAX_BODY;
    return CS_SERVER_BODY_MS + len * 1000 / CS_SERVER_BODY_RATE;
}

static guard *guard_of(const struct mg_connection *conn)
{
    const struct mg_context *mg = mg_get_context(conn);
    cs_server *srv = mg ? mg_get_user_data(mg) : NULL;
    return srv ? srv->guard : NULL;
}

/* Connections from addr counted now, this slot excluded (under g->lock). */
static int count_address(const guard *g, const guard_slot *self, const char *addr)
{
    int i, n = 0;
    for (i = 0; i < g->n; i++)
        if (&g->slots[i] != self && g->slots[i].counted && strcmp(g->slots[i].addr, addr) == 0)
            n++;
    return n;
}

/* Count the connection against addr; 0 if that puts addr over the cap. */
static int admit(guard *g, guard_slot *s, const char *addr)
{
    snprintf(s->addr, sizeof s->addr, "%s", addr);
    if (count_address(g, s, s->addr) >= g->per_address) {
        g->refused++;
        return 0;
    }
    s->counted = 1;
    return 1;
}

static void set_state(guard_slot *s, enum slot_state state, long long deadline_ms)
{
    s->state = state;
    s->since = now_ms();
    s->deadline = s->since + deadline_ms;
}

/* The watchdog: deadlines, then the reserve of free workers. Returns the
 * number of open connections. */
static int watch(guard *g)
{
    long long now = now_ms();
    int i, busy = 0, want;

    for (i = 0; i < g->n; i++) {
        guard_slot *s = &g->slots[i];
        if (s->state == SLOT_FREE)
            continue;
        busy++;
        if (s->fd >= 0 && !s->cut && now > s->deadline) {
            shutdown(s->fd, SHUT_RDWR);
            s->cut = 1;
            g->cut_late++;
        }
    }
    want = busy - (g->n - g->reserve); /* idle connections to let go */
    while (want > 0) {
        guard_slot *oldest = NULL;
        for (i = 0; i < g->n; i++) {
            guard_slot *s = &g->slots[i];
            if (s->fd >= 0 && !s->cut &&
                (s->state == SLOT_HANDSHAKE || s->state == SLOT_IDLE) &&
                (!oldest || s->since < oldest->since))
                oldest = s;
        }
        if (!oldest)
            break;
        shutdown(oldest->fd, SHUT_RDWR);
        oldest->cut = 1;
        g->cut_idle++;
        want--;
    }
    return busy;
}

static void trim_heap(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}

/* One malloc arena per CPU rather than glibc's eight (process-wide, for
 * arenas made from now on: the workers'). At most one thread per CPU runs,
 * so they seldom wait for each other's arena; each arena keeps what it
 * freed, so fewer hold less. */
static void limit_arenas(void)
{
#if defined(__GLIBC__)
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    (void)mallopt(M_ARENA_MAX, cpus > 1 ? (int)cpus : 1);
#endif
}

static void *watchdog(void *arg)
{
    guard *g = arg;
    struct timespec until;

    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        long long now = now_ms();
        if (watch(g) > 0)
            g->idle_since = 0;
        else if (!g->idle_since)
            g->idle_since = now;
        if (g->idle_since && now - g->idle_since >= CS_GUARD_TRIM_IDLE_MS &&
            g->closed != g->closed_at_trim) {
            /* idle for a while after some work: what the connections freed
             * goes back */
            g->closed_at_trim = g->closed;
            pthread_mutex_unlock(&g->lock);
            trim_heap();
            pthread_mutex_lock(&g->lock);
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CS_SERVER_WATCH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

cs_code csi_guard_new(const cs_server_config *cfg, int threads, guard **out, cs_err *err)
{
    guard *g = calloc(1, sizeof *g);

    if (!g)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory");
    g->slots = calloc((size_t)threads, sizeof *g->slots);
    if (!g->slots) {
        free(g);
        return cs_err_set(err, CS_ENOMEM, "server: out of memory");
    }
    for (int i = 0; i < threads; i++)
        g->slots[i].fd = -1;
    g->n = threads;
    g->per_address = cfg->per_address > 0 ? cfg->per_address
                                          : (threads / 4 > 8 ? threads / 4 : 8);
    g->reserve = threads / 8; /* 0 for a pool under 8: no idle cuts */
    limit_arenas();
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    *out = g;
    return CS_OK;
}

cs_code csi_guard_start(guard *g, cs_err *err)
{
    if (pthread_create(&g->thread, NULL, watchdog, g) != 0)
        return cs_err_set(err, CS_ESERVER, "server: cannot start the connection watchdog");
    g->thread_started = 1;
    return CS_OK;
}

void csi_guard_free(guard *g)
{
    if (!g)
        return;
    if (g->thread_started) {
        pthread_mutex_lock(&g->lock);
        g->stop = 1;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g->slots);
    free(g);
}

/* ---- CivetWeb callbacks ---- */

/* Each worker thread gets a slot of its own. */
static void *on_init_thread(const struct mg_context *ctx, int thread_type)
{
    cs_server *srv = mg_get_user_data(ctx);
    guard *g = srv ? srv->guard : NULL;
    guard_slot *s = NULL;

    if (!g || thread_type != 1)
        return NULL;
    pthread_mutex_lock(&g->lock);
    if (g->assigned < g->n)
        s = &g->slots[g->assigned++];
    pthread_mutex_unlock(&g->lock);
    return s;
}

/* After accept (plain) or after the handshake (TLS): waiting for a head.
 * CivetWeb has no request info yet (mg_get_request_info is NULL until a
 * head is read), so a plain connection's address is counted at its first
 * head (on_begin_request). */
static int on_init_connection(const struct mg_connection *conn, void **conn_data)
{
    guard *g = guard_of(conn);
    guard_slot *s = mg_get_thread_pointer(conn);

    (void)conn_data;
    if (!g || !s)
        return 0;
    pthread_mutex_lock(&g->lock);
    set_state(s, SLOT_IDLE, CS_SERVER_HEAD_MS);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

static void on_connection_close(const struct mg_connection *conn)
{
    guard *g = guard_of(conn);
    guard_slot *s = mg_get_thread_pointer(conn);

    if (!g || !s)
        return;
    pthread_mutex_lock(&g->lock);
    memset(s, 0, sizeof *s);
    s->fd = -1;
    g->closed++;
    pthread_mutex_unlock(&g->lock);
}

/* The value of the header name if it occurs exactly once; *count says how
 * often it does. */
static const char *header_once(const struct mg_request_info *ri, const char *name, int *count)
{
    const char *value = NULL;
    int i;

    *count = 0;
    for (i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, name) == 0) {
            value = ri->http_headers[i].value;
            (*count)++;
        }
    }
    return *count == 1 ? value : NULL;
}

/* Why the request's framing is ambiguous, or NULL. RFC 9112 6.3: a
 * message with both Transfer-Encoding and Content-Length, or with
 * Content-Length values that differ, is one a proxy and we could split
 * differently; so is a Content-Length that is not plain digits. */
static const char *framing_problem(const struct mg_request_info *ri)
{
    int cl_count, te_count;
    const char *cl = header_once(ri, "Content-Length", &cl_count);
    const char *p;

    (void)header_once(ri, "Transfer-Encoding", &te_count);
    if (te_count > 1)
        return "more than one Transfer-Encoding header";
    if (te_count == 1 && cl_count > 0)
        return "both Transfer-Encoding and Content-Length";
    if (cl_count > 1)
        return "more than one Content-Length header";
    if (cl) {
        if (!*cl)
            return "an empty Content-Length";
        for (p = cl; *p; p++)
            if (*p < '0' || *p > '9')
                return "a Content-Length that is not a number";
    }
    return NULL;
}

static int on_begin_request(struct mg_connection *conn)
{
    guard *g = guard_of(conn);
    guard_slot *s = mg_get_thread_pointer(conn);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *problem;
    int refused = 0;

    if (!ri)
        return 0;
    if (g && s) {
        pthread_mutex_lock(&g->lock);
        /* a plain connection's first head (TLS ones count from their
         * handshake, cs_guard_tls_info) */
        if (!s->counted && !s->refused && !admit(g, s, ri->remote_addr))
            s->refused = 1;
        refused = s->refused;
        set_state(s, SLOT_REQUEST, csi_guard_body_ms(ri->content_length));
        pthread_mutex_unlock(&g->lock);
    }
    /* mg_send_http_error sends "Connection: close" and makes CivetWeb close
     * without reading further: nothing after this head is a request. */
    if (refused) {
        mg_send_http_error(conn, 503, "too many connections from %s\n", ri->remote_addr);
        return 503;
    }
    problem = framing_problem(ri);
    if (problem) {
        mg_send_http_error(conn, 400, "bad request: %s\n", problem);
        return 400;
    }
    return 0;
}

void csi_guard_extend(const struct mg_connection *conn, long long ms)
{
    guard *g = guard_of(conn);
    guard_slot *s = mg_get_thread_pointer(conn);
    long long until = now_ms() + ms;

    if (!g || !s)
        return;
    pthread_mutex_lock(&g->lock);
    if (s->state == SLOT_REQUEST && s->deadline < until)
        s->deadline = until;
    pthread_mutex_unlock(&g->lock);
}

static void on_end_request(const struct mg_connection *conn, int status)
{
    guard *g = guard_of(conn);
    guard_slot *s = mg_get_thread_pointer(conn);

    (void)status;
    if (!g || !s)
        return;
    pthread_mutex_lock(&g->lock);
    set_state(s, SLOT_IDLE, CS_SERVER_KEEP_ALIVE_MS + CS_SERVER_HEAD_MS);
    pthread_mutex_unlock(&g->lock);
}

void csi_guard_callbacks(struct mg_callbacks *cb)
{
    cb->init_thread = on_init_thread;
    cb->init_connection = on_init_connection;
    cb->connection_close = on_connection_close;
    cb->begin_request = on_begin_request;
    cb->end_request = on_end_request;
}

/* SSL_CTX info callback: a TLS connection's first callback, before any byte
 * is read, gives the watchdog its socket, and a connection over its
 * address's cap is cut before the handshake costs a signature. */
void csi_guard_tls_info(const SSL *ssl, int where, int ret)
{
    const struct mg_connection *conn;
    guard_slot *s;
    guard *g;
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    char addr[INET6_ADDRSTRLEN] = "";
    int fd;

    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_START))
        return;
    conn = SSL_get_app_data(ssl);
    if (!conn)
        return;
    g = guard_of(conn);
    s = mg_get_thread_pointer(conn);
    fd = SSL_get_fd(ssl);
    if (!g || !s || fd < 0)
        return;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) {
        /* as CivetWeb writes remote_addr, so both listeners count alike */
        if (peer.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, addr, sizeof addr);
        else if (peer.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, addr, sizeof addr);
    }
    pthread_mutex_lock(&g->lock);
    if (s->state == SLOT_FREE) {
        s->fd = fd;
        set_state(s, SLOT_HANDSHAKE, CS_SERVER_HEAD_MS);
        if (!admit(g, s, addr)) {
            shutdown(fd, SHUT_RDWR);
            s->cut = 1;
        }
    }
    pthread_mutex_unlock(&g->lock);
}
