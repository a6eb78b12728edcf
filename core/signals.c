/* Waiting for the signals a long-running server acts on: SIGINT and SIGTERM
 * stop it, SIGHUP reloads it. The handlers only set flags; the waiting
 * thread polls them. */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <time.h>

/* cs_wait_for_signal's: one flag per signal, as the handler may only set
 * them; the handlers they replaced, to put back. */
static volatile sig_atomic_t got_int, got_term, got_hup;
static int catching;
static struct sigaction saved_int, saved_term, saved_hup;

static void on_signal(int sig)
{
    if (sig == SIGINT)
        got_int = 1;
    else if (sig == SIGTERM)
        got_term = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
}

/* The most pressing pending signal, cleared; 0 when none. */
static int take_signal(void)
{
    if (got_int) {
        got_int = 0;
        return SIGINT;
    }
    if (got_term) {
        got_term = 0;
        return SIGTERM;
    }
    if (got_hup) {
        got_hup = 0;
        return SIGHUP;
    }
    return 0;
}

/* Put our handlers in, once: from then on the three signals only set
 * flags, kept until a wait or a poll takes them. */
static void catch_signals(void)
{
    struct sigaction sa;

    if (catching)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    got_int = got_term = got_hup = 0;
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
    sigaction(SIGHUP, &sa, &saved_hup);
    catching = 1;
}

int cs_poll_signal(void)
{
    catch_signals();
    return take_signal();
}

int cs_wait_for_signal(int timeout_ms)
{
    struct timespec start, now, nap = {0, 10 * 1000 * 1000};
    int sig;

    catch_signals();
    clock_gettime(CLOCK_MONOTONIC, &start);
    while ((sig = take_signal()) == 0) {
        if (timeout_ms > 0) {
            long long elapsed;
            clock_gettime(CLOCK_MONOTONIC, &now);
            elapsed = (long long)(now.tv_sec - start.tv_sec) * 1000 +
                      (now.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed >= timeout_ms)
                break;
        }
        nanosleep(&nap, NULL); /* EINTR on the signal: the loop re-checks */
    }
    return sig;
}

void cs_release_signals(void)
{
    if (!catching)
        return;
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
    sigaction(SIGHUP, &saved_hup, NULL);
    got_int = got_term = got_hup = 0;
    catching = 0;
}
