/* The TLS side of the embedded server: the SSL_CTX CivetWeb is handed (TLS
 * 1.2+, ECDHE + AEAD for 1.2, the chain sent after the leaf, client
 * certificates verified when asked for, resumption on or off), and the
 * credentials each handshake is given.
 *
 * Hot reload: the credentials (leaf, chain, key, staple) are an immutable,
 * reference-counted object; a certificate callback installs the current one
 * on each new handshake, a reload swaps the pointer under srv->lock, and a
 * client-hello callback names the reload's generation in the session id
 * context so no session from older credentials is resumed.
 *
 * Revoked clients: with an OCSP responder (cs_server_config.ocsp) and
 * client certificates asked for, every full handshake looks the verified
 * client certificate up in the responder's database (verify_client), every
 * session ticket offered for resumption too (on_ticket: a revoked client's
 * ticket is ignored, so it gets a full handshake, which refuses it), and
 * there is no server-side session-id cache, which OpenSSL resumes from
 * without a callback. server_http.c checks every request as well, for the
 * connections made before a revocation. */
#include "server_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "ocsp.h"

/* TLS 1.2 suites: forward secret key exchange and AEAD only. TLS 1.3 suites
 * are all AEAD and keep OpenSSL's defaults. */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* Intermediates allowed between a client certificate and its root. */
static const int client_verify_depth = 4;

int csi_tls_client_refused(cs_server *srv, X509 *peer)
{
    cs_revocation st;
    cs_cert cert;
    cs_err err = {CS_OK, ""};

    if (!srv->checks_clients || !peer)
        return 0;
    cert.x509 = peer;
    if (cs_ocsp_status(srv->ocsp, &cert, &st, &err) != CS_OK) {
        /* the operator's to know, as the /ocsp handler's failed lookups */
        fprintf(stderr, "ocsp: a client certificate's status: %s\n", err.msg);
        return -1;
    }
    if (st.status == CS_STATUS_REVOKED)
        return 1;
    /* Every certificate our intermediate issues is recorded before it is
     * written anywhere: one the database does not know was signed outside
     * chainsmith, and nothing could ever revoke it. */
    if (st.status == CS_STATUS_UNKNOWN && cs_ocsp_issued(srv->ocsp, &cert))
        return 2;
    return 0;
}

/* OpenSSL's verification of the client's chain, then the database's word
 * on the client certificate: a revoked one, one our issuer signed that the
 * database does not hold, or one whose status cannot be read (fail closed)
 * fails the handshake, with the certificate_revoked alert (bad_certificate
 * or certificate_unknown for the other two). */
static int verify_client(X509_STORE_CTX *xs, void *arg)
{
    X509 *leaf;
    int ok = X509_verify_cert(xs), refused;

    if (ok != 1)
        return ok;
    leaf = X509_STORE_CTX_get0_cert(xs);
    refused = csi_tls_client_refused(arg, leaf);
    if (refused == 0)
        return 1;
    X509_STORE_CTX_set_error_depth(xs, 0);
    X509_STORE_CTX_set_current_cert(xs, leaf);
    X509_STORE_CTX_set_error(xs, refused == 1   ? X509_V_ERR_CERT_REVOKED
                                 : refused == 2 ? X509_V_ERR_CERT_REJECTED
                                                : X509_V_ERR_UNSPECIFIED);
    return 0;
}

/* A session ticket (TLS 1.2 RFC 5077, TLS 1.3 PSK) the client offers, once
 * decrypted: OpenSSL's default answers, except that the session of a
 * client certificate the database refuses is not resumed; the client makes
 * a full handshake, where verify_client refuses it. */
static SSL_TICKET_RETURN on_ticket(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
                                   size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
    (void)ssl;
    (void)keyname;
    (void)keyname_len;
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* none, or not ours: a full handshake */
    if (csi_tls_client_refused(arg, SSL_SESSION_get0_peer(sess)) != 0)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

/* Client certificates: verified against a store of client_ca only (the
 * server's own trust has nothing to do with it), X.509-strict, for TLS client
 * use, and the handshake fails on any verification error (no callback that
 * could wave one through: verify_client only adds the database's refusal). */
static cs_code set_client_auth(const cs_server_config *cfg, cs_server *srv, SSL_CTX *ctx,
                               cs_err *err)
{
    X509_STORE *store = NULL;
    X509_VERIFY_PARAM *param;
    int mode;
    size_t i;
    cs_code rc = CS_OK;

    if (cfg->client_auth == CS_CLIENT_AUTH_NONE) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return CS_OK;
    }
    store = X509_STORE_new();
    if (!store) {
        rc = cs_err_ossl(err, CS_ENOMEM, "server: cannot create the client CA store");
        goto done;
    }
    for (i = 0; i < cfg->client_ca_len; i++) {
        X509 *ca = cfg->client_ca[i]->x509;
        if (!X509_STORE_add_cert(store, ca) || !SSL_CTX_add_client_CA(ctx, ca)) {
            rc = cs_err_ossl(err, CS_ESERVER, "server: cannot add client_ca[%zu]", i + 1);
            goto done;
        }
    }
    X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
    if (!SSL_CTX_set1_verify_cert_store(ctx, store)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the client CA store");
        goto done;
    }
    param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (!SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the client purpose");
        goto done;
    }
    SSL_CTX_set_verify_depth(ctx, client_verify_depth);
    mode = SSL_VERIFY_PEER;
    if (cfg->client_auth == CS_CLIENT_AUTH_REQUIRE)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    if (srv->checks_clients)
        SSL_CTX_set_cert_verify_callback(ctx, verify_client, srv);
done:
    X509_STORE_free(store); /* the context holds its own reference */
    return rc;
}

/* Resumption on: a bounded server-side cache for TLS 1.2 session IDs (the
 * id context is what OpenSSL requires before it resumes a session that
 * verified a client certificate) and OpenSSL's default stateless tickets
 * (TLS 1.2 and 1.3); when client certificates are checked against the
 * database, tickets only, each checked by on_ticket. Off: nothing cached,
 * no tickets issued, and none accepted. */
static cs_code set_resumption(const cs_server_config *cfg, cs_server *srv, SSL_CTX *ctx,
                              cs_err *err)
{
    static const unsigned char sid_ctx[] = "chainsmith";

    if (cfg->no_resumption) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        if (!SSL_CTX_set_num_tickets(ctx, 0))
            return cs_err_ossl(err, CS_ESERVER, "server: cannot turn session tickets off");
        return CS_OK;
    }
    if (srv->checks_clients) {
        /* Tickets only: OpenSSL resumes a cached TLS 1.2 session id without
         * asking us, so a revoked client could come back through it. A
         * TLS 1.2 client without tickets makes full handshakes. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        if (!SSL_CTX_set_session_ticket_cb(ctx, NULL, on_ticket, srv))
            return cs_err_ossl(err, CS_ESERVER, "server: cannot set the session ticket callback");
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, 1024); /* bounds RSS; OpenSSL's default is 20480 */
    }
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1))
        return cs_err_ossl(err, CS_ESERVER, "server: cannot set the session id context");
    return CS_OK;
}

void csi_creds_free(creds *c)
{
    if (!c)
        return;
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    OPENSSL_free(c->staple);
    free(c);
}

/* A copy of x that encodes from the bytes it was parsed from. cs_cert_load
 * proves a certificate is DER by encoding it again (i2d_re_X509_tbs), which
 * leaves OpenSSL's cached encoding marked stale for good: each handshake's
 * Certificate message then encoded the leaf and chain field by field, about
 * 140,000 instructions per full handshake (callgrind; bench/README.md). The
 * copy costs one parse per start or reload. */
static X509 *fresh_copy(X509 *x)
{
    return X509_dup(x);
}

/* New credentials holding their own fresh copies of leaf and chain (or
 * references to chain_in, copies already), a reference to key, and a copy of
 * the staple (NULL: none). */
cs_code csi_creds_new(X509 *leaf, STACK_OF(X509) *chain_in, const cs_cert *const *chain,
                     size_t chain_len, EVP_PKEY *key, const unsigned char *staple,
                     size_t staple_len, creds **out, cs_err *err)
{
    creds *c = calloc(1, sizeof *c);
    size_t i;

    if (!c)
        return cs_err_set(err, CS_ENOMEM, "server: out of memory");
    c->refs = 1;
    c->chain = chain_in ? X509_chain_up_ref(chain_in) : sk_X509_new_null();
    if (!c->chain)
        goto nomem;
    for (i = 0; !chain_in && i < chain_len; i++) {
        X509 *x = fresh_copy(chain[i]->x509);
        if (!x || !sk_X509_push(c->chain, x)) {
            X509_free(x);
            goto nomem;
        }
    }
    if (staple) {
        c->staple = OPENSSL_memdup(staple, staple_len);
        if (!c->staple)
            goto nomem;
        c->staple_len = staple_len;
    }
    c->leaf = chain_in ? leaf : fresh_copy(leaf);
    if (!c->leaf)
        goto nomem;
    if (chain_in)
        X509_up_ref(leaf);
    EVP_PKEY_up_ref(key);
    c->key = key;
    *out = c;
    return CS_OK;
nomem:
    csi_creds_free(c);
    return cs_err_set(err, CS_ENOMEM, "server: out of memory");
}

creds *csi_creds_get(cs_server *srv)
{
    creds *c;

    pthread_mutex_lock(&srv->lock);
    c = srv->creds;
    c->refs++;
    pthread_mutex_unlock(&srv->lock);
    return c;
}

void csi_creds_put(cs_server *srv, creds *c)
{
    int last;

    if (!c)
        return;
    pthread_mutex_lock(&srv->lock);
    last = --c->refs == 0;
    pthread_mutex_unlock(&srv->lock);
    if (last)
        csi_creds_free(c);
}

/* Make c (a new certificate) the credentials of new handshakes; the old
 * ones go when the last handshake installing them is done. The generation
 * moves on, so sessions from before are not resumed. */
void csi_creds_swap(cs_server *srv, creds *c)
{
    creds *old;

    pthread_mutex_lock(&srv->lock);
    old = srv->creds;
    srv->creds = c;
    srv->generation++;
    pthread_mutex_unlock(&srv->lock);
    csi_creds_put(srv, old);
}

/* Called on each full handshake, after the ClientHello: this connection gets
 * the current credentials (SSL_use_cert_and_key takes its own references, so
 * a reload right after frees nothing it uses), and their staple if the
 * client asked for one. */
static int on_cert(SSL *ssl, void *arg)
{
    cs_server *srv = arg;
    creds *c = csi_creds_get(srv);
    int ok = SSL_use_cert_and_key(ssl, c->leaf, c->key, c->chain, 1) == 1;

    if (ok && c->staple && SSL_get_tlsext_status_type(ssl) == TLSEXT_STATUSTYPE_ocsp) {
        unsigned char *copy = OPENSSL_memdup(c->staple, c->staple_len);
        /* the SSL owns copy from here on */
        if (copy && !SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)c->staple_len))
            OPENSSL_free(copy);
    }
    csi_creds_put(srv, c);
    return ok;
}

/* OpenSSL asks after on_cert whether to send a CertificateStatus: only
 * when on_cert put a staple on this connection. */
static int on_status(SSL *ssl, void *arg)
{
    unsigned char *resp = NULL;
    (void)arg;
    return SSL_get_tlsext_status_ocsp_resp(ssl, &resp) > 0 && resp ? SSL_TLSEXT_ERR_OK
                                                                   : SSL_TLSEXT_ERR_NOACK;
}

/* Before OpenSSL looks up a session (TLS 1.2 id or ticket, TLS 1.3 PSK):
 * the session id context names the credentials' generation, and OpenSSL
 * does not resume a session made under another context. So after a reload
 * a returning client gets a full handshake and the new certificate, rather
 * than a session vouched for by the old one (which may be revoked). */
static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
    cs_server *srv = arg;
    unsigned char sid_ctx[32];
    unsigned long generation;
    int n;

    (void)alert;
    pthread_mutex_lock(&srv->lock);
    generation = srv->generation;
    pthread_mutex_unlock(&srv->lock);
    n = snprintf((char *)sid_ctx, sizeof sid_ctx, "chainsmith/%lu", generation);
    if (n < 0 || (size_t)n >= sizeof sid_ctx ||
        !SSL_set_session_id_context(ssl, sid_ctx, (unsigned)n))
        return SSL_CLIENT_HELLO_ERROR;
    return SSL_CLIENT_HELLO_SUCCESS;
}

cs_code csi_tls_ctx_build(const cs_server_config *cfg, cs_server *srv, SSL_CTX **out,
                         cs_err *err)
{
    SSL_CTX *ctx = NULL;
    size_t i;
    cs_code rc = CS_OK;

    ctx = SSL_CTX_new_ex(NULL, NULL, TLS_server_method());
    if (!ctx) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot create the TLS context");
        goto done;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot require TLS 1.2");
        goto done;
    }
    if (!SSL_CTX_set_cipher_list(ctx, tls12_ciphers)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the TLS 1.2 cipher list");
        goto done;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    rc = set_resumption(cfg, srv, ctx, err);
    if (rc != CS_OK)
        goto done;
    /* X25519 first: the cheapest key exchange, also for TLS 1.2 clients that
     * list a NIST curve first (the server's order wins). */
    if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384")) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the key exchange groups");
        goto done;
    }
    /* No SSL_MODE_RELEASE_BUFFERS: it saved about 6 kB per idle keep-alive
     * connection but cost 6% more instructions per request (a malloc and
     * free of the record buffers each time); see bench/README.md. */
    if (!SSL_CTX_use_certificate(ctx, cfg->leaf->x509)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot use the leaf certificate");
        goto done;
    }
    for (i = 0; i < cfg->chain_len; i++) {
        if (!SSL_CTX_add1_chain_cert(ctx, cfg->chain[i]->x509)) {
            rc = cs_err_ossl(err, CS_ESERVER, "server: cannot add chain[%zu]", i + 1);
            goto done;
        }
    }
    if (!SSL_CTX_use_PrivateKey(ctx, cfg->key->pkey)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot use the private key");
        goto done;
    }
    if (!SSL_CTX_check_private_key(ctx)) {
        rc = cs_err_ossl(err, CS_EMISMATCH,
                         "server: the key does not match the certificate");
        goto done;
    }
    rc = set_client_auth(cfg, srv, ctx, err);
    if (rc != CS_OK)
        goto done;
    /* The leaf above is for checking; each handshake gets srv->creds. */
    SSL_CTX_set_cert_cb(ctx, on_cert, srv);
    SSL_CTX_set_client_hello_cb(ctx, on_client_hello, srv);
    SSL_CTX_set_info_callback(ctx, csi_guard_tls_info);
    if (!SSL_CTX_set_tlsext_status_cb(ctx, on_status) ||
        !SSL_CTX_set_tlsext_status_arg(ctx, srv)) {
        rc = cs_err_ossl(err, CS_ESERVER, "server: cannot set the OCSP stapling callback");
        goto done;
    }
    *out = ctx;
    ctx = NULL;
done:
    SSL_CTX_free(ctx);
    return rc;
}
