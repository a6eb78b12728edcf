"""A small raw ACME client for the tests and the benchmark: ES256 JWS made
by hand (with the cryptography package), so tests/acme/hostile.py can send
requests a correct library refuses to make, and bench/acme_orders.py can
drive many accounts at once with nothing in the way (no sleeps between
polls beyond its own).
"""
import base64
import hashlib
import json
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ERR = "urn:ietf:params:acme:error:"


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    """An EC P-256 account (or certificate) key that signs ES256 JWS."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": b64(nums.x.to_bytes(32, "big")), "y": b64(nums.y.to_bytes(32, "big"))}

    def thumbprint(self):
        canon = json.dumps(self.jwk, sort_keys=True, separators=(",", ":"))
        return b64(hashlib.sha256(canon.encode()).digest())

    def sign(self, data):
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Server:
    def __init__(self, directory_url, verify, timeout=60):
        """verify: the PEM bundle that verifies the server's TLS; timeout:
        seconds any one request may take."""
        self.timeout = timeout
        self.http = requests.Session()
        self.http.verify = verify
        # no REQUESTS_CA_BUNDLE or proxy from the environment: loopback, our trust
        self.http.trust_env = False
        self.http.headers["User-Agent"] = "chainsmith-tests"
        self.dir = self.http.get(directory_url, timeout=timeout).json()
        self.saved_nonce = None

    def nonce(self):
        """A fresh nonce from newNonce."""
        r = self.http.head(self.dir["newNonce"], timeout=self.timeout)
        return r.headers["Replay-Nonce"]

    def next_nonce(self):
        """The nonce the last response carried (as clients do), else a fresh one."""
        nonce, self.saved_nonce = self.saved_nonce, None
        return nonce or self.nonce()

    def jws(self, key, url, payload, kid=None, nonce=None, protected=None):
        """A flattened JWS; payload None is POST-as-GET ("")."""
        header = {"alg": "ES256", "nonce": nonce or self.next_nonce(), "url": url}
        if kid:
            header["kid"] = kid
        else:
            header["jwk"] = key.jwk
        header.update(protected or {})
        p = b64(json.dumps(header))
        body = "" if payload is None else b64(payload if isinstance(payload, str)
                                                else json.dumps(payload))
        sig = key.sign(f"{p}.{body}".encode())
        return {"protected": p, "payload": body, "signature": b64(sig)}

    def post_raw(self, url, body, content_type="application/jose+json"):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        r = self.http.post(url, data=body, headers={"Content-Type": content_type},
                           timeout=self.timeout)
        self.saved_nonce = r.headers.get("Replay-Nonce")
        return r

    def post(self, key, url, payload, kid=None, **kw):
        return self.post_raw(url, self.jws(key, url, payload, kid=kid, **kw))

    def ok(self, r, what):
        if r.status_code >= 300:
            raise RuntimeError(f"{what}: {r.status_code} {r.text[:300]}")
        return r


class Account:
    def __init__(self, server):
        self.server, self.key = server, Key()
        payload = {"termsOfServiceAgreed": True, "contact": ["mailto:ops@example.org"]}
        r = server.ok(server.post(self.key, server.dir["newAccount"], payload), "newAccount")
        self.kid = r.headers["Location"]

    def post(self, url, payload, **kw):
        return self.server.post(self.key, url, payload, kid=self.kid, **kw)

    def get(self, url):
        return self.server.ok(self.post(url, None), f"POST-as-GET {url}")



def csr_for(names, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return key, b64(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def wait_status(acct, url, want, timeout=60, poll=0.2, on_poll=None):
    """Read url until its status is in want (or timeout s pass); on_poll(),
    when given, is called before each read."""
    deadline = time.time() + timeout
    while True:
        if on_poll:
            on_poll()
        body = acct.get(url).json()
        if body["status"] in want or time.time() > deadline:
            return body
        time.sleep(poll)


def new_order(acct, names):
    r = acct.server.ok(acct.post(acct.server.dir["newOrder"],
                                 {"identifiers": [{"type": "dns", "value": n} for n in names]}),
                       "newOrder")
    return r.headers["Location"], r.json()


def make_ready(acct, publish, order_url, order, poll=0.2):
    """Answer every authorization's http-01 and wait for the order to be ready."""
    for authz_url in order["authorizations"]:
        authz = acct.get(authz_url).json()
        chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
        publish(chall["token"], f"{chall['token']}.{acct.key.thumbprint()}")
        acct.server.ok(acct.post(chall["url"], {}), "challenge")
        done = wait_status(acct, authz_url, ("valid", "invalid"), poll=poll)
        if done["status"] != "valid":
            raise RuntimeError(f"authorization {authz_url}: {json.dumps(done)}")
    return wait_status(acct, order_url, ("ready", "invalid"), poll=poll)


def issue(acct, publish, names, poll=0.2):
    """A certificate for names; returns (PEM chain, certificate key)."""
    order_url, order = new_order(acct, names)
    order = make_ready(acct, publish, order_url, order, poll)
    key, csr = csr_for(names)
    acct.server.ok(acct.post(order["finalize"], {"csr": csr}), "finalize")
    order = wait_status(acct, order_url, ("valid", "invalid"), poll=poll)
    return acct.get(order["certificate"]).text, key


