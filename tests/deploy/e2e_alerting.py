#!/usr/bin/env python3
"""End-to-end test of the shipped alerting path, on loopback only.

  mailhealth_exporter (all four collectors, run like the systemd unit: an
  unprivileged user in adm/systemd-journal/postdrop, no_new_privs)
                                        -> the real Postfix, a real BIND
  on 127.0.0.1, the mail log
  Prometheus (Debian's `prometheus`)   scraping it with the SHIPPED
      prometheus.yml (file_sd) and the SHIPPED rules, every `for:` divided by 10
  Alertmanager (`prometheus-alertmanager`) with the SHIPPED routing and
      inhibition, receivers pointed at this script's webhook

Scenario:
  1. everything up: Prometheus scrapes the exporter, Postfix is up;
  2. `postfix stop`: MailhealthPostfixDown (page) reaches the webhook's page
     receiver;
  3. Postfix being down, a fatal line is logged (as `postlog` does when a
     Postfix program dies while the system is down): MailhealthLogFatal
     fires in Prometheus, Alertmanager holds it as suppressed (inhibited by
     MailhealthPostfixDown), and no queue/log alert of this instance reaches
     the webhook while Postfix is down;
  4. `postfix start`: MailhealthPostfixDown resolves at the webhook;
     while Postfix was down exactly one page reached the webhook
     (MailhealthPostfixDown: the SMTP target's refusal is inhibited too);
  5. every PromQL query of grafana/mailhealth.json runs against this
     Prometheus without error (and the overview queries return data);
  6. local delivery fails for real: mail to lmtpgone.test goes to an LMTP
     store whose socket (private/dovecot-lmtp) is gone. Exactly one page,
     MailhealthQueueLocalDeliveryFailing, whose text names the cause; then
     the store comes back (this script's own LMTP server on that socket),
     `postqueue -f`, and the page resolves within 5 minutes;
  7. main.cf's mailbox_command tempfails (exit 75, "temporary failure") for
     the local user mhuser: exactly one page, MailhealthQueueLocalDeliveryFailing;
     the command is repaired, `postqueue -f`, the page resolves within 5
     minutes; mailbox_command is restored;
  8. port 25 closed while Postfix runs (an nftables rule in the test's own
     network namespace rejects it): exactly one page, MailhealthSmtpTargetDown,
     naming "refused"; the rule removed, it resolves;
  9. the MX in the test zone pointing at a wrong host (BIND reloads the
     edited zone): exactly one page, MailhealthDnsMxNotAsDeclared, naming
     the MX set it saw; the zone restored, it resolves;
 10. the content filter on 127.0.0.1:10024 dead (filtered.test is FILTERed
     there): exactly one page, MailhealthQueueLocalServiceFailing
     (local_service); a filter listening again (this script's SMTP sink),
     `postqueue -f`, it resolves;
 11. smtpd dying on every connection (a SASL backend that is gone, set with
     -o in master.cf): exactly one page, MailhealthLogFatal for smtpd (the
     SMTP target's failure is inhibited); master.cf repaired and `postfix
     reload`, it resolves once smtpd answers again.
Each page must resolve within 5 minutes of the fix.

usage: e2e_alerting.py SOURCE_DIR EXPORTER_BINARY
Exit 77 (skipped by ctest) when not root or a tool is missing.
Needs Postfix configured by scripts/setup-postfix (run here with `start`).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SKIP = 77
INHIBITED = re.compile(r"^Mailhealth(Queue.+|Log.+)$")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_json(url, data=None, timeout=5):
    req = urllib.request.Request(url, data=data)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode())


def wait_for(what, pred, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # not up yet
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_exc})" if last_exc else ""))


class Webhook:
    """Alertmanager webhook receiver: records every notification."""

    def __init__(self):
        self.notifications = []  # (monotonic time, path, payload)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n).decode())
                with outer.lock:
                    outer.notifications.append((time.monotonic(), self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, since=0.0):
        """(time, receiver path, notification status, alert) for every alert
        in every notification received after `since`."""
        with self.lock:
            return [(t, p, body["status"], a) for t, p, body in self.notifications
                    if t >= since for a in body["alerts"]]

    def find(self, alertname, status, path=None, since=0.0):
        return [a for t, p, _, a in self.alerts(since)
                if a["labels"].get("alertname") == alertname and a["status"] == status
                and (path is None or p == path)]


class LmtpStore:
    """A minimal LMTP (UNIX socket `path`) or SMTP (TCP `tcp`=(host, port),
    a content filter's listener) server: accepts every recipient."""

    def __init__(self, path=None, tcp=None):
        self.path = path
        if tcp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(tcp)
        else:
            if os.path.exists(path):
                os.unlink(path)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            os.chmod(path, 0o666)
        self.sock.listen(8)
        self.delivered = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rwb")

        def reply(line):
            f.write(line.encode() + b"\r\n")
            f.flush()

        try:
            reply("220 e2e LMTP ready")
            rcpts = 0
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith((b"LHLO", b"EHLO", b"HELO")):
                    reply("250-e2e")
                    reply("250 PIPELINING")
                elif cmd.startswith(b"MAIL"):
                    rcpts = 0
                    reply("250 2.1.0 Ok")
                elif cmd.startswith(b"RCPT"):
                    rcpts += 1
                    reply("250 2.1.5 Ok")
                elif cmd == b"DATA":
                    reply("354 go ahead")
                    while f.readline().rstrip(b"\r\n") != b".":
                        pass
                    for _ in range(rcpts):
                        self.delivered += 1
                        reply("250 2.0.0 Ok: delivered")
                elif cmd == b"QUIT":
                    reply("221 2.0.0 Bye")
                    return
                else:
                    reply("250 2.0.0 Ok")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)


class Procs:
    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []

    def start(self, name, args):
        out = open(os.path.join(self.workdir, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                             cwd=self.workdir, start_new_session=True)
        self.procs.append((name, p))
        return p

    def check_alive(self):
        for name, p in self.procs:
            if p.poll() is not None:
                raise AssertionError(f"{name} exited with {p.returncode}:\n" + self.tail(name))

    def tail(self, name, n=30):
        try:
            with open(os.path.join(self.workdir, name + ".log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop_all(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for _, p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def group_exists(name):
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def postfix_running():
    return subprocess.run(["postfix", "status"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def start_postfix(attempts=5):
    """`postfix start`, retried: its integrity check (`postfix check`) can
    trip over spool files that other tests' processes delete meanwhile."""
    for i in range(attempts):
        r = subprocess.run(["postfix", "start"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode == 0 or postfix_running():
            return
        log(f"postfix start failed (attempt {i + 1}): {r.stdout.strip()[-300:]}")
        time.sleep(1)
    raise AssertionError("postfix start failed")


def shorten_rules(text):
    """The shipped rules with every `for:` divided by 10 (nothing else changed)."""
    # Every `for:` divided by 10 (1m -> 6s, 2m -> 12s): short, but in the
    # shipped order, so that the cause (MailhealthPostfixDown, 1m) still
    # fires before its symptoms (MailhealthSmtpTargetDown, 2m) and inhibits
    # them, as it does with the shipped values.
    def tenth(m):
        units = {"s": 1, "m": 60, "h": 3600}
        secs = sum(int(v) * units[u] for v, u in re.findall(r"(\d+)([smh])", m.group(2)))
        return f"{m.group(1)}{max(secs // 10, 1) if secs else 0}s"
    out, n = re.subn(r"(?m)^(\s+for:\s*)(\S+)\s*$", tenth, text)
    assert n >= 20, f"only {n} 'for:' lines found in the shipped rules"
    return out


def test_alertmanager_config(text, webhook_port):
    subs = [
        # Divided by 10 like the rules' `for:` (30s -> 3s, 5m -> 30s), not
        # 1s: a symptom that was inhibited and clears seconds after its cause
        # (the SMTP probe refused until smtpd listens again) must not be sent
        # in between, as it is not with the shipped group_interval.
        (r"(?m)^(\s*group_wait:\s*)\S+", r"\g<1>3s"),
        (r"(?m)^(\s*group_interval:\s*)\S+", r"\g<1>30s"),
        (r"(?m)^(\s*repeat_interval:\s*)\S+", r"\g<1>1h"),
        (r"http://127\.0\.0\.1:\d+/mailhealth/(page|ticket)",
         rf"http://127.0.0.1:{webhook_port}/\1"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        assert n >= 1, f"pattern {pattern} not found in the shipped alertmanager.yml"
    return text


def test_prometheus_config(text, am_port):
    subs = [
        (r"(?m)^(\s*scrape_interval:\s*)\S+", r"\g<1>1s"),
        (r"(?m)^(\s*evaluation_interval:\s*)\S+", r"\g<1>1s"),
        (r"(?m)^(\s*scrape_timeout:\s*)\S+", r"\g<1>900ms"),
        (r"(?m)^(\s*refresh_interval:\s*)\S+", r"\g<1>1s"),
        (r'targets: \["127\.0\.0\.1:9093"\]', f'targets: ["127.0.0.1:{am_port}"]'),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        assert n >= 1, f"pattern {pattern} not found in the shipped prometheus.yml"
    return text


NAMED_CONF = """options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  lock-file "{d}/named.lock";
  session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on port {port2} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  notify no;
}};
controls {{ }};
zone "mailhealth.test" {{ type primary; file "mailhealth.test.zone"; }};
"""
ZONE = """$TTL 300
$ORIGIN mailhealth.test.
@ IN SOA ns.mailhealth.test. hostmaster.mailhealth.test. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
@ IN MX 10 mail
mail IN A 127.0.0.1
"""


def exporter_config(log_path, dns_port, dns_port2):
    return f"""collectors:
  queue:
    enabled: true
    # Short, so Postfix down is seen within seconds, before the SMTP probe's
    # alert (12s) would page; postqueue needs a few seconds only from about
    # 20,000 queued messages on (docs/queue.md).
    interval: 2s
    timeout: 1900ms
    # The deferral reasons come from postqueue -j every detail_interval
    # (default 5m): short here, as a small queue allows.
    detail_interval: 2s
  log:
    enabled: true
    interval: 1s
    timeout: 900ms
    path: {log_path}
    start_at: end
  dns:
    enabled: true
    interval: 2s
    timeout: 1s
    resolvers: ["127.0.0.1:{dns_port}", "127.0.0.1:{dns_port2}"]
    domains:
      - name: mailhealth.test
        expect_mx: ["10 mail.mailhealth.test"]
  smtp:
    enabled: true
    # 4s: under a loaded machine (the suite runs -j2) a 1.5s probe of a
    # working smtpd timed out and paged MailhealthSmtpTargetDown.
    interval: 5s
    timeout: 4s
    helo: e2e.mailhealth.test
    targets: ["127.0.0.1:25"]
"""


class Prom:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr, at=None):
        params = {"query": expr}
        if at:
            params["time"] = str(at)
        data = urllib.parse.urlencode(params).encode()
        return http_json(self.base + "/api/v1/query", data=data)

    def query_range(self, expr, start, end, step):
        data = urllib.parse.urlencode({"query": expr, "start": start, "end": end,
                                       "step": step}).encode()
        return http_json(self.base + "/api/v1/query_range", data=data)

    def value(self, expr):
        r = self.query(expr)["data"]["result"]
        return [float(s["value"][1]) for s in r]


def dashboard_queries(path):
    dash = json.load(open(path))
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p["title"], t["expr"], p["gridPos"]["y"]))
            walk(p.get("panels", []))

    walk(dash["panels"])
    for v in dash["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        m = re.match(r"\s*label_values\((.*),\s*\w+\)\s*$", q or "")
        if m:
            out.append(("variable " + v["name"], m.group(1), -1))
    return out


def grafana_to_promql(expr):
    """Replaces the dashboard's variables the way Grafana does with 'All'."""
    expr = expr.replace("$__rate_interval", "1m")
    return re.sub(r"\$\{?(instance|postfix_instance|domain|target|job)\}?", ".*", expr)


def pages_since(webhook, instance, since):
    """The alert names paged for `instance` since `since`, with summaries."""
    return sorted({a["labels"]["alertname"] + ": " + a["annotations"]["summary"]
                   for t, p, _, a in webhook.alerts(since)
                   if p == "/page" and a["status"] == "firing"
                   and a["labels"].get("instance") == instance})


def one_page_per_cause(webhook, instance, what, alertname, induce, fix, must_say,
                       fire_timeout=150, resolve_timeout=300):
    """Induces a failure; exactly one page, `alertname`, whose summary and
    description contain every string of `must_say`; then fixes it and
    waits (at most `resolve_timeout`, 5 minutes) for the page to resolve.
    `fix` runs even when an assertion fails, so the suite goes on with a
    working mail system."""
    t_fail = time.monotonic()
    fixed = False
    try:
        induce()
        page = wait_for(f"{alertname} at the page receiver ({what})", lambda: webhook.find(
            alertname, "firing", "/page", t_fail), fire_timeout)
        summary = page[0]["annotations"]["summary"]
        text = summary + "\n" + page[0]["annotations"]["description"]
        log(f"{what}: {alertname} received after {time.monotonic() - t_fail:.1f}s: {summary}")
        for must in must_say:
            assert must in text, f"{what}: {must!r} not in the page's text: {text}"
        t_fix = time.monotonic()
        fixed = True
        fix()
        wait_for(f"{alertname} resolved at the page receiver ({what})", lambda: webhook.find(
            alertname, "resolved", "/page", t_fix), resolve_timeout)
        log(f"{what}: resolved {time.monotonic() - t_fix:.1f}s after the fix")
        pages = pages_since(webhook, instance, t_fail)
        assert {x.split(":")[0] for x in pages} == {alertname}, \
            f"{what} paged other than once: {pages}"
    finally:
        if not fixed:
            fix()


NFT_TABLE = "mailhealth_e2e"


def nft_close_port_25():
    for cmd in (["add", "table", "inet", NFT_TABLE],
                ["add", "chain", "inet", NFT_TABLE, "input",
                 "{ type filter hook input priority 0; }"],
                ["add", "rule", "inet", NFT_TABLE, "input", "tcp", "dport", "25",
                 "reject", "with", "tcp", "reset"]):
        subprocess.run(["nft"] + cmd, check=True)


def nft_open_port_25():
    subprocess.run(["nft", "delete", "table", "inet", NFT_TABLE],
                   stderr=subprocess.DEVNULL, check=False)


SMTPD_SASL_GONE = ["smtp/inet/smtpd_sasl_auth_enable=yes", "smtp/inet/smtpd_sasl_type=dovecot",
                   "smtp/inet/smtpd_sasl_path=private/auth-gone"]


def delete_queued_from(sender):
    q = subprocess.run(["postqueue", "-j"], capture_output=True, text=True).stdout
    ids = [m["queue_id"] for m in map(json.loads, filter(None, q.splitlines()))
           if m.get("sender") == sender]
    if ids:
        subprocess.run(["postsuper", "-d", "-"], input="\n".join(ids) + "\n",
                       text=True, capture_output=True)


def main():
    source, exporter = sys.argv[1], os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        print("SKIP: needs root (postfix stop/start)")
        return SKIP
    if os.environ.get("MAILHEALTH_ISOLATED") != "1":
        print("SKIP: needs its own Postfix: run through tests/tools/isolate "
              "(scripts/test does), which keeps the machine's mail system untouched")
        return SKIP
    tools = ["prometheus", "prometheus-alertmanager", "named", "postfix", "postlog", "setpriv",
             "nft"]
    missing = [t for t in tools if not shutil.which(t)]
    if missing or not os.access(exporter, os.X_OK):
        print("SKIP: missing", missing or exporter)
        return SKIP

    work = tempfile.mkdtemp(prefix="mailhealth-e2e-alerting-")
    procs = Procs(work)
    webhook = Webhook()
    stopped_postfix = False
    try:
        configured = subprocess.run(["postconf", "-h", "myhostname", "relayhost"],
                                    stdout=subprocess.PIPE, text=True).stdout.split()
        if not postfix_running() or configured != ["mail.mailhealth.test", "[127.0.0.1]:2599"]:
            log("setting up Postfix (scripts/setup-postfix start)")
            subprocess.run([os.path.join(source, "scripts/setup-postfix"), "start"], check=True)
        wait_for("postfix to run", postfix_running, 30)

        # --- BIND on loopback --------------------------------------------------
        # One BIND answering on two ports: two "resolvers" that agree.
        dns_port, dns_port2 = free_port(), free_port()
        named_dir = os.path.join(work, "named")
        os.makedirs(named_dir)
        with open(os.path.join(named_dir, "named.conf"), "w") as f:
            f.write(NAMED_CONF.format(d=named_dir, port=dns_port, port2=dns_port2))
        with open(os.path.join(named_dir, "mailhealth.test.zone"), "w") as f:
            f.write(ZONE)
        procs.start("named", ["named", "-g", "-n", "1", "-c",
                              os.path.join(named_dir, "named.conf")])
        wait_for("named to run", lambda: "running" in procs.tail("named", 200), 20)

        # --- the exporter ------------------------------------------------------
        exp_port = free_port()
        cfg = os.path.join(work, "mailhealth.yml")
        with open(cfg, "w") as f:
            f.write(exporter_config("/var/log/mail.log", dns_port, dns_port2))
        # With the unit's credentials: an unprivileged user in the groups
        # adm, systemd-journal and postdrop, with no_new_privs (postqueue's
        # setgid bit is then ignored, as under NoNewPrivileges=yes).
        os.chmod(work, 0o755)
        os.chmod(cfg, 0o644)
        groups = ",".join(g for g in ("adm", "systemd-journal", "postdrop") if group_exists(g))
        procs.start("exporter", [
            "setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=" + groups,
            "--no-new-privs", exporter, "--config.file=" + cfg,
            f"--web.listen-address=127.0.0.1:{exp_port}"])
        instance = f"127.0.0.1:{exp_port}"

        # --- Alertmanager with the shipped routing -------------------------------
        am_port = free_port()
        with open(os.path.join(source, "deploy/alertmanager/alertmanager.yml")) as f:
            am_cfg = test_alertmanager_config(f.read(), webhook.port)
        with open(os.path.join(work, "alertmanager.yml"), "w") as f:
            f.write(am_cfg)
        procs.start("alertmanager", [
            "prometheus-alertmanager", f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=", "--storage.path=" + os.path.join(work, "am"),
            "--config.file=" + os.path.join(work, "alertmanager.yml")])

        # --- Prometheus with the shipped config and rules -------------------------
        prom_port = free_port()
        pdir = os.path.join(work, "prometheus")
        os.makedirs(os.path.join(pdir, "targets"))
        with open(os.path.join(source, "deploy/prometheus/prometheus.yml")) as f:
            pcfg = test_prometheus_config(f.read(), am_port)
        with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
            f.write(pcfg)
        with open(os.path.join(source, "deploy/prometheus/mailhealth.rules.yml")) as f:
            rules = shorten_rules(f.read())
        with open(os.path.join(pdir, "mailhealth.rules.yml"), "w") as f:
            f.write(rules)
        # The other rule files of prometheus.yml (the fleet recording
        # rules), unchanged.
        for extra in re.findall(r"(?m)^\s+- (\S+\.rules\.yml)\s*$", pcfg):
            if extra != "mailhealth.rules.yml":
                shutil.copy(os.path.join(source, "deploy/prometheus", extra), pdir)
        with open(os.path.join(pdir, "targets", "e2e.yml"), "w") as f:
            f.write(f'- targets: ["{instance}"]\n  labels: {{site: e2e}}\n')
        procs.start("prometheus", [
            "prometheus", f"--web.listen-address=127.0.0.1:{prom_port}",
            "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
            "--config.file=" + os.path.join(pdir, "prometheus.yml"),
            "--rules.alert.resend-delay=1s"])
        prom = Prom(prom_port)

        # --- 1. all up -------------------------------------------------------------
        wait_for("Prometheus to scrape the exporter (up == 1)",
                 lambda: prom.value(f'up{{job="mailhealth",instance="{instance}"}}') == [1.0], 40)
        wait_for("mailhealth_postfix_up == 1",
                 lambda: prom.value(f'mailhealth_postfix_up{{instance="{instance}"}}') == [1.0], 60)
        procs.check_alive()
        collectors = {s["metric"]["collector"]: s["value"][1] for s in prom.query(
            f'mailhealth_scrape_collector_success{{instance="{instance}"}}')["data"]["result"]}
        log(f"collectors: {collectors}")
        assert set(collectors) >= {"queue", "log", "dns", "smtp"}, collectors
        wait_for("Alertmanager to answer", lambda: http_json(
            f"http://127.0.0.1:{am_port}/api/v2/status"), 20)

        # --- 2. Postfix down -> page -------------------------------------------------
        log("postfix stop")
        t_stop = time.monotonic()
        subprocess.run(["postfix", "stop"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        stopped_postfix = True
        down = wait_for("MailhealthPostfixDown at the page receiver", lambda: webhook.find(
            "MailhealthPostfixDown", "firing", "/page", t_stop), 75)
        t_down = time.monotonic()
        log(f"MailhealthPostfixDown received after {t_down - t_stop:.1f}s: "
            f"{down[0]['annotations']['summary']}")
        assert down[0]["labels"]["instance"] == instance
        assert down[0]["labels"]["severity"] == "page"
        assert "postfix status" in down[0]["annotations"]["description"]

        # --- 3. a fatal line while down: fires, inhibited, not delivered -------------
        subprocess.run(["postlog", "-p", "fatal", "-t", "postfix/mailhealth-e2e",
                        "e2e: simulated fatal while the mail system is down"], check=True)
        wait_for("MailhealthLogFatal firing in Prometheus", lambda: prom.value(
            f'ALERTS{{alertname="MailhealthLogFatal",alertstate="firing",instance="{instance}"}}'), 30)

        def inhibited_in_am():
            alerts = http_json(f"http://127.0.0.1:{am_port}/api/v2/alerts?" +
                               urllib.parse.urlencode({"filter": 'alertname="MailhealthLogFatal"'}))
            return [a for a in alerts if a["labels"].get("instance") == instance
                    and a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"]]

        inh = wait_for("Alertmanager to hold MailhealthLogFatal as inhibited", inhibited_in_am, 20)
        log(f"MailhealthLogFatal suppressed, inhibited by {inh[0]['status']['inhibitedBy']}")
        time.sleep(5)  # past group_wait: an uninhibited alert would be sent by now
        procs.check_alive()

        # --- 4. Postfix back -> resolved ------------------------------------------------
        log("postfix start")
        t_start = time.monotonic()
        start_postfix()
        stopped_postfix = False
        wait_for("postfix to run", postfix_running, 30)
        wait_for("MailhealthPostfixDown resolved at the page receiver", lambda: webhook.find(
            "MailhealthPostfixDown", "resolved", "/page", t_start), 75)
        t_resolved = time.monotonic()
        log(f"MailhealthPostfixDown resolved after {t_resolved - t_start:.1f}s")

        leaked = [(p, a["labels"]["alertname"]) for t, p, _, a in webhook.alerts(t_stop)
                  if t_down <= t < t_start and a["status"] == "firing"
                  and a["labels"].get("instance") == instance
                  and (INHIBITED.match(a["labels"]["alertname"]) or
                       (a["labels"]["alertname"] == "MailhealthCollectorFailing"
                        and a["labels"].get("collector") == "queue"))]
        assert not leaked, f"inhibited alerts reached the webhook while Postfix was down: {leaked}"
        pages = sorted({a["labels"]["alertname"] + ": " + a["annotations"]["summary"]
                        for t, p, _, a in webhook.alerts(t_stop)
                        if t < t_start and p == "/page" and a["status"] == "firing"
                        and a["labels"].get("instance") == instance})
        assert [x.split(":")[0] for x in pages] == ["MailhealthPostfixDown"], \
            f"Postfix down paged more than once: {pages}"
        log("notifications since postfix stop: " + ", ".join(sorted({
            f"{a['labels']['alertname']}({a['status']})" for t, _, s, a in webhook.alerts(t_stop)})))

        # --- 5. every dashboard query runs ---------------------------------------------
        queries = dashboard_queries(os.path.join(source, "grafana/mailhealth.json"))
        now = time.time()
        errors, empty = [], []
        for title, expr, y in queries:
            q = grafana_to_promql(expr)
            for kind, call in (("instant", lambda: prom.query(q)),
                               ("range", lambda: prom.query_range(q, now - 120, now, 5))):
                try:
                    r = call()
                    if r.get("status") != "success":
                        errors.append(f"{title} ({kind}): {r}")
                    elif kind == "instant" and not r["data"]["result"]:
                        empty.append(title)
                except urllib.error.HTTPError as e:
                    errors.append(f"{title} ({kind}): {e.code} {e.read().decode()[:300]}")
        log(f"{len(queries)} dashboard queries, instant and range: {len(errors)} errors; "
            f"empty now: {sorted(set(empty))}")
        assert not errors, "dashboard queries failed:\n" + "\n".join(errors)
        for must in ("Postfix", "Exporter scraped", "Mail log readable", "Firing alerts",
                     "Resolvers agree", "SMTP targets", "MX lookup (domain @ resolver)",
                     "MX as declared (domain @ resolver)", "Collectors"):
            assert must not in empty, f"overview panel {must!r} has no data"
        procs.check_alive()

        # --- 6. the LMTP store's socket gone -> one page; store back -> resolved ------
        sock_path = "/var/spool/postfix/private/dovecot-lmtp"
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        t_fail = time.monotonic()
        sender = f"mhe2e{os.getpid()}@mail.mailhealth.test"
        for i in range(3):
            subprocess.run(["sendmail", "-i", "-f", sender, f"e2e{i}@lmtpgone.test"],
                           input=b"Subject: e2e local delivery\n\nbody\n", check=True)
        try:
            page = wait_for("MailhealthQueueLocalDeliveryFailing at the page receiver",
                            lambda: webhook.find("MailhealthQueueLocalDeliveryFailing",
                                                 "firing", "/page", t_fail), 120)
            t_page = time.monotonic()
            summary = page[0]["annotations"]["summary"]
            desc = page[0]["annotations"]["description"]
            log(f"MailhealthQueueLocalDeliveryFailing received after {t_page - t_fail:.1f}s: "
                f"{summary}")
            assert page[0]["labels"]["reason"] == "local_delivery", page[0]["labels"]
            assert "Local delivery failing" in summary and \
                "the store or delivery agent is down" in summary, summary
            for must in ("private/dovecot-lmtp", "postqueue -p", "postqueue -f",
                         "mailbox_transport"):
                assert must in desc, f"{must!r} not in the description: {desc}"
            store = LmtpStore(sock_path)
            try:
                t_fix = time.monotonic()
                log("LMTP store back; postqueue -f")
                subprocess.run(["postqueue", "-f"], check=True)
                wait_for("MailhealthQueueLocalDeliveryFailing resolved at the page receiver",
                         lambda: webhook.find("MailhealthQueueLocalDeliveryFailing",
                                              "resolved", "/page", t_fix), 300)
                log(f"resolved {time.monotonic() - t_fix:.1f}s after the fix; "
                    f"{store.delivered} recipients delivered to the store")
                assert store.delivered >= 3, store.delivered
            finally:
                store.close()
            pages = sorted({a["labels"]["alertname"] + ": " + a["annotations"]["summary"]
                            for t, p, _, a in webhook.alerts(t_fail)
                            if p == "/page" and a["status"] == "firing"
                            and a["labels"].get("instance") == instance})
            assert {x.split(":")[0] for x in pages} == {"MailhealthQueueLocalDeliveryFailing"}, \
                f"local delivery failing paged other than once: {pages}"
        finally:
            q = subprocess.run(["postqueue", "-j"], capture_output=True, text=True).stdout
            ids = [m["queue_id"] for m in map(json.loads, filter(None, q.splitlines()))
                   if m.get("sender") == sender]
            if ids:
                subprocess.run(["postsuper", "-d", "-"], input="\n".join(ids) + "\n",
                               text=True, capture_output=True)
        procs.check_alive()

        # --- 7. mailbox_command tempfails -> one page; repaired -> resolved --------
        # The real mailbox_command of main.cf, for the test's local user
        # mhuser (scripts/setup-postfix). Safe for the rest of the suite: every
        # test that sends mail holds RESOURCE_LOCK postfix, as this one does,
        # and the old value is restored in `finally`.
        cmd_dir = tempfile.mkdtemp(prefix="mh-e2e-cmd-")
        os.chmod(cmd_dir, 0o755)
        broken = os.path.join(cmd_dir, "broken")
        script = os.path.join(cmd_dir, "deliver")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\ncat >/dev/null\n[ -e {broken} ] && exit 75\nexit 0\n")
        os.chmod(script, 0o755)
        open(broken, "w").close()
        os.chmod(broken, 0o644)
        mailbox_command_before = subprocess.run(
            ["postconf", "-h", "mailbox_command"], capture_output=True, text=True,
            check=True).stdout.strip()
        subprocess.run(["postconf", "-e", f"mailbox_command = {script}"], check=True)
        subprocess.run(["postfix", "reload"], check=True, capture_output=True)
        t_fail = time.monotonic()
        sender = f"mhe2ecmd{os.getpid()}@mail.mailhealth.test"
        try:
            for _ in range(2):
                subprocess.run(["sendmail", "-i", "-f", sender, "mhuser@mail.mailhealth.test"],
                               input=b"Subject: e2e command\n\nbody\n", check=True)
            page = wait_for("MailhealthQueueLocalDeliveryFailing (mailbox_command) at the page "
                            "receiver", lambda: webhook.find(
                                "MailhealthQueueLocalDeliveryFailing", "firing", "/page", t_fail),
                            120)
            summary = page[0]["annotations"]["summary"]
            desc = page[0]["annotations"]["description"]
            log(f"MailhealthQueueLocalDeliveryFailing received after "
                f"{time.monotonic() - t_fail:.1f}s: {summary}")
            assert page[0]["labels"]["reason"] == "local_delivery", page[0]["labels"]
            assert "Local delivery failing" in summary, summary
            for must in ("temporary failure", "mailbox_command", "postqueue -f"):
                assert must in desc, f"{must!r} not in the description: {desc}"
            os.unlink(broken)
            t_fix = time.monotonic()
            log("mailbox_command repaired; postqueue -f")
            subprocess.run(["postqueue", "-f"], check=True)
            wait_for("MailhealthQueueLocalDeliveryFailing (mailbox_command) resolved", lambda:
                     webhook.find("MailhealthQueueLocalDeliveryFailing", "resolved", "/page",
                                  t_fix), 300)
            log(f"resolved {time.monotonic() - t_fix:.1f}s after the fix")
            pages = pages_since(webhook, instance, t_fail)
            assert {x.split(":")[0] for x in pages} == {"MailhealthQueueLocalDeliveryFailing"}, \
                f"the tempfailing mailbox_command paged other than once: {pages}"
        finally:
            if mailbox_command_before:
                subprocess.run(["postconf", "-e", f"mailbox_command = {mailbox_command_before}"],
                               check=False)
            else:
                subprocess.run(["postconf", "-X", "mailbox_command"], check=False)
            subprocess.run(["postfix", "reload"], check=False, capture_output=True)
            delete_queued_from(sender)
            shutil.rmtree(cmd_dir, ignore_errors=True)
        procs.check_alive()

        # --- 8. port 25 closed while Postfix runs -------------------------------------
        one_page_per_cause(
            webhook, instance, "port 25 closed", "MailhealthSmtpTargetDown",
            nft_close_port_25, nft_open_port_25,
            ["127.0.0.1:25", "refused", "postfix status", "nft list ruleset"])
        procs.check_alive()

        # --- 9. the MX pointing at a wrong host ----------------------------------------
        zone_path = os.path.join(named_dir, "mailhealth.test.zone")
        named = dict(procs.procs)["named"]

        def set_zone(text, serial):
            with open(zone_path, "w") as f:
                f.write(text.replace(" 1 3600 600", f" {serial} 3600 600"))
            named.send_signal(signal.SIGHUP)  # named reloads its zones

        wrong = ZONE.replace("@ IN MX 10 mail\n", "@ IN MX 10 wrong\nwrong IN A 127.0.0.2\n")
        assert wrong != ZONE
        one_page_per_cause(
            webhook, instance, "wrong MX", "MailhealthDnsMxNotAsDeclared",
            lambda: set_zone(wrong, 2), lambda: set_zone(ZONE, 3),
            ["mailhealth.test", "10 wrong.mailhealth.test", "dig @127.0.0.1 -p "])
        procs.check_alive()

        # --- 10. the content filter on 127.0.0.1:10024 dead -------------------------
        sender = f"mhe2efilter{os.getpid()}@mail.mailhealth.test"
        filt = []

        def send_filtered():
            import smtplib
            with smtplib.SMTP("127.0.0.1", 25, local_hostname="client.mailhealth.test",
                              timeout=20) as c:
                for i in range(2):
                    c.sendmail(sender, [f"e2e{i}@filtered.test"],
                               b"Subject: e2e content filter\r\n\r\nbody\r\n")

        def filter_back():
            filt.append(LmtpStore(tcp=("127.0.0.1", 10024)))
            subprocess.run(["postqueue", "-f"], check=True)

        try:
            one_page_per_cause(
                webhook, instance, "content filter dead", "MailhealthQueueLocalServiceFailing",
                send_filtered, filter_back, ["local_service", "postqueue -f", "ss -ltnp"])
            assert filt[0].delivered >= 2, filt[0].delivered
        finally:
            for f in filt:
                f.close()
            delete_queued_from(sender)
        procs.check_alive()

        # --- 11. smtpd dying on every connection -------------------------------------
        def break_smtpd():
            subprocess.run(["postconf", "-P"] + SMTPD_SASL_GONE, check=True)
            subprocess.run(["postfix", "reload"], check=True, capture_output=True)

        def repair_smtpd():
            subprocess.run(["postconf", "-PX"] + [x.split("=")[0] for x in SMTPD_SASL_GONE],
                           check=True)
            subprocess.run(["postfix", "reload"], check=True, capture_output=True)

        one_page_per_cause(
            webhook, instance, "smtpd fatal", "MailhealthLogFatal", break_smtpd, repair_smtpd,
            ["smtpd", "fatal", "postfix check"])
        procs.check_alive()
        log("PASS")
        return 0
    except AssertionError as e:
        print("FAIL:", e)
        for name, _ in procs.procs:
            print(f"--- {name} log tail ---\n{procs.tail(name)}")
        return 1
    finally:
        nft_open_port_25()
        if stopped_postfix or not postfix_running():
            try:
                start_postfix()
            except AssertionError as e:
                print("cleanup:", e)
        procs.stop_all()
        webhook.server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
