/* Strict base64url: one encoding per byte string (see b64url.h). Written by
 * hand because OpenSSL's EVP_DecodeBlock is standard base64, pads, and
 * skips white space. */
#include "b64url.h"

#include <stdlib.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 for a character outside the alphabet. */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t cs_b64url_encode_buf(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

cs_code cs_b64url_encode(const unsigned char *in, size_t len, char **out, cs_err *err)
{
    if (len > (((size_t)-1) - 4) / 4 * 3)
        return cs_err_set(err, CS_ETOOLARGE, "base64url: %zu bytes is too long to encode", len);
    char *s = malloc(CS_B64URL_LEN(len) + 1);
    if (!s)
        return cs_err_set(err, CS_ENOMEM, "base64url: out of memory");
    cs_b64url_encode_buf(in, len, s);
    *out = s;
    return CS_OK;
}

cs_code cs_b64url_decode(const char *in, size_t len, const char *what, unsigned char **out,
                         size_t *out_len, cs_err *err)
{
    if (!what)
        what = "base64url";
    for (size_t i = 0; i < len; i++) {
        if (sextet((unsigned char)in[i]) < 0) {
            unsigned char c = (unsigned char)in[i];
            if (c == '=')
                return cs_err_set(err, CS_EINVAL,
                                  "%s: base64url must not be padded ('=' at offset %zu)", what, i);
            if (c >= 0x21 && c < 0x7f)
                return cs_err_set(err, CS_EINVAL,
                                  "%s: '%c' at offset %zu is not a base64url character", what, c,
                                  i);
            return cs_err_set(err, CS_EINVAL,
                              "%s: byte 0x%02x at offset %zu is not a base64url character", what,
                              c, i);
        }
    }
    if (len % 4 == 1)
        return cs_err_set(err, CS_EINVAL,
                          "%s: base64url length %zu is impossible (1 more than a multiple of 4)",
                          what, len);
    size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    unsigned char *buf = malloc(n + 1);
    if (!buf)
        return cs_err_set(err, CS_ENOMEM, "%s: out of memory", what);
    size_t o = 0;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        unsigned long v = (unsigned long)sextet((unsigned char)in[i]) << 18 |
                          (unsigned long)sextet((unsigned char)in[i + 1]) << 12 |
                          (unsigned long)sextet((unsigned char)in[i + 2]) << 6 |
                          (unsigned long)sextet((unsigned char)in[i + 3]);
        buf[o++] = (unsigned char)(v >> 16);
        buf[o++] = (unsigned char)(v >> 8);
        buf[o++] = (unsigned char)v;
    }
    size_t rest = len - i;
    if (rest) {
        unsigned long v = (unsigned long)sextet((unsigned char)in[i]) << 18 |
                          (unsigned long)sextet((unsigned char)in[i + 1]) << 12;
        if (rest == 3)
            v |= (unsigned long)sextet((unsigned char)in[i + 2]) << 6;
        /* RFC 4648 3.5: the bits past the last whole byte must be zero, or
         * several strings decode to the same bytes. */
        unsigned long unused = rest == 2 ? (v & 0xffff) : (v & 0xff);
        if (unused) {
            free(buf);
            return cs_err_set(err, CS_EINVAL,
                              "%s: base64url has non-zero trailing bits in its last character "
                              "(offset %zu)", what, len - 1);
        }
        buf[o++] = (unsigned char)(v >> 16);
        if (rest == 3)
            buf[o++] = (unsigned char)(v >> 8);
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return CS_OK;
}
