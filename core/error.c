#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static const char *const code_names[] = {
    [CS_OK] = "ok",           [CS_EINVAL] = "invalid",    [CS_EEXIST] = "exists",
    [CS_ENOENT] = "notfound", [CS_EIO] = "io",            [CS_EMISMATCH] = "mismatch",
    [CS_ELINT] = "lint",      [CS_EVERIFY] = "verify",    [CS_EDB] = "db",
    [CS_ECRYPTO] = "crypto",  [CS_ENOMEM] = "nomem",      [CS_ESERVER] = "server",
    [CS_ELOCKED] = "locked",  [CS_EUNSUPPORTED] = "unsupported",
    [CS_ETOOLARGE] = "toolarge",
};

const char *cs_code_name(cs_code code)
{
    if ((unsigned)code >= sizeof code_names / sizeof code_names[0] || !code_names[code])
        return "unknown";
    return code_names[code];
}

static void vset(cs_err *err, cs_code code, const char *fmt, va_list ap)
{
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

cs_code cs_err_set(cs_err *err, cs_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, code, fmt, ap);
        va_end(ap);
    }
    return code;
}

cs_code cs_err_ossl(cs_err *err, cs_code code, const char *fmt, ...)
{
    unsigned long e;
    const char *data;
    int flags;

    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, code, fmt, ap);
        va_end(ap);
    }
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        size_t used;
        const char *reason;
        if (!err)
            continue;
        used = strlen(err->msg);
        if (used + 3 >= sizeof err->msg)
            continue; /* keep draining: the queue must end empty */
        reason = ERR_reason_error_string(e);
        if (reason && (flags & ERR_TXT_STRING) && data && *data)
            snprintf(err->msg + used, sizeof err->msg - used, ": %s (%s)", reason, data);
        else if (reason)
            snprintf(err->msg + used, sizeof err->msg - used, ": %s", reason);
        else
            snprintf(err->msg + used, sizeof err->msg - used, ": error %lx", e);
    }
    return code;
}
