/* Text from certificates, requests and users, made safe to print: one
 * escaping for every message and every field core hands out. */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stddef.h>

/* Flags for cs_text_escape. */
enum {
    CS_TEXT_ASCII = 1 << 0, /* the bytes are ASCII by type (IA5String, ...): escape any >= 0x80 */
};

/* Write p[0..len) to out (size bytes, NUL-terminated when size > 0) with
 * what a terminal would act on escaped: C0 controls, DEL and any byte that
 * is not part of valid UTF-8 as "\xNN", the C1 controls U+0080..U+009F as
 * "\u00NN", the backslash as "\\". Everything else (printable ASCII, valid
 * UTF-8) is copied. An escape is never cut: when out is too small the text
 * stops before it. Returns the length the whole escaped text needs (not
 * counting the NUL), as snprintf does. */
size_t cs_text_escape(const void *p, size_t len, unsigned flags, char *out, size_t size);

/* As cs_text_escape, into a new string; NULL when out of memory. Free with
 * free(). */
char *cs_text_escape_dup(const void *p, size_t len, unsigned flags);

/* Does p[0..len) hold anything cs_text_escape escapes but the backslash (a
 * control character, a NUL, invalid UTF-8)? 1 or 0. */
int cs_text_has_control(const void *p, size_t len, unsigned flags);

/* The value of the hex digit c (either case), or -1: for the percent-decoding
 * of OCSP GET paths and PKCS#11 URIs. */
int cs_text_hex_digit(int c);

#endif
