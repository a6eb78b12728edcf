/* Revocation in the CA database: revoke, status, the revoked list, CRL
 * numbers, refusals, and the migrations of a schema-1 and a schema-3
 * database in place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "store.h"

#ifndef CS_SOURCE_DIR
#error "CS_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

/* The schema-1 fixture's serials (tests/c/data/README.md). */
#define V1_ROOT "244540E407C72FAF27A3E1870E5BE312"
#define V1_INTER "563531C51BB5D19345CDA944DA119641"
#define V1_LEAF "3B93176929A14FF1B5EBBE458EA20F73"
#define V1_ROOT_DN "C=SE, O=Simple Inc, CN=Simple Root CA"
#define V1_INTER_DN "C=SE, O=Simple Inc, CN=Simple Intermediate CA"
/* The schema-3 fixture's (same names). */
#define V3_INTER "58997DC98446EE47BD359BCFB853A3E4"
#define V3_LEAF "30936CDA794FE8DF243F50D1A8826DE2"

static const char *const server_auth[] = {"serverAuth"};

static int64_t count(cs_store *s)
{
    int64_t n = -1;
    cs_err err;

    if (cs_store_count(s, &n, &err) != CS_OK)
        return -1;
    return n;
}

static void reasons(void)
{
    CHECK(strcmp(cs_crl_reason_name(0), "unspecified") == 0);
    CHECK(strcmp(cs_crl_reason_name(1), "keyCompromise") == 0);
    CHECK(strcmp(cs_crl_reason_name(10), "aACompromise") == 0);
    CHECK(cs_crl_reason_name(6) == NULL && cs_crl_reason_name(7) == NULL &&
          cs_crl_reason_name(8) == NULL && cs_crl_reason_name(11) == NULL &&
          cs_crl_reason_name(-1) == NULL);
    CHECK(cs_crl_reason_code("superseded") == 4);
    CHECK(cs_crl_reason_code("privilegeWithdrawn") == 9);
    CHECK(cs_crl_reason_code("certificateHold") == -1);
    CHECK(cs_crl_reason_code("keycompromise") == -1);
    CHECK(cs_crl_reason_code(NULL) == -1);
}

/* A fresh database: a root and two leaves; revoke, status, list, refusals. */
static void fresh(void)
{
    cs_err err = {0};
    cs_store *s = NULL;
    cs_key *k = fx_key("ec", "P-256");
    const cs_rdn root_cn[] = {{"CN", "Revoke Root"}};
    const cs_rdn leaf_cn[] = {{"CN", "a.test"}};
    const cs_name san[] = {{CS_NAME_DNS, "a.test"}};
    cs_cert_spec spec;
    cs_cert *root = NULL, *a = NULL, *b = NULL;
    char db[256], *sa = NULL, *sb = NULL, *sr = NULL;
    cs_revocation rev, before;
    cs_revoked *list = NULL;
    size_t n = 0;
    int64_t num = 0, t0 = (int64_t)time(NULL);

    fx_path(db, sizeof db, "fresh.db");
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (!s || !k)
        goto done;
    spec = fx_ca_spec(root_cn, 1, -1, 30);
    CHECK_OK(cs_store_issue(s, &spec, k, NULL, k, "root", &root, &err), &err);
    spec = fx_leaf_spec(leaf_cn, 1, server_auth, san, 1, 10);
    CHECK_OK(cs_store_issue(s, &spec, k, root, k, "server", &a, &err), &err);
    CHECK_OK(cs_store_issue(s, &spec, k, root, k, "server", &b, &err), &err);
    if (!root || !a || !b)
        goto done;
    sa = cs_cert_serial_hex(a);
    sb = cs_cert_serial_hex(b);
    sr = cs_cert_serial_hex(root);

    /* Good, then revoked. */
    CHECK_OK(cs_store_status(s, "CN=Revoke Root", sa, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD && rev.revoked_at == 0 && rev.reason == -1);
    CHECK(rev.not_after == cs_cert_not_after(a));
    CHECK_OK(cs_store_revoke(s, sa, "CN=Revoke Root", 1, t0, &err), &err);
    CHECK_OK(cs_store_status(s, "CN=Revoke Root", sa, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_REVOKED && rev.revoked_at == t0 && rev.reason == 1);
    /* Lower case and no issuer find the same row. */
    {
        char lower[64];
        size_t i;
        for (i = 0; sa[i] && i + 1 < sizeof lower; i++)
            lower[i] = (char)(sa[i] >= 'A' && sa[i] <= 'F' ? sa[i] + 32 : sa[i]);
        lower[i] = '\0';
        CHECK_OK(cs_store_status(s, NULL, lower, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_REVOKED);
    }
    /* The other leaf is untouched. */
    CHECK_OK(cs_store_status(s, "CN=Revoke Root", sb, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD);

    /* Twice: CS_EEXIST saying when and why, and nothing changed. */
    CHECK_FAIL(cs_store_revoke(s, sa, NULL, 4, t0 + 100, &err), CS_EEXIST, &err,
               "already revoked at ");
    CHECK(strstr(err.msg, "keyCompromise") != NULL);
    CHECK_OK(cs_store_status(s, NULL, sa, &before, &err), &err);
    CHECK(before.revoked_at == t0 && before.reason == 1);

    /* Unknown serial, unknown issuer: CS_ENOENT; status UNKNOWN. */
    CHECK_FAIL(cs_store_revoke(s, "0123ABCD", NULL, 0, t0, &err), CS_ENOENT, &err,
               "0123ABCD: not in the database");
    CHECK_FAIL(cs_store_revoke(s, sb, "CN=Someone Else", 0, t0, &err), CS_ENOENT, &err,
               "CN=Someone Else");
    CHECK_OK(cs_store_status(s, "CN=Revoke Root", "0123ABCD", &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_UNKNOWN);
    CHECK_OK(cs_store_status(s, "CN=Someone Else", sb, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_UNKNOWN);

    /* Refused reasons and bad input: CS_EINVAL, nothing written. */
    CHECK_FAIL(cs_store_revoke(s, sb, NULL, 6, t0, &err), CS_EINVAL, &err, "certificateHold");
    CHECK_FAIL(cs_store_revoke(s, sb, NULL, 8, t0, &err), CS_EINVAL, &err, "removeFromCRL");
    CHECK_FAIL(cs_store_revoke(s, sb, NULL, 7, t0, &err), CS_EINVAL, &err, "reason 7");
    CHECK_FAIL(cs_store_revoke(s, sb, NULL, 11, t0, &err), CS_EINVAL, &err, "reason 11");
    CHECK_FAIL(cs_store_revoke(s, sb, NULL, 0, 0, &err), CS_EINVAL, &err, "time");
    CHECK_FAIL(cs_store_revoke(s, "xyz", NULL, 0, t0, &err), CS_EINVAL, &err, "xyz");
    CHECK_FAIL(cs_store_status(s, NULL, "", &rev, &err), CS_EINVAL, &err, "serial");
    CHECK_OK(cs_store_status(s, NULL, sb, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD);

    /* The list: the one revoked leaf; the root itself is not on its CRL. */
    CHECK_OK(cs_store_revoked(s, "CN=Revoke Root", &list, &n, &err), &err);
    CHECK(n == 1 && list && strcmp(list[0].serial_hex, sa) == 0 &&
          list[0].revoked_at == t0 && list[0].reason == 1 &&
          list[0].not_after == cs_cert_not_after(a));
    free(list);
    list = NULL;
    CHECK_OK(cs_store_revoke(s, sb, NULL, 0, t0 + 1, &err), &err);
    CHECK_OK(cs_store_revoked(s, "CN=Revoke Root", &list, &n, &err), &err);
    CHECK(n == 2 && list && strcmp(list[1].serial_hex, sb) == 0 && list[1].reason == 0);
    free(list);
    list = NULL;
    CHECK_OK(cs_store_revoked(s, "CN=Nobody", &list, &n, &err), &err);
    CHECK(n == 0 && list == NULL);

    /* Inside a batch: the revocation rides the batch's transaction. */
    CHECK_OK(cs_store_begin(s, &err), &err);
    CHECK_OK(cs_store_revoke(s, sr, NULL, 2, t0, &err), &err);
    CHECK_OK(cs_store_status(s, NULL, sr, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_REVOKED);
    cs_store_rollback(s);
    CHECK_OK(cs_store_status(s, NULL, sr, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD);

    /* CRL numbers: 1, 2, 3 per issuer, independent issuers. */
    CHECK_OK(cs_store_next_crl_number(s, "CN=Revoke Root", &num, &err), &err);
    CHECK(num == 1);
    CHECK_OK(cs_store_next_crl_number(s, "CN=Revoke Root", &num, &err), &err);
    CHECK(num == 2);
    CHECK_OK(cs_store_next_crl_number(s, "CN=Other", &num, &err), &err);
    CHECK(num == 1);

    /* Reopened: revocations and numbers persisted. */
    cs_store_close(s);
    s = NULL;
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (!s)
        goto done;
    CHECK_OK(cs_store_status(s, "CN=Revoke Root", sa, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_REVOKED && rev.reason == 1 && rev.revoked_at == t0);
    CHECK_OK(cs_store_next_crl_number(s, "CN=Revoke Root", &num, &err), &err);
    CHECK(num == 3);
    CHECK(count(s) == 3);
done:
    free(sa);
    free(sb);
    free(sr);
    cs_cert_free(root);
    cs_cert_free(a);
    cs_cert_free(b);
    cs_key_free(k);
    cs_store_close(s);
}

/* A database written by the schema-1 store: opened, migrated in place, its
 * rows found, revocable. */
static void migrate(void)
{
    cs_err err = {0};
    cs_store *s = NULL;
    cs_cert *got = NULL;
    char *profile = NULL, out[64];
    cs_revocation rev;
    cs_revoked *list = NULL;
    size_t n = 0;
    int64_t num = 0;

    CHECK(fx_sh("cp '%s/tests/c/data/store-v1.db' v1.db && chmod 600 v1.db", CS_SOURCE_DIR));
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v1.db 'PRAGMA user_version'") &&
          strcmp(out, "1") == 0);
    CHECK_OK(cs_store_open("v1.db", &s, &err), &err);
    if (!s)
        return;
    CHECK(count(s) == 3);
    CHECK_OK(cs_store_find(s, V1_LEAF, V1_INTER_DN, &got, &profile, &err), &err);
    CHECK(profile && strcmp(profile, "server") == 0);
    cs_cert_free(got);
    free(profile);
    CHECK_OK(cs_store_status(s, V1_INTER_DN, V1_LEAF, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD && rev.not_after > 0);
    CHECK_OK(cs_store_revoke(s, V1_INTER, NULL, 2, 1700000000, &err), &err);
    CHECK_OK(cs_store_status(s, V1_ROOT_DN, V1_INTER, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_REVOKED && rev.reason == 2 && rev.revoked_at == 1700000000);
    CHECK_OK(cs_store_revoked(s, V1_ROOT_DN, &list, &n, &err), &err);
    CHECK(n == 1 && list && strcmp(list[0].serial_hex, V1_INTER) == 0);
    free(list);
    CHECK_OK(cs_store_next_crl_number(s, V1_ROOT_DN, &num, &err), &err);
    CHECK(num == 1);
    cs_store_close(s);
    s = NULL;
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v1.db 'PRAGMA user_version'") &&
          strcmp(out, "4") == 0);
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v1.db 'SELECT count(*) FROM journal_marks'") &&
          strcmp(out, "0") == 0);
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v1.db 'SELECT count(*) FROM acme_accounts'") &&
          strcmp(out, "0") == 0);
    /* The same serial from a second issuer (copied in by hand: random serials
     * never collide here): without an issuer it is ambiguous. */
    CHECK(fx_sh("sqlite3 v1.db \"INSERT INTO certificates (issuer, serial, subject, sans, "
                "not_before, not_after, profile, fingerprint, pem, issued_at) SELECT "
                "'CN=Other', serial, subject, sans, not_before, not_after, profile, "
                "fingerprint, pem, issued_at FROM certificates WHERE serial = '%s'\"",
                V1_LEAF));
    /* Opened again: no second migration, the data is there. */
    CHECK_OK(cs_store_open("v1.db", &s, &err), &err);
    if (s) {
        CHECK(count(s) == 4);
        CHECK_OK(cs_store_status(s, NULL, V1_INTER, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_REVOKED);
        CHECK_FAIL(cs_store_revoke(s, V1_LEAF, NULL, 1, 1700000000, &err), CS_EINVAL, &err,
                   "more than one issuer");
        CHECK_FAIL(cs_store_status(s, NULL, V1_LEAF, &rev, &err), CS_EINVAL, &err,
                   "name the issuer");
        CHECK_OK(cs_store_revoke(s, V1_LEAF, "CN=Other", 1, 1700000000, &err), &err);
        CHECK_OK(cs_store_status(s, V1_INTER_DN, V1_LEAF, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_GOOD);
        CHECK_OK(cs_store_status(s, "CN=Other", V1_LEAF, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_REVOKED);
    }
    cs_store_close(s);
}

/* cs_store_list: every record, then each filter; a revoked certificate
 * stays "revoked" once expired; bad filters refused. */
static void listing(void)
{
    cs_err err = {0};
    cs_store *s = NULL;
    cs_key *k = fx_key("ec", "P-256");
    const cs_rdn root_cn[] = {{"CN", "List Root"}};
    const cs_rdn a_cn[] = {{"CN", "a.test"}}, b_cn[] = {{"CN", "B.Test"}};
    const cs_rdn c_cn[] = {{"CN", "old.test"}};
    const cs_name a_san[] = {{CS_NAME_DNS, "a.test"}, {CS_NAME_IP, "10.1.2.3"}};
    const cs_name b_san[] = {{CS_NAME_DNS, "b.test"}};
    const cs_name c_san[] = {{CS_NAME_DNS, "old.test"}};
    cs_cert_spec spec;
    cs_cert *root = NULL, *a = NULL, *b = NULL, *c = NULL;
    cs_store_filter f;
    cs_record *list = NULL;
    char db[256], *sb = NULL;
    size_t n = 0;
    int64_t now = (int64_t)time(NULL);

    fx_path(db, sizeof db, "list.db");
    CHECK_OK(cs_store_open(db, &s, &err), &err);
    if (!s || !k)
        goto done;
    /* empty: no rows, not an error */
    CHECK_OK(cs_store_list(s, NULL, &list, &n, &err), &err);
    CHECK(n == 0 && list == NULL);
    spec = fx_ca_spec(root_cn, 1, -1, 30);
    CHECK_OK(cs_store_issue(s, &spec, k, NULL, k, "root", &root, &err), &err);
    spec = fx_leaf_spec(a_cn, 1, server_auth, a_san, 2, 10);
    CHECK_OK(cs_store_issue(s, &spec, k, root, k, "server", &a, &err), &err);
    spec = fx_leaf_spec(b_cn, 1, server_auth, b_san, 1, 10);
    CHECK_OK(cs_store_issue(s, &spec, k, root, k, "client", &b, &err), &err);
    spec = fx_leaf_spec(c_cn, 1, server_auth, c_san, 1, 10);
    spec.not_before = now - 3 * 86400;
    spec.not_after = now - 86400;
    CHECK_OK(cs_store_issue(s, &spec, k, root, k, "server", &c, &err), &err);
    if (!root || !a || !b || !c)
        goto done;
    sb = cs_cert_serial_hex(b);
    CHECK_OK(cs_store_revoke(s, sb, NULL, 1, now - 10, &err), &err);

    CHECK_OK(cs_store_list(s, NULL, &list, &n, &err), &err);
    CHECK(n == 4);
    if (n == 4) {
        CHECK(strcmp(list[0].profile, "root") == 0 && strcmp(list[0].sans, "") == 0);
        CHECK(strcmp(list[1].subject, "CN=a.test") == 0);
        CHECK(strcmp(list[1].sans, "DNS:a.test, IP:10.1.2.3") == 0);
        CHECK(strcmp(list[1].issuer, "CN=List Root") == 0);
        CHECK(list[1].not_after == cs_cert_not_after(a) && list[1].revoked_at == 0 &&
              list[1].reason == -1 && strlen(list[1].fingerprint) == 64);
        CHECK(strcmp(list[2].serial_hex, sb) == 0 && list[2].revoked_at == now - 10 &&
              list[2].reason == 1);
        CHECK(list[3].not_after == now - 86400);
    }
    cs_store_records_free(list, n);
    list = NULL;

    memset(&f, 0, sizeof f);
    f.now = now;
    f.status = CS_LIST_GOOD; /* root and a */
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 2 && strcmp(list[1].subject, "CN=a.test") == 0);
    cs_store_records_free(list, n);
    f.status = CS_LIST_REVOKED;
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 1 && strcmp(list[0].serial_hex, sb) == 0);
    cs_store_records_free(list, n);
    f.status = CS_LIST_EXPIRED;
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 1 && strcmp(list[0].subject, "CN=old.test") == 0);
    cs_store_records_free(list, n);
    f.status = CS_LIST_ANY;
    f.profile = "server";
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 2);
    cs_store_records_free(list, n);
    f.profile = NULL;
    f.name = "b.TEST"; /* subject or SAN, case ignored */
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 1 && strcmp(list[0].serial_hex, sb) == 0);
    cs_store_records_free(list, n);
    f.name = "10.1.2";
    f.issuer = "CN=List Root";
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 1 && strcmp(list[0].subject, "CN=a.test") == 0);
    cs_store_records_free(list, n);
    f.issuer = "CN=Nobody";
    CHECK_OK(cs_store_list(s, &f, &list, &n, &err), &err);
    CHECK(n == 0 && list == NULL);
    list = NULL;

    /* a bad filter: refused, out untouched */
    f.status = (cs_list_status)7;
    list = (cs_record *)&err;
    n = 99;
    CHECK_FAIL(cs_store_list(s, &f, &list, &n, &err), CS_EINVAL, &err, "status filter");
    CHECK(list == (cs_record *)&err && n == 99);
    list = NULL;
done:
    free(sb);
    cs_cert_free(root);
    cs_cert_free(a);
    cs_cert_free(b);
    cs_cert_free(c);
    cs_key_free(k);
    cs_store_close(s);
}

/* A database written by the schema-3 store (before ACME): migrated to 4 in
 * place, the ACME tables there and empty, the certificates untouched and
 * revocable, and a second open migrates nothing. */
static void migrate_v3(void)
{
    static const char *const tables[] = {"acme_accounts", "acme_orders",
                                         "acme_authorizations", "acme_challenges",
                                         "acme_used_tokens"};
    cs_err err = {0};
    cs_store *s = NULL;
    cs_cert *got = NULL;
    char *profile = NULL, out[256];
    cs_revocation rev;
    size_t i;

    CHECK(fx_sh("cp '%s/tests/c/data/store-v3.db' v3.db && chmod 600 v3.db", CS_SOURCE_DIR));
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v3.db 'PRAGMA user_version'") &&
          strcmp(out, "3") == 0);
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v3.db \"SELECT count(*) FROM sqlite_master "
                      "WHERE name LIKE 'acme%%'\"") && strcmp(out, "0") == 0);
    CHECK_OK(cs_store_open("v3.db", &s, &err), &err);
    if (!s)
        return;
    CHECK(count(s) == 3);
    CHECK_OK(cs_store_find(s, V3_LEAF, V1_INTER_DN, &got, &profile, &err), &err);
    CHECK(profile && strcmp(profile, "server") == 0);
    cs_cert_free(got);
    free(profile);
    cs_store_close(s);
    s = NULL;
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v3.db 'PRAGMA user_version'") &&
          strcmp(out, "4") == 0);
    for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        CHECK(fx_run_line(out, sizeof out, "sqlite3 v3.db 'SELECT count(*) FROM %s'",
                          tables[i]) && strcmp(out, "0") == 0);
    }
    /* the constraints hold: one account per key thumbprint */
    CHECK(fx_sh("sqlite3 v3.db \"INSERT INTO acme_accounts (id, jwk, thumbprint, status, "
                "contact, created) VALUES ('a', '{}', 't', 'valid', '[]', 1)\""));
    CHECK(!fx_sh("sqlite3 v3.db \"INSERT INTO acme_accounts (id, jwk, thumbprint, status, "
                 "contact, created) VALUES ('b', '{}', 't', 'valid', '[]', 1)\" 2>/dev/null"));
    CHECK(fx_sh("sqlite3 v3.db \"DELETE FROM acme_accounts\""));
    /* opened again: still 4, the rows as they were, revocation works */
    CHECK_OK(cs_store_open("v3.db", &s, &err), &err);
    if (s) {
        CHECK(count(s) == 3);
        CHECK_OK(cs_store_revoke(s, V3_LEAF, NULL, 1, 1700000000, &err), &err);
        CHECK_OK(cs_store_status(s, V1_INTER_DN, V3_LEAF, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_REVOKED && rev.reason == 1);
        CHECK_OK(cs_store_status(s, NULL, V3_INTER, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_GOOD);
    }
    cs_store_close(s);
    CHECK(fx_run_line(out, sizeof out, "sqlite3 v3.db 'PRAGMA user_version'") &&
          strcmp(out, "4") == 0);
}

int main(void)
{
    if (!fx_mkdtemp("revoke"))
        return 1;
    CHECK(cs_store_schema_version() == 4);
    reasons();
    fresh();
    listing();
    /* migrate() opens relative paths: run it in the temporary folder. */
    if (chdir(fx_dir) == 0) {
        migrate();
        migrate_v3();
    } else
        CHECK(!"chdir to the temporary folder");
    fx_rmdir();
    return CHECK_DONE();
}
