#!/usr/bin/env python3
"""Every inhibition rule of the shipped alertmanager.yml, against a real
Alertmanager (Debian's `prometheus-alertmanager`, loopback only).

For each case the source alert and its targets are posted to the API; then
`/api/v2/alerts` must show each target suppressed and inhibited by the
source, and each near miss (another instance, another domain, another
collector, another resolver) still active. Only the receivers' URLs are
changed (to a closed loopback port); routing and inhibition are as shipped.

usage: inhibit_test.py ALERTMANAGER_YML
Exit 77 (skipped by ctest) when prometheus-alertmanager is missing.
"""

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def alert(name, instance="mx1:9732", **labels):
    labels = {"alertname": name, "instance": instance, "job": "mailhealth", **labels}
    labels.setdefault("severity", "page")
    return labels


# (name, source alert, [alerts it must inhibit], [near misses: stay active])
P = {"postfix_instance": "postfix"}
OUT = {"postfix_instance": "postfix-out"}

CASES = [
    ("postfix down: queue and log",
     alert("MailhealthPostfixDown", **P),
     [alert("MailhealthQueueLocalDeliveryFailing", reason="local_delivery", **P),
      alert("MailhealthQueueLocalServiceFailing", reason="local_service", **P),
      alert("MailhealthLogFatal", process="smtpd", level="fatal", **P),
      alert("MailhealthLogSilent", severity="ticket"),
      alert("MailhealthLogSourceDown", severity="ticket")],
     [alert("MailhealthQueueLocalDeliveryFailing", instance="mx2:9732", reason="local_delivery",
            **P),
      alert("MailhealthLogFatal", instance="mx2:9732", process="smtpd", level="fatal", **P),
      alert("MailhealthLogSilent", instance="mx2:9732", severity="ticket")]),
    # Two instances on one host: postfix-out down silences postfix-out's
    # queue and log alerts and the host's (label-less) log alerts, never
    # the default instance's.
    ("postfix-out down: its own queue and log only",
     alert("MailhealthPostfixDown", **OUT),
     [alert("MailhealthQueueDeferredGrowing", severity="ticket", queue="deferred", **OUT),
      alert("MailhealthQueueLocalServiceFailing", reason="local_service", **OUT),
      alert("MailhealthLogFatal", process="smtp", level="fatal", **OUT),
      alert("MailhealthLogContentFilterUnavailable", severity="ticket", **OUT),
      alert("MailhealthLogSilent", severity="ticket")],
     [alert("MailhealthQueueDeferredGrowing", severity="ticket", queue="deferred", **P),
      alert("MailhealthQueueLocalServiceFailing", reason="local_service", **P),
      alert("MailhealthLogFatal", process="smtp", level="fatal", **P),
      alert("MailhealthLogContentFilterUnavailable", severity="ticket", **P),
      alert("MailhealthQueueDeferredGrowing", instance="mx2:9732", severity="ticket",
            queue="deferred", **OUT)]),
    ("postfix-out down: the host's smtp and queue collector",
     alert("MailhealthPostfixDown", **OUT),
     [alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1"),
      alert("MailhealthCollectorFailing", severity="ticket", collector="queue")],
     [alert("MailhealthSmtpTargetDown", instance="mx2:9732", target="127.0.0.1:25",
            address="127.0.0.1"),
      # the other instance being down is a cause of its own
      alert("MailhealthPostfixDown", **P)]),
    ("postfix-out smtpd fatal: the host's smtp",
     alert("MailhealthLogFatal", process="smtpd", level="fatal", **OUT),
     [alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1")],
     [alert("MailhealthLogFatal", process="smtpd", level="fatal", **P)]),
    ("queue collector failing: every instance's queue alerts",
     alert("MailhealthCollectorFailing", severity="ticket", collector="queue"),
     [alert("MailhealthQueueHoldNotEmpty", severity="ticket", queue="hold", **P),
      alert("MailhealthQueueHoldNotEmpty", severity="ticket", queue="hold", **OUT)],
     [alert("MailhealthLogFatal", process="smtp", level="fatal", **OUT)]),
    ("postfix down: smtp",
     alert("MailhealthPostfixDown", **P),
     [alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1"),
      alert("MailhealthSmtpDomainUnreachable", target="mx:example.com", domain="example.com"),
      alert("MailhealthSmtpMxHostDown", severity="ticket", target="mx:example.com",
            address="127.0.0.1", domain="example.com"),
      alert("MailhealthSmtpStarttlsMissing", severity="ticket", target="127.0.0.1:25",
            address="127.0.0.1")],
     [alert("MailhealthSmtpTargetDown", instance="mx2:9732", target="127.0.0.1:25",
            address="127.0.0.1"),
      # not an SMTP symptom of Postfix being down
      alert("MailhealthSmtpCertExpiryImminent", target="127.0.0.1:25", address="127.0.0.1")]),
    ("postfix down: queue collector",
     alert("MailhealthPostfixDown", **P),
     [alert("MailhealthCollectorFailing", severity="ticket", collector="queue")],
     [alert("MailhealthCollectorFailing", severity="ticket", collector="smtp"),
      alert("MailhealthCollectorFailing", instance="mx2:9732", severity="ticket",
            collector="queue")]),
    ("smtpd fatal: smtp",
     alert("MailhealthLogFatal", process="smtpd", level="fatal", **P),
     [alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1"),
      alert("MailhealthSmtpDomainUnreachable", target="mx:example.com", domain="example.com")],
     [alert("MailhealthSmtpTargetDown", instance="mx2:9732", target="127.0.0.1:25",
            address="127.0.0.1"),
      alert("MailhealthQueueDeferredTooOld", severity="ticket", queue="deferred", **P)]),
    ("queue collector failing: its data",
     alert("MailhealthCollectorFailing", severity="ticket", collector="queue"),
     [alert("MailhealthQueueDeferredTooOld", severity="ticket", queue="deferred", **P)],
     [alert("MailhealthLogSilent", severity="ticket"),
      alert("MailhealthQueueDeferredTooOld", instance="mx2:9732", severity="ticket",
            queue="deferred", **P)]),
    ("log collector failing: its data",
     alert("MailhealthCollectorFailing", severity="ticket", collector="log"),
     [alert("MailhealthLogSilent", severity="ticket"),
      alert("MailhealthLogDeferralRatioHigh", severity="ticket", **P)],
     [alert("MailhealthQueueHoldNotEmpty", severity="ticket", queue="hold", **P)]),
    ("smtp collector failing: its data",
     alert("MailhealthCollectorFailing", severity="ticket", collector="smtp"),
     [alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1")],
     [alert("MailhealthDnsMxLookupFailing", domain="example.com", resolver="127.0.0.1:53",
            qtype="MX")]),
    ("dns collector failing: its data",
     alert("MailhealthCollectorFailing", severity="ticket", collector="dns"),
     [alert("MailhealthDnsMxNotAsDeclared", domain="example.com", resolver="127.0.0.1:53")],
     [alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1")]),
    ("mx lookup failing: other dns expectations",
     alert("MailhealthDnsMxLookupFailing", domain="example.com", resolver="127.0.0.1:53",
           qtype="MX"),
     [alert("MailhealthDnsMxNotAsDeclared", domain="example.com", resolver="127.0.0.1:53"),
      alert("MailhealthDnsMxHostNotResolving", severity="ticket", domain="example.com",
            resolver="127.0.0.1:53", exchange="mx1.example.com")],
     [alert("MailhealthDnsMxNotAsDeclared", domain="example.com", resolver="127.0.0.2:53")]),
    ("mx lookup failing: smtp domain",
     alert("MailhealthDnsMxLookupFailing", domain="example.com", resolver="127.0.0.1:53",
           qtype="MX"),
     [alert("MailhealthSmtpDomainUnreachable", target="mx:example.com", domain="example.com")],
     [alert("MailhealthSmtpDomainUnreachable", target="mx:example.org", domain="example.org")]),
    ("certificate imminent: expiring soon",
     alert("MailhealthSmtpCertExpiryImminent", target="127.0.0.1:25", address="127.0.0.1"),
     [alert("MailhealthSmtpCertExpiringSoon", severity="ticket", target="127.0.0.1:25",
            address="127.0.0.1")],
     [alert("MailhealthSmtpCertExpiringSoon", severity="ticket", target="127.0.0.2:25",
            address="127.0.0.2")]),
    ("domain unreachable: its mx hosts",
     alert("MailhealthSmtpDomainUnreachable", target="mx:example.com", domain="example.com"),
     [alert("MailhealthSmtpMxHostDown", severity="ticket", target="mx:example.com",
            address="127.0.0.1", domain="example.com")],
     [alert("MailhealthSmtpMxHostDown", severity="ticket", target="mx:example.org",
            address="127.0.0.1", domain="example.org")]),
    ("target down: starttls",
     alert("MailhealthSmtpTargetDown", target="127.0.0.1:25", address="127.0.0.1"),
     [alert("MailhealthSmtpStarttlsMissing", severity="ticket", target="127.0.0.1:25",
            address="127.0.0.1")],
     [alert("MailhealthSmtpStarttlsMissing", severity="ticket", target="127.0.0.2:25",
            address="127.0.0.2")]),
]


def http(url, data=None):
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        body = r.read()
    return json.loads(body) if body else None


def fingerprint(labels):
    return json.dumps(sorted(labels.items()))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        print("prometheus-alertmanager not installed: skipped")
        return SKIP
    with open(sys.argv[1]) as f:
        cfg = f.read()
    closed = free_port()
    cfg, n = re.subn(r"http://127\.0\.0\.1:\d+/", f"http://127.0.0.1:{closed}/", cfg)
    assert n >= 1, "no receiver URL found in the shipped alertmanager.yml"
    failures = []
    work = tempfile.mkdtemp(prefix="mh-inhibit-")
    try:
        with open(os.path.join(work, "am.yml"), "w") as f:
            f.write(cfg)
        for name, source, targets, misses in CASES:
            # A fresh Alertmanager per case: no alert of one case inhibits
            # another's near miss.
            port = free_port()
            proc = subprocess.Popen(
                [binary, f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                 "--storage.path=" + os.path.join(work, f"data-{port}"),
                 "--config.file=" + os.path.join(work, "am.yml")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                base = f"http://127.0.0.1:{port}/api/v2"
                deadline = time.time() + 20
                while True:
                    try:
                        http(base + "/status")
                        break
                    except OSError:
                        if time.time() > deadline or proc.poll() is not None:
                            raise RuntimeError("alertmanager did not start")
                        time.sleep(0.2)
                now = datetime.datetime.now(datetime.timezone.utc)
                ends = (now + datetime.timedelta(hours=1)).isoformat()
                posted = [source] + targets + misses
                http(base + "/alerts", json.dumps(
                    [{"labels": a, "annotations": {}, "startsAt": now.isoformat(),
                      "endsAt": ends} for a in posted]).encode())
                want = {fingerprint(a): "suppressed" for a in targets}
                want.update({fingerprint(a): "active" for a in misses})
                want[fingerprint(source)] = "active"
                # The inhibitor sees the source within a moment.
                deadline = time.time() + 10
                while True:
                    got = {}
                    inhibitors = {}
                    for a in http(base + "/alerts"):
                        fp = fingerprint(a["labels"])
                        got[fp] = a["status"]["state"]
                        inhibitors[fp] = a["status"]["inhibitedBy"]
                    bad = [(json.loads(fp), w, got.get(fp)) for fp, w in want.items()
                           if got.get(fp) != w]
                    if not bad or time.time() > deadline:
                        break
                    time.sleep(0.3)
                for labels, w, g in bad:
                    failures.append(f"{name}: {dict(labels)} is {g}, want {w}")
                for a in targets:
                    fp = fingerprint(a)
                    if got.get(fp) == "suppressed" and not inhibitors.get(fp):
                        failures.append(f"{name}: {a} suppressed but not inhibited")
                print(f"{'FAIL' if bad else 'ok  '} {name}: {len(targets)} inhibited, "
                      f"{len(misses)} near misses active", flush=True)
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
