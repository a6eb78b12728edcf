/* The tls-alpn-01 check (RFC 8737): a TLS 1.2+ handshake with SNI = the
 * domain and ALPN "acme-tls/1", then the responder's self-signed
 * certificate must name exactly that domain and carry a critical
 * id-pe-acmeIdentifier holding SHA-256 of the key authorization. The
 * certificate is inspected, never verified: it is self-signed by design. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme_validate_internal.h"

/* RFC 8737 6.1: id-pe-acmeIdentifier. */
#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"
#define ACME_TLS_ALPN "acme-tls/1"

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void set_port(struct sockaddr_storage *a, int port)
{
    if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
}

/* A non-blocking TCP connection to addr:port within the deadline. Returns
 * the socket, -1 on a refusal or error (why in *why, errno's words), -2
 * when the deadline or stop came first. */
static int connect_to(csi_validation *val, struct sockaddr_storage addr, int port,
                      const char **why)
{
    int fd, e = 0;
    socklen_t elen = sizeof e;

    set_port(&addr, port);
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, addr_len(&addr)) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    for (;;) {
        struct pollfd p = {fd, POLLOUT, 0};
        int r;
        if (csi_validation_should_end(val)) {
            close(fd);
            return -2;
        }
        r = poll(&p, 1, csi_validation_slice_ms(val));
        if (r > 0)
            break;
        if (r < 0 && errno != EINTR) {
            *why = strerror(errno);
            close(fd);
            return -1;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 || e != 0) {
        *why = strerror(e ? e : errno);
        close(fd);
        return -1;
    }
    return fd;
}

/* The handshake on a non-blocking socket, within the deadline. 0 done, -1
 * failed (OpenSSL's reasons recorded as "tls"), -2 deadline or stop. */
static int handshake(csi_validation *val, SSL *ssl, int fd, const char *where)
{
    for (;;) {
        int r, e;
        struct pollfd p = {fd, 0, 0};
        ERR_clear_error();
        r = SSL_connect(ssl);
        if (r == 1)
            return 0;
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            p.events = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            p.events = POLLOUT;
        else {
            cs_err err;
            cs_err_ossl(&err, CS_ECRYPTO, "TLS handshake with %s failed", where);
            if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
                return csi_validation_fail(val, "tls", "%s (connection closed during the "
                                           "handshake)", err.msg);
            return csi_validation_fail(val, "tls", "%s", err.msg);
        }
        do {
            if (csi_validation_should_end(val))
                return -2;
            r = poll(&p, 1, csi_validation_slice_ms(val));
        } while (r == 0 || (r < 0 && errno == EINTR));
    }
}

/* The certificate's SAN must be exactly one dNSName, the domain (RFC 8737
 * 3: "MUST contain ... a subjectAltName extension containing the dNSName
 * being validated and no other entries"). */
static int check_san(csi_validation *val, X509 *cert, const char *where)
{
    int crit = -1, idx = -1, n, rc = -1;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, &idx);
    const GENERAL_NAME *g;
    char quoted[300];

    if (!names) {
        ERR_clear_error();
        return csi_validation_fail(val, "incorrectResponse",
                                   crit == -1 ? "%s: certificate has no subjectAltName"
                                              : "%s: certificate's subjectAltName is not "
                                                "readable DER",
                                   where);
    }
    if (X509_get_ext_by_NID(cert, NID_subject_alt_name, idx) >= 0) {
        GENERAL_NAMES_free(names);
        return csi_validation_fail(val, "incorrectResponse",
                                   "%s: certificate has more than one subjectAltName extension",
                                   where);
    }
    n = sk_GENERAL_NAME_num(names);
    if (n != 1) {
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate's subjectAltName has %d entries; RFC 8737 "
                                 "wants exactly one, dNSName %s",
                                 where, n, val->domain);
        goto done;
    }
    g = sk_GENERAL_NAME_value(names, 0);
    if (g->type != GEN_DNS) {
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate's subjectAltName is not a dNSName", where);
        goto done;
    }
    {
        const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
        int len = ASN1_STRING_length(g->d.dNSName);
        if ((size_t)len != strlen(val->domain) ||
            strncasecmp((const char *)s, val->domain, (size_t)len) != 0 ||
            memchr(s, '\0', (size_t)len)) {
            csi_quote(quoted, sizeof quoted, s, (size_t)len, 256);
            rc = csi_validation_fail(val, "incorrectResponse",
                                     "%s: certificate's subjectAltName is dNSName %s, not %s",
                                     where, quoted, val->domain);
            goto done;
        }
    }
    rc = 0;
done:
    GENERAL_NAMES_free(names);
    return rc;
}

/* RFC 8737 3: exactly one acmeIdentifier extension, critical, whose value
 * is the DER of an OCTET STRING holding SHA-256(key authorization). */
static int check_acme_identifier(csi_validation *val, X509 *cert, const char *where)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    X509_EXTENSION *ext;
    ASN1_OCTET_STRING *inner = NULL;
    const ASN1_OCTET_STRING *value;
    const unsigned char *p;
    unsigned char want[32];
    int idx, rc = -1;

    if (!oid)
        return csi_validation_fail(val, "serverInternal", "OpenSSL cannot make the OID %s",
                                   ACME_IDENTIFIER_OID);
    idx = X509_get_ext_by_OBJ(cert, oid, -1);
    if (idx < 0) {
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate has no acmeIdentifier extension (%s)", where,
                                 ACME_IDENTIFIER_OID);
        goto done;
    }
    if (X509_get_ext_by_OBJ(cert, oid, idx) >= 0) {
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate has more than one acmeIdentifier extension",
                                 where);
        goto done;
    }
    ext = X509_get_ext(cert, idx);
    if (!X509_EXTENSION_get_critical(ext)) {
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate's acmeIdentifier extension is not critical "
                                 "(RFC 8737 3)",
                                 where);
        goto done;
    }
    value = X509_EXTENSION_get_data(ext);
    p = ASN1_STRING_get0_data(value);
    inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(value));
    if (!inner || p != ASN1_STRING_get0_data(value) + ASN1_STRING_length(value)) {
        ERR_clear_error();
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate's acmeIdentifier is not one DER OCTET STRING",
                                 where);
        goto done;
    }
    csi_key_authorization_digest(val->key_authorization, want);
    if (ASN1_STRING_length(inner) != 32 ||
        CRYPTO_memcmp(ASN1_STRING_get0_data(inner), want, 32) != 0) {
        char got[100];
        csi_quote(got, sizeof got, ASN1_STRING_get0_data(inner),
                  (size_t)ASN1_STRING_length(inner), 40);
        rc = csi_validation_fail(val, "incorrectResponse",
                                 "%s: certificate's acmeIdentifier (%d bytes: %s) is not "
                                 "SHA-256 of the key authorization",
                                 where, ASN1_STRING_length(inner), got);
        goto done;
    }
    rc = 0;
done:
    ASN1_OCTET_STRING_free(inner);
    ASN1_OBJECT_free(oid);
    return rc;
}

/* One address: connect, handshake, check. 0 valid, -1 failed (recorded),
 * 1 could not connect (try the next address; why in *why). */
static int check_address(csi_validation *val, const struct sockaddr_storage *addr,
                         const char *how, const char **why)
{
    char text[64], where[128];
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL *ssl = NULL;
    X509 *cert = NULL;
    int fd, rc = -1;

    csi_addr_text(addr, text, sizeof text);
    snprintf(where, sizeof where, "%s port %d", text, val->config->tls_port);
    fd = connect_to(val, *addr, val->config->tls_port, why);
    if (fd == -2) {
        char what[160];
        snprintf(what, sizeof what, "connecting to %s", where);
        return csi_validation_fail_waiting(val, "connection", what);
    }
    if (fd < 0)
        return 1;
    ssl = SSL_new(val->tls);
    if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, val->domain)) {
        cs_err err;
        cs_err_ossl(&err, CS_ECRYPTO, "setting up TLS to %s", where);
        rc = csi_validation_fail(val, "serverInternal", "%s", err.msg);
        goto done;
    }
    rc = handshake(val, ssl, fd, where);
    if (rc == -2) {
        char what[160];
        snprintf(what, sizeof what, "in the TLS handshake with %s", where);
        rc = csi_validation_fail_waiting(val, "connection", what);
        goto done;
    }
    if (rc != 0)
        goto done;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len != strlen(ACME_TLS_ALPN) || memcmp(alpn, ACME_TLS_ALPN, alpn_len) != 0) {
        char quoted[80];
        if (alpn_len)
            csi_quote(quoted, sizeof quoted, alpn, alpn_len, 40);
        rc = csi_validation_fail(val, "tls", "%s did not select ALPN \"%s\" (%s%s)", where,
                                 ACME_TLS_ALPN, alpn_len ? "selected " : "selected none",
                                 alpn_len ? quoted : "");
        goto done;
    }
    cert = SSL_get1_peer_certificate(ssl);
    if (!cert) {
        rc = csi_validation_fail(val, "tls", "%s sent no certificate", where);
        goto done;
    }
    rc = check_san(val, cert, where);
    if (rc == 0)
        rc = check_acme_identifier(val, cert, where);
    if (rc == 0)
        rc = csi_validation_ok(val, "%s answered with the acme-tls/1 certificate for the key "
                               "authorization (address from %s)",
                               where, how);
done:
    X509_free(cert);
    if (ssl) {
        if (rc == 0)
            SSL_shutdown(ssl); /* one close_notify, no waiting for the answer */
        SSL_free(ssl);
    }
    close(fd);
    return rc;
}

int csi_check_tlsalpn01(csi_validation *val)
{
    csi_addrs addrs;
    char tried[400];
    size_t i;

    if (csi_resolve_name(val, val->domain, &addrs) != 0)
        return -1;
    tried[0] = '\0';
    for (i = 0; i < addrs.len; i++) {
        const char *why = "?";
        char text[64];
        size_t used;
        int rc = check_address(val, &addrs.addr[i], addrs.how, &why);
        if (rc <= 0)
            return rc;
        csi_addr_text(&addrs.addr[i], text, sizeof text);
        used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s: %s", used ? "; " : "", text, why);
    }
    return csi_validation_fail(val, "connection", "cannot connect to port %d (%s)",
                               val->config->tls_port, tried);
}
