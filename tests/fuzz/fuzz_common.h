/* What the libFuzzer targets share: keys that are the same in every run (so
 * seeds made for them stay valid in a saved corpus), a CA and a leaf made
 * with them, and seed files. A failure here is the harness's, not the
 * input's: it aborts. */
#ifndef CS_FUZZ_COMMON_H
#define CS_FUZZ_COMMON_H

#include <stddef.h>

#include "cert.h"
#include "error.h"
#include "key.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Print what failed (and err's message) and abort. */
void fz_die(const char *what, const cs_err *err);

/* A P-256 key whose scalar is SHA-256 of text: a fuzzing key, not a secret. */
cs_key *fz_fixed_key(const char *text);

/* A self-signed CA (keyCertSign, cRLSign, SKI) named cn, valid from a
 * minute ago for a day. */
cs_cert *fz_ca(const cs_key *key, const char *cn);

/* A certificate for key issued by ca: another CA (intermediate = 1) or a
 * server leaf for localhost and 127.0.0.1. */
cs_cert *fz_issue(const cs_key *key, const char *cn, const cs_cert *ca, const cs_key *ca_key,
                  int intermediate);

/* The seed folder CS_FUZZ_SEEDS names, or NULL: harnesses write their seeds
 * there at start (libFuzzer reads its corpus folders after that). */
const char *fz_seed_dir(void);

/* Write len bytes to dir/name. */
void fz_seed(const char *dir, const char *name, const void *data, size_t len);

#endif
