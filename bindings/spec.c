/* The one place where a spec table becomes a cs_cert_spec, and where a
 * cs_cert_info becomes cert:info()'s table (the same shape, plus read-only
 * fields, so an info can be fed back as a spec). */
#include "bindings.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PATH_MAX_LEN 128

/* State of one conversion: every temporary array is a userdata stored in
 * the scratch table, so the collector frees it whatever path we leave by. */
typedef struct conv {
    lua_State *L;
    int scratch;
    lua_Integer nscratch;
    cs_err *err;
} conv;

static const char *const spec_fields[] = {
    "subject", "not_before", "not_after", "validity_days", "basic_constraints",
    "key_usage", "extended_key_usage", "subject_alt_name", "name_constraints",
    "subject_key_id", "authority_key_id", "crl_distribution_points",
    "authority_info_access", "ocsp_no_check",
    /* read-only fields of cert:info(), accepted and ignored so an info can be
     * fed back as a spec; not "serial", which is always random and would
     * mislead if silently ignored */
    "version", "subject_line", "issuer_line", "signature_algorithm", "key",
    "fingerprint", "self_signed", "extensions", NULL};
static const char *const no_fields[] = {NULL};
static const char *const bc_fields[] = {"critical", "ca", "path_len", NULL};
static const char *const crit_fields[] = {"critical", NULL};
static const char *const san_fields[] = {"critical", "dns", "ip", "email", "uri", NULL};
static const char *const subtree_fields[] = {"dns", "ip", "email", "uri", NULL};
static const char *const nc_fields[] = {"critical", "permitted", "excluded", NULL};
static const char *const aia_fields[] = {"ocsp", "ca_issuers", NULL};

static const struct {
    const char *field;
    cs_name_type type;
} name_kinds[] = {
    {"dns", CS_NAME_DNS}, {"ip", CS_NAME_IP}, {"email", CS_NAME_EMAIL}, {"uri", CS_NAME_URI},
};
#define N_NAME_KINDS (sizeof name_kinds / sizeof name_kinds[0])

static void *scratch_alloc(conv *c, size_t size)
{
    void *p = lua_newuserdatauv(c->L, size > 0 ? size : 1, 0);
    lua_rawseti(c->L, c->scratch, ++c->nscratch);
    return p;
}

static cs_code expected(conv *c, const char *path, const char *what, int idx)
{
    return cs_err_set(c->err, CS_EINVAL, "%s: expected %s, got %s", path, what,
                      pki_type_of(c->L, idx));
}

/* The shared field readers (bindings.h), always PKI_FAIL here: a spec is
 * data, so nothing in it raises. These adapt their answers to cs_code. */
static pki_fields reader(conv *c, int t, const char *path)
{
    pki_fields f = {c->L, lua_absindex(c->L, t), 1, path, c->err};
    return f;
}

/* Every key of the table at idx is in names, or (if array) an integer 1..#t. */
static cs_code check_fields(conv *c, int idx, const char *path, const char *const names[],
                            int array)
{
    pki_fields f = reader(c, idx, path);
    return pki_check_fields(&f, names, PKI_FAIL | (array ? PKI_ARRAY : 0)) < 0 ? CS_EINVAL
                                                                              : CS_OK;
}

/* An optional boolean field; absent leaves *out alone. */
static cs_code opt_bool(conv *c, int t, const char *path, const char *key, int *out)
{
    pki_fields f = reader(c, t, path);
    return pki_field_bool(&f, key, PKI_FAIL, out) < 0 ? CS_EINVAL : CS_OK;
}

static cs_code opt_int(conv *c, int t, const char *path, const char *key, lua_Integer *out,
                       int *present)
{
    pki_fields f = reader(c, t, path);
    *present = pki_field_int(&f, key, PKI_FAIL, out);
    return *present < 0 ? CS_EINVAL : CS_OK;
}

/* A table field; absent is *present = 0. Leaves the table pushed when present. */
static cs_code opt_table(conv *c, int t, const char *path, const char *key, int *present)
{
    pki_fields f = reader(c, t, path);
    *present = pki_field_table(&f, key, PKI_FAIL);
    return *present < 0 ? CS_EINVAL : CS_OK;
}

/* The array part of the table at idx, every element a string (pointers stay
 * valid while the spec table is alive and unchanged). */
static cs_code string_array(conv *c, int idx, const char *path, const char ***out, size_t *n)
{
    lua_State *L = c->L;
    size_t len = lua_rawlen(L, idx);
    const char **arr = scratch_alloc(c, len * sizeof *arr);

    for (size_t i = 1; i <= len; i++) {
        if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TSTRING) {
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            expected(c, p, "string", -1);
            lua_pop(L, 1);
            return CS_EINVAL;
        }
        arr[i - 1] = lua_tostring(L, -1);
        if (strlen(arr[i - 1]) != lua_rawlen(L, -1)) { /* C would cut it at the NUL */
            cs_err_set(c->err, CS_EINVAL, "%s[%zu]: holds a NUL byte", path, i);
            lua_pop(L, 1);
            return CS_EINVAL;
        }
        lua_pop(L, 1);
    }
    *out = arr;
    *n = len;
    return CS_OK;
}

/* {dns = {...}, ip = {...}, email = {...}, uri = {...}} at idx into names. */
static cs_code names_of(conv *c, int idx, const char *path, const char *const fields[],
                        const cs_name **out, size_t *n)
{
    lua_State *L = c->L;
    const char **lists[N_NAME_KINDS];
    size_t lens[N_NAME_KINDS], total = 0, k = 0;
    cs_name *names;
    cs_code rc = check_fields(c, idx, path, fields, 0);

    for (size_t i = 0; rc == CS_OK && i < N_NAME_KINDS; i++) {
        int present;
        lists[i] = NULL;
        lens[i] = 0;
        rc = opt_table(c, idx, path, name_kinds[i].field, &present);
        if (rc == CS_OK && present) {
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "%s.%s", path, name_kinds[i].field);
            rc = check_fields(c, lua_gettop(L), p, no_fields, 1);
            if (rc == CS_OK)
                rc = string_array(c, lua_gettop(L), p, &lists[i], &lens[i]);
            lua_pop(L, 1);
            total += lens[i];
        }
    }
    if (rc != CS_OK)
        return rc;
    names = scratch_alloc(c, total * sizeof *names);
    for (size_t i = 0; i < N_NAME_KINDS; i++) {
        for (size_t j = 0; j < lens[i]; j++) {
            names[k].type = name_kinds[i].type;
            names[k].value = lists[i][j];
            k++;
        }
    }
    *out = names;
    *n = total;
    return CS_OK;
}

static cs_code read_subject(conv *c, int idx, cs_cert_spec *spec)
{
    lua_State *L = c->L;
    size_t len;
    cs_rdn *rdns;
    cs_code rc = check_fields(c, idx, "spec.subject", no_fields, 1);

    if (rc != CS_OK)
        return rc;
    len = lua_rawlen(L, idx);
    rdns = scratch_alloc(c, len * sizeof *rdns);
    for (size_t i = 1; i <= len; i++) {
        char p[PATH_MAX_LEN];
        int pair = lua_gettop(L) + 1;
        snprintf(p, sizeof p, "spec.subject[%zu]", i);
        if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE) {
            cs_err_set(c->err, CS_EINVAL, "%s: expected {field, value}, got %s", p,
                       pki_type_of(L, -1));
            lua_pop(L, 1);
            return CS_EINVAL;
        }
        rc = check_fields(c, pair, p, no_fields, 1);
        if (rc == CS_OK && (lua_rawlen(L, pair) != 2 || lua_rawgeti(L, pair, 1) != LUA_TSTRING
                            || lua_rawgeti(L, pair, 2) != LUA_TSTRING)) {
            lua_settop(L, pair);
            rc = cs_err_set(c->err, CS_EINVAL, "%s: expected {field, value} (two strings)", p);
        }
        if (rc != CS_OK) {
            lua_settop(L, pair - 1);
            return rc;
        }
        rdns[i - 1].field = lua_tostring(L, -2);
        rdns[i - 1].value = lua_tostring(L, -1);
        if (strlen(rdns[i - 1].field) != lua_rawlen(L, -2) ||
            strlen(rdns[i - 1].value) != lua_rawlen(L, -1)) { /* C would cut it at the NUL */
            lua_settop(L, pair - 1);
            return cs_err_set(c->err, CS_EINVAL, "%s: holds a NUL byte", p);
        }
        lua_settop(L, pair - 1);
    }
    spec->subject = rdns;
    spec->subject_len = len;
    return CS_OK;
}

static cs_code read_validity(conv *c, int t, cs_cert_spec *spec)
{
    lua_Integer nb = 0, na = 0, days = 0;
    int has_nb, has_na, has_days;
    cs_code rc = opt_int(c, t, "spec", "not_before", &nb, &has_nb);

    if (rc == CS_OK)
        rc = opt_int(c, t, "spec", "not_after", &na, &has_na);
    if (rc == CS_OK)
        rc = opt_int(c, t, "spec", "validity_days", &days, &has_days);
    if (rc != CS_OK)
        return rc;
    if (has_days && has_na)
        return cs_err_set(c->err, CS_EINVAL,
                          "spec: validity_days and not_after are mutually exclusive");
    if (!has_days && !has_na)
        return cs_err_set(c->err, CS_EINVAL, "spec: missing field 'validity_days' "
                          "(or 'not_after')");
    if (has_days && (days < 1 || days > 36525))
        return cs_err_set(c->err, CS_EINVAL, "spec.validity_days: %lld is out of range "
                          "(1 to 36525)", (long long)days);
    if (!has_nb)
        nb = (lua_Integer)time(NULL);
    if (has_days)
        na = nb + days * 86400;
    spec->not_before = (int64_t)nb;
    spec->not_after = (int64_t)na;
    return CS_OK;
}

static cs_code read_basic_constraints(conv *c, int t, cs_cert_spec *spec)
{
    const char *path = "spec.basic_constraints";
    lua_Integer path_len = -1;
    int present, has_pl;
    cs_code rc = opt_table(c, t, "spec", "basic_constraints", &present);
    int bc = lua_gettop(c->L);

    if (rc != CS_OK || !present)
        return rc;
    spec->basic_constraints.present = 1;
    spec->basic_constraints.path_len = -1;
    rc = check_fields(c, bc, path, bc_fields, 0);
    if (rc == CS_OK)
        rc = opt_bool(c, bc, path, "critical", &spec->basic_constraints.critical);
    if (rc == CS_OK)
        rc = opt_bool(c, bc, path, "ca", &spec->basic_constraints.ca);
    if (rc == CS_OK)
        rc = opt_int(c, bc, path, "path_len", &path_len, &has_pl);
    if (rc == CS_OK && has_pl && (path_len < 0 || path_len > 100))
        rc = cs_err_set(c->err, CS_EINVAL, "%s.path_len: %lld is out of range (0 to 100)",
                        path, (long long)path_len);
    if (rc == CS_OK && has_pl)
        spec->basic_constraints.path_len = (int)path_len;
    lua_pop(c->L, 1);
    return rc;
}

static cs_code read_key_usage(conv *c, int t, cs_cert_spec *spec)
{
    const char *path = "spec.key_usage";
    const char **names = NULL;
    size_t n = 0;
    int present;
    cs_code rc = opt_table(c, t, "spec", "key_usage", &present);
    int ku = lua_gettop(c->L);

    if (rc != CS_OK || !present)
        return rc;
    spec->key_usage.present = 1;
    rc = check_fields(c, ku, path, crit_fields, 1);
    if (rc == CS_OK)
        rc = opt_bool(c, ku, path, "critical", &spec->key_usage.critical);
    if (rc == CS_OK)
        rc = string_array(c, ku, path, &names, &n);
    for (size_t i = 0; rc == CS_OK && i < n; i++) {
        size_t bit = 0;
        while (bit < 7 && strcmp(cs_key_usage_names[bit], names[i]) != 0)
            bit++;
        if (bit == 7)
            rc = cs_err_set(c->err, CS_EINVAL, "%s[%zu]: unknown key usage '%s'", path, i + 1,
                            names[i]);
        else
            spec->key_usage.bits |= 1u << bit;
    }
    lua_pop(c->L, 1);
    return rc;
}

static cs_code read_eku(conv *c, int t, cs_cert_spec *spec)
{
    const char *path = "spec.extended_key_usage";
    const char **names = NULL;
    int present;
    cs_code rc = opt_table(c, t, "spec", "extended_key_usage", &present);
    int eku = lua_gettop(c->L);

    if (rc != CS_OK || !present)
        return rc;
    spec->ext_key_usage.present = 1;
    rc = check_fields(c, eku, path, crit_fields, 1);
    if (rc == CS_OK)
        rc = opt_bool(c, eku, path, "critical", &spec->ext_key_usage.critical);
    if (rc == CS_OK)
        rc = string_array(c, eku, path, &names, &spec->ext_key_usage.len);
    spec->ext_key_usage.purposes = names;
    lua_pop(c->L, 1);
    return rc;
}

static cs_code read_san(conv *c, int t, cs_cert_spec *spec)
{
    const char *path = "spec.subject_alt_name";
    int present;
    cs_code rc = opt_table(c, t, "spec", "subject_alt_name", &present);
    int san = lua_gettop(c->L);

    if (rc != CS_OK || !present)
        return rc;
    spec->subject_alt_name.present = 1;
    rc = names_of(c, san, path, san_fields, &spec->subject_alt_name.names,
                  &spec->subject_alt_name.len);
    if (rc == CS_OK)
        rc = opt_bool(c, san, path, "critical", &spec->subject_alt_name.critical);
    lua_pop(c->L, 1);
    return rc;
}

/* The name_constraints table at nc (named path) into *critical and trees. */
static cs_code nc_of(conv *c, int nc, const char *path, int *critical, cs_name_constraints *trees)
{
    static const char *const sides[] = {"permitted", "excluded"};
    const cs_name **names[] = {&trees->permitted, &trees->excluded};
    size_t *lens[] = {&trees->permitted_len, &trees->excluded_len};
    cs_code rc = check_fields(c, nc, path, nc_fields, 0);

    if (rc == CS_OK)
        rc = opt_bool(c, nc, path, "critical", critical);
    for (size_t i = 0; rc == CS_OK && i < 2; i++) {
        char p[PATH_MAX_LEN];
        int sub;
        rc = opt_table(c, nc, path, sides[i], &sub);
        if (rc == CS_OK && sub) {
            snprintf(p, sizeof p, "%s.%s", path, sides[i]);
            rc = names_of(c, lua_gettop(c->L), p, subtree_fields, names[i], lens[i]);
            lua_pop(c->L, 1);
        }
    }
    return rc;
}

static cs_code read_nc(conv *c, int t, cs_cert_spec *spec)
{
    cs_name_constraints trees = {NULL, 0, NULL, 0};
    int present;
    cs_code rc = opt_table(c, t, "spec", "name_constraints", &present);
    int nc = lua_gettop(c->L);

    if (rc != CS_OK || !present)
        return rc;
    spec->name_constraints.present = 1;
    rc = nc_of(c, nc, "spec.name_constraints", &spec->name_constraints.critical, &trees);
    spec->name_constraints.permitted = trees.permitted;
    spec->name_constraints.permitted_len = trees.permitted_len;
    spec->name_constraints.excluded = trees.excluded;
    spec->name_constraints.excluded_len = trees.excluded_len;
    lua_settop(c->L, nc - 1);
    return rc;
}

/* Optional field of the table at t (named parent in messages): a list of
 * URI strings and nothing else, into *uris / *len. */
static cs_code opt_uri_list(conv *c, int t, const char *parent, const char *field,
                            const char ***uris, size_t *len)
{
    char path[PATH_MAX_LEN];
    int present;
    cs_code rc = opt_table(c, t, parent, field, &present);

    if (rc != CS_OK || !present)
        return rc;
    snprintf(path, sizeof path, "%s.%s", parent, field);
    rc = check_fields(c, lua_gettop(c->L), path, no_fields, 1);
    if (rc == CS_OK)
        rc = string_array(c, lua_gettop(c->L), path, uris, len);
    lua_pop(c->L, 1);
    return rc;
}

/* crl_distribution_points = {"http://...", ...} */
static cs_code read_crl_dp(conv *c, int t, cs_cert_spec *spec)
{
    const char **uris = NULL;
    cs_code rc = opt_uri_list(c, t, "spec", "crl_distribution_points", &uris,
                              &spec->crl_distribution_points.len);

    spec->crl_distribution_points.uris = uris;
    return rc;
}

/* authority_info_access = {ocsp = {...}, ca_issuers = {...}} */
static cs_code read_aia(conv *c, int t, cs_cert_spec *spec)
{
    const char *path = "spec.authority_info_access";
    const char **ocsp = NULL, **issuers = NULL;
    int present;
    cs_code rc = opt_table(c, t, "spec", "authority_info_access", &present);
    int aia = lua_gettop(c->L);

    if (rc != CS_OK || !present)
        return rc;
    rc = check_fields(c, aia, path, aia_fields, 0);
    if (rc == CS_OK)
        rc = opt_uri_list(c, aia, path, "ocsp", &ocsp, &spec->authority_info_access.ocsp_len);
    if (rc == CS_OK)
        rc = opt_uri_list(c, aia, path, "ca_issuers", &issuers,
                          &spec->authority_info_access.ca_issuers_len);
    spec->authority_info_access.ocsp = ocsp;
    spec->authority_info_access.ca_issuers = issuers;
    lua_settop(c->L, aia - 1);
    return rc;
}

/* subject_key_id / authority_key_id: true/false, or the hex string info gives
 * (which means present: core computes the value from the keys). */
static cs_code read_key_id(conv *c, int t, const char *key, int *out)
{
    int ty = lua_getfield(c->L, t, key);
    cs_code rc = CS_OK;

    if (ty == LUA_TBOOLEAN || ty == LUA_TSTRING) {
        *out = lua_toboolean(c->L, -1);
    } else if (ty != LUA_TNIL) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "spec.%s", key);
        rc = expected(c, p, "boolean", -1);
    }
    lua_pop(c->L, 1);
    return rc;
}

/* Start a conversion: push its scratch table. */
static conv conv_begin(lua_State *L, cs_err *err)
{
    conv c = {L, 0, 0, err};

    luaL_checkstack(L, 20, "spec");
    lua_newtable(L);
    c.scratch = lua_gettop(L);
    return c;
}

cs_code pki_name_constraints_from_table(lua_State *L, int idx, cs_name_constraints *trees,
                                        cs_err *err)
{
    conv c;
    cs_name_constraints t = {NULL, 0, NULL, 0};
    int critical = 0;
    cs_code rc;

    idx = lua_absindex(L, idx);
    c = conv_begin(L, err);
    rc = nc_of(&c, idx, "name_constraints", &critical, &t);
    if (rc == CS_OK)
        *trees = t;
    return rc;
}

cs_code pki_names_from_table(lua_State *L, int idx, const char *path, const cs_name **names,
                             size_t *n, cs_err *err)
{
    conv c;

    idx = lua_absindex(L, idx);
    c = conv_begin(L, err);
    return names_of(&c, idx, path, subtree_fields, names, n);
}

cs_code pki_spec_from_table(lua_State *L, int idx, cs_cert_spec *spec, cs_err *err)
{
    conv c;
    cs_cert_spec s;
    int present;
    cs_code rc;

    idx = lua_absindex(L, idx);
    c = conv_begin(L, err);
    memset(&s, 0, sizeof s);
    s.basic_constraints.path_len = -1;

    rc = check_fields(&c, idx, "spec", spec_fields, 0);
    if (rc == CS_OK)
        rc = opt_table(&c, idx, "spec", "subject", &present);
    if (rc == CS_OK && present) {
        rc = read_subject(&c, lua_gettop(L), &s);
        lua_pop(L, 1);
    }
    if (rc == CS_OK)
        rc = read_validity(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_basic_constraints(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_key_usage(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_eku(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_san(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_nc(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_key_id(&c, idx, "subject_key_id", &s.subject_key_id);
    if (rc == CS_OK)
        rc = read_key_id(&c, idx, "authority_key_id", &s.authority_key_id);
    if (rc == CS_OK)
        rc = read_crl_dp(&c, idx, &s);
    if (rc == CS_OK)
        rc = read_aia(&c, idx, &s);
    if (rc == CS_OK)
        rc = opt_bool(&c, idx, "spec", "ocsp_no_check", &s.ocsp_no_check);
    lua_settop(L, c.scratch);
    if (rc == CS_OK)
        *spec = s;
    return rc;
}

/* ---- cert:info() ---- */

static void set_string(lua_State *L, const char *key, const char *value)
{
    if (value) {
        lua_pushstring(L, value);
        lua_setfield(L, -2, key);
    }
}

static void set_int(lua_State *L, const char *key, lua_Integer value)
{
    lua_pushinteger(L, value);
    lua_setfield(L, -2, key);
}

static void set_bool(lua_State *L, const char *key, int value)
{
    lua_pushboolean(L, value);
    lua_setfield(L, -2, key);
}

/* {dns = {...}, ip = {...}, email = {...}, uri = {...}}, every list present. */
static void push_names(lua_State *L, const cs_name *names, size_t n)
{
    lua_createtable(L, 0, 5);
    for (size_t k = 0; k < N_NAME_KINDS; k++) {
        lua_Integer i = 0;
        lua_newtable(L);
        for (size_t j = 0; j < n; j++) {
            if (names[j].type == name_kinds[k].type) {
                lua_pushstring(L, names[j].value);
                lua_rawseti(L, -2, ++i);
            }
        }
        lua_setfield(L, -2, name_kinds[k].field);
    }
}

void pki_push_info(lua_State *L, const cs_cert_info *info)
{
    luaL_checkstack(L, 10, "info");
    lua_createtable(L, 0, 24);

    pki_push_rdns(L, info->subject_rdns, info->subject_rdns_len);
    lua_setfield(L, -2, "subject");
    set_int(L, "not_before", info->not_before);
    set_int(L, "not_after", info->not_after);

    if (info->basic_constraints.present) {
        lua_createtable(L, 0, 3);
        set_bool(L, "critical", info->basic_constraints.critical);
        set_bool(L, "ca", info->basic_constraints.ca);
        if (info->basic_constraints.path_len >= 0)
            set_int(L, "path_len", info->basic_constraints.path_len);
        lua_setfield(L, -2, "basic_constraints");
    }
    if (info->key_usage.present) {
        pki_push_key_usage(L, info->key_usage.bits);
        set_bool(L, "critical", info->key_usage.critical);
        lua_setfield(L, -2, "key_usage");
    }
    if (info->ext_key_usage.present) {
        pki_push_strings(L, info->ext_key_usage.purposes, info->ext_key_usage.len);
        set_bool(L, "critical", info->ext_key_usage.critical);
        lua_setfield(L, -2, "extended_key_usage");
    }
    if (info->subject_alt_name.present) {
        push_names(L, info->subject_alt_name.names, info->subject_alt_name.len);
        set_bool(L, "critical", info->subject_alt_name.critical);
        lua_setfield(L, -2, "subject_alt_name");
    }
    if (info->name_constraints.present) {
        lua_createtable(L, 0, 3);
        set_bool(L, "critical", info->name_constraints.critical);
        push_names(L, info->name_constraints.permitted, info->name_constraints.permitted_len);
        lua_setfield(L, -2, "permitted");
        push_names(L, info->name_constraints.excluded, info->name_constraints.excluded_len);
        lua_setfield(L, -2, "excluded");
        lua_setfield(L, -2, "name_constraints");
    }
    set_string(L, "subject_key_id", info->subject_key_id);
    set_string(L, "authority_key_id", info->authority_key_id);
    if (info->crl_distribution_points.len > 0) {
        pki_push_strings(L, info->crl_distribution_points.uris,
                         info->crl_distribution_points.len);
        lua_setfield(L, -2, "crl_distribution_points");
    }
    if (info->authority_info_access.ocsp_len > 0 ||
        info->authority_info_access.ca_issuers_len > 0) {
        lua_createtable(L, 0, 2);
        pki_push_strings(L, info->authority_info_access.ocsp,
                         info->authority_info_access.ocsp_len);
        lua_setfield(L, -2, "ocsp");
        pki_push_strings(L, info->authority_info_access.ca_issuers,
                         info->authority_info_access.ca_issuers_len);
        lua_setfield(L, -2, "ca_issuers");
        lua_setfield(L, -2, "authority_info_access");
    }
    if (info->ocsp_no_check)
        set_bool(L, "ocsp_no_check", 1);

    /* read-only fields */
    set_int(L, "version", info->version);
    set_string(L, "serial", info->serial);
    set_string(L, "subject_line", info->subject);
    set_string(L, "issuer_line", info->issuer);
    set_string(L, "signature_algorithm", info->signature_algorithm);
    lua_createtable(L, 0, 3);
    set_string(L, "type", info->key_type);
    set_string(L, "curve", info->key_curve);
    set_int(L, "bits", info->key_bits);
    lua_setfield(L, -2, "key");
    set_string(L, "fingerprint", info->fingerprint_sha256);
    set_bool(L, "self_signed", info->self_signed);
    pki_push_strings(L, info->extensions, info->extensions_len);
    lua_setfield(L, -2, "extensions");
}
