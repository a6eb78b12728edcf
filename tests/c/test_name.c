/* core/name.c: normal forms, wildcards, IDN, IP and CIDR; nameConstraints
 * decisions checked against `openssl verify` on leaves signed for each name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "check.h"
#include "fixtures.h"
#include "key.h"
#include "name.h"

/* want == NULL: must fail with CS_EINVAL and a message containing why. */
static const struct {
    cs_name_type type;
    const char *in;
    unsigned flags;
    const char *want;
    const char *why;
} normal[] = {
    {CS_NAME_DNS, "localhost", 0, "localhost", NULL},
    {CS_NAME_DNS, "WWW.Example.TEST", 0, "www.example.test", NULL},
    {CS_NAME_DNS, "b\xc3\xbc" "cher.test", 0, "xn--bcher-kva.test", NULL},
    {CS_NAME_DNS, "B\xc3\x9c" "CHER.test", 0, "xn--bcher-kva.test", NULL},
    {CS_NAME_DNS, "xn--bcher-kva.test", 0, "xn--bcher-kva.test", NULL},
    {CS_NAME_DNS, "XN--BCHER-KVA.test", 0, "xn--bcher-kva.test", NULL},
    {CS_NAME_DNS, "xn--bcher-kvb.test", 0, NULL, "label 'xn--bcher-kvb': A-label"},
    {CS_NAME_DNS, "xn--abc-.test", 0, NULL, "'xn--abc-'"},
    {CS_NAME_DNS, "a\xe2\x98\x83.test", 0, NULL, "not a valid internationalized name"},
    {CS_NAME_DNS, "a\xff.test", 0, NULL, "'a\\xff.test': control characters and bytes that "
                                          "are not UTF-8 are not allowed"},
    {CS_NAME_DNS, "", 0, NULL, "DNS name '': empty"},
    {CS_NAME_DNS, "a..test", 0, NULL, "label '': empty"},
    {CS_NAME_DNS, "a.test.", 0, NULL, "label '': empty"},
    {CS_NAME_DNS, "-a.test", 0, NULL, "label '-a': starts with '-'"},
    {CS_NAME_DNS, "a-.test", 0, NULL, "label 'a-': ends with '-'"},
    {CS_NAME_DNS, "a_b.test", 0, NULL, "label 'a_b': only letters, digits and '-'"},
    {CS_NAME_DNS, "a b.test", 0, NULL, "label 'a b'"},
    {CS_NAME_DNS, "10.0.0.1", 0, NULL, "use type ip"},
    {CS_NAME_DNS, "*.a.test", CS_NAME_WILDCARD, "*.a.test", NULL},
    {CS_NAME_DNS, "*.B\xc3\xbc" "cher.test", CS_NAME_WILDCARD, "*.xn--bcher-kva.test", NULL},
    {CS_NAME_DNS, "*.a.test", 0, NULL, "'*.a.test': wildcards are not allowed here"},
    {CS_NAME_DNS, "a*.test", CS_NAME_WILDCARD, NULL, "'a*.test': '*' must be the whole"},
    {CS_NAME_DNS, "*a.test", CS_NAME_WILDCARD, NULL, "'*a.test': '*' must be the whole"},
    {CS_NAME_DNS, "a.*.test", CS_NAME_WILDCARD, NULL, "'a.*.test': '*' may only be the left"},
    {CS_NAME_DNS, "*", CS_NAME_WILDCARD, NULL, "'*': '*' alone is not a name"},
    {CS_NAME_DNS, "*.test", CS_NAME_WILDCARD, NULL, "'*.test': a wildcard needs at least two"},
    {CS_NAME_DNS, "*.*.a.test", CS_NAME_WILDCARD, NULL, "'*.*.a.test'"},
    {CS_NAME_IP, "127.0.0.1", 0, "127.0.0.1", NULL},
    {CS_NAME_IP, "::1", 0, "::1", NULL},
    {CS_NAME_IP, "0:0:0:0:0:0:0:1", 0, "::1", NULL},
    {CS_NAME_IP, "2001:DB8:0000:0:1:0:0:1", 0, "2001:db8::1:0:0:1", NULL},
    {CS_NAME_IP, "300.1.1.1", 0, NULL, "IP address '300.1.1.1': not an IPv4 or IPv6"},
    {CS_NAME_IP, "010.1.1.1", 0, NULL, "'010.1.1.1'"},
    {CS_NAME_IP, "1.2.3", 0, NULL, "'1.2.3'"},
    {CS_NAME_IP, "fe80::1%eth0", 0, NULL, "'fe80::1%eth0'"},
    {CS_NAME_IP, "10.0.0.0/8", 0, NULL, "a range, not one address"},
    {CS_NAME_EMAIL, "Ann@Example.TEST", 0, "Ann@example.test", NULL},
    {CS_NAME_EMAIL, "ann@b\xc3\xbc" "cher.test", 0, "ann@xn--bcher-kva.test", NULL},
    {CS_NAME_EMAIL, "\xc3\xa5sa@x.test", 0, NULL, "non-ASCII local part"},
    {CS_NAME_EMAIL, "nobody", 0, NULL, "'nobody': needs local@domain"},
    {CS_NAME_EMAIL, "a@b@x.test", 0, NULL, "more than one '@'"},
    {CS_NAME_EMAIL, "a..b@x.test", 0, NULL, "'.'"},
    {CS_NAME_EMAIL, "a@bad_domain.test", 0, NULL, "domain: DNS name 'bad_domain.test'"},
    {CS_NAME_URI, "HTTPS://x.test/A", 0, "https://x.test/A", NULL},
    {CS_NAME_URI, "spiffe://example.test/ns/a", 0, "spiffe://example.test/ns/a", NULL},
    {CS_NAME_URI, "x.test/path", 0, NULL, "'x.test/path': needs a scheme"},
    {CS_NAME_URI, "https://x.test/\xc3\xa4", 0, NULL, "only printable ASCII"},
    {CS_NAME_URI, "https://x.test/a b", 0, NULL, "only printable ASCII"},
    {CS_NAME_URI, "https:", 0, NULL, "nothing after the scheme"},
};

static void test_normalize(void)
{
    char label[70];
    char name[300];
    cs_err err = {0};
    char *out;

    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++) {
        out = NULL;
        if (normal[i].want) {
            CHECK_OK(cs_name_normalize(normal[i].type, normal[i].in, normal[i].flags, &out, &err),
                     &err);
            CHECK(out && strcmp(out, normal[i].want) == 0);
            if (out && strcmp(out, normal[i].want) != 0)
                fprintf(stderr, "  %s -> %s, want %s\n", normal[i].in, out, normal[i].want);
        } else {
            CHECK_FAIL(cs_name_normalize(normal[i].type, normal[i].in, normal[i].flags, &out,
                                         &err),
                       CS_EINVAL, &err, normal[i].why);
            CHECK(out == NULL);
        }
        free(out);
    }

    /* A NUL inside a name is refused and shown escaped, never cut at (issue 10) */
    CHECK_OK(cs_name_check_text(CS_NAME_DNS, "good.test", 9, &err), &err);
    CHECK_FAIL(cs_name_check_text(CS_NAME_DNS, "good.test\0.evil.com", 19, &err), CS_EINVAL,
               &err, "DNS name 'good.test\\x00.evil.com': control characters");
    out = NULL;
    CHECK_FAIL(cs_name_normalize(CS_NAME_URI, "https://a.test/\x1b[2J", 0, &out, &err),
               CS_EINVAL, &err, "URI 'https://a.test/\\x1b[2J': control characters");
    CHECK(out == NULL);

    /* 63 octets a label, 253 in all */
    memset(label, 'a', 63);
    label[63] = '\0';
    snprintf(name, sizeof name, "%s.test", label);
    out = NULL;
    CHECK_OK(cs_name_normalize(CS_NAME_DNS, name, 0, &out, &err), &err);
    free(out);
    snprintf(name, sizeof name, "a%s.test", label);
    out = NULL;
    CHECK_FAIL(cs_name_normalize(CS_NAME_DNS, name, 0, &out, &err), CS_EINVAL, &err,
               "longer than 63 octets");
    snprintf(name, sizeof name, "%s.%s.%s.%s", label, label, label, label); /* 255 */
    out = NULL;
    CHECK_FAIL(cs_name_normalize(CS_NAME_DNS, name + 1, 0, &out, &err), CS_EINVAL, &err,
               "longer than 253 octets"); /* 254 */
    CHECK(out == NULL);
    CHECK_OK(cs_name_normalize(CS_NAME_DNS, name + 2, 0, &out, &err), &err); /* 253 */
    CHECK(out && strlen(out) == 253);
    free(out);

    CHECK(strcmp(cs_name_type_name(CS_NAME_EMAIL), "email") == 0);
    {
        cs_name_type t = CS_NAME_DNS;
        CHECK(cs_name_type_from_string("uri", &t) && t == CS_NAME_URI);
        CHECK(!cs_name_type_from_string("DNS", &t));
    }
}

static void test_cidr(void)
{
    static const struct {
        const char *ip, *cidr;
        int in;
    } cases[] = {
        {"10.1.2.3", "10.0.0.0/8", 1},    {"11.1.2.3", "10.0.0.0/8", 0},
        {"10.1.2.3", "10.1.2.3", 1},      {"10.1.2.4", "10.1.2.3/32", 0},
        {"192.168.1.200", "192.168.1.128/25", 1}, {"192.168.1.100", "192.168.1.128/25", 0},
        {"1.2.3.4", "0.0.0.0/0", 1},      {"2001:db8::5", "2001:db8::/32", 1},
        {"2001:db9::5", "2001:db8::/32", 0}, {"::1", "::/0", 1},
        {"::1", "0.0.0.0/0", 0},          {"10.0.0.1", "::/0", 0},
        {"::ffff:10.0.0.1", "10.0.0.0/8", 0},
    };
    cs_err err = {0};
    int in;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        in = -1;
        CHECK_OK(cs_ip_in_cidr(cases[i].ip, cases[i].cidr, &in, &err), &err);
        CHECK(in == cases[i].in);
        if (in != cases[i].in)
            fprintf(stderr, "  %s in %s: %d\n", cases[i].ip, cases[i].cidr, in);
    }
    in = -1;
    CHECK_FAIL(cs_ip_in_cidr("10.0.0.x", "10.0.0.0/8", &in, &err), CS_EINVAL, &err,
               "'10.0.0.x'");
    CHECK_FAIL(cs_ip_in_cidr("10.0.0.1", "10.0.0.1/8", &in, &err), CS_EINVAL, &err,
               "'10.0.0.1/8': host bits");
    CHECK_FAIL(cs_ip_in_cidr("10.0.0.1", "10.0.0.0/33", &in, &err), CS_EINVAL, &err,
               "prefix length must be 0 to 32");
    CHECK_FAIL(cs_ip_in_cidr("10.0.0.1", "10.0.0.0/", &in, &err), CS_EINVAL, &err,
               "no prefix length");
    CHECK_FAIL(cs_ip_in_cidr("10.0.0.1", "ten/8", &in, &err), CS_EINVAL, &err,
               "'ten' is not an IPv4 or IPv6 address");
    CHECK(in == -1);
}

/* ---- nameConstraints against openssl verify ---- */

static void test_permits(void)
{
    static const cs_rdn root_dn[] = {{"CN", "Name Test Root"}};
    static const cs_rdn inter_dn[] = {{"CN", "Name Test Constrained CA"}};
    /* No CN in the leaf: OpenSSL would check a host-like CN too. */
    static const cs_rdn leaf_dn[] = {{"O", "Name Test"}};
    static const char *const client_auth[] = {"clientAuth"};
    static const cs_name permitted[] = {
        {CS_NAME_DNS, "test"}, {CS_NAME_DNS, ".sub.example"}, {CS_NAME_IP, "10.0.0.0/8"},
        {CS_NAME_EMAIL, "mail.test"}, {CS_NAME_EMAIL, ".lists.example"},
        {CS_NAME_URI, ".uri.example"}};
    static const cs_name excluded[] = {{CS_NAME_DNS, "bad.test"}, {CS_NAME_IP, "10.9.0.0/16"}};
    static const struct {
        cs_name name;
        int want;
    } cases[] = {
        {{CS_NAME_DNS, "test"}, 1},          {{CS_NAME_DNS, "a.test"}, 1},
        {{CS_NAME_DNS, "b.a.test"}, 1},      {{CS_NAME_DNS, "*.a.test"}, 1},
        {{CS_NAME_DNS, "xtest"}, 0},         {{CS_NAME_DNS, "bad.test"}, 0},
        {{CS_NAME_DNS, "x.bad.test"}, 0},    {{CS_NAME_DNS, "other.example"}, 0},
        {{CS_NAME_DNS, "a.sub.example"}, 1}, {{CS_NAME_DNS, "sub.example"}, 0},
        {{CS_NAME_IP, "10.1.2.3"}, 1},       {{CS_NAME_IP, "10.9.1.1"}, 0},
        {{CS_NAME_IP, "11.0.0.1"}, 0},       {{CS_NAME_IP, "::1"}, 0},
        {{CS_NAME_EMAIL, "u@mail.test"}, 1}, {{CS_NAME_EMAIL, "u@sub.mail.test"}, 0},
        {{CS_NAME_EMAIL, "u@x.lists.example"}, 1}, {{CS_NAME_EMAIL, "u@lists.example"}, 0},
        {{CS_NAME_URI, "https://www.uri.example/x"}, 1},
        {{CS_NAME_URI, "https://uri.example/x"}, 0},
        {{CS_NAME_URI, "https://other.example/"}, 0},
    };
    cs_err err = {0};
    cs_key *rk = fx_key("ec", "P-256"), *ik = fx_key("ec", "P-256");
    cs_key *lk = fx_key("ec", "P-256");
    cs_cert *root = NULL, *inter = NULL, *leaf = NULL;
    cs_cert_spec s;
    const cs_name_constraints trees = {permitted, sizeof permitted / sizeof permitted[0],
                                       excluded, sizeof excluded / sizeof excluded[0]};
    int permitted_ = -1, as_data;

    s = fx_ca_spec(root_dn, 1, -1, 1);
    CHECK_OK(cs_cert_sign(&s, rk, NULL, rk, &root, &err), &err);
    s = fx_ca_spec(inter_dn, 1, -1, 1);
    s.name_constraints.present = 1;
    s.name_constraints.critical = 1;
    s.name_constraints.permitted = permitted;
    s.name_constraints.permitted_len = sizeof permitted / sizeof permitted[0];
    s.name_constraints.excluded = excluded;
    s.name_constraints.excluded_len = sizeof excluded / sizeof excluded[0];
    CHECK_OK(cs_cert_sign(&s, ik, root, rk, &inter, &err), &err);
    if (!root || !inter)
        goto done;
    fx_save_cert(root, "root.pem", 1);
    fx_save_cert(inter, "inter.pem", 1);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cs_name *n = &cases[i].name;
        int verified;
        permitted_ = -1;
        CHECK_OK(cs_cert_permits_name(inter, n->type, n->value, &permitted_, &err), &err);
        CHECK(permitted_ == cases[i].want);
        s = fx_leaf_spec(leaf_dn, 1, client_auth, n, 1, 1);
        leaf = NULL;
        CHECK_OK(cs_cert_sign(&s, lk, inter, ik, &leaf, &err), &err);
        if (!leaf)
            continue;
        fx_save_cert(leaf, "leaf.pem", 1);
        verified = fx_run(NULL, 0, "openssl verify -CAfile root.pem -untrusted inter.pem "
                                   "leaf.pem >/dev/null 2>&1") == 0;
        CHECK(verified == permitted_);
        /* The same lists as data, before any CA carries them: the same answer. */
        as_data = -1;
        CHECK_OK(cs_name_constraints_permit(&trees, n->type, n->value, &as_data, &err), &err);
        CHECK(as_data == permitted_);
        if (verified != permitted_ || permitted_ != cases[i].want || as_data != permitted_)
            fprintf(stderr, "  %s %s: permits %d, as data %d, openssl verify %d, want %d\n",
                    cs_name_type_name(n->type), n->value, permitted_, as_data, verified,
                    cases[i].want);
        cs_cert_free(leaf);
        leaf = NULL;
    }

    /* No nameConstraints: every name. */
    permitted_ = -1;
    CHECK_OK(cs_cert_permits_name(root, CS_NAME_DNS, "anything.example", &permitted_, &err),
             &err);
    CHECK(permitted_ == 1);
    /* Not a name at all: invalid, not "no". */
    permitted_ = -1;
    CHECK_FAIL(cs_cert_permits_name(inter, CS_NAME_IP, "10.0.0.300", &permitted_, &err),
               CS_EINVAL, &err, "'10.0.0.300'");
    CHECK_FAIL(cs_cert_permits_name(inter, CS_NAME_DNS, "a b.test", &permitted_, &err),
               CS_EINVAL, &err, "'a b.test'");
    CHECK(permitted_ == -1);
    CHECK_FAIL(cs_name_constraints_permit(&trees, CS_NAME_IP, "10.0.0.300", &permitted_, &err),
               CS_EINVAL, &err, "'10.0.0.300'");
    CHECK(permitted_ == -1);
done:
    cs_cert_free(leaf);
    cs_cert_free(inter);
    cs_cert_free(root);
    cs_key_free(lk);
    cs_key_free(ik);
    cs_key_free(rk);
}

/* ---- nameConstraints as data: the lists themselves ---- */

static void test_constraints_data(void)
{
    static const cs_name dotted[] = {{CS_NAME_DNS, ".test"}};
    static const cs_name host_bits[] = {{CS_NAME_IP, "10.0.0.1"}};
    static const cs_name no_value[] = {{CS_NAME_DNS, NULL}};
    const cs_name_constraints none = {NULL, 0, NULL, 0};
    const cs_name_constraints under_test = {dotted, 1, NULL, 0};
    const cs_name_constraints only_excluded = {NULL, 0, dotted, 1};
    const cs_name_constraints bad_range = {host_bits, 1, NULL, 0};
    const cs_name_constraints bad_excluded = {NULL, 0, no_value, 1};
    cs_err err = {0};
    int permitted_ = -1;

    /* No subtrees: every valid name, and an invalid one is still invalid. */
    CHECK_OK(cs_name_constraints_permit(&none, CS_NAME_DNS, "x.example", &permitted_, &err),
             &err);
    CHECK(permitted_ == 1);
    permitted_ = -1;
    CHECK_FAIL(cs_name_constraints_permit(&none, CS_NAME_DNS, "a b", &permitted_, &err),
               CS_EINVAL, &err, "'a b'");
    CHECK(permitted_ == -1);
    /* A leading dot: below it, not it. */
    CHECK_OK(cs_name_constraints_permit(&under_test, CS_NAME_DNS, "a.test", &permitted_, &err),
             &err);
    CHECK(permitted_ == 1);
    CHECK_OK(cs_name_constraints_permit(&under_test, CS_NAME_DNS, "test", &permitted_, &err),
             &err);
    CHECK(permitted_ == 0);
    /* Excluded only: the rest passes; a kind no subtree names passes. */
    CHECK_OK(cs_name_constraints_permit(&only_excluded, CS_NAME_DNS, "a.test", &permitted_,
                                        &err), &err);
    CHECK(permitted_ == 0);
    CHECK_OK(cs_name_constraints_permit(&only_excluded, CS_NAME_DNS, "a.example", &permitted_,
                                        &err), &err);
    CHECK(permitted_ == 1);
    CHECK_OK(cs_name_constraints_permit(&under_test, CS_NAME_IP, "192.0.2.1", &permitted_, &err),
             &err);
    CHECK(permitted_ == 1);
    /* Bad lists: invalid, naming the subtree, and *permitted untouched. */
    permitted_ = -1;
    CHECK_FAIL(cs_name_constraints_permit(&bad_range, CS_NAME_IP, "10.0.0.1", &permitted_, &err),
               CS_EINVAL, &err, "range (use a CIDR such as 10.0.0.0/8) '10.0.0.1'");
    CHECK_FAIL(cs_name_constraints_check(&bad_range, &err), CS_EINVAL, &err, "'10.0.0.1'");
    CHECK_FAIL(cs_name_constraints_check(&bad_excluded, &err), CS_EINVAL, &err,
               "name without a value");
    CHECK_OK(cs_name_constraints_check(&under_test, &err), &err);
    CHECK_FAIL(cs_name_constraints_permit(NULL, CS_NAME_DNS, "a.test", &permitted_, &err),
               CS_EINVAL, &err, "none given");
    CHECK(permitted_ == -1);
}

int main(void)
{
    if (!fx_mkdtemp("name"))
        return 1;
    test_normalize();
    test_cidr();
    test_permits();
    test_constraints_data();
    fx_rmdir();
    return CHECK_DONE();
}
