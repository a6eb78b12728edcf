/* The signing API's decision queue (signapi.h): asks from request threads
 * to the Lua main loop, answers back. One mutex; `ready` wakes
 * cs_signapi_next, `answered` wakes the waiting requests (broadcast: each
 * checks its own slot). A slot lives from the ask until its request
 * returns; the ask itself moves to whoever takes it. */
#include "signapi_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More waiting asks than this and new ones are refused (503): the Lua side
 * is not keeping up, and the requests would only time out. */
#define QUEUE_MAX 1024

typedef struct slot {
    struct slot *next;
    uint64_t id;
    cs_signapi_ask_kind kind;
    cs_signapi_ask *ask; /* until cs_signapi_next takes it */
    csi_sa_answer *answer;
    int answered;
} slot;

struct csi_sa_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready, answered;
    slot *slots; /* oldest first */
    size_t count;
    uint64_t next_id;
    int closed;
};

void csi_sa_answer_free(csi_sa_answer *a)
{
    if (!a)
        return;
    free(a->error);
    free(a->detail);
    free(a->chain_pem);
    free(a->serial_hex);
    free(a);
}

/* 1 to 40 hex digits: it goes into a Location header. */
static int hex_serial(const char *s)
{
    size_t n = s ? strspn(s, "0123456789abcdefABCDEF") : 0;
    return n > 0 && n <= 40 && s[n] == '\0';
}

static int dup_opt(const char *s, char **out)
{
    *out = s ? strdup(s) : NULL;
    return !s || *out;
}

cs_code csi_sa_queue_new(csi_sa_queue **out, cs_err *err)
{
    csi_sa_queue *q = calloc(1, sizeof *q);
    pthread_condattr_t attr;

    if (!q)
        return cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
    pthread_mutex_init(&q->lock, NULL);
    /* CLOCK_MONOTONIC: a clock step must not stretch or cut a wait */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->ready, &attr);
    pthread_cond_init(&q->answered, &attr);
    pthread_condattr_destroy(&attr);
    q->next_id = 1;
    *out = q;
    return CS_OK;
}

void csi_sa_queue_free(csi_sa_queue *q)
{
    if (!q)
        return;
    while (q->slots) {
        slot *s = q->slots;
        q->slots = s->next;
        cs_signapi_ask_free(s->ask);
        csi_sa_answer_free(s->answer);
        free(s);
    }
    pthread_cond_destroy(&q->answered);
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static struct timespec deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void unlink_slot(csi_sa_queue *q, slot *s)
{
    slot **p = &q->slots;
    while (*p && *p != s)
        p = &(*p)->next;
    if (*p) {
        *p = s->next;
        q->count--;
    }
}

csi_sa_wait csi_sa_queue_ask(csi_sa_queue *q, cs_signapi_ask *ask, int timeout_ms,
                             csi_sa_answer **answer)
{
    struct timespec until = deadline(timeout_ms);
    csi_sa_wait result;
    slot *s = calloc(1, sizeof *s);

    if (!s) {
        cs_signapi_ask_free(ask);
        return CSI_SA_NOMEM;
    }
    pthread_mutex_lock(&q->lock);
    if (q->closed || q->count >= QUEUE_MAX) {
        result = q->closed ? CSI_SA_CLOSED : CSI_SA_FULL;
        pthread_mutex_unlock(&q->lock);
        cs_signapi_ask_free(ask);
        free(s);
        return result;
    }
    s->id = q->next_id++;
    ask->id = s->id;
    s->kind = ask->kind;
    s->ask = ask;
    slot **tail = &q->slots;
    while (*tail)
        tail = &(*tail)->next;
    *tail = s;
    q->count++;
    pthread_cond_signal(&q->ready);
    int rc = 0;
    while (!s->answered && !q->closed && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->answered, &q->lock, &until);
    if (s->answered) {
        *answer = s->answer;
        s->answer = NULL;
        result = CSI_SA_ANSWERED;
    } else {
        result = q->closed ? CSI_SA_CLOSED : CSI_SA_TIMEOUT;
    }
    unlink_slot(q, s);
    pthread_mutex_unlock(&q->lock);
    cs_signapi_ask_free(s->ask); /* not taken: withdrawn */
    free(s);
    return result;
}

cs_code csi_sa_queue_next(csi_sa_queue *q, int timeout_ms, cs_signapi_ask **out, cs_err *err)
{
    struct timespec until = deadline(timeout_ms > 0 ? timeout_ms : 0);
    cs_code rc = CS_OK;
    int wait = 0;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        slot *s = q->slots;
        while (s && !s->ask)
            s = s->next;
        if (s) {
            *out = s->ask;
            s->ask = NULL;
            break;
        }
        if (q->closed) {
            rc = cs_err_set(err, CS_ENOENT, "signapi: the queue is closed");
            break;
        }
        if (timeout_ms <= 0 || wait == ETIMEDOUT) {
            *out = NULL;
            break;
        }
        wait = pthread_cond_timedwait(&q->ready, &q->lock, &until);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

cs_code csi_sa_queue_answer(csi_sa_queue *q, uint64_t id, const cs_signapi_decision *a,
                            cs_err *err)
{
    csi_sa_answer *c = calloc(1, sizeof *c);
    cs_code rc = CS_OK;

    if (!c)
        return cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
    c->ok = a->ok != 0;
    if (!dup_opt(a->error, &c->error) || !dup_opt(a->detail, &c->detail) ||
        !dup_opt(a->chain_pem, &c->chain_pem) || !dup_opt(a->serial_hex, &c->serial_hex)) {
        csi_sa_answer_free(c);
        return cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
    }
    pthread_mutex_lock(&q->lock);
    slot *s = q->slots;
    while (s && s->id != id)
        s = s->next;
    if (s && !s->answered && !s->ask && c->ok && s->kind == CS_SIGNAPI_ASK_SIGN &&
        !(c->chain_pem && strstr(c->chain_pem, "-----BEGIN CERTIFICATE-----") &&
          hex_serial(c->serial_hex))) {
        rc = cs_err_set(err, CS_EINVAL,
                        "signapi: a sign answer needs chain (PEM) and serial (hex digits)");
    } else if (!s || s->answered || s->ask) {
        rc = cs_err_set(err, CS_ENOENT, "signapi: no ask %llu waits for an answer%s",
                        (unsigned long long)id, s && s->ask ? " (not taken yet)" : "");
    } else {
        s->answer = c;
        s->answered = 1;
        c = NULL;
        pthread_cond_broadcast(&q->answered);
    }
    pthread_mutex_unlock(&q->lock);
    csi_sa_answer_free(c);
    return rc;
}

void csi_sa_queue_close(csi_sa_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->ready);
    pthread_cond_broadcast(&q->answered);
    pthread_mutex_unlock(&q->lock);
}
