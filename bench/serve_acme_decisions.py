"""How long an ACME request that needs a Lua decision takes, beside one that
does not, on the same server in the same run (bench/serve_acme_decisions.sh
starts it). Requests that ask Lua: newAccount (an `account` ask) and
newOrder (an `order` ask: the policy checks the names against the profile
and the nameConstraints). Requests that do not: POST-as-GET of the account
(JWS verified, nonce consumed, a database read). The difference is what the
decision queue and the Lua decision cost; before the serve loop waited on
the queue it slept on signals a second at a time, so a decision waited up to
1000 ms (500 ms on average) for the loop to look.

Usage: serve_acme_decisions.py DIRECTORY ROOT_PEM N
Prints one line per kind: median, p90 and max in ms over N sequential
requests (one client, keep-alive), after 5 untimed warm-up requests.
"""
import statistics
import sys
import time

import josepy as jose
from acme import client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

directory_url, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])


def connect(key):
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=root, user_agent="bench")
    return client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)


def timed(f, count):
    for _ in range(5):
        f()
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        f()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(name, ms):
    ms = sorted(ms)
    print("%-34s median %7.2f ms   p90 %7.2f ms   max %7.2f ms   (n=%d)" % (
        name, statistics.median(ms), ms[int(len(ms) * 0.9) - 1], ms[-1], len(ms)), flush=True)


# one account for the queries and orders
key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
acme = connect(key)
regr = acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))

# newAccount: a fresh key each time (made before the clock starts)
fresh = [jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())) for _ in range(n + 5)]
clients = [connect(k) for k in fresh]
it = iter(clients)


def new_account():
    c = next(it)
    c.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))


pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption())
csr = crypto_util.make_csr(pem, ["bench.app.test", "www.bench.app.test"])

report("POST-as-GET account (no Lua)", timed(lambda: acme.query_registration(regr), n))
report("newAccount (account ask)", timed(new_account, n))
report("newOrder, 2 names (order ask)", timed(lambda: acme.new_order(csr), n))
