/* Names a certificate may carry (DNS, IP, email, URI): the one place for their
 * syntax, their normal form, CIDR ranges and nameConstraints checks. */
#ifndef CS_NAME_H
#define CS_NAME_H

#include <openssl/x509v3.h>

#include "cert.h"
#include "error.h"

/* Flags for cs_name_normalize. */
enum {
    CS_NAME_WILDCARD = 1 << 0, /* a DNS name may be "*.example.test" */
};

/* "dns", "ip", "email", "uri"; NULL for a type out of range. */
const char *cs_name_type_name(cs_name_type type);
/* The type named s ("dns", ...); 0 if s names none. */
int cs_name_type_from_string(const char *s, cs_name_type *out);

/* CS_EINVAL naming the name (escaped: cs_text_escape) when value[0..len)
 * holds a control character, a NUL or bytes that are not UTF-8; a name is
 * never cut at a NUL nor printed raw. cs_name_normalize checks this first. */
CS_NODISCARD cs_code cs_name_check_text(cs_name_type type, const char *value, size_t len,
                                        cs_err *err);

/* A requested name in the form it is issued in, or CS_EINVAL naming the name
 * and what is wrong with it. *out is NUL-terminated; free it with free().
 * - dns: lower case; Unicode labels become A-labels (IDNA 2008 with UTS #46
 *   non-transitional mapping, libidn2); "xn--" labels must round-trip; letters,
 *   digits and '-' only, labels of 1-63 octets, 253 in all; a wildcard only
 *   with CS_NAME_WILDCARD and only as the whole left-most label of a name with
 *   at least two more ("*.a.test").
 * - ip: IPv4 dotted quad or IPv6, printed canonically ("::1", lower case).
 * - email: local@domain, the domain as a dns name; the local part ASCII.
 * - uri: a scheme (lower-cased), ':', then printable ASCII. */
CS_NODISCARD cs_code cs_name_normalize(cs_name_type type, const char *value, unsigned flags,
                                       char **out, cs_err *err);

/* Is the address ip inside cidr ("10.0.0.0/8", "2001:db8::/32"; a bare address
 * is that one address)? *in is 1 or 0; an IPv4 address is never inside an IPv6
 * range nor the reverse. CS_EINVAL for a malformed address or range (a range
 * with host bits set included). */
CS_NODISCARD cs_code cs_ip_in_cidr(const char *ip, const char *cidr, int *in, cs_err *err);

/* nameConstraints as data: the subtrees a CA's profile lists, before any
 * certificate carries them (IPs as CIDR ranges, domains may lead with '.'). */
typedef struct cs_name_constraints {
    const cs_name *permitted;
    size_t permitted_len;
    const cs_name *excluded;
    size_t excluded_len;
} cs_name_constraints;

/* Would a verifier accept value (of type type, as it would sit in a
 * subjectAltName) below ca, as far as ca's nameConstraints go? Decided by
 * OpenSSL's own NAME_CONSTRAINTS_check, so the answer is the verifier's
 * (RFC 5280 4.2.1.10: a DNS subtree "test" covers "test" and "a.test"; a type
 * no subtree names is permitted). *permitted is 1 or 0; CS_EINVAL for a value
 * that is not a valid name or a CA whose nameConstraints cannot be read. */
CS_NODISCARD cs_code cs_cert_permits_name(const cs_cert *ca, cs_name_type type,
                                          const char *value, int *permitted, cs_err *err);

/* As cs_cert_permits_name, for a CA not signed yet: the answer a verifier
 * gives below a CA whose nameConstraints hold trees (the same matcher, so
 * the same answer cs_cert_permits_name gives once a CA carries them).
 * CS_EINVAL also for a subtree that is not valid. */
CS_NODISCARD cs_code cs_name_constraints_permit(const cs_name_constraints *trees,
                                                cs_name_type type, const char *value,
                                                int *permitted, cs_err *err);

/* CS_OK when every subtree of trees is valid (as cs_name_constraints_build
 * checks them), else CS_EINVAL naming the first that is not. */
CS_NODISCARD cs_code cs_name_constraints_check(const cs_name_constraints *trees, cs_err *err);

/* For cert.c: the NAME_CONSTRAINTS extension holding trees, each subtree's
 * syntax checked (cs_name_general); free *out with NAME_CONSTRAINTS_free. */
CS_NODISCARD cs_code cs_name_constraints_build(const cs_name_constraints *trees,
                                               NAME_CONSTRAINTS **out, cs_err *err);

/* For cert.c: one general name for a subjectAltName (constraint 0) or a
 * nameConstraints subtree (constraint 1: IPs are CIDR, domains may lead with
 * '.'). Checks the syntax; ext names the extension in messages. The caller
 * frees *out with GENERAL_NAME_free. */
CS_NODISCARD cs_code cs_name_general(const cs_name *n, int constraint, const char *ext,
                                     GENERAL_NAME **out, cs_err *err);

#endif
