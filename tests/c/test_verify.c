/* cs_cert_get_info and cs_cert_verify against a chain made by the openssl CLI:
 * a P-384 root, an intermediate with pathlen:0 and name constraints, a server
 * leaf for localhost, 127.0.0.1 and ::1; plus an unrelated root, an Ed25519 and
 * an RSA self-signed certificate for the key and signature fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "cert.h"
#include "check.h"
#include "fixtures.h"

#define LEAF_DAYS 30

static const char cnf[] =
    "[req]\n"
    "distinguished_name = dn\n"
    "[dn]\n"
    "[v3_root]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid:always\n"
    "[v3_int]\n"
    "basicConstraints = critical,CA:TRUE,pathlen:0\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid:always\n"
    "nameConstraints = critical,permitted;DNS:localhost,permitted;IP:127.0.0.0/255.0.0.0,"
    "permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,"
    "excluded;IP:10.0.0.0/255.0.0.0,excluded;DNS:.example.com\n"
    "[v3_leaf]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature,keyAgreement\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid:always\n"
    "[v3_self]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "keyUsage = critical,keyCertSign\n"
    "subjectKeyIdentifier = hash\n";

#define EC384 "-newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes"

static int make_fixtures(void)
{
    char path[128];
    fx_path(path, sizeof path, "ca.cnf");
    return fx_write_file(path, cnf, strlen(cnf)) == 0 &&
           fx_sh("openssl req -x509 -config ca.cnf -extensions v3_root " EC384
                 " -keyout root.key -out root.crt -days 3650"
                 " -subj '/C=SE/O=Simple Inc/CN=Simple Root CA' 2>/dev/null") &&
           fx_sh("openssl req -new -config ca.cnf " EC384 " -keyout int.key -out int.csr"
                 " -subj '/C=SE/O=Simple Inc/CN=Simple Signing CA' 2>/dev/null") &&
           fx_sh("openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -set_serial 0x1001"
                 " -days 1825 -sha384 -extfile ca.cnf -extensions v3_int -out int.crt"
                 " 2>/dev/null") &&
           fx_sh("openssl req -new -config ca.cnf " EC384 " -keyout leaf.key -out leaf.csr"
                 " -subj '/C=SE/O=Simple Inc/OU=XYZ/CN=localhost' 2>/dev/null") &&
           fx_sh("openssl x509 -req -in leaf.csr -CA int.crt -CAkey int.key"
                 " -set_serial 0x7A3F0011BEEF -days %d -sha384 -extfile ca.cnf"
                 " -extensions v3_leaf -out leaf.crt 2>/dev/null", LEAF_DAYS) &&
           fx_sh("openssl req -x509 -config ca.cnf -extensions v3_root " EC384
                 " -keyout other.key -out other.crt -days 3650"
                 " -subj '/C=SE/O=Simple Inc/CN=Simple Root CA' 2>/dev/null") &&
           fx_sh("openssl req -x509 -config ca.cnf -extensions v3_self -newkey ed25519 -nodes"
                 " -keyout ed.key -out ed.crt -days 10 -subj '/CN=ed' 2>/dev/null") &&
           fx_sh("openssl req -x509 -config ca.cnf -extensions v3_self -newkey rsa:2048 -nodes"
                 " -sha256 -keyout rsa.key -out rsa.crt -days 10 -subj '/CN=rsa' 2>/dev/null");
}

static cs_cert *load(const char *name)
{
    char path[128];
    cs_cert *c = NULL;
    cs_err err = {0};
    fx_path(path, sizeof path, name);
    CHECK_OK(cs_cert_load_file(path, &c, &err), &err);
    return c;
}

static int has_name(const cs_name *names, size_t n, cs_name_type t, const char *v)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (names[i].type == t && strcmp(names[i].value, v) == 0)
            return 1;
    return 0;
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void test_info(const cs_cert *root, const cs_cert *inter, const cs_cert *leaf)
{
    cs_cert_info *li = NULL, *ii = NULL, *ri = NULL;
    cs_err err = {0};
    char line[256], fp[65];
    size_t i, j = 0;
    int64_t now = (int64_t)time(NULL);

    CHECK_OK(cs_cert_get_info(leaf, &li, &err), &err);
    CHECK_OK(cs_cert_get_info(inter, &ii, &err), &err);
    CHECK_OK(cs_cert_get_info(root, &ri, &err), &err);
    if (!li || !ii || !ri)
        goto done;

    CHECK(li->version == 3);
    CHECK(streq(li->serial, "7A3F0011BEEF"));
    CHECK(fx_run_line(line, sizeof line, "openssl x509 -in leaf.crt -noout -serial"));
    CHECK(streq(li->serial, strchr(line, '=') ? strchr(line, '=') + 1 : ""));
    CHECK(streq(li->subject, "C=SE, O=Simple Inc, OU=XYZ, CN=localhost"));
    CHECK(streq(li->issuer, "C=SE, O=Simple Inc, CN=Simple Signing CA"));
    CHECK(streq(li->issuer, ii->subject));
    CHECK(li->subject_rdns_len == 4);
    if (li->subject_rdns_len == 4) {
        CHECK(streq(li->subject_rdns[0].field, "C") && streq(li->subject_rdns[0].value, "SE"));
        CHECK(streq(li->subject_rdns[1].field, "O") &&
              streq(li->subject_rdns[1].value, "Simple Inc"));
        CHECK(streq(li->subject_rdns[2].field, "OU"));
        CHECK(streq(li->subject_rdns[3].field, "CN") &&
              streq(li->subject_rdns[3].value, "localhost"));
    }
    CHECK(li->not_after - li->not_before == (int64_t)LEAF_DAYS * 86400);
    CHECK(li->not_before > now - 600 && li->not_before <= now + 5);
    CHECK(streq(li->signature_algorithm, "ecdsa-with-SHA384"));
    CHECK(streq(li->key_type, "ec"));
    CHECK(streq(li->key_curve, "P-384"));
    CHECK(li->key_bits == 384);

    /* "SHA256 Fingerprint=AB:CD:..." -> "abcd..." */
    CHECK(fx_run_line(line, sizeof line,
                      "openssl x509 -in leaf.crt -noout -fingerprint -sha256"));
    {
        const char *p = strchr(line, '=');
        for (j = 0, p = p ? p + 1 : line + strlen(line); *p && j < 64; p++)
            if (*p != ':')
                fp[j++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    }
    fp[j] = '\0';
    CHECK(j == 64 && streq(li->fingerprint_sha256, fp));
    cs_cert_fingerprint(leaf, line);
    CHECK(streq(li->fingerprint_sha256, line));

    CHECK(li->subject_key_id && strlen(li->subject_key_id) == 40);
    CHECK(streq(li->authority_key_id, ii->subject_key_id));
    CHECK(streq(ii->authority_key_id, ri->subject_key_id));
    CHECK(!li->self_signed && !ii->self_signed && ri->self_signed);

    CHECK(li->basic_constraints.present && li->basic_constraints.critical &&
          !li->basic_constraints.ca && li->basic_constraints.path_len == -1);
    CHECK(ii->basic_constraints.present && ii->basic_constraints.ca &&
          ii->basic_constraints.path_len == 0);
    CHECK(ri->basic_constraints.ca && ri->basic_constraints.path_len == -1);

    CHECK(li->key_usage.present && li->key_usage.critical);
    CHECK(li->key_usage.bits == (CS_KU_DIGITAL_SIGNATURE | CS_KU_KEY_AGREEMENT));
    CHECK(ri->key_usage.bits == (CS_KU_KEY_CERT_SIGN | CS_KU_CRL_SIGN));

    CHECK(li->ext_key_usage.present && !li->ext_key_usage.critical);
    CHECK(li->ext_key_usage.len == 1 && streq(li->ext_key_usage.purposes[0], "serverAuth"));
    CHECK(!ri->ext_key_usage.present && ri->ext_key_usage.len == 0);

    CHECK(li->subject_alt_name.present && li->subject_alt_name.len == 3);
    CHECK(has_name(li->subject_alt_name.names, li->subject_alt_name.len, CS_NAME_DNS,
                   "localhost"));
    CHECK(has_name(li->subject_alt_name.names, li->subject_alt_name.len, CS_NAME_IP,
                   "127.0.0.1"));
    CHECK(has_name(li->subject_alt_name.names, li->subject_alt_name.len, CS_NAME_IP, "::1"));
    CHECK(!ri->subject_alt_name.present);

    CHECK(!li->name_constraints.present);
    CHECK(ii->name_constraints.present && ii->name_constraints.critical);
    CHECK(ii->name_constraints.permitted_len == 3 && ii->name_constraints.excluded_len == 2);
    CHECK(has_name(ii->name_constraints.permitted, ii->name_constraints.permitted_len,
                   CS_NAME_DNS, "localhost"));
    CHECK(has_name(ii->name_constraints.permitted, ii->name_constraints.permitted_len,
                   CS_NAME_IP, "127.0.0.0/8"));
    CHECK(has_name(ii->name_constraints.permitted, ii->name_constraints.permitted_len,
                   CS_NAME_IP, "::1/128"));
    CHECK(has_name(ii->name_constraints.excluded, ii->name_constraints.excluded_len,
                   CS_NAME_IP, "10.0.0.0/8"));
    CHECK(has_name(ii->name_constraints.excluded, ii->name_constraints.excluded_len,
                   CS_NAME_DNS, ".example.com"));

    /* In certificate order; openssl x509 -req writes the section's order. */
    {
        static const char *const want[] = {"basicConstraints", "keyUsage", "extendedKeyUsage",
                                           "subjectAltName", "subjectKeyIdentifier",
                                           "authorityKeyIdentifier"};
        CHECK(li->extensions_len == 6);
        for (i = 0; i < 6 && i < li->extensions_len; i++)
            CHECK(streq(li->extensions[i], want[i]));
    }

done:
    cs_cert_info_free(li);
    cs_cert_info_free(ii);
    cs_cert_info_free(ri);
    cs_cert_info_free(NULL);
}

static void test_info_keys(const cs_cert *ed, const cs_cert *rsa)
{
    cs_cert_info *info = NULL;
    cs_err err = {0};

    CHECK_OK(cs_cert_get_info(ed, &info, &err), &err);
    if (info) {
        CHECK(streq(info->signature_algorithm, "ED25519"));
        CHECK(streq(info->key_type, "ed25519"));
        CHECK(info->key_curve == NULL);
        CHECK(info->self_signed);
        CHECK(streq(info->subject, "CN=ed") && streq(info->issuer, "CN=ed"));
        CHECK(info->authority_key_id == NULL);
        CHECK(info->not_after - info->not_before == 10 * 86400);
        cs_cert_info_free(info);
        info = NULL;
    }
    CHECK_OK(cs_cert_get_info(rsa, &info, &err), &err);
    if (info) {
        CHECK(streq(info->signature_algorithm, "sha256WithRSAEncryption"));
        CHECK(streq(info->key_type, "rsa"));
        CHECK(info->key_curve == NULL);
        CHECK(info->key_bits == 2048);
        cs_cert_info_free(info);
    }
}

static void test_verify(const cs_cert *root, const cs_cert *inter, const cs_cert *leaf,
                        const cs_cert *other)
{
    const cs_cert *roots[] = {root};
    const cs_cert *others[] = {other};
    const cs_cert *chain[] = {inter};
    cs_err err = {0};
    cs_cert_info *info = NULL;
    int64_t not_after = 0;

    CHECK_OK(cs_cert_verify(leaf, chain, 1, roots, 1, NULL, 0, &err), &err);
    CHECK_OK(cs_cert_verify(leaf, chain, 1, roots, 1, "localhost", 0, &err), &err);
    CHECK_OK(cs_cert_verify(leaf, chain, 1, roots, 1, "127.0.0.1", 0, &err), &err);
    CHECK_OK(cs_cert_verify(leaf, chain, 1, roots, 1, "::1", 0, &err), &err);
    CHECK_OK(cs_cert_verify(inter, NULL, 0, roots, 1, NULL, 0, &err), &err);
    CHECK_OK(cs_cert_verify(root, NULL, 0, roots, 1, NULL, 0, &err), &err);
    CHECK(ERR_peek_error() == 0);

    CHECK_FAIL(cs_cert_verify(leaf, chain, 1, roots, 1, "example.com", 0, &err), CS_EVERIFY,
               &err, "mismatch");
    CHECK(strstr(err.msg, "depth 0") && strstr(err.msg, "CN=localhost"));
    CHECK_FAIL(cs_cert_verify(leaf, chain, 1, roots, 1, "10.0.0.1", 0, &err), CS_EVERIFY,
               &err, "mismatch");
    CHECK_FAIL(cs_cert_verify(leaf, chain, 1, roots, 1, "::2", 0, &err), CS_EVERIFY, &err,
               "mismatch");
    CHECK_FAIL(cs_cert_verify(leaf, NULL, 0, roots, 1, "localhost", 0, &err), CS_EVERIFY,
               &err, "unable to get local issuer certificate");
    CHECK(strstr(err.msg, "verify: ") == err.msg);
    CHECK_FAIL(cs_cert_verify(leaf, chain, 1, others, 1, NULL, 0, &err), CS_EVERIFY, &err,
               "depth 1");
    CHECK(ERR_peek_error() == 0);

    /* Anchored at the intermediate: the leaf alone verifies; the unrelated
     * root as anchor, an intermediate as a plain root, or no anchor do not. */
    CHECK_OK(cs_cert_verify_anchored(leaf, NULL, 0, inter, "localhost", 0, &err), &err);
    CHECK_FAIL(cs_cert_verify_anchored(leaf, NULL, 0, inter, "example.com", 0, &err),
               CS_EVERIFY, &err, "mismatch");
    CHECK_FAIL(cs_cert_verify_anchored(leaf, chain, 1, other, NULL, 0, &err), CS_EVERIFY,
               &err, "depth 1");
    CHECK_FAIL(cs_cert_verify(leaf, NULL, 0, chain, 1, NULL, 0, &err), CS_EVERIFY, &err,
               "unable to get issuer certificate");
    CHECK_FAIL(cs_cert_verify_anchored(leaf, NULL, 0, NULL, NULL, 0, &err), CS_EINVAL, &err,
               "no anchor");
    CHECK(ERR_peek_error() == 0);

    CHECK_OK(cs_cert_get_info(leaf, &info, &err), &err);
    if (info) {
        not_after = info->not_after;
        CHECK_OK(cs_cert_verify(leaf, chain, 1, roots, 1, "localhost", info->not_before + 60,
                                &err), &err);
        CHECK_FAIL(cs_cert_verify(leaf, chain, 1, roots, 1, "localhost", not_after + 86400,
                                  &err), CS_EVERIFY, &err, "expired");
        CHECK(strstr(err.msg, "depth 0"));
        CHECK_FAIL(cs_cert_verify(leaf, chain, 1, roots, 1, NULL, info->not_before - 86400,
                                  &err), CS_EVERIFY, &err, "not yet valid");
        cs_cert_info_free(info);
    }

    CHECK_FAIL(cs_cert_verify(leaf, chain, 1, roots, 0, NULL, 0, &err), CS_EINVAL, &err,
               "verify: no trust anchor");
    CHECK_FAIL(cs_cert_verify(leaf, chain, 1, NULL, 0, "localhost", 0, &err), CS_EINVAL, &err,
               "no trust anchor");
    CHECK(cs_cert_verify(leaf, chain, 1, NULL, 0, NULL, 0, NULL) == CS_EINVAL);
    CHECK(cs_cert_verify(leaf, chain, 1, others, 1, NULL, 0, NULL) == CS_EVERIFY);
    CHECK(ERR_peek_error() == 0);
}

/* cs_cert_issued_by: each link of the chain, a wrong order, a look-alike root
 * (same name, other key), self-signatures; and the SHA-1 fingerprint. */
static void test_issued_by(const cs_cert *root, const cs_cert *inter, const cs_cert *leaf,
                           const cs_cert *other)
{
    cs_err err = {0};
    char fp[41], want[128];
    size_t i, j;

    CHECK_OK(cs_cert_issued_by(leaf, inter, &err), &err);
    CHECK_OK(cs_cert_issued_by(inter, root, &err), &err);
    CHECK_OK(cs_cert_issued_by(root, root, &err), &err);
    CHECK_OK(cs_cert_issued_by(other, other, &err), &err);
    CHECK_FAIL(cs_cert_issued_by(inter, leaf, &err), CS_EVERIFY, &err, "issuer mismatch");
    CHECK_FAIL(cs_cert_issued_by(leaf, root, &err), CS_EVERIFY, &err, "mismatch");
    CHECK_FAIL(cs_cert_issued_by(leaf, leaf, &err), CS_EVERIFY, &err, "mismatch");
    /* same subject as root, other key: the AKI tells them apart */
    CHECK(cs_cert_issued_by(inter, other, &err) == CS_EVERIFY);
    CHECK(ERR_peek_error() == 0);

    cs_cert_fingerprint_sha1(leaf, fp);
    CHECK(strlen(fp) == 40);
    CHECK(fx_run_line(want, sizeof want,
                      "openssl x509 -in leaf.crt -noout -fingerprint -sha1 | cut -d= -f2"));
    for (i = 0, j = 0; want[i]; i++) /* "AB:CD:..." to "abcd..." */
        if (want[i] != ':')
            want[j++] = (char)(want[i] >= 'A' && want[i] <= 'F' ? want[i] + 32 : want[i]);
    want[j] = '\0';
    CHECK(strcmp(fp, want) == 0);
}

int main(void)
{
    cs_cert *root = NULL, *inter = NULL, *leaf = NULL, *other = NULL, *ed = NULL, *rsa = NULL;
    if (!fx_mkdtemp("verify"))
        return 1;
    CHECK(make_fixtures());
    root = load("root.crt");
    inter = load("int.crt");
    leaf = load("leaf.crt");
    other = load("other.crt");
    ed = load("ed.crt");
    rsa = load("rsa.crt");
    if (root && inter && leaf && other && ed && rsa) {
        test_info(root, inter, leaf);
        test_info_keys(ed, rsa);
        test_verify(root, inter, leaf, other);
        test_issued_by(root, inter, leaf, other);
    }
    cs_cert_free(rsa);
    cs_cert_free(ed);
    cs_cert_free(other);
    cs_cert_free(leaf);
    cs_cert_free(inter);
    cs_cert_free(root);
    fx_rmdir();
    return CHECK_DONE();
}
