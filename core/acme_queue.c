/* The ACME side of the decision queue (decision_queue.h): its asks
 * (cs_acme_ask), its answers (copies of cs_acme_decision) and the order id
 * a posted ask (finalize) has no waiter for, so its answer goes to the
 * answering thread with the order named. */
#include "acme_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* More waiting asks than this and new ones are refused (503): the Lua side
 * is not keeping up, and the requests would only time out. */
#define QUEUE_MAX 4096

/* A posted finalize hands its order id to the answering thread as its tag. */
_Static_assert(CSI_ACME_ID_LEN <= CSI_DQ_TAG_MAX, "an order id fits a queue tag");

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

cs_code csi_answer_copy(const cs_acme_decision *a, csi_answer **out, cs_err *err)
{
    csi_answer *c = calloc(1, sizeof *c);
    size_t i;
    int ok;

    if (!c)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory copying an answer");
    c->ok = a->ok != 0;
    ok = csi_dq_dup(a->type, &c->type) && csi_dq_dup(a->detail, &c->detail) &&
         csi_dq_dup(a->profile, &c->profile) && csi_dq_dup(a->chain_pem, &c->chain_pem) &&
         csi_dq_dup(a->serial_hex, &c->serial_hex);
    if (ok && a->challenges_len > 0) {
        c->challenges = calloc(a->challenges_len, sizeof *c->challenges);
        ok = c->challenges != NULL;
        for (i = 0; ok && i < a->challenges_len; i++) {
            ok = csi_dq_dup(a->challenges[i], &c->challenges[i]);
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

static void release(void *ask, void *answer)
{
    cs_acme_ask_free(ask);
    csi_answer_free(answer);
}

const csi_dq_type csi_acme_queue = {"acme", QUEUE_MAX, offsetof(cs_acme_ask, id), release};

csi_wait csi_queue_ask(csi_dq *q, cs_acme_ask *ask, int timeout_ms, csi_answer **out)
{
    void *answer = NULL;
    csi_wait w = csi_dq_ask(q, ask, (int)ask->kind, timeout_ms, &answer);

    if (w == CSI_WAIT_ANSWERED)
        *out = answer;
    return w;
}

csi_wait csi_queue_post(csi_dq *q, cs_acme_ask *ask)
{
    if (!ask)
        return CSI_WAIT_NOMEM; /* a finalize ask that could not be made */
    return csi_dq_post(q, ask, (int)ask->kind, ask->order_id);
}

cs_code csi_queue_next(csi_dq *q, int timeout_ms, cs_acme_ask **out, cs_err *err)
{
    void *ask = NULL;
    cs_code rc = csi_dq_next(q, timeout_ms, &ask, err);

    if (rc == CS_OK)
        *out = ask;
    return rc;
}

cs_code csi_queue_kind(csi_dq *q, uint64_t id, cs_acme_ask_kind *kind, cs_err *err)
{
    int k = 0;
    cs_code rc = csi_dq_kind(q, id, &k, err);

    if (rc == CS_OK)
        *kind = (cs_acme_ask_kind)k;
    return rc;
}

cs_code csi_queue_answer(csi_dq *q, uint64_t id, const cs_acme_decision *a, char *order,
                         cs_err *err)
{
    csi_answer *copy = NULL;
    cs_code rc = csi_answer_copy(a, &copy, err);

    if (rc != CS_OK)
        return rc;
    return csi_dq_answer(q, id, copy, order, CSI_ACME_ID_LEN + 1, err);
}
