/* The ACME server (core/acme*.c): the nonce set, the decision queue and the
 * config checks directly; then the protocol through a real server on a
 * loopback port, driven by tests/acme/core_checks.py (python3-acme and
 * hand-made JWS), with a thread here answering the decision queue the way
 * the Lua side does (issue through the store, revoke in the store). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../core/acme_internal.h"
#include "acme.h"
#include "check.h"
#include "csr.h"
#include "fixtures.h"
#include "store.h"

#ifndef CS_SOURCE_DIR
#error "CS_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif
#ifndef CS_PYTHON3
#error "CS_PYTHON3 must name Debian's python3 (tests/CMakeLists.txt sets it)"
#endif

#define EAB_KID "kid-1"
#define EAB_HMAC "c2VjcmV0IGtleSBvZiB0aGlydHkgdHdvIGJ5dGVzISE" /* 32 bytes */

static const cs_rdn root_dn[] = {{"CN", "ACME Test Root"}};
static const cs_rdn inter_dn[] = {{"CN", "ACME Test Intermediate"}};
static const char *const server_auth[] = {"serverAuth"};

/* ---- the nonce set ---- */
static void test_nonces(void)
{
    csi_nonces *n = NULL;
    char a[CSI_NONCE_LEN + 1], b[CSI_NONCE_LEN + 1], first[CSI_NONCE_LEN + 1];
    cs_err err;
    int i;

    CHECK_OK(csi_nonces_new(64, &n, &err), &err);
    if (!n)
        return;
    CHECK_OK(csi_nonce_make(n, a, &err), &err);
    CHECK_OK(csi_nonce_make(n, b, &err), &err);
    CHECK(strlen(a) == CSI_NONCE_LEN && strcmp(a, b) != 0);
    CHECK(csi_nonce_use(n, b) == 1);
    CHECK(csi_nonce_use(n, b) == 0); /* once */
    CHECK(csi_nonce_use(n, a) == 1); /* order does not matter */
    CHECK(csi_nonce_use(n, "") == 0);
    CHECK(csi_nonce_use(n, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == 0); /* MAC fails */
    a[5] = a[5] == 'A' ? 'B' : 'A';
    CHECK(csi_nonce_use(n, a) == 0);
    /* a nonce pushed out by 64 newer ones is refused, the newest still good */
    CHECK_OK(csi_nonce_make(n, first, &err), &err);
    for (i = 0; i < 64; i++)
        CHECK_OK(csi_nonce_make(n, b, &err), &err);
    CHECK(csi_nonce_use(n, first) == 0);
    CHECK(csi_nonce_use(n, b) == 1);
    csi_nonces_free(n);
}

/* ---- the decision queue's ACME side (the queue itself: test_decision_queue) ---- */
typedef struct asker {
    csi_dq *q;
    csi_wait result;
    csi_answer *answer;
} asker;

static void *ask_run(void *arg)
{
    asker *a = arg;
    cs_acme_ask *ask = calloc(1, sizeof *ask);

    if (!ask)
        return NULL;
    ask->kind = CS_ACME_ASK_ORDER;
    ask->account_id = strdup("acct");
    a->result = csi_queue_ask(a->q, ask, 60000, &a->answer);
    return NULL;
}

static void test_queue(void)
{
    csi_dq *q = NULL;
    cs_acme_ask *got = NULL, *post;
    const char *challenges[] = {"http-01", "dns-01"};
    cs_acme_decision yes = {1, NULL, NULL, "server", NULL, 0, NULL, NULL};
    asker a = {NULL, CSI_WAIT_NOMEM, NULL};
    char order[CSI_ACME_ID_LEN + 1];
    cs_acme_ask_kind kind;
    pthread_t t;
    cs_err err;
    uint64_t id;

    yes.challenges = challenges;
    yes.challenges_len = 2;
    CHECK_OK(csi_dq_new(&csi_acme_queue, &q, &err), &err);
    if (!q)
        return;
    /* a waiting request gets a copy of the answer given to its id */
    a.q = q;
    CHECK(pthread_create(&t, NULL, ask_run, &a) == 0);
    CHECK_OK(csi_queue_next(q, 60000, &got, &err), &err);
    CHECK(got && got->kind == CS_ACME_ASK_ORDER && strcmp(got->account_id, "acct") == 0);
    id = got ? got->id : 0;
    cs_acme_ask_free(got);
    CHECK_OK(csi_queue_kind(q, id, &kind, &err), &err);
    CHECK(kind == CS_ACME_ASK_ORDER);
    CHECK_OK(csi_queue_answer(q, id, &yes, order, &err), &err);
    pthread_join(t, NULL);
    CHECK(a.result == CSI_WAIT_ANSWERED && a.answer && a.answer->ok &&
          strcmp(a.answer->profile, "server") == 0 && a.answer->challenges_len == 2 &&
          strcmp(a.answer->challenges[1], "dns-01") == 0 && order[0] == '\0');
    csi_answer_free(a.answer);
    /* answered once: a second answer finds nobody */
    CHECK_FAIL(csi_queue_answer(q, id, &yes, order, &err), CS_ENOENT, &err,
               "acme: no ask");
    /* a posted ask (finalize) hands its order to the answerer */
    post = calloc(1, sizeof *post);
    if (post) {
        post->kind = CS_ACME_ASK_FINALIZE;
        post->order_id = strdup("ORDER");
        CHECK(csi_queue_post(q, post) == CSI_WAIT_ANSWERED);
    }
    CHECK_OK(csi_queue_next(q, 1000, &got, &err), &err);
    CHECK(got && got->kind == CS_ACME_ASK_FINALIZE && got->id > id);
    id = got ? got->id : 0;
    cs_acme_ask_free(got);
    CHECK_OK(csi_queue_answer(q, id, &yes, order, &err), &err);
    CHECK(strcmp(order, "ORDER") == 0);
    /* a finalize ask that could not be made is not queued */
    CHECK(csi_queue_post(q, NULL) == CSI_WAIT_NOMEM);
    csi_dq_close(q);
    CHECK_FAIL(csi_queue_next(q, 10, &got, &err), CS_ENOENT, &err, "acme: the queue is closed");
    csi_dq_free(q);
}

/* ---- config checks ---- */
static void test_config(const char *db)
{
    cs_acme_config c;
    cs_acme_eab_key bad_key = {"k", "short"};
    cs_acme *acme = NULL;
    cs_err err;

    memset(&c, 0, sizeof c);
    c.db_path = db;
    CHECK_FAIL(cs_acme_new(&c, &acme, &err), CS_EINVAL, &err, "base_url");
    c.base_url = "https://localhost:8443/";
    CHECK_FAIL(cs_acme_new(&c, &acme, &err), CS_EINVAL, &err, "trailing");
    c.base_url = "ftp://localhost";
    CHECK_FAIL(cs_acme_new(&c, &acme, &err), CS_EINVAL, &err, "base_url");
    c.base_url = "https://localhost:8443";
    c.eab_required = 1;
    CHECK_FAIL(cs_acme_new(&c, &acme, &err), CS_EINVAL, &err, "eab.required without eab.keys");
    c.eab_keys = &bad_key;
    c.eab_keys_len = 1;
    CHECK_FAIL(cs_acme_new(&c, &acme, &err), CS_EINVAL, &err, "eab.keys[k]");
    c.eab_required = 0;
    c.eab_keys_len = 0;
    c.validation.http_port = 70000;
    CHECK_FAIL(cs_acme_new(&c, &acme, &err), CS_EINVAL, &err, "port");
    CHECK(acme == NULL);
}

/* ---- the ACME tables (acme_db.c) ---- */
static void test_db(const char *path)
{
    static const char *const http[] = {"http-01", "dns-01"};
    const csi_acme_new_authz az[] = {{"dns", "a.test", 0, http, 2},
                                     {"dns", "b.test", 1, http + 1, 1}};
    csi_acme_db *db = NULL;
    csi_acme_account a, got;
    csi_acme_order o, o2;
    csi_acme_authz z;
    char other[CSI_ACME_ID_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    cs_err err;
    size_t i;

    memset(&a, 0, sizeof a);
    memset(&got, 0, sizeof got);
    memset(&o, 0, sizeof o);
    memset(&o2, 0, sizeof o2);
    memset(&z, 0, sizeof z);
    CHECK_OK(csi_acme_db_open(path, &db, &err), &err);
    if (!db)
        return;
    CHECK_OK(csi_acme_random_id(a.id, 16, &err), &err);
    CHECK(strlen(a.id) == CSI_ACME_ID_LEN);
    a.jwk = "{\"crv\":\"P-256\"}";
    a.thumbprint = "thumb-1";
    a.contact = "[]";
    a.created = now;
    CHECK_OK(csi_acme_db_account_insert(db, &a, other, &err), &err);
    /* one account per key: the second insert names the first */
    memcpy(got.id, "another-id-0123456789a", CSI_ACME_ID_LEN + 1);
    got.jwk = a.jwk;
    got.thumbprint = a.thumbprint;
    got.contact = "[]";
    CHECK_FAIL(csi_acme_db_account_insert(db, &got, other, &err), CS_EEXIST, &err, "already");
    CHECK(strcmp(other, a.id) == 0);
    memset(&got, 0, sizeof got);
    CHECK_OK(csi_acme_db_account_by_thumbprint(db, "thumb-1", &got, &err), &err);
    CHECK(strcmp(got.id, a.id) == 0 && strcmp(got.status, "valid") == 0);
    csi_acme_account_clear(&got);
    CHECK_FAIL(csi_acme_db_account_get(db, "nobody", &got, &err), CS_ENOENT, &err, "no such");

    /* an order: pending, its authorizations and challenges as asked */
    CHECK_OK(csi_acme_db_order_new(db, a.id, "[]", now + 3600, "server", az, 2, &o, &err),
             &err);
    CHECK(strcmp(o.status, "pending") == 0 && o.authz_len == 2);
    if (o.authz_len == 2) {
        CHECK_OK(csi_acme_db_authz_get(db, o.authz[1], now, &z, &err), &err);
        CHECK(z.wildcard == 1 && z.challenges_len == 1 &&
              strcmp(z.challenges[0].type, "dns-01") == 0 &&
              strlen(z.challenges[0].token) == CSI_ACME_TOKEN_LEN &&
              strcmp(z.account, a.id) == 0);
        csi_acme_authz_clear(&z);
        /* finalize before ready: refused */
        CHECK_FAIL(csi_acme_db_order_processing(db, o.id, (const unsigned char *)"x", 1, &err),
                   CS_EMISMATCH, &err, "not in the state");
        /* both authorizations valid through a challenge each: ready */
        for (i = 0; i < 2; i++) {
            CHECK_OK(csi_acme_db_authz_get(db, o.authz[i], now, &z, &err), &err);
            if (z.challenges_len > 0) {
                CHECK_OK(csi_acme_db_challenge_start(db, z.challenges[0].id, &err), &err);
                CHECK_FAIL(csi_acme_db_challenge_start(db, z.challenges[0].id, &err),
                           CS_EMISMATCH, &err, "not in the state");
                CHECK_OK(csi_acme_db_challenge_done(db, z.challenges[0].id, NULL, now, &err),
                         &err);
            }
            csi_acme_authz_clear(&z);
        }
        CHECK_OK(csi_acme_db_order_get(db, o.id, now, &o2, &err), &err);
        CHECK(strcmp(o2.status, "ready") == 0);
        csi_acme_order_clear(&o2);
        /* ready -> processing once: a second finalize loses */
        CHECK_OK(csi_acme_db_order_processing(db, o.id, (const unsigned char *)"csr", 3, &err),
                 &err);
        CHECK_FAIL(csi_acme_db_order_processing(db, o.id, (const unsigned char *)"csr", 3,
                                                &err), CS_EMISMATCH, &err, "not in the state");
        CHECK_OK(csi_acme_db_order_issued(db, o.id, "0A1B", "PEM", now, now + 10, &err), &err);
        CHECK_OK(csi_acme_db_order_by_serial(db, "0A1B", &o2, &err), &err);
        CHECK(strcmp(o2.id, o.id) == 0 && strcmp(o2.status, "valid") == 0 &&
              o2.csr_len == 3 && strcmp(o2.cert_chain, "PEM") == 0);
        csi_acme_order_clear(&o2);
    }
    csi_acme_order_clear(&o);

    /* an order past its expiry reads invalid, its authorizations expired */
    CHECK_OK(csi_acme_db_order_new(db, a.id, "[]", now - 1, NULL, az, 1, &o, &err), &err);
    if (o.authz_len == 1) {
        CHECK_OK(csi_acme_db_order_get(db, o.id, now, &o2, &err), &err);
        CHECK(strcmp(o2.status, "invalid") == 0 && o2.error && strstr(o2.error, "expired"));
        csi_acme_order_clear(&o2);
        CHECK_OK(csi_acme_db_authz_get(db, o.authz[0], now, &z, &err), &err);
        CHECK(strcmp(z.status, "expired") == 0);
        if (z.challenges_len > 0)
            CHECK_FAIL(csi_acme_db_challenge_start(db, z.challenges[0].id, &err), CS_EMISMATCH,
                       &err, "not in the state");
        csi_acme_authz_clear(&z);
    }
    csi_acme_order_clear(&o);

    /* a failed challenge fails its order */
    CHECK_OK(csi_acme_db_order_new(db, a.id, "[]", now + 3600, NULL, az, 1, &o, &err), &err);
    if (o.authz_len == 1) {
        CHECK_OK(csi_acme_db_authz_get(db, o.authz[0], now, &z, &err), &err);
        CHECK_OK(csi_acme_db_challenge_start(db, z.challenges[0].id, &err), &err);
        CHECK_OK(csi_acme_db_challenge_done(db, z.challenges[0].id, "{\"type\":\"x\"}", now,
                                            &err), &err);
        csi_acme_authz_clear(&z);
        CHECK_OK(csi_acme_db_order_get(db, o.id, now, &o2, &err), &err);
        CHECK(strcmp(o2.status, "invalid") == 0 && strcmp(o2.error, "{\"type\":\"x\"}") == 0);
        csi_acme_order_clear(&o2);
    }
    csi_acme_order_clear(&o);

    /* one-time token ids: once */
    CHECK_OK(csi_acme_db_use_token(db, "jti-1", now + 300, now, &err), &err);
    CHECK_FAIL(csi_acme_db_use_token(db, "jti-1", now + 300, now, &err), CS_EEXIST, &err,
               "used before");
    csi_acme_db_close(db);
}

/* ---- the decider: the Lua side's part, in a thread ---- */
typedef struct decider {
    cs_acme *acme[2];
    cs_store *store;
    const cs_cert *inter;
    const cs_key *inter_key;
    volatile int stop;
    int asked[4];
    int failures;
} decider;

/* Issue the CSR of a finalize ask through the store: the chain (leaf PEM). */
static void finalize(decider *d, cs_acme *acme, const cs_acme_ask *ask)
{
    cs_csr *csr = NULL;
    cs_csr_info *info = NULL;
    cs_key *pub = NULL;
    cs_cert *leaf = NULL;
    cs_cert_spec spec;
    cs_rdn dn[1];
    cs_err err = {CS_OK, ""};
    cs_acme_decision ans;
    char *pem = NULL, *serial = NULL;
    size_t len;

    memset(&ans, 0, sizeof ans);
    /* the request's thread hands its parsed CSR over with the ask */
    if (!ask->csr) {
        fprintf(stderr, "finalize ask %llu: no parsed CSR\n", (unsigned long long)ask->id);
        d->failures++;
    }
    if (cs_csr_load((const char *)ask->csr_der, ask->csr_len, "csr", &csr, &err) != CS_OK ||
        cs_csr_get_info(csr, &info, &err) != CS_OK ||
        cs_csr_public_key(csr, &pub, &err) != CS_OK) {
        d->failures++;
        goto done;
    }
    dn[0].field = "CN";
    dn[0].value = info->names[0].value;
    spec = fx_leaf_spec(dn, 1, server_auth, info->names, info->names_len, 30);
    if (cs_store_issue(d->store, &spec, pub, d->inter, d->inter_key, "server", &leaf, &err) !=
            CS_OK ||
        cs_cert_pem(leaf, &pem, &len, &err) != CS_OK) {
        ans.type = "badCSR";
        ans.detail = err.msg;
    } else {
        serial = cs_cert_serial_hex(leaf);
        ans.ok = 1;
        ans.chain_pem = pem;
        ans.serial_hex = serial;
    }
    if (cs_acme_answer(acme, ask->id, &ans, &err) != CS_OK) {
        fprintf(stderr, "finalize answer: %s\n", err.msg);
        d->failures++;
    }
done:
    free(serial);
    free(pem);
    cs_cert_free(leaf);
    cs_key_free(pub);
    cs_csr_info_free(info);
    cs_csr_free(csr);
}

static void decide(decider *d, cs_acme *acme, const cs_acme_ask *ask)
{
    cs_acme_decision ans;
    cs_err err = {CS_OK, ""};
    size_t i;

    memset(&ans, 0, sizeof ans);
    d->asked[ask->kind]++;
    ans.ok = 1;
    switch (ask->kind) {
    case CS_ACME_ASK_ACCOUNT:
        break;
    case CS_ACME_ASK_ORDER:
        ans.profile = "server";
        for (i = 0; i < ask->identifiers_len; i++) {
            if (strstr(ask->identifiers[i].value, "reject")) {
                ans.ok = 0;
                ans.type = "rejectedIdentifier";
                ans.detail = "policy: no names with reject in them";
            }
        }
        break;
    case CS_ACME_ASK_FINALIZE:
        finalize(d, acme, ask);
        return;
    case CS_ACME_ASK_REVOKE:
        if (cs_store_revoke(d->store, ask->serial_hex, NULL, ask->reason, (int64_t)time(NULL),
                            &err) != CS_OK) {
            ans.ok = 0;
            ans.type = err.code == CS_EEXIST ? "alreadyRevoked" : "serverInternal";
            ans.detail = err.msg;
        }
        break;
    }
    if (cs_acme_answer(acme, ask->id, &ans, &err) != CS_OK) {
        fprintf(stderr, "answer: %s\n", err.msg);
        d->failures++;
    }
}

static void *decide_run(void *arg)
{
    decider *d = arg;
    cs_acme_ask *ask;
    cs_err err;
    int i;

    while (!__atomic_load_n(&d->stop, __ATOMIC_SEQ_CST)) {
        for (i = 0; i < 2; i++) {
            ask = NULL;
            if (cs_acme_next(d->acme[i], i == 0 ? 50 : 0, &ask, &err) != CS_OK)
                continue;
            if (ask)
                decide(d, d->acme[i], ask);
            cs_acme_ask_free(ask);
        }
    }
    return NULL;
}

/* How many "ok - " lines out holds. */
static int count_ok(const char *out)
{
    const char *p = out;
    int k = 0;

    while ((p = strstr(p, "ok - "))) {
        if (p == out || p[-1] == '\n')
            k++;
        p += 5;
    }
    return k;
}

/* A port free on 127.0.0.1 now (bound to 0, read, released). */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static void test_protocol(const char *db)
{
    static const char *const hosts[] = {"127.0.0.1"};
    static const char *const resolve[] = {"*.test=127.0.0.1"};
    /* URLs name 127.0.0.1: "localhost" may be ::1 first, where another
     * process may hold the same port number */
    const cs_name leaf_names[] = {{CS_NAME_DNS, "localhost"}, {CS_NAME_IP, "127.0.0.1"}};
    const cs_rdn leaf_dn[] = {{"CN", "localhost"}};
    cs_store *store = NULL;
    cs_key *rk = NULL, *ik = NULL, *lk = NULL;
    cs_cert *root = NULL, *inter = NULL, *leaf = NULL;
    cs_cert_spec spec;
    cs_acme_config ac;
    cs_acme_eab_key eab = {EAB_KID, EAB_HMAC};
    cs_acme *acme = NULL, *acme_eab = NULL;
    cs_server_config sc;
    cs_server *srv = NULL, *srv_eab = NULL;
    cs_handler h[2];
    decider d;
    pthread_t t;
    char base[64], base_eab[64], root_path[256], out[65536], *inter_pem = NULL;
    size_t len;
    cs_err err;
    int port, port_eab, http_port, rc, started = 0;

    memset(&d, 0, sizeof d);
    CHECK_OK(cs_store_open(db, &store, &err), &err);
    rk = fx_key("ec", "P-256");
    ik = fx_key("ec", "P-256");
    lk = fx_key("ec", "P-256");
    if (!store || !rk || !ik || !lk)
        goto done;
    spec = fx_ca_spec(root_dn, 1, -1, 30);
    CHECK_OK(cs_store_issue(store, &spec, rk, NULL, rk, "root", &root, &err), &err);
    spec = fx_ca_spec(inter_dn, 1, 0, 30);
    CHECK_OK(cs_store_issue(store, &spec, ik, root, rk, "intermediate", &inter, &err), &err);
    spec = fx_leaf_spec(leaf_dn, 1, server_auth, leaf_names, 2, 30);
    CHECK_OK(cs_cert_sign(&spec, lk, inter, ik, &leaf, &err), &err);
    if (!root || !inter || !leaf)
        goto done;
    fx_save_cert(root, "root.pem", 1);
    fx_path(root_path, sizeof root_path, "root.pem");
    CHECK_OK(cs_cert_pem(inter, &inter_pem, &len, &err), &err);

    port = free_port();
    port_eab = free_port();
    http_port = free_port();
    snprintf(base, sizeof base, "https://127.0.0.1:%d", port);
    snprintf(base_eab, sizeof base_eab, "https://127.0.0.1:%d", port_eab);
    memset(&ac, 0, sizeof ac);
    ac.db_path = db;
    ac.base_url = base;
    ac.terms = "https://localhost/terms";
    ac.chain_pem = inter_pem;
    ac.validation.http_port = http_port;
    ac.validation.resolve = resolve;
    ac.validation.resolve_len = 1;
    ac.ask_timeout_ms = 60000;
    CHECK_OK(cs_acme_new(&ac, &acme, &err), &err);
    ac.base_url = base_eab;
    ac.eab_required = 1;
    ac.eab_keys = &eab;
    ac.eab_keys_len = 1;
    CHECK_OK(cs_acme_new(&ac, &acme_eab, &err), &err);
    if (!acme || !acme_eab)
        goto done;

    memset(&sc, 0, sizeof sc);
    sc.hosts = hosts;
    sc.hosts_len = 1;
    sc.port = port;
    sc.leaf = leaf;
    sc.chain = (const cs_cert *const *)&inter;
    sc.chain_len = 1;
    sc.key = lk;
    sc.http_port = -1;
    h[0] = cs_acme_handler(acme);
    sc.handlers = h;
    sc.handlers_len = 1;
    CHECK_OK(cs_server_start(&sc, &srv, &err), &err);
    sc.port = port_eab;
    h[1] = cs_acme_handler(acme_eab);
    sc.handlers = h + 1;
    CHECK_OK(cs_server_start(&sc, &srv_eab, &err), &err);
    if (!srv || !srv_eab)
        goto done;

    d.acme[0] = acme;
    d.acme[1] = acme_eab;
    d.store = store;
    d.inter = inter;
    d.inter_key = ik;
    CHECK(pthread_create(&t, NULL, decide_run, &d) == 0);
    started = 1;
    rc = fx_run(out, sizeof out,
                "%s %s/tests/acme/core_checks.py --directory %s/acme/directory --ca %s "
                "--http-port %d --eab-directory %s/acme/directory --eab-kid %s "
                "--eab-hmac %s 2>&1",
                CS_PYTHON3, CS_SOURCE_DIR, base, root_path, http_port, base_eab, EAB_KID,
                EAB_HMAC);
    CHECK(rc == 0 && strstr(out, "\n0 failed\n"));
    if (rc != 0 || !strstr(out, "\n0 failed\n"))
        fprintf(stderr, "core_checks.py:\n%s\n", out);
    else
        fprintf(stderr, "core_checks.py: %d checks passed\n", count_ok(out));
done:
    if (started) {
        __atomic_store_n(&d.stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(t, NULL);
        CHECK(d.failures == 0);
        /* every kind of ask came through the queue */
        CHECK(d.asked[CS_ACME_ASK_ACCOUNT] > 0 && d.asked[CS_ACME_ASK_ORDER] > 0 &&
              d.asked[CS_ACME_ASK_FINALIZE] > 0 && d.asked[CS_ACME_ASK_REVOKE] > 0);
    }
    cs_server_stop(srv);
    cs_server_stop(srv_eab);
    cs_acme_free(acme);
    cs_acme_free(acme_eab);
    free(inter_pem);
    cs_cert_free(leaf);
    cs_cert_free(inter);
    cs_cert_free(root);
    cs_key_free(lk);
    cs_key_free(ik);
    cs_key_free(rk);
    cs_store_close(store);
}

int main(void)
{
    char db[256];

    if (!fx_mkdtemp("acme"))
        return 1;
    fx_path(db, sizeof db, "ca.db");
    test_nonces();
    test_queue();
    test_config(db);
    fx_path(db, sizeof db, "acme-db.db");
    test_db(db);
    fx_path(db, sizeof db, "ca.db");
    test_protocol(db);
    fx_rmdir();
    return CHECK_DONE();
}
