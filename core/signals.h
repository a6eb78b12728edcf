/* The signals a long-running server acts on. */
#ifndef CS_SIGNALS_H
#define CS_SIGNALS_H

/* For a server that reloads: catch SIGINT, SIGTERM and SIGHUP from the
 * first call on (the handlers stay, so a signal between two waits is kept,
 * not lost or fatal), and block until one arrives or timeout_ms passes (if
 * > 0). Returns the signal (SIGINT or SIGTERM before SIGHUP when several
 * are pending), or 0 on timeout. cs_release_signals restores the previous
 * handlers. */
int cs_wait_for_signal(int timeout_ms);
/* The same without waiting: the pending signal, taken (as above), or 0.
 * For a loop that blocks elsewhere (serve.lua waiting on ACME asks) and
 * looks at the signals between two waits; catching starts on the first
 * call, as with cs_wait_for_signal. */
int cs_poll_signal(void);
void cs_release_signals(void);

#endif
