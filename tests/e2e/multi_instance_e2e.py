#!/usr/bin/env python3
"""Multi-instance Postfix, end to end (issue #15), as an admin runs it.

A real second instance made with postmulti (`postmulti -e init`,
`postmulti -I postfix-out -G mta -e create`) beside the real default one
(scripts/setup-postfix), its own loopback port, queue and master, and a
syslog_name of its own ("out", unlike its name, so the log collector must
map it from the live configuration). Both write the one mail log
(maillog_file). The exporter binary runs with `instances: auto` and reads
that log. Checked against what Postfix itself says:

  - each instance's queue counts (deferred, hold) equal
    `postqueue [-c DIR] -j` of that instance;
  - mailhealth_postfix_up is 1 for both, and with only postfix-out
    stopped 0 for postfix-out and still 1 for postfix;
  - the log counters of each instance (deliveries by status, messages of
    the smtp process) equal a count of that instance's lines in the mail
    log, written here independently of the exporter's parser.

usage: multi_instance_e2e.py EXPORTER_BINARY SOURCE_DIR
Exit 77 (skipped by ctest) when not root, not isolated or postmulti is
missing. Loopback only.
"""

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
OUT_CONF = "/etc/postfix-out"
OUT_BASE = "/home/mh-e2e-out"  # /var/spool is not private in isolate
OUT_PORT = 2541
SENDER = "multi-e2e@mail.mailhealth.test"


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (cmd, r.returncode, r.stdout))
    return r.stdout


def postqueue_counts(conf):
    """Messages per queue, from postqueue -j of one instance."""
    c = "-c %s " % conf if conf else ""
    counts = {}
    for line in sh("postqueue %s-j" % c).splitlines():
        if line.strip():
            q = json.loads(line)["queue_name"]
            counts[q] = counts.get(q, 0) + 1
    return counts


def our_ids(conf):
    c = "-c %s " % conf if conf else ""
    ids = []
    for line in sh("postqueue %s-j" % c).splitlines():
        if line.strip():
            m = json.loads(line)
            if m.get("sender") == SENDER:
                ids.append((m["queue_id"], m["queue_name"]))
    return ids


def send(conf, n, subject):
    c = "-C %s " % conf if conf else ""
    for i in range(n):
        msg = "From: %s\nTo: someone@example.org\nSubject: %s %d\n\nbody\n" % (
            SENDER, subject, i)
        subprocess.run("sendmail %s-f %s someone@example.org" % (c, SENDER),
                       shell=True, input=msg, text=True, check=True)


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        samples[key] = float(value)
    return samples


def sample(samples, name, **labels):
    """The value of the one series of `name` whose labels include `labels`
    (0 when there is none); fails when several match."""
    found = []
    for key, v in samples.items():
        if not (key == name or key.startswith(name + "{")):
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', key))
        if all(have.get(k) == v2 for k, v2 in labels.items()):
            found.append(v)
    if len(found) > 1:
        raise AssertionError("%s%s: %d series" % (name, labels, len(found)))
    return found[0] if found else 0


def log_counts(path, syslog_name):
    """An independent count of one instance's lines in the mail log:
    deliveries by status (any delivery agent: smtp, or error for mail the
    queue manager defers as "delivery temporarily suspended"), and the
    smtp client's lines by severity, and the smtp/lmtp lines that say a
    loopback service (a content filter) refused or timed out."""
    status, severity = {}, {}
    local = 0
    local_re = re.compile(r"connect to [^\s\[]+\[(?:127\.[\d.]+|::1)\]:\d+: "
                          r"Connection (?:refused|timed out)")
    # NAME/PROC or NAME/SERVICE/PROC (master.cf's relay service).
    line_re = re.compile(r" %s(?:/[\w.-]+)?/([\w.-]+)\[\d+\]: (.*)$" %
                         re.escape(syslog_name))
    with open(path, errors="replace") as f:
        for line in f:
            m = line_re.search(line.rstrip("\n"))
            if not m:
                continue
            proc, body = m.group(1), m.group(2)
            # smtp/lmtp lines only (docs/log.md): the error agent's
            # "delivery temporarily suspended: connect to ..." is no event.
            if proc in ("smtp", "lmtp") and local_re.search(body):
                local += 1
            s = re.search(r", status=(sent|deferred|bounced|expired)\b", body)
            if s and re.match(r"[0-9A-Za-z]{6,}: to=<", body):
                status[s.group(1)] = status.get(s.group(1), 0) + 1
            if proc != "smtp":
                continue
            for sev in ("warning", "error", "fatal", "panic"):
                if body.startswith(sev + ": "):
                    severity[sev] = severity.get(sev, 0) + 1
                    break
            else:
                severity["info"] = severity.get("info", 0) + 1
    return status, severity, local


def total(samples, name, **labels):
    """The sum of every series of `name` whose labels include `labels`."""
    t = 0
    for key, v in samples.items():
        if not (key == name or key.startswith(name + "{")):
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', key))
        if all(have.get(k) == v2 for k, v2 in labels.items()):
            t += v
    return t


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, what, timeout=30):
    end = time.time() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.time() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.5)


def make_instance(src):
    sh(os.path.join(src, "scripts/setup-postfix") + " start")
    sh("postmulti -e init")
    os.makedirs(OUT_BASE, mode=0o755, exist_ok=True)
    sh("postmulti -I postfix-out -G mta -e create config_directory=%s "
       "queue_directory=%s/queue data_directory=%s/data" %
       (OUT_CONF, OUT_BASE, OUT_BASE))
    pc = "postconf -c %s" % OUT_CONF
    sh(pc + " -e 'master_service_disable =' 'inet_interfaces = loopback-only' "
       "'inet_protocols = ipv4' 'myhostname = out.mailhealth.test' "
       "'mydestination =' 'relayhost = [127.0.0.1]:2599' "
       "'smtp_dns_support_level = disabled' 'smtpd_peername_lookup = no' "
       "'authorized_submit_users = static:anyone' 'queue_run_delay = 4000s' "
       "'syslog_name = out' 'maillog_file = /var/log/mail.log' "
       # A dead content filter (amavis's port): every message is deferred
       # at it, as on a host whose amavis died.
       "'content_filter = smtp:[127.0.0.1]:10024'")
    sh(pc + " -F '*/*/chroot = n'")
    sh(pc + " -M# smtp/inet")
    sh(pc + " -M '127.0.0.1:%d/inet = 127.0.0.1:%d inet n - n - - smtpd'" %
       (OUT_PORT, OUT_PORT))
    sh("postmulti -i postfix-out -e enable")
    sh("postmulti -i postfix-out -p start")


def remove_instance():
    sh("postmulti -i postfix-out -p stop", check=False)
    sh("postsuper -c %s -d ALL" % OUT_CONF, check=False)
    sh("postmulti -i postfix-out -e disable", check=False)
    if subprocess.run("postmulti -i postfix-out -e destroy", shell=True,
                      capture_output=True).returncode != 0:
        sh("postconf -e 'multi_instance_directories ='", check=False)
    shutil.rmtree(OUT_BASE, ignore_errors=True)
    shutil.rmtree(OUT_CONF, ignore_errors=True)
    sh("postconf -X multi_instance_wrapper multi_instance_enable", check=False)
    for qid, _ in our_ids(""):
        sh("postsuper -d %s" % qid, check=False)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, src = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0 or os.environ.get("MAILHEALTH_ISOLATED") != "1":
        print("skip: needs root inside tests/tools/isolate")
        return SKIP
    if not shutil.which("postmulti"):
        print("skip: no postmulti")
        return SKIP
    tmp = tempfile.mkdtemp()
    exporter = None
    try:
        make_instance(src)
        # Different numbers in each: postfix 2 deferred of ours + 1 held,
        # postfix-out 4 deferred + 2 held (all to the dead relayhost).
        send("", 3, "multi e2e")
        send(OUT_CONF, 6, "multi e2e")
        wait_for(lambda: sum(1 for _, q in our_ids("") if q == "deferred") == 3,
                 "3 deferred in postfix")
        wait_for(lambda: sum(1 for _, q in our_ids(OUT_CONF)
                             if q == "deferred") == 6,
                 "6 deferred in postfix-out")
        sh("postsuper -h %s" % our_ids("")[0][0])
        for qid, _ in our_ids(OUT_CONF)[:2]:
            sh("postsuper -c %s -h %s" % (OUT_CONF, qid))

        port = free_port()
        cfg = os.path.join(tmp, "mailhealth.yml")
        with open(cfg, "w") as f:
            f.write("""collectors:
  queue:
    enabled: true
    interval: 1s
    timeout: 900ms
    detail_interval: 1s
    instances: auto
    spool_stat: ""
    spool_stat_socket: ""
  log:
    enabled: true
    interval: 1s
    timeout: 900ms
    path: /var/log/mail.log
    start_at: beginning
  dns: { enabled: false }
  smtp: { enabled: false }
""")
        exporter = subprocess.Popen(
            [binary, "--config.file=" + cfg, "--allow-root",
             "--web.listen-address=127.0.0.1:%d" % port],
            stdout=open(os.path.join(tmp, "exporter.log"), "w"),
            stderr=subprocess.STDOUT)

        def ready():
            try:
                s = scrape(port)
            except OSError:
                return None
            ok = (sample(s, "mailhealth_scrape_collector_success",
                         collector="queue") == 1 and
                  sample(s, "mailhealth_scrape_collector_success",
                         collector="log") == 1)
            return s if ok else None
        wait_for(ready, "the first runs of queue and log")

        failures = []

        def expect(what, got, want):
            mark = "ok  " if got == want else "FAIL"
            print("%s %s: exporter %s, Postfix %s" % (mark, what, got, want))
            if got != want:
                failures.append(what)

        # Queue counts per instance: the exporter's run between two
        # postqueue listings that agree (nothing moved meanwhile).
        for attempt in range(10):
            before = (postqueue_counts(""), postqueue_counts(OUT_CONF))
            time.sleep(2.5)  # a queue run and a detail run in between
            s = scrape(port)
            after = (postqueue_counts(""), postqueue_counts(OUT_CONF))
            if before == after:
                break
        for inst, counts in (("postfix", after[0]), ("postfix-out", after[1])):
            for q in ("deferred", "hold", "active", "incoming"):
                expect("mailhealth_queue_messages{postfix_instance=%s,queue=%s}"
                       % (inst, q),
                       int(sample(s, "mailhealth_queue_messages",
                                  postfix_instance=inst, queue=q)),
                       counts.get(q, 0))
            expect("mailhealth_postfix_up{postfix_instance=%s}" % inst,
                   sample(s, "mailhealth_postfix_up", postfix_instance=inst), 1)
        expect("our deferred in postfix-out", after[1].get("deferred", 0) >= 4,
               True)

        # Log counters per instance against our own count of the log.
        # postfix-out's lines are all ours (queue_run_delay 4000s: no
        # retries); the default instance may still log other tests' mail, so
        # its count is taken around the scrape until it holds still.
        for attempt in range(10):
            before = (log_counts("/var/log/mail.log", "postfix"),
                      log_counts("/var/log/mail.log", "out"))
            time.sleep(1.5)
            s = scrape(port)
            after = (log_counts("/var/log/mail.log", "postfix"),
                     log_counts("/var/log/mail.log", "out"))
            if before == after:
                break
        for inst, (status, severity, local) in (("postfix", after[0]),
                                                ("postfix-out", after[1])):
            for st in ("sent", "deferred", "bounced", "expired"):
                expect("sum(mailhealth_log_deliveries_total{postfix_instance=%s,"
                       "status=%s})" % (inst, st),
                       int(total(s, "mailhealth_log_deliveries_total",
                                 postfix_instance=inst, status=st)),
                       status.get(st, 0))
            for sev in ("info", "warning", "error", "fatal", "panic"):
                expect("mailhealth_log_messages_total{postfix_instance=%s,"
                       "process=smtp,severity=%s}" % (inst, sev),
                       int(sample(s, "mailhealth_log_messages_total",
                                  postfix_instance=inst, process="smtp",
                                  severity=sev)),
                       severity.get(sev, 0))
            expect("mailhealth_log_events_total{postfix_instance=%s,"
                   "event=content_filter_unavailable}" % inst,
                   int(sample(s, "mailhealth_log_events_total",
                              postfix_instance=inst,
                              event="content_filter_unavailable")), local)
        expect("postfix-out's dead content filter is in its log",
               after[1][2] >= 6, True)
        expect("mailhealth_log_events_total{postfix_instance=postfix-out,"
               "event=connection_refused} (a local service, not a remote)",
               int(sample(s, "mailhealth_log_events_total",
                          postfix_instance="postfix-out",
                          event="connection_refused")), 0)
        expect("postfix-out's deferrals are in its log", after[1][0].get(
            "deferred", 0) >= 6, True)
        expect("no series for the syslog name 'out' itself",
               total(s, "mailhealth_log_deliveries_total",
                     postfix_instance="out"), 0)

        # Only postfix-out stopped: its postfix_up goes to 0, the default
        # instance's stays 1; started again, 1.
        sh("postmulti -i postfix-out -p stop")
        s = wait_for(lambda: (lambda x: x if sample(
            x, "mailhealth_postfix_up", postfix_instance="postfix-out") == 0
            else None)(scrape(port)), "postfix_up 0 for postfix-out")
        expect("postfix_up{postfix-out} with postfix-out stopped",
               sample(s, "mailhealth_postfix_up",
                      postfix_instance="postfix-out"), 0)
        expect("postfix_up{postfix} with postfix-out stopped",
               sample(s, "mailhealth_postfix_up", postfix_instance="postfix"),
               1)
        sh("postmulti -i postfix-out -p start")
        s = wait_for(lambda: (lambda x: x if sample(
            x, "mailhealth_postfix_up", postfix_instance="postfix-out") == 1
            else None)(scrape(port)), "postfix_up 1 for postfix-out again")
        expect("postfix_up{postfix-out} started again",
               sample(s, "mailhealth_postfix_up",
                      postfix_instance="postfix-out"), 1)

        if failures:
            print("FAIL: %d checks" % len(failures))
            with open(os.path.join(tmp, "exporter.log")) as f:
                print(f.read()[-3000:])
            return 1
        print("OK")
        return 0
    finally:
        if exporter:
            exporter.terminate()
            exporter.wait(timeout=10)
        remove_instance()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
