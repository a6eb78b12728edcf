/* A tiny test harness: CHECK records a failure and goes on; main ends with
 * CHECK_DONE(), which prints "N passed, N failed" and sets the exit status. */
#ifndef CS_CHECK_H
#define CS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);       \
        }                                                                            \
    } while (0)

/* A call returning cs_code that must succeed; prints the message if not. */
#define CHECK_OK(call, errp)                                                         \
    do {                                                                             \
        cs_code check_rc_ = (call);                                                  \
        if (check_rc_ == CS_OK) {                                                    \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: FAILED: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    cs_code_name(check_rc_), (errp)->msg);                           \
        }                                                                            \
    } while (0)

/* A call that must fail with code, and a message containing text. */
#define CHECK_FAIL(call, code, errp, text)                                           \
    do {                                                                             \
        cs_code check_rc_ = (call);                                                  \
        if (check_rc_ == (code) && strstr((errp)->msg, (text))) {                    \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: FAILED: %s: got %s \"%s\", want %s \"%s\"\n",    \
                    __FILE__, __LINE__, #call, cs_code_name(check_rc_), (errp)->msg, \
                    cs_code_name(code), (text));                                     \
        }                                                                            \
    } while (0)

#define CHECK_DONE()                                                                 \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
