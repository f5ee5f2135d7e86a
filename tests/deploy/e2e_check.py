#!/usr/bin/env python3
"""End-to-end test of `mailhealth_exporter check` and the landing page.

A real loopback installation: the real Postfix (scripts/setup-postfix), a
real BIND on 127.0.0.1 serving the test zone, the exporter daemon with the
queue, log, dns and smtp collectors, and `mailhealth_exporter check` with
the same config file. The installation is broken in each way the
troubleshooting order names, one after the other, and repaired:

  1. Postfix stopped                 -> MailhealthPostfixDown, `postfix status`
  2. smtpd's port closed (nftables)  -> MailhealthSmtpTargetDown, `postfix status`
  3. the MX pointing at a wrong host -> MailhealthDnsMxNotAsDeclared, `dig @...`
  4. the content filter on 127.0.0.1:10024 stopped, mail deferred
                                     -> MailhealthQueueLocalServiceFailing, `postqueue -p ...`
  5. a fatal: line (smtpd dying on a gone SASL socket)
                                     -> MailhealthLogFatal, `grep -E 'postfix/smtpd...`

For each: `check` exits 2, its first FAIL (text and JSON) is that cause with
that first command, and GET / of the daemon shows the same first FAIL. The
healthy installation before and after: exit 0 (or 1 for a WARN that names
what it saw), no FAIL, and /-/ready 200.

usage: e2e_check.py SOURCE_DIR EXPORTER_BINARY
Exit 77 (skipped by ctest) when not root, not isolated or a tool is missing.
"""

import html
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_alerting as E  # noqa: E402  (the same loopback installation)

SKIP = 77


def exporter_config(dns_port):
    return f"""collectors:
  queue:
    enabled: true
    interval: 2s
    timeout: 1900ms
    # The deferral reasons come from postqueue -j every detail_interval
    # (default 5m): short here, as a small queue allows.
    detail_interval: 2s
  log:
    enabled: true
    interval: 1s
    timeout: 900ms
    path: /var/log/mail.log
  dns:
    enabled: true
    interval: 2s
    timeout: 1s
    resolvers: ["127.0.0.1:{dns_port}"]
    domains:
      - name: mailhealth.test
        expect_mx: ["10 mail.mailhealth.test"]
  smtp:
    enabled: true
    interval: 3s
    timeout: 2s
    helo: e2e.mailhealth.test
    targets: ["127.0.0.1:25"]
"""


class Check:
    def __init__(self, exporter, cfg):
        self.exporter, self.cfg = exporter, cfg

    def run(self, window="20s"):
        args = [self.exporter, "check", "--config.file=" + self.cfg,
                "--check.log-window=" + window]
        t = time.monotonic()
        j = subprocess.run(args + ["--check.format=json"], capture_output=True, text=True,
                           timeout=30)
        took = time.monotonic() - t
        txt = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert j.stderr == "", f"check wrote to stderr: {j.stderr}"
        report = json.loads(j.stdout)
        assert "\033[" not in txt.stdout, "colour without a terminal"
        return j.returncode, report, txt.returncode, txt.stdout, took


def first_fail_text(text):
    """The first FAIL finding of the text report and the command below it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s+FAIL\s+(.*)$", line)
        if m:
            cmd = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return m.group(1), cmd[2:] if cmd.startswith("$ ") else cmd
    return None, None


def landing(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read().decode()


def landing_first(page):
    m = re.search(r'<p class="first" id="first">First: <span class="v (\w+)">\w+</span> '
                  r'<b>([^<]*)</b>', page)
    return (m.group(1), html.unescape(m.group(2))) if m else (None, None)


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def expect_cause(check, port, what, alert, title, first_cmd, must_say, window="20s"):
    """check's first FAIL is `alert` (JSON) / `title` (text) with
    `first_cmd` first, exit 2; the landing page's first FAIL is the same."""
    rc, rep, trc, text, took = E.wait_for(
        f"check to name {alert} ({what})",
        lambda: (lambda r: r if r[1].get("first", {}).get("alert") == alert else None)(
            check.run(window)), 40, interval=1)
    E.log(f"{what}: check exit {rc} in {took:.1f}s, first: {rep['first']['title']}: "
          f"{rep['first']['evidence']}")
    assert rc == 2 and trc == 2, (rc, trc, text)
    assert rep["verdict"] == "FAIL" and rep["first"]["verdict"] == "FAIL", rep["first"]
    assert rep["first"]["commands"][0] == first_cmd, (rep["first"]["commands"], first_cmd)
    for must in must_say:
        assert must in rep["first"]["evidence"] + " ".join(rep["first"]["commands"]), \
            f"{must!r} not in {rep['first']}"
    finding, cmd = first_fail_text(text)
    assert finding and finding.startswith(title + ":"), (finding, text)
    assert cmd == first_cmd, (cmd, first_cmd, text)
    # Every section before the cause's is not FAIL: it is the first.
    for s in rep["sections"]:
        if any(f["alert"] == alert for f in s["findings"]):
            break
        assert s["verdict"] != "FAIL", f"{s['section']} FAILs before {alert}: {s}"
    page = E.wait_for(f"the landing page to show {title}",
                      lambda: (lambda p: p if landing_first(p) == ("FAIL", title) else None)(
                          landing(port)), 40, interval=0.5)
    assert "$ " + html.escape(first_cmd, quote=False) in page or \
        "$ " + html.escape(first_cmd) in page, f"{first_cmd!r} not on the landing page"
    E.log(f"{what}: landing page first FAIL: {title}")
    return rep


def expect_healthy(check, port, what):
    rc, rep, trc, text, took = E.wait_for(
        f"check to pass ({what})",
        lambda: (lambda r: r if r[0] in (0, 1) else None)(check.run()), 60, interval=1)
    E.log(f"{what}: check exit {rc} ({rep['verdict']}) in {took:.1f}s")
    assert rc == trc, (rc, trc)
    assert not any(s["verdict"] == "FAIL" for s in rep["sections"]), text
    if rc == 1:
        E.log(f"{what}: warnings: " + "; ".join(
            f["title"] + ": " + f["evidence"] for s in rep["sections"] for f in s["findings"]))
    for s in rep["sections"][:5]:
        assert s["verdict"] != "SKIP", f"{s['section']} skipped: {s['summary']}"
    E.wait_for("the landing page to show no FAIL", lambda: landing_first(landing(port))[0]
               != "FAIL", 40, interval=0.5)
    return rep


def main():
    source, exporter = sys.argv[1], os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        print("SKIP: needs root (postfix stop/start)")
        return SKIP
    if os.environ.get("MAILHEALTH_ISOLATED") != "1":
        print("SKIP: needs its own Postfix: run through tests/tools/isolate")
        return SKIP
    missing = [t for t in ("named", "postfix", "nft") if not shutil.which(t)]
    if missing or not os.access(exporter, os.X_OK):
        print("SKIP: missing", missing or exporter)
        return SKIP

    work = tempfile.mkdtemp(prefix="mailhealth-e2e-check-")
    procs = E.Procs(work)
    sender = f"mhcheck{os.getpid()}@mail.mailhealth.test"
    try:
        configured = subprocess.run(["postconf", "-h", "myhostname", "relayhost"],
                                    stdout=subprocess.PIPE, text=True).stdout.split()
        if not E.postfix_running() or configured != ["mail.mailhealth.test", "[127.0.0.1]:2599"]:
            E.log("setting up Postfix (scripts/setup-postfix start)")
            subprocess.run([os.path.join(source, "scripts/setup-postfix"), "start"], check=True)
        E.wait_for("postfix to run", E.postfix_running, 30)

        dns_port = E.free_port()
        named_dir = os.path.join(work, "named")
        os.makedirs(named_dir)
        with open(os.path.join(named_dir, "named.conf"), "w") as f:
            f.write(E.NAMED_CONF.format(d=named_dir, port=dns_port, port2=E.free_port()))
        zone_path = os.path.join(named_dir, "mailhealth.test.zone")
        with open(zone_path, "w") as f:
            f.write(E.ZONE)
        named = procs.start("named", ["named", "-g", "-n", "1", "-c",
                                      os.path.join(named_dir, "named.conf")])
        E.wait_for("named to run", lambda: "running" in procs.tail("named", 200), 20)

        cfg = os.path.join(work, "mailhealth.yml")
        with open(cfg, "w") as f:
            f.write(exporter_config(dns_port))
        port = E.free_port()
        procs.start("exporter", [exporter, "--config.file=" + cfg, "--allow-root",
                                 f"--web.listen-address=127.0.0.1:{port}"])
        E.wait_for("the exporter to be ready", lambda: ready(port) == 200, 30)
        check = Check(exporter, cfg)

        # --- healthy ---------------------------------------------------------------
        rep = expect_healthy(check, port, "healthy")
        assert [s["section"] for s in rep["sections"]][:6] == [
            "Postfix running", "Port 25 (SMTP greeting)", "MX and A records", "Queue", "Log",
            "Reputation"], [s["section"] for s in rep["sections"]]

        # --- 1. Postfix stopped ------------------------------------------------------
        subprocess.run(["postfix", "stop"], check=True, capture_output=True)
        try:
            expect_cause(check, port, "Postfix stopped", "MailhealthPostfixDown",
                         "Postfix is not running", "postfix status", ["mailhealth_postfix_up 0"])
        finally:
            E.start_postfix()
        E.wait_for("postfix to run", E.postfix_running, 30)
        expect_healthy(check, port, "Postfix started")

        # --- 2. smtpd's port closed -----------------------------------------------------
        E.nft_close_port_25()
        try:
            expect_cause(check, port, "port 25 closed", "MailhealthSmtpTargetDown",
                         "SMTP port does not greet", "postfix status",
                         ["127.0.0.1:25", "refused", "ss -ltn 'sport = :25'",
                          "nc -v 127.0.0.1 25"])
        finally:
            E.nft_open_port_25()

        # --- 3. the MX pointing at a wrong host ----------------------------------------
        def set_zone(text, serial):
            with open(zone_path, "w") as f:
                f.write(text.replace(" 1 3600 600", f" {serial} 3600 600"))
            named.send_signal(signal.SIGHUP)

        wrong = E.ZONE.replace("@ IN MX 10 mail\n", "@ IN MX 10 wrong\nwrong IN A 127.0.0.2\n")
        set_zone(wrong, 2)
        try:
            expect_cause(check, port, "wrong MX", "MailhealthDnsMxNotAsDeclared",
                         "MX records are not as declared",
                         f"dig @127.0.0.1 -p {dns_port} mailhealth.test MX",
                         ["10 wrong.mailhealth.test"])
        finally:
            set_zone(E.ZONE, 3)

        # --- 4. the content filter on 127.0.0.1:10024 stopped ----------------------------
        with smtplib.SMTP("127.0.0.1", 25, local_hostname="client.mailhealth.test",
                          timeout=20) as c:
            for i in range(2):
                c.sendmail(sender, [f"e2e{i}@filtered.test"],
                           b"Subject: e2e check content filter\r\n\r\nbody\r\n")
        filt = None
        try:
            rep = expect_cause(check, port, "content filter stopped",
                               "MailhealthQueueLocalServiceFailing",
                               "Content filter or transport failing",
                               "postqueue -p | grep -B1 -A2 -i 'unavailable\\|127.0.0.1'",
                               ["local_service", "ss -ltnp 'sport = :10024'",
                                "postqueue -f (after fixing the filter)"])
            filt = E.LmtpStore(tcp=("127.0.0.1", 10024))
            subprocess.run(["postqueue", "-f"], check=True)
            E.wait_for("the filtered mail to leave the queue",
                       lambda: filt.delivered >= 2, 60)
        finally:
            if filt:
                filt.close()
            E.delete_queued_from(sender)
        expect_healthy(check, port, "content filter back")

        # --- 5. a fatal: line (smtpd dies on every connection) ---------------------------
        subprocess.run(["postconf", "-P"] + E.SMTPD_SASL_GONE, check=True)
        subprocess.run(["postfix", "reload"], check=True, capture_output=True)
        try:
            def smtpd_fatal_logged():
                try:
                    with smtplib.SMTP("127.0.0.1", 25, timeout=5) as c:
                        c.ehlo("client.mailhealth.test")
                except (smtplib.SMTPException, OSError):
                    pass
                with open("/var/log/mail.log", errors="replace") as f:
                    return any("postfix/smtpd" in line and "fatal:" in line
                               for line in f.readlines()[-200:])
            E.wait_for("smtpd to log a fatal line", smtpd_fatal_logged, 30, interval=1)
            expect_cause(check, port, "smtpd fatal", "MailhealthLogFatal",
                         "Postfix logged fatal",
                         "grep -E 'postfix/smtpd.*(fatal|panic):' /var/log/mail.log | tail -n 20",
                         ["postfix/smtpd", "fatal", "postfix check"], window="1m")
        finally:
            subprocess.run(["postconf", "-PX"] + [x.split("=")[0] for x in E.SMTPD_SASL_GONE],
                           check=True)
            subprocess.run(["postfix", "reload"], check=True, capture_output=True)

        # Repaired: smtpd greets again (master may throttle it for a minute
        # after the fatal exits), and check has no FAIL but the log's.
        def smtpd_greets():
            with smtplib.SMTP("127.0.0.1", 25, local_hostname="client.mailhealth.test",
                              timeout=5) as c:
                return c.ehlo()[0] == 250
        E.wait_for("smtpd to greet again", smtpd_greets, 120, interval=2)
        rc, rep, _, _, _ = check.run("1s")
        assert rep["sections"][1]["verdict"] == "OK", rep["sections"][1]
        E.log(f"repaired: check exit {rc}, port 25 {rep['sections'][1]['verdict']}")
        procs.check_alive()
        E.log("PASS")
        return 0
    except AssertionError as e:
        print("FAIL:", e)
        for name, _ in procs.procs:
            print(f"--- {name} log tail ---\n{procs.tail(name)}")
        return 1
    finally:
        E.nft_open_port_25()
        if not E.postfix_running():
            try:
                E.start_postfix()
            except AssertionError as e:
                print("cleanup:", e)
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
