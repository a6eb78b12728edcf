/* Keys, certificates and CRLs written to disk together, as one step: a new
 * key and its certificate never exist on disk one without the other. */
#ifndef CS_FILESET_H
#define CS_FILESET_H

#include <stddef.h>

#include "cert.h"
#include "crl.h"
#include "error.h"
#include "file.h"
#include "key.h"

/* Files waiting to be written. Constructor: cs_fileset_new. Destructor:
 * cs_fileset_free (NULL is fine; wipes the encoded keys). */
typedef struct cs_fileset cs_fileset;

CS_NODISCARD cs_code cs_fileset_new(cs_fileset **out, cs_err *err);
void cs_fileset_free(cs_fileset *fs);

/* Add key as PKCS#8 PEM, mode 0600, encoded now: unencrypted when
 * passphrase is NULL, else encrypted with it (cs_key_save_encrypted's form;
 * CS_EINVAL for an empty one). */
CS_NODISCARD cs_code cs_fileset_add_key(cs_fileset *fs, const cs_key *key,
                                        const char *passphrase, const char *path,
                                        int overwrite, cs_err *err);
/* Add certs as concatenated PEM (a chain file: leaf first), mode 0644. */
CS_NODISCARD cs_code cs_fileset_add_certs(cs_fileset *fs, const cs_cert *const *certs,
                                          size_t n, const char *path, int overwrite,
                                          cs_err *err);

/* Add crl as DER (pem 0) or PEM (pem 1), mode 0644. */
CS_NODISCARD cs_code cs_fileset_add_crl(cs_fileset *fs, const cs_crl *crl, int pem,
                                        const char *path, int overwrite, cs_err *err);

/* Add a copy of len bytes of data (a manifest, any public text), mode 0644. */
CS_NODISCARD cs_code cs_fileset_add_data(cs_fileset *fs, const void *data, size_t len,
                                         const char *path, int overwrite, cs_err *err);

/* Write every file added, through cs_file_write_all: all temporary files are
 * on disk before any takes its name. */
CS_NODISCARD cs_code cs_fileset_write(cs_fileset *fs, cs_err *err);

/* The files added so far (path, encoded bytes, mode, overwrite), borrowed
 * until the next add or cs_fileset_free: what cs_journal_stage writes. */
const cs_file_out *cs_fileset_files(const cs_fileset *fs, size_t *n);

#endif
