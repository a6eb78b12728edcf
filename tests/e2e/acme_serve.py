"""The ACME client of tests/e2e/acme_serve.sh: Debian's python3-acme (the
library certbot is built on) against `serve.lua --acme`, exercising what
the Lua side decides: an account, an http-01 order issued through
ca:issue, the policy's refusals reaching the client as RFC 8555 problems
(rejectedIdentifier, badCSR), revocation by the account and by the
certificate's key, and EAB when required.

Usage: acme_serve.py STEP DIRECTORY ROOT_PEM OUT_DIR HTTP_PORT [ARGS...]
Prints one line per fact checked ("ok: ..." or "FAIL: ..."), writes the
certificates it gets to OUT_DIR for the shell to check with openssl, and
exits 1 when a check failed.
"""
import datetime
import http.server
import os
import sys
import threading

import josepy as jose
import OpenSSL
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

step, directory_url, root, out, http_port = sys.argv[1:6]
extra = sys.argv[6:]
failures = 0


def ok(what):
    print("ok:", what, flush=True)


def fail(what):
    global failures
    failures += 1
    print("FAIL:", what, flush=True)


def check(cond, what):
    (ok if cond else fail)(what)


# http-01: the key authorizations served on the validation port, what the
# server's validator fetches (resolved to 127.0.0.1 by --acme-resolve).
tokens = {}


class Responder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = tokens.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


responder = http.server.ThreadingHTTPServer(("127.0.0.1", int(http_port)), Responder)
threading.Thread(target=responder.serve_forever, daemon=True).start()


def ec_jwk():
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


def connect(key, alg=jose.ES256):
    net = client.ClientNetwork(key, alg=alg, verify_ssl=root, user_agent="chainsmith-e2e")
    directory = client.ClientV2.get_directory(directory_url, net)
    return client.ClientV2(directory, net), net


def register(acme, key, eab=None):
    kwargs = {"email": "ops@app.test", "terms_of_service_agreed": True}
    if eab:
        kid, hmac = eab
        kwargs["external_account_binding"] = messages.ExternalAccountBinding.from_data(
            account_public_key=key.public_key(), kid=kid, hmac_key=hmac,
            directory=acme.directory)
    return acme.new_account(messages.NewRegistration.from_data(**kwargs))


def deadline(seconds=90):
    return datetime.datetime.now() + datetime.timedelta(seconds=seconds)


def cert_key_pem(kind="ec"):
    if kind == "rsa":
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        k = ec.generate_private_key(ec.SECP256R1())
    return k, k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())


def order_http01(acme, account_key, names, kind="ec"):
    """Order names, answer each http-01 challenge; the order, ready to finalize."""
    k, pem = cert_key_pem(kind)
    order = acme.new_order(crypto_util.make_csr(pem, names))
    for authz in order.authorizations:
        offered = [c.chall.typ for c in authz.body.challenges]
        chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = chall.response_and_validation(account_key)
        tokens[chall.chall.path] = validation
        acme.answer_challenge(chall, response)
        if names and authz.body.identifier.value == names[0]:
            check(sorted(offered) == ["dns-01", "http-01", "tls-alpn-01"],
                  "the policy's challenge types are offered: %s" % offered)
    return order, k


def problem_type(e):
    """An RFC 8555 problem's type without its URN prefix, and its words."""
    problem = e.error if isinstance(e, errors.IssuanceError) else e
    typ = getattr(problem, "typ", None) or ""
    return typ.rsplit(":", 1)[-1], "%s :: %s" % (typ, getattr(problem, "detail", problem))


def load_cert(pem):
    return OpenSSL.crypto.load_certificate(OpenSSL.crypto.FILETYPE_PEM, pem)


def write(name, text):
    with open(os.path.join(out, name), "w") as f:
        f.write(text)


def issue_and_revoke():
    key = ec_jwk()
    acme, _ = connect(key)
    regr = register(acme, key)
    check(regr.body.status in (None, "valid"), "account registered (the account hook said yes)")

    # an order the policy takes: issued under the server profile
    order, _ = order_http01(acme, key, ["app.test", "www.app.test"])
    order = acme.poll_and_finalize(order, deadline())
    write("app.pem", order.fullchain_pem)
    check(order.fullchain_pem.count("BEGIN CERTIFICATE") == 2,
          "the chain is the leaf and the intermediate")
    ok("issued app.test through finalize -> processing -> valid")

    # revoked by the account that ordered it (reason keyCompromise)
    leaf = jose.ComparableX509(load_cert(order.fullchain_pem.encode()))
    acme.revoke(leaf, 1)
    ok("revoked by the account")
    try:
        acme.revoke(leaf, 1)
        fail("a second revocation was accepted")
    except messages.Error as e:
        t, words = problem_type(e)
        check(t == "alreadyRevoked", "revoking twice is alreadyRevoked (%s)" % words)

    # a reason the policy does not take
    order, _ = order_http01(acme, key, ["hold.app.test"])
    order = acme.poll_and_finalize(order, deadline())
    held = jose.ComparableX509(load_cert(order.fullchain_pem.encode()))
    try:
        acme.revoke(held, 6)
        fail("certificateHold was accepted")
    except messages.Error as e:
        t, words = problem_type(e)
        check(t == "badRevocationReason", "certificateHold is badRevocationReason (%s)" % words)

    # revoked by the certificate's own key (RSA), no account involved
    order, rsa_key = order_http01(acme, key, ["rsa.app.test"], kind="rsa")
    order = acme.poll_and_finalize(order, deadline())
    write("rsa.pem", order.fullchain_pem)
    rsa_leaf = jose.ComparableX509(load_cert(order.fullchain_pem.encode()))
    by_key, _ = connect(jose.JWKRSA(key=rsa_key), alg=jose.RS256)
    by_key.revoke(rsa_leaf, 0)
    ok("revoked by the certificate's RSA key")

    # names outside the intermediate's nameConstraints: rejectedIdentifier at order time
    _, pem = cert_key_pem()
    try:
        acme.new_order(crypto_util.make_csr(pem, ["app.test", "example.com"]))
        fail("an order for example.com was taken")
    except messages.Error as e:
        t, words = problem_type(e)
        check(t == "rejectedIdentifier" and "example.com" in words
              and "name-constraints" in words,
              "example.com is rejectedIdentifier naming the rule (%s)" % words)

    # a wildcard under a profile without allow_wildcard
    try:
        acme.new_order(crypto_util.make_csr(pem, ["*.app.test"]))
        fail("a wildcard order was taken")
    except messages.Error as e:
        t, words = problem_type(e)
        check(t == "rejectedIdentifier" and "allow_wildcard" in words,
              "a wildcard is rejectedIdentifier naming allow_wildcard (%s)" % words)

    # a hook's error type core does not send: serverInternal, not a wait
    try:
        acme.new_order(crypto_util.make_csr(pem, ["odd.app.test"]))
        fail("an order the hook refused was taken")
    except messages.Error as e:
        t, words = problem_type(e)
        check(t == "serverInternal" and "could not be used" in words,
              "a hook's unknown error type becomes serverInternal (%s)" % words)

    # the policy's finalize hook refuses: the order ends invalid with badCSR
    order, _ = order_http01(acme, key, ["refused.app.test"])
    try:
        acme.poll_and_finalize(order, deadline())
        fail("the finalize hook's refusal did not reach the client")
    except errors.IssuanceError as e:
        t, words = problem_type(e)
        check(t == "badCSR" and "no certificates for refused.app.test today" in words,
              "the finalize hook's refusal is badCSR in its words (%s)" % words)


def eab():
    kid, hmac = extra[0], extra[1]
    key = ec_jwk()
    acme, _ = connect(key)
    check(acme.directory.meta.external_account_required,
          "the directory says externalAccountRequired")
    try:
        register(acme, key)
        fail("an account without EAB was made")
    except messages.Error as e:
        t, words = problem_type(e)
        check(t == "externalAccountRequired", "no EAB: externalAccountRequired (%s)" % words)
    regr = register(acme, key, (kid, hmac))
    check(regr.body.status in (None, "valid"), "an account with EAB kid %s" % kid)
    order, _ = order_http01(acme, key, ["eab.app.test"])
    order = acme.poll_and_finalize(order, deadline())
    write("eab.pem", order.fullchain_pem)
    ok("issued eab.app.test to the EAB account")


try:
    {"issue": issue_and_revoke, "eab": eab}[step]()
except Exception as e:  # a failure the steps did not expect: named, not a traceback only
    fail("%s: %s: %s" % (step, type(e).__name__, e))
responder.shutdown()
sys.exit(1 if failures else 0)
