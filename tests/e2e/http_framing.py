#!/usr/bin/env python3
"""Strict HTTP framing (issue 15 section 3), for http_framing.sh.

  http_framing.py HTTPS_PORT HTTP_PORT ROOT_PEM

Each case sends one request with ambiguous framing and, pipelined behind it
on the same connection, a request for a page that exists. The server must
answer 400 once and close: the follow-up is never answered (request
smuggling). Over TLS and over plain HTTP. Prints each case; exits 1 on any
failure.
"""
import socket
import ssl
import sys

FOLLOW = {"https": b"GET /root.pem HTTP/1.1\r\nHost: localhost\r\n\r\n",
          "http": b"GET /crl/root.crl.pem HTTP/1.1\r\nHost: localhost\r\n\r\n"}
CASES = [
    ("two different Content-Length headers",
     b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
     b"Content-Length: %d\r\n\r\n"),
    ("two equal Content-Length headers",
     b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n"
     b"Content-Length: 3\r\n\r\nabc"),
    ("Content-Length and Transfer-Encoding",
     b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("Transfer-Encoding and Content-Length",
     b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 0\r\n\r\n0\r\n\r\n"),
    ("two Transfer-Encoding headers",
     b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("a Content-Length list",
     b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0, 5\r\n\r\n"),
    ("a signed Content-Length",
     b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Length: +0\r\n\r\n"),
]


def exchange(port, ctx, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if ctx:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ssl.SSLError, OSError) as e:
        got += b"\n[no close: %s]" % str(e).encode()
    s.close()
    return got


def main():
    https_port, http_port, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ctx = ssl.create_default_context(cafile=root)
    failures = 0
    for scheme, port, c in (("https", https_port, ctx), ("http", http_port, None)):
        follow = FOLLOW[scheme]
        # the control: a well-framed request, then the follow-up, both answered
        good = exchange(port, c, b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\n"
                        b"Content-Length: 0\r\n\r\n" + follow.replace(b"\r\n\r\n",
                                                                      b"\r\nConnection: close\r\n\r\n"))
        if good.count(b"HTTP/1.1 ") != 2 or b"HTTP/1.1 200" not in good:
            print("FAILED %s control: %r" % (scheme, good[:200]))
            failures += 1
        for name, head in CASES:
            data = head % len(follow) if b"%d" in head else head
            got = exchange(port, c, data + follow)
            answers = got.count(b"HTTP/1.1 ")
            ok = (got.startswith(b"HTTP/1.1 400 ") and answers == 1
                  and b"Connection: close" in got and b"[no close" not in got)
            print("%s %s: %s" % ("ok" if ok else "FAILED", scheme + " " + name,
                                 got.split(b"\r\n")[0].decode(errors="replace")))
            if not ok:
                print("    %r" % got[:300])
                failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
