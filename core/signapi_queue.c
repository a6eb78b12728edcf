/* The signing API's side of the decision queue (decision_queue.h): its asks
 * (cs_signapi_ask) and its answers (copies of cs_signapi_decision), checked
 * against the ask they answer before its request sees them. */
#include "signapi_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* More waiting asks than this and new ones are refused (503): the Lua side
 * is not keeping up, and the requests would only time out. */
#define QUEUE_MAX 1024

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

static void release(void *ask, void *answer)
{
    cs_signapi_ask_free(ask);
    csi_sa_answer_free(answer);
}

const csi_dq_type csi_sa_queue = {"signapi", QUEUE_MAX, offsetof(cs_signapi_ask, id), release};

csi_wait csi_sa_queue_ask(csi_dq *q, cs_signapi_ask *ask, int timeout_ms,
                          csi_sa_answer **answer)
{
    void *got = NULL;
    csi_wait w = csi_dq_ask(q, ask, (int)ask->kind, timeout_ms, &got);

    if (w == CSI_WAIT_ANSWERED)
        *answer = got;
    return w;
}

cs_code csi_sa_queue_answer(csi_dq *q, uint64_t id, const cs_signapi_decision *a, cs_err *err)
{
    csi_sa_answer *c;
    int kind = 0;
    cs_code rc = csi_dq_kind(q, id, &kind, err);

    if (rc != CS_OK)
        return rc;
    /* checked before anything is delivered: a bad answer leaves the ask
     * waiting for a good one */
    if (a->ok && kind == CS_SIGNAPI_ASK_SIGN &&
        !(a->chain_pem && strstr(a->chain_pem, "-----BEGIN CERTIFICATE-----") &&
          hex_serial(a->serial_hex)))
        return cs_err_set(err, CS_EINVAL,
                          "signapi: a sign answer needs chain (PEM) and serial (hex digits)");
    c = calloc(1, sizeof *c);
    if (!c)
        return cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
    c->ok = a->ok != 0;
    if (!csi_dq_dup(a->error, &c->error) || !csi_dq_dup(a->detail, &c->detail) ||
        !csi_dq_dup(a->chain_pem, &c->chain_pem) || !csi_dq_dup(a->serial_hex, &c->serial_hex)) {
        csi_sa_answer_free(c);
        return cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
    }
    return csi_dq_answer(q, id, c, NULL, 0, err);
}
