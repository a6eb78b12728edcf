"""JWS, JWK, thumbprints and JWTs made by an independent implementation
(josepy and python3-acme, what certbot signs with) from keys test_jws.c made
with OpenSSL, so the C parser is checked against a real client's output.

usage: jws_vectors.py DIR
DIR holds ec256.pem, ec384.pem, rsa2048.pem (PKCS#8 private keys) and
hmac.b64 (a base64url HMAC key). Prints one "name<TAB>value" per line; no
value holds a tab or a newline.
"""
import json
import sys

import josepy as jose
from acme import jws as acme_jws
from acme import messages
from cryptography.hazmat.primitives import serialization

URL = "https://127.0.0.1:8443/acme/new-account"
NONCE = b"nonce-bytes-0123"


def load(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def main():
    d = sys.argv[1]
    keys = {
        "ec256": (jose.JWKEC(key=load(d + "/ec256.pem")), jose.ES256),
        "ec384": (jose.JWKEC(key=load(d + "/ec384.pem")), jose.ES384),
        "rsa2048": (jose.JWKRSA(key=load(d + "/rsa2048.pem")), jose.RS256),
    }
    out = []
    payload = json.dumps({"termsOfServiceAgreed": True, "contact": ["mailto:a@example.test"]})
    for name, (key, alg) in keys.items():
        pub = key.public_key()
        # As acme.client does for newAccount: jwk in the header.
        signed = acme_jws.JWS.sign(payload.encode(), key=key, alg=alg, nonce=NONCE, url=URL)
        out.append((name + "_jwk", signed.json_dumps()))
        # As for every later request: kid, and POST-as-GET's empty payload.
        signed = acme_jws.JWS.sign(b"", key=key, alg=alg, nonce=NONCE, url=URL,
                                   kid="https://127.0.0.1:8443/acme/acct/1")
        out.append((name + "_kid_empty", signed.json_dumps()))
        out.append((name + "_thumbprint", jose.b64encode(pub.thumbprint()).decode()))
        out.append((name + "_public_jwk", json.dumps(pub.to_json())))

    hmac = open(d + "/hmac.b64").read().strip()
    directory = messages.Directory({"newAccount": URL})
    eab = messages.ExternalAccountBinding.from_data(keys["ec256"][0].public_key(), "kid-1",
                                                    hmac, directory)
    out.append(("eab_ec256", json.dumps(eab)))

    claims = json.dumps({"aud": "https://127.0.0.1:8443/api/v1/sign", "jti": "t-1",
                         "iat": 1700000000, "exp": 1700000300}).encode()
    token = jose.JWS.sign(claims, key=keys["ec256"][0], alg=jose.ES256, kid="robot-1",
                          protect=frozenset(["alg", "kid"]))
    out.append(("jwt_es256", token.to_compact().decode()))
    out.append(("jwt_es256_claims", claims.decode()))
    for name, value in out:
        assert "\t" not in value and "\n" not in value, name
        print(name + "\t" + value)


if __name__ == "__main__":
    main()
