#!/usr/bin/env python3
"""The firewall test: the world's view against the mail host's own.

Builds its own network with Linux network namespaces (inside
tests/tools/isolate): an "outside" namespace and a "mail host" namespace
joined by a veth pair on 198.18.25.1/30 (outside) and 198.18.25.2/30 (mail
host). In the mail host namespace Postfix's smtp-sink answers port 25 and
an exporter runs the smtp collector on 198.18.25.2:25; in the outside
namespace a probe-only exporter (every collector off) and a real
Prometheus with the SHIPPED rules (every `for:` shortened to 3s) and the
SHIPPED mailhealth_outside_smtp job (its relabelling, pointed at the
outside exporter). Then an nftables rule in the mail host namespace drops
port 25 from the outside address: the outside prober reports
connect_timeout, the inside collector success, and Prometheus raises
MailhealthSmtpBlockedFromOutside with that host in its labels; removing
the rule clears it. Everything is torn down at the end.

Skips (exit 77) with the reason where namespaces cannot be created.

usage: probe_netns.py BINARY SOURCE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probelib  # noqa: E402

OUT_NS = "mh-outside-%d" % os.getpid()
MAIL_NS = "mh-mailhost-%d" % os.getpid()
OUT_IP, MAIL_IP = "198.18.25.1", "198.18.25.2"
TARGET = MAIL_IP + ":25"
ALERT = "MailhealthSmtpBlockedFromOutside"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


def run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def build_network():
    try:
        run("ip", "netns", "add", OUT_NS)
    except (subprocess.CalledProcessError, OSError) as e:
        skip("cannot create a network namespace: %s" %
             (getattr(e, "stderr", "") or e).strip())
    run("ip", "netns", "add", MAIL_NS)
    run("ip", "link", "add", "mhv-out", "netns", OUT_NS, "type", "veth",
        "peer", "name", "mhv-mail", "netns", MAIL_NS)
    for ns, dev, ip in ((OUT_NS, "mhv-out", OUT_IP),
                        (MAIL_NS, "mhv-mail", MAIL_IP)):
        run("ip", "-n", ns, "addr", "add", ip + "/30", "dev", dev)
        run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")


def tear_down_network():
    for ns in (OUT_NS, MAIL_NS):
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                              text=True).stdout.split()
        for pid in pids:  # only processes this test started live there
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def driver(binary, source):
    if os.environ.get("MAILHEALTH_ISOLATED") != "1":
        skip("needs tests/tools/isolate (it creates network namespaces)")
    build_network()
    try:
        # The scenario runs inside the outside namespace, as the outside
        # prober and Prometheus do.
        r = subprocess.run(["ip", "netns", "exec", OUT_NS, sys.executable,
                            os.path.abspath(__file__), "--outside", binary,
                            source],
                           env=dict(os.environ, MH_OUT_NS=OUT_NS,
                                    MH_MAIL_NS=MAIL_NS))
        return r.returncode
    finally:
        tear_down_network()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True,
                              text=True).stdout
        assert OUT_NS not in left and MAIL_NS not in left, left


class Prom:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def query(self, expr):
        status, body = probelib.get(
            self.base + "/api/v1/query?" +
            urllib.parse.urlencode({"query": expr}), timeout=5)
        if status != 200:
            raise RuntimeError(body)
        return json.loads(body)["data"]["result"]

    def alerts(self):
        _, body = probelib.get(self.base + "/api/v1/alerts", timeout=5)
        return [a for a in json.loads(body)["data"]["alerts"]
                if a["labels"]["alertname"] == ALERT]


def wait_for(what, pred, timeout):
    log("waiting for " + what)
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            last = pred()
        except Exception as e:  # noqa: BLE001 (servers still starting)
            last = e
        if last and not isinstance(last, Exception):
            log("  %s after %.1fs" % (what, time.monotonic() - t0))
            return last
        time.sleep(0.25)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def shipped_prometheus_config(source, pdir):
    text = open(os.path.join(source, "deploy/prometheus/prometheus.yml")).read()
    subs = [
        (r"(?m)^(\s*scrape_interval:\s*)\S+", r"\g<1>2s"),
        (r"(?m)^(\s*evaluation_interval:\s*)\S+", r"\g<1>1s"),
        (r"(?m)^(\s*scrape_timeout:\s*)\S+", r"\g<1>1800ms"),
        (r"(?m)^(\s*refresh_interval:\s*)\S+", r"\g<1>1s"),
        # The outside prober of the test, where the shipped job says tune.
        (r"probe\.example\.net:9732", OUT_IP + ":9732"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        assert n >= 1, "%s not found in the shipped prometheus.yml" % pattern
    os.makedirs(os.path.join(pdir, "targets"))
    os.makedirs(os.path.join(pdir, "targets-outside"))
    with open(os.path.join(pdir, "targets", "mailhost.yml"), "w") as f:
        f.write('- targets: ["%s:9732"]\n' % MAIL_IP)
    with open(os.path.join(pdir, "targets-outside", "smtp.yml"), "w") as f:
        f.write('- targets: ["%s"]\n' % TARGET)
    with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
        f.write(text)
    rules = open(os.path.join(
        source, "deploy/prometheus/mailhealth.rules.yml")).read()
    rules, n = re.subn(r"(?m)^(\s+for:\s*)\S+\s*$", r"\g<1>3s", rules)
    assert n >= 20
    with open(os.path.join(pdir, "mailhealth.rules.yml"), "w") as f:
        f.write(rules)


def outside(binary, source):
    probelib.more_files()
    work = tempfile.mkdtemp(prefix="mh-netns-")
    procs = []
    exporters = []
    nft_table = "mh_block_25"
    try:
        sink = probelib.SmtpSink(MAIL_IP, 25, netns=MAIL_NS)
        procs.append(sink)
        inside = probelib.Exporter(binary, """
collectors:
  queue: { enabled: false }
  log: { enabled: false }
  smtp: { enabled: true, interval: 2s, timeout: 1500ms, helo: mailhost.test,
          targets: ["%s"] }
""" % TARGET, MAIL_IP + ":9732", netns=MAIL_NS)
        exporters.append(inside)
        with open(os.path.join(source, "deploy/mailhealth-probe.yml")) as f:
            probe_config = f.read()
        # The shipped probe-only config, with the test's own fence.
        probe_config, n = re.subn(
            r'allowed_targets: \["example.com", "mx:example.com"\]',
            'allowed_targets: ["198.18.0.0/15"]', probe_config)
        assert n == 1
        outside_exp = probelib.Exporter(binary, probe_config,
                                        OUT_IP + ":9732")
        exporters.append(outside_exp)

        pdir = os.path.join(work, "prometheus")
        shipped_prometheus_config(source, pdir)
        prom_port = probelib.free_port()
        prom_proc = subprocess.Popen(
            ["prometheus", "--web.listen-address=127.0.0.1:%d" % prom_port,
             "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
             "--config.file=" + os.path.join(pdir, "prometheus.yml")],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "prometheus.log"), "w"))
        prom = Prom(prom_port)

        # 1. Port 25 open: both views succeed, no alert.
        outside_q = 'mailhealth_smtp_probe_success{vantage="outside",target="%s",address="%s"}' % (TARGET, MAIL_IP)
        inside_q = 'mailhealth_smtp_probe_success{job="mailhealth",target="%s",address="%s"}' % (TARGET, MAIL_IP)
        wait_for("both views to succeed in Prometheus", lambda: [
            s["value"][1] for s in prom.query(outside_q)] == ["1"] and [
            s["value"][1] for s in prom.query(inside_q)] == ["1"], 60)
        up = prom.query('up{job="mailhealth_outside_smtp"}')
        assert up and up[0]["metric"]["instance"] == TARGET, up
        assert up[0]["metric"]["vantage"] == "outside", up
        assert not prom.alerts(), prom.alerts()

        # 2. Drop port 25 from the outside address on the mail host.
        log("nft: drop tcp dport 25 from %s in the mail host namespace" % OUT_IP)
        probelib.nft("add", "table", "inet", nft_table, netns=MAIL_NS)
        probelib.nft("add", "chain", "inet", nft_table, "input",
                     "{ type filter hook input priority 0; }", netns=MAIL_NS)
        probelib.nft("add", "rule", "inet", nft_table, "input", "ip", "saddr",
                     OUT_IP, "tcp", "dport", "25", "drop", netns=MAIL_NS)

        status, body = outside_exp.probe("smtp_outside", TARGET,
                                         headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"})
        assert status == 200, (status, body)
        assert probelib.sample(body, "mailhealth_probe_success") == 0, body
        assert probelib.sample(body, "mailhealth_smtp_failure",
                               reason="connect_timeout") == 1, body
        log("outside /probe: connect_timeout")
        time.sleep(2.5)  # a collector run after the rule
        _, metrics = probelib.get(inside.url + "/metrics")
        assert probelib.sample(metrics, "mailhealth_smtp_probe_success",
                               target=TARGET, address=MAIL_IP) == 1, metrics
        log("inside /metrics: success")

        firing = wait_for(ALERT + " firing", lambda: [
            a for a in prom.alerts() if a["state"] == "firing"], 60)
        labels = firing[0]["labels"]
        assert labels["target"] == TARGET and labels["address"] == MAIL_IP, labels
        assert labels["severity"] == "page", labels
        summary = firing[0]["annotations"]["summary"]
        assert "connect_timeout" in summary and MAIL_IP in summary, summary
        log("alert: %s" % summary)
        assert not prom.query('ALERTS{alertname="MailhealthSmtpTargetDown"}'), \
            "the outside failure must not page as a target down"

        # 3. Rule removed: the alert clears.
        probelib.nft("delete", "table", "inet", nft_table, netns=MAIL_NS)
        log("nft rule removed")
        wait_for(ALERT + " to clear", lambda: not prom.alerts(), 60)
        status, body = outside_exp.probe("smtp_outside", TARGET)
        assert probelib.sample(body, "mailhealth_probe_success") == 1, body
        prom_proc.terminate()
        prom_proc.wait(10)
        log("PASS")
        return 0
    finally:
        for e in exporters:
            e.stop()
        for p in procs:
            p.stop()
        subprocess.run(["ip", "netns", "exec", MAIL_NS, "nft", "delete",
                        "table", "inet", nft_table], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "--outside":
        OUT_NS, MAIL_NS = os.environ.get("MH_OUT_NS", OUT_NS), \
            os.environ.get("MH_MAIL_NS", MAIL_NS)
        sys.exit(outside(sys.argv[2], sys.argv[3]))
    sys.exit(driver(sys.argv[1], sys.argv[2]))
