/* Outcomes a request may wait for briefly (acme_internal.h, "settling"):
 * a finalize answered by the Lua loop, a challenge validated. The finalize
 * and challenge handlers wait up to CSI_SETTLE_MS for theirs, so a client
 * usually reads "valid" in the reply and polls once, not every second.
 *
 * Each outcome is noted by its id (an order's or a challenge's) in a ring
 * with a running count; a waiter remembers the count it started from and
 * looks only at ids noted since, so a burst of other orders' outcomes wakes
 * it without a database read. If more than the ring holds were noted
 * meanwhile, it cannot tell and answers "maybe" (the caller reads again). */
#include "acme_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cs_code csi_settle_new(csi_settle **out, cs_err *err)
{
    csi_settle *s = calloc(1, sizeof *s);

    if (!s)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
    pthread_mutex_init(&s->lock, NULL);
    csi_cond_init_monotonic(&s->cond); /* a clock step must not stretch a wait */
    *out = s;
    return CS_OK;
}

void csi_settle_free(csi_settle *s)
{
    if (!s)
        return;
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

unsigned long csi_settle_count(csi_settle *s)
{
    unsigned long n;

    pthread_mutex_lock(&s->lock);
    n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void csi_settle_note(csi_settle *s, const char *id)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    snprintf(s->ids[s->count % CSI_SETTLE_RING], sizeof s->ids[0], "%s", id);
    s->count++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void csi_settle_close(csi_settle *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->closed = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int csi_settle_wait(csi_settle *s, const char *id, unsigned long *since, int timeout_ms)
{
    struct timespec until = csi_deadline_in(timeout_ms);
    int found = 0, rc = 0;
    pthread_mutex_lock(&s->lock);
    while (!s->closed && rc != ETIMEDOUT) {
        if (s->count - *since > CSI_SETTLE_RING) {
            found = 1; /* the ring went round: maybe */
        } else {
            for (; *since < s->count && !found; (*since)++)
                found = strcmp(s->ids[*since % CSI_SETTLE_RING], id) == 0;
        }
        if (found)
            break;
        rc = pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    *since = s->count;
    pthread_mutex_unlock(&s->lock);
    return found;
}
