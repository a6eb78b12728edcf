/* Every byte core writes to disk goes through here: a temporary file in the
 * target's folder, fsync, rename, fsync of the folder. */
#ifndef CS_FILE_H
#define CS_FILE_H

#include <stddef.h>

#include "error.h"

/* Write data to path with the given mode (0600 for keys, 0644 otherwise).
 * An existing path is CS_EEXIST unless overwrite is non-zero. On failure
 * nothing at path changed and no temporary file is left. */
CS_NODISCARD cs_code cs_file_write(const char *path, const void *data, size_t len,
                                   unsigned mode, int overwrite, cs_err *err);

/* Read a whole regular file of at most max bytes. *out is NUL-terminated
 * (not counted in *len); free it with cs_file_free (which wipes it, since it
 * may hold a key). */
CS_NODISCARD cs_code cs_file_read(const char *path, size_t max, char **out, size_t *len,
                                  cs_err *err);
void cs_file_free(char *data, size_t len);

/* Create the folder path and any missing parents, each new one with mode
 * (0700 for a folder that will hold keys). An existing folder is fine. */
CS_NODISCARD cs_code cs_file_mkdir(const char *path, unsigned mode, cs_err *err);

#endif
