/* The CA database (SQLite): every certificate issued, with the serial allotted
 * in the same transaction that records it. */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdint.h>

#include "cert.h"
#include "error.h"
#include "key.h"

/* An open CA database. Constructor: cs_store_open. Destructor: cs_store_close
 * (NULL is fine). */
typedef struct cs_store cs_store;

/* Open or create the database at path (created 0600, WAL mode, schema
 * versioned; a newer schema than this build knows is CS_EDB). */
CS_NODISCARD cs_code cs_store_open(const char *path, cs_store **out, cs_err *err);
void cs_store_close(cs_store *store);

/* Issue one certificate: in one transaction, allot a random serial unique for
 * the issuer (spec->serial must be NULL), sign with cs_cert_sign, record it
 * (serial, subject, issuer, SANs, not_before, not_after, profile, PEM) and
 * commit. issuer NULL means self-signed. On failure no row was written. */
CS_NODISCARD cs_code cs_store_issue(cs_store *store, const cs_cert_spec *spec,
                                    const cs_key *subject_key, const cs_cert *issuer,
                                    const cs_key *issuer_key, const char *profile,
                                    cs_cert **out, cs_err *err);

/* Bulk mode: between begin and commit, issues share one transaction (one
 * fsync for the batch). A failed issue inside a batch rolls back only itself. */
CS_NODISCARD cs_code cs_store_begin(cs_store *store, cs_err *err);
CS_NODISCARD cs_code cs_store_commit(cs_store *store, cs_err *err);
void cs_store_rollback(cs_store *store);

/* The certificate with this serial (hex, any case, no separators) from the
 * issuer with this subject line (NULL: any issuer). CS_ENOENT if none. */
CS_NODISCARD cs_code cs_store_find(cs_store *store, const char *serial_hex,
                                   const char *issuer, cs_cert **out, char **profile,
                                   cs_err *err);

/* How many certificates are recorded. */
CS_NODISCARD cs_code cs_store_count(cs_store *store, int64_t *out, cs_err *err);

/* The schema version this build writes. */
int cs_store_schema_version(void);

#endif
