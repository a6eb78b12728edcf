/* Flattened JWS (RFC 7515 7.2.2) as ACME sends it (RFC 8555 6.2), its
 * signature checks, the HS256 external account binding (RFC 8555 7.3.4),
 * and compact ES256 JWTs (RFC 7519) for the signing API. See jws.h. */
#include "jws.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "internal.h"

/* A JWT is a header line, not a request body: anything longer is not ours. */
#define JWT_MAX_LEN 16384

struct cs_jws {
    char *alg;
    char *nonce; /* NULL: absent; likewise url and kid */
    char *url;
    char *kid;
    cs_key *jwk;
    unsigned char *payload; /* payload_len bytes and a NUL */
    size_t payload_len;
    unsigned char *sig;
    size_t sig_len;
    char *input; /* BASE64URL(protected) "." BASE64URL(payload), as sent: what was signed */
    size_t input_len;
};

struct cs_jwt {
    char *kid;
    char *claims; /* claims_len bytes and a NUL */
    size_t claims_len;
    unsigned char *sig;
    size_t sig_len;
    char *input;
    size_t input_len;
};

static cs_code fail(cs_jws_fault *fault, cs_jws_fault f, cs_code rc)
{
    if (fault)
        *fault = f;
    return rc;
}

const char *cs_jws_fault_problem(cs_jws_fault fault)
{
    switch (fault) {
    case CS_JWS_MALFORMED:
    case CS_JWS_BAD_SIGNATURE:
        return "malformed";
    case CS_JWS_BAD_ALG:
        return "badSignatureAlgorithm";
    case CS_JWS_BAD_KEY:
        return "badPublicKey";
    case CS_JWS_INTERNAL:
        break;
    }
    return "serverInternal";
}

/* The algorithms a JWS here may name; HS256 only reaches cs_jws_verify_eab. */
static int alg_known(const char *alg)
{
    return strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0 ||
           strcmp(alg, "RS256") == 0 || strcmp(alg, "HS256") == 0;
}

/* An optional string member of the protected header, copied; *out stays NULL
 * when absent. */
static cs_code header_string(const json_t *hdr, const char *name, char **out,
                             cs_jws_fault *fault, cs_err *err)
{
    const json_t *v = json_object_get(hdr, name);
    if (!v)
        return CS_OK;
    if (!json_is_string(v))
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "JWS protected header: \"%s\" is not a string",
                               name));
    *out = csi_dup_n(json_string_value(v), json_string_length(v));
    if (!*out)
        return fail(fault, CS_JWS_INTERNAL, cs_err_set(err, CS_ENOMEM, "JWS: out of memory"));
    return CS_OK;
}

/* "a" "." "b" as one new string. */
static char *join_dot(const char *a, size_t alen, const char *b, size_t blen, size_t *len)
{
    char *s = malloc(alen + 1 + blen + 1);
    if (!s)
        return NULL;
    memcpy(s, a, alen);
    s[alen] = '.';
    memcpy(s + alen + 1, b, blen);
    s[alen + 1 + blen] = '\0';
    *len = alen + 1 + blen;
    return s;
}

static cs_code decode(const char *in, size_t len, const char *what, unsigned char **out,
                      size_t *out_len, cs_jws_fault *fault, cs_err *err)
{
    cs_code rc = cs_b64url_decode(in, len, what, out, out_len, err);
    if (rc != CS_OK)
        return fail(fault, rc == CS_EINVAL ? CS_JWS_MALFORMED : CS_JWS_INTERNAL, rc);
    return CS_OK;
}

static cs_code parse_header(cs_jws *jws, const unsigned char *text, size_t len,
                            cs_jws_fault *fault, cs_err *err)
{
    json_error_t jerr;
    json_t *hdr = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    cs_code rc = CS_OK;

    if (!hdr)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "JWS protected header: not JSON: %s (at byte %d)",
                               jerr.text, jerr.position));
    if (!json_is_object(hdr)) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL, "JWS protected header: not a JSON object"));
        goto done;
    }
    /* RFC 7515 4.1.11: a receiver must refuse extensions it does not know,
     * and we know none. */
    if (json_object_get(hdr, "crit")) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL,
                             "JWS protected header: \"crit\" names extensions this server does "
                             "not understand"));
        goto done;
    }
    const json_t *alg = json_object_get(hdr, "alg");
    if (!alg || !json_is_string(alg)) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL, "JWS protected header: \"alg\" %s",
                             alg ? "is not a string" : "is missing"));
        goto done;
    }
    if (!alg_known(json_string_value(alg))) {
        rc = fail(fault, CS_JWS_BAD_ALG,
                  cs_err_set(err, CS_EUNSUPPORTED,
                             "JWS alg \"%.40s\" is not supported (use ES256, ES384 or RS256)",
                             json_string_value(alg)));
        goto done;
    }
    jws->alg = csi_dup_n(json_string_value(alg), json_string_length(alg));
    if (!jws->alg) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_set(err, CS_ENOMEM, "JWS: out of memory"));
        goto done;
    }
    rc = header_string(hdr, "nonce", &jws->nonce, fault, err);
    if (rc == CS_OK)
        rc = header_string(hdr, "url", &jws->url, fault, err);
    if (rc == CS_OK)
        rc = header_string(hdr, "kid", &jws->kid, fault, err);
    if (rc != CS_OK)
        goto done;
    const json_t *jwk = json_object_get(hdr, "jwk");
    if (jwk) {
        if (!json_is_object(jwk)) {
            rc = fail(fault, CS_JWS_MALFORMED,
                      cs_err_set(err, CS_EINVAL,
                                 "JWS protected header: \"jwk\" is not an object"));
            goto done;
        }
        rc = csi_jwk_from_object(jwk, &jws->jwk, fault, err);
    }
done:
    json_decref(hdr);
    return rc;
}

cs_code cs_jws_parse(const char *body, size_t len, cs_jws **out, cs_jws_fault *fault,
                     cs_err *err)
{
    json_error_t jerr;
    json_t *root = NULL;
    cs_jws *jws = NULL;
    unsigned char *hdr = NULL;
    size_t hdr_len = 0;
    const char *p, *pl, *sg;
    size_t plen, pllen, sglen;
    cs_code rc = CS_OK;

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL, "JWS: not JSON: %s (at byte %d)", jerr.text,
                             jerr.position));
        goto done;
    }
    if (!json_is_object(root)) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL, "JWS: not a JSON object"));
        goto done;
    }
    if (json_object_get(root, "signatures")) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL,
                             "JWS: the general JSON form (\"signatures\") is not accepted: send "
                             "the flattened form (RFC 8555 6.2)"));
        goto done;
    }
    if (json_object_get(root, "header")) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL,
                             "JWS: an unprotected \"header\" is not allowed (RFC 8555 6.2)"));
        goto done;
    }
    if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s%, s:s%, s:s%}", "protected", &p, &plen,
                       "payload", &pl, &pllen, "signature", &sg, &sglen) != 0) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL,
                             "JWS: want exactly \"protected\", \"payload\" and \"signature\" "
                             "(strings): %s", jerr.text));
        goto done;
    }
    jws = calloc(1, sizeof *jws);
    if (!jws) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_set(err, CS_ENOMEM, "JWS: out of memory"));
        goto done;
    }
    if (plen == 0) {
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL, "JWS: \"protected\" is empty"));
        goto done;
    }
    rc = decode(p, plen, "JWS \"protected\"", &hdr, &hdr_len, fault, err);
    if (rc == CS_OK)
        rc = decode(pl, pllen, "JWS \"payload\"", &jws->payload, &jws->payload_len, fault, err);
    if (rc == CS_OK)
        rc = decode(sg, sglen, "JWS \"signature\"", &jws->sig, &jws->sig_len, fault, err);
    if (rc == CS_OK)
        rc = parse_header(jws, hdr, hdr_len, fault, err);
    if (rc != CS_OK)
        goto done;
    jws->input = join_dot(p, plen, pl, pllen, &jws->input_len);
    if (!jws->input) {
        rc = fail(fault, CS_JWS_INTERNAL, cs_err_set(err, CS_ENOMEM, "JWS: out of memory"));
        goto done;
    }
    *out = jws;
    jws = NULL;
done:
    free(hdr);
    cs_jws_free(jws);
    json_decref(root);
    return rc;
}

void cs_jws_free(cs_jws *jws)
{
    if (!jws)
        return;
    free(jws->alg);
    free(jws->nonce);
    free(jws->url);
    free(jws->kid);
    cs_key_free(jws->jwk);
    free(jws->payload);
    free(jws->sig);
    free(jws->input);
    free(jws);
}

const char *cs_jws_alg(const cs_jws *jws) { return jws->alg; }
const char *cs_jws_nonce(const cs_jws *jws) { return jws->nonce; }
const char *cs_jws_url(const cs_jws *jws) { return jws->url; }
const char *cs_jws_kid(const cs_jws *jws) { return jws->kid; }
const cs_key *cs_jws_jwk(const cs_jws *jws) { return jws->jwk; }

const unsigned char *cs_jws_payload(const cs_jws *jws, size_t *len)
{
    *len = jws->payload_len;
    return jws->payload;
}

/* The JWS alg a key signs with (RFC 7518 3.1), and for EC the size of r
 * and s; NULL for a key JWS here does not take. */
static const char *alg_of_key(const EVP_PKEY *pkey, size_t *ec_size)
{
    const char *curve;
    *ec_size = 0;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return "RS256";
    if (!EVP_PKEY_is_a(pkey, "EC"))
        return NULL;
    curve = csi_pkey_digest_name(pkey);
    if (curve && strcmp(curve, "SHA384") == 0) {
        *ec_size = 48;
        return "ES384";
    }
    *ec_size = 32;
    return "ES256";
}

/* JWS's raw r || s (RFC 7518 3.4) as the DER ECDSA-Sig-Value EVP wants;
 * 0 when out of memory. */
static int ecdsa_raw_to_der(const unsigned char *sig, size_t size, unsigned char **der,
                            size_t *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)size, NULL);
    BIGNUM *s = BN_bin2bn(sig + size, (int)size, NULL);
    int ok = 0;

    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
        goto done;
    r = s = NULL; /* es owns them */
    unsigned char *buf = NULL;
    int n = i2d_ECDSA_SIG(es, &buf);
    if (n <= 0)
        goto done;
    *der = buf;
    *der_len = (size_t)n;
    ok = 1;
done:
    BN_free(s);
    BN_free(r);
    ECDSA_SIG_free(es);
    return ok;
}

/* Verify sig over input with pkey: 1 good, 0 not (wrong length, does not
 * verify), -1 out of memory or OpenSSL failed. ec_size 0 for RSA. */
static int verify_sig(EVP_PKEY *pkey, size_t ec_size, const char *digest, const char *input,
                      size_t input_len, const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    int ok = 0;

    if (ec_size) {
        if (sig_len != 2 * ec_size)
            return 0;
        if (!ecdsa_raw_to_der(sig, ec_size, &der, &der_len))
            return -1;
        sig = der;
        sig_len = der_len;
    } else if (EVP_PKEY_get_size(pkey) <= 0 || sig_len != (size_t)EVP_PKEY_get_size(pkey)) {
        return 0; /* RFC 7518 3.3 / RFC 8017 8.2.2: exactly k octets */
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit_ex(ctx, NULL, digest, NULL, NULL, pkey, NULL) != 1) {
        ok = -1;
        goto done;
    }
    ERR_set_mark();
    ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    ERR_pop_to_mark(); /* a bad signature is an answer, not an error to report */
done:
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return ok;
}

cs_code cs_jws_verify(const cs_jws *jws, const cs_key *key, cs_jws_fault *fault, cs_err *err)
{
    EVP_PKEY *pkey = key ? cs_key_get0_pkey(key) : NULL;
    size_t ec_size = 0;
    const char *want;

    if (!pkey)
        return fail(fault, CS_JWS_INTERNAL,
                    cs_err_set(err, CS_EINVAL, "JWS: no key to verify with"));
    if (strcmp(jws->alg, "HS256") == 0)
        return fail(fault, CS_JWS_BAD_ALG,
                    cs_err_set(err, CS_EUNSUPPORTED,
                               "JWS alg HS256 is for external account binding only (use ES256, "
                               "ES384 or RS256)"));
    want = alg_of_key(pkey, &ec_size);
    if (!want)
        return fail(fault, CS_JWS_BAD_KEY,
                    cs_err_set(err, CS_EUNSUPPORTED, "JWS: a %s key cannot sign JWS here",
                               cs_key_type(key)));
    if (strcmp(jws->alg, want) != 0)
        return fail(fault, CS_JWS_BAD_ALG,
                    cs_err_set(err, CS_EUNSUPPORTED,
                               "JWS alg %s does not fit the key (this %s key signs %s)",
                               jws->alg, ec_size ? cs_key_curve(key) : "RSA", want));
    int ok = verify_sig(pkey, ec_size, ec_size == 48 ? "SHA384" : "SHA256", jws->input,
                        jws->input_len, jws->sig, jws->sig_len);
    if (ok < 0)
        return fail(fault, CS_JWS_INTERNAL, cs_err_ossl(err, CS_ECRYPTO, "JWS: verifying"));
    if (!ok)
        return fail(fault, CS_JWS_BAD_SIGNATURE,
                    cs_err_set(err, CS_EVERIFY,
                               "JWS signature does not verify (%s, %zu-byte signature)", jws->alg,
                               jws->sig_len));
    return CS_OK;
}

cs_code cs_jws_verify_eab(const cs_jws *eab, const char *url, const cs_key *account_key,
                          const unsigned char *hmac_key, size_t hmac_key_len,
                          cs_jws_fault *fault, cs_err *err)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    cs_key *inner = NULL;
    cs_jws_fault f;
    cs_code rc;

    if (!hmac_key || hmac_key_len == 0 || !account_key || !url)
        return fail(fault, CS_JWS_INTERNAL,
                    cs_err_set(err, CS_EINVAL, "externalAccountBinding: no MAC key, URL or "
                                               "account key to check it with"));
    if (strcmp(eab->alg, "HS256") != 0)
        return fail(fault, CS_JWS_BAD_ALG,
                    cs_err_set(err, CS_EUNSUPPORTED,
                               "externalAccountBinding: alg must be HS256, not %s", eab->alg));
    if (!eab->kid)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL, "externalAccountBinding: no \"kid\""));
    if (eab->nonce)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL,
                               "externalAccountBinding: must not carry a \"nonce\" (RFC 8555 "
                               "7.3.4)"));
    if (!eab->url || strcmp(eab->url, url) != 0)
        return fail(fault, CS_JWS_MALFORMED,
                    cs_err_set(err, CS_EINVAL,
                               "externalAccountBinding: \"url\" must be the newAccount URL %s",
                               url));
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hmac_key, hmac_key_len,
                   (const unsigned char *)eab->input, eab->input_len, mac, sizeof mac, &mac_len))
        return fail(fault, CS_JWS_INTERNAL,
                    cs_err_ossl(err, CS_ECRYPTO, "externalAccountBinding: HMAC-SHA256"));
    if (eab->sig_len != mac_len || CRYPTO_memcmp(mac, eab->sig, mac_len) != 0) {
        OPENSSL_cleanse(mac, sizeof mac);
        return fail(fault, CS_JWS_BAD_SIGNATURE,
                    cs_err_set(err, CS_EVERIFY,
                               "externalAccountBinding: the MAC does not verify with the key of "
                               "kid \"%.64s\"", eab->kid));
    }
    OPENSSL_cleanse(mac, sizeof mac);
    rc = cs_jwk_from_json((const char *)eab->payload, eab->payload_len, &inner, &f, err);
    if (rc != CS_OK)
        return fail(fault, CS_JWS_MALFORMED, rc);
    if (EVP_PKEY_eq(cs_key_get0_pkey(inner), cs_key_get0_pkey(account_key)) != 1) {
        ERR_clear_error();
        rc = fail(fault, CS_JWS_MALFORMED,
                  cs_err_set(err, CS_EINVAL,
                             "externalAccountBinding: the payload is not the account's key"));
    }
    cs_key_free(inner);
    return rc;
}

/* Compact JWTs */

cs_code cs_jwt_parse(const char *token, size_t len, cs_jwt **out, cs_err *err)
{
    const char *dot1, *dot2;
    unsigned char *hdr_text = NULL, *claims = NULL;
    size_t hdr_len = 0, claims_len = 0;
    json_t *hdr = NULL, *cl = NULL;
    json_error_t jerr;
    const char *alg, *typ = NULL, *kid = NULL;
    cs_jwt *jwt = NULL;
    cs_code rc = CS_OK;

    if (len > JWT_MAX_LEN)
        return cs_err_set(err, CS_ETOOLARGE, "JWT: %zu bytes, at most %d", len, JWT_MAX_LEN);
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2)
        return cs_err_set(err, CS_EINVAL, "JWT: want header.payload.signature");
    jwt = calloc(1, sizeof *jwt);
    if (!jwt)
        return cs_err_set(err, CS_ENOMEM, "JWT: out of memory");
    rc = cs_b64url_decode(token, (size_t)(dot1 - token), "JWT header", &hdr_text, &hdr_len, err);
    if (rc == CS_OK)
        rc = cs_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), "JWT claims", &claims,
                              &claims_len, err);
    if (rc == CS_OK) /* a third '.' fails here: not a base64url character */
        rc = cs_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), "JWT signature",
                              &jwt->sig, &jwt->sig_len, err);
    if (rc != CS_OK)
        goto done;
    hdr = json_loadb((const char *)hdr_text, hdr_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!hdr || json_unpack_ex(hdr, &jerr, JSON_STRICT, "{s:s, s?s, s?s}", "alg", &alg, "typ",
                               &typ, "kid", &kid) != 0) {
        rc = cs_err_set(err, CS_EINVAL,
                        "JWT header: want {\"alg\", \"typ\", \"kid\"} (strings) only: %s",
                        jerr.text);
        goto done;
    }
    if (strcmp(alg, "ES256") != 0) {
        rc = cs_err_set(err, CS_EUNSUPPORTED, "JWT alg \"%.40s\" is not supported (use ES256)",
                        alg);
        goto done;
    }
    if (typ && strcmp(typ, "JWT") != 0) {
        rc = cs_err_set(err, CS_EINVAL, "JWT header: typ \"%.40s\" is not \"JWT\"", typ);
        goto done;
    }
    cl = json_loadb((const char *)claims, claims_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!cl || !json_is_object(cl)) {
        rc = cs_err_set(err, CS_EINVAL, "JWT claims: not a JSON object%s%s", cl ? "" : ": ",
                        cl ? "" : jerr.text);
        goto done;
    }
    if (kid) {
        jwt->kid = strdup(kid);
        if (!jwt->kid) {
            rc = cs_err_set(err, CS_ENOMEM, "JWT: out of memory");
            goto done;
        }
    }
    jwt->input = csi_dup_n(token, (size_t)(dot2 - token));
    if (!jwt->input) {
        rc = cs_err_set(err, CS_ENOMEM, "JWT: out of memory");
        goto done;
    }
    jwt->input_len = (size_t)(dot2 - token);
    jwt->claims = (char *)claims;
    jwt->claims_len = claims_len;
    claims = NULL;
    *out = jwt;
    jwt = NULL;
done:
    json_decref(cl);
    json_decref(hdr);
    free(claims);
    free(hdr_text);
    cs_jwt_free(jwt);
    return rc;
}

void cs_jwt_free(cs_jwt *jwt)
{
    if (!jwt)
        return;
    free(jwt->kid);
    free(jwt->claims);
    free(jwt->sig);
    free(jwt->input);
    free(jwt);
}

const char *cs_jwt_kid(const cs_jwt *jwt) { return jwt->kid; }

const char *cs_jwt_claims(const cs_jwt *jwt, size_t *len)
{
    *len = jwt->claims_len;
    return jwt->claims;
}

cs_code cs_jwt_verify(const cs_jwt *jwt, const cs_key *key, cs_err *err)
{
    EVP_PKEY *pkey = key ? cs_key_get0_pkey(key) : NULL;
    size_t ec_size = 0;
    const char *alg = pkey ? alg_of_key(pkey, &ec_size) : NULL;

    if (!alg || strcmp(alg, "ES256") != 0)
        return cs_err_set(err, CS_EUNSUPPORTED, "JWT: ES256 needs a P-256 key");
    int ok = verify_sig(pkey, ec_size, "SHA256", jwt->input, jwt->input_len, jwt->sig,
                        jwt->sig_len);
    if (ok < 0)
        return cs_err_ossl(err, CS_ECRYPTO, "JWT: verifying");
    if (!ok)
        return cs_err_set(err, CS_EVERIFY, "JWT signature does not verify");
    return CS_OK;
}
