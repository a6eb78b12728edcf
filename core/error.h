/* Error codes and messages shared by every core function. */
#ifndef CS_ERROR_H
#define CS_ERROR_H

#define CS_NODISCARD __attribute__((warn_unused_result))
#define CS_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum cs_code {
    CS_OK = 0,
    CS_EINVAL,     /* malformed input: bad PEM, unknown curve, missing field */
    CS_EEXIST,     /* would overwrite a file or a serial */
    CS_ENOENT,     /* a file or record that is not there */
    CS_EIO,        /* the operating system refused a read or write */
    CS_EMISMATCH,  /* a key that does not belong to its certificate */
    CS_ELINT,      /* a certificate that breaks RFC 5280 */
    CS_EVERIFY,    /* a chain that does not verify */
    CS_EDB,        /* SQLite failed */
    CS_ECRYPTO,    /* OpenSSL failed */
    CS_ENOMEM,
    CS_ESERVER,    /* the HTTPS server could not start: port in use, TLS set-up */
    CS_ELOCKED,    /* an encrypted private key and no passphrase to open it */
    CS_EUNSUPPORTED, /* well-formed, but a kind we refuse: a P-521 or DSA key, BER */
    CS_ETOOLARGE,  /* an input over the size its reader allows */
} cs_code;

/* The last error: a code and a message naming the thing and the problem.
 * Filling it never allocates. */
typedef struct cs_err {
    cs_code code;
    char msg[512];
} cs_err;

/* Stable short name for Lua: "invalid", "exists", "notfound", ... Scripts
 * decide by these names, never by the message, so a name once given is kept. */
const char *cs_code_name(cs_code code);

/* Fill err (which may be NULL) and return code. */
cs_code cs_err_set(cs_err *err, cs_code code, const char *fmt, ...) CS_PRINTF(3, 4);

/* As cs_err_set, then append every reason on OpenSSL's error queue
 * (": reason: reason"), leaving the queue empty. */
cs_code cs_err_ossl(cs_err *err, cs_code code, const char *fmt, ...) CS_PRINTF(3, 4);

#endif
