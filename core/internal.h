/* Struct layouts shared inside core only; never included by bindings. */
#ifndef CS_INTERNAL_H
#define CS_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct cs_key {
    EVP_PKEY *pkey;
};

struct cs_cert {
    X509 *x509;
};

#endif
