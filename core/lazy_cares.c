/* c-ares, opened when ACME validation starts (core/lazy.h says why). */
#include <sys/select.h> /* ares.h uses fd_set and struct timeval without them */
#include <sys/time.h>

#include <ares.h>

#include "lazy.h"

/* Every c-ares function core/acme_validate_dns.c calls. */
#define CARES_FUNCTIONS(X, V, H)                                                                  \
    V(ares_cancel, (ares_channel channel), (channel))                                          \
    V(ares_destroy, (ares_channel channel), (channel))                                         \
    V(ares_free_data, (void *data), (data))                                                    \
    V(ares_freeaddrinfo, (struct ares_addrinfo * ai), (ai))                                    \
    V(ares_getaddrinfo,                                                                        \
      (ares_channel channel, const char *node, const char *service,                            \
       const struct ares_addrinfo_hints *hints, ares_addrinfo_callback callback, void *arg),   \
      (channel, node, service, hints, callback, arg))                                          \
    X(int, ares_getsock, (ares_channel channel, ares_socket_t * socks, int n),                 \
      (channel, socks, n))                                                                     \
    X(int, ares_init_options, (ares_channel * out, struct ares_options * options, int mask),   \
      (out, options, mask))                                                                    \
    X(int, ares_library_init, (int flags), (flags))                                            \
    X(int, ares_parse_txt_reply_ext,                                                           \
      (const unsigned char *abuf, int alen, struct ares_txt_ext **out), (abuf, alen, out))     \
    V(ares_process_fd, (ares_channel channel, ares_socket_t rfd, ares_socket_t wfd),           \
      (channel, rfd, wfd))                                                                     \
    V(ares_query,                                                                              \
      (ares_channel channel, const char *name, int dnsclass, int type, ares_callback callback, \
       void *arg),                                                                             \
      (channel, name, dnsclass, type, callback, arg))                                          \
    X(int, ares_set_servers_ports_csv, (ares_channel channel, const char *servers),            \
      (channel, servers))                                                                      \
    X(const char *, ares_strerror, (int code), (code))                                         \
    X(struct timeval *, ares_timeout,                                                          \
      (ares_channel channel, struct timeval * maxtv, struct timeval * tv), (channel, maxtv, tv))

CS_LAZY_DEFINE(cs_lazy_cares, CS_SONAME_CARES, CARES_FUNCTIONS)
