/* cs_cert_get_info: everything in a certificate as plain strings and numbers. */
#include "cert.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "text.h"

/* A growable string; on allocation failure it sets failed and stops growing. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;
        while (b->len + n + 1 > cap)
            cap *= 2;
        p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Take the string out of b (an empty string if nothing was added); NULL on failure. */
static char *sb_take(strbuf *b)
{
    char *s;
    if (!b->failed && !b->s)
        sb_add(b, "", 0);
    if (b->failed) {
        free(b->s);
        b->s = NULL;
        return NULL;
    }
    s = b->s;
    b->s = NULL;
    return s;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Lower-case hex of len bytes; free with free(). */
static char *hex_lower(const unsigned char *p, size_t len)
{
    char *s = malloc(len * 2 + 1);
    if (s)
        csi_hex_lower(p, len, s);
    return s;
}

/* Short name of an object, or its dotted OID when OpenSSL has no name for it. */
static char *obj_name(const ASN1_OBJECT *obj)
{
    int nid = OBJ_obj2nid(obj);
    char buf[128];
    if (nid != NID_undef) {
        const char *sn = OBJ_nid2sn(nid);
        if (sn)
            return xstrdup(sn);
    }
    if (OBJ_obj2txt(buf, sizeof buf, obj, 1) <= 0)
        return xstrdup("?");
    return xstrdup(buf);
}

/* A string value as UTF-8, escaped (cs_text_escape: a NUL, ESC or newline
 * in a name is shown, never cut or acted on); free with free(). The ASCII
 * types (IA5String: DNS names, emails, URIs) escape any byte >= 0x80 rather
 * than read it as Latin-1; a UTF8String that is not UTF-8 shows its bytes. */
static char *asn1_utf8(const ASN1_STRING *str)
{
    unsigned char *u = NULL;
    int type = ASN1_STRING_type(str), n;
    char *s;

    if (type == V_ASN1_IA5STRING || type == V_ASN1_PRINTABLESTRING ||
        type == V_ASN1_VISIBLESTRING || type == V_ASN1_NUMERICSTRING)
        return cs_text_escape_dup(ASN1_STRING_get0_data(str),
                                  (size_t)ASN1_STRING_length(str), CS_TEXT_ASCII);
    ERR_set_mark();
    n = ASN1_STRING_to_UTF8(&u, str);
    ERR_pop_to_mark(); /* a failure is expected: the bytes are shown instead */
    if (n < 0)
        return cs_text_escape_dup(ASN1_STRING_get0_data(str),
                                  (size_t)ASN1_STRING_length(str), 0);
    s = cs_text_escape_dup(u, (size_t)n, 0);
    OPENSSL_free(u);
    return s;
}

/* "C=SE, O=Simple Inc, CN=x": RDNs in certificate order, multi-valued ones joined by '+'. */
char *csi_name_oneline(const X509_NAME *name)
{
    strbuf b = {0};
    int i, n = X509_NAME_entry_count(name), prev_set = -1;
    for (i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int set = X509_NAME_ENTRY_set(e);
        char *field = obj_name(X509_NAME_ENTRY_get_object(e));
        char *value = asn1_utf8(X509_NAME_ENTRY_get_data(e));
        if (!field || !value) {
            free(field);
            free(value);
            b.failed = 1;
            break;
        }
        if (i > 0)
            sb_puts(&b, set == prev_set ? "+" : ", ");
        sb_puts(&b, field);
        sb_puts(&b, "=");
        sb_puts(&b, value);
        prev_set = set;
        free(field);
        free(value);
    }
    return sb_take(&b);
}

static int name_rdns(const X509_NAME *name, cs_rdn **out, size_t *len)
{
    int i, n = X509_NAME_entry_count(name);
    cs_rdn *r;
    *out = NULL;
    *len = 0;
    if (n <= 0)
        return 1;
    r = calloc((size_t)n, sizeof *r);
    if (!r)
        return 0;
    *out = r;
    for (i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        r[i].field = obj_name(X509_NAME_ENTRY_get_object(e));
        r[i].value = asn1_utf8(X509_NAME_ENTRY_get_data(e));
        *len = (size_t)i + 1;
        if (!r[i].field || !r[i].value)
            return 0;
    }
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int csi_asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    *out = days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                           (unsigned)tm.tm_mday) * 86400 +
           tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return 1;
}

static const char *curve_name(const char *group)
{
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return "P-256";
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return "P-384";
    if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
        return "P-521";
    return group;
}

/* IP address octets as text: "127.0.0.1", "::1"; with a mask (nc), as CIDR. */
static char *ip_text(const ASN1_OCTET_STRING *ip, int nc)
{
    const unsigned char *p = ASN1_STRING_get0_data(ip);
    int n = ASN1_STRING_length(ip);
    char buf[INET6_ADDRSTRLEN + 8];
    int af, alen, prefix = 0, i;

    if (nc ? n == 8 : n == 4) {
        af = AF_INET;
        alen = 4;
    } else if (nc ? n == 32 : n == 16) {
        af = AF_INET6;
        alen = 16;
    } else {
        return hex_lower(p, (size_t)(n > 0 ? n : 0)); /* malformed: show the bytes */
    }
    if (!inet_ntop(af, p, buf, INET6_ADDRSTRLEN))
        return NULL;
    if (nc) {
        for (i = 0; i < alen; i++) {
            unsigned char m = p[alen + i];
            while (m & 0x80) {
                prefix++;
                m = (unsigned char)(m << 1);
            }
            if (p[alen + i] != 0xff)
                break;
        }
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "/%d", prefix);
    }
    return xstrdup(buf);
}

/* One general name as cs_name; 0 for a type we do not represent (skipped), -1 on
 * failure. */
static int general_name(const GENERAL_NAME *gn, int nc, cs_name *out)
{
    char *v = NULL;
    switch (gn->type) {
    case GEN_DNS:
        out->type = CS_NAME_DNS;
        v = asn1_utf8(gn->d.dNSName);
        break;
    case GEN_EMAIL:
        out->type = CS_NAME_EMAIL;
        v = asn1_utf8(gn->d.rfc822Name);
        break;
    case GEN_URI:
        out->type = CS_NAME_URI;
        v = asn1_utf8(gn->d.uniformResourceIdentifier);
        break;
    case GEN_IPADD:
        out->type = CS_NAME_IP;
        v = ip_text(gn->d.iPAddress, nc);
        break;
    default:
        return 0;
    }
    if (!v)
        return -1;
    out->value = v;
    return 1;
}

static int general_names(const GENERAL_NAMES *gens, int nc, cs_name **out, size_t *len)
{
    int i, n = sk_GENERAL_NAME_num(gens);
    cs_name *names;
    *out = NULL;
    *len = 0;
    if (n <= 0)
        return 1;
    names = calloc((size_t)n, sizeof *names);
    if (!names)
        return 0;
    *out = names;
    for (i = 0; i < n; i++) {
        int r = general_name(sk_GENERAL_NAME_value(gens, i), nc, &names[*len]);
        if (r < 0)
            return 0;
        if (r > 0)
            (*len)++;
    }
    return 1;
}

/* Name constraints keep GENERAL_NAMEs inside GENERAL_SUBTREEs. */
static int subtrees(const STACK_OF(GENERAL_SUBTREE) *st, cs_name **out, size_t *len)
{
    int i, n = sk_GENERAL_SUBTREE_num(st);
    cs_name *names;
    *out = NULL;
    *len = 0;
    if (n <= 0)
        return 1;
    names = calloc((size_t)n, sizeof *names);
    if (!names)
        return 0;
    *out = names;
    for (i = 0; i < n; i++) {
        const GENERAL_SUBTREE *t = sk_GENERAL_SUBTREE_value(st, i);
        int r = general_name(t->base, 1, &names[*len]);
        if (r < 0)
            return 0;
        if (r > 0)
            (*len)++;
    }
    return 1;
}

static void free_names(cs_name *names, size_t len)
{
    size_t i;
    if (!names)
        return;
    for (i = 0; i < len; i++)
        free((char *)names[i].value);
    free(names);
}

static void free_strings(char **list, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        free(list[i]);
    free(list);
}

void cs_cert_info_free(cs_cert_info *info)
{
    size_t i;
    if (!info)
        return;
    free(info->serial);
    free(info->subject);
    free(info->issuer);
    if (info->subject_rdns) {
        for (i = 0; i < info->subject_rdns_len; i++) {
            free((char *)info->subject_rdns[i].field);
            free((char *)info->subject_rdns[i].value);
        }
        free(info->subject_rdns);
    }
    free(info->signature_algorithm);
    free(info->key_type);
    free(info->key_curve);
    free(info->fingerprint_sha256);
    free(info->subject_key_id);
    free(info->authority_key_id);
    if (info->ext_key_usage.purposes) {
        for (i = 0; i < info->ext_key_usage.len; i++)
            free(info->ext_key_usage.purposes[i]);
        free(info->ext_key_usage.purposes);
    }
    free_names(info->subject_alt_name.names, info->subject_alt_name.len);
    free_names(info->name_constraints.permitted, info->name_constraints.permitted_len);
    free_names(info->name_constraints.excluded, info->name_constraints.excluded_len);
    free_strings(info->crl_distribution_points.uris, info->crl_distribution_points.len);
    free_strings(info->authority_info_access.ocsp, info->authority_info_access.ocsp_len);
    free_strings(info->authority_info_access.ca_issuers,
                 info->authority_info_access.ca_issuers_len);
    if (info->extensions) {
        for (i = 0; i < info->extensions_len; i++)
            free(info->extensions[i]);
        free(info->extensions);
    }
    free(info);
}

static int fill_key(cs_cert_info *info, X509 *x)
{
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    const char *type;
    if (!pkey) {
        info->key_type = xstrdup("unknown");
        return info->key_type != NULL;
    }
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_EC:
        type = "ec";
        break;
    case EVP_PKEY_ED25519:
        type = "ed25519";
        break;
    case EVP_PKEY_ED448:
        type = "ed448";
        break;
    case EVP_PKEY_RSA:
        type = "rsa";
        break;
    case EVP_PKEY_RSA_PSS:
        type = "rsa-pss";
        break;
    default:
        type = "other";
        break;
    }
    info->key_type = xstrdup(type);
    if (!info->key_type)
        return 0;
    info->key_bits = EVP_PKEY_get_bits(pkey);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        char group[80];
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, &glen)) {
            info->key_curve = xstrdup(curve_name(group));
            if (!info->key_curve)
                return 0;
        }
    }
    return 1;
}

static int fill_basic(cs_cert_info *info, X509 *x)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    info->basic_constraints.path_len = -1;
    if (!bc)
        return crit == -1; /* -1: absent; -2: repeated; >= 0: could not parse */
    info->basic_constraints.present = 1;
    info->basic_constraints.critical = crit > 0;
    info->basic_constraints.ca = bc->ca ? 1 : 0;
    if (bc->pathlen) {
        long v = ASN1_INTEGER_get(bc->pathlen);
        info->basic_constraints.path_len = v < 0 || v > 0x7fffffff ? -1 : (int)v;
    }
    BASIC_CONSTRAINTS_free(bc);
    return 1;
}

int csi_info_key_usage(const STACK_OF(X509_EXTENSION) *exts, int *present, int *critical,
                      unsigned *bits)
{
    int crit = -1, i;
    ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL);
    if (!ku)
        return crit == -1 ? 1 : -1;
    *present = 1;
    *critical = crit > 0;
    for (i = 0; i < 7; i++)
        if (ASN1_BIT_STRING_get_bit(ku, i))
            *bits |= 1u << i;
    ASN1_BIT_STRING_free(ku);
    return 1;
}

int csi_info_ext_key_usage(const STACK_OF(X509_EXTENSION) *exts, int *present, int *critical,
                          char ***purposes, size_t *len)
{
    int crit = -1, i, n, ok = 1;
    EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(exts, NID_ext_key_usage, &crit, NULL);
    if (!eku)
        return crit == -1 ? 1 : -1;
    *present = 1;
    *critical = crit > 0;
    n = sk_ASN1_OBJECT_num(eku);
    if (n > 0) {
        *purposes = calloc((size_t)n, sizeof(char *));
        if (!*purposes)
            ok = 0;
        for (i = 0; ok && i < n; i++) {
            char *p = obj_name(sk_ASN1_OBJECT_value(eku, i));
            if (!p)
                ok = 0;
            else
                (*purposes)[(*len)++] = p;
        }
    }
    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

static int fill_san(cs_cert_info *info, X509 *x)
{
    int crit = -1, ok;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (!gens)
        return crit == -1;
    info->subject_alt_name.present = 1;
    info->subject_alt_name.critical = crit > 0;
    ok = general_names(gens, 0, &info->subject_alt_name.names, &info->subject_alt_name.len);
    GENERAL_NAMES_free(gens);
    return ok;
}

static int fill_name_constraints(cs_cert_info *info, X509 *x)
{
    int crit = -1, ok;
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
    if (!nc)
        return crit == -1;
    info->name_constraints.present = 1;
    info->name_constraints.critical = crit > 0;
    ok = subtrees(nc->permittedSubtrees, &info->name_constraints.permitted,
                  &info->name_constraints.permitted_len) &&
         subtrees(nc->excludedSubtrees, &info->name_constraints.excluded,
                  &info->name_constraints.excluded_len);
    NAME_CONSTRAINTS_free(nc);
    return ok;
}

/* The URI general names of gens appended to (*list, *len); others skipped. */
static int append_uris(const GENERAL_NAMES *gens, char ***list, size_t *len)
{
    int i, n = sk_GENERAL_NAME_num(gens);
    char **grown;

    for (i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        char *u;
        if (gn->type != GEN_URI)
            continue;
        u = asn1_utf8(gn->d.uniformResourceIdentifier);
        grown = u ? realloc(*list, (*len + 1) * sizeof **list) : NULL;
        if (!grown) {
            free(u);
            return 0;
        }
        *list = grown;
        (*list)[(*len)++] = u;
    }
    return 1;
}

static int fill_crl_dp(cs_cert_info *info, X509 *x)
{
    int crit = -1, ok = 1, i;
    CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);

    if (!cdp)
        return crit == -1;
    for (i = 0; ok && i < sk_DIST_POINT_num(cdp); i++) {
        const DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);
        if (dp->distpoint && dp->distpoint->type == 0)
            ok = append_uris(dp->distpoint->name.fullname, &info->crl_distribution_points.uris,
                             &info->crl_distribution_points.len);
    }
    CRL_DIST_POINTS_free(cdp);
    return ok;
}

static int fill_aia(cs_cert_info *info, X509 *x)
{
    int crit = -1, ok = 1, i;
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, &crit, NULL);

    if (!aia)
        return crit == -1;
    for (i = 0; ok && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        const ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        GENERAL_NAMES *one = sk_GENERAL_NAME_new_null();
        int nid = OBJ_obj2nid(ad->method);
        if (!one || !sk_GENERAL_NAME_push(one, ad->location)) {
            ok = 0;
        } else if (nid == NID_ad_OCSP) {
            ok = append_uris(one, &info->authority_info_access.ocsp,
                             &info->authority_info_access.ocsp_len);
        } else if (nid == NID_ad_ca_issuers) {
            ok = append_uris(one, &info->authority_info_access.ca_issuers,
                             &info->authority_info_access.ca_issuers_len);
        }
        sk_GENERAL_NAME_free(one); /* borrowed the location: free the stack only */
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    return ok;
}

int csi_info_ext_names(const STACK_OF(X509_EXTENSION) *exts, char ***names, size_t *len)
{
    int i, n = sk_X509_EXTENSION_num(exts);
    if (n <= 0)
        return 1;
    *names = calloc((size_t)n, sizeof(char *));
    if (!*names)
        return 0;
    for (i = 0; i < n; i++) {
        char *s = obj_name(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i)));
        if (!s)
            return 0;
        (*names)[(*len)++] = s;
    }
    return 1;
}

cs_code cs_cert_get_info(const cs_cert *cert, cs_cert_info **out, cs_err *err)
{
    cs_cert_info *info = NULL;
    X509 *x;
    const ASN1_OCTET_STRING *ski, *aki;
    const char *what = NULL;
    cs_code rc = CS_ENOMEM;

    if (!cert || !cert->x509 || !out)
        return cs_err_set(err, CS_EINVAL, "certificate info: no certificate");
    x = cert->x509;
    info = calloc(1, sizeof *info);
    if (!info)
        goto done;

    info->version = (int)X509_get_version(x) + 1;
    info->serial = cs_cert_serial_hex(cert);
    info->subject = csi_name_oneline(X509_get_subject_name(x));
    info->issuer = csi_name_oneline(X509_get_issuer_name(x));
    if (!info->serial || !info->subject || !info->issuer)
        goto done;
    if (!name_rdns(X509_get_subject_name(x), &info->subject_rdns, &info->subject_rdns_len))
        goto done;

    rc = CS_EINVAL;
    if (!csi_asn1_time_unix(X509_get0_notBefore(x), &info->not_before)) {
        what = "notBefore";
        goto done;
    }
    if (!csi_asn1_time_unix(X509_get0_notAfter(x), &info->not_after)) {
        what = "notAfter";
        goto done;
    }
    rc = CS_ENOMEM;

    {
        int nid = X509_get_signature_nid(x);
        if (nid != NID_undef) {
            info->signature_algorithm = xstrdup(OBJ_nid2ln(nid));
        } else {
            const X509_ALGOR *alg = NULL;
            const ASN1_OBJECT *obj = NULL;
            X509_get0_signature(NULL, &alg, x);
            X509_ALGOR_get0(&obj, NULL, NULL, alg);
            info->signature_algorithm = obj ? obj_name(obj) : xstrdup("unknown");
        }
        if (!info->signature_algorithm)
            goto done;
    }
    if (!fill_key(info, x))
        goto done;

    info->fingerprint_sha256 = malloc(65);
    if (!info->fingerprint_sha256)
        goto done;
    cs_cert_fingerprint(cert, info->fingerprint_sha256);
    if (info->fingerprint_sha256[0] == '\0') {
        rc = CS_ECRYPTO;
        what = "fingerprint";
        goto done;
    }

    /* The get0 accessors below make OpenSSL cache the extensions (X509v3 "x509v3
     * cache"); a certificate whose extensions do not parse is reported below. */
    ski = X509_get0_subject_key_id(x);
    aki = X509_get0_authority_key_id(x);
    if (ski) {
        info->subject_key_id = hex_lower(ASN1_STRING_get0_data(ski),
                                         (size_t)ASN1_STRING_length(ski));
        if (!info->subject_key_id)
            goto done;
    }
    if (aki) {
        info->authority_key_id = hex_lower(ASN1_STRING_get0_data(aki),
                                           (size_t)ASN1_STRING_length(aki));
        if (!info->authority_key_id)
            goto done;
    }
    info->self_signed = X509_self_signed(x, 0) == 1;

    /* A fill_* failure is either no memory or an extension that does not parse
     * (or appears twice); the second is the likelier with certificates from outside. */
    rc = CS_EINVAL;
    if (!fill_basic(info, x)) {
        what = "basicConstraints";
        goto done;
    }
    /* out of memory reads as "cannot be read" here too, as it always has */
    if (csi_info_key_usage(X509_get0_extensions(x), &info->key_usage.present,
                          &info->key_usage.critical, &info->key_usage.bits) != 1) {
        what = "keyUsage";
        goto done;
    }
    if (csi_info_ext_key_usage(X509_get0_extensions(x), &info->ext_key_usage.present,
                              &info->ext_key_usage.critical, &info->ext_key_usage.purposes,
                              &info->ext_key_usage.len) != 1) {
        what = "extendedKeyUsage";
        goto done;
    }
    if (!fill_san(info, x)) {
        what = "subjectAltName";
        goto done;
    }
    if (!fill_name_constraints(info, x)) {
        what = "nameConstraints";
        goto done;
    }
    if (!fill_crl_dp(info, x)) {
        what = "cRLDistributionPoints";
        goto done;
    }
    if (!fill_aia(info, x)) {
        what = "authorityInfoAccess";
        goto done;
    }
    info->ocsp_no_check = X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0;
    rc = CS_ENOMEM;
    if (!csi_info_ext_names(X509_get0_extensions(x), &info->extensions, &info->extensions_len))
        goto done;

    rc = CS_OK;
    *out = info;
    info = NULL;

done:
    if (rc != CS_OK) {
        if (rc == CS_ENOMEM)
            cs_err_ossl(err, rc, "certificate info: out of memory");
        else
            cs_err_ossl(err, rc, "certificate info: %s: cannot be read", what ? what : "?");
    }
    ERR_clear_error();
    cs_cert_info_free(info);
    return rc;
}

/* ---- shared with csr.c (declared in internal.h) ---- */

int csi_info_rdns(const X509_NAME *name, cs_rdn **out, size_t *len)
{
    return name_rdns(name, out, len);
}

int csi_info_general_names(const GENERAL_NAMES *gens, cs_name **out, size_t *len)
{
    return general_names(gens, 0, out, len);
}

char *csi_info_obj_name(const ASN1_OBJECT *obj)
{
    return obj_name(obj);
}

void csi_info_free_rdns(cs_rdn *rdns, size_t len)
{
    if (!rdns)
        return;
    for (size_t i = 0; i < len; i++) {
        free((char *)rdns[i].field);
        free((char *)rdns[i].value);
    }
    free(rdns);
}
cs_code csi_cert_san_names(const X509 *x, cs_name **out, size_t *len)
{
    int crit = -1, ok;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);

    *out = NULL;
    *len = 0;
    if (!gens)
        return crit == -1 ? CS_OK : CS_EINVAL;
    ok = general_names(gens, 0, out, len);
    GENERAL_NAMES_free(gens);
    if (ok)
        return CS_OK;
    free_names(*out, *len);
    *out = NULL;
    *len = 0;
    return CS_ENOMEM;
}

void csi_names_free(cs_name *names, size_t len)
{
    free_names(names, len);
}
