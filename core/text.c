/* cs_text_escape: control characters, NULs and broken UTF-8 shown, never
 * acted on (a CN holding ESC [2J must not clear the user's screen). */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Length of the valid UTF-8 sequence at p (at most len bytes): 2 to 4, or 0
 * when it is not one (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p, size_t len)
{
    size_t n, i;
    unsigned long cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* One step of the escaping: what the bytes at p become, in buf (NUL-ended);
 * *used is how many input bytes that was. Returns 1 if it is an escape of
 * something other than a backslash. */
static int step(const unsigned char *p, size_t len, unsigned flags, char buf[8], size_t *used)
{
    size_t n;

    *used = 1;
    if (p[0] == '\\') {
        buf[0] = '\\';
        buf[1] = '\\';
        buf[2] = '\0';
        return 0;
    }
    if (p[0] >= 0x20 && p[0] < 0x7f) {
        buf[0] = (char)p[0];
        buf[1] = '\0';
        return 0;
    }
    n = (flags & CS_TEXT_ASCII) || p[0] < 0x80 ? 0 : utf8_seq(p, len);
    if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) { /* C1: U+0080..U+009F (0x9b is CSI) */
        snprintf(buf, 8, "\\u%04x", (unsigned)p[1]);
        *used = 2;
        return 1;
    }
    if (n > 0) {
        size_t i;
        for (i = 0; i < n; i++)
            buf[i] = (char)p[i];
        buf[n] = '\0';
        *used = n;
        return 0;
    }
    snprintf(buf, 8, "\\x%02x", (unsigned)p[0]);
    return 1;
}

size_t cs_text_escape(const void *p, size_t len, unsigned flags, char *out, size_t size)
{
    const unsigned char *s = p;
    size_t i = 0, need = 0, fill = 0;
    int full = 0;

    while (i < len) {
        char buf[8];
        size_t used, n;
        (void)step(s + i, len - i, flags, buf, &used);
        n = 0;
        while (buf[n])
            n++;
        if (!full && fill + n < size) {
            size_t k;
            for (k = 0; k < n; k++)
                out[fill + k] = buf[k];
            fill += n;
        } else {
            full = 1;
        }
        need += n;
        i += used;
    }
    if (size > 0)
        out[fill] = '\0';
    return need;
}

char *csi_dup_n(const char *s, size_t n)
{
    char *out = malloc(n + 1);

    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

char *cs_text_escape_dup(const void *p, size_t len, unsigned flags)
{
    size_t need = cs_text_escape(p, len, flags, NULL, 0);
    char *s = malloc(need + 1);

    if (s)
        (void)cs_text_escape(p, len, flags, s, need + 1);
    return s;
}

int cs_text_has_control(const void *p, size_t len, unsigned flags)
{
    const unsigned char *s = p;
    size_t i = 0;

    while (i < len) {
        char buf[8];
        size_t used;
        if (step(s + i, len - i, flags, buf, &used))
            return 1;
        i += used;
    }
    return 0;
}

int cs_text_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
