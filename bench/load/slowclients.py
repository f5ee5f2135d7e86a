#!/usr/bin/env python3
"""Slow clients against the exporter, with scrapes from another client.

Opens CONNS connections to 127.0.0.1:PORT that are slow on purpose, then,
while all of them are open, runs SCRAPES sequential scrapes of /metrics
(a new connection each, like a Prometheus that does not keep alive) from
a separate process, and
finally waits until the server has cut every slow connection.

  --mode slowloris   each sends "GET /metrics HTTP/1.1\\r\\n" and then one
                     header line a second, never finishing its head
  --mode tls-stall   each connects to the HTTPS port and never sends its
                     ClientHello (a stalled handshake)

Prints one line of figures (and a JSON line for the summary table):
scrape p50/p99/max and failures, how many slow connections were still open
during the scrapes, when the server cut them (seconds after their first
byte / their connect), the exporter's VmRSS/VmHWM while they were held.
Exits 1 if a scrape failed or a slow connection was never cut.

  slowclients.py --port P --pid PID [--mode slowloris] [--conns 5000]
                 [--scrapes 100] [--https --cafile F --auth user:pass]
"""
import argparse
import asyncio
import base64
import json
import resource
import socket
import ssl
import statistics
import sys
import threading
import time


def rss(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                out[k] = int(v.split()[0])
    return out


def scrape(port, https, cafile, auth):
    """One GET /metrics on a new connection; returns (seconds, ok)."""
    t0 = time.perf_counter()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if https:
            ctx = ssl.create_default_context(cafile=cafile)
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        hdr = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if auth:
            hdr += "Authorization: Basic %s\r\n" % base64.b64encode(
                auth.encode()).decode()
        s.sendall((hdr + "\r\n").encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        ok = data.startswith(b"HTTP/1.1 200") and b"mailhealth_build_info" in data
    except OSError:
        ok = False
    return time.perf_counter() - t0, ok


async def slow_conn(port, mode, state, opened):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        state["connect_failed"] += 1
        opened.release()
        return
    t0 = time.monotonic()
    state["open"] += 1
    opened.release()
    cut = None
    try:
        if mode == "slowloris":
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            await writer.drain()
            i = 0
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(4096), 1.0)
                    if not data:
                        cut = time.monotonic() - t0
                        break
                    state["answered"] += 1  # an error page before the cut
                except asyncio.TimeoutError:
                    i += 1
                    writer.write(b"X-Slow-%d: x\r\n" % i)
                    await writer.drain()
        else:
            data = await reader.read(4096)
            while data:
                state["answered"] += 1
                data = await reader.read(4096)
            cut = time.monotonic() - t0
    except (ConnectionError, OSError):
        cut = time.monotonic() - t0
    state["open"] -= 1
    if cut is not None:
        state["cuts"].append(cut)
    writer.close()


async def main_async(args):
    state = {"open": 0, "connect_failed": 0, "answered": 0, "cuts": []}
    opened = asyncio.Semaphore(0)
    tasks = []
    t_open = time.monotonic()
    # In batches, so the kernel's listen backlog does not overflow.
    for start in range(0, args.conns, 250):
        batch = range(start, min(args.conns, start + 250))
        for _ in batch:
            tasks.append(asyncio.ensure_future(
                slow_conn(args.port, args.mode, state, opened)))
        for _ in batch:
            await opened.acquire()
    opened_s = time.monotonic() - t_open
    await asyncio.sleep(0.5)
    open_before = state["open"]
    mem_held = rss(args.pid)
    # The scrapes run in a process of their own: in a thread of this one
    # they would wait for the interpreter lock behind the 5,000 slow
    # clients' coroutines, and the tail would measure Python, not the
    # server.
    cmd = [sys.executable, __file__, "--scrape-only", "--port", str(args.port),
           "--pid", str(args.pid), "--scrapes", str(args.scrapes)]
    if args.https:
        cmd += ["--https", "--cafile", args.cafile]
    if args.auth:
        cmd += ["--auth", args.auth]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    scraped = json.loads(out)
    times, fails = scraped["times"], scraped["fails"]
    open_after = state["open"]
    mem_after_scrapes = rss(args.pid)
    await asyncio.wait(tasks, timeout=args.wait)
    never_cut = state["open"]
    for t in tasks:
        t.cancel()
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1000
    cuts = sorted(state["cuts"])
    res = {
        "mode": args.mode,
        "conns": args.conns,
        "connect_failed": state["connect_failed"],
        "opened_in_s": round(opened_s, 2),
        "open_during_scrapes": [open_before, open_after],
        "scrapes": args.scrapes,
        "scrape_failures": fails,
        "p50_ms": round(p(0.50), 2),
        "p99_ms": round(p(0.99), 2),
        "max_ms": round(times[-1] * 1000, 2),
        "cut": len(cuts),
        "never_cut": never_cut,
        "cut_after_s": [round(cuts[0], 2), round(statistics.median(cuts), 2),
                        round(cuts[-1], 2)] if cuts else None,
        "rss_held_kb": mem_held.get("VmRSS"),
        "rss_after_scrapes_kb": mem_after_scrapes.get("VmRSS"),
        "hwm_kb": rss(args.pid).get("VmHWM"),
    }
    print("%(mode)s x%(conns)d: opened in %(opened_in_s)ss (failed %(connect_failed)d), "
          "open during scrapes %(open_during_scrapes)s; %(scrapes)d scrapes: "
          "p50 %(p50_ms)s ms, p99 %(p99_ms)s ms, max %(max_ms)s ms, "
          "%(scrape_failures)d failed; cut %(cut)d, never cut %(never_cut)d, "
          "cut after (min/median/max s) %(cut_after_s)s; VmRSS held %(rss_held_kb)s kB, "
          "after scrapes %(rss_after_scrapes_kb)s kB, VmHWM %(hwm_kb)s kB" % res)
    print("JSON " + json.dumps(res))
    return 0 if fails == 0 and never_cut == 0 and state["connect_failed"] == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--mode", choices=["slowloris", "tls-stall"], default="slowloris")
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--scrapes", type=int, default=100)
    ap.add_argument("--https", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--auth")
    ap.add_argument("--wait", type=float, default=30.0,
                    help="seconds to wait for the server to cut them all")
    ap.add_argument("--scrape-only", action="store_true",
                    help="(internal) only the sequential scrapes; prints JSON")
    args = ap.parse_args()
    if args.scrape_only:
        times, fails = [], 0
        for _ in range(args.scrapes):
            dt, ok = scrape(args.port, args.https, args.cafile, args.auth)
            times.append(dt)
            fails += 0 if ok else 1
        print(json.dumps({"times": times, "fails": fails}))
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
