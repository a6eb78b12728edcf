/* CA keys on a PKCS#11 token: the one file that knows how OpenSSL reaches
 * one, and the only one allowed the deprecated ENGINE API.
 *
 * Routes: OpenSSL 3's own is OSSL_STORE through the pkcs11 provider; Debian
 * 12 does not package it, so where it is not installed the key comes
 * through libp11's engine (libengine-pkcs11-openssl), which issue 13 sanctions.
 * Both are chosen here and nowhere else. What neither does, generating a key
 * on the token and telling a wrong PIN from a missing object, is done by
 * calling the module itself (PKCS#11 C_* functions, p11-kit's pkcs11.h).
 *
 * Concurrency: libp11 (0.4.11 on) keeps a pool of sessions per slot, so
 * threads do not share one session; the OCSP responder serializes its
 * signatures with a token key anyway (cs_key_on_token), one lock per key. */

/* The ENGINE API is deprecated in OpenSSL 3; this file alone uses it (see
 * above), so it alone is built with the deprecated declarations visible. */
#undef OPENSSL_NO_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED

#include "hsm.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>

#include <p11-kit/pkcs11.h>

#include "internal.h"
#include "text.h"

#define LABEL_MAX 255

/* What a pkcs11: URI says that we use (RFC 7512: path attributes after the
 * scheme, separated by ';'; query attributes after '?', by '&'). */
struct p11_uri {
    char token[LABEL_MAX + 1];
    char object[LABEL_MAX + 1];
    char module[4096];
};

/* Percent-decode s[0..n) into out (size cap); 0, or -1 when malformed or too long. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? cs_text_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? cs_text_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int cs_hsm_is_uri(const char *s)
{
    return s && strncmp(s, "pkcs11:", 7) == 0;
}

/* One attribute name=value of uri (query: after '?'). */
static cs_code take_attr(struct p11_uri *u, const char *a, size_t n, int query, cs_err *err)
{
    const char *eq = memchr(a, '=', n);
    size_t k = eq ? (size_t)(eq - a) : n;
    char *dst = NULL;
    size_t cap = 0;

    if (!eq || k == 0)
        return cs_err_set(err, CS_EINVAL, "pkcs11 URI: '%.*s' is not name=value", (int)n, a);
    if ((k == 9 && memcmp(a, "pin-value", 9) == 0) || (k == 10 && memcmp(a, "pin-source", 10) == 0))
        return cs_err_set(err, CS_EINVAL,
                          "pkcs11 URI: %.*s: a PIN never goes in the URI, which is seen on "
                          "command lines and in files; give it with --pin-env VAR or --pin-file "
                          "FILE (Lua: {pin = ...})", (int)k, a);
    if (!query && k == 5 && memcmp(a, "token", 5) == 0)
        dst = u->token, cap = sizeof u->token;
    else if (!query && k == 6 && memcmp(a, "object", 6) == 0)
        dst = u->object, cap = sizeof u->object;
    else if (query && k == 11 && memcmp(a, "module-path", 11) == 0)
        dst = u->module, cap = sizeof u->module;
    else if (!query && k == 4 && memcmp(a, "type", 4) == 0)
        return CS_OK; /* the key we want is the private one whatever it says */
    else
        return cs_err_set(err, CS_EINVAL,
                          "pkcs11 URI: unsupported attribute '%.*s' (use token=, object= and "
                          "?module-path=)", (int)k, a);
    if (decode(eq + 1, n - k - 1, dst, cap) != 0 || !*dst)
        return cs_err_set(err, CS_EINVAL, "pkcs11 URI: %.*s: bad or empty value", (int)k, a);
    return CS_OK;
}

static cs_code parse_uri(const char *uri, struct p11_uri *u, cs_err *err)
{
    const char *p, *end;
    int query = 0;
    cs_code rc;

    memset(u, 0, sizeof *u);
    if (!cs_hsm_is_uri(uri))
        return cs_err_set(err, CS_EINVAL, "'%s': not a pkcs11: URI", uri ? uri : "(none)");
    for (p = uri + 7; *p; p = end + (*end ? 1 : 0)) {
        end = p + strcspn(p, query ? "&" : ";?");
        if (end > p) {
            rc = take_attr(u, p, (size_t)(end - p), query, err);
            if (rc != CS_OK)
                return rc;
        }
        if (*end == '?')
            query = 1;
        if (!*end)
            break;
    }
    if (!u->token[0] || !u->object[0])
        return cs_err_set(err, CS_EINVAL, "pkcs11 URI '%s': needs token= and object=", uri);
    if (!u->module[0]) {
        const char *env = getenv("CHAINSMITH_PKCS11_MODULE");
        snprintf(u->module, sizeof u->module, "%s",
                 env && *env ? env : CS_HSM_MODULE_DEFAULT);
    }
    return CS_OK;
}

/* --- The module itself: finding the token, the PIN, the object; keygen. --- */

/* A PKCS#11 login is the process's, not a session's: once a key of a token
 * is loaded, C_Login says "already logged in" to any PIN. So the PIN that
 * opened each token is remembered (its SHA-256) and a later one compared. */
#define LOGINS_MAX 16
static struct {
    char token[LABEL_MAX + 1];
    unsigned char pin_hash[32];
} logins[LOGINS_MAX];
static int nlogins;
static pthread_mutex_t logins_lock = PTHREAD_MUTEX_INITIALIZER;

static int pin_hash(const char *pin, unsigned char out[32])
{
    size_t len = 0;

    return EVP_Q_digest(NULL, "SHA256", NULL, pin, strlen(pin), out, &len) == 1 && len == 32;
}

/* 1 if pin is the one that opened token in this process, 0 if another or none. */
static int pin_known(const char *token, const char *pin)
{
    unsigned char h[32];
    int i, same = 0;

    if (!pin_hash(pin, h))
        return 0;
    pthread_mutex_lock(&logins_lock);
    for (i = 0; i < nlogins; i++)
        if (strcmp(logins[i].token, token) == 0)
            same = CRYPTO_memcmp(logins[i].pin_hash, h, sizeof h) == 0;
    pthread_mutex_unlock(&logins_lock);
    return same;
}

static void pin_remember(const char *token, const char *pin)
{
    unsigned char h[32];
    int i;

    if (!pin_hash(pin, h))
        return;
    pthread_mutex_lock(&logins_lock);
    for (i = 0; i < nlogins && strcmp(logins[i].token, token) != 0; i++)
        ;
    if (i < LOGINS_MAX) {
        snprintf(logins[i].token, sizeof logins[i].token, "%s", token);
        memcpy(logins[i].pin_hash, h, sizeof h);
        nlogins += i == nlogins;
    }
    pthread_mutex_unlock(&logins_lock);
}

struct p11 {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    int initialized; /* we called C_Initialize (else the engine had) */
    CK_SESSION_HANDLE session;
    int logged_in; /* we logged in */
};

static void p11_close(struct p11 *m)
{
    if (m->session != CK_INVALID_HANDLE) {
        if (m->logged_in)
            (void)m->f->C_Logout(m->session);
        (void)m->f->C_CloseSession(m->session);
    }
    if (m->initialized)
        (void)m->f->C_Finalize(NULL);
    if (m->dl)
        dlclose(m->dl);
    memset(m, 0, sizeof *m);
}

/* Open u's module, find its token, open a session (rw for keygen) and log
 * in with pin. Every error names the module, the token or the PIN. */
static cs_code p11_open(const struct p11_uri *u, const char *pin, int rw, struct p11 *m,
                        cs_err *err)
{
    CK_C_GetFunctionList get;
    CK_C_INITIALIZE_ARGS args;
    CK_SLOT_ID slots[64];
    CK_ULONG n = sizeof slots / sizeof slots[0], i;
    CK_RV rv;
    size_t tlen = strlen(u->token);

    memset(m, 0, sizeof *m);
    m->session = CK_INVALID_HANDLE;
    m->dl = dlopen(u->module, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl)
        return cs_err_set(err, CS_ENOENT, "PKCS#11 module %s: cannot load it (%s); name it "
                          "with ?module-path= or CHAINSMITH_PKCS11_MODULE", u->module, dlerror());
    *(void **)&get = dlsym(m->dl, "C_GetFunctionList");
    if (!get || get(&m->f) != CKR_OK || !m->f) {
        p11_close(m);
        return cs_err_set(err, CS_EINVAL, "PKCS#11 module %s: not a PKCS#11 module", u->module);
    }
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    rv = m->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        p11_close(m);
        return cs_err_set(err, CS_EIO, "PKCS#11 module %s: C_Initialize failed (0x%lx)",
                          u->module, (unsigned long)rv);
    }
    m->initialized = rv == CKR_OK;
    if (m->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        n = 0;
    for (i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        size_t len = sizeof info.label;
        if (m->f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        while (len > 0 && info.label[len - 1] == ' ')
            len--;
        if (len == tlen && memcmp(info.label, u->token, len) == 0)
            break;
    }
    if (i == n) {
        p11_close(m);
        return cs_err_set(err, CS_ENOENT, "PKCS#11 token '%s': no such token in module %s",
                          u->token, u->module);
    }
    rv = m->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL,
                             NULL, &m->session);
    if (rv != CKR_OK) {
        m->session = CK_INVALID_HANDLE;
        p11_close(m);
        return cs_err_set(err, CS_EIO, "PKCS#11 token '%s': cannot open a session (0x%lx)",
                          u->token, (unsigned long)rv);
    }
    if (!pin || !*pin) {
        p11_close(m);
        return cs_err_set(err, CS_ELOCKED, "PKCS#11 token '%s': no PIN given (the commands: "
                          "--pin-env VAR or --pin-file FILE; Lua: {pin = ...})", u->token);
    }
    rv = m->f->C_Login(m->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN && !pin_known(u->token, pin))
        rv = CKR_PIN_INCORRECT;
    if (rv == CKR_OK) {
        m->logged_in = 1;
    } else if (rv != CKR_USER_ALREADY_LOGGED_IN) {
        p11_close(m);
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
            return cs_err_set(err, CS_EVERIFY, "PKCS#11 token '%s': wrong PIN", u->token);
        if (rv == CKR_PIN_LOCKED)
            return cs_err_set(err, CS_ELOCKED, "PKCS#11 token '%s': PIN locked", u->token);
        return cs_err_set(err, CS_EIO, "PKCS#11 token '%s': login failed (0x%lx)", u->token,
                          (unsigned long)rv);
    }
    return CS_OK;
}

/* How many objects of class (or any class when cls is -1) carry label. */
static CK_ULONG p11_count(struct p11 *m, const char *label, long cls)
{
    CK_OBJECT_CLASS c = (CK_OBJECT_CLASS)cls;
    CK_ATTRIBUTE tpl[2] = {
        {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)},
        {CKA_CLASS, &c, sizeof c},
    };
    CK_OBJECT_HANDLE found[4];
    CK_ULONG n = 0;

    if (m->f->C_FindObjectsInit(m->session, tpl, cls < 0 ? 1 : 2) != CKR_OK)
        return 0;
    if (m->f->C_FindObjects(m->session, found, 4, &n) != CKR_OK)
        n = 0;
    (void)m->f->C_FindObjectsFinal(m->session);
    return n;
}

/* --- Loading: the provider's OSSL_STORE where it is installed, else the engine. --- */

static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static ENGINE *engine;         /* libp11's, initialized; kept for the process */
static char engine_module[4096];

/* The engine set up for module: one module per process (the engine has one). */
static cs_code get_engine(const char *module, ENGINE **out, cs_err *err)
{
    ENGINE *e;

    if (engine) {
        if (strcmp(engine_module, module) != 0)
            return cs_err_set(err, CS_EUNSUPPORTED, "PKCS#11 module %s: this process already "
                              "uses %s (one module per process)", module, engine_module);
        *out = engine;
        return CS_OK;
    }
    ENGINE_load_builtin_engines();
    e = ENGINE_by_id("pkcs11");
    if (!e)
        return cs_err_ossl(err, CS_EUNSUPPORTED, "PKCS#11: neither the pkcs11 provider nor "
                           "libp11's engine (libengine-pkcs11-openssl) is installed");
    if (ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) != 1 || ENGINE_init(e) != 1) {
        ENGINE_free(e);
        return cs_err_ossl(err, CS_ECRYPTO, "PKCS#11 module %s: the engine cannot use it",
                           module);
    }
    ENGINE_free(e); /* the functional reference from ENGINE_init keeps it */
    engine = e;
    snprintf(engine_module, sizeof engine_module, "%s", module);
    *out = e;
    return CS_OK;
}

/* Is the pkcs11 provider (pkcs11-provider) there? It is configured by
 * openssl.cnf (its module and, for SoftHSM2, pkcs11-module-quirks = no-deinit,
 * else it crashes at exit); loading it here only checks it is. */
static int have_provider(void)
{
    int yes;

    ERR_set_mark();
    yes = OSSL_PROVIDER_available(NULL, "pkcs11");
    ERR_pop_to_mark();
    return yes;
}

/* The PIN, handed to the provider as the store's passphrase. */
static int give_pin(char *buf, int size, int rwflag, void *u)
{
    size_t n = strlen(u);

    (void)rwflag;
    if (size < 0 || n > (size_t)size)
        return -1;
    memcpy(buf, u, n);
    return (int)n;
}

static EVP_PKEY *load_by_store(const char *uri, const char *pin)
{
    UI_METHOD *ui = UI_UTIL_wrap_read_pem_callback(give_pin, 0);
    OSSL_STORE_CTX *st;
    OSSL_STORE_INFO *info;
    EVP_PKEY *pkey = NULL;

    st = ui ? OSSL_STORE_open_ex(uri, NULL, "provider=pkcs11", ui, (void *)pin, NULL, NULL,
                                 NULL)
            : NULL;
    while (st && !pkey && !OSSL_STORE_eof(st) && (info = OSSL_STORE_load(st)) != NULL) {
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    UI_destroy_method(ui);
    return pkey;
}

/* label percent-encoded where RFC 7512 needs it, into out (3 * LABEL_MAX + 1). */
static void escape(const char *label, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)label;

    for (; *s; s++) {
        if (strchr(";?&%/=", *s) || *s < 0x21 || *s > 0x7e) {
            *out++ = '%';
            *out++ = hex[*s >> 4];
            *out++ = hex[*s & 15];
        } else {
            *out++ = (char)*s;
        }
    }
    *out = '\0';
}

static cs_code load(const struct p11_uri *u, const char *uri, const char *pin, cs_key **out,
                    cs_err *err)
{
    char tok[3 * LABEL_MAX + 1], obj[3 * LABEL_MAX + 1], canon[sizeof tok + sizeof obj + 64];
    struct p11 m;
    ENGINE *e = NULL;
    EVP_PKEY *pkey = NULL;
    cs_code rc;

    /* First the module itself, for errors that name what is wrong. */
    rc = p11_open(u, pin, 0, &m, err);
    if (rc != CS_OK)
        return rc;
    if (p11_count(&m, u->object, CKO_PRIVATE_KEY) == 0) {
        p11_close(&m);
        return cs_err_set(err, CS_ENOENT, "PKCS#11 token '%s': no private key labelled '%s'",
                          u->token, u->object);
    }
    p11_close(&m);
    /* The engine's URI parser knows fewer attributes than RFC 7512: give
     * it the two that name the key, escaped. */
    escape(u->token, tok);
    escape(u->object, obj);
    if (snprintf(canon, sizeof canon, "pkcs11:token=%s;object=%s;type=private", tok, obj) >=
        (int)sizeof canon)
        return cs_err_set(err, CS_EINVAL, "pkcs11 URI '%s': too long", uri);
    pthread_mutex_lock(&route_lock);
    if (have_provider()) {
        pkey = load_by_store(canon, pin);
        if (!pkey)
            rc = cs_err_ossl(err, CS_ECRYPTO, "%s: the pkcs11 provider cannot load it", uri);
    } else {
        rc = get_engine(u->module, &e, err);
        if (rc == CS_OK && ENGINE_ctrl_cmd_string(e, "PIN", pin, 0) != 1)
            rc = cs_err_ossl(err, CS_ECRYPTO, "%s: giving the PIN to the engine", uri);
        if (rc == CS_OK) {
            pkey = ENGINE_load_private_key(e, canon, NULL, NULL);
            if (!pkey)
                rc = cs_err_ossl(err, CS_ECRYPTO, "%s: the PKCS#11 engine cannot load it", uri);
        }
    }
    pthread_mutex_unlock(&route_lock);
    if (rc == CS_OK)
        rc = csi_key_adopt(&pkey, uri, out, err);
    if (rc == CS_OK) {
        (*out)->on_token = 1;
        pin_remember(u->token, pin);
    }
    EVP_PKEY_free(pkey);
    return rc;
}

cs_code cs_hsm_load_key(const char *uri, const char *pin, cs_key **out, cs_err *err)
{
    struct p11_uri u;
    cs_code rc;

    if (!out)
        return cs_err_set(err, CS_EINVAL, "pkcs11: no place for the key");
    rc = parse_uri(uri, &u, err);
    if (rc != CS_OK)
        return rc;
    return load(&u, uri, pin, out, err);
}

/* --- Generating a key pair on the token. --- */

/* DER ECParameters (namedCurve OIDs, RFC 5480) */
static const unsigned char p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char p384_oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

cs_code cs_hsm_generate_key(const char *uri, const char *pin, const cs_key_params *p,
                            cs_key **out, cs_err *err)
{
    static const unsigned char rsa_e[] = {0x01, 0x00, 0x01};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 0;
    unsigned char id[16];
    struct p11_uri u;
    struct p11 m;
    CK_OBJECT_HANDLE pub, priv;
    CK_RV rv;
    cs_code rc;
    int is_ec;

    if (!out || !p || !p->type)
        return cs_err_set(err, CS_EINVAL, "pkcs11: missing key type (use ec or rsa)");
    rc = parse_uri(uri, &u, err);
    if (rc != CS_OK)
        return rc;
    is_ec = strcmp(p->type, "ec") == 0;
    if (is_ec) {
        if (!p->curve || !(strcmp(p->curve, "P-256") == 0 || strcmp(p->curve, "prime256v1") == 0 ||
                           strcmp(p->curve, "P-384") == 0 || strcmp(p->curve, "secp384r1") == 0))
            return cs_err_set(err, CS_EINVAL, "pkcs11: unknown curve '%s' (use P-256 or P-384)",
                              p->curve ? p->curve : "(none)");
    } else if (strcmp(p->type, "rsa") == 0) {
        bits = p->bits ? (CK_ULONG)p->bits : 3072;
        if (bits < 2048 || bits > 4096 || bits % 8)
            return cs_err_set(err, CS_EINVAL, "pkcs11: unsupported RSA size %lu bits (use 2048 "
                              "to 4096)", (unsigned long)bits);
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
    } else {
        return cs_err_set(err, CS_EUNSUPPORTED, "pkcs11: %s keys are not made on a token here "
                          "(use ec P-256/P-384 or rsa)", p->type);
    }
    if (RAND_bytes(id, sizeof id) != 1)
        return cs_err_ossl(err, CS_ECRYPTO, "pkcs11: a random key id");
    rc = p11_open(&u, pin, 1, &m, err);
    if (rc != CS_OK)
        return rc;
    if (p11_count(&m, u.object, -1) > 0) {
        p11_close(&m);
        return cs_err_set(err, CS_EEXIST, "PKCS#11 token '%s': already holds an object labelled "
                          "'%s' (nothing is overwritten)", u.token, u.object);
    }
    {
        const int curve384 = is_ec && (strcmp(p->curve, "P-384") == 0 ||
                                       strcmp(p->curve, "secp384r1") == 0);
        CK_ULONG lab = (CK_ULONG)strlen(u.object);
        CK_ATTRIBUTE pub_tpl[] = {
            {CKA_TOKEN, &yes, sizeof yes},
            {CKA_VERIFY, &yes, sizeof yes},
            {CKA_LABEL, u.object, lab},
            {CKA_ID, id, sizeof id},
            is_ec ? (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)(curve384 ? p384_oid : p256_oid),
                                   curve384 ? sizeof p384_oid : sizeof p256_oid}
                  : (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof bits},
            {CKA_PUBLIC_EXPONENT, (void *)rsa_e, sizeof rsa_e},
        };
        CK_ATTRIBUTE priv_tpl[] = {
            {CKA_TOKEN, &yes, sizeof yes},
            {CKA_PRIVATE, &yes, sizeof yes},
            {CKA_SENSITIVE, &yes, sizeof yes},
            {CKA_EXTRACTABLE, &no, sizeof no},
            {CKA_SIGN, &yes, sizeof yes},
            {CKA_LABEL, u.object, lab},
            {CKA_ID, id, sizeof id},
        };
        /* EC: the first five (the curve); RSA: the size and the exponent too */
        rv = m.f->C_GenerateKeyPair(m.session, &mech, pub_tpl,
                                    is_ec ? 5 : 6, priv_tpl,
                                    sizeof priv_tpl / sizeof priv_tpl[0], &pub, &priv);
    }
    p11_close(&m);
    if (rv != CKR_OK)
        return cs_err_set(err, CS_ECRYPTO, "PKCS#11 token '%s': generating a %s key failed "
                          "(0x%lx)", u.token, p->type, (unsigned long)rv);
    return load(&u, uri, pin, out, err);
}

int cs_key_on_token(const cs_key *key)
{
    return key && key->on_token;
}
