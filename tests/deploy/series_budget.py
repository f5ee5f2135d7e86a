#!/usr/bin/env python3
"""Holds the exporter under the series budget that docs/deploy.md states.

Runs the exporter on the shipped config (deploy/mailhealth.yml, the
default: queue and log) and counts the series of /metrics (every sample
line, histogram buckets included: what Prometheus stores). It must be at
most the budget docs/deploy.md states ("Budget at the default config: N
series per host"). Then the formula of docs/deploy.md is checked term by
term on configs whose targets fail deterministically (resolvers and SMTP
ports on loopback where nothing listens, so no MX host and no TLS):
dns = D x (R x 11 + 3 if R > 1) and smtp = T + A x 32 for failed addresses,
from the
exporter's own mailhealth_collector_series.

usage: series_budget.py SOURCE_DIR EXPORTER_BINARY
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def scrape(exporter, cfg_text, work, settle=3.0):
    cfg = os.path.join(work, "c.yml")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    port = free_port()
    p = subprocess.Popen([exporter, "--config.file=" + cfg, "--allow-root",
                          f"--web.listen-address=127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("exporter not ready")
            time.sleep(0.1)
        time.sleep(settle)
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            body = r.read().decode()
    finally:
        p.terminate()
        p.wait(timeout=10)
    lines = [ln for ln in body.splitlines() if ln and not ln.startswith("#")]
    per = {c: int(n) for c, n in re.findall(
        r'^mailhealth_collector_series\{collector="(\w+)"\} (\d+)', body, re.M)}
    return len(lines), per


def main():
    source, exporter = sys.argv[1], os.path.abspath(sys.argv[2])
    doc = open(os.path.join(source, "docs/deploy.md"), encoding="utf-8").read()
    m = re.search(r"Budget at the default config: \*\*(\d+) series per host\*\*", doc)
    assert m, "docs/deploy.md states no 'Budget at the default config: **N series per host**'"
    budget = int(m.group(1))
    if os.environ.get("MAILHEALTH_ISOLATED") != "1" or os.geteuid() != 0:
        print("SKIP: measures on the test's own Postfix: run through tests/tools/isolate as root")
        return 77
    # The queue's series are those of a running Postfix.
    if subprocess.run(["postfix", "status"], capture_output=True).returncode != 0:
        subprocess.run([os.path.join(source, "scripts/setup-postfix"), "start"], check=True,
                       capture_output=True)
    work = tempfile.mkdtemp(prefix="mh-budget-")
    errors = []
    with open(os.path.join(source, "deploy/mailhealth.yml")) as f:
        shipped = f.read()
    total, per = scrape(exporter, shipped, work)
    print(f"shipped config: {total} series ({per}); budget {budget}")
    if total > budget:
        errors.append(f"the default config exports {total} series, over the budget of {budget}")
    if set(per) != {"queue", "log"}:
        errors.append(f"the default config should run queue and log, runs {sorted(per)}")

    # The formula's dns and smtp terms (nothing answers: M = 0, no TLS).
    closed = [free_port() for _ in range(3)]
    for d, r in ((1, 1), (2, 1), (2, 3)):
        resolvers = ", ".join(f'"127.0.0.1:{closed[i]}"' for i in range(r))
        domains = "\n".join(f"      - name: d{i}.mailhealth.test" for i in range(d))
        cfg = ("collectors:\n  dns:\n    enabled: true\n    interval: 2s\n    timeout: 500ms\n"
               f"    resolvers: [{resolvers}]\n    domains:\n{domains}\n")
        _, per = scrape(exporter, cfg, work, settle=1.5)
        want = d * (r * 11 + (3 if r > 1 else 0))
        print(f"dns D={d} R={r}: {per.get('dns')} (formula {want})")
        if per.get("dns") != want:
            errors.append(f"dns D={d} R={r}: {per.get('dns')} series, formula says {want}")
    for t in (1, 3):
        targets = ", ".join(f'"127.0.0.1:{closed[i]}"' for i in range(t))
        cfg = ("collectors:\n  smtp:\n    enabled: true\n    interval: 2s\n    timeout: 500ms\n"
               f"    helo: budget.mailhealth.test\n    targets: [{targets}]\n")
        _, per = scrape(exporter, cfg, work, settle=1.5)
        want = t + t * 32
        print(f"smtp T={t} (one address each, refused): {per.get('smtp')} (formula {want})")
        if per.get("smtp") != want:
            errors.append(f"smtp T={t}: {per.get('smtp')} series, formula says {want}")
    for e in errors:
        print("FAIL:", e)
    print("PASS" if not errors else "FAILED")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
