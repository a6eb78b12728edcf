"""A signing-API token made by josepy (an independent JOSE implementation),
for test_signapi.c.

usage: make_jwt.py KEY.pem KID CLAIMS_JSON
KEY.pem: the P-256 private key; prints the compact ES256 JWT with "alg" and
"kid" in its protected header and CLAIMS_JSON, as given, as its payload.
"""
import sys

import josepy as jose
from cryptography.hazmat.primitives import serialization


def main():
    with open(sys.argv[1], "rb") as f:
        key = jose.JWKEC(key=serialization.load_pem_private_key(f.read(), password=None))
    token = jose.JWS.sign(sys.argv[3].encode(), key=key, alg=jose.ES256, kid=sys.argv[2],
                          protect=frozenset(["alg", "kid"]))
    print(token.to_compact().decode())


if __name__ == "__main__":
    main()
