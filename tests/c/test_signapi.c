/* core/signapi.c: the signing API on a real cs_server on 127.0.0.1, driven
 * by curl, with client certificates this CA issued (and one revoked, one it
 * never recorded) and one-time ES256 tokens made by josepy
 * (tests/c/make_jwt.py). A thread stands in for the Lua main loop: it takes
 * the asks and issues or revokes through its own connection to the CA
 * database, as serve.lua would. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "csr.h"
#include "fixtures.h"
#include "server.h"
#include "signapi.h"
#include "store.h"

#define BASE "https://ca.test:8443"

static cs_signapi *api;
static cs_cert *root;
static cs_key *root_key;
static char db_path[256];
static int port;

/* What the policy thread saw, for the checks. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_auth[16], seen_client[256], seen_sub[64], seen_profile[64];
static int seen_reason = -1;

static void remember(const cs_signapi_ask *ask)
{
    pthread_mutex_lock(&seen_lock);
    snprintf(seen_auth, sizeof seen_auth, "%s", ask->auth ? ask->auth : "");
    snprintf(seen_client, sizeof seen_client, "%s", ask->client ? ask->client : "");
    snprintf(seen_sub, sizeof seen_sub, "%s", ask->sub ? ask->sub : "");
    snprintf(seen_profile, sizeof seen_profile, "%s", ask->profile ? ask->profile : "");
    if (ask->kind == CS_SIGNAPI_ASK_REVOKE)
        seen_reason = ask->reason;
    pthread_mutex_unlock(&seen_lock);
}

/* Issue what a SIGN ask carries: the CSR's key, a fixed server profile. */
static void issue(cs_store *s, const cs_signapi_ask *ask)
{
    static const cs_rdn subject[] = {{"CN", "api.test"}};
    static const char *const eku[] = {"serverAuth"};
    static const cs_name san[] = {{CS_NAME_DNS, "api.test"}};
    cs_cert_spec spec = fx_leaf_spec(subject, 1, eku, san, 1, 30);
    cs_csr *csr = NULL;
    cs_key *key = NULL;
    cs_cert *leaf = NULL;
    char *leaf_pem = NULL, *root_pem = NULL, *serial = NULL, chain[16384];
    size_t n;
    cs_err err = {0};
    cs_signapi_decision d = {0};

    if (cs_csr_load((const char *)ask->csr_der, ask->csr_len, "csr", &csr, &err) == CS_OK &&
        cs_csr_public_key(csr, &key, &err) == CS_OK &&
        cs_store_issue(s, &spec, key, root, root_key, ask->profile ? ask->profile : "server",
                       &leaf, &err) == CS_OK &&
        cs_cert_pem(leaf, &leaf_pem, &n, &err) == CS_OK &&
        cs_cert_pem(root, &root_pem, &n, &err) == CS_OK) {
        serial = cs_cert_serial_hex(leaf);
        snprintf(chain, sizeof chain, "%s%s", leaf_pem, root_pem);
        d.ok = 1;
        d.chain_pem = chain;
        d.serial_hex = serial;
    } else {
        d.error = "badCSR";
        d.detail = err.msg;
    }
    if (cs_signapi_answer(api, ask->id, &d, &err) != CS_OK)
        fprintf(stderr, "policy: answer: %s\n", err.msg);
    free(serial);
    free(root_pem);
    free(leaf_pem);
    cs_cert_free(leaf);
    cs_key_free(key);
    cs_csr_free(csr);
}

/* The stand-in for the Lua main loop. */
static void *policy(void *arg)
{
    cs_store *s = NULL;
    cs_err err = {0};
    (void)arg;

    if (cs_store_open(db_path, &s, &err) != CS_OK) {
        fprintf(stderr, "policy: %s\n", err.msg);
        return NULL;
    }
    for (;;) {
        cs_signapi_ask *ask = NULL;
        if (cs_signapi_next(api, 200, &ask, &err) != CS_OK)
            break; /* closed */
        if (!ask)
            continue;
        remember(ask);
        cs_signapi_decision d = {0};
        if (ask->kind == CS_SIGNAPI_ASK_SIGN && ask->profile &&
            strcmp(ask->profile, "slow") == 0) {
            /* never answered: the request gives up (503); a late answer finds nobody */
            cs_signapi_ask_free(ask);
            continue;
        }
        if (ask->kind == CS_SIGNAPI_ASK_SIGN && ask->profile &&
            strcmp(ask->profile, "forbidden") == 0) {
            d.error = "rejected";
            d.detail = "profile forbidden: not for API clients (rule api-profiles)";
            if (cs_signapi_answer(api, ask->id, &d, &err) != CS_OK)
                fprintf(stderr, "policy: answer: %s\n", err.msg);
        } else if (ask->kind == CS_SIGNAPI_ASK_SIGN) {
            issue(s, ask);
        } else {
            if (cs_store_revoke(s, ask->serial_hex, NULL, ask->reason, (int64_t)time(NULL),
                                &err) == CS_OK) {
                d.ok = 1;
            } else {
                d.error = "rejected";
                d.detail = err.msg;
            }
            if (cs_signapi_answer(api, ask->id, &d, &err) != CS_OK)
                fprintf(stderr, "policy: answer: %s\n", err.msg);
        }
        cs_signapi_ask_free(ask);
    }
    cs_store_close(s);
    return NULL;
}

/* ---- curl ---- */

/* curl's answer: status (from -w) and the body. auth: curl options
 * ("--cert client.pem --key client.key" or "-H 'Authorization: Bearer ...'"). */
static int call(const char *method, const char *path, const char *auth, const char *type,
                const char *body_file, char *body, size_t cap)
{
    char out[65536];
    char data[300] = "";
    char ctype[200] = "";
    if (body_file)
        snprintf(data, sizeof data, "--data-binary @%s", body_file);
    if (type)
        snprintf(ctype, sizeof ctype, "-H 'Content-Type: %s'", type);
    int rc = fx_run(out, sizeof out,
                    "curl -sS --max-time 30 --cacert root.pem --resolve localhost:%d:127.0.0.1 "
                    "-X %s %s %s %s -w '\\n%%{http_code}' https://localhost:%d%s",
                    port, method, auth ? auth : "", ctype, data, port, path);
    if (rc != 0) {
        fprintf(stderr, "curl failed (%d): %s\n", rc, out);
        return -1;
    }
    char *nl = strrchr(out, '\n');
    if (!nl)
        return -1;
    *nl = '\0';
    snprintf(body, cap, "%s", out);
    return atoi(nl + 1);
}

static void write_text(const char *name, const char *text)
{
    char path[256];
    fx_path(path, sizeof path, name);
    fx_check_write(path, text, strlen(text));
}

/* body's member name as a string ("" if none). */
static const char *member(json_t *obj, const char *name)
{
    const json_t *v = obj ? json_object_get(obj, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *parse(const char *body)
{
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    if (!j)
        fprintf(stderr, "not JSON: %s\n", body);
    return j;
}

/* The JSON request for a CSR in csr.pem, with profile (NULL: none). */
static void write_sign_request(const char *file, const char *profile)
{
    size_t len = 0;
    char *pem = fx_read_file("csr.pem", &len);
    json_t *req = json_pack("{s:s%}", "csr", pem ? pem : "", pem ? len : 0);
    if (profile)
        json_object_set_new(req, "profile", json_string(profile));
    char *text = json_dumps(req, JSON_COMPACT);
    write_text(file, text);
    free(text);
    json_decref(req);
    free(pem);
}

#define MTLS "--cert client.pem --key client.key"

static char token_auth[2200];

/* "-H 'Authorization: Bearer <JWT by josepy>'" into token_auth. */
static const char *token(const char *key_file, const char *kid, const char *aud,
                         const char *jti, long iat_off, long exp_off, const char *extra)
{
    char out[2048], claims[1024];
    long now = (long)time(NULL);
    snprintf(claims, sizeof claims,
             "{\"aud\":\"%s\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"%s\"%s}", aud, now + iat_off,
             now + exp_off, jti, extra ? extra : "");
    if (fx_run(out, sizeof out, "%s %s/tests/c/make_jwt.py %s %s '%s'", CS_PYTHON3,
               CS_SOURCE_DIR, key_file, kid, claims) != 0) {
        fprintf(stderr, "make_jwt.py failed\n");
        check_failed++;
    }
    out[strcspn(out, "\n")] = '\0';
    snprintf(token_auth, sizeof token_auth, "-H 'Authorization: Bearer %s'", out);
    return token_auth;
}

static void test_mtls(void)
{
    char body[65536], path[128], serial[64];
    json_t *j;
    int64_t before = 0, after = 0;
    cs_store *s = NULL;
    cs_err err = {0};

    CHECK_OK(cs_store_open(db_path, &s, &err), &err);

    /* sign: 201, the chain verifies with openssl trusting only the root */
    write_sign_request("sign.json", "server");
    CHECK(call("POST", "/api/v1/sign", MTLS, "application/json", "sign.json", body,
               sizeof body) == 201);
    j = parse(body);
    snprintf(serial, sizeof serial, "%s", member(j, "serial"));
    CHECK(serial[0] != '\0');
    CHECK(strstr(member(j, "chain"), "BEGIN CERTIFICATE") != NULL);
    write_text("issued.pem", member(j, "chain"));
    write_text("leaf.pem", member(j, "certificate"));
    CHECK(fx_run(NULL, 0, "openssl verify -CAfile root.pem leaf.pem") == 0);
    CHECK(fx_run(NULL, 0, "openssl x509 -in leaf.pem -noout -serial | grep -qi '=%s$'",
                 serial) == 0);
    json_decref(j);
    pthread_mutex_lock(&seen_lock);
    CHECK(strcmp(seen_auth, "mtls") == 0);
    CHECK(strstr(seen_client, "CN=robot") != NULL);
    CHECK(strcmp(seen_profile, "server") == 0);
    pthread_mutex_unlock(&seen_lock);

    /* read it back */
    snprintf(path, sizeof path, "/api/v1/certificates/%s", serial);
    CHECK(call("GET", path, MTLS, NULL, NULL, body, sizeof body) == 200);
    j = parse(body);
    CHECK(strcmp(member(j, "status"), "good") == 0);
    CHECK(strcmp(member(j, "profile"), "server") == 0);
    CHECK(strstr(member(j, "subject"), "CN=api.test") != NULL);
    json_decref(j);

    /* revoke, then it reads as revoked; a second revoke is a conflict */
    char req[256];
    snprintf(req, sizeof req, "{\"serial\":\"%s\",\"reason\":\"keyCompromise\"}", serial);
    write_text("revoke.json", req);
    CHECK(call("POST", "/api/v1/revoke", MTLS, "application/json", "revoke.json", body,
               sizeof body) == 200);
    j = parse(body);
    CHECK(strcmp(member(j, "status"), "revoked") == 0);
    json_decref(j);
    pthread_mutex_lock(&seen_lock);
    CHECK(seen_reason == 1);
    pthread_mutex_unlock(&seen_lock);
    CHECK(call("GET", path, MTLS, NULL, NULL, body, sizeof body) == 200);
    j = parse(body);
    CHECK(strcmp(member(j, "status"), "revoked") == 0);
    CHECK(strcmp(member(j, "reason"), "keyCompromise") == 0);
    json_decref(j);
    CHECK(call("POST", "/api/v1/revoke", MTLS, "application/json", "revoke.json", body,
               sizeof body) == 409);
    CHECK(strstr(body, "already revoked") != NULL);

    /* refusals change nothing */
    CHECK_OK(cs_store_count(s, &before, &err), &err);
    write_sign_request("forbidden.json", "forbidden");
    CHECK(call("POST", "/api/v1/sign", MTLS, "application/json", "forbidden.json", body,
               sizeof body) == 403);
    CHECK(strstr(body, "\"error\":\"rejected\"") && strstr(body, "rule api-profiles"));
    write_text("dup.json", "{\"csr\":\"x\",\"csr\":\"y\"}");
    CHECK(call("POST", "/api/v1/sign", MTLS, "application/json", "dup.json", body,
               sizeof body) == 400);
    CHECK(strstr(body, "duplicate object key") != NULL);
    write_text("extra.json", "{\"csr\":\"x\",\"profile\":\"server\",\"days\":999}");
    CHECK(call("POST", "/api/v1/sign", MTLS, "application/json", "extra.json", body,
               sizeof body) == 400);
    CHECK(strstr(body, "days") != NULL);
    write_text("badcsr.json", "{\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n"
                              "-----END CERTIFICATE REQUEST-----\\n\"}");
    CHECK(call("POST", "/api/v1/sign", MTLS, "application/json", "badcsr.json", body,
               sizeof body) == 400);
    CHECK(strstr(body, "\"error\":\"badCSR\"") != NULL);
    CHECK(call("POST", "/api/v1/sign", MTLS, "text/plain", "sign.json", body, sizeof body) ==
          415);
    CHECK(call("GET", "/api/v1/sign", MTLS, NULL, NULL, body, sizeof body) == 405);
    CHECK(call("POST", "/api/v1/nothing", MTLS, "application/json", "sign.json", body,
               sizeof body) == 404);
    CHECK(call("GET", "/api/v1/certificates/XYZ", MTLS, NULL, NULL, body, sizeof body) == 400);
    CHECK(call("GET", "/api/v1/certificates/0123456789ABCDEF", MTLS, NULL, NULL, body,
               sizeof body) == 404);
    write_text("unknown.json", "{\"serial\":\"0123456789ABCDEF\"}");
    CHECK(call("POST", "/api/v1/revoke", MTLS, "application/json", "unknown.json", body,
               sizeof body) == 404);
    snprintf(req, sizeof req, "{\"serial\":\"%s\",\"reason\":\"certificateHold\"}", serial);
    write_text("hold.json", req);
    CHECK(call("POST", "/api/v1/revoke", MTLS, "application/json", "hold.json", body,
               sizeof body) == 400);
    /* 100 KB of JSON */
    CHECK(fx_run(NULL, 0, "head -c 100000 /dev/zero | tr '\\0' ' ' > big.json") == 0);
    CHECK(call("POST", "/api/v1/sign", MTLS, "application/json", "big.json", body,
               sizeof body) == 413);
    CHECK_OK(cs_store_count(s, &after, &err), &err);
    CHECK(before == after);

    /* no way in: no certificate, no token; a revoked one; one not recorded */
    CHECK(call("POST", "/api/v1/sign", NULL, "application/json", "sign.json", body,
               sizeof body) == 401);
    CHECK(call("POST", "/api/v1/sign", "--cert revoked.pem --key client.key",
               "application/json", "sign.json", body, sizeof body) == 403);
    CHECK(strstr(body, "is revoked") != NULL);
    CHECK(call("POST", "/api/v1/sign", "--cert stranger.pem --key client.key",
               "application/json", "sign.json", body, sizeof body) == 403);
    CHECK(strstr(body, "not issued by this CA") != NULL);
    CHECK_OK(cs_store_count(s, &after, &err), &err);
    CHECK(before == after);
    cs_store_close(s);
}

static void test_tokens(void)
{
    char body[65536];
    const char *sign_url = BASE "/api/v1/sign";

    /* a good token: 201, the ask names the kid and sub */
    token("token.key", "robot-1", sign_url, "jti-1", 0, 120, ",\"sub\":\"deploy-bot\"");
    char first[2200];
    snprintf(first, sizeof first, "%s", token_auth);
    CHECK(call("POST", "/api/v1/sign", first, "application/json", "sign.json", body,
               sizeof body) == 201);
    pthread_mutex_lock(&seen_lock);
    CHECK(strcmp(seen_auth, "token") == 0);
    CHECK(strcmp(seen_client, "robot-1") == 0);
    CHECK(strcmp(seen_sub, "deploy-bot") == 0);
    pthread_mutex_unlock(&seen_lock);
    /* the same token again: used */
    CHECK(call("POST", "/api/v1/sign", first, "application/json", "sign.json", body,
               sizeof body) == 401);
    CHECK(strstr(body, "jti \\\"jti-1\\\" was used before") != NULL);

    struct {
        const char *key, *kid, *aud, *jti;
        long iat, exp;
        const char *extra, *text;
    } bad[] = {
        {"token.key", "robot-1", BASE "/api/v1/revoke", "jti-2", 0, 120, NULL,
         "is not this URL"},
        {"token.key", "robot-1", "https://ca.test/api/v1/sign", "jti-3", 0, 120, NULL,
         "is not this URL"},
        {"token.key", "robot-1", sign_url, "jti-4", -400, -100, NULL, "expired"},
        {"token.key", "robot-1", sign_url, "jti-5", 0, 600, NULL, "at most 300 s"},
        {"token.key", "robot-1", sign_url, "jti-6", 300, 400, NULL, "in the future"},
        {"token.key", "robot-9", sign_url, "jti-7", 0, 120, NULL, "not a key this CA knows"},
        {"other.key", "robot-1", sign_url, "jti-8", 0, 120, NULL, "does not verify"},
        {"token.key", "robot-1", sign_url, "jti-9", 0, 120, ",\"scope\":\"all\"",
         "left unpacked: scope"},
        {"token.key", "robot-1", sign_url, "", 0, 120, NULL, "jti must be"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        token(bad[i].key, bad[i].kid, bad[i].aud, bad[i].jti, bad[i].iat, bad[i].exp,
              bad[i].extra);
        int status = call("POST", "/api/v1/sign", token_auth, "application/json", "sign.json",
                          body, sizeof body);
        if (status != 401 || !strstr(body, bad[i].text))
            fprintf(stderr, "  token case %zu: %d %s\n", i, status, body);
        CHECK(status == 401);
        CHECK(strstr(body, bad[i].text) != NULL);
    }
    /* a refused token does not burn its jti: jti-2 with the right aud passes */
    token("token.key", "robot-1", sign_url, "jti-2", 0, 120, NULL);
    CHECK(call("POST", "/api/v1/sign", token_auth, "application/json", "sign.json", body,
               sizeof body) == 201);
    /* alg none, and garbage */
    CHECK(call("POST", "/api/v1/sign",
               "-H 'Authorization: Bearer eyJhbGciOiJub25lIiwia2lkIjoicm9ib3QtMSJ9.e30.'",
               "application/json", "sign.json", body, sizeof body) == 401);
    CHECK(strstr(body, "\\\"none\\\" is not supported") != NULL);
    CHECK(call("POST", "/api/v1/sign", "-H 'Authorization: Bearer garbage'",
               "application/json", "sign.json", body, sizeof body) == 401);
    /* a token for reading a certificate names that URL */
    char path[128], aud[256];
    snprintf(path, sizeof path, "/api/v1/certificates/%s", "0123456789ABCDEF");
    snprintf(aud, sizeof aud, BASE "%s", path);
    token("token.key", "robot-1", aud, "jti-10", 0, 60, NULL);
    CHECK(call("GET", path, token_auth, NULL, NULL, body, sizeof body) == 404);
}

/* Policy that does not answer: 503 with Retry-After, and nothing issued. */
static void test_timeout(void)
{
    char out[8192];
    write_sign_request("slow.json", "slow");
    CHECK(fx_run(out, sizeof out,
                 "curl -sS -i --max-time 60 --cacert root.pem --resolve "
                 "localhost:%d:127.0.0.1 " MTLS " -H 'Content-Type: application/json' "
                 "--data-binary @slow.json https://localhost:%d/api/v1/sign",
                 port, port) == 0);
    CHECK(strstr(out, " 503 ") != NULL);
    CHECK(strstr(out, "Retry-After: 5") != NULL);
}

static cs_cert *issue_client(cs_store *s, const char *cn, const cs_key *key, int record)
{
    cs_rdn subject[] = {{"O", "Test"}, {"CN", cn}};
    static const char *const eku[] = {"clientAuth"};
    char email[128];
    snprintf(email, sizeof email, "%s@example.test", cn);
    cs_name san[] = {{CS_NAME_EMAIL, email}};
    cs_cert_spec spec = fx_leaf_spec(subject, 2, eku, san, 1, 30);
    cs_cert *c = NULL;
    cs_err err = {0};
    if (record)
        CHECK_OK(cs_store_issue(s, &spec, key, root, root_key, "client", &c, &err), &err);
    else
        CHECK_OK(cs_cert_sign(&spec, key, root, root_key, &c, &err), &err);
    return c;
}

int main(void)
{
    static const cs_rdn root_dn[] = {{"O", "Test"}, {"CN", "Signing API Root"}};
    static const cs_rdn server_dn[] = {{"CN", "localhost"}};
    static const char *const server_eku[] = {"serverAuth"};
    static const cs_name server_san[] = {{CS_NAME_DNS, "localhost"}, {CS_NAME_IP, "127.0.0.1"}};
    cs_err err = {0};
    cs_store *s = NULL;
    cs_cert *server = NULL, *client = NULL, *revoked = NULL, *stranger = NULL;
    cs_key *server_key = NULL, *client_key = NULL, *token_key = NULL, *other_key = NULL;
    cs_server *srv = NULL;
    pthread_t thread;
    char path[256];

    if (!fx_mkdtemp("signapi"))
        return 1;
    fx_path(db_path, sizeof db_path, "ca.db");
    CHECK_OK(cs_store_open(db_path, &s, &err), &err);
    root_key = fx_key("ec", "P-256");
    server_key = fx_key("ec", "P-256");
    client_key = fx_key("ec", "P-256");
    token_key = fx_key("ec", "P-256");
    other_key = fx_key("ec", "P-256");
    cs_cert_spec ca = fx_ca_spec(root_dn, 2, -1, 30);
    CHECK_OK(cs_store_issue(s, &ca, root_key, NULL, root_key, "root", &root, &err), &err);
    cs_cert_spec ss = fx_leaf_spec(server_dn, 1, server_eku, server_san, 2, 30);
    CHECK_OK(cs_store_issue(s, &ss, server_key, root, root_key, "server", &server, &err), &err);
    client = issue_client(s, "robot", client_key, 1);
    revoked = issue_client(s, "revoked-bot", client_key, 1);
    stranger = issue_client(s, "stranger", client_key, 0);
    if (!root || !server || !client || !revoked || !stranger)
        return CHECK_DONE();
    char *rs = cs_cert_serial_hex(revoked);
    CHECK_OK(cs_store_revoke(s, rs, NULL, 1, (int64_t)time(NULL), &err), &err);
    free(rs);
    cs_store_close(s);
    fx_save_cert(root, "root.pem", 0);
    fx_save_cert(client, "client.pem", 0);
    fx_save_cert(revoked, "revoked.pem", 0);
    fx_save_cert(stranger, "stranger.pem", 0);
    fx_path(path, sizeof path, "client.key");
    CHECK_OK(cs_key_save(client_key, path, 0, &err), &err);
    fx_path(path, sizeof path, "token.key");
    CHECK_OK(cs_key_save(token_key, path, 0, &err), &err);
    fx_path(path, sizeof path, "other.key");
    CHECK_OK(cs_key_save(other_key, path, 0, &err), &err);
    CHECK(fx_run(NULL, 0, "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                          "-nodes -keyout csr.key -subj /CN=api.test -out csr.pem "
                          "2>/dev/null") == 0);

    /* bad configurations */
    char *token_pem = NULL;
    size_t len;
    CHECK_OK(cs_key_public_pem(token_key, &token_pem, &len, &err), &err);
    cs_signapi_token_key keys[] = {{"robot-1", token_pem}};
    cs_signapi_config cfg = {db_path, BASE, 1, keys, 1, 3000};
    cs_signapi_config bad = cfg;
    bad.base_url = "http://ca.test";
    CHECK_FAIL(cs_signapi_new(&bad, &api, &err), CS_EINVAL, &err, "base_url must be https");
    bad = cfg;
    bad.mtls = 0;
    bad.token_keys_len = 0;
    CHECK_FAIL(cs_signapi_new(&bad, &api, &err), CS_EINVAL, &err, "no way to authenticate");
    cs_signapi_token_key twice[] = {{"robot-1", token_pem}, {"robot-1", token_pem}};
    bad = cfg;
    bad.token_keys = twice;
    bad.token_keys_len = 2;
    CHECK_FAIL(cs_signapi_new(&bad, &api, &err), CS_EINVAL, &err, "given twice");
    CHECK(api == NULL);

    CHECK_OK(cs_signapi_new(&cfg, &api, &err), &err);
    free(token_pem);
    if (!api)
        return CHECK_DONE();
    cs_handler h = cs_signapi_handler(api);
    static const char *const hosts[] = {"127.0.0.1"};
    const cs_cert *cas[] = {root};
    cs_server_config sc;
    memset(&sc, 0, sizeof sc);
    sc.hosts = hosts;
    sc.hosts_len = 1;
    sc.leaf = server;
    sc.key = server_key;
    sc.client_ca = cas;
    sc.client_ca_len = 1;
    sc.client_auth = CS_CLIENT_AUTH_REQUEST;
    sc.handlers = &h;
    sc.handlers_len = 1;
    sc.http_port = -1;
    CHECK_OK(cs_server_start(&sc, &srv, &err), &err);
    if (srv) {
        port = cs_server_port(srv);
        pthread_create(&thread, NULL, policy, NULL);
        test_mtls();
        test_tokens();
        test_timeout();
        cs_server_stop(srv);
        cs_signapi_close(api);
        pthread_join(thread, NULL);
    }
    cs_signapi_free(api);
    cs_cert_free(stranger);
    cs_cert_free(revoked);
    cs_cert_free(client);
    cs_cert_free(server);
    cs_cert_free(root);
    cs_key_free(other_key);
    cs_key_free(token_key);
    cs_key_free(client_key);
    cs_key_free(server_key);
    cs_key_free(root_key);
    int rc = CHECK_DONE();
    if (rc == 0)
        fx_rmdir();
    return rc;
}
