/* Replay nonces (RFC 8555 6.5), in memory: each is a sequence number and
 * a MAC of it under a key made at start, and a bitmap of the last
 * `capacity` numbers says which are still unused. Checking is O(1) with no
 * table to search or grow; a nonce older than the window, one never handed
 * out (the MAC fails) and one used already are all refused alike. Why not
 * in ca.db: acme_internal.h. */
#include "acme_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64url.h"

#define MAC_LEN 16
#define RAW_LEN (8 + MAC_LEN)

struct csi_nonces {
    pthread_mutex_t lock;
    unsigned char key[32];
    uint64_t next;     /* the next sequence number handed out */
    uint64_t capacity; /* a multiple of 64 */
    uint64_t *live;    /* bit seq % capacity: handed out, not used */
};

cs_code csi_nonces_new(size_t capacity, csi_nonces **out, cs_err *err)
{
    csi_nonces *n = calloc(1, sizeof *n);

    if (!n)
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory for nonces");
    n->capacity = ((capacity ? capacity : 65536) + 63) / 64 * 64;
    n->live = calloc(n->capacity / 64, sizeof *n->live);
    if (!n->live) {
        free(n);
        return cs_err_set(err, CS_ENOMEM, "acme: out of memory for nonces");
    }
    if (RAND_bytes(n->key, sizeof n->key) != 1) {
        free(n->live);
        free(n);
        return cs_err_ossl(err, CS_ECRYPTO, "acme: nonce key");
    }
    n->next = 1;
    pthread_mutex_init(&n->lock, NULL);
    *out = n;
    return CS_OK;
}

void csi_nonces_free(csi_nonces *n)
{
    if (!n)
        return;
    OPENSSL_cleanse(n->key, sizeof n->key);
    pthread_mutex_destroy(&n->lock);
    free(n->live);
    free(n);
}

static int mac(const csi_nonces *n, const unsigned char seq[8], unsigned char out[MAC_LEN])
{
    unsigned char full[32];
    size_t len = 0;

    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, n->key, sizeof n->key, seq, 8, full,
                   sizeof full, &len) || len != sizeof full)
        return 0;
    memcpy(out, full, MAC_LEN);
    return 1;
}

cs_code csi_nonce_make(csi_nonces *n, char *out, cs_err *err)
{
    unsigned char raw[RAW_LEN];
    uint64_t seq;
    int i;

    pthread_mutex_lock(&n->lock);
    seq = n->next++;
    /* taking the slot pushes out the nonce capacity numbers older */
    n->live[(seq % n->capacity) / 64] |= (uint64_t)1 << (seq % 64);
    pthread_mutex_unlock(&n->lock);
    for (i = 0; i < 8; i++)
        raw[i] = (unsigned char)(seq >> (56 - 8 * i));
    if (!mac(n, raw, raw + 8))
        return cs_err_ossl(err, CS_ECRYPTO, "acme: nonce MAC");
    cs_b64url_encode_buf(raw, sizeof raw, out);
    out[CSI_NONCE_LEN] = '\0';
    return CS_OK;
}

int csi_nonce_use(csi_nonces *n, const char *nonce)
{
    unsigned char *raw = NULL;
    unsigned char want[MAC_LEN];
    size_t len = 0;
    uint64_t seq = 0, bit;
    int i, ok = 0;

    if (!nonce || strlen(nonce) != CSI_NONCE_LEN ||
        cs_b64url_decode(nonce, CSI_NONCE_LEN, "nonce", &raw, &len, NULL) != CS_OK)
        return 0;
    if (len != RAW_LEN || !mac(n, raw, want) || CRYPTO_memcmp(want, raw + 8, MAC_LEN) != 0)
        goto done;
    for (i = 0; i < 8; i++)
        seq = seq << 8 | raw[i];
    bit = (uint64_t)1 << (seq % 64);
    pthread_mutex_lock(&n->lock);
    if (seq < n->next && n->next - seq <= n->capacity &&
        (n->live[(seq % n->capacity) / 64] & bit)) {
        n->live[(seq % n->capacity) / 64] &= ~bit;
        ok = 1;
    }
    pthread_mutex_unlock(&n->lock);
done:
    free(raw);
    return ok;
}
