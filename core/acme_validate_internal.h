/* What the parts of the validation worker share: one validation in
 * progress, the configuration as parsed, and the helpers every challenge
 * type uses (deadlines, addresses, quoting what a remote sent). Not a
 * public header. */
#ifndef CS_ACME_VALIDATE_INTERNAL_H
#define CS_ACME_VALIDATE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "acme_validate.h"
#include "internal.h"

/* How often a wait looks at the stop flag: stop ends a validation within
 * about this long. */
#define CSI_VALIDATE_SLICE_MS 100
/* Addresses one name may give; more are ignored (Boulder tries two). */
#define CSI_VALIDATE_ADDRS_MAX 8

typedef struct csi_resolve_rule {
    char *pattern; /* lower case: "a.test", ".test" for "*.test", "" for "*" */
    int wildcard;
    struct sockaddr_storage addr;
} csi_resolve_rule;

/* The configuration, parsed and owned. */
typedef struct csi_validate_config {
    int http_port, tls_port, workers, queue_max, timeout_ms;
    csi_resolve_rule *rules;
    size_t rules_len;
    char *dns_servers; /* c-ares server list: "127.0.0.1:8053", "[::1]:53"; NULL: system */
} csi_validate_config;

/* Addresses found for a name, usable ones only. */
typedef struct csi_addrs {
    struct sockaddr_storage addr[CSI_VALIDATE_ADDRS_MAX];
    size_t len;
    const char *how; /* "resolve rule", "DNS": for the detail */
} csi_addrs;

/* One validation being checked by a worker. */
typedef struct csi_validation {
    const csi_validate_config *config;
    SSL_CTX *tls;            /* the validator's client context (tls-alpn-01) */
    const atomic_int *stop;  /* set by cs_validator_stop */
    int64_t deadline_ms;     /* on csi_now_ms's clock */
    cs_challenge_type type;
    const char *domain, *token, *key_authorization;
    /* The outcome, filled by csi_validation_fail / csi_validation_ok. */
    const char *problem;
    char detail[768];
} csi_validation;

/* What is left of the deadline (<= 0: none), and at most CSI_VALIDATE_SLICE_MS
 * of it for one wait; 1 when the validation should stop waiting now (the
 * deadline passed or the validator is stopping). */
int64_t csi_validation_left_ms(const csi_validation *val);
int csi_validation_slice_ms(const csi_validation *val);
int csi_validation_should_end(const csi_validation *val);

/* Record the outcome: problem (an ACME error type) and a detail prefixed
 * with "<type>: <domain>: ". Returns -1 (fail) or 0 (ok), so a check can
 * `return csi_validation_fail(...)`. The first failure recorded wins. */
int csi_validation_fail(csi_validation *val, const char *problem, const char *fmt, ...)
    CS_PRINTF(3, 4);
int csi_validation_ok(csi_validation *val, const char *fmt, ...) CS_PRINTF(2, 3);
/* The failure for a wait that ended early: serverInternal when stopping,
 * else connection (or dns, as given) "timed out after N ms while <what>". */
int csi_validation_fail_waiting(csi_validation *val, const char *timeout_problem,
                                const char *what);

/* Quote bytes a remote sent for a detail: "..." with anything outside
 * printable ASCII (and '"', '\\') as \xHH, cut to at most max input bytes
 * with "..." after the closing quote when cut. out is always terminated. */
void csi_quote(char *out, size_t cap, const unsigned char *s, size_t len, size_t max);

/* An address as text ("127.0.0.1", "::1"); out needs 46 bytes. */
void csi_addr_text(const struct sockaddr_storage *a, char *out, size_t cap);
/* 1 when no host can answer from the address (header: unspecified,
 * multicast, broadcast, reserved), and then why in *why. */
int csi_addr_unusable(const struct sockaddr_storage *a, const char **why);
/* 1 when s is a DNS name as a resolve pattern, a domain or a redirect's
 * host may spell it: LDH labels of 1..63 bytes, at most 253 in all, no
 * trailing dot. */
int csi_dns_name_ok(const char *s);
/* Parse an IPv4 or IPv6 literal ("[::1]" too) into *out (port 0). */
int csi_addr_parse(const char *text, struct sockaddr_storage *out);

/* Addresses of name for http-01 and tls-alpn-01: the first matching
 * resolve rule, else A/AAAA from the configured or the system's resolvers.
 * Unusable addresses are dropped; none left is a "dns" failure. Returns 0
 * with out filled, or -1 with the failure recorded in val. */
int csi_resolve_name(csi_validation *val, const char *name, csi_addrs *out);

/* SHA-256 of the key authorization, raw (tls-alpn-01) or base64url without
 * padding (dns-01; 43 characters and a NUL). */
void csi_key_authorization_digest(const char *key_authorization, unsigned char out[32]);
void csi_key_authorization_b64url(const char *key_authorization, char out[44]);

/* One check each: 0 valid, -1 failed (val says why). */
int csi_check_http01(csi_validation *val);
int csi_check_tlsalpn01(csi_validation *val);
int csi_check_dns01(csi_validation *val);

/* Once per process, from cs_validator_start: libcurl's and c-ares' global
 * initialisation, neither of which may run alongside other threads' use. */
int csi_validate_http_global_init(void);
int csi_validate_dns_global_init(void);

#endif
