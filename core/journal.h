/* Files made durable together with a database transaction: the one way
 * core writes what goes with a record (an issuance's key, certificate and
 * chain; a revocation's CRL; a whole chain build).
 *
 * cs_journal_stage runs inside the transaction (the store's open batch): it
 * lists the files in a journal (a small file in the CA's pending folder,
 * fsynced and locked with flock for as long as its process lives), then
 * writes each file to a temporary name beside its target (fsynced). The
 * caller commits; cs_journal_place then gives the files their names (keys
 * last, so a key never has its final name without its certificate) and
 * removes the journal. A process killed at any point leaves either nothing or
 * a journal whose lock died with it: cs_journal_recover completes it when the
 * transaction was committed (the files take their names) and undoes it when
 * not (the temporary files go). No file is ever half-written at its final
 * name.
 *
 * Whether the transaction committed is read from the store: a certificate's
 * journal asks for the certificate's record; a marked journal (no
 * certificate) writes a mark, a row naming the journal, into the
 * transaction (cs_store_mark_add) and asks for it. */
#ifndef CS_JOURNAL_H
#define CS_JOURNAL_H

#include <stddef.h>

#include "cert.h"
#include "error.h"
#include "file.h"
#include "store.h"

/* One staged issuance. Constructor: cs_journal_stage. Destructor:
 * cs_journal_free (NULL is fine; a journal not placed is undone: its
 * temporary files and the journal are removed). */
typedef struct cs_journal cs_journal;

/* Stage files (cs_file_out: path, bytes, mode, overwrite) for cert, whose
 * record store holds in its open, uncommitted transaction; or, cert NULL,
 * for the transaction itself: a mark goes into store's open batch
 * (CS_EINVAL without one), and the marks of journals already gone are
 * removed. dir is the pending folder (created 0700). Journals in dir left by
 * dead processes are recovered first; a live one writing a target we
 * replace is waited for (it is past its commit: placing takes
 * milliseconds). CS_EEXIST if a target exists and may not be replaced, or
 * another live journal is writing it; CS_EINVAL for a path holding a tab or
 * a newline. On failure nothing is left behind (but the mark, in the batch
 * the caller rolls back). */
CS_NODISCARD cs_code cs_journal_stage(const char *dir, cs_store *store, const cs_cert *cert,
                                      const cs_file_out *files, size_t n, cs_journal **out,
                                      cs_err *err);

/* cs_journal_stage, and then remove nremove files (paths) once every file
 * has its name: the form a replaced file had (a key now on a token, or back
 * in a file). Listed in the journal, so recovery forward removes them too;
 * back leaves them. A missing one is fine. CS_EINVAL for an empty name, one
 * with a tab or a line break, or one that is also a file target. */
CS_NODISCARD cs_code cs_journal_stage_removing(const char *dir, cs_store *store,
                                               const cs_cert *cert, const cs_file_out *files,
                                               size_t n, const char *const *removes,
                                               size_t nremove, cs_journal **out,
                                               cs_err *err);

/* After the commit: give each file its name, fsync the folders, remove the
 * files to remove, remove the journal. On failure (a target that appeared
 * from outside chainsmith) the files not yet placed are removed, the key
 * among them, nothing is removed, and the message names the file. */
CS_NODISCARD cs_code cs_journal_place(cs_journal *j, cs_err *err);

void cs_journal_free(cs_journal *j);

#ifdef CS_TEST_HOOKS
/* Test builds only (CMake's test module): sleep us microseconds before each
 * file takes its name, so a kill-loop test lands its kills there. */
void cs_journal_test_delay(long us);
#endif

/* Finish or undo every journal in dir whose process is gone, by whether
 * store records its certificate or its mark. *forward and *back (may be NULL) count
 * them. A missing dir is fine (nothing to do). */
CS_NODISCARD cs_code cs_journal_recover(const char *dir, cs_store *store, size_t *forward,
                                        size_t *back, cs_err *err);

#endif
