#!/usr/bin/python3
"""The ACME server's protocol checks, driven by tests/c/test_acme.c against
a chainsmith ACME server on loopback (a C thread answers the decision queue
as the Lua side would).

usage: core_checks.py --directory URL --ca PEM --http-port PORT
                      [--eab-directory URL --eab-kid KID --eab-hmac B64URL]

The happy paths use python3-acme (what certbot is built on); the hostile
requests are built here by hand (JWS signed with the cryptography package),
since a correct library refuses to make them. Every hostile request must get
its problem document, with Replay-Nonce and Link rel="index", and change
nothing (checked by reading the state again through the protocol).
http-01 is answered by a responder on 127.0.0.1:PORT (names *.test must
resolve to 127.0.0.1 for the server). Prints "ok - name" or "not ok - name:
why" per check; exits 1 if any failed.
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import sys
import threading

import josepy as jose
import requests
from OpenSSL import crypto as ocrypto
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ERR = "urn:ietf:params:acme:error:"
FAILED = []


def check(name, ok, why=""):
    if ok:
        print("ok - %s" % name)
    else:
        print("not ok - %s: %s" % (name, why))
        FAILED.append(name)
    sys.stdout.flush()
    return ok


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- http-01 responder ----
TOKENS = {}


class Responder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        prefix = "/.well-known/acme-challenge/"
        body = TOKENS.get(self.path[len(prefix):]) if self.path.startswith(prefix) else None
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


# ---- keys and hand-made JWS ----
def ec_key(curve=None):
    return ec.generate_private_key(curve or ec.SECP256R1())


def jwk_of(key):
    pub = key.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        n = (pub.curve.key_size + 7) // 8
        nums = pub.public_numbers()
        return {"kty": "EC", "crv": "P-%d" % pub.curve.key_size,
                "x": b64(nums.x.to_bytes(n, "big")), "y": b64(nums.y.to_bytes(n, "big"))}
    nums = pub.public_numbers()
    e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
    m = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "n": b64(m), "e": b64(e)}


def alg_of(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES384" if key.curve.key_size == 384 else "ES256"
    return "RS256"


def sign_raw(key, data):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        h = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
        n = (key.curve.key_size + 7) // 8
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def jws_text(key, protected, payload):
    """protected and payload are strings (JSON as sent, duplicates and all)."""
    p, q = b64(protected), b64(payload)
    return json.dumps({"protected": p, "payload": q,
                       "signature": b64(sign_raw(key, ("%s.%s" % (p, q)).encode()))})


class Raw:
    """Requests made by hand against one directory."""

    def __init__(self, directory, ca):
        self.s = requests.Session()
        self.s.verify = ca
        self.d = self.s.get(directory).json()
        self.base = directory[:-len("/acme/directory")]

    def nonce(self):
        return self.s.head(self.d["newNonce"]).headers["Replay-Nonce"]

    def post(self, url, payload, key, kid=None, nonce=None, alg=None, extra=None,
             ctype="application/jose+json", protected=None, body=None):
        if body is None:
            if protected is None:
                hdr = {"alg": alg or alg_of(key), "nonce": nonce or self.nonce(), "url": url}
                if kid:
                    hdr["kid"] = kid
                else:
                    hdr["jwk"] = jwk_of(key)
                hdr.update(extra or {})
                protected = json.dumps(hdr)
            if not isinstance(payload, str):
                payload = json.dumps(payload)
            body = jws_text(key, protected, payload)
        return self.s.post(url, data=body, headers={"Content-Type": ctype})


def problem(r, want_type, want_status=None):
    """Whether r is the problem document wanted, with the headers every reply has."""
    try:
        doc = r.json()
    except ValueError:
        return False, "not JSON: %r" % r.text[:200]
    why = []
    if r.headers.get("Content-Type") != "application/problem+json":
        why.append("Content-Type %s" % r.headers.get("Content-Type"))
    if doc.get("type") != ERR + want_type:
        why.append("type %s" % doc.get("type"))
    if want_status and r.status_code != want_status:
        why.append("status %d" % r.status_code)
    if "Replay-Nonce" not in r.headers:
        why.append("no Replay-Nonce")
    if 'rel="index"' not in r.headers.get("Link", ""):
        why.append("no Link rel=index")
    return not why, "; ".join(why) + " (%d %s)" % (r.status_code, r.text[:300])


def expect_problem(name, r, want_type, want_status=None):
    ok, why = problem(r, want_type, want_status)
    return check(name, ok, why)


# ---- python3-acme ----
def acme_client(directory, ca, key=None, alg=None):
    key = key or ec_key()
    jwk = jose.JWKEC(key=key) if isinstance(key, ec.EllipticCurvePrivateKey) else jose.JWKRSA(key=key)
    a = {"ES256": jose.ES256, "ES384": jose.ES384, "RS256": jose.RS256}[alg or alg_of(key)]
    net = client.ClientNetwork(jwk, alg=a, verify_ssl=ca, user_agent="chainsmith-test")
    d = client.ClientV2.get_directory(directory, net)
    return client.ClientV2(d, net), key


def cert_key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def obtain(acme, names, key=None):
    """An order for names through http-01; the order resource, finalized."""
    key = key or ec_key()
    csr = crypto_util.make_csr(cert_key_pem(key), names)
    orderr = acme.new_order(csr)
    for authz in orderr.authorizations:
        for chall in authz.body.challenges:
            if isinstance(chall.chall, challenges.HTTP01):
                resp, validation = chall.response_and_validation(acme.net.key)
                TOKENS[chall.chall.encode("token")] = validation
                acme.answer_challenge(chall, resp)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    return acme.poll_and_finalize(orderr, deadline), key


def ready_order(acme, names):
    """An order for names whose authorizations are valid (ready to finalize)."""
    raw_csr = crypto_util.make_csr(cert_key_pem(ec_key()), names)
    orderr = acme.new_order(raw_csr)
    for authz in orderr.authorizations:
        for chall in authz.body.challenges:
            if isinstance(chall.chall, challenges.HTTP01):
                resp, validation = chall.response_and_validation(acme.net.key)
                TOKENS[chall.chall.encode("token")] = validation
                acme.answer_challenge(chall, resp)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    acme.poll_authorizations(orderr, deadline)
    return orderr


def leaf_of(fullchain):
    """The certificates of a PEM chain (Debian's cryptography has no
    load_pem_x509_certificates yet)."""
    end = "-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate((part + end).encode())
            for part in fullchain.split(end) if "-----BEGIN" in part]


def comparable(pem):
    return jose.ComparableX509(ocrypto.load_certificate(ocrypto.FILETYPE_PEM, pem))


def der_csr(key, names):
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                        critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--directory", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--eab-directory")
    ap.add_argument("--eab-kid")
    ap.add_argument("--eab-hmac")
    args = ap.parse_args()
    # requests lets these override a session's own CA bundle
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.http_port), Responder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    raw = Raw(args.directory, args.ca)
    d = raw.d

    # ---- directory and nonces ----
    check("directory lists the five resources",
          all(k in d for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange")),
          str(d))
    check("directory meta: termsOfService, externalAccountRequired false",
          d.get("meta", {}).get("termsOfService") and
          d["meta"].get("externalAccountRequired") is False, str(d))
    r = raw.s.head(d["newNonce"])
    check("newNonce HEAD: 200, Replay-Nonce, Cache-Control no-store, Link index",
          r.status_code == 200 and r.headers.get("Replay-Nonce") and
          r.headers.get("Cache-Control") == "no-store" and 'rel="index"' in r.headers["Link"],
          "%d %s" % (r.status_code, r.headers))
    r = raw.s.get(d["newNonce"])
    check("newNonce GET: 204", r.status_code == 204 and r.headers.get("Replay-Nonce"),
          str(r.status_code))
    nonces = {raw.nonce() for _ in range(50)}
    check("nonces differ", len(nonces) == 50)

    # ---- accounts (python3-acme) ----
    a, a_key = acme_client(args.directory, args.ca)
    regr = a.new_account(messages.NewRegistration.from_data(
        email="alice@example.test", terms_of_service_agreed=True))
    a.net.account = regr
    check("newAccount: created", regr.body.status == "valid" and "/acme/acct/" in regr.uri,
          str(regr))
    r = raw.post(d["newAccount"], {"termsOfServiceAgreed": True}, a_key)
    check("newAccount with a known key: 200 and the same account",
          r.status_code == 200 and r.headers.get("Location") == regr.uri,
          "%d %s" % (r.status_code, r.headers.get("Location")))
    r = raw.post(d["newAccount"], {"onlyReturnExisting": True}, ec_key())
    expect_problem("onlyReturnExisting with an unknown key: accountDoesNotExist", r,
                   "accountDoesNotExist", 400)
    r = raw.post(d["newAccount"], {"contact": ["tel:+1555"]}, ec_key())
    expect_problem("contact other than mailto: unsupportedContact", r, "unsupportedContact")
    r = raw.post(d["newAccount"], {"contact": ["mailto:a@b.test,c@d.test"]}, ec_key())
    expect_problem("two addresses in one mailto: invalidContact", r, "invalidContact")

    # ---- the whole order: http-01, finalize, download ----
    orderr, cert_key = obtain(a, ["a.test", "b.test"])
    chain = leaf_of(orderr.fullchain_pem)
    sans = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    check("order valid, chain of leaf + intermediate naming a.test, b.test",
          orderr.body.status == messages.STATUS_VALID and len(chain) == 2 and
          sorted(sans.get_values_for_type(x509.DNSName)) == ["a.test", "b.test"],
          "%s %d" % (orderr.body.status, len(chain)))
    r = raw.post(orderr.body.certificate, "", a_key, kid=regr.uri)
    check("certificate download: application/pem-certificate-chain",
          r.status_code == 200 and
          r.headers.get("Content-Type") == "application/pem-certificate-chain" and
          r.text == orderr.fullchain_pem, "%d %s" % (r.status_code, r.headers))

    # ---- revocation by the account ----
    a.revoke(comparable(orderr.fullchain_pem.encode()), 4)
    check("revokeCert by the account: done", True)
    try:
        a.revoke(comparable(orderr.fullchain_pem.encode()), 4)
        check("revoking twice: alreadyRevoked", False, "accepted")
    except errors.Error as e:
        check("revoking twice: alreadyRevoked", getattr(e, "typ", "") == ERR + "alreadyRevoked",
              str(e))

    # ---- revocation by the certificate's key (jwk) ----
    orderr2, cert_key2 = obtain(a, ["c.test"])
    b, b_key = acme_client(args.directory, args.ca)
    b_regr = b.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    b.net.account = b_regr
    # someone else's certificate: refused, and nothing changed
    try:
        b.revoke(comparable(orderr2.fullchain_pem.encode()), 0)
        check("revoking another account's certificate: unauthorized", False, "accepted")
    except errors.Error as e:
        check("revoking another account's certificate: unauthorized",
              getattr(e, "typ", "") == ERR + "unauthorized", str(e))
    der = leaf_of(orderr2.fullchain_pem)[0].public_bytes(serialization.Encoding.DER)
    r = raw.post(d["revokeCert"], {"certificate": b64(der), "reason": 1}, ec_key())
    expect_problem("revokeCert by a key that is not the certificate's: unauthorized", r,
                   "unauthorized", 403)
    r = raw.post(d["revokeCert"], {"certificate": b64(der), "reason": 2}, cert_key2)
    expect_problem("revokeCert reason cACompromise: badRevocationReason", r,
                   "badRevocationReason")
    r = raw.post(d["revokeCert"], {"certificate": b64(der), "reason": 1}, cert_key2)
    check("revokeCert signed by the certificate's key: 200", r.status_code == 200,
          "%d %s" % (r.status_code, r.text))
    r = raw.post(d["revokeCert"], {"certificate": b64(der)}, a_key, kid=regr.uri)
    expect_problem("then by the account: alreadyRevoked", r, "alreadyRevoked")

    # ---- RSA and P-384 accounts ----
    for label, key in (("RSA 2048 (RS256)", rsa.generate_private_key(65537, 2048)),
                       ("P-384 (ES384)", ec_key(ec.SECP384R1()))):
        c, _ = acme_client(args.directory, args.ca, key)
        try:
            rr = c.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
            c.net.account = rr
            o, _ = obtain(c, ["rsa.test" if "RSA" in label else "p384.test"])
            check("account key %s: account and certificate" % label,
                  o.body.status == messages.STATUS_VALID)
        except errors.Error as e:
            check("account key %s: account and certificate" % label, False, str(e))
    r = raw.post(d["newAccount"], {}, rsa.generate_private_key(65537, 1024))
    expect_problem("RSA 1024 account key: badPublicKey", r, "badPublicKey")

    # ---- hostile: replayed nonce ----
    n = raw.nonce()
    r = raw.post(regr.uri, "", a_key, kid=regr.uri, nonce=n)
    check("POST-as-GET of the account: 200", r.status_code == 200, r.text[:200])
    r = raw.post(regr.uri, "", a_key, kid=regr.uri, nonce=n)
    expect_problem("replayed nonce: badNonce", r, "badNonce", 400)
    r = raw.post(regr.uri, "", a_key, kid=regr.uri, nonce="AAAA" + n[4:])
    expect_problem("forged nonce: badNonce", r, "badNonce", 400)

    # ---- hostile: wrong url (the nonce is not spent: the check comes first) ----
    n = raw.nonce()
    r = raw.s.post(regr.uri, data=jws_text(a_key, json.dumps(
        {"alg": "ES256", "nonce": n, "url": regr.uri + "x", "kid": regr.uri}), ""),
        headers={"Content-Type": "application/jose+json"})
    expect_problem("wrong url in the protected header: unauthorized", r, "unauthorized")
    r = raw.post(regr.uri, "", a_key, kid=regr.uri, nonce=n)
    check("the nonce of a refused request before its signature check is still good",
          r.status_code == 200, r.text[:200])
    # a bad signature does not spend the nonce either
    n = raw.nonce()
    body = json.loads(raw_body := jws_text(a_key, json.dumps(
        {"alg": "ES256", "nonce": n, "url": regr.uri, "kid": regr.uri}), ""))
    body["signature"] = b64(b"\x01" * 64)
    r = raw.s.post(regr.uri, data=json.dumps(body),
                   headers={"Content-Type": "application/jose+json"})
    expect_problem("a bad signature: malformed", r, "malformed", 400)
    r = raw.post(regr.uri, "", a_key, kid=regr.uri, nonce=n)
    check("a stranger's bad signature does not burn the nonce", r.status_code == 200,
          r.text[:200])
    del raw_body

    # ---- hostile: another account's kid ----
    r = raw.post(b_regr.uri, {"status": "deactivated"}, a_key, kid=b_regr.uri)
    expect_problem("another account's kid, signed with my key: malformed", r, "malformed")
    r = raw.post(b_regr.uri, "", b_key, kid=b_regr.uri)
    check("... and that account is still valid", r.status_code == 200 and
          r.json().get("status") == "valid", r.text[:200])
    r = raw.post(b_regr.uri, {"status": "deactivated"}, a_key, kid=regr.uri)
    expect_problem("my kid on another account's URL: unauthorized", r, "unauthorized", 403)
    r = raw.post(orderr.uri, "", b_key, kid=b_regr.uri)
    expect_problem("reading another account's order: unauthorized", r, "unauthorized", 403)
    r = raw.post(d["newAccount"] + "x", "", a_key, kid=regr.uri)
    expect_problem("an unknown resource: 404 malformed", r, "malformed", 404)
    r = raw.post(regr.uri, "", a_key, kid=args.directory.replace("directory", "acct/") +
                 "A" * 22)
    expect_problem("a kid of no account: accountDoesNotExist", r, "accountDoesNotExist")

    # ---- hostile: finalize before ready ----
    orders_before = raw.post(regr.uri + "/orders", "", a_key, kid=regr.uri).json()["orders"]
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "p.test"}]}, a_key,
                 kid=regr.uri)
    pending = r.json()
    pending_url = r.headers.get("Location")
    check("newOrder: 201 pending with a Location", r.status_code == 201 and
          pending.get("status") == "pending" and pending_url, r.text[:300])
    csr_key = ec_key()
    r = raw.post(pending["finalize"], {"csr": b64(der_csr(csr_key, ["p.test"]))}, a_key,
                 kid=regr.uri)
    expect_problem("finalize before ready: orderNotReady", r, "orderNotReady", 403)
    r = raw.post(pending_url, "", a_key, kid=regr.uri)
    check("... and the order is still pending", r.json().get("status") == "pending", r.text)
    r = raw.post(pending_url, {}, a_key, kid=regr.uri)
    expect_problem("an order read with a payload: malformed", r, "malformed")

    # ---- hostile: CSRs for a ready order ----
    ready = ready_order(a, ["q.test"])
    fin = ready.body.finalize
    r = raw.post(fin, {"csr": b64(der_csr(csr_key, ["q.test", "evil.test"]))}, a_key,
                 kid=regr.uri)
    expect_problem("CSR naming more than the order: badCSR", r, "badCSR", 400)
    r = raw.post(fin, {"csr": b64(der_csr(csr_key, ["other.test"]))}, a_key, kid=regr.uri)
    expect_problem("CSR naming another name: badCSR", r, "badCSR", 400)
    r = raw.post(fin, {"csr": b64(der_csr(a_key, ["q.test"]))}, a_key, kid=regr.uri)
    expect_problem("CSR with the account key: badCSR", r, "badCSR", 400)
    r = raw.post(fin, {"csr": b64(b"\x30\x03\x02\x01\x00")}, a_key, kid=regr.uri)
    expect_problem("CSR that is no CSR: badCSR", r, "badCSR", 400)
    r = raw.post(ready.uri, "", a_key, kid=regr.uri)
    check("... and the order is still ready", r.json().get("status") == "ready", r.text)
    r = raw.post(fin, {"csr": b64(der_csr(csr_key, ["q.test"]))}, a_key, kid=regr.uri)
    # the reply waits briefly for the issuance: valid, or processing with Retry-After
    check("then the right CSR: 200, valid, or processing with Retry-After",
          r.status_code == 200 and (r.json().get("status") == "valid" or
                                    (r.json().get("status") == "processing" and
                                     r.headers.get("Retry-After") == "1")),
          "%d %s" % (r.status_code, r.text[:300]))

    # ---- hostile: malformed JSON and JWS ----
    dup = '{"identifiers":[{"type":"dns","value":"d1.test"}],' \
          '"identifiers":[{"type":"dns","value":"d2.test"}]}'
    r = raw.post(d["newOrder"], dup, a_key, kid=regr.uri)
    expect_problem("duplicate member in the payload: malformed", r, "malformed", 400)
    n = raw.nonce()
    prot = '{"alg":"ES256","nonce":"%s","url":"%s","kid":"%s","kid":"%s"}' % (
        n, d["newOrder"], regr.uri, b_regr.uri)
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "d3.test"}]}, a_key,
                 protected=prot)
    expect_problem("duplicate member in the protected header: malformed", r, "malformed", 400)
    r = raw.post(d["newOrder"], None, a_key, body="this is not a JWS")
    expect_problem("garbage body: malformed", r, "malformed", 400)
    r = raw.post(d["newOrder"], None, a_key,
                 body='{"protected":"e30","payload":"","signature":"!!"}')
    expect_problem("garbage base64url in a JWS: malformed", r, "malformed", 400)
    r = raw.post(d["newOrder"], None, a_key, body='{"protected":"e30","payload":"",'
                 '"signature":"","header":{}}')
    expect_problem("an unprotected header: malformed", r, "malformed", 400)
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "d4.test"}]}, a_key,
                 kid=regr.uri, ctype="application/json")
    expect_problem("Content-Type application/json: 415 malformed", r, "malformed", 415)
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "d5.test"}]}, a_key,
                 kid=regr.uri, extra={"jwk": jwk_of(a_key)})
    expect_problem("both jwk and kid: malformed", r, "malformed", 400)
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "d6.test"}]}, a_key)
    expect_problem("newOrder signed with a jwk: malformed", r, "malformed", 400)
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "d7.test"}]}, a_key,
                 kid=regr.uri, alg="none")
    expect_problem('alg "none": badSignatureAlgorithm', r, "badSignatureAlgorithm")
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "ip", "value": "10.0.0.1"}]}, a_key,
                 kid=regr.uri)
    expect_problem("an ip identifier: unsupportedIdentifier", r, "unsupportedIdentifier")
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "-bad-.test"}]},
                 a_key, kid=regr.uri)
    expect_problem("a malformed name: rejectedIdentifier", r, "rejectedIdentifier")
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "reject.test"}]},
                 a_key, kid=regr.uri)
    expect_problem("a name policy refuses: rejectedIdentifier", r, "rejectedIdentifier")
    r = raw.s.post(d["newOrder"], data=b"x" * (10 * 1024 * 1024),
                   headers={"Content-Type": "application/jose+json"})
    expect_problem("a 10 MB body: 413 malformed", r, "malformed", 413)
    r = raw.s.get(regr.uri)
    expect_problem("GET on an account: 405 malformed", r, "malformed", 405)
    orders_after = raw.post(regr.uri + "/orders", "", a_key, kid=regr.uri).json()["orders"]
    check("none of the refused newOrders made an order",
          len(orders_after) == len(orders_before) + 2,  # pending + ready
          "%d before, %d after" % (len(orders_before), len(orders_after)))

    # ---- wildcard: dns-01 only ----
    r = raw.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "*.w.test"}]}, a_key,
                 kid=regr.uri)
    authz = raw.post(r.json()["authorizations"][0], "", a_key, kid=regr.uri).json()
    check("a wildcard order: one dns-01 challenge, wildcard true, base name",
          [c["type"] for c in authz["challenges"]] == ["dns-01"] and authz.get("wildcard") and
          authz["identifier"]["value"] == "w.test", json.dumps(authz))
    # authorization deactivation invalidates the order
    r = raw.post(r.json()["authorizations"][0], {"status": "deactivated"}, a_key, kid=regr.uri)
    check("authorization deactivated", r.status_code == 200 and
          r.json().get("status") == "deactivated", r.text[:200])

    # ---- account update, keyChange, deactivation ----
    r = raw.post(regr.uri, {"contact": ["mailto:new@example.test"]}, a_key, kid=regr.uri)
    check("account contact updated", r.status_code == 200 and
          r.json().get("contact") == ["mailto:new@example.test"], r.text[:200])
    new_key = ec_key(ec.SECP384R1())
    inner = jws_text(new_key, json.dumps({"alg": "ES384", "jwk": jwk_of(new_key),
                                          "url": d["keyChange"]}),
                     json.dumps({"account": regr.uri, "oldKey": jwk_of(a_key)}))
    r = raw.post(d["keyChange"], inner, a_key, kid=regr.uri)
    check("keyChange: 200", r.status_code == 200, r.text[:300])
    r = raw.post(regr.uri, "", a_key, kid=regr.uri)
    # (the old key is P-256, the account's now P-384: the alg no longer fits)
    expect_problem("the old key no longer signs for the account", r, "badSignatureAlgorithm")
    r = raw.post(regr.uri, "", new_key, kid=regr.uri)
    check("the new key does", r.status_code == 200, r.text[:200])
    inner = jws_text(b_key, json.dumps({"alg": "ES256", "jwk": jwk_of(b_key),
                                        "url": d["keyChange"]}),
                     json.dumps({"account": regr.uri, "oldKey": jwk_of(new_key)}))
    r = raw.post(d["keyChange"], inner, new_key, kid=regr.uri)
    check("keyChange to another account's key: 409 with its Location",
          r.status_code == 409 and r.headers.get("Location") == b_regr.uri,
          "%d %s" % (r.status_code, r.headers.get("Location")))
    b.deactivate_registration(b_regr)
    r = raw.post(b_regr.uri, "", b_key, kid=b_regr.uri)
    expect_problem("a deactivated account: unauthorized", r, "unauthorized")

    # ---- external account binding ----
    if args.eab_directory:
        e = Raw(args.eab_directory, args.ca)
        check("EAB directory: externalAccountRequired true",
              e.d.get("meta", {}).get("externalAccountRequired") is True, str(e.d))
        k = ec_key()
        r = e.post(e.d["newAccount"], {"termsOfServiceAgreed": True}, k)
        expect_problem("newAccount without EAB: externalAccountRequired", r,
                       "externalAccountRequired", 403)

        def eab(key, kid, hmac_key, url):
            p = b64(json.dumps({"alg": "HS256", "kid": kid, "url": url}))
            q = b64(json.dumps(jwk_of(key)))
            mac = hmac.HMAC(hmac_key, hashes.SHA256())
            mac.update(("%s.%s" % (p, q)).encode())
            return {"protected": p, "payload": q, "signature": b64(mac.finalize())}

        good = base64.urlsafe_b64decode(args.eab_hmac + "=" * (-len(args.eab_hmac) % 4))
        r = e.post(e.d["newAccount"], {"externalAccountBinding":
                                       eab(k, args.eab_kid, b"wrong key 0123456789",
                                           e.d["newAccount"])}, k)
        expect_problem("EAB with the wrong HMAC key: unauthorized", r, "unauthorized")
        r = e.post(e.d["newAccount"], {"externalAccountBinding":
                                       eab(k, "nobody", good, e.d["newAccount"])}, k)
        expect_problem("EAB with an unknown key id: unauthorized", r, "unauthorized")
        r = e.post(e.d["newAccount"], {"externalAccountBinding":
                                       eab(ec_key(), args.eab_kid, good, e.d["newAccount"])}, k)
        expect_problem("EAB binding another key: malformed", r, "malformed")
        c, ck = acme_client(args.eab_directory, args.ca)
        try:
            binding = messages.ExternalAccountBinding.from_data(
                account_public_key=c.net.key.public_key(), kid=args.eab_kid,
                hmac_key=args.eab_hmac, directory=c.directory)
            rr = c.new_account(messages.NewRegistration.from_data(
                terms_of_service_agreed=True, external_account_binding=binding))
            check("newAccount with EAB (python3-acme): created", rr.body.status == "valid")
        except errors.Error as ex:
            check("newAccount with EAB (python3-acme): created", False, str(ex))

    srv.shutdown()
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
