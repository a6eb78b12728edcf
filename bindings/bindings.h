/* Shared by the files of the pki Lua module; nothing here is exported but
 * luaopen_pki (the module is built with hidden visibility). */
#ifndef PKI_BINDINGS_H
#define PKI_BINDINGS_H

#include <lauxlib.h>
#include <lua.h>

#include "cert.h"
#include "csr.h"
#include "error.h"
#include "key.h"
#include "name.h"
#include "ocsp.h"
#include "server.h"
#include "signals.h"
#include "store.h"

/* The metatable names: every userdata type of the module (pki.type knows
 * each of them). */
#define PKI_KEY "pki.key"
#define PKI_KEYGEN "pki.keygen"
#define PKI_CERT "pki.cert"
#define PKI_STORE "pki.store"
#define PKI_SERVER "pki.server"
#define PKI_CSR "pki.csr"
#define PKI_CRL "pki.crl"
#define PKI_OCSP "pki.ocsp_responder"
#define PKI_JOURNAL "pki.journal"
#define PKI_ACME "pki.acme"
#define PKI_SIGNAPI "pki.signapi"
#define PKI_TEMPLATE "pki.template"

/* Argument idx as an open pki.ocsp_responder (else raises). Its userdata
 * holds one reference to the responder; a server answering with it holds
 * its own (core counts them), so closing drops ours at once. */
cs_ocsp_responder *pki_checkocsp(lua_State *L, int idx);

#ifdef CS_TEST_HOOKS
/* Test builds only (tests/CMakeLists.txt): set pki.test_hooks on the
 * module table at the top of the stack. */
void pki_test_hooks(lua_State *L);
#endif

/* Push nil, err->msg, cs_code_name(err->code); return 3 (luaL_fileresult's shape). */
int pki_fail(lua_State *L, const cs_err *err);

/* Check that argument idx is a udata of type tname and still open; return
 * the pointer it holds. A closed object raises "attempt to use a closed tname". */
void *pki_checkopen(lua_State *L, int idx, const char *tname);

cs_key *pki_checkkey(lua_State *L, int idx);
cs_cert *pki_checkcert(lua_State *L, int idx);
/* Push a new, closed pki.key / pki.cert userdata (1 user value) and return
 * where core writes the object. */
cs_key **pki_newkey(lua_State *L);
cs_cert **pki_newcert(lua_State *L);
/* Push cert (ownership taken) as a pki.cert; a NULL cert raises. */
void pki_pushcert(lua_State *L, cs_cert *cert);

/* Lua's type name of the value at idx, but "float" for a number that is
 * not an integer (what messages about a wrong type say). */
const char *pki_type_of(lua_State *L, int idx);
/* Is name one of the NULL-terminated names? */
int pki_name_in(const char *const names[], const char *name);

/* ---- Reading the fields of a table: the one family every binding uses ----
 *
 * What bad data does is said at each call, in its how argument:
 * - PKI_RAISE: an options table ({overwrite = true}, pki.verify{...}), whose
 *   wrong value is a bug in the calling code: luaL_argerror on argument
 *   argn, "bad argument #1 to 'f' (where.name: string expected, got number)".
 * - PKI_FAIL: data (a spec, a key's parameters, a CRL's entries), which
 *   correct code can still meet: err gets CS_EINVAL "where.name: expected
 *   string, got number" and the reader returns -1, for the caller to return
 *   nil, message, "invalid".
 * Or'ed with PKI_NEEDED, an absent field is bad too: PKI_RAISE "name:
 * string expected, got nil", PKI_FAIL "where: missing field 'name'".
 * A closed object is always a bug and raises. */
enum { PKI_RAISE = 0, PKI_FAIL = 1, PKI_NEEDED = 2, PKI_ARRAY = 4 };

/* The table read: its stack index (made absolute by pki_fields_at), the
 * argument named when raising (the table may sit inside it), the prefix of
 * field names in messages ("key" gives "key.bits", "[2]" gives "[2].path";
 * NULL: the bare name), and where PKI_FAIL puts its message. */
typedef struct pki_fields {
    lua_State *L;
    int t;
    int argn;
    const char *where;
    cs_err *err;
} pki_fields;

/* The table at idx (which must be one: else raises naming argn, and where
 * when it sits inside that argument). */
pki_fields pki_fields_at(lua_State *L, int idx, int argn, const char *where, cs_err *err);

/* Every string key of the table is one of names (NULL-terminated), and
 * with PKI_ARRAY in how the integer keys 1..#t are fine too; any other key
 * is a PKI_RAISE "unknown option 'x'" or a PKI_FAIL "where: unknown field
 * 'x'" / "where: unknown field [3]" (-1). 0 when all are known. */
int pki_check_fields(const pki_fields *f, const char *const names[], int how);

/* Each reads field name: 1 present (*out set), 0 absent or nil (*out
 * untouched), -1 (PKI_FAIL only) a wrong type, or absent with PKI_NEEDED.
 * A string stays valid while the table holds it. */
int pki_field_string(const pki_fields *f, const char *name, int how, const char **out,
                     size_t *len);
/* An integer: 30 and 30.0 are, 30.5 ("got float") and "30" are not. */
int pki_field_int(const pki_fields *f, const char *name, int how, lua_Integer *out);
/* true or false; nothing else (a string "false" must not mean yes). */
int pki_field_bool(const pki_fields *f, const char *name, int how, int *out);
/* A userdata of type tname (its metatable name); *out is the object its box
 * holds. A closed one raises. */
int pki_field_udata(const pki_fields *f, const char *name, const char *tname, int how,
                    void **out);
/* A table: when present (1) it is left pushed on the stack for the caller. */
int pki_field_table(const pki_fields *f, const char *name, int how);
/* "where.name" (or "name") into buf, for messages about a field's value. */
const char *pki_field_path(const pki_fields *f, const char *name, char *buf, size_t size);

/* The optional {overwrite = bool} table at idx; absent or nil is 0. */
int pki_opt_overwrite(lua_State *L, int idx);
/* The array at field of table idx (field NULL: the table at idx itself),
 * every value a pki.cert (else raises naming argument argn).
 * Pushes a scratch userdata holding the array (freed by the collector) and
 * returns it; *n is the count. An absent field is 0 certificates. */
const cs_cert **pki_cert_array(lua_State *L, int idx, const char *field, int argn, size_t *n);

/* The spec table at idx into spec. Pushes one value (a scratch table that
 * owns the temporary arrays) that must stay on the stack while spec is in use.
 * CS_OK, or CS_EINVAL with err naming the field. Never raises on bad data. */
cs_code pki_spec_from_table(lua_State *L, int idx, cs_cert_spec *spec, cs_err *err);
/* The name_constraints table at idx ({critical =, permitted = {dns = {...},
 * ...}, excluded = ...}, a profile's or cert:info()'s) into trees, the same
 * way pki_spec_from_table reads it. Pushes one scratch value, as that does.
 * CS_OK, or CS_EINVAL naming the field. */
cs_code pki_name_constraints_from_table(lua_State *L, int idx, cs_name_constraints *trees,
                                        cs_err *err);
/* The names table at idx ({dns = {...}, ip = {...}, email = {...}, uri =
 * {...}}, as spec.subject_alt_name without critical) into *names / *n,
 * read the way pki_spec_from_table reads them; path names it in messages.
 * Pushes one scratch value, as that does: the names live while it does. */
cs_code pki_names_from_table(lua_State *L, int idx, const char *path, const cs_name **names,
                             size_t *n, cs_err *err);
/* Argument idx as an open pki.template (else raises). */
cs_template *pki_checktemplate(lua_State *L, int idx);
/* The request of a certificate from a template: names at idx_names (nil:
 * the template's) and CN at idx_cn (nil: the template's subject). Pushes
 * one scratch value, as pki_names_from_table; CS_EINVAL naming the field. */
cs_code pki_template_request(lua_State *L, int idx_names, int idx_cn, cs_template_request *req,
                             cs_err *err);
/* The key parameters table {type =, curve =, bits =} at idx (argument argn)
 * into p (its strings stay in the table). It is data: a wrong field is -1
 * with err naming it ("where.bits: ..."), not an error raised. In key.c. */
int pki_key_params(lua_State *L, int idx, int argn, const char *where, cs_key_params *p,
                   cs_err *err);
/* Push cert:info()'s table. */
void pki_push_info(lua_State *L, const cs_cert_info *info);

/* ---- Deciders (bindings/decider.c): pki.acme and pki.signapi ----
 * A core object whose requests wait for Lua's decisions, with the methods
 * next(timeout_ms), answer(id, table) and close(). What every answer table
 * has: ok (required), detail, chain, serial (the strings live while the
 * table does). */
typedef struct pki_answer {
    int ok;
    const char *detail, *chain_pem, *serial_hex;
} pki_answer;
/* What differs between deciders is in their type: */
typedef struct pki_decider_type {
    const char *tname;        /* the metatable: PKI_ACME */
    void (*close)(void *obj); /* no more asks: waiting requests get 503 */
    void (*free)(void *obj);  /* the last reference went */
    /* next: the next ask (waiting at most timeout_ms) pushed as a table, 1;
     * 0 and nothing pushed on timeout; -1 with err (closed and drained). */
    int (*next)(lua_State *L, void *obj, int timeout_ms, cs_err *err);
    const char *const *answer_fields; /* the names an answer table may have */
    /* answer: deliver to ask id the answer a (the fields every answer has)
     * and what else the answer table f holds (its names checked against
     * answer_fields already). */
    cs_code (*answer)(void *obj, uint64_t id, const pki_answer *a, const pki_fields *f,
                      cs_err *err);
} pki_decider_type;

/* Make one: pki_decider_push pushes a closed userdata of t (before the
 * core object exists, so no Lua error can leak it); pki_decider_open puts
 * obj (taken over: freed if that fails, which raises) in it. */
typedef struct pki_decider_box pki_decider_box;
pki_decider_box *pki_decider_push(lua_State *L, const pki_decider_type *t);
void pki_decider_open(lua_State *L, pki_decider_box *box, const pki_decider_type *t, void *obj);
/* Create t's metatable, its methods and metamethods. */
void pki_decider_register(lua_State *L, const pki_decider_type *t);
/* The object is shared by its userdata and the servers mounting it:
 * pki_decider_ref takes a reference on the one at idx (raises if it is not
 * a tname, or closed), pki_decider_unref gives one back (the last frees
 * it; NULL is fine), pki_decider_of is the core object. */
typedef struct pki_decider pki_decider;
pki_decider *pki_decider_ref(lua_State *L, int idx, const char *tname);
void pki_decider_unref(pki_decider *ref);
void *pki_decider_of(const pki_decider *ref);

/* Push csr as a pki.csr, taking it over (csr.c). */
void pki_push_csr(lua_State *L, cs_csr *csr);

/* Each file registers its metatable; the funcs go into the module table. */
void pki_key_register(lua_State *L);
void pki_cert_register(lua_State *L);
void pki_store_register(lua_State *L);
void pki_server_register(lua_State *L);
void pki_csr_register(lua_State *L);
void pki_crl_register(lua_State *L);
void pki_acme_register(lua_State *L);
void pki_ocsp_register(lua_State *L);
void pki_files_register(lua_State *L);
void pki_signapi_register(lua_State *L);
void pki_template_register(lua_State *L);
/* cert:permits, defined in name.c with the other name calls. */
int pki_cert_permits(lua_State *L);
extern const luaL_Reg pki_key_funcs[];
extern const luaL_Reg pki_cert_funcs[];
extern const luaL_Reg pki_store_funcs[];
extern const luaL_Reg pki_pkcs12_funcs[];
extern const luaL_Reg pki_server_funcs[];
extern const luaL_Reg pki_files_funcs[];
extern const luaL_Reg pki_bounded_funcs[];
extern const luaL_Reg pki_name_funcs[];
extern const luaL_Reg pki_csr_funcs[];
extern const luaL_Reg pki_crl_funcs[];
extern const luaL_Reg pki_ocsp_funcs[];
extern const luaL_Reg pki_acme_funcs[];
extern const luaL_Reg pki_signapi_funcs[];
extern const luaL_Reg pki_template_funcs[];

/* A CRLReason at stack index idx, a name ("keyCompromise") or an integer
 * code; -1 with err naming path (and listing the names) if not allowed. */
int pki_crl_reason(lua_State *L, int idx, const char *path, cs_err *err);
/* Push a revoked entry as {serial, revoked_at, reason, reason_code, not_after}. */
void pki_push_revoked(lua_State *L, const cs_revoked *e);

/* The result of a core call that fills a malloc'd buffer: on CS_OK push it
 * as a string and free it, return 1; else pki_fail (buf is NULL then). */
int pki_push_buffer(lua_State *L, cs_code rc, void *buf, size_t len, const cs_err *err);
/* Push {s[1], ..., s[n]}. */
void pki_push_strings(lua_State *L, char *const *s, size_t n);
/* Push a subject as {{field, value}, ...}, in certificate order. */
void pki_push_rdns(lua_State *L, const cs_rdn *rdns, size_t n);
/* Push the names of the CS_KU_* bits set in bits, as a list. */
void pki_push_key_usage(lua_State *L, unsigned bits);

/* Create metatable tname with metamethods meta and methods as __index. */
void pki_new_metatable(lua_State *L, const char *tname, const luaL_Reg *meta,
                       const luaL_Reg *methods);

#endif
