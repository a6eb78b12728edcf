/* The files of one issuance, made durable together with its database record.
 *
 * cs_journal_stage runs inside the transaction that records the certificate:
 * it lists the files in a journal (a small file in the CA's pending folder,
 * fsynced and locked with flock for as long as its process lives), then
 * writes each file to a temporary name beside its target (fsynced). The
 * caller commits; cs_journal_place then gives the files their names (keys
 * last, so a key never has its final name without its certificate) and
 * removes the journal. A process killed at any point leaves either nothing or
 * a journal whose lock died with it: cs_journal_recover completes it when the
 * record was committed (the files take their names) and undoes it when not
 * (the temporary files go). No file is ever half-written at its final name. */
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
 * record store holds in its open, uncommitted transaction. dir is the
 * pending folder (created 0700). Journals in dir left by dead processes are
 * recovered first. CS_EEXIST if a target exists and may not be replaced, or
 * another live issuance is writing it; CS_EINVAL for a path holding a tab
 * or a newline. On failure nothing is left behind. */
CS_NODISCARD cs_code cs_journal_stage(const char *dir, cs_store *store, const cs_cert *cert,
                                      const cs_file_out *files, size_t n, cs_journal **out,
                                      cs_err *err);

/* After the commit: give each file its name, fsync the folders, remove the
 * journal. On failure (a target that appeared from outside chainsmith) the
 * files not yet placed are removed, the key among them, and the message
 * names the file. */
CS_NODISCARD cs_code cs_journal_place(cs_journal *j, cs_err *err);

void cs_journal_free(cs_journal *j);

/* Finish or undo every journal in dir whose process is gone, by whether
 * store records its certificate. *forward and *back (may be NULL) count
 * them. A missing dir is fine (nothing to do). */
CS_NODISCARD cs_code cs_journal_recover(const char *dir, cs_store *store, size_t *forward,
                                        size_t *back, cs_err *err);

#endif
