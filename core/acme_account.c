/* ACME accounts (RFC 8555 7.3): newAccount with onlyReturnExisting and
 * external account binding, account update and deactivation, keyChange. */
#include "acme_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MAX_CONTACTS 8

/* The account object (7.1.2). */
static json_t *account_json(const cs_acme *acme, const csi_acme_account *a)
{
    char orders[512];
    json_t *contact = a->contact ? json_loads(a->contact, 0, NULL) : NULL;

    snprintf(orders, sizeof orders, "%s/acme/acct/%s/orders", acme->base_url, a->id);
    if (!json_is_array(contact)) {
        json_decref(contact);
        contact = json_array();
    }
    return json_pack("{s:s, s:o, s:s}", "status", a->status, "contact", contact, "orders",
                     orders);
}

static void reply_account(acme_req *r, int status, const csi_acme_account *a)
{
    char url[512];

    csi_acme_url(r->acme, url, sizeof url, "acct", a->id);
    csi_acme_reply_json(r, status, account_json(r->acme, a), url);
}

/* contact (a JSON value from the payload, NULL: none) as the JSON text we
 * store: an array of "mailto:" URLs, each one plain address (7.3: the
 * server may refuse other schemes, unsupportedContact, and bad addresses,
 * invalidContact). NULL with the problem in r->out. */
static char *check_contact(acme_req *r, json_t *contact)
{
    size_t i;

    if (!contact)
        return strdup("[]");
    if (!json_is_array(contact) || json_array_size(contact) > MAX_CONTACTS) {
        csi_acme_problem(r, 400, "malformed", "contact: must be an array of at most %d URLs",
                         MAX_CONTACTS);
        return NULL;
    }
    for (i = 0; i < json_array_size(contact); i++) {
        const char *c = json_string_value(json_array_get(contact, i));
        const char *addr, *at, *p;

        if (!c) {
            csi_acme_problem(r, 400, "malformed", "contact[%zu]: not a string", i + 1);
            return NULL;
        }
        if (strncasecmp(c, "mailto:", 7) != 0) {
            csi_acme_problem(r, 400, "unsupportedContact", "contact[%zu]: only mailto: URLs",
                             i + 1);
            return NULL;
        }
        addr = c + 7;
        at = strchr(addr, '@');
        for (p = addr; *p; p++)
            if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr(",;?<>\"\\", *p))
                break;
        if (*p || !at || at == addr || !at[1] || strchr(at + 1, '@') || strlen(addr) > 254) {
            csi_acme_problem(r, 400, "invalidContact", "contact[%zu]: %.100s is not one "
                             "plain e-mail address", i + 1, c);
            return NULL;
        }
    }
    return json_dumps(contact, JSON_COMPACT);
}

/* Check the external account binding (7.3.4) of a newAccount: 0 and *kid
 * (borrowed from the config), or -1 with the problem in r->out. */
static int check_eab(acme_req *r, json_t *eab, const char **kid)
{
    cs_jws *inner = NULL;
    cs_jws_fault fault = CS_JWS_MALFORMED;
    cs_err err = {CS_OK, ""};
    char *text = NULL;
    const char *k;
    size_t i;
    int rc = -1;

    if (!json_is_object(eab)) {
        csi_acme_problem(r, 400, "malformed", "externalAccountBinding: not a JWS object");
        return -1;
    }
    text = json_dumps(eab, JSON_COMPACT);
    if (!text || cs_jws_parse(text, strlen(text), &inner, &fault, &err) != CS_OK) {
        inner = NULL;
        csi_acme_problem(r, 400, "malformed", "externalAccountBinding: %s",
                         text ? err.msg : "out of memory");
        goto done;
    }
    k = cs_jws_kid(inner);
    for (i = 0; k && i < r->acme->eab_len; i++)
        if (strcmp(r->acme->eab[i].kid, k) == 0)
            break;
    if (!k || i == r->acme->eab_len) {
        csi_acme_problem(r, 403, "unauthorized", "externalAccountBinding: unknown key id "
                         "%.100s", k ? k : "(none)");
        goto done;
    }
    if (cs_jws_verify_eab(inner, r->url, r->key, r->acme->eab[i].key, r->acme->eab[i].key_len,
                          &fault, &err) != CS_OK) {
        if (fault == CS_JWS_BAD_SIGNATURE)
            csi_acme_problem(r, 403, "unauthorized", "externalAccountBinding: %s", err.msg);
        else
            csi_acme_problem(r, csi_acme_problem_status(cs_jws_fault_problem(fault)),
                             cs_jws_fault_problem(fault), "externalAccountBinding: %s",
                             err.msg);
        goto done;
    }
    *kid = r->acme->eab[i].kid;
    rc = 0;
done:
    cs_jws_free(inner);
    free(text);
    return rc;
}

void csi_acme_new_account(acme_req *r)
{
    csi_acme_account a, found;
    csi_answer *answer = NULL;
    cs_err err = {CS_OK, ""};
    json_t *contact = NULL, *eab = NULL;
    json_error_t jerr;
    const char *eab_kid = NULL;
    char other[CSI_ACME_ID_LEN + 1];
    char thumb[CS_JWK_THUMBPRINT_LEN + 1];
    int tos = 0, only = 0;
    cs_code rc;

    memset(&a, 0, sizeof a);
    memset(&found, 0, sizeof found);
    if (csi_acme_authenticate(r, CSI_SIGNER_JWK) != 0)
        return;
    if (!r->payload) {
        csi_acme_problem(r, 400, "malformed", "newAccount: the payload must be an object");
        return;
    }
    if (json_unpack_ex(r->payload, &jerr, 0, "{s?o, s?b, s?b, s?o}", "contact", &contact,
                       "termsOfServiceAgreed", &tos, "onlyReturnExisting", &only,
                       "externalAccountBinding", &eab) != 0) {
        csi_acme_problem(r, 400, "malformed", "newAccount: %s", jerr.text);
        return;
    }
    if (cs_jwk_thumbprint(r->key, thumb, &err) != CS_OK) {
        csi_acme_problem(r, 400, "badPublicKey", "%s", err.msg);
        return;
    }
    /* 7.3.1: the key has an account already: that one, 200 */
    rc = csi_acme_db_account_by_thumbprint(r->acme->db, thumb, &found, &err);
    if (rc == CS_OK) {
        if (strcmp(found.status, "valid") != 0)
            csi_acme_problem(r, 401, "unauthorized", "the account of this key is %s",
                             found.status);
        else
            reply_account(r, 200, &found);
        csi_acme_account_clear(&found);
        return;
    }
    if (rc != CS_ENOENT) {
        csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        return;
    }
    if (only) {
        csi_acme_problem(r, 400, "accountDoesNotExist", "no account has this key");
        return;
    }
    a.contact = check_contact(r, contact);
    if (!a.contact)
        goto done;
    if (eab && check_eab(r, eab, &eab_kid) != 0)
        goto done;
    if (!eab && r->acme->eab_required) {
        csi_acme_problem(r, 403, "externalAccountRequired", "this server makes accounts "
                         "only with an external account binding (RFC 8555 7.3.4)");
        goto done;
    }
    if (csi_acme_random_id(a.id, 16, &err) != CS_OK ||
        cs_jwk_to_json(r->key, &a.jwk, &err) != CS_OK ||
        !(a.thumbprint = strdup(thumb)) || (eab_kid && !(a.eab_kid = strdup(eab_kid)))) {
        csi_acme_problem(r, 500, "serverInternal", "%s", err.msg[0] ? err.msg : "out of memory");
        goto done;
    }
    snprintf(a.status, sizeof a.status, "valid");
    a.created = r->now;
    /* policy: may this account be made? */
    if (csi_acme_ask(r, csi_acme_ask_new(CS_ACME_ASK_ACCOUNT, &a), &answer) != 0)
        goto done;
    if (!answer->ok) {
        const char *type = answer->type ? answer->type : "unauthorized";
        csi_acme_problem(r, csi_acme_problem_status(type), type, "%s",
                         answer->detail ? answer->detail : "refused by policy");
        goto done;
    }
    rc = csi_acme_db_account_insert(r->acme->db, &a, other, &err);
    if (rc == CS_EEXIST) {
        /* the same key's newAccount won a race: answer with that account */
        if (csi_acme_db_account_by_thumbprint(r->acme->db, thumb, &found, &err) == CS_OK) {
            reply_account(r, 200, &found);
            csi_acme_account_clear(&found);
        } else {
            csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        }
        goto done;
    }
    if (rc != CS_OK) {
        csi_acme_problem(r, 500, "serverInternal", "%s", err.msg);
        goto done;
    }
    reply_account(r, 201, &a);
done:
    csi_answer_free(answer);
    csi_acme_account_clear(&a);
}

void csi_acme_account_post(acme_req *r, const char *id)
{
    cs_err err = {CS_OK, ""};
    json_t *contact = NULL;
    json_error_t jerr;
    const char *status = NULL;
    char *contact_json = NULL;
    int tos = 0;
    csi_acme_account now;

    memset(&now, 0, sizeof now);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (strcmp(r->account.id, id) != 0) {
        csi_acme_problem(r, 403, "unauthorized", "account %s is not the signer's", id);
        return;
    }
    if (!r->payload) {
        reply_account(r, 200, &r->account);
        return;
    }
    if (json_unpack_ex(r->payload, &jerr, 0, "{s?o, s?s, s?b}", "contact", &contact, "status",
                       &status, "termsOfServiceAgreed", &tos) != 0) {
        csi_acme_problem(r, 400, "malformed", "account: %s", jerr.text);
        return;
    }
    /* 7.3.6: the only status a client may set */
    if (status && strcmp(status, "deactivated") != 0 && strcmp(status, "valid") != 0) {
        csi_acme_problem(r, 400, "malformed", "account: status may only become deactivated");
        return;
    }
    if (contact && !(contact_json = check_contact(r, contact)))
        return;
    if (csi_acme_db_account_update(r->acme->db, id, contact_json,
                                   status && strcmp(status, "deactivated") == 0 ? status : NULL,
                                   &err) != CS_OK ||
        csi_acme_db_account_get(r->acme->db, id, &now, &err) != CS_OK) {
        csi_acme_problem(r, err.code == CS_EMISMATCH ? 403 : 500,
                         err.code == CS_EMISMATCH ? "unauthorized" : "serverInternal", "%s",
                         err.msg);
        free(contact_json);
        return;
    }
    free(contact_json);
    reply_account(r, 200, &now);
    csi_acme_account_clear(&now);
}

void csi_acme_key_change(acme_req *r)
{
    cs_jws *inner = NULL;
    cs_jws_fault fault = CS_JWS_MALFORMED;
    cs_err err = {CS_OK, ""};
    const cs_key *new_key;
    cs_key *old = NULL;
    const unsigned char *p;
    size_t len = 0;
    json_t *body = NULL, *old_jwk = NULL;
    json_error_t jerr;
    const char *account = NULL;
    char *text = NULL, *old_text = NULL, *old_canon = NULL, *new_canon = NULL;
    char thumb[CS_JWK_THUMBPRINT_LEN + 1], kid[512], other[CSI_ACME_ID_LEN + 1];
    csi_acme_account now;
    cs_code rc;

    memset(&now, 0, sizeof now);
    if (csi_acme_authenticate(r, CSI_SIGNER_KID) != 0)
        return;
    if (!r->payload) {
        csi_acme_problem(r, 400, "malformed", "keyChange: the payload must be a JWS");
        return;
    }
    /* 7.3.5: the payload is a JWS signed by the new key */
    text = json_dumps(r->payload, JSON_COMPACT);
    if (!text || cs_jws_parse(text, strlen(text), &inner, &fault, &err) != CS_OK) {
        inner = NULL;
        csi_acme_problem(r, csi_acme_problem_status(cs_jws_fault_problem(fault)),
                         cs_jws_fault_problem(fault), "keyChange inner JWS: %s",
                         text ? err.msg : "out of memory");
        goto done;
    }
    new_key = cs_jws_jwk(inner);
    if (!new_key || cs_jws_kid(inner)) {
        csi_acme_problem(r, 400, "malformed", "keyChange inner JWS: must carry the new key as "
                         "jwk, and no kid");
        goto done;
    }
    if (cs_jws_nonce(inner)) {
        csi_acme_problem(r, 400, "malformed", "keyChange inner JWS: must not carry a nonce");
        goto done;
    }
    if (!cs_jws_url(inner) || strcmp(cs_jws_url(inner), r->url) != 0) {
        csi_acme_problem(r, 400, "malformed", "keyChange inner JWS: url must be the outer "
                         "one's");
        goto done;
    }
    if (cs_jws_verify(inner, new_key, &fault, &err) != CS_OK) {
        csi_acme_problem(r, csi_acme_problem_status(cs_jws_fault_problem(fault)),
                         cs_jws_fault_problem(fault), "keyChange inner JWS: %s", err.msg);
        goto done;
    }
    p = cs_jws_payload(inner, &len);
    body = len ? json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!body || json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s:o}", "account", &account,
                                "oldKey", &old_jwk) != 0) {
        csi_acme_problem(r, 400, "malformed", "keyChange: the inner payload must be {account, "
                         "oldKey}%s%s", body ? ": " : "", body ? jerr.text : "");
        goto done;
    }
    csi_acme_url(r->acme, kid, sizeof kid, "acct", r->account.id);
    if (strcmp(account, kid) != 0) {
        csi_acme_problem(r, 403, "unauthorized", "keyChange: account is not the signer's");
        goto done;
    }
    old_text = json_dumps(old_jwk, JSON_COMPACT);
    if (!old_text || cs_jwk_from_json(old_text, strlen(old_text), &old, &fault, &err) != CS_OK ||
        cs_jwk_to_json(old, &old_canon, &err) != CS_OK) {
        csi_acme_problem(r, 400, "malformed", "keyChange: oldKey: %s",
                         old_text ? err.msg : "out of memory");
        goto done;
    }
    if (strcmp(old_canon, r->account.jwk) != 0) {
        csi_acme_problem(r, 403, "unauthorized", "keyChange: oldKey is not the account's key");
        goto done;
    }
    if (cs_jwk_to_json(new_key, &new_canon, &err) != CS_OK ||
        cs_jwk_thumbprint(new_key, thumb, &err) != CS_OK) {
        csi_acme_problem(r, 400, "badPublicKey", "keyChange: %s", err.msg);
        goto done;
    }
    rc = csi_acme_db_account_rekey(r->acme->db, r->account.id, r->account.jwk, new_canon, thumb,
                                   other, &err);
    if (rc == CS_EEXIST) {
        /* 7.3.5: 409 and where the holder of that key is */
        char where[512];
        csi_acme_url(r->acme, where, sizeof where, "acct", other);
        csi_acme_problem(r, 409, "malformed", "keyChange: the new key belongs to another "
                         "account");
        if (other[0])
            csi_acme_header(r, "Location", where);
        goto done;
    }
    if (rc != CS_OK || csi_acme_db_account_get(r->acme->db, r->account.id, &now, &err) !=
                           CS_OK) {
        csi_acme_problem(r, rc == CS_EMISMATCH ? 403 : 500,
                         rc == CS_EMISMATCH ? "unauthorized" : "serverInternal", "%s", err.msg);
        goto done;
    }
    reply_account(r, 200, &now);
done:
    csi_acme_account_clear(&now);
    free(new_canon);
    free(old_canon);
    free(old_text);
    cs_key_free(old);
    json_decref(body);
    cs_jws_free(inner);
    free(text);
}
