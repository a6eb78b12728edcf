/* What core/signapi.c and core/signapi_queue.c share: the signing API's
 * side of the decision queue (decision_queue.h). Internal to core: csi_
 * names. */
#ifndef CS_SIGNAPI_INTERNAL_H
#define CS_SIGNAPI_INTERNAL_H

#include "decision_queue.h"
#include "signapi.h"

/* An answer as the queue keeps it: cs_signapi_decision with owned strings. */
typedef struct csi_sa_answer {
    int ok;
    char *error;
    char *detail;
    char *chain_pem;
    char *serial_hex;
} csi_sa_answer;

void csi_sa_answer_free(csi_sa_answer *a);

/* What a decision queue of signing API asks is (csi_dq_new(&csi_sa_queue,
 * ...)); the typed calls below go through it. */
extern const csi_dq_type csi_sa_queue;
/* Queue ask (taken over, whatever the outcome) and wait at most timeout_ms
 * for its answer, which the caller frees with csi_sa_answer_free. */
csi_wait csi_sa_queue_ask(csi_dq *q, cs_signapi_ask *ask, int timeout_ms,
                          csi_sa_answer **answer);
/* Deliver a (copied) to the request waiting for taken ask id. CS_ENOENT:
 * none waits; CS_EINVAL: a SIGN answer without chain or serial (the ask
 * still waits). */
CS_NODISCARD cs_code csi_sa_queue_answer(csi_dq *q, uint64_t id, const cs_signapi_decision *a,
                                         cs_err *err);

#endif
