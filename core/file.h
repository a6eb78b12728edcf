/* Every byte core writes to disk goes through here: a temporary file in the
 * target's folder, fsync, rename, fsync of the folder. */
#ifndef CS_FILE_H
#define CS_FILE_H

#include <stddef.h>

#include "error.h"

/* One file to write: its bytes, its mode (0600 for keys, 0644 otherwise),
 * and whether an existing file may be replaced. */
typedef struct cs_file_out {
    const char *path;
    const void *data;
    size_t len;
    unsigned mode;
    int overwrite;
} cs_file_out;

/* Write several files as one step. Every file is written to a temporary
 * file beside it and fsynced; only when all are on disk do they take their
 * names (rename, or link when not overwriting, so a file that appeared
 * meanwhile is not replaced); then each folder is fsynced once. An existing
 * file without overwrite is CS_EEXIST before anything is written. On failure
 * no temporary file is left and no target changed, unless a rename itself
 * fails part-way (the message then says which files were replaced). */
CS_NODISCARD cs_code cs_file_write_all(const cs_file_out *files, size_t n, cs_err *err);

/* cs_file_write_all for one file. */
CS_NODISCARD cs_code cs_file_write(const char *path, const void *data, size_t len,
                                   unsigned mode, int overwrite, cs_err *err);

/* Read a whole regular file of at most max bytes; anything else (a FIFO, a
 * device such as /dev/zero, a folder) is CS_EINVAL "not a regular file",
 * at once, never blocking. *out is NUL-terminated
 * (not counted in *len); free it with cs_file_free (which wipes it, since it
 * may hold a key). */
CS_NODISCARD cs_code cs_file_read(const char *path, size_t max, char **out, size_t *len,
                                  cs_err *err);
void cs_file_free(char *data, size_t len);

/* Create the folder path and any missing parents, each new one with mode
 * (0700 for a folder that will hold keys). An existing folder is fine. */
CS_NODISCARD cs_code cs_file_mkdir(const char *path, unsigned mode, cs_err *err);

#endif
