/* The decision queue (decision_queue.h). One mutex; `ready` wakes
 * csi_dq_next, `answered` wakes the waiting requests (broadcast: each
 * checks its own slot). A slot lives from the ask until its answer or its
 * withdrawal: first on the `queued` list (oldest first, so asks are taken
 * in order), then, once taken, on `taken`, where answers look for it. The
 * ask itself moves to whoever takes it; a posted ask (no waiter) keeps its
 * tag for the thread that answers it. */
#include "decision_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    struct slot *prev, *next;
    uint64_t id;
    int kind;
    void *ask;     /* until csi_dq_next takes it */
    void *answer;  /* from csi_dq_answer until its waiter takes it */
    int waited;    /* a request waits for the answer */
    int answered;
    char tag[CSI_DQ_TAG_MAX + 1];
} slot;

typedef struct list {
    slot *head, *tail;
} list;

struct csi_dq {
    const csi_dq_type *type;
    pthread_mutex_t lock;
    pthread_cond_t ready, answered;
    list queued;  /* asks nobody took yet, oldest first */
    list taken;   /* taken asks waiting for their answer */
    size_t count; /* on either list */
    uint64_t next_id;
    int closed;
};

static void push_back(list *l, slot *s)
{
    s->next = NULL;
    s->prev = l->tail;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
}

static void unlink_from(list *l, slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = NULL;
}

/* Off whichever list holds it (an untaken slot still has its ask). */
static void withdraw(csi_dq *q, slot *s)
{
    unlink_from(s->ask ? &q->queued : &q->taken, s);
    q->count--;
}

static void free_slot(const csi_dq_type *t, slot *s)
{
    t->release(s->ask, s->answer);
    free(s);
}

cs_code csi_dq_new(const csi_dq_type *type, csi_dq **out, cs_err *err)
{
    csi_dq *q = calloc(1, sizeof *q);

    if (!q)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory for the queue", type->name);
    q->type = type;
    pthread_mutex_init(&q->lock, NULL);
    csi_cond_init_monotonic(&q->ready);
    csi_cond_init_monotonic(&q->answered);
    q->next_id = 1;
    *out = q;
    return CS_OK;
}

void csi_dq_free(csi_dq *q)
{
    list *lists[2];
    size_t i;

    if (!q)
        return;
    lists[0] = &q->queued;
    lists[1] = &q->taken;
    for (i = 0; i < 2; i++) {
        while (lists[i]->head) {
            slot *s = lists[i]->head;
            unlink_from(lists[i], s);
            free_slot(q->type, s);
        }
    }
    pthread_cond_destroy(&q->ready);
    pthread_cond_destroy(&q->answered);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void csi_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

struct timespec csi_deadline_in(int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Queue s (its ask, kind and waited set) under the lock: CSI_WAIT_ANSWERED,
 * or why it was refused (s untouched then). */
static csi_wait enqueue(csi_dq *q, slot *s)
{
    if (q->closed)
        return CSI_WAIT_CLOSED;
    if (q->count >= q->type->max)
        return CSI_WAIT_FULL;
    s->id = q->next_id++;
    memcpy((char *)s->ask + q->type->id_offset, &s->id, sizeof s->id);
    push_back(&q->queued, s);
    q->count++;
    pthread_cond_signal(&q->ready);
    return CSI_WAIT_ANSWERED;
}

/* A new slot for ask, or NULL (ask freed) when memory ran out. */
static slot *new_slot(const csi_dq_type *t, void *ask, int kind, int waited)
{
    slot *s = calloc(1, sizeof *s);

    if (!s) {
        t->release(ask, NULL);
        return NULL;
    }
    s->ask = ask;
    s->kind = kind;
    s->waited = waited;
    return s;
}

csi_wait csi_dq_ask(csi_dq *q, void *ask, int kind, int timeout_ms, void **answer)
{
    struct timespec until = csi_deadline_in(timeout_ms > 0 ? timeout_ms : 0);
    slot *s = new_slot(q->type, ask, kind, 1);
    csi_wait why;
    int rc = 0;

    if (!s)
        return CSI_WAIT_NOMEM;
    pthread_mutex_lock(&q->lock);
    why = enqueue(q, s);
    if (why != CSI_WAIT_ANSWERED) {
        pthread_mutex_unlock(&q->lock);
        free_slot(q->type, s);
        return why;
    }
    while (!s->answered && !q->closed && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->answered, &q->lock, &until);
    if (s->answered) {
        *answer = s->answer; /* the answer unlinked the slot */
        s->answer = NULL;
    } else {
        why = q->closed ? CSI_WAIT_CLOSED : CSI_WAIT_TIMEOUT;
        withdraw(q, s);
    }
    pthread_mutex_unlock(&q->lock);
    free_slot(q->type, s); /* an ask nobody took is withdrawn with it */
    return why;
}

csi_wait csi_dq_post(csi_dq *q, void *ask, int kind, const char *tag)
{
    slot *s = new_slot(q->type, ask, kind, 0);
    csi_wait why;

    if (!s)
        return CSI_WAIT_NOMEM;
    snprintf(s->tag, sizeof s->tag, "%s", tag ? tag : "");
    pthread_mutex_lock(&q->lock);
    why = enqueue(q, s);
    pthread_mutex_unlock(&q->lock);
    if (why != CSI_WAIT_ANSWERED)
        free_slot(q->type, s);
    return why;
}

cs_code csi_dq_next(csi_dq *q, int timeout_ms, void **ask, cs_err *err)
{
    struct timespec until = csi_deadline_in(timeout_ms > 0 ? timeout_ms : 0);
    slot *s;
    int rc = 0;

    pthread_mutex_lock(&q->lock);
    while (!q->queued.head && !q->closed && timeout_ms > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->ready, &q->lock, &until);
    s = q->queued.head;
    if (s) {
        unlink_from(&q->queued, s);
        push_back(&q->taken, s);
        *ask = s->ask;
        s->ask = NULL;
    } else if (q->closed) {
        /* closed and drained: only now, so what was queued is still decided */
        pthread_mutex_unlock(&q->lock);
        return cs_err_set(err, CS_ENOENT, "%s: the queue is closed", q->type->name);
    } else {
        *ask = NULL; /* idle: the queue is open, nothing came in time */
    }
    pthread_mutex_unlock(&q->lock);
    return CS_OK;
}

/* The slot of ask id under the lock: taken (NULL, *queued set, when it is
 * still on the queue). */
static slot *find_taken(csi_dq *q, uint64_t id, int *queued)
{
    slot *s;

    *queued = 0;
    for (s = q->taken.head; s; s = s->next)
        if (s->id == id)
            return s;
    for (s = q->queued.head; s && !*queued; s = s->next)
        *queued = s->id == id;
    return NULL;
}

static cs_code not_waiting(const csi_dq *q, uint64_t id, int queued, cs_err *err)
{
    return cs_err_set(err, CS_ENOENT, "%s: no ask %llu waits for an answer (%s)", q->type->name,
                      (unsigned long long)id,
                      queued ? "not taken yet" : "answered already, or its request gave up");
}

cs_code csi_dq_kind(csi_dq *q, uint64_t id, int *kind, cs_err *err)
{
    slot *s;
    int queued;

    pthread_mutex_lock(&q->lock);
    s = find_taken(q, id, &queued);
    if (s)
        *kind = s->kind;
    pthread_mutex_unlock(&q->lock);
    return s ? CS_OK : not_waiting(q, id, queued, err);
}

cs_code csi_dq_answer(csi_dq *q, uint64_t id, void *answer, char *tag, size_t cap, cs_err *err)
{
    slot *s;
    int queued;

    if (tag && cap > 0)
        tag[0] = '\0';
    pthread_mutex_lock(&q->lock);
    s = find_taken(q, id, &queued);
    if (!s) {
        pthread_mutex_unlock(&q->lock);
        q->type->release(NULL, answer);
        return not_waiting(q, id, queued, err);
    }
    /* off the list now: a second answer finds nobody, and the room is free
     * for the next ask */
    withdraw(q, s);
    if (s->waited) {
        s->answer = answer;
        s->answered = 1;
        pthread_cond_broadcast(&q->answered);
        pthread_mutex_unlock(&q->lock);
        return CS_OK;
    }
    pthread_mutex_unlock(&q->lock);
    if (tag && cap > 0)
        snprintf(tag, cap, "%s", s->tag);
    s->answer = answer; /* nobody waits for it */
    free_slot(q->type, s);
    return CS_OK;
}

int csi_dq_dup(const char *s, char **out)
{
    *out = s ? strdup(s) : NULL;
    return !s || *out;
}

void csi_dq_close(csi_dq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->ready);
    pthread_cond_broadcast(&q->answered);
    pthread_mutex_unlock(&q->lock);
}
