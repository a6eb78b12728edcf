/* The OCSP responder over a small status table: good, revoked, unknown,
 * nonce, SHA-256 CertIDs, malformed requests, other issuers, the delegated
 * signer, stapling, the GET form, HTTP, refusals and many threads at once. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "check.h"
#include "fixtures.h"
#include "ocsp.h"

#define REVOKED_AT ((int64_t)1700000000) /* 2023-11-14T22:13:20Z */
#define N_THREADS 4
#define N_PER_THREAD 10

/* The status table the lookup reads: serials in upper-case hex. */
typedef struct row {
    char serial[80];
    cs_revocation status;
} row;

typedef struct table {
    const char *issuer; /* the one line the responder must pass */
    row rows[4];
    int n;
    int calls;
    int wrong_issuer; /* a call with another issuer line */
    int fail;         /* answer CS_EDB */
} table;

static cs_code lookup(void *arg, const char *issuer, const char *serial_hex,
                      cs_revocation *out, cs_err *err)
{
    table *t = arg;
    int i;

    t->calls++;
    if (strcmp(issuer, t->issuer) != 0)
        t->wrong_issuer++;
    if (t->fail)
        return cs_err_set(err, CS_EDB, "ca.db: database is locked");
    for (i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].serial, serial_hex) == 0) {
            *out = t->rows[i].status;
            return CS_OK;
        }
    out->status = CS_STATUS_UNKNOWN;
    return CS_OK;
}

static void add_row(table *t, const cs_cert *c, cs_cert_status st, int reason)
{
    char *hex = cs_cert_serial_hex(c);
    row *r = &t->rows[t->n++];

    snprintf(r->serial, sizeof r->serial, "%s", hex ? hex : "?");
    r->status.status = st;
    r->status.revoked_at = st == CS_STATUS_REVOKED ? REVOKED_AT : 0;
    r->status.reason = reason;
    free(hex);
}

/* A DER request for certs (issued by issuer), CertIDs hashed with md, with a
 * nonce if nonce; the request itself in *req_out if wanted. */
static unsigned char *request(const cs_cert *const *certs, int n, const cs_cert *issuer,
                              const EVP_MD *md, int nonce, size_t *len, OCSP_REQUEST **req_out)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    unsigned char *der = NULL, *p;
    int i, dl;

    for (i = 0; req && i < n; i++) {
        OCSP_CERTID *id = OCSP_cert_to_id(md, cs_cert_get0_x509(certs[i]),
                                          cs_cert_get0_x509(issuer));
        if (!id || !OCSP_request_add0_id(req, id)) {
            OCSP_CERTID_free(id);
            OCSP_REQUEST_free(req);
            return NULL;
        }
    }
    if (req && nonce && !OCSP_request_add1_nonce(req, NULL, -1))
        goto done;
    dl = req ? i2d_OCSP_REQUEST(req, NULL) : -1;
    if (dl <= 0)
        goto done;
    der = malloc((size_t)dl);
    p = der;
    if (der)
        i2d_OCSP_REQUEST(req, &p);
    *len = (size_t)dl;
done:
    if (req_out && der)
        *req_out = req;
    else
        OCSP_REQUEST_free(req);
    return der;
}

/* The response's status, and its basic response if successful. */
static int parse(const unsigned char *der, size_t len, OCSP_BASICRESP **bs)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    int status;

    *bs = NULL;
    if (!resp || p != der + len) {
        OCSP_RESPONSE_free(resp);
        return -1;
    }
    status = OCSP_response_status(resp);
    if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL)
        *bs = OCSP_response_get1_basic(resp);
    OCSP_RESPONSE_free(resp);
    return status;
}

/* Does bs verify against trust (the CA), as a client checks it? The
 * client knows the issuer (openssl ocsp -issuer): it may be the signer. */
static int verifies(OCSP_BASICRESP *bs, const cs_cert *trust)
{
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *known = sk_X509_new_null();
    int ok;

    X509_STORE_add_cert(st, cs_cert_get0_x509(trust));
    sk_X509_push(known, cs_cert_get0_x509(trust));
    ok = OCSP_basic_verify(bs, known, st, 0) == 1;
    sk_X509_free(known);
    X509_STORE_free(st);
    return ok;
}

/* The status bs gives cert (CertID with md), or -1; reason and revocation
 * time out. */
static int status_of(OCSP_BASICRESP *bs, const cs_cert *cert, const cs_cert *issuer,
                     const EVP_MD *md, int *reason, int64_t *revoked, int *validity)
{
    OCSP_CERTID *id = OCSP_cert_to_id(md, cs_cert_get0_x509(cert), cs_cert_get0_x509(issuer));
    ASN1_GENERALIZEDTIME *rev = NULL, *this_upd = NULL, *next_upd = NULL;
    int status = -1;

    *reason = -2;
    if (id && OCSP_resp_find_status(bs, id, &status, reason, &rev, &this_upd, &next_upd)) {
        int days = 0, secs = 0;
        ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
        if (rev && revoked && epoch && ASN1_TIME_diff(&days, &secs, epoch, rev))
            *revoked = (int64_t)days * 86400 + secs;
        ASN1_TIME_free(epoch);
        if (validity)
            *validity = next_upd && ASN1_TIME_diff(&days, &secs, this_upd, next_upd)
                            ? days * 86400 + secs : -1;
        if (!OCSP_check_validity(this_upd, next_upd, 300, -1))
            status = -3;
    } else {
        status = -1;
    }
    OCSP_CERTID_free(id);
    return status;
}

typedef struct worker {
    cs_ocsp_responder *r;
    const unsigned char *req;
    size_t len;
    int ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    int i;

    for (i = 0; i < N_PER_THREAD; i++) {
        unsigned char *der = NULL;
        size_t len = 0;
        OCSP_BASICRESP *bs = NULL;
        cs_err err = {0};
        if (cs_ocsp_respond(w->r, w->req, w->len, &der, &len, &err) == CS_OK &&
            parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL)
            w->ok++;
        OCSP_BASICRESP_free(bs);
        free(der);
    }
    return NULL;
}

/* N_THREADS threads each answering req N_PER_THREAD times on r at once:
 * 1 if every answer was a successful response. */
static int all_threads_answer(cs_ocsp_responder *r, const unsigned char *req, size_t len)
{
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    int i, started = 0, all = 1;

    for (i = 0; i < N_THREADS; i++) {
        w[i] = (worker){r, req, len, 0};
        if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
            break;
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        all = all && w[i].ok == N_PER_THREAD;
    }
    return all && started == N_THREADS;
}

/* Base64 of der, with + / = percent-encoded as a URL carries them. */
static char *get_form(const unsigned char *der, size_t len)
{
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    char *url = malloc(3 * 4 * ((len + 2) / 3) + 1);
    char *o = url;
    int n = b64 ? EVP_EncodeBlock((unsigned char *)b64, der, (int)len) : -1;
    int i;

    for (i = 0; url && i < n; i++) {
        if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
            o += sprintf(o, "%%%02X", (unsigned)b64[i]);
        else
            *o++ = b64[i];
    }
    if (o)
        *o = '\0';
    free(b64);
    return url;
}

int main(void)
{
    cs_err err = {0};
    const cs_rdn ca_dn[] = {{"C", "SE"}, {"O", "Simple Inc"}, {"CN", "Test Issuing CA"}};
    const cs_rdn other_dn[] = {{"CN", "Other CA"}};
    const cs_rdn good_dn[] = {{"CN", "good.test"}}, bad_dn[] = {{"CN", "bad.test"}};
    const cs_rdn new_dn[] = {{"CN", "new.test"}}, ocsp_dn[] = {{"CN", "Test OCSP Responder"}};
    const cs_name good_san[] = {{CS_NAME_DNS, "good.test"}};
    const cs_name bad_san[] = {{CS_NAME_DNS, "bad.test"}};
    const cs_name new_san[] = {{CS_NAME_DNS, "new.test"}};
    const cs_name ocsp_san[] = {{CS_NAME_DNS, "ocsp.test"}};
    const char *const server_auth[] = {"serverAuth"}, *const ocsp_signing[] = {"OCSPSigning"};
    cs_key *ca_key = fx_key("ec", "P-384"), *other_key = fx_key("ec", "P-256");
    cs_key *leaf_key = fx_key("ec", "P-256"), *ocsp_key = fx_key("ec", "P-256");
    cs_cert *ca = NULL, *other = NULL, *good = NULL, *bad = NULL, *fresh = NULL;
    cs_cert *foreign = NULL, *signer = NULL, *not_signer = NULL, *stray_signer = NULL;
    cs_ocsp_responder *r = NULL, *rd = NULL;
    cs_ocsp_responder *const sentinel = (cs_ocsp_responder *)&err;
    table t = {0};
    cs_ocsp_params params;
    cs_cert_spec spec;
    unsigned char *req = NULL, *der = NULL;
    size_t req_len = 0, len = 0;
    OCSP_BASICRESP *bs = NULL;
    OCSP_REQUEST *oreq = NULL;
    int reason, validity;
    int64_t revoked;

    if (!ca_key || !other_key || !leaf_key || !ocsp_key)
        return CHECK_DONE();
    spec = fx_ca_spec(ca_dn, 3, 0, 30);
    CHECK_OK(cs_cert_sign(&spec, ca_key, NULL, ca_key, &ca, &err), &err);
    spec = fx_ca_spec(other_dn, 1, 0, 30);
    CHECK_OK(cs_cert_sign(&spec, other_key, NULL, other_key, &other, &err), &err);
    spec = fx_leaf_spec(good_dn, 1, server_auth, good_san, 1, 30);
    CHECK_OK(cs_cert_sign(&spec, leaf_key, ca, ca_key, &good, &err), &err);
    spec = fx_leaf_spec(bad_dn, 1, server_auth, bad_san, 1, 30);
    CHECK_OK(cs_cert_sign(&spec, leaf_key, ca, ca_key, &bad, &err), &err);
    spec = fx_leaf_spec(new_dn, 1, server_auth, new_san, 1, 30);
    CHECK_OK(cs_cert_sign(&spec, leaf_key, ca, ca_key, &fresh, &err), &err);
    spec = fx_leaf_spec(good_dn, 1, server_auth, good_san, 1, 30);
    CHECK_OK(cs_cert_sign(&spec, leaf_key, other, other_key, &foreign, &err), &err);
    spec = fx_leaf_spec(ocsp_dn, 1, ocsp_signing, ocsp_san, 1, 7);
    CHECK_OK(cs_cert_sign(&spec, ocsp_key, ca, ca_key, &signer, &err), &err);
    CHECK_OK(cs_cert_sign(&spec, ocsp_key, other, other_key, &stray_signer, &err), &err);
    spec = fx_leaf_spec(ocsp_dn, 0, server_auth, ocsp_san, 1, 7); /* no CN: not in the SAN */
    spec.subject_alt_name.critical = 1;
    CHECK_OK(cs_cert_sign(&spec, ocsp_key, ca, ca_key, &not_signer, &err), &err);
    if (!ca || !other || !good || !bad || !fresh || !foreign || !signer || !not_signer ||
        !stray_signer)
        return CHECK_DONE();

    /* The table: good is good, bad revoked for keyCompromise, fresh absent. */
    t.issuer = "C=SE, O=Simple Inc, CN=Test Issuing CA";
    add_row(&t, good, CS_STATUS_GOOD, -1);
    add_row(&t, bad, CS_STATUS_REVOKED, 1);
    memset(&params, 0, sizeof params);
    params.issuer = ca;
    params.signer = ca;
    params.signer_key = ca_key;
    params.next_update_secs = 3600;
    params.lookup = lookup;
    params.lookup_arg = &t;
    CHECK_OK(cs_ocsp_responder_new(&params, &r, &err), &err);
    if (!r)
        return CHECK_DONE();
    cs_ocsp_responder_free(NULL); /* NULL is fine */

    /* good, revoked (time and reason), unknown, one request, nonce echoed. */
    {
        const cs_cert *certs[] = {good, bad, fresh};
        req = request(certs, 3, ca, EVP_sha1(), 1, &req_len, &oreq);
        CHECK(req != NULL);
        CHECK_OK(cs_ocsp_respond(r, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && verifies(bs, ca));
        CHECK(bs && OCSP_check_nonce(oreq, bs) == 1);
        CHECK(bs && OCSP_resp_count(bs) == 3);
        CHECK(bs && status_of(bs, good, ca, EVP_sha1(), &reason, NULL, &validity)
                        == V_OCSP_CERTSTATUS_GOOD);
        CHECK(validity == 3600);
        revoked = 0;
        CHECK(bs && status_of(bs, bad, ca, EVP_sha1(), &reason, &revoked, NULL)
                        == V_OCSP_CERTSTATUS_REVOKED);
        CHECK(reason == OCSP_REVOKED_STATUS_KEYCOMPROMISE);
        CHECK(revoked == REVOKED_AT);
        CHECK(bs && status_of(bs, fresh, ca, EVP_sha1(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_UNKNOWN);
        CHECK(t.calls == 3 && t.wrong_issuer == 0);
        /* responderID by key hash; the CA signs itself: no certificate sent. */
        {
            const ASN1_OCTET_STRING *kid = NULL;
            const X509_NAME *name = NULL;
            CHECK(bs && OCSP_resp_get0_id(bs, &kid, &name) && kid && !name);
            CHECK(bs && sk_X509_num(OCSP_resp_get0_certs(bs)) <= 0); /* -1: none at all */
            CHECK(bs && X509_get_signature_nid(cs_cert_get0_x509(ca)) != NID_undef &&
                  OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(bs)->algorithm) ==
                      NID_ecdsa_with_SHA384); /* the P-384 CA signs with SHA-384 */
        }
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(oreq);
        oreq = NULL;
        free(der);
        der = NULL;

        /* The GET form of the same request decodes to the same bytes. */
        {
            char *url = get_form(req, req_len);
            unsigned char *back = NULL;
            size_t back_len = 0;
            CHECK(url && strchr(url, '%') != NULL);
            CHECK_OK(cs_ocsp_decode_get(url, strlen(url), &back, &back_len, &err), &err);
            CHECK(back && back_len == req_len && memcmp(back, req, req_len) == 0);
            free(back);
            back = NULL;
            /* Already URL-decoded, padding dropped: the same. */
            {
                char *b64 = malloc(4 * ((req_len + 2) / 3) + 1);
                int n = EVP_EncodeBlock((unsigned char *)b64, req, (int)req_len);
                while (n > 0 && b64[n - 1] == '=')
                    b64[--n] = '\0';
                CHECK_OK(cs_ocsp_decode_get(b64, (size_t)n, &back, &back_len, &err), &err);
                CHECK(back && back_len == req_len && memcmp(back, req, req_len) == 0);
                free(back);
                free(b64);
            }
            free(url);
        }
        free(req);
        req = NULL;
    }

    /* Without a nonce: none in the answer. */
    {
        const cs_cert *certs[] = {good};
        req = request(certs, 1, ca, EVP_sha1(), 0, &req_len, &oreq);
        CHECK_OK(cs_ocsp_respond(r, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && OCSP_check_nonce(oreq, bs) == 2); /* neither has one */
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(oreq);
        oreq = NULL;
        free(der);
        der = NULL;
        free(req);
        req = NULL;
    }

    /* SHA-256 CertIDs are matched with SHA-256. */
    {
        const cs_cert *certs[] = {bad, good};
        req = request(certs, 2, ca, EVP_sha256(), 1, &req_len, NULL);
        CHECK_OK(cs_ocsp_respond(r, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && status_of(bs, bad, ca, EVP_sha256(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_REVOKED);
        CHECK(bs && status_of(bs, good, ca, EVP_sha256(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_GOOD);
        OCSP_BASICRESP_free(bs);
        free(der);
        der = NULL;
        free(req);
        req = NULL;
    }

    /* Another issuer's certificate alone: unauthorized (no signature);
     * beside one of ours: unknown, and never looked up. */
    {
        const cs_cert *certs[] = {foreign};
        int calls = t.calls;
        req = request(certs, 1, other, EVP_sha1(), 1, &req_len, NULL);
        CHECK_OK(cs_ocsp_respond(r, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_UNAUTHORIZED);
        CHECK(bs == NULL);
        CHECK(t.calls == calls);
        free(der);
        der = NULL;
        free(req);
        req = NULL;
    }
    {
        OCSP_REQUEST *q = OCSP_REQUEST_new();
        unsigned char *p;
        int calls = t.calls, n;
        OCSP_request_add0_id(q, OCSP_cert_to_id(EVP_sha1(), cs_cert_get0_x509(foreign),
                                                cs_cert_get0_x509(other)));
        OCSP_request_add0_id(q, OCSP_cert_to_id(EVP_sha1(), cs_cert_get0_x509(good),
                                                cs_cert_get0_x509(ca)));
        n = i2d_OCSP_REQUEST(q, NULL);
        req = malloc((size_t)n);
        p = req;
        i2d_OCSP_REQUEST(q, &p);
        CHECK_OK(cs_ocsp_respond(r, req, (size_t)n, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && status_of(bs, foreign, other, EVP_sha1(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_UNKNOWN);
        CHECK(bs && status_of(bs, good, ca, EVP_sha1(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_GOOD);
        CHECK(t.calls == calls + 1);
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(q);
        free(der);
        der = NULL;
        free(req);
        req = NULL;
    }

    /* Malformed: garbage, nothing, trailing bytes, a request for nothing.
     * Each is an answer (malformedRequest), not an error. */
    {
        static const unsigned char garbage[] = "GET / HTTP/1.1\r\n";
        static const unsigned char empty_req[] = {0x30, 0x04, 0x30, 0x02, 0x30, 0x00};
        const cs_cert *certs[] = {good};
        unsigned char *longer;
        req = request(certs, 1, ca, EVP_sha1(), 0, &req_len, NULL);
        longer = malloc(req_len + 1);
        memcpy(longer, req, req_len);
        longer[req_len] = 0;
        CHECK_OK(cs_ocsp_respond(r, garbage, sizeof garbage - 1, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        free(der);
        der = NULL;
        CHECK_OK(cs_ocsp_respond(r, NULL, 0, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        free(der);
        der = NULL;
        CHECK_OK(cs_ocsp_respond(r, longer, req_len + 1, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        free(der);
        der = NULL;
        CHECK_OK(cs_ocsp_respond(r, empty_req, sizeof empty_req, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        free(der);
        der = NULL;
        free(longer);

        /* A failing lookup: its code and message, and no response. */
        t.fail = 1;
        der = (unsigned char *)sentinel;
        CHECK_FAIL(cs_ocsp_respond(r, req, req_len, &der, &len, &err), CS_EDB, &err,
                   "database is locked");
        CHECK(der == (unsigned char *)sentinel);
        der = NULL;
        t.fail = 0;
        {
            size_t n = 0;
            const unsigned char *ie = cs_ocsp_internal_error(&n);
            CHECK(parse(ie, n, &bs) == OCSP_RESPONSE_STATUS_INTERNALERROR);
        }
        free(req);
        req = NULL;
    }

    /* Over HTTP: POST body, GET path, anything else. */
    {
        const cs_cert *certs[] = {good};
        cs_http_reply hr;
        char *url, *get;
        req = request(certs, 1, ca, EVP_sha1(), 1, &req_len, NULL);
        url = get_form(req, req_len);
        get = malloc(strlen(url) + 2);
        sprintf(get, "/%s", url);

        cs_ocsp_http(r, "POST", "", req, req_len, &hr, &err);
        CHECK(hr.status == 200 && strcmp(hr.content_type, "application/ocsp-response") == 0);
        CHECK(parse(hr.body, hr.body_len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && status_of(bs, good, ca, EVP_sha1(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_GOOD);
        OCSP_BASICRESP_free(bs);
        free(hr.body);

        cs_ocsp_http(r, "GET", get, NULL, 0, &hr, &err);
        CHECK(hr.status == 200 && strcmp(hr.content_type, "application/ocsp-response") == 0);
        CHECK(parse(hr.body, hr.body_len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && status_of(bs, good, ca, EVP_sha1(), &reason, NULL, NULL)
                        == V_OCSP_CERTSTATUS_GOOD);
        OCSP_BASICRESP_free(bs);
        free(hr.body);

        cs_ocsp_http(r, "GET", "/not*base64", NULL, 0, &hr, &err);
        CHECK(hr.status == 200 && parse(hr.body, hr.body_len, &bs)
                                      == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        free(hr.body);
        cs_ocsp_http(r, "GET", "", NULL, 0, &hr, &err);
        CHECK(hr.status == 200 && parse(hr.body, hr.body_len, &bs)
                                      == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        free(hr.body);

        cs_ocsp_http(r, "PUT", "", req, req_len, &hr, &err);
        CHECK(hr.status == 405 && hr.body && strcmp(hr.content_type, "text/plain") == 0);
        CHECK(err.code == CS_EINVAL && strstr(err.msg, "method PUT"));
        free(hr.body);

        t.fail = 1;
        cs_ocsp_http(r, "POST", "", req, req_len, &hr, &err);
        CHECK(hr.status == 200 && parse(hr.body, hr.body_len, &bs)
                                      == OCSP_RESPONSE_STATUS_INTERNALERROR);
        CHECK(err.code == CS_EDB && strstr(err.msg, "database is locked"));
        free(hr.body);
        t.fail = 0;

        /* The server's handler: the same answers, from the whole path. */
        {
            char *path = malloc(strlen(get) + sizeof CS_OCSP_PATH);
            cs_ocsp_responder *extra = cs_ocsp_responder_ref(r);
            sprintf(path, "%s%s", CS_OCSP_PATH, get);
            CHECK(extra == r);
            cs_ocsp_handler(extra, "GET", path, NULL, 0, &hr);
            CHECK(hr.status == 200 && parse(hr.body, hr.body_len, &bs)
                                          == OCSP_RESPONSE_STATUS_SUCCESSFUL);
            OCSP_BASICRESP_free(bs);
            free(hr.body);
            cs_ocsp_handler(extra, "POST", CS_OCSP_PATH, req, req_len, &hr);
            CHECK(hr.status == 200 && parse(hr.body, hr.body_len, &bs)
                                          == OCSP_RESPONSE_STATUS_SUCCESSFUL);
            OCSP_BASICRESP_free(bs);
            free(hr.body);
            cs_ocsp_responder_free(extra); /* one of two: r still answers below */
            free(path);
        }

        free(get);
        free(url);
        free(req);
        req = NULL;
    }

    /* Stapling: one response for one certificate; not for another CA's. */
    CHECK_OK(cs_ocsp_response_for_cert(r, bad, &der, &len, &err), &err);
    CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
    CHECK(bs && verifies(bs, ca) && OCSP_resp_count(bs) == 1);
    CHECK(bs && status_of(bs, bad, ca, EVP_sha1(), &reason, NULL, NULL)
                    == V_OCSP_CERTSTATUS_REVOKED);
    OCSP_BASICRESP_free(bs);
    free(der);
    der = NULL;
    CHECK_FAIL(cs_ocsp_response_for_cert(r, foreign, &der, &len, &err), CS_EINVAL, &err,
               "not issued by C=SE, O=Simple Inc, CN=Test Issuing CA");
    CHECK(der == NULL);

    /* Many threads on one responder. */
    {
        const cs_cert *certs[] = {good, bad};
        req = request(certs, 2, ca, EVP_sha256(), 1, &req_len, NULL);
        CHECK(all_threads_answer(r, req, req_len));
        free(req);
        req = NULL;
    }

    /* A delegated signer: its certificate goes along; a client trusting only
     * the CA accepts it (OCSPSigning, issued by the CA). */
    params.signer = signer;
    params.signer_key = ocsp_key;
    params.next_update_secs = 0;
    CHECK_OK(cs_ocsp_responder_new(&params, &rd, &err), &err);
    if (rd) {
        const cs_cert *certs[] = {bad};
        req = request(certs, 1, ca, EVP_sha1(), 1, &req_len, NULL);
        CHECK_OK(cs_ocsp_respond(rd, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && sk_X509_num(OCSP_resp_get0_certs(bs)) == 1);
        CHECK(bs && X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs), 0),
                             cs_cert_get0_x509(signer)) == 0);
        CHECK(bs && verifies(bs, ca));
        CHECK(bs && !verifies(bs, other));
        CHECK(bs && status_of(bs, bad, ca, EVP_sha1(), &reason, NULL, &validity)
                        == V_OCSP_CERTSTATUS_REVOKED);
        CHECK(validity == -1); /* next_update_secs 0: no nextUpdate */
        OCSP_BASICRESP_free(bs);
        bs = NULL;
        free(der);
        der = NULL;

        /* A new signer (a renewed responder, here the CA itself) signs
         * from then on; a refused one leaves the old in place. */
        CHECK_FAIL(cs_ocsp_responder_set_signer(rd, signer, leaf_key, &err), CS_EMISMATCH,
                   &err, "key: not the signer's key");
        CHECK_FAIL(cs_ocsp_responder_set_signer(rd, not_signer, ocsp_key, &err), CS_EINVAL,
                   &err, "OCSPSigning");
        CHECK_OK(cs_ocsp_respond(rd, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && sk_X509_num(OCSP_resp_get0_certs(bs)) == 1); /* still the delegated */
        OCSP_BASICRESP_free(bs);
        bs = NULL;
        free(der);
        der = NULL;
        CHECK_OK(cs_ocsp_responder_set_signer(rd, ca, ca_key, &err), &err);
        CHECK_OK(cs_ocsp_respond(rd, req, req_len, &der, &len, &err), &err);
        CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
        CHECK(bs && sk_X509_num(OCSP_resp_get0_certs(bs)) <= 0); /* the CA: no cert along */
        CHECK(bs && verifies(bs, ca));
        OCSP_BASICRESP_free(bs);
        free(der);
        der = NULL;
        free(req);
        req = NULL;
    }

    /* Refusals: each names the field, and *out is untouched. */
    {
        cs_ocsp_responder *got = sentinel;
        cs_ocsp_params bad_p = params;
        cs_key *pub = NULL;
        char *pem = NULL;
        size_t pem_len = 0;

        bad_p.issuer = good;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err,
                   "issuer: not a CA");
        bad_p = params;
        bad_p.signer = not_signer;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err,
                   "signer: a delegated responder needs extKeyUsage OCSPSigning");
        bad_p.signer = stray_signer;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err,
                   "signer: neither the issuer nor issued by it");
        bad_p = params;
        bad_p.signer_key = leaf_key;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EMISMATCH, &err,
                   "key: not the signer's key");
        CHECK_OK(cs_key_public_pem(ocsp_key, &pem, &pem_len, &err), &err);
        CHECK_OK(cs_key_load_public(pem, pem_len, "ocsp.pub", &pub, &err), &err);
        bad_p.signer_key = pub;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err,
                   "no private key");
        bad_p = params;
        bad_p.next_update_secs = -1;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err,
                   "next_update");
        bad_p = params;
        bad_p.lookup = NULL;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err, "lookup");
        bad_p = params;
        bad_p.signer = NULL;
        CHECK_FAIL(cs_ocsp_responder_new(&bad_p, &got, &err), CS_EINVAL, &err,
                   "signer: missing");
        CHECK(got == sentinel);
        cs_key_free(pub);
        free(pem);
    }

    /* The GET form: what is not base64 is refused, naming where. */
    {
        unsigned char *out = (unsigned char *)sentinel;
        size_t out_len = 0;
        CHECK_FAIL(cs_ocsp_decode_get("MEIw!QDA", 8, &out, &out_len, &err), CS_EINVAL, &err,
                   "not base64 at offset 4");
        CHECK_FAIL(cs_ocsp_decode_get("MEI%2", 5, &out, &out_len, &err), CS_EINVAL, &err,
                   "bad %-escape at offset 3");
        CHECK_FAIL(cs_ocsp_decode_get("MEIw=QDA", 8, &out, &out_len, &err), CS_EINVAL, &err,
                   "not base64 at offset 5");
        CHECK_FAIL(cs_ocsp_decode_get("MEIwA", 5, &out, &out_len, &err), CS_EINVAL, &err,
                   "wrong length");
        CHECK_FAIL(cs_ocsp_decode_get("", 0, &out, &out_len, &err), CS_EINVAL, &err, "empty");
        CHECK(out == (unsigned char *)sentinel);
        out = NULL;
        CHECK_OK(cs_ocsp_decode_get("TWFu%3D", 7, &out, &out_len, &err), &err);
        CHECK(out && out_len == 3 && memcmp(out, "Man", 3) == 0);
        free(out);
        out = NULL;
        CHECK_OK(cs_ocsp_decode_get("TWE%3d%3D", 9, &out, &out_len, &err), &err);
        CHECK(out && out_len == 2 && memcmp(out, "Ma", 2) == 0);
        free(out);
    }

    /* Over the CA database: good, then revoked once the store says so. */
    if (fx_mkdtemp("ocsp")) {
        char db[256], missing[256];
        cs_store *s = NULL;
        cs_cert *leaf = NULL, *ca2 = NULL;
        cs_ocsp_responder *rs = NULL, *got = sentinel;
        cs_ocsp_params sp = params;
        char *serial = NULL;
        FILE *f;

        fx_path(db, sizeof db, "ca.db");
        fx_path(missing, sizeof missing, "missing.db");
        CHECK_OK(cs_store_open(db, &s, &err), &err);
        spec = fx_ca_spec(ca_dn, 3, 0, 30);
        CHECK_OK(cs_store_issue(s, &spec, ca_key, NULL, ca_key, "root", &ca2, &err), &err);
        spec = fx_leaf_spec(good_dn, 1, server_auth, good_san, 1, 30);
        CHECK_OK(cs_store_issue(s, &spec, leaf_key, ca2, ca_key, "server", &leaf, &err), &err);
        sp.issuer = ca2;
        sp.signer = ca2;
        sp.signer_key = ca_key;
        sp.lookup = NULL;
        sp.lookup_arg = NULL;
        CHECK_FAIL(cs_ocsp_responder_open(missing, &sp, &got, &err), CS_ENOENT, &err,
                   "missing.db");
        CHECK(got == sentinel);
        f = fopen(missing, "r");
        CHECK(f == NULL); /* not created */
        if (f)
            fclose(f);
        CHECK_FAIL(cs_ocsp_responder_open(db, &params, &got, &err), CS_EINVAL, &err,
                   "lookup");
        CHECK_OK(cs_ocsp_responder_open(db, &sp, &rs, &err), &err);
        if (rs && leaf && ca2) {
            const cs_cert *certs[] = {leaf};
            req = request(certs, 1, ca2, EVP_sha1(), 1, &req_len, NULL);
            CHECK_OK(cs_ocsp_respond(rs, req, req_len, &der, &len, &err), &err);
            CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
            CHECK(bs && status_of(bs, leaf, ca2, EVP_sha1(), &reason, NULL, NULL)
                            == V_OCSP_CERTSTATUS_GOOD);
            OCSP_BASICRESP_free(bs);
            free(der);
            der = NULL;
            serial = cs_cert_serial_hex(leaf);
            CHECK_OK(cs_store_revoke(s, serial, t.issuer, 4, REVOKED_AT, &err), &err);
            CHECK_OK(cs_ocsp_respond(rs, req, req_len, &der, &len, &err), &err);
            CHECK(parse(der, len, &bs) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
            revoked = 0;
            CHECK(bs && status_of(bs, leaf, ca2, EVP_sha1(), &reason, &revoked, NULL)
                            == V_OCSP_CERTSTATUS_REVOKED);
            CHECK(reason == OCSP_REVOKED_STATUS_SUPERSEDED && revoked == REVOKED_AT);
            OCSP_BASICRESP_free(bs);
            free(der);
            der = NULL;
            /* The one connection, from many threads. */
            CHECK(all_threads_answer(rs, req, req_len));
            free(req);
            req = NULL;
        }
        free(serial);
        cs_ocsp_responder_free(rs);
        cs_cert_free(leaf);
        cs_cert_free(ca2);
        cs_store_close(s);
        fx_rmdir();
    }

    cs_ocsp_responder_free(rd);
    cs_ocsp_responder_free(r);
    cs_cert_free(not_signer);
    cs_cert_free(stray_signer);
    cs_cert_free(signer);
    cs_cert_free(foreign);
    cs_cert_free(fresh);
    cs_cert_free(bad);
    cs_cert_free(good);
    cs_cert_free(other);
    cs_cert_free(ca);
    cs_key_free(ocsp_key);
    cs_key_free(leaf_key);
    cs_key_free(other_key);
    cs_key_free(ca_key);
    return CHECK_DONE();
}
