/* X.509 certificates: build from a spec, lint, sign, load, save, fingerprint.
 * cs_cert_get_info lives in info.c, cs_cert_verify in verify.c. */
#include "cert.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "file.h"
#include "internal.h"
#include "lint.h"
#include "name.h"

/* A certificate or chain file larger than this is not one we wrote. */
#define CERT_FILE_MAX (4 * 1024 * 1024)
#define SERIAL_RANDOM_LEN 16 /* CA/B BR 7.1: at least 64 bits of randomness */
#define SERIAL_MAX_LEN 20    /* RFC 5280 4.1.2.2: at most 20 octets */

const char *const cs_key_usage_names[7] = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement",     "keyCertSign",    "cRLSign",
};

static const char *const subject_fields[] = {
    "C", "ST", "L", "O", "OU", "CN", "serialNumber", "emailAddress", "DC",
};

static const struct {
    const char *name;
    int nid;
} purposes[] = {
    {"serverAuth", NID_server_auth},     {"clientAuth", NID_client_auth},
    {"codeSigning", NID_code_sign},      {"emailProtection", NID_email_protect},
    {"timeStamping", NID_time_stamp},    {"OCSPSigning", NID_OCSP_sign},
};

const char *cs_cert_purpose_name(size_t i)
{
    return i < sizeof purposes / sizeof purposes[0] ? purposes[i].name : NULL;
}

static cs_code wrap(X509 **x509, cs_cert **out, cs_err *err)
{
    cs_cert *cert = malloc(sizeof *cert);

    if (!cert)
        return cs_err_set(err, CS_ENOMEM, "certificate: out of memory");
    cert->x509 = *x509;
    *x509 = NULL;
    *out = cert;
    return CS_OK;
}

cs_code csi_cert_adopt(X509 **x509, cs_cert **out, cs_err *err)
{
    return wrap(x509, out, err);
}

/* ---- names ---- */

cs_code csi_subject_build(const cs_rdn *subject, size_t n, X509_NAME **out, cs_err *err)
{
    X509_NAME *name = NULL;
    size_t i, j;
    cs_code rc = CS_OK;

    name = X509_NAME_new();
    if (!name) {
        rc = cs_err_ossl(err, CS_ENOMEM, "subject: out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const cs_rdn *r = &subject[i];
        int known = 0;
        if (!r->field || !r->value) {
            rc = cs_err_set(err, CS_EINVAL, "subject: entry %zu has no field or value", i + 1);
            goto done;
        }
        for (j = 0; j < sizeof subject_fields / sizeof subject_fields[0]; j++)
            known |= strcmp(r->field, subject_fields[j]) == 0;
        if (!known) {
            rc = cs_err_set(err, CS_EINVAL, "subject: unknown field '%s' (use C, ST, L, O, "
                            "OU, CN, serialNumber, emailAddress or DC)", r->field);
            goto done;
        }
        if (r->value[0] == '\0') {
            rc = cs_err_set(err, CS_EINVAL, "subject: empty value for %s", r->field);
            goto done;
        }
        if (X509_NAME_add_entry_by_txt(name, r->field, MBSTRING_UTF8,
                                       (const unsigned char *)r->value, -1, -1, 0) != 1) {
            rc = cs_err_ossl(err, CS_EINVAL, "subject: invalid %s '%s'", r->field, r->value);
            goto done;
        }
    }
    *out = name;
    name = NULL;
done:
    X509_NAME_free(name);
    return rc;
}

static cs_code build_names(const cs_name *names, size_t len, GENERAL_NAMES **out, cs_err *err)
{
    GENERAL_NAMES *gens = NULL;
    GENERAL_NAME *gen = NULL;
    size_t i;
    cs_code rc = CS_OK;

    gens = sk_GENERAL_NAME_new_null();
    if (!gens) {
        rc = cs_err_ossl(err, CS_ENOMEM, "subjectAltName: out of memory");
        goto done;
    }
    for (i = 0; i < len; i++) {
        rc = cs_name_general(&names[i], 0, "subjectAltName", &gen, err);
        if (rc != CS_OK)
            goto done;
        if (!sk_GENERAL_NAME_push(gens, gen)) {
            rc = cs_err_ossl(err, CS_ENOMEM, "subjectAltName: out of memory");
            goto done;
        }
        gen = NULL;
    }
    *out = gens;
    gens = NULL;
done:
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(gens);
    return rc;
}

/* ---- extensions ---- */

cs_code csi_cert_add_ext(X509 *x, int nid, void *value, int critical, const char *name,
                         cs_err *err)
{
    if (X509_add1_ext_i2d(x, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "%s: cannot add the extension", name);
    return CS_OK;
}

static cs_code add_basic_constraints(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    BASIC_CONSTRAINTS *bc = NULL;
    cs_code rc = CS_OK;

    bc = BASIC_CONSTRAINTS_new();
    if (!bc) {
        rc = cs_err_ossl(err, CS_ENOMEM, "basicConstraints: out of memory");
        goto done;
    }
    bc->ca = s->basic_constraints.ca ? 0xff : 0; /* DER TRUE; FALSE is omitted */
    /* Encoded as asked, even without CA:TRUE: lint refuses that, naming the rule. */
    if (s->basic_constraints.path_len >= 0) {
        bc->pathlen = ASN1_INTEGER_new();
        if (!bc->pathlen || ASN1_INTEGER_set(bc->pathlen, s->basic_constraints.path_len) != 1) {
            rc = cs_err_ossl(err, CS_ENOMEM, "basicConstraints: out of memory");
            goto done;
        }
    }
    rc = csi_cert_add_ext(x, NID_basic_constraints, bc, s->basic_constraints.critical,
                 "basicConstraints", err);
done:
    BASIC_CONSTRAINTS_free(bc);
    return rc;
}

static cs_code add_key_usage(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    ASN1_BIT_STRING *ku = NULL;
    int i;
    cs_code rc = CS_OK;

    if (s->key_usage.bits & ~0x7fu)
        return cs_err_set(err, CS_EINVAL, "keyUsage: unknown bits 0x%x",
                          s->key_usage.bits & ~0x7fu);
    ku = ASN1_BIT_STRING_new();
    if (!ku) {
        rc = cs_err_ossl(err, CS_ENOMEM, "keyUsage: out of memory");
        goto done;
    }
    /* set_bit trims trailing zero bits, as DER requires (X.690 11.2.2). */
    for (i = 0; i < 7; i++) {
        if ((s->key_usage.bits & (1u << i)) && ASN1_BIT_STRING_set_bit(ku, i, 1) != 1) {
            rc = cs_err_ossl(err, CS_ENOMEM, "keyUsage: out of memory");
            goto done;
        }
    }
    rc = csi_cert_add_ext(x, NID_key_usage, ku, s->key_usage.critical, "keyUsage", err);
done:
    ASN1_BIT_STRING_free(ku);
    return rc;
}

static int dotted_oid(const char *v)
{
    const char *p;
    int dots = 0;

    if (!isdigit((unsigned char)v[0]))
        return 0;
    for (p = v; *p; p++) {
        if (*p == '.') {
            if (p[1] == '\0' || p[1] == '.')
                return 0;
            dots++;
        } else if (!isdigit((unsigned char)*p)) {
            return 0;
        }
    }
    return dots >= 1;
}

static cs_code add_ext_key_usage(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    EXTENDED_KEY_USAGE *eku = NULL;
    ASN1_OBJECT *obj = NULL;
    size_t i, j;
    cs_code rc = CS_OK;

    eku = sk_ASN1_OBJECT_new_null();
    if (!eku) {
        rc = cs_err_ossl(err, CS_ENOMEM, "extKeyUsage: out of memory");
        goto done;
    }
    for (i = 0; i < s->ext_key_usage.len; i++) {
        const char *p = s->ext_key_usage.purposes[i];
        for (j = 0; p && j < sizeof purposes / sizeof purposes[0] && !obj; j++)
            if (strcmp(p, purposes[j].name) == 0)
                obj = OBJ_nid2obj(purposes[j].nid);
        if (!obj && p && dotted_oid(p)) {
            ERR_set_mark();
            obj = OBJ_txt2obj(p, 1);
            ERR_pop_to_mark();
        }
        if (!obj) {
            rc = cs_err_set(err, CS_EINVAL, "extKeyUsage: unknown purpose '%s' (use "
                            "serverAuth, clientAuth, codeSigning, emailProtection, "
                            "timeStamping, OCSPSigning or a dotted OID)", p ? p : "(null)");
            goto done;
        }
        if (!sk_ASN1_OBJECT_push(eku, obj)) {
            rc = cs_err_ossl(err, CS_ENOMEM, "extKeyUsage: out of memory");
            goto done;
        }
        obj = NULL;
    }
    rc = csi_cert_add_ext(x, NID_ext_key_usage, eku, s->ext_key_usage.critical, "extKeyUsage",
                          err);
done:
    ASN1_OBJECT_free(obj);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return rc;
}

cs_code csi_cert_add_san(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    GENERAL_NAMES *gens = NULL;
    cs_code rc;

    rc = build_names(s->subject_alt_name.names, s->subject_alt_name.len, &gens, err);
    if (rc == CS_OK)
        rc = csi_cert_add_ext(x, NID_subject_alt_name, gens, s->subject_alt_name.critical,
                     "subjectAltName", err);
    GENERAL_NAMES_free(gens);
    return rc;
}

static cs_code add_name_constraints(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    const cs_name_constraints trees = {
        s->name_constraints.permitted, s->name_constraints.permitted_len,
        s->name_constraints.excluded, s->name_constraints.excluded_len};
    NAME_CONSTRAINTS *nc = NULL;
    cs_code rc = cs_name_constraints_build(&trees, &nc, err);

    if (rc == CS_OK)
        rc = csi_cert_add_ext(x, NID_name_constraints, nc, s->name_constraints.critical,
                     "nameConstraints", err);
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

/* One URI general name, its syntax checked; ext names the extension. */
static cs_code uri_name(const char *uri, const char *ext, GENERAL_NAME **out, cs_err *err)
{
    cs_name n;

    if (!uri)
        return cs_err_set(err, CS_EINVAL, "%s: missing URI", ext);
    n.type = CS_NAME_URI;
    n.value = uri;
    return cs_name_general(&n, 0, ext, out, err);
}

static cs_code add_crl_dp(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    CRL_DIST_POINTS *cdp = NULL;
    DIST_POINT *dp = NULL;
    GENERAL_NAME *gen = NULL;
    size_t i;
    cs_code rc = CS_OK;

    cdp = sk_DIST_POINT_new_null();
    dp = DIST_POINT_new();
    if (dp)
        dp->distpoint = DIST_POINT_NAME_new();
    if (!cdp || !dp || !dp->distpoint ||
        !(dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null())) {
        rc = cs_err_ossl(err, CS_ENOMEM, "cRLDistributionPoints: out of memory");
        goto done;
    }
    dp->distpoint->type = 0; /* fullName */
    for (i = 0; i < s->crl_distribution_points.len; i++) {
        rc = uri_name(s->crl_distribution_points.uris[i], "cRLDistributionPoints", &gen, err);
        if (rc != CS_OK)
            goto done;
        if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gen)) {
            rc = cs_err_ossl(err, CS_ENOMEM, "cRLDistributionPoints: out of memory");
            goto done;
        }
        gen = NULL;
    }
    if (!sk_DIST_POINT_push(cdp, dp)) {
        rc = cs_err_ossl(err, CS_ENOMEM, "cRLDistributionPoints: out of memory");
        goto done;
    }
    dp = NULL;
    rc = csi_cert_add_ext(x, NID_crl_distribution_points, cdp, 0, "cRLDistributionPoints", err);
done:
    GENERAL_NAME_free(gen);
    DIST_POINT_free(dp);
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    return rc;
}

/* Append one access description (method nid, location uri) to aia. */
static cs_code push_access(AUTHORITY_INFO_ACCESS *aia, int nid, const char *uri, cs_err *err)
{
    ACCESS_DESCRIPTION *ad = NULL;
    GENERAL_NAME *gen = NULL;
    cs_code rc;

    rc = uri_name(uri, "authorityInfoAccess", &gen, err);
    if (rc != CS_OK)
        return rc;
    ad = ACCESS_DESCRIPTION_new();
    if (!ad || !sk_ACCESS_DESCRIPTION_push(aia, ad)) {
        ACCESS_DESCRIPTION_free(ad);
        GENERAL_NAME_free(gen);
        return cs_err_ossl(err, CS_ENOMEM, "authorityInfoAccess: out of memory");
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(nid);
    GENERAL_NAME_free(ad->location);
    ad->location = gen;
    return CS_OK;
}

static cs_code add_aia(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    size_t i;
    cs_code rc = CS_OK;

    if (!aia)
        return cs_err_ossl(err, CS_ENOMEM, "authorityInfoAccess: out of memory");
    for (i = 0; rc == CS_OK && i < s->authority_info_access.ocsp_len; i++)
        rc = push_access(aia, NID_ad_OCSP, s->authority_info_access.ocsp[i], err);
    for (i = 0; rc == CS_OK && i < s->authority_info_access.ca_issuers_len; i++)
        rc = push_access(aia, NID_ad_ca_issuers, s->authority_info_access.ca_issuers[i], err);
    if (rc == CS_OK)
        rc = csi_cert_add_ext(x, NID_info_access, aia, 0, "authorityInfoAccess", err);
    AUTHORITY_INFO_ACCESS_free(aia);
    return rc;
}

/* RFC 6960 4.2.2.2.1: id-pkix-ocsp-nocheck belongs in a delegated OCSP
 * signer's certificate, one whose extKeyUsage has id-kp-OCSPSigning; on any
 * other it only stops clients from checking a certificate's status. */
static cs_code add_ocsp_no_check(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    ASN1_NULL *null;
    size_t i;
    int signer = 0;
    cs_code rc;

    for (i = 0; s->ext_key_usage.present && i < s->ext_key_usage.len; i++)
        if (strcmp(s->ext_key_usage.purposes[i], "OCSPSigning") == 0 ||
            strcmp(s->ext_key_usage.purposes[i], "1.3.6.1.5.5.7.3.9") == 0)
            signer = 1;
    if (!signer)
        return cs_err_set(err, CS_EINVAL, "ocsp_no_check: only for a delegated OCSP signer "
                          "(extended_key_usage OCSPSigning; RFC 6960 4.2.2.2.1)");
    null = ASN1_NULL_new();

    if (!null)
        return cs_err_ossl(err, CS_ENOMEM, "ocspNoCheck: out of memory");
    rc = csi_cert_add_ext(x, NID_id_pkix_OCSP_noCheck, null, 0, "ocspNoCheck", err);
    ASN1_NULL_free(null);
    return rc;
}

/* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
ASN1_OCTET_STRING *csi_cert_key_id(const X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASN1_OCTET_STRING *id = NULL;

    if (X509_pubkey_digest(x, EVP_sha1(), md, &len) != 1)
        return NULL;
    id = ASN1_OCTET_STRING_new();
    if (id && ASN1_OCTET_STRING_set(id, md, (int)len) != 1) {
        ASN1_OCTET_STRING_free(id);
        id = NULL;
    }
    return id;
}

static cs_code add_key_ids(X509 *x, const cs_cert_spec *s, const cs_cert *issuer,
                           cs_err *err)
{
    ASN1_OCTET_STRING *ski = NULL;
    AUTHORITY_KEYID *akid = NULL;
    cs_code rc = CS_OK;

    ski = csi_cert_key_id(x);
    if (!ski) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "subjectKeyIdentifier: hashing the public key");
        goto done;
    }
    /* RFC 5280 4.2.1.1/4.2.1.2: both MUST be non-critical. */
    if (s->subject_key_id) {
        rc = csi_cert_add_ext(x, NID_subject_key_identifier, ski, 0, "subjectKeyIdentifier",
                              err);
        if (rc != CS_OK)
            goto done;
    }
    if (s->authority_key_id) {
        akid = AUTHORITY_KEYID_new();
        if (!akid) {
            rc = cs_err_ossl(err, CS_ENOMEM, "authorityKeyIdentifier: out of memory");
            goto done;
        }
        if (!issuer) {
            akid->keyid = ski;
            ski = NULL;
        } else if (X509_get0_subject_key_id(issuer->x509)) {
            akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(issuer->x509));
        } else {
            /* An issuer without SKI: use the same method a verifier would. */
            akid->keyid = csi_cert_key_id(issuer->x509);
        }
        if (!akid->keyid) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "authorityKeyIdentifier: issuer key id");
            goto done;
        }
        rc = csi_cert_add_ext(x, NID_authority_key_identifier, akid, 0,
                              "authorityKeyIdentifier", err);
    }
done:
    AUTHORITY_KEYID_free(akid);
    ASN1_OCTET_STRING_free(ski);
    return rc;
}

/* ---- serial, validity ---- */

cs_code csi_cert_set_serial(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    unsigned char buf[SERIAL_RANDOM_LEN];
    const unsigned char *p = s->serial;
    size_t len = s->serial_len;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    cs_code rc = CS_OK;

    if (p) {
        while (len > 0 && *p == 0) {
            p++;
            len--;
        }
        if (len == 0)
            return cs_err_set(err, CS_EINVAL, "serial: must be positive (RFC 5280 4.1.2.2)");
        /* A top bit set costs a leading zero octet in DER. */
        if (len > SERIAL_MAX_LEN || (len == SERIAL_MAX_LEN && (p[0] & 0x80)))
            return cs_err_set(err, CS_EINVAL,
                              "serial: longer than 20 octets (RFC 5280 4.1.2.2)");
    } else {
        size_t i, nonzero;
        do {
            if (RAND_bytes(buf, sizeof buf) != 1)
                return cs_err_ossl(err, CS_ECRYPTO, "serial: no random bytes");
            buf[0] &= 0x7f; /* positive, so DER needs no extra octet */
            for (i = 0, nonzero = 0; i < sizeof buf; i++)
                nonzero |= buf[i];
        } while (!nonzero); /* RFC 5280 4.1.2.2: zero is not a valid serial */
        p = buf;
        len = sizeof buf;
    }
    bn = BN_bin2bn(p, (int)len, NULL);
    if (!bn || BN_is_zero(bn)) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "serial: cannot encode");
        goto done;
    }
    ai = BN_to_ASN1_INTEGER(bn, NULL);
    if (!ai || X509_set_serialNumber(x, ai) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "serial: cannot encode");
        goto done;
    }
done:
    OPENSSL_cleanse(buf, sizeof buf);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

cs_code csi_cert_set_validity(X509 *x, const cs_cert_spec *s, cs_err *err)
{
    ASN1_TIME *nb = NULL;
    ASN1_TIME *na = NULL;
    cs_code rc = CS_OK;

    if ((int64_t)(time_t)s->not_before != s->not_before ||
        (int64_t)(time_t)s->not_after != s->not_after)
        return cs_err_set(err, CS_EINVAL, "validity: time out of range");
    /* ASN1_TIME_set picks UTCTime before 2050, GeneralizedTime after (RFC 5280 4.1.2.5). */
    nb = ASN1_TIME_set(NULL, (time_t)s->not_before);
    na = ASN1_TIME_set(NULL, (time_t)s->not_after);
    if (!nb || !na) {
        rc = cs_err_ossl(err, CS_EINVAL, "validity: time out of range (years 0000 to 9999)");
        goto done;
    }
    if (X509_set1_notBefore(x, nb) != 1 || X509_set1_notAfter(x, na) != 1) {
        rc = cs_err_ossl(err, CS_ENOMEM, "validity: out of memory");
        goto done;
    }
done:
    ASN1_TIME_free(na);
    ASN1_TIME_free(nb);
    return rc;
}

/* ---- the public key ---- */

/* The public half of an EC key, rebuilt from its encoded point as a key with
 * the ASN.1 method: the curve's parameters (the key's generator made them
 * once, else d2i_KeyParams here), then d2i_PublicKey for the point. NULL if
 * key is not EC on a named curve. */
static EVP_PKEY *ec_public_copy(const cs_key *key)
{
    unsigned char point[133]; /* an uncompressed P-521 point, the largest */
    const unsigned char *cp = point;
    char group[64];
    EVP_PKEY *pub = NULL;
    size_t len = 0;

    if (!EVP_PKEY_is_a(key->pkey, "EC"))
        return NULL;
    if (key->ec_point && key->ec_params) {
        cp = key->ec_point; /* as the CSR had it: no conversion */
        len = key->ec_point_len;
    } else if (EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                               point, sizeof point, &len) != 1) {
        return NULL;
    }
    if (key->ec_params) {
        pub = EVP_PKEY_new();
        if (pub && EVP_PKEY_copy_parameters(pub, key->ec_params) != 1) {
            EVP_PKEY_free(pub);
            pub = NULL;
        }
    } else if (EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                              sizeof group, NULL) == 1) {
        pub = csi_ec_params(group);
    }
    if (!pub || !d2i_PublicKey(EVP_PKEY_EC, &pub, &cp, (long)len)) {
        EVP_PKEY_free(pub);
        return NULL;
    }
    return pub;
}

/* Put the subject's public key into x. X509_set_pubkey with a key made by a
 * provider costs OpenSSL 3.0 an OSSL_ENCODER and an OSSL_DECODER round trip
 * (each builds its context by walking every provider's algorithms): about
 * 2 M instructions, 60% of issuing a P-256 leaf. With an ASN.1-method copy
 * of an EC key it encodes the point directly, for a tenth of that, and the
 * certificate still holds a usable public key (X509_get0_pubkey). Other key
 * types, or any failure of the short way, take the general one. */
int csi_cert_set_pubkey(X509 *x, const cs_key *key)
{
    EVP_PKEY *pub;
    int ok;

    ERR_set_mark();
    pub = ec_public_copy(key);
    ok = pub && X509_set_pubkey(x, pub) == 1;
    ERR_pop_to_mark();
    EVP_PKEY_free(pub);
    return ok || X509_set_pubkey(x, key->pkey) == 1;
}

/* ---- signing ---- */

/* The keys fit: issuer_key signs for issuer (or is the subject's own key when
 * self-signed). Whether the issuer may sign at all is lint's (lint.c). */
cs_code csi_cert_check_issuer(const cs_key *subject_key,
                            const cs_cert *issuer, const cs_key *issuer_key, cs_err *err)
{
    int ok;
    cs_code rc = csi_key_need_private(issuer_key, "issuer key", err);

    if (rc != CS_OK)
        return rc; /* the subject key may be public only: a CSR's */
    if (!issuer) {
        ERR_set_mark();
        ok = issuer_key == subject_key || EVP_PKEY_eq(issuer_key->pkey, subject_key->pkey) == 1;
        ERR_pop_to_mark();
        if (!ok)
            return cs_err_set(err, CS_EMISMATCH, "self-signed certificate: the issuer key "
                                                 "must be the subject key");
        return CS_OK;
    }
    ERR_set_mark();
    ok = X509_check_private_key(issuer->x509, issuer_key->pkey) == 1;
    ERR_pop_to_mark();
    if (!ok)
        return cs_err_set(err, CS_EMISMATCH,
                          "issuer certificate and issuer key do not match");
    return CS_OK;
}

/* The certificate spec describes for subject_key, issued by issuer (NULL:
 * self-signed), unsigned: what cs_cert_sign lints and signs and
 * cs_cert_lint_spec lints. *out (free with X509_free) only on success. */
cs_code csi_cert_build(const cs_cert_spec *spec, const cs_key *subject_key,
                       const cs_cert *issuer, X509 **out, cs_err *err)
{
    X509 *x = NULL;
    X509_NAME *subject = NULL;
    cs_code rc = CS_OK;

    if (spec->subject_len > 0 && !spec->subject)
        return cs_err_set(err, CS_EINVAL, "subject: missing");
    x = X509_new();
    if (!x) {
        rc = cs_err_ossl(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    rc = csi_subject_build(spec->subject, spec->subject_len, &subject, err);
    if (rc != CS_OK)
        goto done;
    if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->x509) : subject) != 1 ||
        csi_cert_set_pubkey(x, subject_key) != 1) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "certificate: cannot set names or key");
        goto done;
    }
    rc = csi_cert_set_serial(x, spec, err);
    if (rc == CS_OK)
        rc = csi_cert_set_validity(x, spec, err);
    if (rc == CS_OK && spec->basic_constraints.present)
        rc = add_basic_constraints(x, spec, err);
    if (rc == CS_OK && spec->key_usage.present)
        rc = add_key_usage(x, spec, err);
    if (rc == CS_OK && spec->ext_key_usage.present)
        rc = add_ext_key_usage(x, spec, err);
    if (rc == CS_OK && spec->subject_alt_name.present)
        rc = csi_cert_add_san(x, spec, err);
    if (rc == CS_OK && spec->name_constraints.present)
        rc = add_name_constraints(x, spec, err);
    if (rc == CS_OK && (spec->subject_key_id || spec->authority_key_id))
        rc = add_key_ids(x, spec, issuer, err);
    if (rc == CS_OK && spec->crl_distribution_points.len > 0)
        rc = add_crl_dp(x, spec, err);
    if (rc == CS_OK && (spec->authority_info_access.ocsp_len > 0 ||
                        spec->authority_info_access.ca_issuers_len > 0))
        rc = add_aia(x, spec, err);
    if (rc == CS_OK && spec->ocsp_no_check)
        rc = add_ocsp_no_check(x, spec, err);
    if (rc != CS_OK)
        goto done;
    *out = x;
    x = NULL;
done:
    X509_NAME_free(subject);
    X509_free(x);
    return rc;
}

/* The lint of built certificate x that signer's key would sign: the digest
 * is the one signing with that key uses (csi_pkey_digest_name decides). */
static void lint_built(const X509 *x, const cs_cert *issuer, const EVP_PKEY *signer,
                       cs_lint_report *report)
{
    cs_lint_tbs(x, issuer ? issuer->x509 : NULL, signer, csi_pkey_digest_name(signer), report);
}

cs_code cs_cert_sign(const cs_cert_spec *spec, const cs_key *subject_key,
                     const cs_cert *issuer, const cs_key *issuer_key, cs_cert **out,
                     cs_err *err)
{
    X509 *x = NULL;
    EVP_MD_CTX *mctx = NULL;
    cs_lint_report report;
    cs_code rc = CS_OK;

    if (!spec || !subject_key || !issuer_key || !out)
        return cs_err_set(err, CS_EINVAL, "certificate: missing spec, subject key or "
                                          "issuer key");
    rc = csi_cert_check_issuer(subject_key, issuer, issuer_key, err);
    if (rc != CS_OK)
        return rc;
    rc = csi_cert_build(spec, subject_key, issuer, &x, err);
    if (rc != CS_OK)
        goto done;
    /* The built certificate, not the spec, is what gets signed: lint that. */
    lint_built(x, issuer, issuer_key->pkey, &report);
    rc = cs_lint_refuse(&report, err);
    if (rc != CS_OK)
        goto done;

    mctx = EVP_MD_CTX_new();
    if (!mctx) {
        rc = cs_err_ossl(err, CS_ENOMEM, "certificate: out of memory");
        goto done;
    }
    /* The digest follows the issuer's key; NULL for Ed25519. */
    if (EVP_DigestSignInit_ex(mctx, NULL, cs_key_digest_name(issuer_key), NULL, NULL,
                              issuer_key->pkey, NULL) != 1 ||
        X509_sign_ctx(x, mctx) <= 0) {
        rc = cs_err_ossl(err, CS_ECRYPTO, "certificate: signing");
        goto done;
    }
    rc = wrap(&x, out, err);
done:
    EVP_MD_CTX_free(mctx);
    X509_free(x);
    return rc;
}

cs_code cs_cert_lint_spec(const cs_cert_spec *spec, const cs_key *subject_key,
                          const cs_key_params *shape, const cs_cert *issuer,
                          struct cs_lint_report *out, cs_err *err)
{
    cs_key *stand = NULL;
    const cs_key *subject = subject_key;
    X509 *x = NULL;
    cs_code rc = CS_OK;

    if (!spec || !out || !subject_key == !shape)
        return cs_err_set(err, CS_EINVAL, "lint: needs a spec and either a subject key or "
                                          "a key shape");
    if (!subject) {
        rc = csi_key_of_shape(shape, &stand, err);
        if (rc != CS_OK)
            return rc;
        subject = stand;
    }
    rc = csi_cert_build(spec, subject, issuer, &x, err);
    if (rc == CS_OK)
        lint_built(x, issuer, issuer ? X509_get0_pubkey(issuer->x509) : subject->pkey, out);
    X509_free(x);
    cs_key_free(stand);
    return rc;
}

/* ---- loading ---- */

/* d2i_X509 of the len bytes at *der (advanced past what was read), that
 * must be DER: re-encoded, with its TBS encoded again rather than taken
 * from the bytes OpenSSL keeps, it gives back exactly what was read. BER
 * (an indefinite length, a long-form length that fits short form) parses
 * too, and would be signed, hashed and stored as something else than what
 * the file says. NULL with *not_der set for a certificate that is not DER. */
static X509 *d2i_x509_der(const unsigned char **der, long len, int *not_der)
{
    const unsigned char *start = *der;
    unsigned char *again = NULL;
    X509 *x = d2i_X509(NULL, der, len);
    int n;

    if (!x)
        return NULL;
    n = i2d_re_X509_tbs(x, NULL) > 0 ? i2d_X509(x, &again) : -1;
    if (n < 0 || n != *der - start || memcmp(again, start, (size_t)n) != 0) {
        *not_der = 1;
        X509_free(x);
        x = NULL;
    }
    OPENSSL_free(again);
    return x;
}

/* A PEM certificate's bytes, checked as DER (d2i_x509_der). */
static X509 *pem_x509_der(BIO *bio, int *not_der)
{
    unsigned char *data = NULL;
    const unsigned char *p;
    char *name = NULL;
    long len = 0;
    X509 *x = NULL;

    if (PEM_bytes_read_bio(&data, &len, &name, PEM_STRING_X509, bio, csi_pem_no_prompt,
                           NULL) != 1)
        return NULL;
    p = data;
    x = d2i_x509_der(&p, len, not_der);
    OPENSSL_free(name);
    OPENSSL_free(data);
    return x;
}

static void *decode_x509(BIO *bio, const unsigned char **der, long len, void *arg)
{
    int scratch = 0;
    int *not_der = arg ? arg : &scratch;

    return bio ? pem_x509_der(bio, not_der) : d2i_x509_der(der, len, not_der);
}

static const csi_pem_der x509_format = {decode_x509, "the DER certificate",
                                       "not a PEM or DER certificate"};

/* The message for a certificate that parses but is not DER. */
static cs_code not_der_error(const char *what, cs_err *err)
{
    ERR_clear_error();
    return cs_err_set(err, CS_EUNSUPPORTED, "%s: not DER (the certificate is encoded with BER: "
                      "an indefinite or non-minimal length); only DER certificates are read",
                      what);
}

cs_code cs_cert_load(const char *data, size_t len, const char *what, cs_cert **out,
                     cs_err *err)
{
    void *obj = NULL;
    X509 *x;
    int not_der = 0;
    cs_code rc;

    if (!what)
        what = "certificate";
    rc = csi_load_pem_der(data, len, out, what, &x509_format, &not_der, &obj, err);
    if (rc != CS_OK && not_der)
        rc = not_der_error(what, err);
    x = obj;
    if (rc == CS_OK)
        rc = wrap(&x, out, err);
    X509_free(x);
    return rc;
}

cs_code cs_cert_load_file(const char *path, cs_cert **out, cs_err *err)
{
    char *data = NULL;
    size_t len = 0;
    cs_code rc;

    rc = cs_file_read(path, CERT_FILE_MAX, &data, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_cert_load(data, len, path, out, err);
    cs_file_free(data, len);
    return rc;
}

cs_code cs_cert_load_chain_file(const char *path, cs_cert ***out, size_t *n, cs_err *err)
{
    char *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    X509 *x = NULL;
    cs_cert **certs = NULL;
    cs_cert **grown;
    size_t count = 0;
    int not_der = 0;
    char what[sizeof err->msg];
    cs_code rc;

    if (!path || !out || !n)
        return cs_err_set(err, CS_EINVAL, "chain: no file");
    rc = cs_file_read(path, CERT_FILE_MAX, &data, &len, err);
    if (rc != CS_OK)
        return rc;
    if (!csi_mem_contains(data, len, "-----BEGIN CERTIFICATE-----")) {
        /* Not a PEM chain: a single DER certificate is still a chain of one. */
        certs = malloc(sizeof *certs);
        if (!certs) {
            rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        rc = cs_cert_load(data, len, path, &certs[0], err);
        if (rc != CS_OK)
            goto done;
        count = 1;
        goto finish;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    if (!bio) {
        rc = cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        ERR_set_mark();
        x = pem_x509_der(bio, &not_der);
        if (!x && not_der) {
            ERR_clear_last_mark();
            snprintf(what, sizeof what, "%s: certificate %zu", path, count + 1);
            rc = not_der_error(what, err);
            goto done;
        }
        if (!x) {
            /* No further BEGIN line is the normal end of the file. */
            unsigned long e = ERR_peek_last_error();
            if (count > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
                ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_pop_to_mark();
                break;
            }
            ERR_clear_last_mark();
            rc = cs_err_ossl(err, CS_EINVAL, "%s: certificate %zu: not a PEM certificate",
                             path, count + 1);
            goto done;
        }
        ERR_clear_last_mark();
        grown = realloc(certs, (count + 1) * sizeof *certs);
        if (!grown) {
            rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        certs = grown;
        rc = wrap(&x, &certs[count], err);
        if (rc != CS_OK)
            goto done;
        count++;
    }
finish:
    *out = certs;
    *n = count;
    certs = NULL;
    count = 0;
done:
    cs_cert_free_all(certs, count); /* also frees an array with no entries yet */
    X509_free(x);
    BIO_free(bio);
    cs_file_free(data, len);
    return rc;
}

void cs_cert_free(cs_cert *cert)
{
    if (!cert)
        return;
    X509_free(cert->x509);
    free(cert);
}

void cs_cert_free_all(cs_cert **certs, size_t n)
{
    size_t i;

    if (!certs)
        return;
    for (i = 0; i < n; i++)
        cs_cert_free(certs[i]);
    free(certs);
}

cs_cert *cs_cert_dup(const cs_cert *cert)
{
    cs_cert *copy;

    if (!cert)
        return NULL;
    copy = malloc(sizeof *copy);
    if (!copy)
        return NULL;
    if (X509_up_ref(cert->x509) != 1) {
        free(copy);
        return NULL;
    }
    copy->x509 = cert->x509;
    return copy;
}

/* ---- writing ---- */

cs_code cs_cert_pem(const cs_cert *cert, char **out, size_t *len, cs_err *err)
{
    if (!cert || !out || !len)
        return cs_err_set(err, CS_EINVAL, "certificate: none");
    return csi_cert_chain_pem(&cert, 1, "certificate", out, len, err);
}

cs_code cs_cert_der(const cs_cert *cert, unsigned char **out, size_t *len, cs_err *err)
{
    if (!cert || !out || !len)
        return cs_err_set(err, CS_EINVAL, "certificate: none");
    return csi_der_encode(cert->x509, ASN1_ITEM_rptr(X509), "certificate", out, len, err);
}

cs_code csi_cert_chain_pem(const cs_cert *const *certs, size_t n, const char *what, char **out,
                          size_t *len, cs_err *err)
{
    BIO *bio = NULL;
    cs_code rc = CS_OK;

    if (!certs || n == 0)
        return cs_err_set(err, CS_EINVAL, "%s: no certificates to save", what);
    bio = BIO_new(BIO_s_mem());
    if (!bio) {
        rc = cs_err_ossl(err, CS_ENOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!certs[i] || PEM_write_bio_X509(bio, certs[i]->x509) != 1) {
            rc = cs_err_ossl(err, CS_ECRYPTO, "%s: encoding certificate %zu", what, i + 1);
            goto done;
        }
    }
    rc = csi_bio_copy(bio, what, out, len, err);
done:
    BIO_free(bio);
    return rc;
}

cs_code cs_cert_save(const cs_cert *const *certs, size_t n, const char *path, int overwrite,
                     cs_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    cs_code rc;

    if (!path)
        return cs_err_set(err, CS_EINVAL, "certificate: no file name");
    rc = csi_cert_chain_pem(certs, n, path, &pem, &len, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_file_write(path, pem, len, 0644, overwrite, err);
    free(pem);
    return rc;
}

cs_code cs_cert_check_key(const cs_cert *cert, const cs_key *key, cs_err *err)
{
    int ok;

    if (!cert || !key)
        return cs_err_set(err, CS_EINVAL, "certificate: no certificate or key");
    if (!key->is_private)
        return cs_err_set(err, CS_EINVAL, "key: public key only, has no private key");
    ERR_set_mark();
    ok = X509_check_private_key(cert->x509, key->pkey) == 1;
    ERR_pop_to_mark();
    if (!ok)
        return cs_err_set(err, CS_EMISMATCH, "certificate and key do not match");
    return CS_OK;
}

/* ---- inspecting ---- */

void cs_cert_fingerprint(const cs_cert *cert, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    out[0] = '\0';
    if (!cert || X509_digest(cert->x509, EVP_sha256(), md, &len) != 1 || len != 32) {
        ERR_clear_error();
        return;
    }
    csi_hex_lower(md, len, out);
}

void cs_cert_fingerprint_sha1(const cs_cert *cert, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    out[0] = '\0';
    if (!cert || X509_digest(cert->x509, EVP_sha1(), md, &len) != 1 || len != 20) {
        ERR_clear_error();
        return;
    }
    csi_hex_lower(md, len, out);
}

char *cs_cert_serial_hex(const cs_cert *cert)
{
    BIGNUM *bn = NULL;
    char *hex = NULL;
    char *copy = NULL;

    if (!cert)
        return NULL;
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->x509), NULL);
    if (bn)
        hex = BN_bn2hex(bn); /* upper case, no separators */
    if (hex) {
        copy = malloc(strlen(hex) + 1);
        if (copy)
            strcpy(copy, hex);
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return copy;
}

int64_t cs_cert_not_after(const cs_cert *cert)
{
    int64_t t = 0;

    if (!cert || !csi_asn1_time_unix(X509_get0_notAfter(cert->x509), &t)) {
        ERR_clear_error();
        return 0;
    }
    return t;
}

X509 *cs_cert_get0_x509(const cs_cert *cert)
{
    return cert ? cert->x509 : NULL;
}
