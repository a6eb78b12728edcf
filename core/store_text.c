/* The text forms of the stores' rows (store_text.h). */
#include "store_text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void csi_hex_bytes(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t i = 0, o = 0;

    while (i < n && b[i] == 0)
        i++;
    if (i == n) {
        strcpy(out, "00");
        return;
    }
    for (; i < n; i++) {
        out[o++] = digits[b[i] >> 4];
        out[o++] = digits[b[i] & 0x0f];
    }
    out[o] = '\0';
}

int csi_canon_serial(const char *in, char out[CSI_SERIAL_HEX_MAX + 1])
{
    size_t len = strlen(in), skip = 0, rem, o = 0, i;

    if (len == 0)
        return -1;
    for (i = 0; i < len; i++)
        if (!isxdigit((unsigned char)in[i]))
            return -1;
    while (skip < len && in[skip] == '0')
        skip++;
    rem = len - skip;
    if (rem == 0) {
        strcpy(out, "00");
        return 0;
    }
    if (rem > CSI_SERIAL_HEX_MAX)
        return -1;
    if (rem % 2)
        out[o++] = '0';
    for (i = skip; i < len; i++)
        out[o++] = (char)toupper((unsigned char)in[i]);
    out[o] = '\0';
    return 0;
}

char *csi_sans_text(const cs_name *names, size_t n)
{
    size_t i, len = 1;
    char *out, *p;

    for (i = 0; i < n; i++)
        len += strlen(names[i].value) + 8; /* ", " and the longest tag, "email:" */
    out = malloc(len);
    if (!out)
        return NULL;
    p = out;
    *p = '\0';
    for (i = 0; i < n; i++) {
        const cs_name *nm = &names[i];
        const char *tag = nm->type == CS_NAME_DNS     ? "DNS"
                          : nm->type == CS_NAME_IP    ? "IP"
                          : nm->type == CS_NAME_EMAIL ? "email"
                                                      : "URI";
        p += sprintf(p, "%s%s:%s", i ? ", " : "", tag, nm->value);
    }
    return out;
}
