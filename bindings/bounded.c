/* pki.run_bounded, pki.run_bounded_each: run Lua functions in a child
 * process with a memory cap and a wall-clock deadline per function, for code
 * that is not ours (profiles). A count
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

/* One answer: a status byte ('o' ok, 'e' error, 'm' out of memory; in the
 * parent also 't' past the deadline, 's' past RESULT_MAX, 'a' abnormal, 'f'
 * no child), and the string returned or the error (malloc'd: nothing raises
 * while a child runs). status is the child's wait status for 'a', errno for
 * 'f'. */
typedef struct answer {
    char kind;
    char *data;
    size_t len;
    int status;
} answer;

/* In the child: call fns[i] for i = first .. n (the table at 1), each with
 * the allocator capped at cap bytes counted from its own start, and write
 * each answer to fd as a record: status byte, length (size_t), bytes. No
 * full collection between calls: it would write to every page of the
 * parent's heap (copy-on-write faults), and garbage of earlier calls freed
 * during a later one only ever lowers the count. Never returns. */
static void child(lua_State *L, int fd, lua_Integer first, lua_Integer n, long long cap)
{
    capped c;

    c.f = lua_getallocf(L, &c.ud);
    c.cap = cap;
    lua_setallocf(L, capped_alloc, &c);
    for (lua_Integer i = first; i <= n; i++) {
        const char *s;
        size_t len = 0;
        char status;
        int rc;

        lua_settop(L, 1);
        c.used = 0;
        lua_rawgeti(L, 1, i);
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
        if (write_all(fd, &status, 1) != 0 || write_all(fd, (const char *)&len, sizeof len) != 0 ||
            write_all(fd, s, len) != 0)
            _exit(1);
    }
    _exit(0); /* no atexit handlers, no flushing the parent's buffers twice */
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the parent: read len bytes into buf before the deadline. 0 done, 1
 * past the deadline, -1 on a read error or at EOF before len bytes. */
static int read_full(int fd, char *buf, size_t len, long long deadline)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = {fd, POLLIN, 0};
        long long left = deadline - now_ms();
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
        n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* In the parent: read one record into a, by the deadline. 0 read, 1 past
 * the deadline, 2 past RESULT_MAX, -1 on a read error, EOF or out of
 * memory. */
static int read_record(int fd, long long deadline, answer *a)
{
    size_t len;
    int r;

    r = read_full(fd, &a->kind, 1, deadline);
    if (r == 0)
        r = read_full(fd, (char *)&len, sizeof len, deadline);
    if (r != 0)
        return r;
    if (len > RESULT_MAX)
        return 2;
    a->data = malloc(len ? len : 1);
    if (!a->data)
        return -1;
    a->len = len;
    return read_full(fd, a->data, len, deadline);
}

/* Run fns[first .. n] (the table at 1) in one child, each answer into
 * answers[i - 1], each call with its own deadline (seconds from when the one
 * before it answered). Returns the index after the last call answered: a
 * call past a bound is answered by its bound and the child killed, so the
 * caller starts another child for the rest. -1 if no child could be made
 * (errno set). */
static lua_Integer run_child(lua_State *L, lua_Integer first, lua_Integer n, double seconds,
                             long long cap, answer *answers)
{
    lua_Integer i = first;
    int fds[2], status = 0, got = 0;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    fflush(NULL); /* what stdio holds must not be written twice */
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child(L, fds[1], first, n, cap);
    }
    close(fds[1]);
    for (; i <= n; i++) {
        answer *a = &answers[i - 1];
        got = read_record(fds[0], now_ms() + (long long)(seconds * 1000), a);
        if (got != 0) {
            free(a->data);
            a->data = NULL;
            a->len = 0;
            a->kind = got == 1 ? 't' : got == 2 ? 's' : 'a';
            break;
        }
    }
    close(fds[0]);
    if (got != 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != 0) {
        /* A child that stopped by itself (not by our kill) says how. */
        answers[i - 1].status = status;
        return i + 1;
    }
    return i;
}

/* Push answers[0 .. n-1] (light userdata at 1, count at 2) as a table of
 * {value = string} or {error = message, code = bound}. In a protected call,
 * so a memory error cannot leak the answers. */
static int push_answers(lua_State *L)
{
    const answer *answers = lua_touserdata(L, 1);
    lua_Integer n = lua_tointeger(L, 2);
    double seconds = lua_tonumber(L, 3);
    lua_Integer cap = lua_tointeger(L, 4);

    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        const answer *a = &answers[i];
        const char *code = "abnormal";
        lua_createtable(L, 0, 2);
        /* The message (or the value) on the stack, its code in code. */
        switch (a->kind) {
        case 'o':
            lua_pushlstring(L, a->data, a->len);
            lua_setfield(L, -2, "value");
            lua_rawseti(L, -2, i + 1);
            continue;
        case 'e':
            lua_pushlstring(L, a->data, a->len);
            code = "invalid";
            break;
        case 'm':
            lua_pushfstring(L, "needed more than %d bytes of memory", (int)cap);
            code = "memory";
            break;
        case 't':
            lua_pushfstring(L, "ran past %f seconds", seconds);
            code = "timeout";
            break;
        case 's':
            lua_pushfstring(L, "returned more than %d bytes", (int)RESULT_MAX);
            code = "size";
            break;
        case 'f':
            lua_pushfstring(L, "cannot start a child process: %s", strerror(a->status));
            break;
        default:
            lua_pushfstring(L, "stopped abnormally (status %d)", a->status);
            break;
        }
        lua_setfield(L, -2, "error");
        lua_pushstring(L, code);
        lua_setfield(L, -2, "code");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* The table of answers for the functions in the table at 1, or raises. */
static void run_each(lua_State *L, double seconds, lua_Integer cap)
{
    lua_Integer n = luaL_len(L, 1), next = 1;
    answer *answers;
    int rc;

    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        if (lua_type(L, -1) != LUA_TFUNCTION)
            luaL_argerror(L, 1, lua_pushfstring(L, "entry %d is a %s, not a function", (int)i,
                                                luaL_typename(L, -1)));
        lua_pop(L, 1);
    }
    answers = calloc(n > 0 ? (size_t)n : 1, sizeof *answers);
    if (!answers)
        luaL_error(L, "not enough memory");
    lua_settop(L, 1);
    while (next <= n) {
        lua_Integer after = run_child(L, next, n, seconds, (long long)cap, answers);
        if (after < 0) { /* no pipe or no fork: each call left says so */
            for (; next <= n; next++) {
                answers[next - 1].kind = 'f';
                answers[next - 1].status = errno;
            }
        }
        next = after < 0 ? n + 1 : after;
    }
    lua_pushcfunction(L, push_answers);
    lua_pushlightuserdata(L, answers);
    lua_pushinteger(L, n);
    lua_pushnumber(L, seconds);
    lua_pushinteger(L, cap);
    rc = lua_pcall(L, 4, 1, 0);
    for (lua_Integer i = 0; i < n; i++)
        free(answers[i].data);
    free(answers);
    if (rc != LUA_OK)
        lua_error(L);
}

/* Check the bounds at 2 (seconds) and 3 (bytes). */
static void check_bounds(lua_State *L, lua_Number *seconds, lua_Integer *cap)
{
    *seconds = luaL_checknumber(L, 2);
    *cap = luaL_checkinteger(L, 3);
    luaL_argcheck(L, *seconds > 0 && *seconds <= 3600, 2, "not in (0, 3600]");
    luaL_argcheck(L, *cap > 0, 3, "must be positive");
}

/* pki.run_bounded_each(fns, seconds, max_bytes): call each function of the
 * list fns, in order, in one child process (a child per call would cost a
 * fork each), each call bounded on its own: its Lua allocations past
 * max_bytes are refused (counted from its start, after a full collection)
 * and it is killed after seconds (wall clock from when the call before it
 * answered; the calls after a killed one run in a new child). Each function
 * returns a string (the child cannot share tables: serialize them).
 * Returns a list with one table per function: {value = string}, or
 * {error = message, code = code} past a bound ("timeout", "memory", "size"
 * of the answer, "abnormal" exit) or, code "invalid", for the function's own
 * error (the message is its). */
static int bounded_run_each(lua_State *L)
{
    lua_Number seconds;
    lua_Integer cap;

    luaL_checktype(L, 1, LUA_TTABLE);
    check_bounds(L, &seconds, &cap);
    run_each(L, seconds, cap);
    return 1;
}

/* pki.run_bounded(fn, seconds, max_bytes): run_bounded_each for one
 * function. Returns the string it returned; or nil, message, code past a
 * bound ("timeout", "memory", "size", "abnormal"); or nil, message,
 * "invalid" for fn's own error (the message is its). */
static int bounded_run(lua_State *L)
{
    lua_Number seconds;
    lua_Integer cap;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    check_bounds(L, &seconds, &cap);
    lua_settop(L, 1);
    lua_createtable(L, 1, 0);
    lua_insert(L, 1);
    lua_rawseti(L, 1, 1);
    run_each(L, seconds, cap);
    lua_rawgeti(L, -1, 1);
    if (lua_getfield(L, -1, "value") == LUA_TSTRING)
        return 1;
    lua_pushnil(L);
    lua_getfield(L, -3, "error");
    lua_getfield(L, -4, "code");
    return 3;
}

const luaL_Reg pki_bounded_funcs[] = {
    {"run_bounded", bounded_run},
    {"run_bounded_each", bounded_run_each},
    {NULL, NULL},
};
