/* libidn2 (and its libunistring), opened on the first internationalized
 * name: ASCII names never need them (core/name.c; core/lazy.h says why). */
#include <idn2.h>

#include "lazy.h"

/* Every libidn2 function core/name.c calls. */
#define IDN2_FUNCTIONS(X, V, H)                                                                \
    X(int, idn2_to_ascii_8z, (const char *input, char **output, int flags),                    \
      (input, output, flags))                                                                  \
    X(int, idn2_to_unicode_8z8z, (const char *input, char **output, int flags),                \
      (input, output, flags))                                                                  \
    V(idn2_free, (void *p), (p))                                                               \
    X(const char *, idn2_strerror, (int rc), (rc))

CS_LAZY_DEFINE(cs_lazy_idn2, CS_SONAME_IDN2, IDN2_FUNCTIONS)
