/* The CA database on PostgreSQL (core/store_pg.c), against the throwaway
 * cluster tests/e2e/store_pg.sh starts (its URL in CS_PG_URL): issue with
 * and without a batch, serials with the node prefix, find, status, revoke
 * (idempotent, also across two connections), the revoked list, CRL numbers
 * shared by two nodes, journal marks per node, list and count, a lost batch,
 * and the refusals: a bad URL (password not echoed), a newer schema. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "store.h"

static const char *const server_auth[] = {"serverAuth"};

static int64_t count(cs_store *s)
{
    int64_t n = -1;
    cs_err err;

    if (cs_store_count(s, &n, &err) != CS_OK)
        return -1;
    return n;
}

int main(void)
{
    const char *url = getenv("CS_PG_URL");
    cs_err err = {0};
    cs_store *a = NULL, *b = NULL, *bad = NULL;
    cs_key *k = fx_key("ec", "P-256");
    const cs_rdn root_cn[] = {{"CN", "PG Root"}};
    const cs_rdn leaf_cn[] = {{"CN", "a.test"}};
    const cs_name san[] = {{CS_NAME_DNS, "a.test"}};
    cs_cert_spec spec;
    cs_cert *root = NULL, *l1 = NULL, *l2 = NULL, *l3 = NULL, *found = NULL, *again = NULL;
    char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s_other = NULL, *profile = NULL;
    cs_revocation rev;
    cs_revoked *revoked = NULL;
    cs_record *recs = NULL;
    size_t n = 0;
    int64_t num = 0, num2 = 0, t0 = (int64_t)time(NULL);
    int i, mark = -1;

    if (!url || !*url) {
        fprintf(stderr, "CS_PG_URL: unset (run through tests/e2e/store_pg.sh)\n");
        return 1;
    }
    if (!fx_mkdtemp("store-pg") || !k)
        return 1;

    /* Two nodes on one database. */
    CHECK_OK(cs_store_open(url, &a, &err), &err);
    CHECK_OK(cs_store_open(url, &b, &err), &err);
    if (!a || !b)
        goto done;
    CHECK_OK(cs_store_set_node(a, "node-a", &err), &err);
    CHECK_OK(cs_store_set_node(b, "node-b", &err), &err);
    CHECK_FAIL(cs_store_set_node(a, "", &err), CS_EINVAL, &err, "node id");
    CHECK(count(a) == 0);

    /* Issue: self-signed root, then leaves outside a batch (reserve, sign,
     * fill) and inside one. */
    spec = fx_ca_spec(root_cn, 1, -1, 30);
    CHECK_OK(cs_store_issue(a, &spec, k, NULL, k, "root", &root, &err), &err);
    spec = fx_leaf_spec(leaf_cn, 1, server_auth, san, 1, 10);
    CHECK_OK(cs_store_issue(a, &spec, k, root, k, "server", &l1, &err), &err);
    CHECK_OK(cs_store_issue(b, &spec, k, root, k, "server", &l2, &err), &err);
    CHECK_OK(cs_store_begin(b, &err), &err);
    CHECK_OK(cs_store_issue(b, &spec, k, root, k, "client", &l3, &err), &err);
    /* Not visible to the other node before the commit. */
    CHECK(count(a) == 3);
    CHECK_OK(cs_store_commit(b, &err), &err);
    CHECK(count(a) == 4 && count(b) == 4);
    if (!root || !l1 || !l2 || !l3)
        goto done;
    s1 = cs_cert_serial_hex(l1);
    s2 = cs_cert_serial_hex(l2);
    s3 = cs_cert_serial_hex(l3);
    /* 19 octets: 3 of node prefix, 16 random; the prefix is the node's. */
    CHECK(s1 && strlen(s1) == 38 && s2 && strlen(s2) == 38 && s3 && strlen(s3) == 38);
    CHECK(s1 && s2 && strncmp(s1, s2, 6) != 0);
    CHECK(s2 && s3 && strncmp(s2, s3, 6) == 0);
    CHECK(s1 && s2 && strcmp(s1 + 6, s2 + 6) != 0);

    /* A refused certificate (a leaf without SAN fails lint) leaves no
     * reservation behind. */
    {
        cs_cert_spec nosan = fx_leaf_spec(leaf_cn, 1, server_auth, NULL, 0, 10);
        cs_cert *refused = NULL;
        CHECK(cs_store_issue(a, &nosan, k, root, k, "server", &refused, &err) != CS_OK);
        CHECK(refused == NULL);
        CHECK(fx_sh("test \"$(/usr/lib/postgresql/15/bin/psql -X -A -t -d '%s' -c "
                    "\"SELECT count(*) FROM certificates WHERE status = 'pending'\")\" = 0",
                    url));
    }

    /* Find: through the other node, any case; the profile as recorded. */
    CHECK_OK(cs_store_find(b, s1, "CN=PG Root", &found, &profile, &err), &err);
    CHECK(found && cs_cert_not_after(found) == cs_cert_not_after(l1));
    CHECK(profile && strcmp(profile, "server") == 0);
    cs_cert_free(found);
    found = NULL;
    free(profile);
    profile = NULL;
    CHECK_FAIL(cs_store_find(b, "0123ABCD", NULL, &found, NULL, &err), CS_ENOENT, &err,
               "0123ABCD: not in the database");
    CHECK_FAIL(cs_store_find(b, "xyz", NULL, &found, NULL, &err), CS_EINVAL, &err,
               "not a hexadecimal serial");

    /* Status, revoke on node a, status read by node b at once. */
    CHECK_OK(cs_store_status(b, "CN=PG Root", s1, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD && rev.reason == -1);
    CHECK_OK(cs_store_revoke(a, s1, "CN=PG Root", 1, t0, &err), &err);
    CHECK_OK(cs_store_status(b, "CN=PG Root", s1, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_REVOKED && rev.revoked_at == t0 && rev.reason == 1);
    CHECK(rev.not_after == cs_cert_not_after(l1));
    /* Idempotent: the second revocation, from either node, is CS_EEXIST
     * naming the first; nothing changed. */
    CHECK_FAIL(cs_store_revoke(b, s1, NULL, 4, t0 + 100, &err), CS_EEXIST, &err,
               "already revoked at ");
    CHECK(strstr(err.msg, "keyCompromise") != NULL);
    CHECK_OK(cs_store_status(a, NULL, s1, &rev, &err), &err);
    CHECK(rev.revoked_at == t0 && rev.reason == 1);
    CHECK_FAIL(cs_store_revoke(a, s2, NULL, 6, t0, &err), CS_EINVAL, &err, "certificateHold");
    CHECK_FAIL(cs_store_revoke(a, "0123ABCD", NULL, 0, t0, &err), CS_ENOENT, &err,
               "not in the database");
    CHECK_OK(cs_store_status(a, "CN=PG Root", "0123ABCD", &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_UNKNOWN);
    /* Revoked inside a batch, rolled back: still good. */
    CHECK_OK(cs_store_begin(a, &err), &err);
    CHECK_OK(cs_store_revoke(a, s2, NULL, 0, t0, &err), &err);
    cs_store_rollback(a);
    CHECK_OK(cs_store_status(b, NULL, s2, &rev, &err), &err);
    CHECK(rev.status == CS_STATUS_GOOD);
    CHECK_OK(cs_store_revoke(b, s3, NULL, 4, t0 + 1, &err), &err);

    /* The revoked list, oldest first, whoever revoked. */
    CHECK_OK(cs_store_revoked(a, "CN=PG Root", &revoked, &n, &err), &err);
    CHECK(n == 2 && revoked && strcmp(revoked[0].serial_hex, s1) == 0 &&
          strcmp(revoked[1].serial_hex, s3) == 0 && revoked[1].reason == 4);
    free(revoked);
    revoked = NULL;

    /* CRL numbers: one sequence for both nodes, never handed out twice;
     * in a rolled-back batch, handed out again. */
    CHECK_OK(cs_store_next_crl_number(a, "CN=PG Root", &num, &err), &err);
    CHECK(num == 1);
    CHECK_OK(cs_store_next_crl_number(b, "CN=PG Root", &num, &err), &err);
    CHECK(num == 2);
    CHECK_OK(cs_store_begin(a, &err), &err);
    CHECK_OK(cs_store_next_crl_number(a, "CN=PG Root", &num, &err), &err);
    cs_store_rollback(a);
    CHECK_OK(cs_store_next_crl_number(a, "CN=PG Root", &num2, &err), &err);
    CHECK(num == 3 && num2 == 3);

    /* Journal marks: need a batch; visible to all; pruned only by their
     * node, once the file is gone. */
    CHECK_FAIL(cs_store_mark_add(a, "j1", "/nonexistent/j1", &err), CS_EINVAL, &err,
               "needs an open batch");
    CHECK_OK(cs_store_begin(a, &err), &err);
    CHECK_OK(cs_store_mark_add(a, "j1", "/nonexistent/j1", &err), &err);
    CHECK_OK(cs_store_commit(a, &err), &err);
    CHECK_OK(cs_store_mark_find(b, "j1", &mark, &err), &err);
    CHECK(mark == 1);
    CHECK_OK(cs_store_begin(b, &err), &err);
    CHECK_OK(cs_store_mark_prune(b, &err), &err);
    CHECK_OK(cs_store_commit(b, &err), &err);
    CHECK_OK(cs_store_mark_find(b, "j1", &mark, &err), &err);
    CHECK(mark == 1);
    CHECK_OK(cs_store_begin(a, &err), &err);
    CHECK_OK(cs_store_mark_prune(a, &err), &err);
    CHECK_OK(cs_store_commit(a, &err), &err);
    CHECK_OK(cs_store_mark_find(b, "j1", &mark, &err), &err);
    CHECK(mark == 0);

    /* List: filters as SQLite's. */
    {
        cs_store_filter f = {NULL, NULL, NULL, CS_LIST_ANY, t0};
        CHECK_OK(cs_store_list(b, &f, &recs, &n, &err), &err);
        CHECK(n == 4 && recs && strcmp(recs[0].subject, "CN=PG Root") == 0 &&
              strcmp(recs[1].serial_hex, s1) == 0 && recs[1].reason == 1 &&
              recs[1].revoked_at == t0 && recs[2].reason == -1 &&
              strcmp(recs[1].sans, "DNS:a.test") == 0 && strlen(recs[1].fingerprint) == 64);
        cs_store_records_free(recs, n);
        recs = NULL;
        f.status = CS_LIST_REVOKED;
        CHECK_OK(cs_store_list(b, &f, &recs, &n, &err), &err);
        CHECK(n == 2);
        cs_store_records_free(recs, n);
        recs = NULL;
        f.status = CS_LIST_GOOD;
        f.profile = "server";
        f.name = "A.TEST";
        CHECK_OK(cs_store_list(b, &f, &recs, &n, &err), &err);
        CHECK(n == 1 && recs && strcmp(recs[0].serial_hex, s2) == 0);
        cs_store_records_free(recs, n);
        recs = NULL;
        f.status = CS_LIST_EXPIRED;
        f.profile = NULL;
        f.name = NULL;
        f.now = t0 + 86400 * 20;
        CHECK_OK(cs_store_list(b, &f, &recs, &n, &err), &err);
        CHECK(n == 1 && recs && strcmp(recs[0].serial_hex, s2) == 0);
        cs_store_records_free(recs, n);
        recs = NULL;
    }

    /* A batch of many: one commit; a rolled-back batch leaves nothing. */
    CHECK_OK(cs_store_begin(a, &err), &err);
    for (i = 0; i < 50; i++) {
        cs_cert *c = NULL;
        CHECK_OK(cs_store_issue(a, &spec, k, root, k, "server", &c, &err), &err);
        cs_cert_free(c);
    }
    CHECK_OK(cs_store_commit(a, &err), &err);
    CHECK(count(b) == 54);
    CHECK_OK(cs_store_begin(a, &err), &err);
    CHECK_OK(cs_store_issue(a, &spec, k, root, k, "server", &again, &err), &err);
    cs_store_rollback(a);
    CHECK(count(b) == 54);
    if (again) {
        s_other = cs_cert_serial_hex(again);
        CHECK_OK(cs_store_status(b, NULL, s_other, &rev, &err), &err);
        CHECK(rev.status == CS_STATUS_UNKNOWN);
    }
    CHECK_FAIL(cs_store_commit(a, &err), CS_EINVAL, &err, "no batch is open");
    CHECK_FAIL(cs_store_begin(a, &err) == CS_OK ? cs_store_begin(a, &err) : CS_OK, CS_EINVAL,
               &err, "already open");
    cs_store_rollback(a);

    /* Refusals: a database that does not exist (the message names it, not
     * the password); a schema newer than this build. */
    CHECK_FAIL(cs_store_open("postgresql://postgres:s3cret@/nosuchdb?host=/nonexistent",
                             &bad, &err), CS_EDB, &err, "postgresql://postgres@/nosuchdb");
    CHECK(strstr(err.msg, "s3cret") == NULL);
    CHECK(bad == NULL);
    {
        char host[256];
        const char *at = strstr(url, "host=");
        CHECK(at != NULL);
        if (at) {
            snprintf(host, sizeof host, "%s", at + 5);
            host[strcspn(host, "&")] = '\0';
            CHECK(fx_sh("/usr/lib/postgresql/15/bin/psql -X -q -h '%s' -U postgres -d "
                        "chainsmith -c 'INSERT INTO chainsmith_schema VALUES (99)'", host));
            CHECK_FAIL(cs_store_open(url, &bad, &err), CS_EDB, &err,
                       "schema version 99 is newer than this build");
            CHECK(bad == NULL);
        }
    }

done:
    cs_store_records_free(recs, 0);
    free(s_other);
    free(s1);
    free(s2);
    free(s3);
    cs_cert_free(again);
    cs_cert_free(l1);
    cs_cert_free(l2);
    cs_cert_free(l3);
    cs_cert_free(root);
    cs_store_close(a);
    cs_store_close(b);
    cs_key_free(k);
    fx_rmdir();
    return CHECK_DONE();
}
