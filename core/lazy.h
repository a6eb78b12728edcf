/* Libraries opened on first use instead of at load time.
 *
 * libpq (the PostgreSQL store), libcurl and c-ares (ACME validation),
 * jansson (ACME, the signing API, JWS) and libidn2 with its libunistring
 * (internationalized names) are needed by few processes, yet a
 * DT_NEEDED entry makes every `require "pki"` map and relocate them and the
 * ~25 libraries libcurl pulls in (krb5, ldap, ssh2, ...): 38 libraries, ~4 MB
 * of RSS and most of the module's load time (bench/README.md). glibc has no
 * lazy DT_NEEDED (Solaris's -z lazyload), so core/lazy_<lib>.c define the
 * functions we call from each library as small stubs of the same name and
 * type (the library's own header checks them) that jump through a table
 * filled by dlopen/dlsym on the first call (the shape of yugr's Implib.so,
 * in C). The module is not linked to these libraries at all.
 *
 * Calling a function of one of them that the list in its lazy_<lib>.c does
 * not name fails loudly: the executables do not link (undefined reference)
 * and `require "pki"` fails with "undefined symbol" (Lua loads with
 * RTLD_NOW). Add one line to the list. */
#ifndef CS_LAZY_H
#define CS_LAZY_H

#include <pthread.h>
#include <stddef.h>

#include "error.h"

typedef void (*cs_lazy_fn)(void);

/* One library: the soname CMake read from the library linked at build time
 * (so the same one is opened at run time), the names of the functions we
 * call, and their addresses once opened. The only process-wide state in core
 * besides the stop flag: a library is loaded once per process (as the
 * dynamic linker would have), never closed. */
typedef struct cs_lazy_lib {
    const char *soname;
    const char *const *names; /* n names, in the order of fns */
    cs_lazy_fn *fns;
    size_t n;
    pthread_once_t once;
    void (*open_once)(void); /* cs_lazy_open on this library, for pthread_once */
    int ok;
    char why[256]; /* dlerror()'s message when !ok */
} cs_lazy_lib;

extern cs_lazy_lib cs_lazy_pq, cs_lazy_curl, cs_lazy_cares, cs_lazy_jansson, cs_lazy_idn2;

/* Open lib now if it is not yet open: CS_OK, or CS_EUNSUPPORTED naming the
 * library and why it could not be opened. Entry points (opening a
 * PostgreSQL store, starting ACME validation) call this first so a missing
 * library is an error to report, not a failure in the middle of work. */
CS_NODISCARD cs_code cs_lazy_load(cs_lazy_lib *lib, cs_err *err);

/* dlopen lib and dlsym its functions, setting ok or why: run once per
 * library, by pthread_once through lib->open_once. */
void cs_lazy_open(cs_lazy_lib *lib);

/* The address of lib's function number i, opening lib on first use. A stub
 * that cannot open its library has no error to return through the
 * library's own API, so it prints why on stderr and aborts: the library is a
 * dependency of the installed package, and the entry points that can say
 * so (opening a PostgreSQL store, starting ACME validation) have called
 * cs_lazy_load first. */
cs_lazy_fn cs_lazy_fn_at(cs_lazy_lib *lib, size_t i);

/* LIST(X, V, H) names the functions of a library: X(ret, name, params, args)
 * for one returning ret, V(name, params, args) for one returning nothing,
 * H(name) for one whose stub is written by hand (a variadic function: its
 * file calls cs_lazy_fn_at(lazy_self, CS_LAZY_I_name)).
 * CS_LAZY_DEFINE(LIB, SONAME, LIST) makes from it the cs_lazy_lib LIB, an
 * index per name, and one stub per function, `ret name params { return
 * (name's address) args; }`, which the library's header (included before)
 * declares with the same type, so a wrong line does not compile. The stubs
 * are hidden: they stand in for the library inside our own code only. */
#define CS_LAZY_INDEX(ret, name, params, args) CS_LAZY_I_##name,
#define CS_LAZY_INDEX_V(name, params, args) CS_LAZY_I_##name,
#define CS_LAZY_NAME(ret, name, params, args) #name,
#define CS_LAZY_NAME_V(name, params, args) #name,
#define CS_LAZY_INDEX_H(name) CS_LAZY_I_##name,
#define CS_LAZY_NAME_H(name) #name,
#define CS_LAZY_NONE_H(name)
#define CS_LAZY_STUB(ret, name, params, args)                                                  \
    __attribute__((visibility("hidden"))) ret name params                                      \
    {                                                                                          \
        return ((ret(*) params)cs_lazy_fn_at(lazy_self, CS_LAZY_I_##name)) args;               \
    }
#define CS_LAZY_STUB_V(name, params, args)                                                     \
    __attribute__((visibility("hidden"))) void name params                                     \
    {                                                                                          \
        ((void(*) params)cs_lazy_fn_at(lazy_self, CS_LAZY_I_##name)) args;                     \
    }
#define CS_LAZY_DEFINE(LIB, SONAME, LIST)                                                      \
    enum { LIST(CS_LAZY_INDEX, CS_LAZY_INDEX_V, CS_LAZY_INDEX_H) CS_LAZY_COUNT };              \
    static const char *const lazy_names[CS_LAZY_COUNT] = {                                     \
        LIST(CS_LAZY_NAME, CS_LAZY_NAME_V, CS_LAZY_NAME_H)};                                   \
    static cs_lazy_fn lazy_fns[CS_LAZY_COUNT];                                                 \
    static void lazy_open_once(void);                                                          \
    cs_lazy_lib LIB = {SONAME,           lazy_names,     lazy_fns, CS_LAZY_COUNT,              \
                       PTHREAD_ONCE_INIT, lazy_open_once, 0,        ""};                       \
    static void lazy_open_once(void) { cs_lazy_open(&LIB); }                                   \
    static cs_lazy_lib *const lazy_self __attribute__((unused)) = &LIB;                        \
    LIST(CS_LAZY_STUB, CS_LAZY_STUB_V, CS_LAZY_NONE_H)

#endif
