/* pki.run_bounded: run a Lua function in a child process with a memory cap
 * and a wall-clock deadline, for code that is not ours (profiles). A count
 * hook cannot stop a C function: string.find's backtracking or string.rep
 * run inside the C library without ever returning to the VM. A forked child
 * can be killed wherever it is, and its allocator can refuse what goes past
 * the cap, so both bounds hold whatever the code calls. */
#define _POSIX_C_SOURCE 200809L

#include "bindings.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the child's result may weigh: a profile is a page of data. */
#define RESULT_MAX (16u << 20)

/* The child's allocator: the interpreter's own, refusing growth past cap
 * bytes more than the state held when the child began. */
typedef struct capped {
    lua_Alloc f;
    void *ud;
    long long used; /* since the child began: may go negative (frees) */
    long long cap;
} capped;

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    capped *c = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize > old && c->used + (long long)(nsize - old) > c->cap)
        return NULL; /* Lua raises "not enough memory" */
    p = c->f(c->ud, ptr, osize, nsize);
    if (p || nsize == 0)
        c->used += (long long)nsize - (long long)old;
    return p;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* In the child: call the function at 1 with the allocator capped, and
 * write one status byte ('o' ok, 'e' error, 'm' out of memory) and the
 * string it returned or its error to fd. Never returns. */
static void child(lua_State *L, int fd, long long cap)
{
    capped c;
    const char *s;
    size_t len = 0;
    char status;
    int rc;

    c.f = lua_getallocf(L, &c.ud);
    c.used = 0;
    c.cap = cap;
    lua_setallocf(L, capped_alloc, &c);
    lua_pushvalue(L, 1);
    rc = lua_pcall(L, 0, 1, 0);
    if (rc == LUA_ERRMEM) {
        status = 'm';
        s = "";
    } else {
        status = rc == LUA_OK ? 'o' : 'e';
        s = lua_tolstring(L, -1, &len);
        if (!s) {
            status = 'e';
            s = rc == LUA_OK ? "returned no string" : "raised a non-string error";
            len = strlen(s);
        }
    }
    if (write_all(fd, &status, 1) != 0 || write_all(fd, s, len) != 0)
        _exit(1);
    _exit(0); /* no atexit handlers, no flushing the parent's buffers twice */
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the parent read from the child (malloc'd: nothing raises while a
 * child runs). */
typedef struct answer {
    char *data;
    size_t len, size;
} answer;

/* In the parent: read the child's answer until EOF or the deadline into a.
 * Returns 0 at EOF, 1 past the deadline, 2 past RESULT_MAX, -1 on a read
 * error or out of memory. */
static int collect(int fd, long long deadline, answer *a)
{
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        long long left = deadline - now_ms();
        char chunk[4096];
        ssize_t n;
        int r;

        if (left <= 0)
            return 1;
        r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue; /* the loop checks the deadline */
        n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (a->len + (size_t)n > RESULT_MAX)
            return 2;
        if (a->len + (size_t)n > a->size) {
            size_t size = a->size ? a->size * 2 : sizeof chunk;
            char *more;
            while (size < a->len + (size_t)n)
                size *= 2;
            more = realloc(a->data, size);
            if (!more)
                return -1;
            a->data = more;
            a->size = size;
        }
        memcpy(a->data + a->len, chunk, (size_t)n);
        a->len += (size_t)n;
    }
}

/* Push the answer at 1 (light userdata) without its status byte. */
static int push_answer(lua_State *L)
{
    const answer *a = lua_touserdata(L, 1);
    lua_pushlstring(L, a->len > 0 ? a->data + 1 : "", a->len > 0 ? a->len - 1 : 0);
    return 1;
}

/* Push nil, message, code (which bound: "timeout", "memory", "size",
 * "abnormal") and return 3. */
static int limit(lua_State *L, const char *code, const char *fmt, ...)
{
    va_list ap;

    lua_pushnil(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_pushstring(L, code);
    return 3;
}

/* pki.run_bounded(fn, seconds, max_bytes): call fn() in a child process
 * whose Lua allocator refuses more than max_bytes beyond what the state
 * already holds, killed after seconds (wall clock). fn returns a string
 * (the child cannot share tables: serialize them). Returns that string;
 * or nil, message, code past a bound ("timeout", "memory", "size" of the
 * answer, "abnormal" exit); or nil, message, "invalid" for
 * fn's own error (the message is its). */
static int bounded_run(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 2);
    lua_Integer cap = luaL_checkinteger(L, 3);
    answer a = {NULL, 0, 0};
    int fds[2], status = 0, got;
    long long deadline;
    pid_t pid;
    char kind;
    int rc;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_argcheck(L, seconds > 0 && seconds <= 3600, 2, "not in (0, 3600]");
    luaL_argcheck(L, cap > 0, 3, "must be positive");
    lua_settop(L, 1);
    if (pipe(fds) != 0)
        return luaL_fileresult(L, 0, "pipe");
    fflush(NULL); /* what stdio holds must not be written twice */
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        errno = e;
        return luaL_fileresult(L, 0, "fork");
    }
    if (pid == 0) {
        close(fds[0]);
        child(L, fds[1], (long long)cap);
    }
    close(fds[1]);
    deadline = now_ms() + (long long)(seconds * 1000);
    got = collect(fds[0], deadline, &a);
    close(fds[0]);
    if (got != 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* Copied in a protected call, so a memory error cannot leak a.data. */
    lua_pushcfunction(L, push_answer);
    lua_pushlightuserdata(L, &a);
    rc = lua_pcall(L, 1, 1, 0);
    kind = a.len > 0 ? a.data[0] : '\0';
    free(a.data);
    if (rc != LUA_OK)
        return lua_error(L);
    if (got == 1)
        return limit(L, "timeout", "ran past %f seconds", seconds);
    if (got == 2)
        return limit(L, "size", "returned more than %d bytes", (int)RESULT_MAX);
    if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || kind == '\0')
        return limit(L, "abnormal", "stopped abnormally (status %d)", status);
    if (kind == 'm')
        return limit(L, "memory", "needed more than %d bytes of memory", (int)cap);
    if (kind == 'o')
        return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    lua_pushliteral(L, "invalid");
    return 3;
}

const luaL_Reg pki_bounded_funcs[] = {
    {"run_bounded", bounded_run},
    {NULL, NULL},
};
