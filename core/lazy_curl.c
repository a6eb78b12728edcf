/* libcurl, opened when ACME validation starts (core/lazy.h says why). */
#include <stdarg.h>

#include <curl/curl.h>

#include "lazy.h"

/* Every libcurl function core/acme_validate_http.c calls. */
#define CURL_FUNCTIONS(X, V, H)                                                                   \
    V(curl_easy_cleanup, (CURL * e), (e))                                                      \
    H(curl_easy_getinfo)                                                                       \
    X(CURL *, curl_easy_init, (void), ())                                                      \
    H(curl_easy_setopt)                                                                        \
    X(const char *, curl_easy_strerror, (CURLcode code), (code))                               \
    V(curl_free, (void *p), (p))                                                               \
    X(CURLcode, curl_global_init, (long flags), (flags))                                       \
    X(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * e), (m, e))                         \
    X(CURLMcode, curl_multi_cleanup, (CURLM * m), (m))                                         \
    X(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left))                      \
    X(CURLM *, curl_multi_init, (void), ())                                                    \
    X(CURLMcode, curl_multi_perform, (CURLM * m, int *running), (m, running))                  \
    X(CURLMcode, curl_multi_poll,                                                              \
      (CURLM * m, struct curl_waitfd * fds, unsigned int n, int timeout_ms, int *ret),         \
      (m, fds, n, timeout_ms, ret))                                                            \
    X(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * e), (m, e))                      \
    X(struct curl_slist *, curl_slist_append, (struct curl_slist * list, const char *s),       \
      (list, s))                                                                               \
    V(curl_slist_free_all, (struct curl_slist * list), (list))                                 \
    X(CURLU *, curl_url, (void), ())                                                           \
    V(curl_url_cleanup, (CURLU * u), (u))                                                      \
    X(CURLUcode, curl_url_get, (CURLU * u, CURLUPart what, char **part, unsigned int flags),   \
      (u, what, part, flags))                                                                  \
    X(CURLUcode, curl_url_set,                                                                 \
      (CURLU * u, CURLUPart what, const char *part, unsigned int flags), (u, what, part, flags))

CS_LAZY_DEFINE(cs_lazy_curl, CS_SONAME_CURL, CURL_FUNCTIONS)

/* The two variadic functions take one argument after the option, whose type
 * the option's number encodes (curl.h's CURLOPTTYPE_* and CURLINFO_*
 * ranges, which libcurl's own setopt reads the same way): read it as that
 * type and pass it on as that type. The parentheses keep curl.h's
 * type-checking macros of the same names from expanding here. */
typedef CURLcode (*setopt_fn)(CURL *e, CURLoption option, ...);

__attribute__((visibility("hidden"))) CURLcode(curl_easy_setopt)(CURL *e, CURLoption option,
                                                                  ...)
{
    setopt_fn setopt = (setopt_fn)cs_lazy_fn_at(lazy_self, CS_LAZY_I_curl_easy_setopt);
    CURLcode rc;
    va_list ap;
    va_start(ap, option);
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = setopt(e, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = setopt(e, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = setopt(e, option, va_arg(ap, void (*)(void)));
    else if (option < CURLOPTTYPE_BLOB)
        rc = setopt(e, option, va_arg(ap, curl_off_t));
    else
        rc = setopt(e, option, va_arg(ap, void *)); /* struct curl_blob * */
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
typedef CURLcode (*getinfo_fn)(CURL *e, CURLINFO info, ...);

__attribute__((visibility("hidden"))) CURLcode(curl_easy_getinfo)(CURL *e, CURLINFO info, ...)
{
    getinfo_fn getinfo = (getinfo_fn)cs_lazy_fn_at(lazy_self, CS_LAZY_I_curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    CURLcode rc = getinfo(e, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}
