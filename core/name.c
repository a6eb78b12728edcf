/* Names: syntax and normal form of DNS names, IP addresses, emails and URIs;
 * CIDR ranges; nameConstraints as OpenSSL's verifier applies them. cert.c
 * builds its GENERAL_NAMEs through cs_name_general, so one set of rules holds. */
#include "name.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <openssl/err.h>

#include "internal.h"
#include "text.h"

#define DNS_NAME_MAX 253  /* RFC 1035 2.3.4, as text without the trailing dot */
#define DNS_LABEL_MAX 63  /* RFC 1035 2.3.4 */
#define EMAIL_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */
#define IDN_FLAGS (IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

static const char *const type_names[] = {"dns", "ip", "email", "uri"};

const char *cs_name_type_name(cs_name_type type)
{
    if ((unsigned)type >= sizeof type_names / sizeof type_names[0])
        return NULL;
    return type_names[type];
}

int cs_name_type_from_string(const char *s, cs_name_type *out)
{
    for (size_t i = 0; s && i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcmp(s, type_names[i]) == 0) {
            *out = (cs_name_type)i;
            return 1;
        }
    }
    return 0;
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s > 127)
            return 0;
    return 1;
}

/* ---- DNS labels ---- */

/* What is wrong with the dot-separated labels of name, or NULL if nothing.
 * lax accepts '_' (seen in the wild; certificates we signed before the strict
 * rules); strict is LDH only (RFC 1034 3.5, RFC 5890 2.3.1). *bad and *bad_len
 * locate the label at fault. */
static const char *label_error(const char *name, int lax, const char **bad, size_t *bad_len)
{
    const char *label = name;
    const char *p = name;

    for (;;) {
        if (*p == '.' || *p == '\0') {
            size_t n = (size_t)(p - label);
            *bad = label;
            *bad_len = n;
            if (n == 0)
                return "empty";
            if (n > DNS_LABEL_MAX)
                return "longer than 63 octets";
            if (label[0] == '-')
                return "starts with '-'";
            if (p[-1] == '-')
                return "ends with '-'";
            if (*p == '\0')
                return NULL;
            label = p + 1;
        } else if (!(isalnum((unsigned char)*p) || *p == '-' || (lax && *p == '_')) ||
                   (unsigned char)*p > 127) {
            const char *end = strchr(p, '.');
            *bad = label;
            *bad_len = end ? (size_t)(end - label) : strlen(label);
            return "only letters, digits and '-' are allowed";
        }
        p++;
    }
}

/* Syntax as cert.c has always accepted it: "*." may lead a SAN, "." a constraint. */
static int valid_dns(const char *v, int constraint)
{
    const char *p = v;
    const char *bad;
    size_t bad_len;

    if (constraint && *p == '.')
        p++;
    else if (!constraint && p[0] == '*' && p[1] == '.')
        p += 2;
    if (*p == '\0' || strlen(v) > DNS_NAME_MAX)
        return 0;
    return label_error(p, 1, &bad, &bad_len) == NULL;
}

/* Is label (len octets, lower case ASCII, "xn--" prefix) a valid A-label? It
 * must decode, and the decoded U-label must encode back to exactly it
 * (RFC 5891 5.4). */
static const char *alabel_error(const char *label, size_t len)
{
    char *a = csi_dup_n(label, len);
    char *u = NULL;
    char *back = NULL;
    const char *why = NULL;

    if (!a)
        return "out of memory";
    if (idn2_to_unicode_8z8z(a, &u, 0) != IDN2_OK)
        why = "A-label does not decode (bad Punycode)";
    else if (is_ascii(u))
        why = "A-label decodes to plain ASCII";
    else if (idn2_to_ascii_8z(u, &back, IDN_FLAGS) != IDN2_OK || strcmp(back, a) != 0)
        why = "A-label is not valid IDNA 2008 (it does not round-trip)";
    idn2_free(back);
    idn2_free(u);
    free(a);
    return why;
}

/* Where the '*' of a wildcard may not stand, say why; NULL if v is a wildcard
 * we accept or has no '*' at all. */
static const char *wildcard_error(const char *v, unsigned flags)
{
    const char *star = strchr(v, '*');
    const char *dot = strchr(v, '.');

    if (!star)
        return NULL;
    if (!(flags & CS_NAME_WILDCARD))
        return "wildcards are not allowed here";
    if (strcmp(v, "*") == 0)
        return "'*' alone is not a name (a wildcard looks like *.example.test)";
    if (dot && star > dot)
        return "'*' may only be the left-most label (*.example.test), not a later one";
    if (v[0] != '*' || v[1] != '.')
        return "'*' must be the whole left-most label (*.example.test), not part of it";
    if (strchr(v + 1, '*'))
        return "only one '*', as the whole left-most label";
    if (!strchr(v + 2, '.'))
        return "a wildcard needs at least two labels after '*.' (*.example.test, not *.test)";
    return NULL;
}

/* v as an ASCII, lower-case host name; what names the kind in messages. */
static cs_code normalize_dns(const char *v, unsigned flags, char **out, cs_err *err)
{
    const char *why = wildcard_error(v, flags);
    const char *host = v;
    char *ascii = NULL;
    char *result = NULL;
    const char *bad = NULL;
    size_t bad_len = 0;
    size_t i, n;
    int wild, rc;
    cs_code code = CS_OK;

    if (*v == '\0')
        return cs_err_set(err, CS_EINVAL, "DNS name '': empty");
    if (why)
        return cs_err_set(err, CS_EINVAL, "DNS name '%s': %s", v, why);
    wild = v[0] == '*';
    if (wild)
        host += 2;
    if (is_ascii(host)) {
        ascii = csi_dup_n(host, strlen(host));
        if (!ascii)
            return cs_err_set(err, CS_ENOMEM, "DNS name: out of memory");
        for (i = 0; ascii[i]; i++)
            ascii[i] = (char)tolower((unsigned char)ascii[i]);
    } else {
        char *idn = NULL;
        rc = idn2_to_ascii_8z(host, &idn, IDN_FLAGS);
        if (rc != IDN2_OK)
            return cs_err_set(err, CS_EINVAL, "DNS name '%s': not a valid internationalized "
                              "name (IDNA 2008): %s", v, idn2_strerror(rc));
        ascii = csi_dup_n(idn, strlen(idn));
        idn2_free(idn);
        if (!ascii)
            return cs_err_set(err, CS_ENOMEM, "DNS name: out of memory");
    }
    why = label_error(ascii, 0, &bad, &bad_len);
    if (why) {
        code = cs_err_set(err, CS_EINVAL, "DNS name '%s': label '%.*s': %s", v, (int)bad_len,
                          bad, why);
        goto done;
    }
    /* Each "xn--" label must be a real A-label. */
    for (const char *l = ascii; l; l = strchr(l, '.') ? strchr(l, '.') + 1 : NULL) {
        const char *end = strchr(l, '.');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (len >= 4 && memcmp(l, "xn--", 4) == 0) {
            why = alabel_error(l, len);
            if (why) {
                code = cs_err_set(err, CS_EINVAL, "DNS name '%s': label '%.*s': %s", v,
                                  (int)len, l, why);
                goto done;
            }
        }
    }
    /* RFC 1123 2.1: a top-level label is not all digits, so 10.0.0.1 is not a name. */
    {
        const char *last = strrchr(ascii, '.');
        last = last ? last + 1 : ascii;
        if (strspn(last, "0123456789") == strlen(last)) {
            code = cs_err_set(err, CS_EINVAL, "DNS name '%s': the last label is all digits "
                              "(an IP address? use type ip)", v);
            goto done;
        }
    }
    n = strlen(ascii) + (wild ? 2 : 0);
    if (n > DNS_NAME_MAX) {
        code = cs_err_set(err, CS_EINVAL, "DNS name '%s': longer than 253 octets%s", v,
                          is_ascii(host) ? "" : " as A-labels");
        goto done;
    }
    result = malloc(n + 1);
    if (!result) {
        code = cs_err_set(err, CS_ENOMEM, "DNS name: out of memory");
        goto done;
    }
    memcpy(result, "*.", wild ? 2 : 0);
    memcpy(result + (wild ? 2 : 0), ascii, strlen(ascii) + 1);
    *out = result;
done:
    free(ascii);
    return code;
}

/* ---- IP addresses and ranges ---- */

/* Text to octets: 4 for IPv4, 16 for IPv6; 0 if not an address. inet_pton is
 * strict: no leading zeros, no zone ("%eth0"), no shorthand like "10.1". */
static int ip_parse(const char *v, unsigned char out[16])
{
    if (inet_pton(AF_INET, v, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, v, out) == 1)
        return 16;
    return 0;
}

/* "addr/prefix" (or a bare address: all bits) into octets and prefix; host
 * bits must be zero so a range means what it says. */
static cs_code cidr_parse(const char *v, unsigned char addr[16], int *alen, int *prefix,
                          cs_err *err)
{
    char buf[64];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    char *end = NULL;
    long p;
    int len, i;

    if (n >= sizeof buf)
        return cs_err_set(err, CS_EINVAL, "IP range '%s': not an address/prefix", v);
    memcpy(buf, v, n);
    buf[n] = '\0';
    len = ip_parse(buf, addr);
    if (!len)
        return cs_err_set(err, CS_EINVAL, "IP range '%s': '%s' is not an IPv4 or IPv6 address",
                          v, buf);
    p = len * 8;
    if (slash) {
        if (!isdigit((unsigned char)slash[1]))
            return cs_err_set(err, CS_EINVAL, "IP range '%s': no prefix length after '/'", v);
        p = strtol(slash + 1, &end, 10);
        if (*end != '\0' || p < 0 || p > len * 8)
            return cs_err_set(err, CS_EINVAL, "IP range '%s': prefix length must be 0 to %d",
                              v, len * 8);
    }
    for (i = 0; i < len; i++) {
        long bits = p - i * 8;
        unsigned char m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
        if (addr[i] & (unsigned char)~m)
            return cs_err_set(err, CS_EINVAL, "IP range '%s': host bits are set after the "
                              "/%ld prefix", v, p);
    }
    *alen = len;
    *prefix = (int)p;
    return CS_OK;
}

cs_code cs_ip_in_cidr(const char *ip, const char *cidr, int *in, cs_err *err)
{
    unsigned char a[16], r[16];
    int alen, rlen, prefix, i;
    cs_code rc;

    if (!ip || !cidr || !in)
        return cs_err_set(err, CS_EINVAL, "IP range: no address or range");
    alen = ip_parse(ip, a);
    if (!alen)
        return cs_err_set(err, CS_EINVAL, "IP address '%s': not an IPv4 or IPv6 address", ip);
    rc = cidr_parse(cidr, r, &rlen, &prefix, err);
    if (rc != CS_OK)
        return rc;
    if (alen != rlen) {
        *in = 0; /* an IPv4 address is never in an IPv6 range, nor the reverse */
        return CS_OK;
    }
    for (i = 0; i < alen; i++) {
        int bits = prefix - i * 8;
        unsigned char m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & m) != r[i]) {
            *in = 0;
            return CS_OK;
        }
    }
    *in = 1;
    return CS_OK;
}

static cs_code normalize_ip(const char *v, char **out, cs_err *err)
{
    unsigned char a[16];
    char buf[INET6_ADDRSTRLEN];
    int len;

    if (strchr(v, '/'))
        return cs_err_set(err, CS_EINVAL, "IP address '%s': a range, not one address", v);
    len = ip_parse(v, a);
    if (!len)
        return cs_err_set(err, CS_EINVAL, "IP address '%s': not an IPv4 or IPv6 address", v);
    if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf))
        return cs_err_set(err, CS_EINVAL, "IP address '%s': cannot be printed", v);
    *out = csi_dup_n(buf, strlen(buf));
    return *out ? CS_OK : cs_err_set(err, CS_ENOMEM, "IP address: out of memory");
}

/* ---- email and URI ---- */

/* RFC 5322 3.2.3 atext, plus '.' between atoms (a dot-atom local part). */
static const char *local_part_error(const char *v, size_t n)
{
    static const char atext[] = "!#$%&'*+-/=?^_`{|}~";

    if (n == 0)
        return "empty local part";
    if (n > EMAIL_LOCAL_MAX)
        return "local part longer than 64 octets";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c > 127)
            return "non-ASCII local part (SmtpUTF8Mailbox names are not supported)";
        if (c == '.') {
            if (i == 0 || i == n - 1 || v[i + 1] == '.')
                return "a '.' may not start or end the local part, nor follow another";
        } else if (!isalnum(c) && !strchr(atext, c)) {
            return "the local part has a character outside RFC 5322 dot-atom";
        }
    }
    return NULL;
}

static cs_code normalize_email(const char *v, char **out, cs_err *err)
{
    const char *at = strrchr(v, '@');
    const char *why;
    char *domain = NULL;
    char *result;
    size_t n;
    cs_err inner = {CS_OK, ""};
    cs_code rc;

    if (!at)
        return cs_err_set(err, CS_EINVAL, "email '%s': needs local@domain", v);
    if (memchr(v, '@', (size_t)(at - v)))
        return cs_err_set(err, CS_EINVAL, "email '%s': more than one '@'", v);
    why = local_part_error(v, (size_t)(at - v));
    if (why)
        return cs_err_set(err, CS_EINVAL, "email '%s': %s", v, why);
    rc = normalize_dns(at + 1, 0, &domain, &inner);
    if (rc != CS_OK)
        return cs_err_set(err, rc, "email '%s': domain: %s", v, inner.msg);
    n = (size_t)(at - v) + 1 + strlen(domain);
    result = malloc(n + 1);
    if (!result) {
        free(domain);
        return cs_err_set(err, CS_ENOMEM, "email: out of memory");
    }
    memcpy(result, v, (size_t)(at - v) + 1); /* local part and '@' */
    memcpy(result + (at - v) + 1, domain, strlen(domain) + 1);
    free(domain);
    *out = result;
    return CS_OK;
}

/* Where the scheme ends (at ':'), or NULL if v does not start with a scheme
 * (RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )). */
static const char *uri_scheme_end(const char *v)
{
    const char *p;

    if (!isalpha((unsigned char)v[0]))
        return NULL;
    for (p = v; *p && *p != ':'; p++)
        if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
            return NULL;
    return *p == ':' ? p : NULL;
}

static int printable_ascii(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || (unsigned char)*v > 126)
            return 0;
    return 1;
}

static cs_code normalize_uri(const char *v, char **out, cs_err *err)
{
    const char *colon = uri_scheme_end(v);
    char *result;

    if (!printable_ascii(v))
        return cs_err_set(err, CS_EINVAL, "URI '%s': only printable ASCII, no spaces "
                          "(percent-encode the rest)", v);
    if (!colon)
        return cs_err_set(err, CS_EINVAL, "URI '%s': needs a scheme (https:, spiffe:, ...)", v);
    if (colon[1] == '\0')
        return cs_err_set(err, CS_EINVAL, "URI '%s': nothing after the scheme", v);
    result = csi_dup_n(v, strlen(v));
    if (!result)
        return cs_err_set(err, CS_ENOMEM, "URI: out of memory");
    for (char *p = result; p < result + (colon - v); p++)
        *p = (char)tolower((unsigned char)*p); /* RFC 3986 3.1: schemes are case-insensitive */
    *out = result;
    return CS_OK;
}

cs_code cs_name_check_text(cs_name_type type, const char *value, size_t len, cs_err *err)
{
    static const char *const kinds[] = {"DNS name", "IP address", "email", "URI"};
    const char *kind = (size_t)type < sizeof kinds / sizeof kinds[0] ? kinds[type] : "name";
    char shown[128];

    if (!cs_text_has_control(value, len, 0))
        return CS_OK;
    if (cs_text_escape(value, len, 0, shown, 100) >= 100)
        memcpy(shown + strlen(shown), "...", 4);
    return cs_err_set(err, CS_EINVAL, "%s '%s': control characters and bytes that are not "
                      "UTF-8 are not allowed (shown escaped)", kind, shown);
}

cs_code cs_name_normalize(cs_name_type type, const char *value, unsigned flags, char **out,
                          cs_err *err)
{
    cs_code rc;

    if (!value || !out)
        return cs_err_set(err, CS_EINVAL, "name: no value");
    rc = cs_name_check_text(type, value, strlen(value), err);
    if (rc != CS_OK)
        return rc;
    switch (type) {
    case CS_NAME_DNS:
        return normalize_dns(value, flags, out, err);
    case CS_NAME_IP:
        return normalize_ip(value, out, err);
    case CS_NAME_EMAIL:
        return normalize_email(value, out, err);
    case CS_NAME_URI:
        return normalize_uri(value, out, err);
    }
    return cs_err_set(err, CS_EINVAL, "name: unknown type %d", (int)type);
}

/* ---- general names, as cert.c builds them ---- */

static int valid_email(const char *v, int constraint)
{
    const char *at = strchr(v, '@');

    if (!printable_ascii(v))
        return 0;
    if (!at)
        return constraint && valid_dns(v, 1); /* a constraint may name a whole domain */
    return at != v && strchr(at + 1, '@') == NULL && valid_dns(at + 1, 0);
}

static int valid_uri(const char *v, int constraint)
{
    const char *colon;

    if (constraint)
        return valid_dns(v, 1); /* RFC 5280 4.2.1.10: a host or a .domain */
    colon = uri_scheme_end(v);
    return colon && colon[1] != '\0' && printable_ascii(v);
}

/* "10.0.0.0/8" as address then mask octets (RFC 5280 4.2.1.10). */
static ASN1_OCTET_STRING *cidr_octets(const char *v)
{
    unsigned char buf[32];
    ASN1_OCTET_STRING *res = NULL;
    int len, prefix, i;

    if (!strchr(v, '/') || cidr_parse(v, buf, &len, &prefix, NULL) != CS_OK)
        return NULL;
    for (i = 0; i < len; i++) {
        int bits = prefix - i * 8;
        buf[len + i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
    }
    res = ASN1_OCTET_STRING_new();
    if (res && ASN1_OCTET_STRING_set(res, buf, 2 * len) != 1) {
        ASN1_OCTET_STRING_free(res);
        res = NULL;
    }
    return res;
}

static ASN1_OCTET_STRING *ip_octets(const char *v)
{
    unsigned char buf[16];
    ASN1_OCTET_STRING *res = NULL;
    int len = ip_parse(v, buf);

    if (!len)
        return NULL;
    res = ASN1_OCTET_STRING_new();
    if (res && ASN1_OCTET_STRING_set(res, buf, len) != 1) {
        ASN1_OCTET_STRING_free(res);
        res = NULL;
    }
    return res;
}

cs_code cs_name_general(const cs_name *n, int constraint, const char *ext, GENERAL_NAME **out,
                        cs_err *err)
{
    GENERAL_NAME *gen = NULL;
    ASN1_STRING *str = NULL;
    const char *v = n->value;
    int type, ok;
    cs_code rc = CS_OK;

    if (!v)
        return cs_err_set(err, CS_EINVAL, "%s: name without a value", ext);
    switch (n->type) {
    case CS_NAME_DNS:
        ok = valid_dns(v, constraint);
        type = GEN_DNS;
        break;
    case CS_NAME_EMAIL:
        ok = valid_email(v, constraint);
        type = GEN_EMAIL;
        break;
    case CS_NAME_URI:
        ok = valid_uri(v, constraint);
        type = GEN_URI;
        break;
    case CS_NAME_IP:
        str = constraint ? cidr_octets(v) : ip_octets(v);
        ok = str != NULL;
        type = GEN_IPADD;
        break;
    default:
        return cs_err_set(err, CS_EINVAL, "%s: unknown name type %d", ext, (int)n->type);
    }
    if (!ok) {
        static const char *const kinds[] = {"DNS name", "IP address", "email", "URI"};
        rc = cs_err_set(err, CS_EINVAL, "%s: invalid %s%s '%s'", ext, kinds[n->type],
                        constraint && n->type == CS_NAME_IP ? " range (use a CIDR such as "
                                                              "10.0.0.0/8)" : "", v);
        goto done;
    }
    if (!str) {
        str = ASN1_IA5STRING_new();
        if (!str || ASN1_STRING_set(str, v, -1) != 1) {
            rc = cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", ext);
            goto done;
        }
    }
    gen = GENERAL_NAME_new();
    if (!gen) {
        rc = cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", ext);
        goto done;
    }
    GENERAL_NAME_set0_value(gen, type, str);
    str = NULL;
    *out = gen;
    gen = NULL;
done:
    ASN1_STRING_free(str);
    GENERAL_NAME_free(gen);
    return rc;
}

/* ---- nameConstraints ---- */

/* One side of nameConstraints; NULL for none (OPTIONAL, and an empty
 * SEQUENCE is not allowed). */
static cs_code build_subtrees(const cs_name *names, size_t len,
                              STACK_OF(GENERAL_SUBTREE) **out, cs_err *err)
{
    STACK_OF(GENERAL_SUBTREE) *trees = NULL;
    GENERAL_SUBTREE *sub = NULL;
    GENERAL_NAME *gen = NULL;
    size_t i;
    cs_code rc = CS_OK;

    if (len == 0) {
        *out = NULL;
        return CS_OK;
    }
    trees = sk_GENERAL_SUBTREE_new_null();
    if (!trees) {
        rc = cs_err_ossl(err, CS_ENOMEM, "nameConstraints: out of memory");
        goto done;
    }
    for (i = 0; i < len; i++) {
        rc = cs_name_general(&names[i], 1, "nameConstraints", &gen, err);
        if (rc != CS_OK)
            goto done;
        sub = GENERAL_SUBTREE_new();
        if (!sub) {
            rc = cs_err_ossl(err, CS_ENOMEM, "nameConstraints: out of memory");
            goto done;
        }
        GENERAL_NAME_free(sub->base);
        sub->base = gen;
        gen = NULL;
        if (!sk_GENERAL_SUBTREE_push(trees, sub)) {
            rc = cs_err_ossl(err, CS_ENOMEM, "nameConstraints: out of memory");
            goto done;
        }
        sub = NULL;
    }
    *out = trees;
    trees = NULL;
done:
    GENERAL_NAME_free(gen);
    GENERAL_SUBTREE_free(sub);
    sk_GENERAL_SUBTREE_pop_free(trees, GENERAL_SUBTREE_free);
    return rc;
}

cs_code cs_name_constraints_build(const cs_name_constraints *trees, NAME_CONSTRAINTS **out,
                                  cs_err *err)
{
    NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
    cs_code rc = CS_OK;

    if (!nc) {
        rc = cs_err_ossl(err, CS_ENOMEM, "nameConstraints: out of memory");
        goto done;
    }
    rc = build_subtrees(trees->permitted, trees->permitted_len, &nc->permittedSubtrees, err);
    if (rc != CS_OK)
        goto done;
    rc = build_subtrees(trees->excluded, trees->excluded_len, &nc->excludedSubtrees, err);
    if (rc != CS_OK)
        goto done;
    *out = nc;
    nc = NULL;
done:
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

cs_code cs_name_constraints_check(const cs_name_constraints *trees, cs_err *err)
{
    NAME_CONSTRAINTS *nc = NULL;
    cs_code rc = cs_name_constraints_build(trees, &nc, err);

    NAME_CONSTRAINTS_free(nc);
    return rc;
}

/* The verifier's answer for value under nc (NULL: no constraints, every
 * valid name): the one matcher behind both public calls. */
static cs_code nc_permits(NAME_CONSTRAINTS *nc, cs_name_type type, const char *value,
                          int *permitted, cs_err *err)
{
    GENERAL_NAMES *gens = NULL;
    GENERAL_NAME *gen = NULL;
    X509 *probe = NULL;
    cs_name name = {type, value};
    int r;
    cs_code rc = cs_name_general(&name, 0, "name", &gen, err);

    if (rc != CS_OK)
        return rc;
    if (!nc) {
        GENERAL_NAME_free(gen);
        *permitted = 1;
        return CS_OK;
    }
    /* The verifier checks a certificate's subject and SANs; a probe holding
     * only this name as its SAN gets exactly the verifier's answer. */
    probe = X509_new();
    gens = sk_GENERAL_NAME_new_null();
    if (!probe || !gens || !sk_GENERAL_NAME_push(gens, gen)) {
        rc = cs_err_ossl(err, CS_ENOMEM, "nameConstraints: out of memory");
        goto done;
    }
    gen = NULL;
    if (X509_add1_ext_i2d(probe, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "nameConstraints: cannot build the name");
        goto done;
    }
    (void)X509_get_extension_flags(probe); /* parses the SAN into the probe's cache */
    r = NAME_CONSTRAINTS_check(probe, nc);
    ERR_clear_error();
    if (r == X509_V_ERR_OUT_OF_MEM) {
        rc = cs_err_set(err, CS_ENOMEM, "nameConstraints: out of memory");
        goto done;
    }
    /* Anything but OK (a violation, a syntax OpenSSL cannot match) fails
     * verification, so it is not permitted. */
    *permitted = r == X509_V_OK;
done:
    X509_free(probe);
    GENERAL_NAMES_free(gens);
    GENERAL_NAME_free(gen);
    return rc;
}

cs_code cs_cert_permits_name(const cs_cert *ca, cs_name_type type, const char *value,
                             int *permitted, cs_err *err)
{
    NAME_CONSTRAINTS *nc = NULL;
    int crit = -1;
    cs_code rc;

    if (!ca || !permitted)
        return cs_err_set(err, CS_EINVAL, "nameConstraints: no CA certificate");
    nc = X509_get_ext_d2i(ca->x509, NID_name_constraints, &crit, NULL);
    if (!nc && crit != -1) /* -2: repeated; >= 0: present but unreadable */
        return cs_err_ossl(err, CS_EINVAL, "nameConstraints: cannot be read");
    ERR_clear_error();
    rc = nc_permits(nc, type, value, permitted, err);
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

cs_code cs_name_constraints_permit(const cs_name_constraints *trees, cs_name_type type,
                                   const char *value, int *permitted, cs_err *err)
{
    NAME_CONSTRAINTS *nc = NULL;
    cs_code rc;

    if (!trees || !permitted)
        return cs_err_set(err, CS_EINVAL, "nameConstraints: none given");
    rc = cs_name_constraints_build(trees, &nc, err);
    if (rc == CS_OK)
        rc = nc_permits(nc, type, value, permitted, err);
    NAME_CONSTRAINTS_free(nc);
    return rc;
}
