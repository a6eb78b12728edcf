#!/usr/bin/env python3
"""Hostile clients against serve.lua (issue 15 section 1), for slow_clients.sh.

  slow_clients.py HTTPS_PORT HTTP_PORT ROOT_PEM

Holds IDLE idle TCP connections to the HTTPS port (connect, send nothing;
reopened when the server closes them) and SLOW slow-body connections
(POST /ocsp with Content-Length: 60000, then one byte a second; reopened
too), half over TLS, half over plain HTTP, all from source addresses
127.0.0.2 and up, no more than PER_SOURCE from one (the server's cap per
address would refuse the rest). Meanwhile curl fetches the hello page over
HTTPS and a CRL over HTTP PROBES times from 127.0.0.1; each must answer
within PROBE_BOUND seconds. Then it checks that the server closed every
attacker within the deadline it promises (docs/serve.md): an idle connection
within IDLE_BOUND s of connecting, a slow body within BODY_BOUND s of its
head. Prints what it saw and exits 1 on any failure. Bounded: about 35 s.
"""
import socket
import ssl
import subprocess
import sys
import threading
import time

IDLE = 300
SLOW = 64
PER_SOURCE = 30
PROBES = 10
PROBE_BOUND = 2.0
# the handshake deadline (5 s) plus time queued for a worker and the watchdog
IDLE_BOUND = 8.0
# 5 s + 60000 B at 16 KiB/s = 8.7 s, plus the watchdog's tick and a read
BODY_BOUND = 11.0
RUN = 24.0  # seconds the attack lasts

lock = threading.Lock()
stop = threading.Event()
held = {"idle": [], "slow": []}   # seconds each closed connection was held
errors = []


def sources():
    """127.0.0.2, 127.0.0.3, ...: each used for PER_SOURCE connections."""
    n = 0
    while True:
        yield "127.0.0.%d" % (2 + n // PER_SOURCE)
        n += 1


def connect(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    return s


def idle_client(src, port):
    while not stop.is_set():
        try:
            s = connect(src, port)
        except OSError:
            time.sleep(0.05)
            continue
        t0 = time.monotonic()
        s.settimeout(0.25)
        closed = False
        while not stop.is_set():
            try:
                if s.recv(1024) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        if closed:
            with lock:
                held["idle"].append(time.monotonic() - t0)
        s.close()


HEAD = (b"POST /ocsp HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/ocsp-request\r\nContent-Length: 60000\r\n\r\n")


def slow_client(src, port, ctx):
    while not stop.is_set():
        try:
            s = connect(src, port)
            if ctx:
                s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(HEAD)
        except OSError:
            time.sleep(0.05)
            continue
        t0 = time.monotonic()
        closed = False
        s.settimeout(1.0)
        while not stop.is_set():
            try:
                s.sendall(b"x")
                if s.recv(4096) == b"":
                    closed = True
                    break
                # a 408 came: the server is closing; read to the end
                continue
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                closed = True
                break
        if closed:
            with lock:
                held["slow"].append(time.monotonic() - t0)
        try:
            s.close()
        except OSError:
            pass


def probe(url, root, src_port_note):
    t0 = time.monotonic()
    r = subprocess.run(
        ["curl", "-sS", "--max-time", str(PROBE_BOUND), "--cacert", root,
         "--resolve", "localhost:%s:127.0.0.1" % url.split(":")[2].split("/")[0],
         "-o", "/dev/null", "-w", "%{http_code}", url],
        capture_output=True, text=True)
    took = time.monotonic() - t0
    ok = r.returncode == 0 and r.stdout == "200"
    print("probe %s %s: %s in %.2f s%s" % (src_port_note, url, r.stdout or "-", took,
                                           "" if ok else " " + r.stderr.strip()))
    return ok


def main():
    https_port, http_port, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ctx = ssl.create_default_context(cafile=root)
    src = sources()
    threads = []
    for _ in range(IDLE):
        threads.append(threading.Thread(target=idle_client, args=(next(src), https_port)))
    for i in range(SLOW):
        tls = i % 2 == 0
        threads.append(threading.Thread(
            target=slow_client,
            args=(next(src), https_port if tls else http_port, ctx if tls else None)))
    for t in threads:
        t.daemon = True
        t.start()
    time.sleep(3)  # every attacker connected at least once
    start = time.monotonic()
    failures = 0
    for i in range(PROBES):
        if not probe("https://localhost:%d/" % https_port, root, "https"):
            failures += 1
        if not probe("http://localhost:%d/crl/root.crl" % http_port, root, "http"):
            failures += 1
        time.sleep(max(0.0, (i + 1) * (RUN - 3) / PROBES - (time.monotonic() - start)))
    stop.set()
    for t in threads:
        t.join(5)
    with lock:
        idle, slow = list(held["idle"]), list(held["slow"])
    print("idle connections closed by the server: %d, held at most %.1f s (bound %.0f s)"
          % (len(idle), max(idle, default=0), IDLE_BOUND))
    print("slow bodies closed by the server: %d, held at most %.1f s (bound %.0f s)"
          % (len(slow), max(slow, default=0), BODY_BOUND))
    if failures:
        print("FAILED: %d probes not answered within %.0f s" % (failures, PROBE_BOUND))
    if not idle or max(idle) > IDLE_BOUND:
        print("FAILED: idle connections not closed within %.0f s" % IDLE_BOUND)
        failures += 1
    if len(slow) < SLOW or max(slow) > BODY_BOUND:
        print("FAILED: slow bodies not all closed within %.0f s" % BODY_BOUND)
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
