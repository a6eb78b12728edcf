"""The same JWS as build/jws_verify checks, parsed and verified by josepy
(what certbot's library, python3-acme, and Python ACME servers use): per CPU
second of this process.

usage: jws_verify.py N DIR   (DIR: what build/jws_verify N DIR wrote)
"""
import sys
import time

import josepy as jose
from acme import jws as acme_jws


def main():
    n, d = int(sys.argv[1]), sys.argv[2]
    print("%-6s  %10s" % ("alg", "josepy/CPU-s"))
    for alg in ("ES256", "ES384", "RS256"):
        text = open("%s/%s.jws" % (d, alg)).read()
        t0 = time.process_time()
        for _ in range(n):
            parsed = acme_jws.JWS.json_loads(text)
            # as a server does for newAccount: the key the header carries
            key = parsed.signature.combined.jwk
            assert parsed.verify(key)
        spent = time.process_time() - t0
        print("%-6s  %10.0f" % (alg, n / spent))


if __name__ == "__main__":
    main()
