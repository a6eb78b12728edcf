/* The generic decision queue (core/decision_queue.h) with an ask and an
 * answer type of its own, real threads on both sides: a timed-out ask, an
 * answer after a wait, close releasing every waiter, an idle next told
 * apart from a closed queue, the capacity bound, and who frees what. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "decision_queue.h"

typedef struct ask {
    uint64_t id;
    int n;
} ask;

typedef struct answer {
    int value;
} answer;

/* Frees, counted: everything the queue is given must be freed once,
 * whoever ends up with it (read after the threads are joined). */
static int asks_freed, answers_freed;

static void ask_free(void *p)
{
    asks_freed += p != NULL;
    free(p);
}

static void answer_free(void *p)
{
    answers_freed += p != NULL;
    free(p);
}

static void release(void *a, void *b)
{
    ask_free(a);
    answer_free(b);
}

static const csi_dq_type test_type = {"test", 3, offsetof(ask, id), release};

static ask *new_ask(int n)
{
    ask *a = calloc(1, sizeof *a);
    if (a)
        a->n = n;
    return a;
}

static answer *new_answer(int value)
{
    answer *a = calloc(1, sizeof *a);
    if (a)
        a->value = value;
    return a;
}

/* A request on its own thread: asks (kind 7) and waits. */
typedef struct asker {
    pthread_t thread;
    csi_dq *q;
    int n, timeout_ms;
    csi_wait result;
    void *answer;
} asker;

static void *ask_run(void *arg)
{
    asker *a = arg;
    a->result = csi_dq_ask(a->q, new_ask(a->n), 7, a->timeout_ms, &a->answer);
    return NULL;
}

static void start(asker *a, csi_dq *q, int n, int timeout_ms)
{
    memset(a, 0, sizeof *a);
    a->q = q;
    a->n = n;
    a->timeout_ms = timeout_ms;
    a->result = CSI_WAIT_NOMEM;
    CHECK(pthread_create(&a->thread, NULL, ask_run, a) == 0);
}

/* Wait until ask id is queued, not taken: the queue itself says so. */
static void wait_queued(csi_dq *q, uint64_t id)
{
    struct timespec pause = {0, 1000000};
    cs_err err;
    int kind, i, queued = 0;

    for (i = 0; i < 60000 && !queued; i++) {
        queued = csi_dq_kind(q, id, &kind, &err) == CS_ENOENT &&
                 strstr(err.msg, "not taken yet") != NULL;
        if (!queued)
            nanosleep(&pause, NULL);
    }
    CHECK(queued);
}

static void test_idle_and_answer(void)
{
    csi_dq *q = NULL;
    void *got = NULL;
    asker a;
    cs_err err;
    int kind = 0;
    uint64_t id;

    CHECK_OK(csi_dq_new(&test_type, &q, &err), &err);
    if (!q)
        return;
    /* idle: CS_OK and nothing, waiting or not; never the closed error */
    CHECK_OK(csi_dq_next(q, 0, &got, &err), &err);
    CHECK(got == NULL);
    CHECK_OK(csi_dq_next(q, 20, &got, &err), &err);
    CHECK(got == NULL);
    /* a request waits; the Lua side takes its ask, the id written in it */
    start(&a, q, 41, 60000);
    CHECK_OK(csi_dq_next(q, 60000, &got, &err), &err);
    CHECK(got && ((ask *)got)->n == 41 && ((ask *)got)->id > 0);
    id = got ? ((ask *)got)->id : 0;
    ask_free(got);
    CHECK_OK(csi_dq_kind(q, id, &kind, &err), &err);
    CHECK(kind == 7);
    /* the answer wakes it */
    CHECK_OK(csi_dq_answer(q, id, new_answer(42), NULL, 0, &err), &err);
    pthread_join(a.thread, NULL);
    CHECK(a.result == CSI_WAIT_ANSWERED && a.answer && ((answer *)a.answer)->value == 42);
    answer_free(a.answer);
    /* answered once: a second answer finds nobody, and is freed */
    answers_freed = 0;
    CHECK_FAIL(csi_dq_answer(q, id, new_answer(43), NULL, 0, &err), CS_ENOENT, &err,
               "test: no ask");
    CHECK(strstr(err.msg, "answered already") != NULL);
    CHECK(answers_freed == 1);
    CHECK_FAIL(csi_dq_kind(q, id, &kind, &err), CS_ENOENT, &err, "waits for an answer");
    csi_dq_free(q);
}

static void test_timeout(void)
{
    csi_dq *q = NULL;
    void *got = NULL, *none = NULL;
    asker a;
    cs_err err;
    uint64_t id;

    CHECK_OK(csi_dq_new(&test_type, &q, &err), &err);
    if (!q)
        return;
    /* nobody takes it: TIMEOUT, withdrawn and freed, nothing left to take */
    asks_freed = 0;
    CHECK(csi_dq_ask(q, new_ask(1), 7, 30, &none) == CSI_WAIT_TIMEOUT);
    CHECK(none == NULL && asks_freed == 1);
    CHECK_OK(csi_dq_next(q, 0, &got, &err), &err);
    CHECK(got == NULL);
    CHECK_FAIL(csi_dq_answer(q, 1, new_answer(1), NULL, 0, &err), CS_ENOENT, &err, "no ask 1");
    /* taken but not answered in time: TIMEOUT; the late answer finds nobody */
    start(&a, q, 2, 50);
    CHECK_OK(csi_dq_next(q, 60000, &got, &err), &err);
    CHECK(got != NULL);
    id = got ? ((ask *)got)->id : 0;
    ask_free(got);
    pthread_join(a.thread, NULL);
    CHECK(a.result == CSI_WAIT_TIMEOUT && a.answer == NULL);
    CHECK_FAIL(csi_dq_answer(q, id, new_answer(2), NULL, 0, &err), CS_ENOENT, &err,
               "its request gave up");
    /* a timeout of 0 or less does not wait at all */
    CHECK(csi_dq_ask(q, new_ask(3), 7, 0, &none) == CSI_WAIT_TIMEOUT);
    CHECK(csi_dq_ask(q, new_ask(4), 7, -5, &none) == CSI_WAIT_TIMEOUT);
    csi_dq_free(q);
}

static void test_post_and_bound(void)
{
    csi_dq *q = NULL;
    void *got = NULL;
    char tag[CSI_DQ_TAG_MAX + 1];
    cs_err err;
    uint64_t id;

    CHECK_OK(csi_dq_new(&test_type, &q, &err), &err);
    if (!q)
        return;
    /* posted asks wait for nobody; the queue takes test_type.max of them */
    CHECK(csi_dq_post(q, new_ask(1), 5, "order-1") == CSI_WAIT_ANSWERED);
    CHECK(csi_dq_post(q, new_ask(2), 5, "order-2") == CSI_WAIT_ANSWERED);
    CHECK(csi_dq_post(q, new_ask(3), 5, NULL) == CSI_WAIT_ANSWERED);
    asks_freed = 0;
    CHECK(csi_dq_post(q, new_ask(4), 5, "order-4") == CSI_WAIT_FULL);
    CHECK(asks_freed == 1);
    /* an ask nobody took yet cannot be answered */
    CHECK_FAIL(csi_dq_answer(q, 1, new_answer(0), tag, sizeof tag, &err), CS_ENOENT, &err,
               "not taken yet");
    /* taken oldest first; the answer hands back the tag, and is freed */
    CHECK_OK(csi_dq_next(q, 0, &got, &err), &err);
    CHECK(got && ((ask *)got)->n == 1);
    id = got ? ((ask *)got)->id : 0;
    ask_free(got);
    answers_freed = 0;
    CHECK_OK(csi_dq_answer(q, id, new_answer(0), tag, sizeof tag, &err), &err);
    CHECK(strcmp(tag, "order-1") == 0 && answers_freed == 1);
    /* the answered one made room */
    CHECK(csi_dq_post(q, new_ask(5), 5, "order-5") == CSI_WAIT_ANSWERED);
    CHECK(csi_dq_post(q, new_ask(6), 5, "order-6") == CSI_WAIT_FULL);
    /* 2 is taken (and freed by its taker); the queue frees 3 and 5 with itself */
    CHECK_OK(csi_dq_next(q, 0, &got, &err), &err);
    CHECK(got && ((ask *)got)->n == 2);
    ask_free(got);
    asks_freed = 0;
    csi_dq_free(q);
    CHECK(asks_freed == 2);
}

/* The serve loop waiting in next when the queue closes. */
typedef struct taker {
    pthread_t thread;
    csi_dq *q;
    cs_code rc;
    void *got;
    cs_err err;
} taker;

static void *take_run(void *arg)
{
    taker *t = arg;
    t->rc = csi_dq_next(t->q, 60000, &t->got, &t->err);
    return NULL;
}

static void test_close(void)
{
    csi_dq *q = NULL;
    void *got = NULL, *none = NULL;
    asker taken, queued;
    taker t;
    struct timespec pause = {0, 50000000};
    cs_err err;

    CHECK_OK(csi_dq_new(&test_type, &q, &err), &err);
    if (!q)
        return;
    /* a request whose ask was taken, one whose ask was not, and a posted
     * ask: close releases both requests at once, the posted ask stays */
    start(&taken, q, 1, 60000);
    CHECK_OK(csi_dq_next(q, 60000, &got, &err), &err);
    CHECK(got && ((ask *)got)->id == 1);
    ask_free(got);
    start(&queued, q, 2, 60000);
    wait_queued(q, 2);
    CHECK(csi_dq_post(q, new_ask(3), 5, "posted") == CSI_WAIT_ANSWERED);
    csi_dq_close(q);
    csi_dq_close(q); /* idempotent */
    pthread_join(taken.thread, NULL);
    pthread_join(queued.thread, NULL);
    CHECK(taken.result == CSI_WAIT_CLOSED && taken.answer == NULL);
    CHECK(queued.result == CSI_WAIT_CLOSED && queued.answer == NULL);
    /* closed: new asks are refused (and freed) */
    asks_freed = 0;
    CHECK(csi_dq_ask(q, new_ask(4), 7, 60000, &none) == CSI_WAIT_CLOSED);
    CHECK(csi_dq_post(q, new_ask(5), 5, "late") == CSI_WAIT_CLOSED);
    CHECK(asks_freed == 2);
    /* next drains what is queued (the withdrawn ask 2 is gone), then says closed */
    CHECK_OK(csi_dq_next(q, 0, &got, &err), &err);
    CHECK(got && ((ask *)got)->n == 3);
    ask_free(got);
    CHECK_FAIL(csi_dq_next(q, 0, &got, &err), CS_ENOENT, &err, "test: the queue is closed");
    CHECK_FAIL(csi_dq_next(q, 10, &got, &err), CS_ENOENT, &err, "closed");
    csi_dq_free(q);

    /* a serve loop blocked in next wakes on close with the closed error,
     * not the idle CS_OK it would get at the end of its wait */
    CHECK_OK(csi_dq_new(&test_type, &q, &err), &err);
    if (!q)
        return;
    memset(&t, 0, sizeof t);
    t.q = q;
    CHECK(pthread_create(&t.thread, NULL, take_run, &t) == 0);
    nanosleep(&pause, NULL); /* most likely waiting by now; the result is the same if not */
    csi_dq_close(q);
    pthread_join(t.thread, NULL);
    CHECK(t.rc == CS_ENOENT && t.got == NULL && strstr(t.err.msg, "closed"));
    csi_dq_free(q);
}

static void test_dup(void)
{
    char *s = (char *)"x";

    CHECK(csi_dq_dup(NULL, &s) == 1 && s == NULL);
    CHECK(csi_dq_dup("chain", &s) == 1 && s && strcmp(s, "chain") == 0);
    free(s);
}

int main(void)
{
    test_idle_and_answer();
    test_timeout();
    test_post_and_bound();
    test_close();
    test_dup();
    return CHECK_DONE();
}
