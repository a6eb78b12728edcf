#!/usr/bin/python3
"""Complete ACME orders as fast as a server gives them (issue 12 section 5).

usage: acme_orders.py --directory URL --ca-bundle PEM --challtestsrv URL
                      [--accounts 32] [--orders 1000] [--procs 2] [--poll-ms 20]

An order is: newOrder (one name) -> fetch the authorization -> publish the
http-01 answer -> answer the challenge -> poll until the authorization is
valid -> finalize with a fresh P-256 CSR -> poll until the order is valid ->
download the certificate. Its latency is measured from newOrder to the
downloaded chain. The http-01 answers are served by pebble-challtestsrv
(its /add-http01 API, on the port the server validates against): one
responder every client process can publish to, the same for every server.

--accounts accounts work at once (threads, split over --procs processes so
the client's Python is not the bottleneck on its own core), each ordering
until --orders orders are done in all. Accounts are registered before the
clock starts. Polls come every --poll-ms, whatever Retry-After says: the
same client behaviour against every server (honouring chainsmith's
"Retry-After: 1" would measure the sleep).

--server-pid PID: also the server's CPU time during the run (from
/proc/PID/stat, all its threads) and its RSS: before the run, and the peak
sampled every 0.2 s during it.

--timeout S: a request unanswered for S seconds (default 60) means the
server has stalled (Debian's pebble 2.4.0 wedges on its store lock under
this load now and then): every client stops, the line says "stalled": true
and the exit status is 3, so the caller can start a fresh server.

Prints one JSON line: orders, errors, stalled, seconds, orders_per_s,
p50_ms, p99_ms, max_ms, client_cpu_s, polls_per_order (status reads while
waiting), phase_ms (mean wall time of each step of an order: where its
latency goes), server_cpu_s, rss_idle_kb,
rss_peak_kb.
"""
import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "acme"))
from acmeraw import Account, Server, csr_for, new_order, wait_status  # noqa: E402


class Phases:
    """Wall time per step of an order, summed over the orders of a process:
    where an order's latency goes (the "phase_ms" means in the output)."""

    NAMES = ("newOrder", "authz", "publish", "challenge", "authz_wait", "order_ready_wait",
             "finalize", "order_valid_wait", "download")

    def __init__(self):
        self.sum = dict.fromkeys(self.NAMES, 0.0)
        self.polls = 0
        self.t = None
        self.last = "start"

    def start(self):
        self.t = time.monotonic()

    def poll(self):
        self.polls += 1

    def mark(self, name):
        now = time.monotonic()
        self.sum[name] += now - self.t
        self.t = now
        self.last = name


def one_order(acct, publish, unpublish, name, poll, phases):
    phases.start()
    order_url, order = new_order(acct, [name])
    phases.mark("newOrder")
    for authz_url in order["authorizations"]:
        authz = acct.get(authz_url).json()
        phases.mark("authz")
        chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
        publish(chall["token"], f"{chall['token']}.{acct.key.thumbprint()}")
        phases.mark("publish")
        acct.server.ok(acct.post(chall["url"], {}), "challenge")
        phases.mark("challenge")
        done = wait_status(acct, authz_url, ("valid", "invalid"), poll=poll, on_poll=phases.poll)
        unpublish(chall["token"])
        phases.mark("authz_wait")
        if done["status"] != "valid":
            raise RuntimeError(f"authorization: {json.dumps(done)[:300]}")
    order = wait_status(acct, order_url, ("ready", "invalid"), poll=poll, on_poll=phases.poll)
    phases.mark("order_ready_wait")
    _, csr = csr_for([name])
    acct.server.ok(acct.post(order["finalize"], {"csr": csr}), "finalize")
    phases.mark("finalize")
    order = wait_status(acct, order_url, ("valid", "invalid"), poll=poll, on_poll=phases.poll)
    phases.mark("order_valid_wait")
    if order["status"] != "valid":
        raise RuntimeError(f"order: {json.dumps(order)[:300]}")
    chain = acct.get(order["certificate"]).text
    if "BEGIN CERTIFICATE" not in chain:
        raise RuntimeError("no certificate in the download")
    phases.mark("download")


def worker(proc, args, accounts, barrier, counter, stalled, results):
    """One client process: its accounts as threads, orders until the shared
    counter reaches --orders. Sends (latencies, errors, start, end, cpu)."""
    mgmt = requests.Session()
    mgmt.trust_env = False
    lock = threading.Lock()

    def publish(token, content):
        with lock:
            mgmt.post(args.challtestsrv + "/add-http01",
                      json={"token": token, "content": content}, timeout=30).raise_for_status()

    def unpublish(token):
        with lock:
            mgmt.post(args.challtestsrv + "/del-http01", json={"token": token}, timeout=30)

    servers = [Server(args.directory, args.ca_bundle, args.timeout) for _ in range(accounts)]
    accts = [Account(s) for s in servers]
    latencies, errors = [], []
    phases = Phases()
    plock = threading.Lock()
    barrier.wait()
    start = time.time()

    def run(acct):
        while True:
            with counter.get_lock():
                n = counter.value
                if n >= args.orders or stalled.value:
                    return
                counter.value += 1
            t = time.monotonic()
            mine = Phases()
            try:
                one_order(acct, publish, unpublish, f"o{n}.p{proc}.bench.test", args.poll_ms / 1000,
                          mine)
                latencies.append(time.monotonic() - t)
                with plock:
                    for k, v in mine.sum.items():
                        phases.sum[k] += v
                    phases.polls += mine.polls
            except requests.Timeout as e:
                stalled.value = 1
                errors.append(f"stalled: {e}"[:300])
            except Exception as e:  # counted and shown, the run goes on
                errors.append(f"after {mine.last}, {time.monotonic() - mine.t:.2f} s into the "
                              f"next step: {e}"[:300])

    threads = [threading.Thread(target=run, args=(a,)) for a in accts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    results.put((latencies, errors, start, end, ru.ru_utime + ru.ru_stime, phases.sum,
                 phases.polls))


def server_cpu(pid):
    """user + system seconds of the process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class Watch:
    """The server's CPU and peak RSS over the run."""

    def __init__(self, pid):
        self.pid, self.done = pid, threading.Event()
        self.cpu0, self.idle = server_cpu(pid), server_rss(pid)
        self.peak = self.idle
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self):
        while not self.done.wait(0.2):
            self.peak = max(self.peak, server_rss(self.pid))

    def stop(self):
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, server_rss(self.pid))
        return {"server_cpu_s": round(server_cpu(self.pid) - self.cpu0, 2),
                "rss_idle_kb": self.idle, "rss_peak_kb": self.peak}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--directory", required=True)
    ap.add_argument("--ca-bundle", required=True)
    ap.add_argument("--challtestsrv", required=True)
    ap.add_argument("--accounts", type=int, default=32)
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--poll-ms", type=float, default=20)
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    watch = Watch(args.server_pid) if args.server_pid else None
    procs = max(1, min(args.procs, args.accounts))
    barrier = mp.Barrier(procs)
    counter = mp.Value("i", 0)
    stalled = mp.Value("i", 0)
    results = mp.Queue()
    share = [args.accounts // procs + (1 if i < args.accounts % procs else 0) for i in range(procs)]
    ps = [mp.Process(target=worker, args=(i, args, share[i], barrier, counter, stalled, results))
          for i in range(procs)]
    for p in ps:
        p.start()
    got = [results.get() for _ in ps]
    for p in ps:
        p.join()
    server = watch.stop() if watch else {}
    lat = sorted(x for g in got for x in g[0])
    errors = [e for g in got for e in g[1]]
    seconds = max(g[3] for g in got) - min(g[2] for g in got)

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None
    print(json.dumps({
        "orders": len(lat), "errors": len(errors), "stalled": bool(stalled.value), "seconds": round(seconds, 2),
        "orders_per_s": round(len(lat) / seconds, 1) if seconds > 0 else None,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "client_cpu_s": round(sum(g[4] for g in got), 1),
        **server,
        "polls_per_order": round(sum(g[6] for g in got) / len(lat), 1) if lat else None,
        "phase_ms": {k: round(sum(g[5][k] for g in got) / len(lat) * 1000, 1)
                     for k in Phases.NAMES} if lat else None,
        "first_error": errors[0] if errors else None,
    }))
    sys.exit(3 if stalled.value else 1 if errors and not lat else 0)


if __name__ == "__main__":
    main()
