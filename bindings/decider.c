/* What pki.acme and pki.signapi share (bindings.h, "deciders"): a core
 * object whose requests wait for decisions made in Lua, the methods that
 * take and answer them, and its lifetime.
 *
 *   local ask = obj:next(timeout_ms)  -- nil on timeout; nil, "... closed",
 *                                     -- "notfound" once closed and drained;
 *                                     -- else the ask as a table (the type's)
 *   obj:answer(id, {ok = ..., ...})   -- true, or nil, message, code
 *                                     -- ("notfound": nobody waits for id)
 *   obj:close()                       -- waiting requests get 503; next drains
 *
 * The object is shared by its userdata and every server mounting it: the
 * last one to let go frees it (a server's handler must never outlive it,
 * whatever order the collector finalizes them in). Touched only from the
 * Lua thread; never called from a worker thread: the queue is the only way
 * in. The methods find their type in their first upvalue. */
#include "bindings.h"

#include <stdlib.h>

struct pki_decider {
    const pki_decider_type *type;
    void *obj;
    int refs;
};

struct pki_decider_box {
    pki_decider *ref; /* NULL: closed */
};
typedef pki_decider_box decider_box;

static const pki_decider_type *type_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

pki_decider_box *pki_decider_push(lua_State *L, const pki_decider_type *t)
{
    decider_box *box = lua_newuserdatauv(L, sizeof *box, 0);

    box->ref = NULL;
    luaL_setmetatable(L, t->tname);
    return box;
}

void pki_decider_open(lua_State *L, pki_decider_box *box, const pki_decider_type *t, void *obj)
{
    pki_decider *ref = malloc(sizeof *ref);

    if (!ref) {
        t->free(obj);
        luaL_error(L, "out of memory");
        return;
    }
    ref->type = t;
    ref->obj = obj;
    ref->refs = 1;
    box->ref = ref;
}

void pki_decider_unref(pki_decider *ref)
{
    if (ref && --ref->refs == 0) {
        ref->type->free(ref->obj);
        free(ref);
    }
}

pki_decider *pki_decider_ref(lua_State *L, int idx, const char *tname)
{
    decider_box *box = luaL_checkudata(L, idx, tname);

    if (!box->ref)
        luaL_error(L, "attempt to use a closed %s", tname);
    box->ref->refs++;
    return box->ref;
}

void *pki_decider_of(const pki_decider *ref)
{
    return ref->obj;
}

static void *check_open(lua_State *L, const pki_decider_type *t)
{
    decider_box *box = luaL_checkudata(L, 1, t->tname);

    if (!box->ref)
        luaL_error(L, "attempt to use a closed %s", t->tname);
    return box->ref->obj;
}

/* Collected (or closed with <close>): nobody can take asks any more, so
 * the queue closes (requests get 503 at once rather than wait for nothing);
 * a server still mounting it keeps the object itself alive. */
static int decider_gc(lua_State *L)
{
    const pki_decider_type *t = type_of(L);
    decider_box *box = luaL_checkudata(L, 1, t->tname);

    if (box->ref) {
        t->close(box->ref->obj);
        pki_decider_unref(box->ref);
        box->ref = NULL;
    }
    return 0;
}

/* obj:close(): no more asks; requests waiting get 503; next() drains. */
static int decider_close(lua_State *L)
{
    const pki_decider_type *t = type_of(L);

    t->close(check_open(L, t));
    return 0;
}

static int decider_tostring(lua_State *L)
{
    const pki_decider_type *t = type_of(L);
    decider_box *box = luaL_checkudata(L, 1, t->tname);

    if (box->ref)
        lua_pushstring(L, t->tname);
    else
        lua_pushfstring(L, "%s (closed)", t->tname);
    return 1;
}

/* obj:next([timeout_ms]): the next ask as a table, nil alone on timeout
 * (the queue is open), or nil, message, "notfound" once closed and
 * drained: a serve loop tells the two apart by the message. */
static int decider_next(lua_State *L)
{
    const pki_decider_type *t = type_of(L);
    void *obj = check_open(L, t);
    lua_Integer ms = luaL_optinteger(L, 2, 0);
    cs_err err = {CS_OK, ""};
    int got;

    luaL_argcheck(L, ms >= 0 && ms <= 0x7fffffff, 2, "timeout out of range");
    got = t->next(L, obj, (int)ms, &err);
    if (got < 0)
        return pki_fail(L, &err);
    if (got == 0)
        lua_pushnil(L);
    return 1;
}

/* obj:answer(id, {ok, ...}): true, or nil, message, code ("notfound":
 * nobody waits for id; "invalid": an answer that does not fit the ask). */
static int decider_answer(lua_State *L)
{
    const pki_decider_type *t = type_of(L);
    void *obj = check_open(L, t);
    lua_Integer id = luaL_checkinteger(L, 2);
    cs_err err = {CS_OK, ""};
    pki_answer a = {0, NULL, NULL, NULL};
    pki_fields f;

    lua_settop(L, 3);
    f = pki_fields_at(L, 3, 3, NULL, NULL);
    pki_check_fields(&f, t->answer_fields, PKI_RAISE);
    pki_field_bool(&f, "ok", PKI_RAISE | PKI_NEEDED, &a.ok);
    pki_field_string(&f, "detail", PKI_RAISE, &a.detail, NULL);
    pki_field_string(&f, "chain", PKI_RAISE, &a.chain_pem, NULL);
    pki_field_string(&f, "serial", PKI_RAISE, &a.serial_hex, NULL);
    if (t->answer(obj, (uint64_t)id, &a, &f, &err) != CS_OK)
        return pki_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

void pki_decider_register(lua_State *L, const pki_decider_type *t)
{
    static const luaL_Reg meta[] = {
        {"__gc", decider_gc},
        {"__close", decider_gc},
        {"__tostring", decider_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"next", decider_next},
        {"answer", decider_answer},
        {"close", decider_close},
        {NULL, NULL},
    };

    luaL_newmetatable(L, t->tname);
    lua_pushlightuserdata(L, (void *)t);
    luaL_setfuncs(L, meta, 1);
    lua_newtable(L);
    lua_pushlightuserdata(L, (void *)t);
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
