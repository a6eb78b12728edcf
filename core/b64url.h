/* Strict base64url (RFC 4648 section 5, as RFC 7515 section 2 uses it for
 * JOSE): the URL-safe alphabet, no padding, no white space, and the unused
 * low bits of the last character zero, so every byte string has exactly one
 * encoding and a signature or thumbprint cannot be re-spelled. */
#ifndef CS_B64URL_H
#define CS_B64URL_H

#include <stddef.h>

#include "error.h"

/* Characters (without the NUL) that n bytes encode to. */
#define CS_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Encode len bytes into out, which has room for CS_B64URL_LEN(len) + 1
 * characters; NUL-terminated. Returns the characters written (no NUL). */
size_t cs_b64url_encode_buf(const unsigned char *in, size_t len, char *out);

/* Encode len bytes as a new NUL-terminated string; free with free(). */
CS_NODISCARD cs_code cs_b64url_encode(const unsigned char *in, size_t len, char **out,
                                      cs_err *err);

/* Decode len characters of in. Refused with CS_EINVAL, the message naming
 * what and the offset: '=' padding, any character outside [A-Za-z0-9_-]
 * (white space, '+', '/', NUL), a length of 1 modulo 4 (no byte string
 * encodes to that), and non-zero unused bits in the last character. The
 * empty string decodes to 0 bytes. *out is a new buffer of *out_len bytes
 * plus a NUL after them (so a decoded text can be read as a C string); free
 * with free(). what names the input in messages ("protected", "signature"). */
CS_NODISCARD cs_code cs_b64url_decode(const char *in, size_t len, const char *what,
                                      unsigned char **out, size_t *out_len, cs_err *err);

#endif
