/* The OCSP responder (RFC 6960, with the RFC 5019 profile's choices): match
 * each CertID against our issuer, look the serial up, sign the answer. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "hsm.h"
#include "internal.h"
#include "text.h"
#include "store_pg.h"
#include "ocsp.h"

/* A request asking about more certificates than this is malformedRequest:
 * each one is a lookup under the mutex, and no client asks for many. */
#define MAX_CERT_IDS 64
/* The GET form of a request: a URL this long is no OCSP request. */
#define MAX_GET_TEXT 65536

/* The CertID hashes RFC 6960 4.1.1 allows us to meet, by NID. */
static const struct { int nid; const char *name; } cert_id_hashes[] = {
    {NID_sha1, "SHA1"},     {NID_sha224, "SHA224"}, {NID_sha256, "SHA256"},
    {NID_sha384, "SHA384"}, {NID_sha512, "SHA512"},
};
#define N_HASHES (sizeof cert_id_hashes / sizeof cert_id_hashes[0])

/* Our issuer's name and key hashed with one CertID hash. */
typedef struct issuer_hash {
    unsigned char name[EVP_MAX_MD_SIZE];
    unsigned char key[EVP_MAX_MD_SIZE];
    unsigned len;
} issuer_hash;

struct cs_ocsp_responder {
    atomic_int refs; /* the creator's, plus one per server answering with it */
    cs_cert *issuer;
    /* The signer: replaced whole by cs_ocsp_responder_set_signer (a renewed
     * delegated responder) under signer_lock; a signing takes its own
     * references first, so it never sees half of an old and a new one. */
    cs_cert *signer;
    EVP_PKEY *key;
    const char *digest; /* cs_key_digest_name's static string, or NULL */
    int delegated;      /* signer is not the issuer: include its certificate */
    int on_token;       /* key is on a PKCS#11 token: sign under token_sign_lock */
    pthread_mutex_t signer_lock;
    char *issuer_line;  /* what the lookup is given */
    issuer_hash hashes[N_HASHES];
    int64_t next_update_secs;
    cs_ocsp_lookup_fn lookup;
    void *lookup_arg;
    cs_store *store; /* cs_ocsp_responder_open's connection, the lookup_arg; else NULL */
    pthread_mutex_t lock; /* around lookup: a SQLite connection is one thread's */
};

static const unsigned char internal_error_der[] = {
    0x30, 0x03, 0x0a, 0x01, OCSP_RESPONSE_STATUS_INTERNALERROR,
};

const unsigned char *cs_ocsp_internal_error(size_t *len)
{
    *len = sizeof internal_error_der;
    return internal_error_der;
}

/* Hash the issuer's DER subject and the value of its subjectPublicKey BIT
 * STRING (RFC 6960 4.1.1) with every hash a CertID may use. */
static cs_code hash_issuer(cs_ocsp_responder *r, cs_err *err)
{
    X509 *x = r->issuer->x509;
    const unsigned char *name_der = NULL;
    size_t name_len = 0;
    const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(x);
    size_t i;

    if (!key || !X509_NAME_get0_der(X509_get_subject_name(x), &name_der, &name_len))
        return cs_err_ossl(err, CS_ECRYPTO, "ocsp: reading the issuer's name and key");
    for (i = 0; i < N_HASHES; i++) {
        EVP_MD *md = EVP_MD_fetch(NULL, cert_id_hashes[i].name, NULL);
        unsigned nlen = 0, klen = 0;
        int ok = md && EVP_Digest(name_der, name_len, r->hashes[i].name, &nlen, md, NULL) &&
                 EVP_Digest(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key),
                            r->hashes[i].key, &klen, md, NULL);
        EVP_MD_free(md);
        if (!ok)
            return cs_err_ossl(err, CS_ECRYPTO, "ocsp: hashing the issuer with %s",
                               cert_id_hashes[i].name);
        r->hashes[i].len = nlen;
    }
    return CS_OK;
}

/* A copy of the signer that encodes from the bytes it was parsed from: a
 * delegated signer's certificate goes into every response, and one read by
 * cs_cert_load has its cached encoding marked stale (the DER check encodes
 * it again), so each response encoded it field by field. One parse per
 * responder or renewed signer instead. */
static cs_cert *fresh_signer(const cs_cert *signer)
{
    cs_cert *copy = malloc(sizeof *copy);

    if (!copy)
        return NULL;
    copy->x509 = X509_dup(signer->x509);
    if (!copy->x509) {
        free(copy);
        return NULL;
    }
    return copy;
}

/* May signer, with key, sign for issuer (RFC 6960 4.2.2.2)? Sets
 * *delegated. */
static cs_code check_signer(const cs_cert *issuer, const cs_cert *signer_cert,
                            const cs_key *key, int *delegated, cs_err *err)
{
    X509 *signer = signer_cert->x509;
    cs_err why = {CS_OK, ""};
    cs_code rc = csi_key_need_private(key, "ocsp: key", err);

    if (rc != CS_OK)
        return rc;
    rc = cs_cert_check_key(signer_cert, key, err);
    if (rc != CS_OK)
        return rc == CS_EMISMATCH
                   ? cs_err_set(err, CS_EMISMATCH, "ocsp: key: not the signer's key")
                   : rc;
    if (X509_cmp(signer, issuer->x509) == 0) {
        *delegated = 0;
        return CS_OK;
    }
    if (cs_cert_issued_by(signer_cert, issuer, &why) != CS_OK)
        return cs_err_set(err, CS_EINVAL, "ocsp: signer: neither the issuer nor issued by "
                          "it (%s)", why.msg);
    /* X509_get_extended_key_usage reports "every purpose" when there is no
     * extension: a delegated responder must name OCSPSigning explicitly. */
    if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN))
        return cs_err_set(err, CS_EINVAL, "ocsp: signer: a delegated responder needs "
                          "extKeyUsage OCSPSigning");
    *delegated = 1;
    return CS_OK;
}

cs_code cs_ocsp_responder_new(const cs_ocsp_params *p, cs_ocsp_responder **out, cs_err *err)
{
    cs_ocsp_responder *r = NULL;
    int delegated = 0;
    cs_code rc;

    if (!p || !out)
        return cs_err_set(err, CS_EINVAL, "ocsp: no parameters");
    if (!p->issuer || !p->signer || !p->signer_key)
        return cs_err_set(err, CS_EINVAL, "ocsp: %s: missing",
                          !p->issuer ? "issuer" : !p->signer ? "signer" : "key");
    if (!p->lookup)
        return cs_err_set(err, CS_EINVAL, "ocsp: lookup: missing");
    if (p->next_update_secs < 0)
        return cs_err_set(err, CS_EINVAL, "ocsp: next_update: negative");
    if (X509_check_ca(p->issuer->x509) == 0)
        return cs_err_set(err, CS_EINVAL, "ocsp: issuer: not a CA certificate");
    rc = check_signer(p->issuer, p->signer, p->signer_key, &delegated, err);
    if (rc != CS_OK)
        return rc;

    r = calloc(1, sizeof *r);
    if (!r)
        return cs_err_set(err, CS_ENOMEM, "ocsp: out of memory");
    r->issuer = cs_cert_dup(p->issuer);
    r->signer = fresh_signer(p->signer);
    r->issuer_line = csi_name_oneline(X509_get_subject_name(p->issuer->x509));
    if (EVP_PKEY_up_ref(p->signer_key->pkey) == 1)
        r->key = p->signer_key->pkey;
    if (!r->issuer || !r->signer || !r->issuer_line || !r->key) {
        rc = cs_err_set(err, CS_ENOMEM, "ocsp: out of memory");
        goto fail;
    }
    atomic_init(&r->refs, 1);
    r->digest = cs_key_digest_name(p->signer_key);
    r->on_token = cs_key_on_token(p->signer_key);
    r->next_update_secs = p->next_update_secs;
    r->lookup = p->lookup;
    r->lookup_arg = p->lookup_arg;
    r->delegated = delegated;
    rc = hash_issuer(r, err);
    if (rc != CS_OK)
        goto fail;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        rc = cs_err_set(err, CS_ENOMEM, "ocsp: creating a mutex");
        goto fail;
    }
    if (pthread_mutex_init(&r->signer_lock, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        rc = cs_err_set(err, CS_ENOMEM, "ocsp: creating a mutex");
        goto fail;
    }
    *out = r;
    return CS_OK;

fail:
    EVP_PKEY_free(r->key);
    free(r->issuer_line);
    cs_cert_free(r->signer);
    cs_cert_free(r->issuer);
    free(r);
    return rc;
}

static cs_code store_lookup(void *arg, const char *issuer, const char *serial_hex,
                            cs_revocation *out, cs_err *err)
{
    return cs_store_status(arg, issuer, serial_hex, out, err);
}

cs_code cs_ocsp_responder_open(const char *db_path, const cs_ocsp_params *p,
                               cs_ocsp_responder **out, cs_err *err)
{
    cs_ocsp_params with_store;
    cs_store *store = NULL;
    struct stat st;
    cs_code rc;

    if (!db_path || !p || !out)
        return cs_err_set(err, CS_EINVAL, "ocsp: no database or parameters");
    if (p->lookup || p->lookup_arg)
        return cs_err_set(err, CS_EINVAL, "ocsp: lookup: the database is the lookup");
    /* cs_store_open would create a missing database: an empty one would
     * answer "unknown" for every certificate we issued. */
    if (!csi_store_is_url(db_path) && stat(db_path, &st) != 0)
        return cs_err_set(err, errno == ENOENT ? CS_ENOENT : CS_EIO, "%s: %s", db_path,
                          strerror(errno));
    rc = cs_store_open(db_path, &store, err);
    if (rc != CS_OK)
        return rc;
    with_store = *p;
    with_store.lookup = store_lookup;
    with_store.lookup_arg = store;
    rc = cs_ocsp_responder_new(&with_store, out, err);
    if (rc != CS_OK) {
        cs_store_close(store);
        return rc;
    }
    (*out)->store = store;
    return CS_OK;
}

cs_ocsp_responder *cs_ocsp_responder_ref(cs_ocsp_responder *r)
{
    if (r)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

void cs_ocsp_responder_free(cs_ocsp_responder *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    cs_store_close(r->store);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->signer_lock);
    EVP_PKEY_free(r->key);
    free(r->issuer_line);
    cs_cert_free(r->signer);
    cs_cert_free(r->issuer);
    free(r);
}

/* Is cid about a certificate of our issuer? Another issuer, or a hash we do
 * not compute, is not ours. */
static int cert_id_ours(const cs_ocsp_responder *r, OCSP_CERTID *cid)
{
    ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
    ASN1_OBJECT *md = NULL;
    ASN1_INTEGER *serial = NULL;
    int nid;
    size_t i;

    if (!OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, cid) || !md)
        return 0;
    nid = OBJ_obj2nid(md);
    for (i = 0; i < N_HASHES; i++) {
        const issuer_hash *h = &r->hashes[i];
        if (cert_id_hashes[i].nid != nid)
            continue;
        return name_hash && key_hash && ASN1_STRING_length(name_hash) == (int)h->len &&
               ASN1_STRING_length(key_hash) == (int)h->len &&
               memcmp(ASN1_STRING_get0_data(name_hash), h->name, h->len) == 0 &&
               memcmp(ASN1_STRING_get0_data(key_hash), h->key, h->len) == 0;
    }
    return 0;
}

/* The status of the certificate of our issuer with this serial: the
 * lookup's answer. A negative serial, or one longer than RFC 5280 4.1.2.2's
 * 20 octets, was never ours: unknown, without asking. */
static cs_code look_up_serial(cs_ocsp_responder *r, const ASN1_INTEGER *serial,
                              cs_revocation *st, cs_err *err)
{
    BIGNUM *bn = NULL;
    char *hex = NULL;
    cs_code rc = CS_OK;

    st->status = CS_STATUS_UNKNOWN;
    st->revoked_at = 0;
    st->reason = -1;
    if (!serial || ASN1_STRING_length(serial) > 20)
        return CS_OK;
    bn = ASN1_INTEGER_to_BN(serial, NULL);
    if (bn && !BN_is_negative(bn))
        hex = BN_bn2hex(bn); /* upper case, whole bytes, as the store keeps it */
    if (!bn || (!BN_is_negative(bn) && !hex)) {
        rc = cs_err_ossl(err, CS_ENOMEM, "ocsp: reading a serial");
    } else if (hex) {
        pthread_mutex_lock(&r->lock);
        rc = r->lookup(r->lookup_arg, r->issuer_line, hex, st, err);
        pthread_mutex_unlock(&r->lock);
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

/* The status of the certificate cid names (ours). */
static cs_code look_up(cs_ocsp_responder *r, OCSP_CERTID *cid, cs_revocation *st,
                       cs_err *err)
{
    ASN1_INTEGER *serial = NULL;

    if (!OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid))
        serial = NULL;
    return look_up_serial(r, serial, st, err);
}

cs_code cs_ocsp_status(cs_ocsp_responder *r, const cs_cert *cert, cs_revocation *out,
                       cs_err *err)
{
    cs_revocation st = {CS_STATUS_UNKNOWN, 0, -1, 0};
    cs_code rc = CS_OK;

    if (!r || !cert || !cert->x509 || !out)
        return cs_err_set(err, CS_EINVAL, "ocsp: no responder, certificate or output");
    /* Ours by issuer name and authority key identifier, as the database
     * keys certificates by issuer; no signature check, which the caller's
     * verification did (and which costs what a lookup does not). */
    if (cs_ocsp_issued(r, cert))
        rc = look_up_serial(r, X509_get0_serialNumber(cert->x509), &st, err);
    if (rc == CS_OK)
        *out = st;
    return rc;
}

int cs_ocsp_issued(const cs_ocsp_responder *r, const cs_cert *cert)
{
    return r && cert && cert->x509 &&
           X509_check_issued(r->issuer->x509, cert->x509) == X509_V_OK;
}

/* One SingleResponse for cid into bs. */
static cs_code add_status(cs_ocsp_responder *r, OCSP_BASICRESP *bs, OCSP_CERTID *cid,
                          int ours, ASN1_TIME *this_update, ASN1_TIME *next_update,
                          cs_err *err)
{
    cs_revocation st = {CS_STATUS_UNKNOWN, 0, -1, 0};
    ASN1_TIME *revoked_at = NULL;
    int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS;
    cs_code rc = CS_OK;

    if (ours) {
        rc = look_up(r, cid, &st, err);
        if (rc != CS_OK)
            return rc;
    }
    if (st.status == CS_STATUS_GOOD) {
        status = V_OCSP_CERTSTATUS_GOOD;
    } else if (st.status == CS_STATUS_REVOKED) {
        status = V_OCSP_CERTSTATUS_REVOKED;
        /* RFC 5280 5.3.1: codes 1-10 without 7. unspecified (0) is left out,
         * as the CRL leaves it out (CA/B BR 7.2.2), and so is anything else. */
        if (st.reason >= 1 && st.reason <= 10 && st.reason != 7)
            reason = st.reason;
        revoked_at = ASN1_TIME_set(NULL, (time_t)st.revoked_at);
        if (!revoked_at)
            return cs_err_ossl(err, CS_ECRYPTO, "ocsp: revocation time");
    }
    if (!OCSP_basic_add1_status(bs, cid, status, reason, revoked_at, this_update,
                                next_update))
        rc = cs_err_ossl(err, CS_ECRYPTO, "ocsp: adding a status");
    ASN1_TIME_free(revoked_at);
    return rc;
}

/* An OCSPResponse of status with bs (NULL for an error status) as DER. */
static cs_code encode_response(int status, OCSP_BASICRESP *bs, unsigned char **der,
                               size_t *len, cs_err *err)
{
    OCSP_RESPONSE *resp = OCSP_response_create(status, bs);
    cs_code rc;

    if (!resp)
        return cs_err_ossl(err, CS_ECRYPTO, "ocsp: building the response");
    rc = csi_der_encode(resp, ASN1_ITEM_rptr(OCSP_RESPONSE), "ocsp response", der, len, err);
    OCSP_RESPONSE_free(resp);
    return rc;
}

/* Sign bs with the signer's key and digest; responderID by key hash (RFC
 * 6960 4.2.2.3, the smaller one); the signer's certificate along when
 * delegated, so the client can check it chains to the issuer (4.2.2.2). */
/* One signature at a time through a PKCS#11 token (core/hsm.h). */
static pthread_mutex_t token_sign_lock = PTHREAD_MUTEX_INITIALIZER;

static cs_code sign_basic(cs_ocsp_responder *r, OCSP_BASICRESP *bs, cs_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cs_cert *signer;
    EVP_PKEY *key;
    const char *digest;
    unsigned long flags;
    int on_token;
    cs_code rc = CS_OK;

    pthread_mutex_lock(&r->signer_lock);
    signer = cs_cert_dup(r->signer);
    key = EVP_PKEY_up_ref(r->key) == 1 ? r->key : NULL;
    digest = r->digest;
    flags = OCSP_RESPID_KEY | (r->delegated ? 0 : OCSP_NOCERTS);
    on_token = r->on_token;
    pthread_mutex_unlock(&r->signer_lock);

    /* A token does one operation per session at a time; the workers sign
     * one after another rather than count on the driver's session pool. */
    if (on_token)
        pthread_mutex_lock(&token_sign_lock);

    if (!ctx || !signer || !key ||
        EVP_DigestSignInit_ex(ctx, NULL, digest, NULL, NULL, key, NULL) != 1 ||
        OCSP_basic_sign_ctx(bs, signer->x509, ctx, NULL, flags) != 1)
        rc = cs_err_ossl(err, CS_ECRYPTO, "ocsp: signing the response");
    if (on_token)
        pthread_mutex_unlock(&token_sign_lock);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    cs_cert_free(signer);
    return rc;
}

cs_code cs_ocsp_responder_set_signer(cs_ocsp_responder *r, const cs_cert *signer,
                                     const cs_key *key, cs_err *err)
{
    cs_cert *cert, *old_cert;
    EVP_PKEY *old_key;
    int delegated = 0;
    cs_code rc;

    if (!r || !signer || !key)
        return cs_err_set(err, CS_EINVAL, "ocsp: %s: missing", !signer ? "signer" : "key");
    rc = check_signer(r->issuer, signer, key, &delegated, err);
    if (rc != CS_OK)
        return rc;
    cert = fresh_signer(signer);
    if (!cert || EVP_PKEY_up_ref(key->pkey) != 1) {
        cs_cert_free(cert);
        return cs_err_set(err, CS_ENOMEM, "ocsp: out of memory");
    }
    pthread_mutex_lock(&r->signer_lock);
    old_cert = r->signer;
    old_key = r->key;
    r->signer = cert;
    r->key = key->pkey;
    r->digest = cs_key_digest_name(key);
    r->on_token = cs_key_on_token(key);
    r->delegated = delegated;
    pthread_mutex_unlock(&r->signer_lock);
    cs_cert_free(old_cert);
    EVP_PKEY_free(old_key);
    return CS_OK;
}

/* The signed, successful response for ids (and req's nonce, if req). */
static cs_code answer(cs_ocsp_responder *r, OCSP_CERTID *const *ids, const int *ours, int n,
                      OCSP_REQUEST *req, unsigned char **der, size_t *len, cs_err *err)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    ASN1_TIME *this_update = NULL, *next_update = NULL;
    time_t now = time(NULL);
    cs_code rc = CS_OK;
    int i;

    if (!bs)
        return cs_err_ossl(err, CS_ENOMEM, "ocsp: out of memory");
    this_update = ASN1_TIME_set(NULL, now);
    if (r->next_update_secs > 0)
        next_update = ASN1_TIME_adj(NULL, now, (int)(r->next_update_secs / 86400),
                                    (long)(r->next_update_secs % 86400));
    if (!this_update || (r->next_update_secs > 0 && !next_update)) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "ocsp: update times");
        goto done;
    }
    for (i = 0; i < n && rc == CS_OK; i++)
        rc = add_status(r, bs, ids[i], ours[i], this_update, next_update, err);
    if (rc != CS_OK)
        goto done;
    /* RFC 8954: echo the nonce; 2 means the request had none. */
    if (req && OCSP_copy_nonce(bs, req) <= 0) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "ocsp: copying the nonce");
        goto done;
    }
    rc = sign_basic(r, bs, err);
    if (rc == CS_OK)
        rc = encode_response(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs, der, len, err);

done:
    ASN1_TIME_free(next_update);
    ASN1_TIME_free(this_update);
    OCSP_BASICRESP_free(bs);
    return rc;
}

/* The request in req_der, or NULL if it is no well-formed request: it must
 * parse, fill all len bytes, and ask about 1 to MAX_CERT_IDS certificates. */
static OCSP_REQUEST *parse_request(const unsigned char *req_der, size_t len)
{
    const unsigned char *p = req_der;
    OCSP_REQUEST *req;
    int n;

    if (!req_der || len == 0 || len > LONG_MAX)
        return NULL;
    ERR_set_mark(); /* a bad request is an answer, not an error to report */
    req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    ERR_pop_to_mark();
    if (!req)
        return NULL;
    n = OCSP_request_onereq_count(req);
    if (p != req_der + len || n < 1 || n > MAX_CERT_IDS) {
        OCSP_REQUEST_free(req);
        return NULL;
    }
    return req;
}

cs_code cs_ocsp_respond(cs_ocsp_responder *r, const unsigned char *req_der, size_t len,
                        unsigned char **resp_der, size_t *resp_len, cs_err *err)
{
    OCSP_REQUEST *req = NULL;
    OCSP_CERTID *ids[MAX_CERT_IDS];
    int ours[MAX_CERT_IDS];
    int n, i, any = 0;
    cs_code rc;

    if (!r || !resp_der || !resp_len)
        return cs_err_set(err, CS_EINVAL, "ocsp: no responder or output");
    req = parse_request(req_der, len);
    if (!req)
        return encode_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, NULL, resp_der,
                               resp_len, err);
    n = OCSP_request_onereq_count(req);
    for (i = 0; i < n; i++) {
        ids[i] = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
        ours[i] = ids[i] && cert_id_ours(r, ids[i]);
        any |= ours[i];
        if (!ids[i])
            break;
    }
    if (i < n)
        rc = encode_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, NULL, resp_der, resp_len,
                             err);
    else if (!any) /* RFC 5019 2.2.3: we are not authoritative for any of them */
        rc = encode_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED, NULL, resp_der, resp_len, err);
    else
        rc = answer(r, ids, ours, n, req, resp_der, resp_len, err);
    OCSP_REQUEST_free(req);
    return rc;
}

cs_code cs_ocsp_response_for_cert(cs_ocsp_responder *r, const cs_cert *cert,
                                  unsigned char **resp_der, size_t *resp_len, cs_err *err)
{
    OCSP_CERTID *cid = NULL;
    cs_err why = {CS_OK, ""};
    int ours = 1;
    cs_code rc;

    if (!r || !cert || !resp_der || !resp_len)
        return cs_err_set(err, CS_EINVAL, "ocsp: no responder, certificate or output");
    if (cs_cert_issued_by(cert, r->issuer, &why) != CS_OK)
        return cs_err_set(err, CS_EINVAL, "ocsp: certificate not issued by %s (%s)",
                          r->issuer_line, why.msg);
    /* SHA-1 CertIDs are what RFC 5019 clients compute and match. */
    cid = OCSP_cert_to_id(EVP_sha1(), cert->x509, r->issuer->x509);
    if (!cid)
        return cs_err_ossl(err, CS_ECRYPTO, "ocsp: building the CertID");
    rc = answer(r, &cid, &ours, 1, NULL, resp_der, resp_len, err);
    OCSP_CERTID_free(cid);
    return rc;
}

void cs_ocsp_http(cs_ocsp_responder *r, const char *method, const char *tail,
                  const unsigned char *body, size_t body_len, cs_http_reply *out, cs_err *err)
{
    static const char allow[] = "only GET and POST (RFC 6960 A.1)\n";
    unsigned char *req = NULL, *der = NULL;
    size_t req_len = 0, der_len = 0;
    cs_err why = {CS_OK, ""};
    cs_code rc;

    out->status = 500;
    out->content_type = "text/plain";
    out->body = NULL;
    out->body_len = 0;
    if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)) {
        out->body = malloc(sizeof allow - 1);
        if (out->body) {
            memcpy(out->body, allow, sizeof allow - 1);
            out->body_len = sizeof allow - 1;
            out->status = 405;
        }
        cs_err_set(err, CS_EINVAL, "ocsp: method %s", method ? method : "(none)");
        return;
    }
    if (strcmp(method, "GET") == 0) {
        while (tail && *tail == '/')
            tail++;
        /* Not base64: answered as malformed, as a bad POST body is. */
        if (!tail || cs_ocsp_decode_get(tail, strlen(tail), &req, &req_len, &why) != CS_OK) {
            req = NULL;
            req_len = 0;
        }
        body = req;
        body_len = req_len;
    }
    rc = cs_ocsp_respond(r, body, body_len, &der, &der_len, err);
    free(req);
    if (rc != CS_OK) {
        const unsigned char *ie = cs_ocsp_internal_error(&der_len);
        der = malloc(der_len);
        if (!der)
            return;
        memcpy(der, ie, der_len);
    }
    out->status = 200;
    out->content_type = "application/ocsp-response";
    out->body = der;
    out->body_len = der_len;
}

void cs_ocsp_handler(void *ctx, const char *method, const char *path,
                     const unsigned char *body, size_t body_len, cs_http_reply *out)
{
    size_t prefix = sizeof CS_OCSP_PATH - 1;
    cs_err err = {CS_OK, ""};

    /* the server calls us only for CS_OCSP_PATH and what is under it */
    if (!path || strncmp(path, CS_OCSP_PATH, prefix) != 0)
        prefix = 0;
    cs_ocsp_http(ctx, method, path ? path + prefix : NULL, body, body_len, out, &err);
    if (err.code != CS_OK)
        fprintf(stderr, "ocsp: %s\n", err.msg);
}

/* One character of (standard) base64, from what a URL may have made of it:
 * %XX decoded, the URL-safe alphabet's - and _, and a + turned to a space by
 * form decoding. -1 if it is none. */
static int b64_char(int c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '+' || c == '/')
        return c;
    return c == '-' ? '+' : c == '_' ? '/' : c == ' ' ? '+' : -1;
}

cs_code cs_ocsp_decode_get(const char *text, size_t len, unsigned char **der,
                           size_t *der_len, cs_err *err)
{
    char *b64 = NULL;
    unsigned char *out = NULL;
    size_t i, n = 0, pad;
    int got, seen_pad = 0;
    cs_code rc = CS_OK;

    if (!text || !der || !der_len)
        return cs_err_set(err, CS_EINVAL, "ocsp GET: no request");
    if (len == 0 || len > MAX_GET_TEXT)
        return cs_err_set(err, CS_EINVAL, "ocsp GET: request %s", len ? "too long" : "empty");
    b64 = malloc(len + 4);
    if (!b64)
        return cs_err_set(err, CS_ENOMEM, "ocsp GET: out of memory");
    for (i = 0; i < len; i++) {
        size_t at = i;
        int c = (unsigned char)text[i];
        if (c == '%') {
            int hi = i + 2 < len ? cs_text_hex_digit(text[i + 1]) : -1;
            int lo = i + 2 < len ? cs_text_hex_digit(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                rc = cs_err_set(err, CS_EINVAL, "ocsp GET: bad %%-escape at offset %zu", i);
                goto done;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == '=') { /* padding: only at the end, re-added below */
            seen_pad = 1;
            continue;
        }
        c = b64_char(c);
        if (c < 0 || seen_pad) {
            rc = cs_err_set(err, CS_EINVAL, "ocsp GET: not base64 at offset %zu", at);
            goto done;
        }
        b64[n++] = (char)c;
    }
    if (n % 4 == 1 || n == 0) {
        rc = cs_err_set(err, CS_EINVAL, "ocsp GET: base64 of the wrong length");
        goto done;
    }
    pad = (4 - n % 4) % 4;
    memset(b64 + n, '=', pad);
    n += pad;
    out = malloc(n / 4 * 3);
    if (!out) {
        rc = cs_err_set(err, CS_ENOMEM, "ocsp GET: out of memory");
        goto done;
    }
    got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    /* EVP_DecodeBlock counts a padded group as 3 bytes: take the padding off. */
    if (got < 0 || (size_t)got < pad) {
        rc = cs_err_set(err, CS_EINVAL, "ocsp GET: not base64");
        goto done;
    }
    *der = out;
    *der_len = (size_t)got - pad;
    out = NULL;

done:
    free(out);
    free(b64);
    return rc;
}
