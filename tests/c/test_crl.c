/* CRLs: signed from the store's revoked entries, read back, checked by
 * openssl and certtool; refusals. And the revocation pointers a certificate
 * can carry: cRLDistributionPoints, authorityInfoAccess, ocsp-nocheck. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "crl.h"
#include "fixtures.h"
#include "store.h"

static const char *const server_auth[] = {"serverAuth"};
static const char *const ocsp_signing[] = {"OCSPSigning"};

/* A root and a leaf with every revocation pointer; checks the info. */
static void extensions(cs_key *k, const cs_cert *root)
{
    static const char *const cdp[] = {"http://localhost:8080/crl/intermediate.crl",
                                      "ldap://ldap.test/cn=CA"};
    static const char *const ocsp[] = {"http://localhost:8080/ocsp"};
    static const char *const issuers[] = {"http://localhost:8080/intermediate.crt"};
    static const char *const bad[] = {"no scheme here"};
    const cs_rdn cn[] = {{"CN", "ocsp.test"}};
    const cs_name san[] = {{CS_NAME_DNS, "ocsp.test"}};
    cs_cert_spec spec = fx_leaf_spec(cn, 1, ocsp_signing, san, 1, 10);
    cs_cert *leaf = NULL, *got = NULL;
    cs_cert_info *info = NULL;
    cs_err err = {0};
    char out[4096];

    spec.crl_distribution_points.uris = cdp;
    spec.crl_distribution_points.len = 2;
    spec.authority_info_access.ocsp = ocsp;
    spec.authority_info_access.ocsp_len = 1;
    spec.authority_info_access.ca_issuers = issuers;
    spec.authority_info_access.ca_issuers_len = 1;
    spec.ocsp_no_check = 1;
    CHECK_OK(cs_cert_sign(&spec, k, root, k, &leaf, &err), &err);
    if (!leaf)
        return;
    CHECK_OK(cs_cert_get_info(leaf, &info, &err), &err);
    if (info) {
        CHECK(info->crl_distribution_points.len == 2 &&
              strcmp(info->crl_distribution_points.uris[0], cdp[0]) == 0 &&
              strcmp(info->crl_distribution_points.uris[1], cdp[1]) == 0);
        CHECK(info->authority_info_access.ocsp_len == 1 &&
              strcmp(info->authority_info_access.ocsp[0], ocsp[0]) == 0);
        CHECK(info->authority_info_access.ca_issuers_len == 1 &&
              strcmp(info->authority_info_access.ca_issuers[0], issuers[0]) == 0);
        CHECK(info->ocsp_no_check == 1);
        cs_cert_info_free(info);
        info = NULL;
    }
    /* What openssl reads in it. */
    fx_save_cert(leaf, "ext.pem", 1);
    CHECK(fx_run(out, sizeof out, "openssl x509 -in ext.pem -noout -ext "
                 "crlDistributionPoints,authorityInfoAccess,noCheck") == 0);
    CHECK(strstr(out, "URI:http://localhost:8080/crl/intermediate.crl") != NULL);
    CHECK(strstr(out, "OCSP - URI:http://localhost:8080/ocsp") != NULL);
    CHECK(strstr(out, "CA Issuers - URI:http://localhost:8080/intermediate.crt") != NULL);
    CHECK(strstr(out, "OCSP No Check") != NULL);
    CHECK(fx_run(out, sizeof out, "certtool -i --infile ext.pem") == 0);
    CHECK(strstr(out, "CRL Distribution points") != NULL);
    CHECK(strstr(out, "Authority Information Access") != NULL);

    /* Absent unless asked for. */
    cs_cert_free(leaf);
    leaf = NULL;
    spec = fx_leaf_spec(cn, 1, server_auth, san, 1, 10);
    CHECK_OK(cs_cert_sign(&spec, k, root, k, &leaf, &err), &err);
    if (leaf && cs_cert_get_info(leaf, &info, &err) == CS_OK) {
        CHECK(info->crl_distribution_points.len == 0 &&
              info->authority_info_access.ocsp_len == 0 && !info->ocsp_no_check);
        cs_cert_info_free(info);
    }

    /* ocsp-nocheck outside an OCSP signer: refused. */
    spec.ocsp_no_check = 1;
    got = NULL;
    CHECK_FAIL(cs_cert_sign(&spec, k, root, k, &got, &err), CS_EINVAL, &err, "OCSPSigning");
    CHECK(got == NULL);
    spec.ocsp_no_check = 0;

    /* A malformed URI is refused, naming the extension. */
    spec.crl_distribution_points.uris = bad;
    spec.crl_distribution_points.len = 1;
    got = NULL;
    CHECK_FAIL(cs_cert_sign(&spec, k, root, k, &got, &err), CS_EINVAL, &err,
               "cRLDistributionPoints");
    CHECK(got == NULL);
    spec.crl_distribution_points.len = 0;
    spec.authority_info_access.ocsp = bad;
    spec.authority_info_access.ocsp_len = 1;
    CHECK_FAIL(cs_cert_sign(&spec, k, root, k, &got, &err), CS_EINVAL, &err,
               "authorityInfoAccess");
    CHECK(got == NULL);
    cs_cert_free(leaf);
}

int main(void)
{
    cs_err err = {0};
    cs_store *s = NULL;
    cs_key *rk = NULL, *lk = NULL, *other = NULL;
    cs_cert *root = NULL, *a = NULL, *b = NULL, *c = NULL, *leafca = NULL;
    cs_crl *crl = NULL, *back = NULL;
    cs_crl_info *info = NULL;
    cs_revoked *list = NULL;
    size_t n = 0;
    int64_t num = 0, now = (int64_t)time(NULL);
    const cs_rdn root_cn[] = {{"CN", "CRL Root"}};
    const cs_rdn leaf_cn[] = {{"CN", "a.test"}};
    const cs_name san[] = {{CS_NAME_DNS, "a.test"}};
    cs_cert_spec spec;
    cs_crl_params p;
    char db[256], out[8192];
    char *sa = NULL, *sb = NULL;

    if (!fx_mkdtemp("crl"))
        return 1;
    fx_path(db, sizeof db, "ca.db");
    rk = fx_key("ec", "P-384");
    lk = fx_key("ec", "P-256");
    other = fx_key("ec", "P-384");
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (!rk || !lk || !other || !s)
        goto done;
    spec = fx_ca_spec(root_cn, 1, -1, 30);
    CHECK_OK(cs_store_issue(s, &spec, rk, NULL, rk, "root", &root, &err), &err);
    spec = fx_leaf_spec(leaf_cn, 1, server_auth, san, 1, 10);
    CHECK_OK(cs_store_issue(s, &spec, lk, root, rk, "server", &a, &err), &err);
    CHECK_OK(cs_store_issue(s, &spec, lk, root, rk, "server", &b, &err), &err);
    CHECK_OK(cs_store_issue(s, &spec, lk, root, rk, "server", &c, &err), &err);
    if (!root || !a || !b || !c)
        goto done;
    extensions(rk, root);
    sa = cs_cert_serial_hex(a);
    sb = cs_cert_serial_hex(b);
    fx_save_cert(root, "root.pem", 0);
    fx_save_cert(a, "a.pem", 0);
    fx_save_cert(b, "b.pem", 0);
    fx_save_cert(c, "c.pem", 0);

    /* a: keyCompromise; b: unspecified (no reasonCode); c stays good. */
    CHECK_OK(cs_store_revoke(s, sa, "CN=CRL Root", 1, now - 10, &err), &err);
    CHECK_OK(cs_store_revoke(s, sb, "CN=CRL Root", 0, now - 5, &err), &err);
    CHECK_OK(cs_store_revoked(s, "CN=CRL Root", &list, &n, &err), &err);
    CHECK_OK(cs_store_next_crl_number(s, "CN=CRL Root", &num, &err), &err);
    CHECK(n == 2 && num == 1);

    memset(&p, 0, sizeof p);
    p.this_update = now;
    p.next_update = now + 7 * 86400;
    p.number = num;
    p.revoked = list;
    p.revoked_len = n;
    CHECK_OK(cs_crl_sign(&p, root, rk, &crl, &err), &err);
    if (!crl)
        goto done;
    CHECK_OK(cs_crl_verify(crl, root, &err), &err);
    CHECK_FAIL(cs_crl_verify(crl, a, &err), CS_EVERIFY, &err, "name");

    /* Read back: everything as signed. */
    CHECK_OK(cs_crl_get_info(crl, &info, &err), &err);
    if (info) {
        size_t i, seen = 0;
        CHECK(info->version == 2);
        CHECK(strcmp(info->issuer, "CN=CRL Root") == 0);
        CHECK(info->this_update == now && info->next_update == now + 7 * 86400);
        CHECK(info->number == 1);
        CHECK(info->authority_key_id && strlen(info->authority_key_id) == 40);
        CHECK(strcmp(info->signature_algorithm, "ecdsa-with-SHA384") == 0);
        CHECK(info->revoked_len == 2);
        for (i = 0; i < info->revoked_len; i++) {
            if (strcmp(info->revoked[i].serial_hex, sa) == 0 && info->revoked[i].reason == 1 &&
                info->revoked[i].revoked_at == now - 10)
                seen++;
            if (strcmp(info->revoked[i].serial_hex, sb) == 0 && info->revoked[i].reason == 0 &&
                info->revoked[i].revoked_at == now - 5)
                seen++;
        }
        CHECK(seen == 2);
        cs_crl_info_free(info);
        info = NULL;
    }

    /* Saved as DER and PEM together; both load back to the same CRL. */
    {
        char der_path[256], pem_path[256];
        unsigned char *d1 = NULL, *d2 = NULL;
        size_t l1 = 0, l2 = 0;
        fx_path(der_path, sizeof der_path, "root.crl");
        fx_path(pem_path, sizeof pem_path, "root.crl.pem");
        CHECK_OK(cs_crl_save(crl, der_path, pem_path, 0, &err), &err);
        CHECK_FAIL(cs_crl_save(crl, der_path, pem_path, 0, &err), CS_EEXIST, &err, "root.crl");
        CHECK_OK(cs_crl_save(crl, der_path, pem_path, 1, &err), &err);
        CHECK_OK(cs_crl_load_file(der_path, &back, &err), &err);
        if (back) {
            CHECK_OK(cs_crl_der(crl, &d1, &l1, &err), &err);
            CHECK_OK(cs_crl_der(back, &d2, &l2, &err), &err);
            CHECK(d1 && d2 && l1 == l2 && memcmp(d1, d2, l1) == 0);
            free(d1);
            free(d2);
            cs_crl_free(back);
            back = NULL;
        }
        CHECK_OK(cs_crl_load_file(pem_path, &back, &err), &err);
        cs_crl_free(back);
        back = NULL;
        CHECK_FAIL(cs_crl_load("junk", 4, "junk.crl", &back, &err), CS_EINVAL, &err,
                   "junk.crl");
        CHECK(back == NULL);
    }

    /* openssl: v2, the number, the reason on a and none on b, and
     * -crl_check rejects a and b but not c. */
    CHECK(fx_run(out, sizeof out, "openssl crl -in root.crl -inform DER -noout -text") == 0);
    CHECK(strstr(out, "Version 2 (0x1)") != NULL);
    CHECK(strstr(out, "X509v3 CRL Number") != NULL);
    CHECK(strstr(out, "X509v3 Authority Key Identifier") != NULL);
    CHECK(strstr(out, "Key Compromise") != NULL);
    CHECK(strstr(out, "Unspecified") == NULL); /* RFC 5280 5.3.1: absent, not unspecified */
    CHECK(fx_run(out, sizeof out, "openssl crl -in root.crl.pem -noout -verify "
                 "-CAfile root.pem 2>&1") == 0);
    CHECK(strstr(out, "verify OK") != NULL);
    CHECK(fx_run(out, sizeof out, "openssl verify -crl_check -CRLfile root.crl.pem "
                 "-CAfile root.pem a.pem 2>&1") != 0);
    CHECK(strstr(out, "certificate revoked") != NULL);
    CHECK(fx_run(out, sizeof out, "openssl verify -crl_check -CRLfile root.crl.pem "
                 "-CAfile root.pem b.pem 2>&1") != 0);
    CHECK(fx_sh("openssl verify -crl_check -CRLfile root.crl.pem -CAfile root.pem c.pem"));
    /* certtool parses it and checks its signature. */
    CHECK(fx_run(out, sizeof out, "certtool --crl-info --infile root.crl.pem") == 0);
    CHECK(strstr(out, "Version: 2") != NULL && strstr(out, "Revoked certificates (2)") != NULL);
    CHECK(fx_run(out, sizeof out, "certtool --verify-crl --load-ca-certificate root.pem "
                 "--infile root.crl.pem 2>&1") == 0);
    CHECK(strstr(out, "Verified") != NULL);

    /* No entries: still a valid CRL. */
    p.revoked = NULL;
    p.revoked_len = 0;
    p.number = 2;
    cs_crl_free(crl);
    crl = NULL;
    CHECK_OK(cs_crl_sign(&p, root, rk, &crl, &err), &err);
    if (crl && cs_crl_get_info(crl, &info, &err) == CS_OK) {
        CHECK(info->revoked_len == 0 && info->number == 2);
        cs_crl_info_free(info);
        info = NULL;
    }

    /* Refusals: nothing made. */
    cs_crl_free(crl);
    crl = NULL;
    p.number = 0;
    CHECK_FAIL(cs_crl_sign(&p, root, rk, &crl, &err), CS_EINVAL, &err, "CRL number 0");
    p.number = 3;
    p.next_update = p.this_update;
    CHECK_FAIL(cs_crl_sign(&p, root, rk, &crl, &err), CS_EINVAL, &err, "nextUpdate");
    p.next_update = now + 86400;
    CHECK_FAIL(cs_crl_sign(&p, root, other, &crl, &err), CS_EMISMATCH, &err, "do not match");
    CHECK_FAIL(cs_crl_sign(&p, a, lk, &crl, &err), CS_EINVAL, &err, "not a CA");
    {
        /* a CA without cRLSign */
        cs_cert_spec no_crl = fx_ca_spec(root_cn, 1, -1, 30);
        no_crl.key_usage.bits = CS_KU_KEY_CERT_SIGN;
        CHECK_OK(cs_cert_sign(&no_crl, rk, NULL, rk, &leafca, &err), &err);
        if (leafca)
            CHECK_FAIL(cs_crl_sign(&p, leafca, rk, &crl, &err), CS_EINVAL, &err, "cRLSign");
    }
    {
        cs_revoked badlist[1];
        memset(badlist, 0, sizeof badlist);
        p.revoked = badlist;
        p.revoked_len = 1;
        snprintf(badlist[0].serial_hex, sizeof badlist[0].serial_hex, "XYZ");
        badlist[0].revoked_at = now;
        CHECK_FAIL(cs_crl_sign(&p, root, rk, &crl, &err), CS_EINVAL, &err, "XYZ");
        snprintf(badlist[0].serial_hex, sizeof badlist[0].serial_hex, "01");
        badlist[0].reason = 6;
        CHECK_FAIL(cs_crl_sign(&p, root, rk, &crl, &err), CS_EINVAL, &err, "reason 6");
    }
    CHECK(crl == NULL);

done:
    free(sa);
    free(sb);
    free(list);
    cs_crl_free(crl);
    cs_cert_free(leafca);
    cs_cert_free(root);
    cs_cert_free(a);
    cs_cert_free(b);
    cs_cert_free(c);
    cs_key_free(rk);
    cs_key_free(lk);
    cs_key_free(other);
    cs_store_close(s);
    fx_rmdir();
    return CHECK_DONE();
}
