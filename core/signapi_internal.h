/* What core/signapi.c and core/signapi_queue.c share: the decision queue.
 * Internal to core: csi_ names. */
#ifndef CS_SIGNAPI_INTERNAL_H
#define CS_SIGNAPI_INTERNAL_H

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

typedef struct csi_sa_queue csi_sa_queue;

typedef enum csi_sa_wait {
    CSI_SA_ANSWERED, /* *answer set */
    CSI_SA_TIMEOUT,  /* nobody answered in time: the ask is withdrawn */
    CSI_SA_CLOSED,   /* the queue is closed */
    CSI_SA_FULL,     /* too many asks wait already */
    CSI_SA_NOMEM,
} csi_sa_wait;

CS_NODISCARD cs_code csi_sa_queue_new(csi_sa_queue **out, cs_err *err);
void csi_sa_queue_free(csi_sa_queue *q); /* after every asker has returned */
/* Queue ask (taken over, whatever the outcome) and wait at most timeout_ms
 * for its answer, which the caller frees with csi_sa_answer_free. */
csi_sa_wait csi_sa_queue_ask(csi_sa_queue *q, cs_signapi_ask *ask, int timeout_ms,
                             csi_sa_answer **answer);
CS_NODISCARD cs_code csi_sa_queue_next(csi_sa_queue *q, int timeout_ms, cs_signapi_ask **out,
                                       cs_err *err);
CS_NODISCARD cs_code csi_sa_queue_answer(csi_sa_queue *q, uint64_t id,
                                         const cs_signapi_decision *a, cs_err *err);
void csi_sa_queue_close(csi_sa_queue *q);

#endif
