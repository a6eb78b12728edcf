/* core/lazy.c: libraries opened on first use. Real libraries, real dlopen:
 * SQLite (which core links too, so the answers can be compared), one that is
 * not installed, and one that lacks a function we would call. */
#include <sqlite3.h>
#include <string.h>

#include "check.h"
#include "lazy.h"

/* As core/lazy_*.c do it, but with H entries only: stubs named sqlite3_*
 * would stand in for the real functions the test compares with. */
#define SQLITE_FUNCTIONS(X, V, H) H(sqlite3_libversion) H(sqlite3_libversion_number)
CS_LAZY_DEFINE(lazy_sqlite, "libsqlite3.so.0", SQLITE_FUNCTIONS)

/* CS_LAZY_DEFINE makes one library per file: the two that cannot be opened
 * are spelled out. */
#define BROKEN_LIB(var, soname, function)                                                      \
    static const char *const var##_names[] = {function};                                       \
    static cs_lazy_fn var##_fns[1];                                                            \
    static void var##_once(void);                                                              \
    static cs_lazy_lib var = {soname, var##_names, var##_fns, 1, PTHREAD_ONCE_INIT, var##_once, \
                              0,      ""};                                                      \
    static void var##_once(void) { cs_lazy_open(&var); }

BROKEN_LIB(not_installed, "libchainsmith-not-installed.so.0", "sqlite3_libversion")
BROKEN_LIB(no_such_function, "libsqlite3.so.0", "sqlite3_chainsmith_never")

typedef const char *(*version_fn)(void);
typedef int (*number_fn)(void);

int main(void)
{
    cs_err err = {0};

    /* opened on the first call, once; the addresses are the library's own */
    CHECK_OK(cs_lazy_load(&lazy_sqlite, &err), &err);
    CHECK_OK(cs_lazy_load(&lazy_sqlite, &err), &err);
    version_fn version = (version_fn)cs_lazy_fn_at(&lazy_sqlite, CS_LAZY_I_sqlite3_libversion);
    number_fn number = (number_fn)cs_lazy_fn_at(&lazy_sqlite, CS_LAZY_I_sqlite3_libversion_number);
    CHECK(strcmp(version(), sqlite3_libversion()) == 0);
    CHECK(number() == sqlite3_libversion_number());

    /* a library that is not there: an error naming it, every time */
    CHECK_FAIL(cs_lazy_load(&not_installed, &err), CS_EUNSUPPORTED, &err,
               "libchainsmith-not-installed.so.0 could not be opened");
    CHECK(strstr(err.msg, "No such file") != NULL);
    memset(&err, 0, sizeof err);
    CHECK_FAIL(cs_lazy_load(&not_installed, &err), CS_EUNSUPPORTED, &err,
               "libchainsmith-not-installed.so.0");

    /* one that lacks a function we call: refused whole, naming the function */
    CHECK_FAIL(cs_lazy_load(&no_such_function, &err), CS_EUNSUPPORTED, &err,
               "libsqlite3.so.0: no function sqlite3_chainsmith_never");

    /* the libraries core opens on first use: each one named at build time
     * is there and has every function core calls */
    cs_lazy_lib *const used[] = {&cs_lazy_pq, &cs_lazy_curl, &cs_lazy_cares, &cs_lazy_jansson,
                                 &cs_lazy_idn2};
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
        CHECK_OK(cs_lazy_load(used[i], &err), &err);
    return CHECK_DONE();
}
