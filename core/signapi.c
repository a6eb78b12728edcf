/* The signing API's handler (signapi.h, docs/api.md): routes, who is
 * asking (client certificate or one-time token), JSON in and out. */
#include "signapi.h"

#include <ctype.h>
#include <stdarg.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "csr.h"
#include "internal.h"
#include "jws.h"
#include "signapi_internal.h"
#include "store.h"

#define PREFIX "/api/v1"
#define TOKEN_MAX_LIFETIME 300 /* s: issue 12, "<= 5 min lifetime" */
#define TOKEN_SKEW 60          /* s: clocks of caller and CA may differ this much */
#define JTI_MAX 128
#define SERIAL_MAX 40          /* hex digits: RFC 5280 4.1.2.2, <= 20 octets */

typedef struct token_key {
    char *kid;
    cs_key *key;
} token_key;

struct cs_signapi {
    char *base_url;
    int mtls;
    token_key *keys;
    size_t keys_len;
    int ask_timeout_ms;
    pthread_mutex_t db_lock; /* store and db: one connection each, one thread at a time */
    cs_store *store;
    sqlite3 *db; /* the used token ids */
    csi_dq *queue;
};

/* Who asks (auth: "mtls" or "token"). */
typedef struct caller {
    const char *auth;
    char *client;
    char *client_serial;
    char *sub;
} caller;

static void caller_clear(caller *c)
{
    free(c->client);
    free(c->client_serial);
    free(c->sub);
    memset(c, 0, sizeof *c);
}

const char *cs_signapi_ask_kind_name(cs_signapi_ask_kind kind)
{
    return kind == CS_SIGNAPI_ASK_SIGN ? "sign" : "revoke";
}

void cs_signapi_ask_free(cs_signapi_ask *ask)
{
    if (!ask)
        return;
    free(ask->client);
    free(ask->client_serial);
    free(ask->sub);
    free(ask->csr_der);
    free(ask->profile);
    free(ask->serial_hex);
    free(ask);
}

/* ---- replies ---- */

/* A JSON reply; obj is taken. */
static void reply_json(cs_http_reply *out, int status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text) {
        out->status = 500;
        out->content_type = "text/plain";
        return;
    }
    out->status = status;
    out->content_type = "application/json";
    out->body = (unsigned char *)text;
    out->body_len = strlen(text);
}

static void reply_error(cs_http_reply *out, int status, const char *error, const char *detail)
{
    reply_json(out, status, json_pack("{s:s, s:s}", "error", error, "detail", detail));
}

static void reply_errorf(cs_http_reply *out, int status, const char *error, const char *fmt,
                         ...) CS_PRINTF(4, 5);
static void reply_errorf(cs_http_reply *out, int status, const char *error, const char *fmt,
                         ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    reply_error(out, status, error, detail);
}

static void add_header(cs_http_reply *out, const char *name, const char *value)
{
    cs_err err;
    if (cs_http_reply_header(out, name, value, &err) != CS_OK)
        out->status = 500;
}

static void unauthorized(cs_http_reply *out, const char *detail)
{
    reply_error(out, 401, "unauthorized", detail);
    add_header(out, "WWW-Authenticate", "Bearer");
}

/* ---- the database ---- */

/* The CA database: cs_store for certificates, and a connection of our own
 * for the used token ids (schema 4's acme_used_tokens, which cs_store_open
 * has made). */
static cs_code db_open(cs_signapi *api, const char *path, cs_err *err)
{
    cs_code rc = cs_store_open(path, &api->store, err);
    if (rc != CS_OK)
        return rc;
    if (sqlite3_open_v2(path, &api->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK)
        return cs_err_set(err, CS_EDB, "%s: %s", path,
                          api->db ? sqlite3_errmsg(api->db) : "out of memory");
    sqlite3_busy_timeout(api->db, 5000);
    return CS_OK;
}

/* Record jti as used until expires: 1 done, 0 used before, -1 failed. */
static int jti_use(cs_signapi *api, const char *jti, int64_t expires, int64_t now)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int result = -1;

    pthread_mutex_lock(&api->db_lock);
    if (sqlite3_prepare_v2(api->db, "DELETE FROM acme_used_tokens WHERE expires < ?", -1, &del,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(api->db, "INSERT INTO acme_used_tokens (jti, expires) VALUES (?, ?)",
                           -1, &ins, NULL) != SQLITE_OK)
        goto done;
    /* a token past its exp is refused anyway: its id need not be kept */
    sqlite3_bind_int64(del, 1, now - TOKEN_SKEW);
    if (sqlite3_step(del) != SQLITE_DONE)
        goto done;
    sqlite3_bind_text(ins, 1, jti, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, expires);
    int step = sqlite3_step(ins);
    if (step == SQLITE_DONE)
        result = 1;
    else if (step == SQLITE_CONSTRAINT)
        result = 0;
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    pthread_mutex_unlock(&api->db_lock);
    return result;
}

/* ---- who asks ---- */

static int from_mtls(cs_signapi *api, const cs_http_request *req, caller *who,
                     cs_http_reply *out)
{
    X509 *x = req->client_cert->x509;
    char *serial = cs_cert_serial_hex(req->client_cert);
    char *issuer = csi_name_oneline(X509_get_issuer_name(x));
    char *subject = csi_name_oneline(X509_get_subject_name(x));
    cs_revocation rev;
    cs_err err = {0};
    int ok = 0;

    if (!serial || !issuer || !subject) {
        reply_error(out, 500, "internal", "out of memory");
        goto done;
    }
    pthread_mutex_lock(&api->db_lock);
    cs_code rc = cs_store_status(api->store, issuer, serial, &rev, &err);
    pthread_mutex_unlock(&api->db_lock);
    if (rc != CS_OK) {
        reply_errorf(out, 503, "unavailable", "cannot read the client certificate's status: %s",
                     err.msg);
    } else if (rev.status == CS_STATUS_UNKNOWN) {
        reply_errorf(out, 403, "forbidden",
                     "client certificate %s was not issued by this CA (not in its records)",
                     serial);
    } else if (rev.status == CS_STATUS_REVOKED) {
        reply_errorf(out, 403, "forbidden", "client certificate %s is revoked", serial);
    } else {
        who->auth = "mtls";
        who->client = subject;
        who->client_serial = serial;
        subject = serial = NULL;
        ok = 1;
    }
done:
    free(subject);
    free(issuer);
    free(serial);
    return ok;
}

static const cs_key *key_of(const cs_signapi *api, const char *kid)
{
    for (size_t i = 0; kid && i < api->keys_len; i++)
        if (strcmp(api->keys[i].kid, kid) == 0)
            return api->keys[i].key;
    return NULL;
}

static int from_token(cs_signapi *api, const cs_http_request *req, const char *token,
                      caller *who, cs_http_reply *out)
{
    cs_jwt *jwt = NULL;
    json_t *claims = NULL;
    json_error_t jerr;
    cs_err err = {0};
    const char *aud, *jti, *sub = NULL, *iss = NULL;
    json_int_t exp, iat, nbf = 0;
    char url[2048];
    size_t len;
    int ok = 0;

    if (cs_jwt_parse(token, strlen(token), &jwt, &err) != CS_OK) {
        unauthorized(out, err.msg);
        goto done;
    }
    const cs_key *key = key_of(api, cs_jwt_kid(jwt));
    if (!key) {
        char detail[256];
        snprintf(detail, sizeof detail, "token: kid \"%.64s\" is not a key this CA knows",
                 cs_jwt_kid(jwt) ? cs_jwt_kid(jwt) : "(none)");
        unauthorized(out, detail);
        goto done;
    }
    if (cs_jwt_verify(jwt, key, &err) != CS_OK) {
        unauthorized(out, err.msg);
        goto done;
    }
    const char *text = cs_jwt_claims(jwt, &len);
    claims = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!claims || json_unpack_ex(claims, &jerr, JSON_STRICT, "{s:s, s:I, s:I, s:s, s?s, s?I, s?s}",
                                  "aud", &aud, "exp", &exp, "iat", &iat, "jti", &jti, "sub",
                                  &sub, "nbf", &nbf, "iss", &iss) != 0) {
        char detail[300];
        snprintf(detail, sizeof detail,
                 "token claims: want aud, exp, iat, jti (and optionally sub, nbf, iss): %s",
                 jerr.text);
        unauthorized(out, detail);
        goto done;
    }
    snprintf(url, sizeof url, "%s%s", api->base_url, req->path);
    int64_t now = (int64_t)time(NULL);
    char detail[2600];
    detail[0] = '\0';
    if (strcmp(aud, url) != 0)
        snprintf(detail, sizeof detail, "token: aud \"%.500s\" is not this URL, %.500s", aud,
                 url);
    else if (exp <= now)
        snprintf(detail, sizeof detail, "token: expired %lld s ago",
                 (long long)(now - exp));
    else if (iat > now + TOKEN_SKEW || nbf > now + TOKEN_SKEW)
        snprintf(detail, sizeof detail, "token: issued or valid only in the future");
    else if (exp <= iat || exp - iat > TOKEN_MAX_LIFETIME)
        snprintf(detail, sizeof detail,
                 "token: lives %lld s (exp - iat); at most %d s are allowed",
                 (long long)(exp - iat), TOKEN_MAX_LIFETIME);
    else if (jti[0] == '\0' || strlen(jti) > JTI_MAX)
        snprintf(detail, sizeof detail, "token: jti must be 1 to %d characters", JTI_MAX);
    if (detail[0]) {
        unauthorized(out, detail);
        goto done;
    }
    int used = jti_use(api, jti, exp, now);
    if (used < 0) {
        reply_error(out, 503, "unavailable", "cannot record the token id");
        goto done;
    }
    if (used == 0) {
        snprintf(detail, sizeof detail, "token: jti \"%.200s\" was used before", jti);
        unauthorized(out, detail);
        goto done;
    }
    who->auth = "token";
    who->client = strdup(cs_jwt_kid(jwt));
    who->sub = sub ? strdup(sub) : NULL;
    if (!who->client || (sub && !who->sub)) {
        caller_clear(who);
        reply_error(out, 500, "internal", "out of memory");
        goto done;
    }
    ok = 1;
done:
    json_decref(claims);
    cs_jwt_free(jwt);
    return ok;
}

/* 1 and *who filled, or 0 with the refusal in out. */
static int authenticate(cs_signapi *api, const cs_http_request *req, caller *who,
                        cs_http_reply *out)
{
    if (api->mtls && req->client_cert)
        return from_mtls(api, req, who, out);
    if (api->keys_len > 0 && req->authorization &&
        strncmp(req->authorization, "Bearer ", 7) == 0) {
        const char *t = req->authorization + 7;
        while (*t == ' ')
            t++;
        return from_token(api, req, t, who, out);
    }
    if (api->mtls && api->keys_len > 0)
        unauthorized(out, "send a client certificate this CA issued, or "
                          "\"Authorization: Bearer <token>\"");
    else if (api->mtls)
        reply_error(out, 401, "unauthorized", "send a client certificate this CA issued");
    else
        unauthorized(out, "send \"Authorization: Bearer <token>\"");
    return 0;
}

/* ---- the endpoints ---- */

static int is_json(const cs_http_request *req)
{
    const char *t = req->content_type;
    if (!t || strncasecmp(t, "application/json", 16) != 0)
        return 0;
    return t[16] == '\0' || t[16] == ';' || t[16] == ' ';
}

/* A serial as the store spells it: 1 to 40 hex digits, upper-cased into out. */
static int serial_ok(const char *s, char out[SERIAL_MAX + 1])
{
    size_t n = strlen(s);
    if (n == 0 || n > SERIAL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return 0;
        out[i] = (char)toupper((unsigned char)s[i]);
    }
    out[n] = '\0';
    return 1;
}

/* The body as a JSON object unpacked strictly by fmt; 0 with the reply set. */
static json_t *body_json(const cs_http_request *req, cs_http_reply *out)
{
    json_error_t jerr;
    if (!is_json(req)) {
        reply_error(out, 415, "unsupportedMediaType", "send Content-Type: application/json");
        return NULL;
    }
    json_t *root = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES,
                              &jerr);
    if (!root || !json_is_object(root)) {
        reply_errorf(out, 400, "malformed", "body: %s%s", root ? "not a JSON object" : "not JSON: ",
                     root ? "" : jerr.text);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Queue ask and turn the outcome into a reply; *answer set on an ok answer. */
static int ask_lua(cs_signapi *api, cs_signapi_ask *ask, csi_sa_answer **answer,
                   cs_http_reply *out)
{
    csi_sa_answer *a = NULL;
    switch (csi_sa_queue_ask(api->queue, ask, api->ask_timeout_ms, &a)) {
    case CSI_WAIT_ANSWERED:
        break;
    case CSI_WAIT_NOMEM:
        reply_error(out, 500, "internal", "out of memory");
        return 0;
    case CSI_WAIT_CLOSED:
        reply_error(out, 503, "unavailable", "the CA is shutting down");
        add_header(out, "Retry-After", "5");
        return 0;
    default:
        reply_error(out, 503, "unavailable", "policy did not answer in time; try again");
        add_header(out, "Retry-After", "5");
        return 0;
    }
    if (!a->ok) {
        const char *e = a->error ? a->error : "rejected";
        int status = strcmp(e, "badCSR") == 0 || strcmp(e, "badProfile") == 0 ? 400
                     : strcmp(e, "internal") == 0                              ? 500
                                                                               : 403;
        reply_error(out, status, e, a->detail ? a->detail : "refused by policy");
        csi_sa_answer_free(a);
        return 0;
    }
    *answer = a;
    return 1;
}

static cs_signapi_ask *new_ask(cs_signapi_ask_kind kind, caller *who)
{
    cs_signapi_ask *ask = calloc(1, sizeof *ask);
    if (!ask)
        return NULL;
    ask->kind = kind;
    ask->auth = who->auth;
    ask->client = who->client;
    ask->client_serial = who->client_serial;
    ask->sub = who->sub;
    who->client = who->client_serial = who->sub = NULL;
    return ask;
}

static void do_sign(cs_signapi *api, const cs_http_request *req, caller *who,
                    cs_http_reply *out)
{
    json_t *root = body_json(req, out);
    json_error_t jerr;
    const char *csr_pem, *profile = NULL;
    cs_csr *csr = NULL;
    cs_signapi_ask *ask = NULL;
    csi_sa_answer *a = NULL;
    cs_err err = {0};

    if (!root)
        return;
    if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s?s}", "csr", &csr_pem, "profile",
                       &profile) != 0) {
        reply_errorf(out, 400, "malformed", "body: want {\"csr\": PEM, \"profile\": name}: %s",
                     jerr.text);
        goto done;
    }
    if (cs_csr_load(csr_pem, strlen(csr_pem), "csr", &csr, &err) != CS_OK ||
        cs_csr_verify(csr, "csr", &err) != CS_OK) {
        reply_error(out, 400, "badCSR", err.msg);
        goto done;
    }
    ask = new_ask(CS_SIGNAPI_ASK_SIGN, who);
    if (!ask || (profile && !(ask->profile = strdup(profile))) ||
        cs_csr_der(csr, &ask->csr_der, &ask->csr_len, &err) != CS_OK) {
        reply_error(out, 500, "internal", "out of memory");
        goto done;
    }
    cs_signapi_ask *asked = ask;
    ask = NULL;
    if (!ask_lua(api, asked, &a, out))
        goto done;
    /* the leaf: the chain's first PEM block */
    const char *end = strstr(a->chain_pem, "-----END CERTIFICATE-----");
    size_t leaf_len = end ? (size_t)(end - a->chain_pem) + 25 : strlen(a->chain_pem);
    char location[128];
    snprintf(location, sizeof location, PREFIX "/certificates/%s", a->serial_hex);
    reply_json(out, 201, json_pack("{s:s, s:s%, s:s}", "serial", a->serial_hex, "certificate",
                                   a->chain_pem, leaf_len, "chain", a->chain_pem));
    add_header(out, "Location", location);
done:
    csi_sa_answer_free(a);
    cs_signapi_ask_free(ask);
    cs_csr_free(csr);
    json_decref(root);
}

static void do_revoke(cs_signapi *api, const cs_http_request *req, caller *who,
                      cs_http_reply *out)
{
    json_t *root = body_json(req, out);
    json_error_t jerr;
    const char *serial, *reason_name = NULL;
    char hex[SERIAL_MAX + 1];
    int reason = 0;
    cs_revocation rev;
    cs_signapi_ask *ask = NULL;
    csi_sa_answer *a = NULL;
    cs_err err = {0};

    if (!root)
        return;
    if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s?s}", "serial", &serial, "reason",
                       &reason_name) != 0) {
        reply_errorf(out, 400, "malformed",
                     "body: want {\"serial\": hex, \"reason\": name}: %s", jerr.text);
        goto done;
    }
    if (!serial_ok(serial, hex)) {
        reply_error(out, 400, "malformed", "serial: want 1 to 40 hex digits");
        goto done;
    }
    if (reason_name && (reason = cs_crl_reason_code(reason_name)) < 0) {
        reply_errorf(out, 400, "malformed",
                     "reason \"%.64s\" is not one we take (RFC 5280 names: keyCompromise, "
                     "superseded, cessationOfOperation, affiliationChanged, ...)", reason_name);
        goto done;
    }
    pthread_mutex_lock(&api->db_lock);
    cs_code rc = cs_store_status(api->store, NULL, hex, &rev, &err);
    pthread_mutex_unlock(&api->db_lock);
    if (rc != CS_OK) {
        reply_error(out, rc == CS_EINVAL ? 400 : 503, rc == CS_EINVAL ? "malformed" : "unavailable",
                    err.msg);
        goto done;
    }
    if (rev.status == CS_STATUS_UNKNOWN) {
        reply_errorf(out, 404, "notFound", "no certificate with serial %s", hex);
        goto done;
    }
    if (rev.status == CS_STATUS_REVOKED) {
        reply_errorf(out, 409, "alreadyRevoked", "certificate %s is already revoked", hex);
        goto done;
    }
    ask = new_ask(CS_SIGNAPI_ASK_REVOKE, who);
    if (!ask || !(ask->serial_hex = strdup(hex))) {
        reply_error(out, 500, "internal", "out of memory");
        goto done;
    }
    ask->reason = reason;
    cs_signapi_ask *asked = ask;
    ask = NULL;
    if (!ask_lua(api, asked, &a, out))
        goto done;
    reply_json(out, 200, json_pack("{s:s, s:s, s:s}", "serial", hex, "status", "revoked",
                                   "reason", cs_crl_reason_name(reason)));
done:
    csi_sa_answer_free(a);
    cs_signapi_ask_free(ask);
    json_decref(root);
}

static void do_certificate(cs_signapi *api, const char *serial, cs_http_reply *out)
{
    char hex[SERIAL_MAX + 1];
    cs_cert *cert = NULL;
    char *profile = NULL, *pem = NULL, *subject = NULL;
    size_t pem_len = 0;
    cs_revocation rev;
    cs_err err = {0};

    if (!serial_ok(serial, hex)) {
        reply_error(out, 400, "malformed", "serial: want 1 to 40 hex digits");
        return;
    }
    pthread_mutex_lock(&api->db_lock);
    cs_code rc = cs_store_find(api->store, hex, NULL, &cert, &profile, &err);
    if (rc == CS_OK)
        rc = cs_store_status(api->store, NULL, hex, &rev, &err);
    pthread_mutex_unlock(&api->db_lock);
    if (rc == CS_ENOENT) {
        reply_errorf(out, 404, "notFound", "no certificate with serial %s", hex);
        goto done;
    }
    if (rc != CS_OK) {
        reply_error(out, rc == CS_EINVAL ? 400 : 503, rc == CS_EINVAL ? "malformed" : "unavailable",
                    err.msg);
        goto done;
    }
    subject = csi_name_oneline(X509_get_subject_name(cert->x509));
    if (!subject || cs_cert_pem(cert, &pem, &pem_len, &err) != CS_OK) {
        reply_error(out, 500, "internal", "out of memory");
        goto done;
    }
    json_t *obj = json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s%}", "serial", hex, "status",
                            rev.status == CS_STATUS_REVOKED ? "revoked" : "good", "subject",
                            subject, "not_after", (json_int_t)cs_cert_not_after(cert), "profile",
                            profile, "certificate", pem, pem_len);
    if (obj && rev.status == CS_STATUS_REVOKED) {
        json_object_set_new(obj, "revoked_at", json_integer(rev.revoked_at));
        const char *name = cs_crl_reason_name(rev.reason);
        json_object_set_new(obj, "reason", name ? json_string(name) : json_null());
    }
    reply_json(out, 200, obj);
done:
    free(pem);
    free(subject);
    free(profile);
    cs_cert_free(cert);
}

static void serve(void *ctx, const cs_http_request *req, cs_http_reply *out)
{
    cs_signapi *api = ctx;
    const char *rest = req->path + strlen(PREFIX);
    caller who = {0};
    int get = strcmp(req->method, "GET") == 0;
    int post = strcmp(req->method, "POST") == 0;
    enum { SIGN, REVOKE, CERTIFICATE } what;

    out->headers = NULL;
    if (strcmp(rest, "/sign") == 0) {
        what = SIGN;
    } else if (strcmp(rest, "/revoke") == 0) {
        what = REVOKE;
    } else if (strncmp(rest, "/certificates/", 14) == 0 && rest[14] &&
               !strchr(rest + 14, '/')) {
        what = CERTIFICATE;
    } else {
        reply_errorf(out, 404, "notFound", "no such endpoint: %.200s (see docs/api.md)",
                     req->path);
        return;
    }
    if ((what == CERTIFICATE && !get) || (what != CERTIFICATE && !post)) {
        reply_errorf(out, 405, "methodNotAllowed", "%.200s takes %s only", req->path,
                     what == CERTIFICATE ? "GET" : "POST");
        add_header(out, "Allow", what == CERTIFICATE ? "GET" : "POST");
        return;
    }
    if (req->too_large) {
        reply_errorf(out, 413, "tooLarge", "the body is over %d bytes", CS_HANDLER_MAX_BODY);
        return;
    }
    if (!authenticate(api, req, &who, out))
        return;
    if (what == SIGN)
        do_sign(api, req, &who, out);
    else if (what == REVOKE)
        do_revoke(api, req, &who, out);
    else
        do_certificate(api, rest + 14, out);
    caller_clear(&who);
}

/* ---- set-up ---- */

cs_code cs_signapi_new(const cs_signapi_config *cfg, cs_signapi **out, cs_err *err)
{
    cs_signapi *api = NULL;
    cs_code rc = CS_OK;

    if (!cfg->db_path)
        return cs_err_set(err, CS_EINVAL, "signapi: db is required");
    if (!cfg->base_url || strncmp(cfg->base_url, "https://", 8) != 0 || !cfg->base_url[8] ||
        cfg->base_url[strlen(cfg->base_url) - 1] == '/')
        return cs_err_set(err, CS_EINVAL,
                          "signapi: base_url must be https://host[:port], no trailing '/'");
    if (!cfg->mtls && cfg->token_keys_len == 0)
        return cs_err_set(err, CS_EINVAL,
                          "signapi: no way to authenticate: enable mtls or give token keys");
    api = calloc(1, sizeof *api);
    if (!api)
        return cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
    pthread_mutex_init(&api->db_lock, NULL);
    api->mtls = cfg->mtls != 0;
    api->ask_timeout_ms = cfg->ask_timeout_ms > 0 ? cfg->ask_timeout_ms : 10000;
    api->base_url = strdup(cfg->base_url);
    api->keys = cfg->token_keys_len ? calloc(cfg->token_keys_len, sizeof *api->keys) : NULL;
    if (!api->base_url || (cfg->token_keys_len && !api->keys)) {
        rc = cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
        goto done;
    }
    for (size_t i = 0; i < cfg->token_keys_len; i++) {
        const cs_signapi_token_key *k = &cfg->token_keys[i];
        if (!k->kid || !k->kid[0] || !k->public_pem) {
            rc = cs_err_set(err, CS_EINVAL, "signapi: token key %zu: kid and key are required",
                            i + 1);
            goto done;
        }
        if (key_of(api, k->kid)) {
            rc = cs_err_set(err, CS_EINVAL, "signapi: token key \"%s\" given twice", k->kid);
            goto done;
        }
        cs_key *key = NULL;
        rc = cs_key_load_public(k->public_pem, strlen(k->public_pem), k->kid, &key, err);
        if (rc != CS_OK)
            goto done;
        if (!cs_key_curve(key) || strcmp(cs_key_curve(key), "P-256") != 0) {
            cs_key_free(key);
            rc = cs_err_set(err, CS_EINVAL, "signapi: token key \"%s\": ES256 needs a P-256 key",
                            k->kid);
            goto done;
        }
        api->keys[i].key = key;
        api->keys[i].kid = strdup(k->kid);
        api->keys_len = i + 1;
        if (!api->keys[i].kid) {
            rc = cs_err_set(err, CS_ENOMEM, "signapi: out of memory");
            goto done;
        }
    }
    rc = db_open(api, cfg->db_path, err);
    if (rc == CS_OK)
        rc = csi_dq_new(&csi_sa_queue, &api->queue, err);
    if (rc != CS_OK)
        goto done;
    *out = api;
    api = NULL;
done:
    cs_signapi_free(api);
    return rc;
}

void cs_signapi_free(cs_signapi *api)
{
    if (!api)
        return;
    if (api->queue) {
        csi_dq_close(api->queue);
        csi_dq_free(api->queue);
    }
    sqlite3_close(api->db);
    cs_store_close(api->store);
    for (size_t i = 0; i < api->keys_len; i++) {
        free(api->keys[i].kid);
        cs_key_free(api->keys[i].key);
    }
    free(api->keys);
    free(api->base_url);
    pthread_mutex_destroy(&api->db_lock);
    free(api);
}

cs_handler cs_signapi_handler(cs_signapi *api)
{
    cs_handler h;
    memset(&h, 0, sizeof h);
    h.prefix = PREFIX;
    h.ctx = api;
    h.serve = serve;
    /* a request may wait ask_timeout_ms for the Lua loop (ask_lua) */
    h.work_ms = api->ask_timeout_ms;
    return h;
}

cs_code cs_signapi_next(cs_signapi *api, int timeout_ms, cs_signapi_ask **out, cs_err *err)
{
    void *ask = NULL;
    cs_code rc = csi_dq_next(api->queue, timeout_ms, &ask, err);

    if (rc == CS_OK)
        *out = ask;
    return rc;
}

cs_code cs_signapi_answer(cs_signapi *api, uint64_t id, const cs_signapi_decision *a,
                          cs_err *err)
{
    return csi_sa_queue_answer(api->queue, id, a, err);
}

void cs_signapi_close(cs_signapi *api)
{
    csi_dq_close(api->queue);
}
