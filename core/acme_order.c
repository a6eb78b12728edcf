/* ACME orders (RFC 8555 7.4, 7.5): newOrder, orders and the account's
 * list, authorizations (POST-as-GET, deactivation), challenges (started
 * through the validator), finalize (the CSR checked here, issued by the
 * Lua side through the queue) and certificate download.
 *
 * Authorizations are not reused: each order gets its own, so one
 * account's proof of a name never carries over to an order made later
 * (RFC 8555 7.4 leaves it to the server; Boulder reuses, Pebble does
 * not). It costs a client one validation per order. */
#include "acme_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "csr.h"
#include "internal.h"
#include "name.h"

#define MAX_IDENTIFIERS 100

static const char *const all_challenges[] = {"http-01", "dns-01", "tls-alpn-01"};

/* ---- objects ---- */

static json_t *order_json(const cs_acme *acme, const csi_acme_order *o)
{
    char url[512], when[32];
    json_t *doc, *authz = json_array(), *ids = json_loads(o->identifiers, 0, NULL);
    size_t i;

    csi_acme_time(o->expires, when);
    for (i = 0; authz && i < o->authz_len; i++) {
        csi_acme_url(acme, url, sizeof url, "authz", o->authz[i]);
        json_array_append_new(authz, json_string(url));
    }
    csi_acme_url(acme, url, sizeof url, "finalize", o->id);
    doc = json_pack("{s:s, s:s, s:o, s:o, s:s}", "status", o->status, "expires", when,
                    "identifiers", ids ? ids : json_array(), "authorizations",
                    authz ? authz : json_array(), "finalize", url);
    if (doc && strcmp(o->status, "valid") == 0) {
        csi_acme_url(acme, url, sizeof url, "cert", o->id);
        json_object_set_new(doc, "certificate", json_string(url));
    }
    if (doc && o->error) {
        json_t *e = json_loads(o->error, 0, NULL);
        if (e)
            json_object_set_new(doc, "error", e);
    }
    return doc;
}

static json_t *challenge_json(const cs_acme *acme, const csi_acme_challenge *c)
{
    char url[512], when[32];
    json_t *doc;

    csi_acme_url(acme, url, sizeof url, "chall", c->id);
    doc = json_pack("{s:s, s:s, s:s, s:s}", "type", c->type, "url", url, "token", c->token,
                    "status", c->status);
    if (doc && c->validated > 0) {
        csi_acme_time(c->validated, when);
        json_object_set_new(doc, "validated", json_string(when));
    }
    if (doc && c->error) {
        json_t *e = json_loads(c->error, 0, NULL);
        if (e)
            json_object_set_new(doc, "error", e);
    }
    return doc;
}

static json_t *authz_json(const cs_acme *acme, const csi_acme_authz *z)
{
    char when[32];
    json_t *doc, *list = json_array();
    size_t i;

    csi_acme_time(z->expires, when);
    for (i = 0; list && i < z->challenges_len; i++)
        json_array_append_new(list, challenge_json(acme, &z->challenges[i]));
    doc = json_pack("{s:{s:s, s:s}, s:s, s:s, s:o}", "identifier", "type", z->type, "value",
                    z->value, "status", z->status, "expires", when, "challenges",
                    list ? list : json_array());
    if (doc && z->wildcard)
        json_object_set_new(doc, "wildcard", json_true());
    return doc;
}

static void reply_order(acme_req *r, int status, const csi_acme_order *o)
{
    char url[512];

    csi_acme_url(r->acme, url, sizeof url, "order", o->id);
    csi_acme_reply_json(r, status, order_json(r->acme, o), url);
}

/* The order id of the request's account: 0 and *o, or -1 with the problem
 * (404 for none, 403 for another account's). */
static int own_order(acme_req *r, const char *id, csi_acme_order *o)
{
    cs_err err = {CS_OK, ""};

    if (csi_acme_db_order_get(r->acme->db, id, r->now, o, &err) != CS_OK) {
        if (err.code == CS_ENOENT)
            csi_acme_problem(r, 404, "malformed", "no order %s", id);
        else
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        return -1;
    }
    if (strcmp(o->account, r->account.id) != 0) {
        csi_acme_order_clear(o);
        csi_acme_problem(r, 403, "unauthorized", "order %s belongs to another account", id);
        return -1;
    }
    return 0;
}

/* ---- newOrder ---- */

/* Identifiers of the payload, checked and normalized, as a new JSON array
 * (duplicates dropped); NULL with the problem in r->out. */
static json_t *check_identifiers(acme_req *r, json_t *list)
{
    json_t *out = json_array();
    json_error_t jerr;
    size_t i, j;

    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > MAX_IDENTIFIERS) {
        csi_acme_problem(r, 400, "malformed", "identifiers: 1 to %d {type, value} objects",
                         MAX_IDENTIFIERS);
        json_decref(out);
        return NULL;
    }
    for (i = 0; out && i < json_array_size(list); i++) {
        const char *type = NULL, *value = NULL;
        char *norm = NULL;
        cs_err err = {CS_OK, ""};
        int dup = 0;

        if (json_unpack_ex(json_array_get(list, i), &jerr, JSON_STRICT, "{s:s, s:s}", "type",
                           &type, "value", &value) != 0) {
            csi_acme_problem(r, 400, "malformed", "identifiers[%zu]: %s", i + 1, jerr.text);
            json_decref(out);
            return NULL;
        }
        if (strcmp(type, "dns") != 0) {
            csi_acme_problem(r, 400, "unsupportedIdentifier", "identifiers[%zu]: type %.20s: "
                             "only dns", i + 1, type);
            json_decref(out);
            return NULL;
        }
        if (cs_name_normalize(CS_NAME_DNS, value, CS_NAME_WILDCARD, &norm, &err) != CS_OK) {
            csi_acme_problem(r, 400, "rejectedIdentifier", "identifiers[%zu]: %s", i + 1,
                             err.msg);
            json_decref(out);
            return NULL;
        }
        for (j = 0; j < json_array_size(out); j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(out, j), "value")),
                       norm) == 0)
                dup = 1;
        if (!dup)
            json_array_append_new(out, json_pack("{s:s, s:s}", "type", "dns", "value", norm));
        free(norm);
    }
    if (!out)
        csi_acme_problem(r, 500, "serverInternal", "out of memory");
    return out;
}

/* Whether type is among the answer's challenge types (none listed: all). */
static int offered(const csi_answer *a, const char *type)
{
    size_t i;

    if (a->challenges_len == 0)
        return 1;
    for (i = 0; i < a->challenges_len; i++)
        if (strcmp(a->challenges[i], type) == 0)
            return 1;
    return 0;
}

void csi_acme_new_order(acme_req *r)
{
    json_t *list = NULL, *ids = NULL, *nb = NULL, *na = NULL;
    json_error_t jerr;
    cs_acme_ask *ask = NULL;
    csi_answer *answer = NULL;
    csi_acme_new_authz *az = NULL;
    const char **types = NULL; /* per identifier, the offered types (into one array) */
    size_t n = 0, i, k, ntypes = 0;
    char *ids_text = NULL;
    csi_acme_order o;
    cs_err err = {CS_OK, ""};

    memset(&o, 0, sizeof o);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (!r->payload ||
        json_unpack_ex(r->payload, &jerr, 0, "{s:o, s?o, s?o}", "identifiers", &list,
                       "notBefore", &nb, "notAfter", &na) != 0) {
        csi_acme_problem(r, 400, "malformed", "newOrder: %s",
                         r->payload ? jerr.text : "the payload must be an object");
        return;
    }
    if (nb || na) {
        csi_acme_problem(r, 400, "malformed", "newOrder: notBefore and notAfter are not "
                         "supported: the profile decides validity");
        return;
    }
    ids = check_identifiers(r, list);
    if (!ids)
        return;
    n = json_array_size(ids);
    ask = csi_acme_ask_new(CS_ACME_ASK_ORDER, &r->account);
    if (ask) {
        ask->identifiers = calloc(n, sizeof *ask->identifiers);
        for (i = 0; ask->identifiers && i < n; i++) {
            const char *v = json_string_value(json_object_get(json_array_get(ids, i), "value"));
            ask->identifiers[i].type = strdup("dns");
            ask->identifiers[i].value = strdup(v);
            ask->identifiers_len = i + 1;
            if (!ask->identifiers[i].type || !ask->identifiers[i].value)
                break;
        }
        if (!ask->identifiers || i < n) {
            cs_acme_ask_free(ask);
            ask = NULL;
        }
    }
    /* policy: which names, which profile, which challenges */
    if (csi_acme_ask(r, ask, &answer) != 0)
        goto done;
    if (!answer->ok) {
        const char *type = answer->type ? answer->type : "rejectedIdentifier";
        csi_acme_problem(r, csi_acme_problem_status(type), type, "%s",
                         answer->detail ? answer->detail : "refused by policy");
        goto done;
    }
    az = calloc(n, sizeof *az);
    types = calloc(3 * n, sizeof *types);
    if (!az || !types) {
        csi_acme_problem(r, 500, "serverInternal", "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(json_array_get(ids, i), "value"));
        int wildcard = strncmp(v, "*.", 2) == 0;

        az[i].type = "dns";
        az[i].value = wildcard ? v + 2 : v;
        az[i].wildcard = wildcard;
        az[i].challenges = types + ntypes;
        for (k = 0; k < 3; k++) {
            /* RFC 8555 7.1.3: a wildcard is proven by dns-01 alone */
            if (!offered(answer, all_challenges[k]) ||
                (wildcard && strcmp(all_challenges[k], "dns-01") != 0))
                continue;
            types[ntypes++] = all_challenges[k];
            az[i].challenges_len++;
        }
        if (az[i].challenges_len == 0) {
            csi_acme_problem(r, 400, "rejectedIdentifier", "%s: no challenge type allowed for "
                             "it%s", v, wildcard ? " (a wildcard needs dns-01)" : "");
            goto done;
        }
    }
    ids_text = json_dumps(ids, JSON_COMPACT);
    if (!ids_text ||
        csi_acme_db_order_new(r->acme->db, r->account.id, ids_text,
                              r->now + r->acme->order_lifetime_s, answer->profile, az, n, &o,
                              &err) != CS_OK) {
        csi_acme_problem(r, 500, "serverInternal", "%s", ids_text ? err.msg : "out of memory");
        goto done;
    }
    reply_order(r, 201, &o);
done:
    csi_acme_order_clear(&o);
    free(ids_text);
    free(types);
    free(az);
    csi_answer_free(answer);
    json_decref(ids);
}

/* ---- orders ---- */

void csi_acme_order_post(acme_req *r, const char *id)
{
    csi_acme_order o;

    memset(&o, 0, sizeof o);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (r->payload) {
        csi_acme_problem(r, 400, "malformed", "an order is read with POST-as-GET (an empty "
                         "payload)");
        return;
    }
    if (own_order(r, id, &o) != 0)
        return;
    reply_order(r, 200, &o);
    if (strcmp(o.status, "processing") == 0)
        csi_acme_header(r, "Retry-After", "1");
    csi_acme_order_clear(&o);
}

void csi_acme_orders_post(acme_req *r, const char *account)
{
    char (*ids)[CSI_ACME_ID_LEN + 1] = NULL;
    char url[512];
    size_t n = 0, i;
    json_t *list;
    cs_err err = {CS_OK, ""};

    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (strcmp(account, r->account.id) != 0) {
        csi_acme_problem(r, 403, "unauthorized", "the orders of another account");
        return;
    }
    if (csi_acme_db_account_orders(r->acme->db, account, 1000, &ids, &n, &err) != CS_OK) {
        csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        return;
    }
    list = json_array();
    for (i = 0; list && i < n; i++) {
        csi_acme_url(r->acme, url, sizeof url, "order", ids[i]);
        json_array_append_new(list, json_string(url));
    }
    free(ids);
    csi_acme_reply_json(r, 200, list ? json_pack("{s:o}", "orders", list) : NULL, NULL);
}

/* ---- authorizations ---- */

void csi_acme_authz_post(acme_req *r, const char *id)
{
    csi_acme_authz z;
    cs_err err = {CS_OK, ""};
    json_error_t jerr;
    const char *status = NULL;
    char *problem = NULL;

    memset(&z, 0, sizeof z);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (csi_acme_db_authz_get(r->acme->db, id, r->now, &z, &err) != CS_OK) {
        if (err.code == CS_ENOENT)
            csi_acme_problem(r, 404, "malformed", "no authorization %s", id);
        else
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        return;
    }
    if (strcmp(z.account, r->account.id) != 0) {
        csi_acme_problem(r, 403, "unauthorized", "authorization %s belongs to another account",
                         id);
        goto done;
    }
    if (r->payload) {
        /* 7.5.2: deactivation is the one change a client may make */
        if (json_unpack_ex(r->payload, &jerr, JSON_STRICT, "{s:s}", "status", &status) != 0 ||
            strcmp(status, "deactivated") != 0) {
            csi_acme_problem(r, 400, "malformed", "authorization: the payload may only be "
                             "{\"status\": \"deactivated\"}");
            goto done;
        }
        problem = csi_acme_problem_json("unauthorized", "an authorization was deactivated",
                                        403);
        if (csi_acme_db_authz_deactivate(r->acme->db, id, problem, &err) != CS_OK) {
            csi_acme_problem(r, err.code == CS_EMISMATCH ? 400 : 500,
                             err.code == CS_EMISMATCH ? "malformed" : "serverInternal", "%s",
                             err.msg);
            goto done;
        }
        csi_acme_authz_clear(&z);
        if (csi_acme_db_authz_get(r->acme->db, id, r->now, &z, &err) != CS_OK) {
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
            goto done;
        }
    }
    csi_acme_reply_json(r, 200, authz_json(r->acme, &z), NULL);
done:
    free(problem);
    csi_acme_authz_clear(&z);
}

/* ---- waiting briefly for an outcome (acme_settle.c) ---- */

/* Wait for id's outcome until deadline (csi_now_ms): 1 read it again, 0 not in time. */
static int settle_wait(cs_acme *acme, const char *id, unsigned long *since, long long deadline)
{
    long long left = deadline - csi_now_ms();
    return left > 0 && csi_settle_wait(acme->settle, id, since, (int)left);
}

/* ---- challenges ---- */

typedef struct validation {
    cs_acme *acme;
    char id[CSI_ACME_ID_LEN + 1];
} validation;

/* The validator's verdict (on its thread): recorded, and the authorization
 * and order follow. */
static void validated(void *arg, const char *problem, const char *detail)
{
    validation *v = arg;
    char *error = NULL;
    cs_err err = {CS_OK, ""};

    /* "serverInternal": the validator stopped first (shutdown): the client
     * may ask again once the server is back */
    if (problem && strcmp(problem, "serverInternal") == 0) {
        if (csi_acme_db_challenge_reset(v->acme->db, v->id, &err) != CS_OK)
            fprintf(stderr, "acme: challenge %s: %s\n", v->id, err.msg);
        csi_settle_note(v->acme->settle, v->id);
        free(v);
        return;
    }
    if (problem)
        error = csi_acme_problem_json(problem, detail, csi_acme_problem_status(problem));
    if (csi_acme_db_challenge_done(v->acme->db, v->id, problem && !error ? "{}" : error,
                                   (int64_t)time(NULL), &err) != CS_OK)
        fprintf(stderr, "acme: challenge %s: %s\n", v->id, err.msg);
    csi_settle_note(v->acme->settle, v->id); /* its challenge reply may be waiting */
    free(error);
    free(v);
}

void csi_acme_challenge_post(acme_req *r, const char *id)
{
    csi_acme_challenge c;
    csi_acme_authz z;
    cs_err err = {CS_OK, ""};
    validation *v = NULL;
    char *key_auth = NULL, up[600], url[512];
    unsigned long since;
    long long deadline;
    int type;

    memset(&c, 0, sizeof c);
    memset(&z, 0, sizeof z);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (csi_acme_db_challenge_get(r->acme->db, id, r->now, &c, &z, &err) != CS_OK) {
        if (err.code == CS_ENOENT)
            csi_acme_problem(r, 404, "malformed", "no challenge %s", id);
        else
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        return;
    }
    if (strcmp(z.account, r->account.id) != 0) {
        csi_acme_problem(r, 403, "unauthorized", "challenge %s belongs to another account", id);
        goto done;
    }
    /* 7.5.1: {} asks to validate; POST-as-GET reads. Members are ignored. */
    if (r->payload && strcmp(c.status, "pending") == 0 && strcmp(z.status, "pending") == 0) {
        type = cs_challenge_type_parse(c.type);
        key_auth = malloc(strlen(c.token) + 1 + CS_JWK_THUMBPRINT_LEN + 1);
        v = calloc(1, sizeof *v);
        if (!key_auth || !v || type < 0) {
            csi_acme_problem(r, 500, "serverInternal", "out of memory");
            goto done;
        }
        sprintf(key_auth, "%s.%s", c.token, r->account.thumbprint);
        v->acme = r->acme;
        memcpy(v->id, c.id, sizeof v->id);
        since = csi_settle_count(r->acme->settle);
        deadline = csi_now_ms() + CSI_SETTLE_MS;
        if (csi_acme_db_challenge_start(r->acme->db, id, &err) == CS_OK) {
            if (cs_validator_submit(r->acme->validator, (cs_challenge_type)type, z.value,
                                    c.token, key_auth, validated, v, &err) == CS_OK) {
                v = NULL; /* the validator calls validated() with it */
            } else {
                char *e = csi_acme_problem_json("serverInternal", err.msg, 500);
                cs_err ignore;
                if (csi_acme_db_challenge_done(r->acme->db, id, e ? e : "{}", r->now,
                                               &ignore) != CS_OK)
                    fprintf(stderr, "acme: challenge %s: %s\n", id, ignore.msg);
                free(e);
            }
        }
        /* read it again: processing, or what a racing request made it;
         * while processing, wait briefly for the validator's verdict, so
         * the client mostly reads it here (7.5.1 lets the reply carry it) */
        do {
            csi_acme_challenge_clear(&c);
            csi_acme_authz_clear(&z);
            if (csi_acme_db_challenge_get(r->acme->db, id, r->now, &c, &z, &err) != CS_OK) {
                csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
                goto done;
            }
        } while (strcmp(c.status, "processing") == 0 &&
                 settle_wait(r->acme, id, &since, deadline));
    }
    csi_acme_reply_json(r, 200, challenge_json(r->acme, &c), NULL);
    csi_acme_url(r->acme, url, sizeof url, "authz", z.id);
    snprintf(up, sizeof up, "<%s>;rel=\"up\"", url);
    csi_acme_header(r, "Link", up);
done:
    free(v);
    free(key_auth);
    csi_acme_challenge_clear(&c);
    csi_acme_authz_clear(&z);
}

/* ---- finalize ---- */

/* Whether the CSR asks for exactly the order's names (7.4: "the CSR MUST
 * indicate the exact same set of requested identifiers as the initial
 * newOrder request"), a CN among them, and not the account's key. NULL,
 * or the reason for badCSR (static, or in why). */
static const char *csr_mismatch(const cs_csr *csr, const json_t *ids, const cs_key *account,
                                char *why, size_t cap)
{
    cs_csr_info *info = NULL;
    cs_key *key = NULL;
    cs_err err = {CS_OK, ""};
    const char *bad = NULL;
    size_t i, j, n = json_array_size(ids);
    char *norm = NULL;
    int *seen = calloc(n ? n : 1, sizeof *seen);

    if (!seen)
        return "out of memory";
    if (cs_csr_get_info(csr, &info, &err) != CS_OK || cs_csr_public_key(csr, &key, &err) !=
                                                           CS_OK) {
        snprintf(why, cap, "%s", err.msg);
        bad = why;
        goto done;
    }
    if (EVP_PKEY_eq(key->pkey, account->pkey) == 1) {
        bad = "the CSR's key is the account key: use a key of its own for the certificate";
        goto done;
    }
    for (i = 0; i < info->names_len && !bad; i++) {
        if (info->names[i].type != CS_NAME_DNS) {
            snprintf(why, cap, "the CSR asks for %s name %.100s: the order holds DNS names only",
                     cs_name_type_name(info->names[i].type), info->names[i].value);
            bad = why;
            break;
        }
        if (cs_name_normalize(CS_NAME_DNS, info->names[i].value, CS_NAME_WILDCARD, &norm,
                              &err) != CS_OK) {
            snprintf(why, cap, "%s", err.msg);
            bad = why;
            break;
        }
        for (j = 0; j < n; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(ids, j), "value")),
                       norm) == 0)
                break;
        if (j == n) {
            snprintf(why, cap, "the CSR names %.100s, which is not in the order", norm);
            bad = why;
        } else {
            seen[j] = 1;
        }
        free(norm);
        norm = NULL;
    }
    for (j = 0; j < n && !bad; j++) {
        if (!seen[j]) {
            snprintf(why, cap, "the CSR does not name %.100s, which the order holds",
                     json_string_value(json_object_get(json_array_get(ids, j), "value")));
            bad = why;
        }
    }
    /* a subject CN, if any, must be one of the names */
    for (i = 0; i < info->subject_rdns_len && !bad; i++) {
        if (strcmp(info->subject_rdns[i].field, "CN") != 0)
            continue;
        for (j = 0; j < n; j++)
            if (strcasecmp(json_string_value(json_object_get(json_array_get(ids, j), "value")),
                           info->subject_rdns[i].value) == 0)
                break;
        if (j == n) {
            snprintf(why, cap, "the CSR's CN %.100s is not one of the order's names",
                     info->subject_rdns[i].value);
            bad = why;
        }
    }
done:
    free(seen);
    cs_key_free(key);
    cs_csr_info_free(info);
    return bad;
}

/* The finalize ask of order o (in processing) for account a. */
static cs_acme_ask *finalize_ask(const csi_acme_order *o, const csi_acme_account *a)
{
    cs_acme_ask *ask = csi_acme_ask_new(CS_ACME_ASK_FINALIZE, a);
    json_t *ids = json_loads(o->identifiers, 0, NULL);
    size_t i, n = json_array_size(ids);
    int ok = ask && ids && o->csr;

    if (ok) {
        ask->order_id = strdup(o->id);
        ask->profile = o->profile ? strdup(o->profile) : NULL;
        ask->csr_der = malloc(o->csr_len);
        ask->identifiers = calloc(n ? n : 1, sizeof *ask->identifiers);
        ok = ask->order_id && (!o->profile || ask->profile) && ask->csr_der &&
             ask->identifiers;
    }
    if (ok) {
        memcpy(ask->csr_der, o->csr, o->csr_len);
        ask->csr_len = o->csr_len;
    }
    for (i = 0; ok && i < n; i++) {
        const char *v = json_string_value(json_object_get(json_array_get(ids, i), "value"));
        ask->identifiers[i].type = strdup("dns");
        ask->identifiers[i].value = strdup(v ? v : "");
        ask->identifiers_len = i + 1;
        ok = ask->identifiers[i].type && ask->identifiers[i].value;
    }
    json_decref(ids);
    if (!ok) {
        cs_acme_ask_free(ask);
        return NULL;
    }
    return ask;
}

cs_code csi_acme_requeue_finalize(cs_acme *acme, const char *order, cs_err *err)
{
    csi_acme_order o;
    csi_acme_account a;
    cs_acme_ask *ask;
    cs_code rc;

    memset(&o, 0, sizeof o);
    memset(&a, 0, sizeof a);
    rc = csi_acme_db_order_get(acme->db, order, 0, &o, err);
    if (rc == CS_OK)
        rc = csi_acme_db_account_get(acme->db, o.account, &a, err);
    if (rc == CS_OK) {
        ask = finalize_ask(&o, &a);
        if (!ask || csi_queue_post(acme->queue, ask) != CSI_WAIT_ANSWERED)
            rc = cs_err_set(err, CS_ENOMEM, "acme: order %s: cannot queue its finalize again",
                            order);
    }
    csi_acme_account_clear(&a);
    csi_acme_order_clear(&o);
    return rc;
}

void csi_acme_finalize(acme_req *r, const char *id)
{
    csi_acme_order o;
    cs_acme_ask *ask;
    cs_csr *csr = NULL;
    cs_err err = {CS_OK, ""};
    json_error_t jerr;
    json_t *ids = NULL;
    const char *b64 = NULL, *bad;
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[300];
    unsigned long since;
    long long deadline;
    csi_wait w;

    memset(&o, 0, sizeof o);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (!r->payload || json_unpack_ex(r->payload, &jerr, 0, "{s:s}", "csr", &b64) != 0) {
        csi_acme_problem(r, 400, "malformed", "finalize: the payload must be {\"csr\": "
                         "base64url DER}%s%s", r->payload ? ": " : "",
                         r->payload ? jerr.text : "");
        return;
    }
    if (own_order(r, id, &o) != 0)
        return;
    /* 7.4: only a ready order is finalized */
    if (strcmp(o.status, "ready") != 0) {
        csi_acme_problem(r, 403, "orderNotReady", "order %s is %s, not ready", id, o.status);
        goto done;
    }
    if (cs_b64url_decode(b64, strlen(b64), "csr", &der, &der_len, &err) != CS_OK ||
        cs_csr_load((const char *)der, der_len, "CSR", &csr, &err) != CS_OK) {
        csr = NULL;
        csi_acme_problem(r, 400, "badCSR", "%s", err.msg);
        goto done;
    }
    ids = json_loads(o.identifiers, 0, NULL);
    bad = ids ? csr_mismatch(csr, ids, r->key, why, sizeof why) : "out of memory";
    if (bad) {
        csi_acme_problem(r, 400, "badCSR", "%s", bad);
        goto done;
    }
    if (csi_acme_db_order_processing(r->acme->db, id, der, der_len, &err) != CS_OK) {
        csi_acme_problem(r, err.code == CS_EMISMATCH ? 403 : 500,
                         err.code == CS_EMISMATCH ? "orderNotReady" : "serverInternal", "%s",
                         err.msg);
        goto done;
    }
    csi_acme_order_clear(&o);
    if (csi_acme_db_order_get(r->acme->db, id, r->now, &o, &err) != CS_OK) {
        csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        goto done;
    }
    /* the Lua side issues; the client polls the order */
    since = csi_settle_count(r->acme->settle);
    deadline = csi_now_ms() + CSI_SETTLE_MS;
    ask = finalize_ask(&o, &r->account);
    if (ask) { /* the Lua loop takes the CSR parsed: it runs one thread for all */
        ask->csr = csr;
        csr = NULL;
    }
    w = csi_queue_post(r->acme->queue, ask); /* taken over, even when refused */
    if (w != CSI_WAIT_ANSWERED) {
        cs_err ignore;
        if (csi_acme_db_order_unprocess(r->acme->db, id, &ignore) != CS_OK)
            fprintf(stderr, "acme: order %s: %s\n", id, ignore.msg);
        csi_acme_problem(r, 503, "serverInternal", "%s",
                         w == CSI_WAIT_CLOSED ? "the server is stopping"
                                              : "too many requests wait for a decision");
        csi_acme_header(r, "Retry-After", "5");
        goto done;
    }
    /* wait briefly for the answer: the reply then mostly says valid (or
     * invalid) and the client need not poll (7.4 returns the order as it is) */
    while (strcmp(o.status, "processing") == 0 && settle_wait(r->acme, id, &since, deadline)) {
        csi_acme_order_clear(&o);
        if (csi_acme_db_order_get(r->acme->db, id, r->now, &o, &err) != CS_OK) {
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
            goto done;
        }
    }
    reply_order(r, 200, &o);
    if (strcmp(o.status, "processing") == 0)
        csi_acme_header(r, "Retry-After", "1");
done:
    json_decref(ids);
    cs_csr_free(csr);
    free(der);
    csi_acme_order_clear(&o);
}

/* The leaf (first certificate) of a PEM chain: its serial, validity. */
static cs_code leaf_of(const char *pem, char **serial, int64_t *nb, int64_t *na, cs_err *err)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    cs_cert c;
    cs_code rc = CS_OK;

    BIO_free(bio);
    if (!x)
        return cs_err_ossl(err, CS_EINVAL, "acme: answer.chain: no PEM certificate");
    c.x509 = x;
    *serial = cs_cert_serial_hex(&c);
    if (!*serial || !csi_asn1_time_unix(X509_get0_notBefore(x), nb) ||
        !csi_asn1_time_unix(X509_get0_notAfter(x), na)) {
        free(*serial);
        *serial = NULL;
        rc = cs_err_set(err, CS_EINVAL, "acme: answer.chain: unreadable leaf certificate");
    }
    X509_free(x);
    return rc;
}

cs_code csi_acme_finalize_answer(cs_acme *acme, const char *order, const cs_acme_decision *a,
                                 cs_err *err)
{
    char *serial = NULL, *chain = NULL, *problem;
    int64_t nb = 0, na = 0;
    size_t n;
    cs_code rc;

    if (!a->ok) {
        const char *type = a->type ? a->type : "badCSR";
        problem = csi_acme_problem_json(type, a->detail ? a->detail : "refused by policy",
                                        csi_acme_problem_status(type));
        if (!problem)
            return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
        rc = csi_acme_db_order_fail(acme->db, order, problem, err);
        free(problem);
        return rc;
    }
    rc = leaf_of(a->chain_pem, &serial, &nb, &na, err);
    if (rc != CS_OK) {
        problem = csi_acme_problem_json("serverInternal", "the issued chain is unreadable", 500);
        if (problem) {
            cs_err ignore;
            if (csi_acme_db_order_fail(acme->db, order, problem, &ignore) != CS_OK)
                fprintf(stderr, "acme: order %s: %s\n", order, ignore.msg);
        }
        free(problem);
        return rc;
    }
    /* the intermediate after the leaf, unless the answer has it already */
    n = strlen(a->chain_pem);
    chain = malloc(n + (acme->chain_pem ? strlen(acme->chain_pem) : 0) + 2);
    if (!chain) {
        free(serial);
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
    }
    memcpy(chain, a->chain_pem, n + 1);
    if (acme->chain_pem && !strstr(a->chain_pem, acme->chain_pem)) {
        if (n > 0 && chain[n - 1] != '\n')
            strcat(chain, "\n");
        strcat(chain, acme->chain_pem);
    }
    rc = csi_acme_db_order_issued(acme->db, order, serial, chain, nb, na, err);
    free(chain);
    free(serial);
    return rc;
}

/* ---- download ---- */

void csi_acme_cert_post(acme_req *r, const char *id)
{
    csi_acme_order o;
    char *pem;

    memset(&o, 0, sizeof o);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (r->payload) {
        csi_acme_problem(r, 400, "malformed", "a certificate is read with POST-as-GET (an "
                         "empty payload)");
        return;
    }
    if (own_order(r, id, &o) != 0)
        return;
    if (strcmp(o.status, "valid") != 0 || !o.cert_chain) {
        csi_acme_problem(r, 404, "malformed", "order %s has no certificate (it is %s)", id,
                         o.status);
        csi_acme_order_clear(&o);
        return;
    }
    pem = o.cert_chain;
    o.cert_chain = NULL;
    free(r->out->body);
    r->out->body = (unsigned char *)pem;
    r->out->body_len = strlen(pem);
    r->out->status = 200;
    r->out->content_type = "application/pem-certificate-chain";
    csi_acme_order_clear(&o);
}
