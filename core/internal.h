/* What core's files share with each other and nobody else; never included
 * by bindings or installed.
 *
 * Names: a function or type shared across core files but not part of the
 * API starts with csi_ ("core internal"): csi_info_rdns, csi_load_pem_der,
 * csi_subject_build, and the server's csi_creds_get (server_internal.h).
 * cs_ is the public API in the core/<unit>.h headers, so a cs_ name is
 * always something bindings may call; file-local functions stay static and
 * unprefixed. The struct layouts below (struct cs_key, struct cs_cert)
 * keep the public type's name. */
#ifndef CS_INTERNAL_H
#define CS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "error.h"
#include "jws.h"
#include "key.h"

struct cs_key {
    EVP_PKEY *pkey;
    int is_private; /* 0: only the public half (from a CSR or an SPKI) */
    /* From a cs_keygen of an EC curve: the curve as an ASN.1-method
     * parameters key, shared by the generator's keys (a reference each), so
     * cs_cert_sign copies the group instead of creating it; else NULL. */
    EVP_PKEY *ec_params;
    /* From a CSR read the fast way: the EC point as the CSR encoded it
     * (malloc), so a certificate's public-key copy need not ask the provider
     * for it (a conversion to affine coordinates, a field inversion: 50 k
     * instructions); else NULL. */
    unsigned char *ec_point;
    size_t ec_point_len;
    int on_token; /* the private half is on a PKCS#11 token (core/hsm.c) */
};

struct cs_cert {
    X509 *x509;
};

/* The private key as unencrypted PKCS#8 PEM in OpenSSL's secure heap; free
 * with OPENSSL_secure_clear_free(*out, *len). what names it in messages. */
cs_code csi_key_private_pem(const cs_key *key, const char *what, char **out, size_t *len,
                           cs_err *err);

/* As csi_key_private_pem, encrypted with passphrase (PKCS#8 PBES2,
 * PBKDF2-HMAC-SHA256, AES-256-CBC: see CS_KEY_PBKDF2_ITER). CS_EINVAL for
 * an empty or NULL passphrase. Free with OPENSSL_secure_clear_free. */
cs_code csi_key_encrypted_pem(const cs_key *key, const char *passphrase, const char *what,
                             char **out, size_t *len, cs_err *err);

/* Take *pkey (set to NULL) into a new cs_key if it is a key we support (as
 * cs_key_load decides); on failure *pkey is untouched. what names it in messages. */
cs_code csi_key_adopt(EVP_PKEY **pkey, const char *what, cs_key **out, cs_err *err);
/* Take *x509 (set to NULL) into a new cs_cert; on failure *x509 is untouched. */
cs_code csi_cert_adopt(X509 **x509, cs_cert **out, cs_err *err);

/* A public-only cs_key holding another reference to pkey, if it is a key we
 * support (cs_key_generate's types); what names the source in messages. */
cs_code csi_key_from_public(EVP_PKEY *pkey, const char *what, cs_key **out, cs_err *err);
/* Keep a copy of key's EC point as encoded (see struct cs_key); a copy of
 * nothing when out of memory, which only costs speed. */
void csi_key_keep_point(cs_key *key, const unsigned char *point, size_t len);

/* A public-only key of the shape p describes (cs_key_generate's params and
 * refusals), made without generating one: the EC curve's generator, the
 * Ed25519 base point, an RSA modulus of p->bits one bits. No one holds a
 * private half: only for linting a certificate that is never signed
 * (cs_cert_lint_spec). In key.c. */
cs_code csi_key_of_shape(const cs_key_params *p, cs_key **out, cs_err *err);
/* The digest a signature by pkey uses (cs_key_digest_name decides with it):
 * "SHA256", "SHA384", NULL for Ed25519 or no key. In key.c. */
const char *csi_pkey_digest_name(const EVP_PKEY *pkey);

/* CS_EINVAL "<what>: public key only, has no private key" unless key holds
 * its private half. */
cs_code csi_key_need_private(const cs_key *key, const char *what, cs_err *err);
/* A named curve ("prime256v1" or "P-256") as an EVP_PKEY of the ASN.1
 * method holding only the parameters (d2i_KeyParams); NULL on failure, with
 * OpenSSL's error queue left as it was. Free with EVP_PKEY_free. In key.c. */
EVP_PKEY *csi_ec_params(const char *group);

/* The n bytes at s as a NUL-terminated string; NULL when out of memory.
 * Free with free(). (text.c) */
char *csi_dup_n(const char *s, size_t n);

/* A subject from its entries, in order: each field one of those a
 * certificate may carry (C, ST, L, O, OU, CN, serialNumber, emailAddress,
 * DC), each value non-empty UTF-8. CS_EINVAL "subject: ..." naming the
 * entry otherwise; *out (free with X509_NAME_free) only on success. For
 * certificates and CSRs alike. Defined in cert.c. */
cs_code csi_subject_build(const cs_rdn *subject, size_t n, X509_NAME **out, cs_err *err);

/* The pieces of cs_cert_sign that a prepared template (template.c) reuses,
 * defined in cert.c. csi_cert_build: the unsigned certificate spec
 * describes (names, key, serial, validity, every extension in its fixed
 * order); the others one step of it each, with cs_cert_sign's messages. */
cs_code csi_cert_build(const cs_cert_spec *spec, const cs_key *subject_key,
                       const cs_cert *issuer, X509 **out, cs_err *err);
cs_code csi_cert_check_issuer(const cs_key *subject_key, const cs_cert *issuer,
                              const cs_key *issuer_key, cs_err *err);
int csi_cert_set_pubkey(X509 *x, const cs_key *key);
cs_code csi_cert_set_serial(X509 *x, const cs_cert_spec *s, cs_err *err);
cs_code csi_cert_set_validity(X509 *x, const cs_cert_spec *s, cs_err *err);
cs_code csi_cert_add_san(X509 *x, const cs_cert_spec *s, cs_err *err);
cs_code csi_cert_add_ext(X509 *x, int nid, void *value, int critical, const char *name,
                         cs_err *err);
/* RFC 5280 4.2.1.2 method (1) key identifier of x's public key; NULL on failure. */
ASN1_OCTET_STRING *csi_cert_key_id(const X509 *x);

/* cs_template_sign, also handing out the certificate's DER (*der, free with
 * OPENSSL_free), which the template writes itself: the CA database records
 * it without encoding the certificate again. In template.c. */
struct cs_template;
struct cs_template_request;
cs_code csi_template_sign_der(const struct cs_template *t,
                              const struct cs_template_request *req, const cs_key *subject_key,
                              cs_cert **out, unsigned char **der, size_t *der_len, cs_err *err);

/* An EC CSR read without OpenSSL's key decoder (csr_parse.c). */
typedef struct csi_csr_parsed {
    X509_REQ *req;           /* its SPKI set as read, without a key object */
    EVP_PKEY *key;           /* the CSR's public key (provider key) */
    EVP_PKEY *ec_params;     /* borrowed: the curve's ASN.1-method parameters */
    const unsigned char *cri; /* the CertificationRequestInfo, within the DER read */
    size_t cri_len;
    int md_nid;              /* the signature's digest */
} csi_csr_parsed;
/* Read the CSR DER at der (len bytes; *used set to the bytes it takes) the
 * fast way: 1 with *out filled (free with csi_csr_parsed_free), or 0 when
 * it is not a CSR this way reads (the caller takes d2i_X509_REQ's), with
 * OpenSSL's error queue as it was. The signature is not checked here. */
int csi_csr_parse(const unsigned char *der, long len, long *used, csi_csr_parsed *out);
void csi_csr_parsed_free(csi_csr_parsed *p);
/* Does sig (no unused bits) verify over tbs with key and the digest md_nid?
 * 1 or 0, the error queue as it was. */
int csi_csr_verify_signed(EVP_PKEY *key, int md_nid, const unsigned char *tbs, size_t tbs_len,
                          const ASN1_BIT_STRING *sig);

/* Certificates as concatenated PEM; free with free(). */
cs_code csi_cert_chain_pem(const cs_cert *const *certs, size_t n, const char *what, char **out,
                          size_t *len, cs_err *err);

/* ---- PEM and DER in and out, defined in codec.c ---- */

/* What every loader checks first: CS_EINVAL "<what>: no data" when data or
 * out (the caller's out-parameter) is NULL, "<what>: too large" past INT_MAX. */
cs_code csi_load_check(const char *data, size_t len, const void *out, const char *what,
                      cs_err *err);

/* The pem_password_cb for every PEM read that has no passphrase to give:
 * it never prompts (OpenSSL's default asks on the terminal and waits, for
 * an encrypted key and for any PEM with "Proc-Type: 4,ENCRYPTED") and stops
 * the decoding. The library never reads the terminal. */
int csi_pem_no_prompt(char *buf, int size, int rwflag, void *u);

/* How csi_load_pem_der reads one kind of object. */
typedef struct csi_pem_der {
    /* Decode from the PEM in bio, or (bio NULL) from the DER at *der, len
     * bytes, advancing *der (d2i's contract); NULL when it does not parse. */
    void *(*decode)(BIO *bio, const unsigned char **der, long len, void *arg);
    const char *der;      /* "the DER CSR": "<what>: trailing bytes after <der>" */
    const char *not_this; /* "not a PEM or DER CSR": "<what>: <not_this>" */
} csi_pem_der;

/* After csi_load_check (out is the caller's out-parameter), decode data as
 * PEM if it holds "-----BEGIN", else as DER that must fill all len bytes.
 * arg goes to fmt->decode. *obj is
 * what was decoded or NULL, the caller's to free whatever the result (after
 * trailing bytes it is set and the result is CS_EINVAL). OpenSSL's reasons
 * for a failed decode end up in the message, leaving the queue empty. */
cs_code csi_load_pem_der(const char *data, size_t len, const void *out, const char *what,
                        const csi_pem_der *fmt, void *arg, void **obj, cs_err *err);

/* val (of ASN.1 type it, e.g. ASN1_ITEM_rptr(X509)) as DER in a buffer to
 * free with free(); CS_ECRYPTO "<what>: encoding DER" or CS_ENOMEM. */
cs_code csi_der_encode(const void *val, const ASN1_ITEM *it, const char *what,
                      unsigned char **out, size_t *len, cs_err *err);

/* What write (a PEM_write_bio_* adapter) writes of obj, as csi_bio_copy
 * returns it; CS_ECRYPTO with the message fail when writing fails. */
cs_code csi_pem_encode(int (*write)(BIO *bio, const void *obj), const void *obj,
                      const char *what, const char *fail, char **out, size_t *len,
                      cs_err *err);

/* The bytes of a memory BIO, copied and NUL-terminated; free with free().
 * what names the thing in messages. */
cs_code csi_bio_copy(BIO *bio, const char *what, char **out, size_t *len, cs_err *err);

/* A name as one line in certificate order, "C=SE, O=Simple Inc, CN=x";
 * free with free(); NULL when out of memory. Defined in info.c. */
char *csi_name_oneline(const X509_NAME *name);

/* A SQLite busy handler's step: *since is when the wait began (set at
 * tries == 0); 0 once limit_ms have passed since, else 1 after a nap of
 * nap_us. Defined in store.c. */
int csi_busy_nap(struct timespec *since, int tries, long limit_ms, long nap_us);

/* Milliseconds on CLOCK_MONOTONIC. Defined in acme_validate.c. */
int64_t csi_now_ms(void);

/* n bytes as lower-case hex into out (2 * n + 1 bytes). */
static inline void csi_hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* Does data (not NUL-terminated) contain needle? */
static inline int csi_mem_contains(const char *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

/* file.c's pieces the issuance journal (journal.c) writes with too. */
int csi_write_all(int fd, const void *data, size_t len);
/* fsync the folder holding path: a name made or removed there is durable. */
void csi_sync_dir_of(const char *path);
/* CS_EEXIST "PATH: exists, not overwritten". */
cs_code csi_file_exists_error(const char *path, cs_err *err);
/* Write len bytes to the new file tmp (O_EXCL), mode exactly mode; path
 * names it in messages. Not yet fsynced: csi_file_sync_temps does that for
 * all the files written together. On failure tmp is removed. */
CS_NODISCARD cs_code csi_file_write_temp(const char *path, const char *tmp, const void *data,
                                        size_t len, unsigned mode, cs_err *err);
/* fsync the file tmp written by csi_file_write_temp (path names it in
 * messages). Callers write all the files of one change first and sync them
 * after: the first fsync then carries every file's data in one flush of the
 * filesystem's journal (ext4), where a sync after each write waited for one
 * flush per file; each file is still fsynced, whatever the filesystem. */
CS_NODISCARD cs_code csi_file_sync_temp(const char *path, const char *tmp, cs_err *err);

/* What cs_cert_get_info reads, for csr.c too. Defined in info.c; each
 * returns 0 when out of memory (what was filled so far is still freeable). */
int csi_info_rdns(const X509_NAME *name, cs_rdn **out, size_t *len);
int csi_info_general_names(const GENERAL_NAMES *gens, cs_name **out, size_t *len);
char *csi_info_obj_name(const ASN1_OBJECT *obj); /* short name or dotted OID; free() */
void csi_info_free_rdns(cs_rdn *rdns, size_t len);
/* One extension read from a list (a certificate's, or a CSR's request), as
 * cs_cert_info and cs_csr_info hold it: 1 read (absent: *present stays 0),
 * 0 out of memory (what was filled so far is still freeable), -1 it does
 * not parse or appears twice. Defined in info.c. */
int csi_info_key_usage(const STACK_OF(X509_EXTENSION) *exts, int *present, int *critical,
                      unsigned *bits);
int csi_info_ext_key_usage(const STACK_OF(X509_EXTENSION) *exts, int *present, int *critical,
                          char ***purposes, size_t *len);
/* Every extension's short name or dotted OID, in order; 1, or 0 when out of
 * memory (what was filled so far is still freeable). */
int csi_info_ext_names(const STACK_OF(X509_EXTENSION) *exts, char ***names, size_t *len);
/* The subjectAltName entries of x, as cs_name with owned strings (as in
 * cs_cert_info); *out NULL and *len 0 when there is none. CS_EINVAL when
 * the extension does not parse, CS_ENOMEM. Free with csi_names_free.
 * Defined in info.c. */
cs_code csi_cert_san_names(const X509 *x, cs_name **out, size_t *len);
void csi_names_free(cs_name *names, size_t len);

/* An ASN1_TIME as Unix seconds, whatever the local zone; 0 if unreadable.
 * Defined in info.c. */
int csi_asn1_time_unix(const ASN1_TIME *t, int64_t *out);

/* A JWK already parsed by jansson (a json_t object) to a public-only key:
 * cs_jwk_from_json without the text, for the "jwk" in a JWS header (jws.c).
 * Defined in jwk.c. */
struct json_t;
cs_code csi_jwk_from_object(const struct json_t *jwk, cs_key **out, cs_jws_fault *fault,
                            cs_err *err);

#endif
