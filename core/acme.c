/* The ACME server (RFC 8555): the object, the request dispatch, the JWS
 * checks every POST goes through (6.2-6.5), problem documents (6.7) and the
 * decision queue's public face. The endpoints live in acme_account.c,
 * acme_order.c and acme_revoke.c. */
#include "acme_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "b64url.h"
#include "internal.h"

#define PROBLEM_PREFIX "urn:ietf:params:acme:error:"

/* RFC 8555 6.7 and 9.7.4: every error type, with the status we send. */
static const struct {
    const char *type;
    int status;
} problems[] = {
    {"accountDoesNotExist", 400}, {"alreadyRevoked", 400},
    {"badCSR", 400},              {"badNonce", 400},
    {"badPublicKey", 400},        {"badRevocationReason", 400},
    {"badSignatureAlgorithm", 400}, {"caa", 403},
    {"compound", 403},            {"connection", 400},
    {"dns", 400},                 {"externalAccountRequired", 403},
    {"incorrectResponse", 403},   {"invalidContact", 400},
    {"malformed", 400},           {"orderNotReady", 403},
    {"rateLimited", 429},         {"rejectedIdentifier", 400},
    {"serverInternal", 500},      {"tls", 400},
    {"unauthorized", 403},        {"unsupportedContact", 400},
    {"unsupportedIdentifier", 400}, {"userActionRequired", 403},
};

int csi_acme_problem_known(const char *type)
{
    size_t i;

    for (i = 0; type && i < sizeof problems / sizeof problems[0]; i++)
        if (strcmp(problems[i].type, type) == 0)
            return 1;
    return 0;
}

int csi_acme_problem_status(const char *type)
{
    size_t i;

    for (i = 0; type && i < sizeof problems / sizeof problems[0]; i++)
        if (strcmp(problems[i].type, type) == 0)
            return problems[i].status;
    return 400;
}

const char *cs_acme_ask_kind_name(cs_acme_ask_kind kind)
{
    switch (kind) {
    case CS_ACME_ASK_ACCOUNT:
        return "account";
    case CS_ACME_ASK_ORDER:
        return "order";
    case CS_ACME_ASK_FINALIZE:
        return "finalize";
    case CS_ACME_ASK_REVOKE:
        return "revoke";
    }
    return "unknown";
}

void cs_acme_ask_free(cs_acme_ask *ask)
{
    size_t i;

    if (!ask)
        return;
    free(ask->account_id);
    for (i = 0; i < ask->contact_len; i++)
        free(ask->contact[i]);
    free(ask->contact);
    free(ask->eab_kid);
    for (i = 0; i < ask->identifiers_len; i++) {
        free(ask->identifiers[i].type);
        free(ask->identifiers[i].value);
    }
    free(ask->identifiers);
    free(ask->order_id);
    free(ask->profile);
    free(ask->csr_der);
    cs_csr_free(ask->csr);
    free(ask->serial_hex);
    free(ask);
}

/* ---- replies ---- */

void csi_acme_time(int64_t t, char *out)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void csi_acme_url(const cs_acme *acme, char *out, size_t cap, const char *kind, const char *id)
{
    snprintf(out, cap, "%s/acme/%s%s%s", acme->base_url, kind, id ? "/" : "", id ? id : "");
}

/* The reply becomes a bare 500 (out of memory, a header refused). */
static void internal_error(acme_req *r)
{
    free(r->out->body);
    r->out->body = NULL;
    r->out->body_len = 0;
    r->out->status = 500;
    r->out->content_type = "text/plain";
}

void csi_acme_header(acme_req *r, const char *name, const char *value)
{
    if (cs_http_reply_header(r->out, name, value, NULL) != CS_OK)
        internal_error(r);
}

/* Set the reply's body to text (taken over), of type. */
static void set_body(acme_req *r, int status, const char *type, char *text)
{
    free(r->out->body);
    r->out->body = (unsigned char *)text;
    r->out->body_len = text ? strlen(text) : 0;
    r->out->status = text ? status : 500;
    r->out->content_type = type;
}

char *csi_acme_problem_json(const char *type, const char *detail, int status)
{
    char full[96];
    json_t *doc;
    char *text;

    snprintf(full, sizeof full, PROBLEM_PREFIX "%s", type);
    doc = json_pack("{s:s, s:s, s:i}", "type", full, "detail", detail ? detail : "", "status",
                    status);
    if (!doc)
        return NULL;
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

void csi_acme_problem(acme_req *r, int status, const char *type, const char *fmt, ...)
{
    char detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    set_body(r, status, "application/problem+json", csi_acme_problem_json(type, detail, status));
}

void csi_acme_reply_json(acme_req *r, int status, json_t *body, const char *location)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    set_body(r, status, "application/json", text);
    if (text && location)
        csi_acme_header(r, "Location", location);
}

/* ---- the decision queue, seen from a request ---- */

cs_acme_ask *csi_acme_ask_new(cs_acme_ask_kind kind, const csi_acme_account *a)
{
    cs_acme_ask *ask = calloc(1, sizeof *ask);
    json_t *contact = NULL;
    size_t i;
    int ok;

    if (!ask)
        return NULL;
    ask->kind = kind;
    ask->account_id = strdup(a->id);
    ok = ask->account_id != NULL;
    if (ok && a->eab_kid) {
        ask->eab_kid = strdup(a->eab_kid);
        ok = ask->eab_kid != NULL;
    }
    if (ok && a->contact)
        contact = json_loads(a->contact, 0, NULL);
    if (ok && json_is_array(contact) && json_array_size(contact) > 0) {
        ask->contact = calloc(json_array_size(contact), sizeof *ask->contact);
        ok = ask->contact != NULL;
        for (i = 0; ok && i < json_array_size(contact); i++) {
            const char *c = json_string_value(json_array_get(contact, i));
            ask->contact[i] = strdup(c ? c : "");
            ok = ask->contact[i] != NULL;
            ask->contact_len = i + 1;
        }
    }
    json_decref(contact);
    if (!ok) {
        cs_acme_ask_free(ask);
        return NULL;
    }
    return ask;
}

int csi_acme_ask(acme_req *r, cs_acme_ask *ask, csi_answer **out)
{
    csi_wait w;

    if (!ask) {
        csi_acme_problem(r, 500, "serverInternal", "out of memory");
        return -1;
    }
    w = csi_queue_ask(r->acme->queue, ask, r->acme->ask_timeout_ms, out);
    if (w == CSI_WAIT_ANSWERED)
        return 0;
    if (w == CSI_WAIT_NOMEM) {
        csi_acme_problem(r, 500, "serverInternal", "out of memory");
        return -1;
    }
    csi_acme_problem(r, 503, "serverInternal", "%s",
                     w == CSI_WAIT_CLOSED ? "the server is stopping"
                     : w == CSI_WAIT_FULL ? "too many requests wait for a decision"
                                          : "no decision in time; try again");
    csi_acme_header(r, "Retry-After", "5");
    return -1;
}

/* ---- the JWS checks ---- */

void csi_acme_req_clear(acme_req *r)
{
    cs_jws_free(r->jws);
    r->jws = NULL;
    cs_key_free(r->key);
    r->key = NULL;
    json_decref(r->payload);
    r->payload = NULL;
    csi_acme_account_clear(&r->account);
    r->has_account = 0;
}

/* Whether the Content-Type is application/jose+json (parameters allowed). */
static int is_jose(const char *type)
{
    static const char want[] = "application/jose+json";
    size_t n = sizeof want - 1;

    if (!type || strncasecmp(type, want, n) != 0)
        return 0;
    type += n;
    while (*type == ' ' || *type == '\t')
        type++;
    return *type == '\0' || *type == ';';
}

/* The account id a kid names: base_url/acme/acct/<id>, else NULL. */
static const char *kid_account(const cs_acme *acme, const char *kid)
{
    size_t n = strlen(acme->base_url);
    const char *id;

    if (strncmp(kid, acme->base_url, n) != 0 || strncmp(kid + n, "/acme/acct/", 11) != 0)
        return NULL;
    id = kid + n + 11;
    if (strlen(id) != CSI_ACME_ID_LEN || strchr(id, '/'))
        return NULL;
    return id;
}

int csi_acme_authenticate(acme_req *r, csi_signer signer)
{
    const cs_http_request *h = r->http;
    cs_jws_fault fault = CS_JWS_MALFORMED;
    cs_err err = {CS_OK, ""};
    const char *kid, *nonce, *id;
    const cs_key *jwk;
    const unsigned char *payload;
    size_t payload_len = 0, want_len;
    json_error_t jerr;

    if (!is_jose(h->content_type)) {
        csi_acme_problem(r, 415, "malformed", "Content-Type must be application/jose+json "
                         "(RFC 8555 6.2), not %.60s", h->content_type ? h->content_type
                                                                      : "none");
        return -1;
    }
    if (!h->body || h->body_len == 0) {
        csi_acme_problem(r, 400, "malformed", "no JWS in the request body");
        return -1;
    }
    if (cs_jws_parse((const char *)h->body, h->body_len, &r->jws, &fault, &err) != CS_OK) {
        r->jws = NULL;
        csi_acme_problem(r, csi_acme_problem_status(cs_jws_fault_problem(fault)),
                         cs_jws_fault_problem(fault), "JWS: %s", err.msg);
        return -1;
    }
    if (strcmp(cs_jws_alg(r->jws), "HS256") == 0) {
        csi_acme_problem(r, 400, "badSignatureAlgorithm", "JWS: HS256 is for external "
                         "account binding only; sign with ES256, ES384 or RS256");
        return -1;
    }
    /* RFC 8555 6.4: the url the client signed is the one it asked */
    r->url = cs_jws_url(r->jws);
    want_len = strlen(r->acme->base_url);
    if (!r->url || strncmp(r->url, r->acme->base_url, want_len) != 0 ||
        strcmp(r->url + want_len, h->path) != 0) {
        csi_acme_problem(r, 401, "unauthorized", "JWS url %.200s is not this request's "
                         "URL %s%.200s", r->url ? r->url : "(missing)", r->acme->base_url,
                         h->path);
        return -1;
    }
    nonce = cs_jws_nonce(r->jws);
    if (!nonce) {
        csi_acme_problem(r, 400, "badNonce", "JWS: no nonce in the protected header");
        return -1;
    }
    kid = cs_jws_kid(r->jws);
    jwk = cs_jws_jwk(r->jws);
    if ((kid != NULL) == (jwk != NULL)) {
        csi_acme_problem(r, 400, "malformed", "JWS: the protected header must hold exactly "
                         "one of jwk and kid");
        return -1;
    }
    if (jwk && signer == CSI_SIGNER_KID) {
        csi_acme_problem(r, 400, "malformed", "JWS: this request must be signed by an "
                         "account (kid), not a jwk");
        return -1;
    }
    if (kid && signer == CSI_SIGNER_JWK) {
        csi_acme_problem(r, 400, "malformed", "JWS: this request must carry its key (jwk), "
                         "not a kid");
        return -1;
    }
    if (kid) {
        id = kid_account(r->acme, kid);
        if (!id) {
            csi_acme_problem(r, 400, "malformed", "JWS kid %.200s is not an account URL of "
                             "this server", kid);
            return -1;
        }
        if (csi_acme_db_account_get(r->acme->db, id, &r->account, &err) != CS_OK) {
            if (err.code == CS_ENOENT)
                csi_acme_problem(r, 400, "accountDoesNotExist", "no account %s", id);
            else
                csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
            return -1;
        }
        r->has_account = 1;
        if (strcmp(r->account.status, "valid") != 0) {
            csi_acme_problem(r, 401, "unauthorized", "account %s is %s", id,
                             r->account.status);
            return -1;
        }
        if (cs_jwk_from_json(r->account.jwk, strlen(r->account.jwk), &r->key, &fault, &err) !=
            CS_OK) {
            r->key = NULL;
            csi_acme_problem(r, 500, "serverInternal", "stored key: %s", err.msg);
            return -1;
        }
    } else if (csi_key_from_public(jwk->pkey, "jwk", &r->key, &err) != CS_OK) {
        /* a reference of our own, so r->key is the signer either way */
        r->key = NULL;
        csi_acme_problem(r, 400, "badPublicKey", "%s", err.msg);
        return -1;
    }
    if (cs_jws_verify(r->jws, r->key, &fault, &err) != CS_OK) {
        csi_acme_problem(r, csi_acme_problem_status(cs_jws_fault_problem(fault)),
                         cs_jws_fault_problem(fault), "JWS: %s", err.msg);
        return -1;
    }
    /* RFC 8555 6.5: a nonce counts only once its signature holds, so a
     * stranger cannot burn a client's nonces */
    if (!csi_nonce_use(r->acme->nonces, nonce)) {
        csi_acme_problem(r, 400, "badNonce", "JWS nonce is unknown, used or too old; retry "
                         "with the Replay-Nonce of this reply");
        return -1;
    }
    payload = cs_jws_payload(r->jws, &payload_len);
    if (payload_len > 0) {
        r->payload = json_loadb((const char *)payload, payload_len,
                                JSON_REJECT_DUPLICATES, &jerr);
        if (!r->payload || !json_is_object(r->payload)) {
            csi_acme_problem(r, 400, "malformed", "JWS payload: %s",
                             r->payload ? "not a JSON object" : jerr.text);
            json_decref(r->payload);
            r->payload = NULL;
            return -1;
        }
    }
    return 0;
}

/* ---- dispatch ---- */

static int is_get(const cs_http_request *h)
{
    return strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0;
}

/* The id after prefix ("/order/") in tail, if tail is exactly that. */
static const char *id_after(const char *tail, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(tail, prefix, n) != 0)
        return NULL;
    tail += n;
    if (strlen(tail) != CSI_ACME_ID_LEN || strspn(tail, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                                                        "klmnopqrstuvwxyz0123456789-_") !=
                                               CSI_ACME_ID_LEN)
        return NULL;
    return tail;
}

/* The account id of "/acct/<id>/orders" into id, or NULL. */
static const char *orders_of(const char *tail, char *id)
{
    char path[8 + CSI_ACME_ID_LEN];

    if (strncmp(tail, "/acct/", 6) != 0 || strlen(tail) != 6 + CSI_ACME_ID_LEN + 7 ||
        strcmp(tail + 6 + CSI_ACME_ID_LEN, "/orders") != 0)
        return NULL;
    memcpy(path, tail, 6 + CSI_ACME_ID_LEN);
    path[6 + CSI_ACME_ID_LEN] = '\0';
    if (!id_after(path, "/acct/"))
        return NULL;
    memcpy(id, tail + 6, CSI_ACME_ID_LEN);
    id[CSI_ACME_ID_LEN] = '\0';
    return id;
}

static void serve_directory(acme_req *r)
{
    char *copy = strdup(r->acme->directory);

    set_body(r, 200, "application/json", copy);
}

static void route(acme_req *r)
{
    const cs_http_request *h = r->http;
    const char *tail = r->tail, *id;
    char acct[CSI_ACME_ID_LEN + 1];

    if (h->too_large) {
        csi_acme_problem(r, 413, "malformed", "request body over %d bytes",
                         CS_HANDLER_MAX_BODY);
        return;
    }
    if (strcmp(tail, "/directory") == 0 || strcmp(tail, "") == 0 || strcmp(tail, "/") == 0) {
        if (!is_get(h)) {
            csi_acme_problem(r, 405, "malformed", "the directory is read with GET");
            csi_acme_header(r, "Allow", "GET, HEAD");
            return;
        }
        serve_directory(r);
        return;
    }
    if (strcmp(tail, "/new-nonce") == 0) {
        /* RFC 8555 7.2: HEAD 200, GET 204, never cached */
        if (!is_get(h)) {
            csi_acme_problem(r, 405, "malformed", "newNonce is HEAD or GET");
            csi_acme_header(r, "Allow", "GET, HEAD");
            return;
        }
        set_body(r, strcmp(h->method, "HEAD") == 0 ? 200 : 204, "text/plain", strdup(""));
        return;
    }
    if (strcmp(h->method, "POST") != 0) {
        csi_acme_problem(r, 405, "malformed", "%s: only POST (RFC 8555 6.3: POST-as-GET)",
                         h->path);
        csi_acme_header(r, "Allow", "POST");
        return;
    }
    if (strcmp(tail, "/new-account") == 0)
        csi_acme_new_account(r);
    else if (strcmp(tail, "/new-order") == 0)
        csi_acme_new_order(r);
    else if (strcmp(tail, "/revoke-cert") == 0)
        csi_acme_revoke(r);
    else if (strcmp(tail, "/key-change") == 0)
        csi_acme_key_change(r);
    else if ((id = id_after(tail, "/acct/")))
        csi_acme_account_post(r, id);
    else if (orders_of(tail, acct))
        csi_acme_orders_post(r, acct);
    else if ((id = id_after(tail, "/order/")))
        csi_acme_order_post(r, id);
    else if ((id = id_after(tail, "/authz/")))
        csi_acme_authz_post(r, id);
    else if ((id = id_after(tail, "/chall/")))
        csi_acme_challenge_post(r, id);
    else if ((id = id_after(tail, "/finalize/")))
        csi_acme_finalize(r, id);
    else if ((id = id_after(tail, "/cert/")))
        csi_acme_cert_post(r, id);
    else
        csi_acme_problem(r, 404, "malformed", "no such ACME resource: %.200s", h->path);
}

/* The cs_request_fn: route, then what every reply carries (RFC 8555 6.5,
 * 7.1: a fresh nonce and the directory link, errors included). */
static void acme_serve(void *ctx, const cs_http_request *http, cs_http_reply *out)
{
    cs_acme *acme = ctx;
    acme_req r;
    char nonce[CSI_NONCE_LEN + 1], link[600];

    memset(&r, 0, sizeof r);
    r.acme = acme;
    r.http = http;
    r.out = out;
    r.tail = http->path + 5; /* after "/acme" */
    r.now = (int64_t)time(NULL);
    route(&r);
    csi_acme_req_clear(&r);
    if (csi_nonce_make(acme->nonces, nonce, NULL) == CS_OK)
        csi_acme_header(&r, "Replay-Nonce", nonce);
    snprintf(link, sizeof link, "<%s/acme/directory>;rel=\"index\"", acme->base_url);
    csi_acme_header(&r, "Link", link);
    csi_acme_header(&r, "Cache-Control", "no-store");
}

cs_handler cs_acme_handler(cs_acme *acme)
{
    cs_handler h;

    memset(&h, 0, sizeof h);
    h.prefix = "/acme";
    h.serve = acme_serve;
    h.ctx = acme;
    h.plain = 0;
    /* a request may wait ask_timeout_ms for the Lua loop (csi_acme_ask) */
    h.work_ms = acme->ask_timeout_ms;
    return h;
}

/* ---- the object ---- */

static cs_code make_directory(cs_acme *a, cs_err *err)
{
    char u[6][512];
    json_t *doc, *meta;

    csi_acme_url(a, u[0], sizeof u[0], "new-nonce", NULL);
    csi_acme_url(a, u[1], sizeof u[1], "new-account", NULL);
    csi_acme_url(a, u[2], sizeof u[2], "new-order", NULL);
    csi_acme_url(a, u[3], sizeof u[3], "revoke-cert", NULL);
    csi_acme_url(a, u[4], sizeof u[4], "key-change", NULL);
    meta = json_pack("{s:b}", "externalAccountRequired", a->eab_required);
    if (meta && a->terms)
        json_object_set_new(meta, "termsOfService", json_string(a->terms));
    doc = meta ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "newNonce", u[0], "newAccount",
                           u[1], "newOrder", u[2], "revokeCert", u[3], "keyChange", u[4],
                           "meta", meta)
               : NULL;
    a->directory = doc ? json_dumps(doc, JSON_COMPACT | JSON_INDENT(0)) : NULL;
    json_decref(doc);
    if (!a->directory)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory making the directory");
    return CS_OK;
}

/* base_url: http(s)://host[:port][/path], no trailing '/', no query. */
static int base_url_ok(const char *u)
{
    const char *host;

    if (strncmp(u, "https://", 8) == 0)
        host = u + 8;
    else if (strncmp(u, "http://", 7) == 0)
        host = u + 7;
    else
        return 0;
    if (!*host || *host == '/' || u[strlen(u) - 1] == '/' || strpbrk(u, "?#\"<> \t\r\n"))
        return 0;
    return 1;
}

static cs_code copy_config(const cs_acme_config *cfg, cs_acme *a, cs_err *err)
{
    size_t i;

    if (!cfg->db_path || !*cfg->db_path)
        return cs_err_set(err, CS_EINVAL, "acme: db: missing");
    if (!cfg->base_url || !base_url_ok(cfg->base_url))
        return cs_err_set(err, CS_EINVAL, "acme: base_url: must be http(s)://host[:port] "
                          "without a trailing '/' (got %.200s)",
                          cfg->base_url ? cfg->base_url : "nothing");
    if (cfg->terms && strpbrk(cfg->terms, "\r\n"))
        return cs_err_set(err, CS_EINVAL, "acme: terms: control characters");
    if (cfg->ask_timeout_ms < 0 || cfg->order_lifetime_s < 0 || cfg->nonce_capacity < 0)
        return cs_err_set(err, CS_EINVAL, "acme: ask_timeout_ms, order_lifetime, "
                          "nonce_capacity: must not be negative");
    if (cfg->eab_required && cfg->eab_keys_len == 0)
        return cs_err_set(err, CS_EINVAL, "acme: eab.required without eab.keys: nobody could "
                          "make an account");
    a->base_url = strdup(cfg->base_url);
    a->terms = cfg->terms ? strdup(cfg->terms) : NULL;
    a->chain_pem = cfg->chain_pem ? strdup(cfg->chain_pem) : NULL;
    if (!a->base_url || (cfg->terms && !a->terms) || (cfg->chain_pem && !a->chain_pem))
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
    a->eab_required = cfg->eab_required != 0;
    a->ask_timeout_ms = cfg->ask_timeout_ms ? cfg->ask_timeout_ms : 10000;
    a->order_lifetime_s = cfg->order_lifetime_s ? cfg->order_lifetime_s : 86400;
    if (cfg->eab_keys_len > 0) {
        a->eab = calloc(cfg->eab_keys_len, sizeof *a->eab);
        if (!a->eab)
            return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
        a->eab_len = cfg->eab_keys_len;
    }
    for (i = 0; i < cfg->eab_keys_len; i++) {
        const cs_acme_eab_key *k = &cfg->eab_keys[i];
        cs_err why = {CS_OK, ""};

        if (!k->kid || !*k->kid || strpbrk(k->kid, "\r\n\""))
            return cs_err_set(err, CS_EINVAL, "acme: eab.keys[%zu]: bad key id", i + 1);
        a->eab[i].kid = strdup(k->kid);
        if (!a->eab[i].kid)
            return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
        if (!k->hmac_b64url ||
            cs_b64url_decode(k->hmac_b64url, strlen(k->hmac_b64url), "hmac", &a->eab[i].key,
                             &a->eab[i].key_len, &why) != CS_OK || a->eab[i].key_len < 16)
            return cs_err_set(err, CS_EINVAL, "acme: eab.keys[%s]: the HMAC key must be "
                              "base64url of at least 16 bytes%s%s", k->kid,
                              why.msg[0] ? ": " : "", why.msg);
    }
    return CS_OK;
}

cs_code cs_acme_new(const cs_acme_config *cfg, cs_acme **out, cs_err *err)
{
    cs_validator_config vc;
    cs_acme *a;
    cs_code rc;

    if (!cfg || !out)
        return cs_err_set(err, CS_EINVAL, "acme: no config");
    a = calloc(1, sizeof *a);
    if (!a)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory");
    rc = copy_config(cfg, a, err);
    if (rc == CS_OK)
        rc = make_directory(a, err);
    if (rc == CS_OK)
        rc = csi_nonces_new((size_t)cfg->nonce_capacity, &a->nonces, err);
    if (rc == CS_OK)
        rc = csi_dq_new(&csi_acme_queue, &a->queue, err);
    if (rc == CS_OK)
        rc = csi_settle_new(&a->settle, err);
    if (rc == CS_OK)
        rc = csi_acme_db_open(cfg->db_path, &a->db, err);
    if (rc == CS_OK) {
        memset(&vc, 0, sizeof vc);
        vc.http_port = cfg->validation.http_port;
        vc.tls_port = cfg->validation.tls_port;
        vc.resolve = cfg->validation.resolve;
        vc.resolve_len = cfg->validation.resolve_len;
        vc.dns_resolver = cfg->validation.dns_resolver;
        vc.workers = cfg->validation.workers;
        vc.timeout_ms = cfg->validation.timeout_ms;
        rc = cs_validator_start(&vc, &a->validator, err);
    }
    if (rc == CS_OK) {
        /* finalize asks that a stopped server never saw answered: ask again */
        char (*ids)[CSI_ACME_ID_LEN + 1] = NULL;
        size_t n = 0, i;
        rc = csi_acme_db_orders_processing(a->db, &ids, &n, err);
        for (i = 0; rc == CS_OK && i < n; i++)
            rc = csi_acme_requeue_finalize(a, ids[i], err);
        free(ids);
    }
    if (rc != CS_OK) {
        cs_acme_free(a);
        return rc;
    }
    *out = a;
    return CS_OK;
}

void cs_acme_close(cs_acme *acme)
{
    if (acme) {
        csi_dq_close(acme->queue);
        csi_settle_close(acme->settle);
    }
}

void cs_acme_free(cs_acme *acme)
{
    size_t i;

    if (!acme)
        return;
    if (acme->queue)
        csi_dq_close(acme->queue);
    /* validations in flight call back into the database: stop them first */
    csi_settle_close(acme->settle);
    cs_validator_stop(acme->validator);
    csi_settle_free(acme->settle); /* after the validator: validated() notes */
    csi_dq_free(acme->queue);
    csi_nonces_free(acme->nonces);
    csi_acme_db_close(acme->db);
    for (i = 0; i < acme->eab_len; i++) {
        free(acme->eab[i].kid);
        if (acme->eab[i].key)
            OPENSSL_cleanse(acme->eab[i].key, acme->eab[i].key_len);
        free(acme->eab[i].key);
    }
    free(acme->eab);
    free(acme->directory);
    free(acme->chain_pem);
    free(acme->terms);
    free(acme->base_url);
    free(acme);
}

cs_code cs_acme_next(cs_acme *acme, int timeout_ms, cs_acme_ask **out, cs_err *err)
{
    if (!acme || !out)
        return cs_err_set(err, CS_EINVAL, "acme: next: no server");
    return csi_queue_next(acme->queue, timeout_ms, out, err);
}

/* Whether an answer fits an ask of kind (CS_EINVAL naming what does not). */
static cs_code check_answer(cs_acme_ask_kind kind, const cs_acme_decision *a, cs_err *err)
{
    size_t i;

    if (!a->ok) {
        if (a->type && !csi_acme_problem_known(a->type))
            return cs_err_set(err, CS_EINVAL, "acme: answer.type: %.60s is not an RFC 8555 "
                              "error type (e.g. rejectedIdentifier, badCSR, unauthorized)",
                              a->type);
        return CS_OK;
    }
    for (i = 0; kind == CS_ACME_ASK_ORDER && i < a->challenges_len; i++)
        if (!a->challenges[i] || cs_challenge_type_parse(a->challenges[i]) < 0)
            return cs_err_set(err, CS_EINVAL, "acme: answer.challenges[%zu]: %.40s is not "
                              "http-01, dns-01 or tls-alpn-01", i + 1,
                              a->challenges[i] ? a->challenges[i] : "nothing");
    if (kind == CS_ACME_ASK_FINALIZE && (!a->chain_pem || !*a->chain_pem))
        return cs_err_set(err, CS_EINVAL, "acme: answer.chain: a finalize answer needs the "
                          "certificate chain (PEM)");
    return CS_OK;
}

cs_code cs_acme_answer(cs_acme *acme, uint64_t id, const cs_acme_decision *a, cs_err *err)
{
    cs_acme_ask_kind kind;
    char order[CSI_ACME_ID_LEN + 1];
    cs_code rc;

    if (!acme || !a)
        return cs_err_set(err, CS_EINVAL, "acme: answer: nothing to answer with");
    rc = csi_queue_kind(acme->queue, id, &kind, err);
    if (rc == CS_OK)
        rc = check_answer(kind, a, err);
    if (rc == CS_OK)
        rc = csi_queue_answer(acme->queue, id, a, order, err);
    if (rc == CS_OK && order[0]) {
        rc = csi_acme_finalize_answer(acme, order, a, err);
        csi_settle_note(acme->settle, order); /* its finalize reply may be waiting */
    }
    return rc;
}
