/* The CA database (SQLite, or PostgreSQL for several nodes): every
 * certificate issued, with the serial allotted before it is recorded. */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdint.h>

#include "cert.h"
#include "error.h"
#include "key.h"
#include "template.h"

/* An open CA database. Constructor: cs_store_open. Destructor: cs_store_close
 * (NULL is fine). */
typedef struct cs_store cs_store;

/* Open or create the database at path (created 0600, WAL mode, schema
 * versioned; a newer schema than this build knows is CS_EDB). A path that
 * is a PostgreSQL URL (postgresql://... or postgres://..., libpq's syntax)
 * opens that database instead, creating the tables if they are missing;
 * core/store_pg.c says how its promises differ (serials, pending rows,
 * several nodes). */
CS_NODISCARD cs_code cs_store_open(const char *path, cs_store **out, cs_err *err);
void cs_store_close(cs_store *store);

/* The node id of this process (PostgreSQL only; a SQLite store ignores it):
 * the prefix of the serials it draws and the owner of its journal marks.
 * Default: the host name. 1 to 200 characters, else CS_EINVAL. */
CS_NODISCARD cs_code cs_store_set_node(cs_store *store, const char *node, cs_err *err);

/* Issue one certificate: in one transaction, allot a random serial unique for
 * the issuer (spec->serial must be NULL), sign with cs_cert_sign, record it
 * (serial, subject, issuer, SANs, not_before, not_after, profile, PEM) and
 * commit. issuer NULL means self-signed. On failure no row was written. */
CS_NODISCARD cs_code cs_store_issue(cs_store *store, const cs_cert_spec *spec,
                                    const cs_key *subject_key, const cs_cert *issuer,
                                    const cs_key *issuer_key, const char *profile,
                                    cs_cert **out, cs_err *err);

/* cs_store_issue from a prepared template (template.h): the same
 * transaction, serial, lint and record, with the certificate built as
 * cs_template_sign builds it for req (whose serial must be NULL). */
CS_NODISCARD cs_code cs_store_issue_template(cs_store *store, const cs_template *tpl,
                                             const cs_template_request *req,
                                             const cs_key *subject_key, const char *profile,
                                             cs_cert **out, cs_err *err);

/* Bulk mode: between begin and commit, issues share one transaction (one
 * fsync for the batch). A failed issue inside a batch rolls back only itself.
 * A begin inside a batch nests (SQLite only; PostgreSQL says "already
 * open"): a savepoint whose commit keeps its writes for the outer commit
 * and whose rollback undoes only them, so code that wraps its own work in
 * begin/commit (ca:issue) can run inside a caller's batch. */
CS_NODISCARD cs_code cs_store_begin(cs_store *store, cs_err *err);
CS_NODISCARD cs_code cs_store_commit(cs_store *store, cs_err *err);
void cs_store_rollback(cs_store *store);

/* The certificate with this serial (hex, any case, no separators) from the
 * issuer with this subject line (NULL: any issuer). CS_ENOENT if none. */
CS_NODISCARD cs_code cs_store_find(cs_store *store, const char *serial_hex,
                                   const char *issuer, cs_cert **out, char **profile,
                                   cs_err *err);

/* Revocation (schema 2). RFC 5280 5.3.1 CRLReason codes: 0 unspecified,
 * 1 keyCompromise, 2 cACompromise, 3 affiliationChanged, 4 superseded,
 * 5 cessationOfOperation, 6 certificateHold (refused: we do not do holds),
 * 8 removeFromCRL (refused), 9 privilegeWithdrawn, 10 aACompromise. */
typedef enum cs_cert_status { CS_STATUS_GOOD, CS_STATUS_REVOKED, CS_STATUS_UNKNOWN } cs_cert_status;
typedef struct cs_revocation {
    cs_cert_status status;
    int64_t revoked_at; /* Unix seconds; 0 unless REVOKED */
    int reason;         /* CRLReason code; -1 unless REVOKED */
    int64_t not_after;  /* of the certificate; 0 when UNKNOWN */
} cs_revocation;

/* The reason's RFC 5280 name ("keyCompromise"), or NULL for a code that is
 * unused or refused (6, 7, 8) or out of range. */
const char *cs_crl_reason_name(int code);
/* The code for a name as cs_crl_reason_name spells it (case matters), or -1. */
int cs_crl_reason_code(const char *name);

/* Record that serial (hex, any case) from issuer (its one-line subject; NULL:
 * any issuer, CS_EINVAL if the serial is ambiguous) was revoked at `at` (Unix
 * seconds, > 0) for reason. CS_ENOENT for an unknown serial, CS_EEXIST if
 * already revoked (the message says when and why), CS_EINVAL for a refused or
 * unknown reason. Revocation is final. On failure nothing changed. */
CS_NODISCARD cs_code cs_store_revoke(cs_store *s, const char *serial_hex, const char *issuer,
                                     int reason, int64_t at, cs_err *err);

/* Status of serial from issuer (issuer's one-line subject as stored; NULL:
 * any issuer, CS_EINVAL if ambiguous). An unknown serial is CS_OK with status
 * CS_STATUS_UNKNOWN; a malformed one CS_EINVAL. */
CS_NODISCARD cs_code cs_store_status(cs_store *s, const char *issuer, const char *serial_hex,
                                     cs_revocation *out, cs_err *err);

/* One revoked certificate of an issuer, for its CRL. */
typedef struct cs_revoked {
    char serial_hex[41]; /* upper-case hex, as stored */
    int64_t revoked_at;
    int reason;
    int64_t not_after;
} cs_revoked;

/* Every certificate of issuer (one-line subject) that is revoked, oldest
 * revocation first (expired ones too: the caller decides). *out is an array
 * of *n entries (NULL when none); free it with free(). */
CS_NODISCARD cs_code cs_store_revoked(cs_store *s, const char *issuer, cs_revoked **out,
                                      size_t *n, cs_err *err);

/* The next CRL number of issuer: 1 the first time, then one more than the
 * last. Outside a batch it is committed before it returns, so it is never
 * handed out twice, even if the CRL is never written. Inside a batch it is
 * part of the batch: committed with it, and handed out again if the batch
 * rolls back; so a CRL signed with it must not take its name before the
 * commit (stage its files with cs_journal_stage), or a failed commit would
 * publish a number that the next CRL carries again with other content. */
CS_NODISCARD cs_code cs_store_next_crl_number(cs_store *s, const char *issuer, int64_t *out,
                                              cs_err *err);

/* Journal marks (journal.h): a row naming a journal, written in the batch
 * whose commit makes the journal's files due; for files that go with no
 * new certificate (a CRL, a whole chain). id is the journal's name, path
 * its absolute path. cs_store_mark_add and cs_store_mark_prune need an open
 * batch (CS_EINVAL otherwise); prune removes the marks whose journal file
 * is gone (placed or undone), so the table holds only live ones. */
CS_NODISCARD cs_code cs_store_mark_add(cs_store *s, const char *id, const char *path,
                                       cs_err *err);
CS_NODISCARD cs_code cs_store_mark_find(cs_store *s, const char *id, int *found, cs_err *err);
CS_NODISCARD cs_code cs_store_mark_prune(cs_store *s, cs_err *err);

/* One recorded certificate, as cs_store_list returns it. */
typedef struct cs_record {
    char serial_hex[41]; /* upper-case hex, as stored */
    char *issuer;        /* the issuer's one-line subject */
    char *subject;       /* one line, as stored */
    char *sans;          /* "DNS:localhost, IP:127.0.0.1" ("" when none) */
    char *profile;       /* NULL when none was recorded */
    char *fingerprint;   /* SHA-256 of the DER, lower-case hex */
    int64_t not_before, not_after, issued_at; /* Unix seconds */
    int64_t revoked_at;  /* 0 while not revoked */
    int reason;          /* CRLReason code; -1 while not revoked */
} cs_record;

/* Which records cs_store_list returns: all when every field is 0/NULL.
 * A revoked certificate is REVOKED even once expired; EXPIRED means not
 * revoked and not_after < now; GOOD means neither. */
typedef enum cs_list_status {
    CS_LIST_ANY, CS_LIST_GOOD, CS_LIST_REVOKED, CS_LIST_EXPIRED
} cs_list_status;
typedef struct cs_store_filter {
    const char *issuer;    /* one-line subject, exact; NULL: any */
    const char *profile;   /* exact; NULL: any */
    const char *name;      /* substring of the subject or SANs, ASCII case ignored */
    cs_list_status status;
    int64_t now;           /* Unix seconds, for GOOD and EXPIRED */
} cs_store_filter;

/* The certificates matching filter (NULL: all), in the order they were
 * issued. *out is an array of *n records (NULL when none); free it with
 * cs_store_records_free. On failure *out and *n are untouched. */
CS_NODISCARD cs_code cs_store_list(cs_store *s, const cs_store_filter *filter,
                                   cs_record **out, size_t *n, cs_err *err);
void cs_store_records_free(cs_record *list, size_t n);

/* How many certificates are recorded. */
CS_NODISCARD cs_code cs_store_count(cs_store *store, int64_t *out, cs_err *err);

/* What cs_store_migrate copied. */
typedef struct cs_store_migrated {
    int64_t certificates; /* rows, revoked ones included */
    int64_t revoked;
    int64_t crl_numbers;  /* issuers whose last CRL number was copied */
} cs_store_migrated;

/* Copy the SQLite database at from (read-only, never changed; schema 3)
 * into the empty PostgreSQL database at the URL to, in one transaction:
 * every certificate with its status, revocation and profile, and each
 * issuer's last CRL number (so the next CRL continues the sequence).
 * Refused with nothing copied: a target holding certificates (CS_EEXIST),
 * open journals or rows in tables this build does not copy in the source
 * (CS_EINVAL, naming them), a source missing (CS_ENOENT). */
CS_NODISCARD cs_code cs_store_migrate(const char *from, const char *to, cs_store_migrated *out,
                                      cs_err *err);

/* The schema version this build writes. */
int cs_store_schema_version(void);

#endif
