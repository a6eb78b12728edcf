/* The ACME challenge validation worker (RFC 8555 8.3, 8.4; RFC 8737):
 * http-01, tls-alpn-01 and dns-01, checked by a small pool of its own
 * threads so that no request thread ever waits on a remote host, and no
 * thread here ever touches Lua. */
#ifndef CS_ACME_VALIDATE_H
#define CS_ACME_VALIDATE_H

#include <stddef.h>

#include "error.h"

/* A running pool of validator threads with a bounded queue.
 * Constructor: cs_validator_start. Destructor: cs_validator_stop (NULL is
 * fine). */
typedef struct cs_validator cs_validator;

/* Defaults for the zero values of cs_validator_config. */
#define CS_VALIDATOR_WORKERS 8
#define CS_VALIDATOR_QUEUE 1024
#define CS_VALIDATOR_TIMEOUT_MS 10000
/* The most of an http-01 response body read (RFC 8555 8.3: a key
 * authorization is ~90 bytes; more is refused as incorrectResponse). */
#define CS_VALIDATOR_BODY_MAX 8192
/* RFC 8555 10.2 leaves the count open; Boulder and Pebble follow 10. */
#define CS_VALIDATOR_REDIRECTS_MAX 10

/* Everything is copied by cs_validator_start; the caller may free it after.
 *
 * resolve: "pattern=address" rules, tried in order before any DNS:
 *   "a.test=127.0.0.1"   exactly the name a.test (case-insensitive)
 *   "*.test=127.0.0.1"   any name ending in ".test" (one or more labels)
 *   "*=::1"              every name
 *   The address is one IPv4 or IPv6 literal ("[::1]" also accepted). A rule
 *   whose address is unusable (see below) is refused at start.
 *
 * Addresses, whichever way they were found, are refused when no ACME
 * client can answer from them: unspecified (0.0.0.0/8, ::), multicast
 * (224/4, ff00::/8), the IPv4 broadcast 255.255.255.255, reserved 240/4,
 * link-local (169.254/16, fe80::/10: nobody's web server, but a cloud's
 * metadata service), and IPv4-mapped forms of these. Loopback and private
 * ranges are allowed: this is a private CA, and its tests and local users
 * validate on 127.0.0.1 and 10/8.
 *
 * Name resolution for http-01 and tls-alpn-01: the first matching resolve
 * rule; else A and AAAA from dns_resolver; else the system's resolver
 * configuration (/etc/resolv.conf and /etc/hosts, read by c-ares, so every
 * lookup is bounded by the validation's deadline and ends on stop, which
 * getaddrinfo cannot promise). dns-01 asks dns_resolver, else the system's
 * resolvers, for TXT. */
typedef struct cs_validator_config {
    int http_port;              /* http-01 target port, standing in for 80; 0: 80 */
    int tls_port;               /* tls-alpn-01 port, and 443 on http-01 redirects; 0: 443 */
    const char *const *resolve; /* resolve_len rules, as above; NULL when 0 */
    size_t resolve_len;
    const char *dns_resolver;   /* "127.0.0.1:8053", "[::1]:53", "10.0.0.1" (port 53);
                                   NULL: the system's */
    int workers;                /* validations at once; 0: CS_VALIDATOR_WORKERS */
    int queue_max;              /* waiting validations; 0: CS_VALIDATOR_QUEUE */
    int timeout_ms;             /* per validation, from when a worker takes it up
                                   (DNS, connect, TLS, every redirect); 0:
                                   CS_VALIDATOR_TIMEOUT_MS */
} cs_validator_config;

typedef enum cs_challenge_type {
    CS_CHALLENGE_HTTP01,    /* "http-01" */
    CS_CHALLENGE_TLSALPN01, /* "tls-alpn-01" */
    CS_CHALLENGE_DNS01,     /* "dns-01" */
} cs_challenge_type;

/* The ACME name of a challenge type ("http-01"), or NULL for an unknown
 * value; and the reverse (-1 when unknown). */
const char *cs_challenge_type_name(cs_challenge_type type);
int cs_challenge_type_parse(const char *name);

/* The outcome of one validation, called exactly once per successful
 * cs_validator_submit, on a validator thread (never a request thread, never
 * with Lua; possibly before cs_validator_submit has returned). The strings
 * are borrowed for the call only.
 *
 * done must not call cs_validator_stop (it would wait for itself); it may
 * call cs_validator_submit.
 *
 * problem: NULL when the challenge is fulfilled; else an RFC 8555 error
 * type without its "urn:ietf:params:acme:error:" prefix:
 *   "dns"               the name could not be resolved: SERVFAIL, REFUSED, a
 *                       DNS timeout, NXDOMAIN or no A/AAAA for the target, or
 *                       only unusable addresses
 *   "connection"        no answer: refused, unreachable, timed out, closed,
 *                       too many redirects, a redirect to a scheme or port
 *                       RFC 8555 8.3 does not allow
 *   "tls"               the TLS handshake failed, or the tls-alpn-01
 *                       responder did not select "acme-tls/1"
 *   "unauthorized"      the responder answered but not as the owner would:
 *                       http-01 status other than 200, no TXT record at
 *                       _acme-challenge.<domain>
 *   "incorrectResponse" an answer of the right kind with the wrong content:
 *                       http-01 body not the key authorization (or over
 *                       CS_VALIDATOR_BODY_MAX), a tls-alpn-01 certificate
 *                       with the wrong SAN(s), no critical acmeIdentifier or
 *                       the wrong digest, TXT records that do not match
 *   "serverInternal"    not checked: the validator was stopped first, or
 *                       failed itself (out of memory, a resolver it could
 *                       not set up). Nothing the client did: do not hold it
 *                       against the client; the validation can be tried
 *                       again later
 * detail: never NULL. For a problem, human words naming what was wrong and
 * where ("http-01: a.test (127.0.0.1 port 5002): status 404 for
 * http://a.test/.well-known/acme-challenge/TOKEN"); anything the remote sent
 * is quoted with non-printable bytes escaped as \xHH and cut short. When
 * valid, what answered ("http-01: a.test: 127.0.0.1 port 5002 answered
 * with the key authorization"), for a log. */
typedef void (*cs_validation_done)(void *arg, const char *problem, const char *detail);

/* Start config->workers threads. Fails with CS_EINVAL naming the bad field
 * (a port outside 0..65535, a malformed or unusable resolve rule, a
 * dns_resolver that is not host[:port], workers/queue_max/timeout_ms < 0)
 * and CS_ENOMEM / CS_EIO when threads cannot be made; nothing is left
 * running on failure. */
CS_NODISCARD cs_code cs_validator_start(const cs_validator_config *config, cs_validator **out,
                                        cs_err *err);

/* Queue one validation. domain: the identifier's DNS name without "*." (a
 * wildcard order's dns-01 check passes the base name); letters, digits,
 * '-' and '.', <= 253 bytes, no trailing dot. token: the challenge token
 * (base64url characters, 1..256). key_authorization: token "." thumbprint,
 * as the account's key gives it (printable ASCII, <= 1024 bytes); the
 * validator itself computes SHA-256 of it for tls-alpn-01 and dns-01.
 * All three are copied. done(arg, ...) is called later exactly once; arg
 * must live until then.
 * Fails, without calling done, with CS_EINVAL naming the bad argument, or
 * CS_ETOOLARGE when queue_max validations already wait (answer 503 and let
 * the client retry). */
CS_NODISCARD cs_code cs_validator_submit(cs_validator *v, cs_challenge_type type,
                                         const char *domain, const char *token,
                                         const char *key_authorization, cs_validation_done done,
                                         void *arg, cs_err *err);

/* Stop and free: no submit may run concurrently or after. Validations in
 * flight are cut short at their next wait (within ~100 ms), and they and
 * the queued ones are called back with problem "serverInternal", detail
 * "... validator stopped before ..."; then the threads are joined. When it
 * returns, every done has been called and returned. */
void cs_validator_stop(cs_validator *v);

#endif
