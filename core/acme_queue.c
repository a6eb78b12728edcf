/* The decision queue (acme.h): asks from request threads to the Lua main
 * loop, answers back. One mutex; `ready` wakes cs_acme_next, `answered`
 * wakes the requests waiting (broadcast: each checks its own slot). Slots
 * live in a list from the ask until its answer or withdrawal; a posted ask
 * (finalize) has no waiter and its answer goes to the answering thread. */
#include "acme_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More waiting asks than this and new ones are refused (503): the Lua side
 * is not keeping up, and the requests would only time out. */
#define QUEUE_MAX 4096

typedef struct slot {
    struct slot *next;
    uint64_t id;
    cs_acme_ask_kind kind;
    cs_acme_ask *ask;  /* until cs_acme_next takes it */
    int waited;        /* a request waits for the answer */
    int answered;
    csi_answer *answer;
    char order[CSI_ACME_ID_LEN + 1];
} slot;

struct csi_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready, answered;
    slot *slots;     /* every unanswered ask, newest first */
    size_t count;
    uint64_t next_id;
    int closed;
};

void csi_answer_free(csi_answer *a)
{
    size_t i;

    if (!a)
        return;
    free(a->type);
    free(a->detail);
    free(a->profile);
    free(a->chain_pem);
    free(a->serial_hex);
    for (i = 0; i < a->challenges_len; i++)
        free(a->challenges[i]);
    free(a->challenges);
    free(a);
}

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 1;
    *out = strdup(s);
    return *out != NULL;
}

cs_code csi_answer_copy(const cs_acme_decision *a, csi_answer **out, cs_err *err)
{
    csi_answer *c = calloc(1, sizeof *c);
    size_t i;
    int ok;

    if (!c)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory copying an answer");
    c->ok = a->ok != 0;
    ok = dup_opt(a->type, &c->type) && dup_opt(a->detail, &c->detail) &&
         dup_opt(a->profile, &c->profile) && dup_opt(a->chain_pem, &c->chain_pem) &&
         dup_opt(a->serial_hex, &c->serial_hex);
    if (ok && a->challenges_len > 0) {
        c->challenges = calloc(a->challenges_len, sizeof *c->challenges);
        ok = c->challenges != NULL;
        for (i = 0; ok && i < a->challenges_len; i++) {
            ok = dup_opt(a->challenges[i], &c->challenges[i]);
            c->challenges_len = i + 1;
        }
    }
    if (!ok) {
        csi_answer_free(c);
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory copying an answer");
    }
    *out = c;
    return CS_OK;
}

cs_code csi_queue_new(csi_queue **out, cs_err *err)
{
    csi_queue *q = calloc(1, sizeof *q);
    pthread_condattr_t attr;

    if (!q)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory for the queue");
    pthread_mutex_init(&q->lock, NULL);
    /* waits are measured on the monotonic clock: a clock step must not
     * stretch or cut them */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->ready, &attr);
    pthread_cond_init(&q->answered, &attr);
    pthread_condattr_destroy(&attr);
    q->next_id = 1;
    *out = q;
    return CS_OK;
}

void csi_queue_free(csi_queue *q)
{
    slot *s, *next;

    if (!q)
        return;
    for (s = q->slots; s; s = next) {
        next = s->next;
        cs_acme_ask_free(s->ask);
        csi_answer_free(s->answer);
        free(s);
    }
    pthread_cond_destroy(&q->ready);
    pthread_cond_destroy(&q->answered);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void unlink_slot(csi_queue *q, slot *s)
{
    slot **p;

    for (p = &q->slots; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            q->count--;
            return;
        }
    }
}

/* Add ask under the lock: the slot, or NULL with *why. */
static slot *enqueue(csi_queue *q, cs_acme_ask *ask, int waited, csi_wait *why)
{
    slot *s;

    if (q->closed) {
        *why = CSI_WAIT_CLOSED;
        return NULL;
    }
    if (q->count >= QUEUE_MAX) {
        *why = CSI_WAIT_FULL;
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        *why = CSI_WAIT_NOMEM;
        return NULL;
    }
    s->id = q->next_id++;
    ask->id = s->id;
    s->kind = ask->kind;
    s->ask = ask;
    s->waited = waited;
    if (ask->order_id)
        snprintf(s->order, sizeof s->order, "%s", ask->order_id);
    s->next = q->slots;
    q->slots = s;
    q->count++;
    pthread_cond_signal(&q->ready);
    return s;
}

csi_wait csi_queue_ask(csi_queue *q, cs_acme_ask *ask, int timeout_ms, csi_answer **out)
{
    struct timespec until;
    csi_wait why = CSI_WAIT_TIMEOUT;
    slot *s;
    int rc = 0;

    deadline_in(&until, timeout_ms);
    pthread_mutex_lock(&q->lock);
    s = enqueue(q, ask, 1, &why);
    if (!s) {
        pthread_mutex_unlock(&q->lock);
        cs_acme_ask_free(ask);
        return why;
    }
    while (!s->answered && !q->closed && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->answered, &q->lock, &until);
    if (s->answered) {
        why = CSI_WAIT_ANSWERED;
        *out = s->answer;
        s->answer = NULL;
    } else {
        why = q->closed ? CSI_WAIT_CLOSED : CSI_WAIT_TIMEOUT;
        unlink_slot(q, s);
    }
    pthread_mutex_unlock(&q->lock);
    /* answered slots were unlinked by the answer */
    cs_acme_ask_free(s->ask);
    csi_answer_free(s->answer);
    free(s);
    return why;
}

csi_wait csi_queue_post(csi_queue *q, cs_acme_ask *ask)
{
    csi_wait why = CSI_WAIT_ANSWERED;
    slot *s;

    pthread_mutex_lock(&q->lock);
    s = enqueue(q, ask, 0, &why);
    pthread_mutex_unlock(&q->lock);
    if (!s) {
        cs_acme_ask_free(ask);
        return why;
    }
    return CSI_WAIT_ANSWERED;
}

/* The oldest ask nobody took, under the lock. */
static slot *oldest_untaken(csi_queue *q)
{
    slot *s, *found = NULL;

    for (s = q->slots; s; s = s->next)
        if (s->ask)
            found = s; /* newest first: the last one seen is the oldest */
    return found;
}

cs_code csi_queue_next(csi_queue *q, int timeout_ms, cs_acme_ask **out, cs_err *err)
{
    struct timespec until;
    slot *s;
    int rc = 0;

    deadline_in(&until, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&q->lock);
    while (!(s = oldest_untaken(q)) && !q->closed && timeout_ms > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->ready, &q->lock, &until);
    if (s) {
        *out = s->ask;
        s->ask = NULL;
    } else if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return cs_err_set(err, CS_ENOENT, "acme: the queue is closed");
    } else {
        *out = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return CS_OK;
}

static slot *find(csi_queue *q, uint64_t id)
{
    slot *s;

    for (s = q->slots; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

cs_code csi_queue_kind(csi_queue *q, uint64_t id, cs_acme_ask_kind *kind, cs_err *err)
{
    slot *s;

    pthread_mutex_lock(&q->lock);
    s = find(q, id);
    if (s)
        *kind = s->kind;
    pthread_mutex_unlock(&q->lock);
    if (!s)
        return cs_err_set(err, CS_ENOENT, "acme: no ask %llu waits for an answer (answered "
                          "already, or its request gave up)", (unsigned long long)id);
    return CS_OK;
}

cs_code csi_queue_answer(csi_queue *q, uint64_t id, const cs_acme_decision *a, char *order,
                         cs_err *err)
{
    csi_answer *copy = NULL;
    slot *s;
    cs_code rc;

    rc = csi_answer_copy(a, &copy, err);
    if (rc != CS_OK)
        return rc;
    pthread_mutex_lock(&q->lock);
    s = find(q, id);
    if (!s) {
        pthread_mutex_unlock(&q->lock);
        csi_answer_free(copy);
        return cs_err_set(err, CS_ENOENT, "acme: no ask %llu waits for an answer (answered "
                          "already, or its request gave up)", (unsigned long long)id);
    }
    unlink_slot(q, s);
    order[0] = '\0';
    if (s->waited) {
        s->answer = copy;
        s->answered = 1;
        pthread_cond_broadcast(&q->answered);
        pthread_mutex_unlock(&q->lock);
        return CS_OK;
    }
    snprintf(order, CSI_ACME_ID_LEN + 1, "%s", s->order);
    pthread_mutex_unlock(&q->lock);
    cs_acme_ask_free(s->ask);
    free(s);
    csi_answer_free(copy);
    return CS_OK;
}

void csi_queue_close(csi_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->ready);
    pthread_cond_broadcast(&q->answered);
    pthread_mutex_unlock(&q->lock);
}
