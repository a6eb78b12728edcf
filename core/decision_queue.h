/* The decision queue: how a worker thread asks the Lua main loop for a
 * decision and waits for it. Worker threads never run Lua: a request puts
 * an "ask" here and waits (bounded); the Lua serve loop takes asks
 * (csi_dq_next: acme:next, api:next), decides, answers (csi_dq_answer), and
 * the waiting worker wakes with the answer. Shared by the ACME server
 * (acme_queue.c) and the signing API (signapi_queue.c), which give it their
 * own ask and answer types; the queue sees them as pointers it only moves
 * and, when nobody else will, frees. Internal to core: csi_ names. */
#ifndef CS_DECISION_QUEUE_H
#define CS_DECISION_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

/* A posted ask's tag (an ACME order id) is kept up to this many bytes. */
#define CSI_DQ_TAG_MAX 63

/* How an ask ended, for the request that made it. */
typedef enum csi_wait {
    CSI_WAIT_ANSWERED, /* *answer set (csi_dq_post: queued) */
    CSI_WAIT_TIMEOUT,  /* nobody answered in time: the ask is withdrawn */
    CSI_WAIT_CLOSED,   /* the queue is closed */
    CSI_WAIT_FULL,     /* too many asks wait already: the Lua side is not keeping up */
    CSI_WAIT_NOMEM,
} csi_wait;

/* What a queue is for: its name starts its messages ("acme: ..."); max
 * asks may wait at once (more are refused, CSI_WAIT_FULL: the requests
 * would only time out); id_offset is where its ask struct keeps the
 * uint64_t id the queue gives it (offsetof), written before anyone can
 * take the ask; release frees an ask and an answer nobody else will (either
 * may be NULL). */
typedef struct csi_dq_type {
    const char *name;
    size_t max;
    size_t id_offset;
    void (*release)(void *ask, void *answer);
} csi_dq_type;

/* Constructor csi_dq_new (type is borrowed: a static), destructor
 * csi_dq_free (NULL is fine; after every asker has returned; frees asks
 * and answers nobody took). */
typedef struct csi_dq csi_dq;
CS_NODISCARD cs_code csi_dq_new(const csi_dq_type *type, csi_dq **out, cs_err *err);
void csi_dq_free(csi_dq *q);

/* Queue ask of kind (taken over, whatever the outcome) and wait at most
 * timeout_ms for its answer: ANSWERED with *answer (the caller frees it),
 * or why not, the ask withdrawn and freed. */
csi_wait csi_dq_ask(csi_dq *q, void *ask, int kind, int timeout_ms, void **answer);
/* Queue ask of kind (taken over) without waiting: its answer goes to the
 * thread that gives it (csi_dq_answer), with tag, which says what it was
 * for (an order id). ANSWERED: queued; anything else: refused and freed. */
csi_wait csi_dq_post(csi_dq *q, void *ask, int kind, const char *tag);

/* The oldest ask nobody took, waiting at most timeout_ms (0: do not wait).
 * CS_OK with *ask set, or CS_OK with *ask NULL when none came in time (the
 * idle case: the queue is open); CS_ENOENT "<name>: the queue is closed"
 * once it is closed and every queued ask has been taken. The two must stay
 * apart: a serve loop that took an idle timeout for a close stopped
 * serving. */
CS_NODISCARD cs_code csi_dq_next(csi_dq *q, int timeout_ms, void **ask, cs_err *err);

/* The kind of taken ask id, which waits for its answer (to check an answer
 * before giving it). CS_ENOENT when none waits, or it was not taken yet. */
CS_NODISCARD cs_code csi_dq_kind(csi_dq *q, uint64_t id, int *kind, cs_err *err);
/* Deliver answer (taken over, whatever the outcome) to the request waiting
 * for taken ask id; for a posted ask, nobody waits: the answer is freed and
 * its tag copied to tag (cap bytes; "" for a waited ask). CS_ENOENT when
 * no taken ask id waits (answered already, its request gave up, or not
 * taken yet). */
CS_NODISCARD cs_code csi_dq_answer(csi_dq *q, uint64_t id, void *answer, char *tag, size_t cap,
                                   cs_err *err);

/* *out = a copy of s, NULL for NULL (the optional strings of an answer
 * being copied for its waiter): 0 when out of memory. */
int csi_dq_dup(const char *s, char **out);

/* Refuse new asks, release every waiting request (CSI_WAIT_CLOSED) and
 * csi_dq_next once drained. Idempotent, thread-safe. */
void csi_dq_close(csi_dq *q);

/* Waits of core's threads are timed by CLOCK_MONOTONIC, so that setting the
 * wall clock neither cuts them short nor stretches them: cond initialized
 * with that clock, and the deadline ms from now on it, for
 * pthread_cond_timedwait (also used by acme_settle.c). */
void csi_cond_init_monotonic(pthread_cond_t *cond);
struct timespec csi_deadline_in(int ms);

#endif
