/* The text forms both stores (store.c on SQLite, store_pg.c on PostgreSQL)
 * write and look up, so that one CA's rows read the same in either: the
 * serial as upper-case hex of whole bytes, and the SAN list. Internal to
 * core: csi_ names. */
#ifndef CS_STORE_TEXT_H
#define CS_STORE_TEXT_H

#include <stddef.h>

#include "cert.h"

#define CSI_SERIAL_HEX_MAX 40 /* RFC 5280 4.1.2.2: at most 20 octets */

/* Whole bytes of a big-endian magnitude as upper-case hex, no leading zero
 * byte ("00" for zero): the stored form (BN_bn2hex's). out holds
 * 2 * n + 3 bytes. */
void csi_hex_bytes(const unsigned char *b, size_t n, char *out);

/* A serial typed by someone ("0a1b", "A1B", "000A1B") in the stored form
 * ("0A1B"): upper case, leading zeros dropped, then one put back to make
 * whole bytes; all zeros is "00". 0, or -1 (out untouched) when in is
 * empty, not hex, or longer than CSI_SERIAL_HEX_MAX digits once its
 * leading zeros are dropped. */
int csi_canon_serial(const char *in, char out[CSI_SERIAL_HEX_MAX + 1]);

/* "DNS:localhost, IP:127.0.0.1, email:a@b.test, URI:https://a.test", in
 * the order given ("" for none); NULL when out of memory. Free with free(). */
char *csi_sans_text(const cs_name *names, size_t n);

#endif
