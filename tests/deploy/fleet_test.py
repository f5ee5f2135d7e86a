#!/usr/bin/env python3
"""A fleet on loopback: twenty exporters with different configs, one real
Prometheus scraping them through a file-SD file in the format of
deploy/prometheus/targets/fleet.yml.example, with the shipped
prometheus.yml and deploy/prometheus/fleet.rules.yml (only the intervals
shortened).

The twenty hosts: every fifth has its Postfix down (its queue collector
reads a Postfix configuration whose queue has no master: the real
postqueue answers "Mail system is down"); the others read the running
Postfix, whose queue holds two messages deferred because the content
filter on 127.0.0.1:10024 is down. Every other host checks a sending
address on a blocklist served by BIND on loopback: 127.0.0.2 (listed) on
hosts 1, 5, 9, 13, 17 and 127.0.0.3 (not listed) on the other odd ones...
and the even ones check nothing. Log files, intervals and smtp targets
differ per host.

Checked: every recording rule of fleet.rules.yml and every query of the
dashboard's "Fleet overview" row returns one series per host (instance:*
rules: exactly the hosts that export the metric) or the right aggregate
(fleet:* rules: one series, equal to what the test computes from the
twenty /metrics pages itself, and to the known numbers: 20 hosts, 4 with
Postfix down, 5 listed).

usage: fleet_test.py SOURCE_DIR EXPORTER_BINARY
Exit 77 when not root, not isolated or a tool is missing.
"""

import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_alerting as E  # noqa: E402

SKIP = 77
N = 20
BL_ZONE = """$TTL 300
$ORIGIN bl.mailhealth.test.
@ IN SOA ns.mailhealth.test. hostmaster.mailhealth.test. 1 3600 600 86400 300
@ IN NS ns.mailhealth.test.
2.0.0.127 IN A 127.0.0.2
2.0.0.127 IN TXT "listed for the fleet test"
"""


def down(i):
    return i % 5 == 0


def reputation_address(i):
    if i % 2 == 0:
        return None
    return "127.0.0.2" if i % 4 == 1 else "127.0.0.3"


def host_config(i, work, broken_cfg, broken_spool, dns_port, closed_port):
    log = os.path.join(work, f"mail{i}.log")
    with open(log, "w") as f:
        f.write(time.strftime("%b %e %H:%M:%S") + f" host{i} postfix/qmgr[{i}]: info: hello\n")
    cfg = f"""collectors:
  queue:
    enabled: true
    interval: {3 + i % 3}s
    timeout: 2s
"""
    if down(i):
        cfg += f"    config_directory: {broken_cfg}\n    queue_directory: {broken_spool}\n"
    cfg += f"""  log:
    enabled: true
    interval: {2 + i % 2}s
    timeout: 1s
    path: {log}
    start_at: beginning
"""
    if i % 3 == 0:
        cfg += f"""  smtp:
    enabled: true
    interval: 5s
    timeout: 1s
    helo: host{i}.fleet.test
    targets: ["127.0.0.1:{closed_port}"]
"""
    addr = reputation_address(i)
    if addr:
        cfg += f"""  reputation:
    enabled: true
    interval: 10s
    timeout: 5s
    min_interval: 1s
    resolvers: ["127.0.0.1:{dns_port}"]
    addresses: ["{addr}"]
    zones:
      - name: bl.mailhealth.test
"""
    path = os.path.join(work, f"host{i}.yml")
    with open(path, "w") as f:
        f.write(cfg)
    return path


def parse_metrics(body):
    out = []
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def main():
    source, exporter = sys.argv[1], os.path.abspath(sys.argv[2])
    if os.geteuid() != 0 or os.environ.get("MAILHEALTH_ISOLATED") != "1":
        print("SKIP: needs root inside tests/tools/isolate (its own Postfix and loopback)")
        return SKIP
    missing = [t for t in ("prometheus", "named", "postfix", "postqueue") if not shutil.which(t)]
    if missing:
        print("SKIP: missing", missing)
        return SKIP
    work = tempfile.mkdtemp(prefix="mh-fleet-")
    os.chmod(work, 0o755)
    procs = E.Procs(work)
    sender = f"mhfleet{os.getpid()}@mail.mailhealth.test"
    try:
        if not E.postfix_running():
            subprocess.run([os.path.join(source, "scripts/setup-postfix"), "start"], check=True,
                           capture_output=True)
        E.wait_for("postfix to run", E.postfix_running, 30)

        # A Postfix whose queue has no master: "Mail system is down".
        broken = os.path.join(work, "broken")
        broken_cfg, broken_spool = os.path.join(broken, "etc"), os.path.join(broken, "spool")
        for d in (broken_cfg, os.path.join(broken_spool, "public"),
                  os.path.join(broken_spool, "pid")):
            os.makedirs(d)
        for f in ("main.cf", "master.cf"):
            shutil.copy(os.path.join("/etc/postfix", f), broken_cfg)
        subprocess.run(["postconf", "-c", broken_cfg, "-e", f"queue_directory = {broken_spool}"],
                       check=True)

        # BIND: the test zone and a blocklist listing 127.0.0.2.
        dns_port = E.free_port()
        nd = os.path.join(work, "named")
        os.makedirs(nd)
        conf = E.NAMED_CONF.format(d=nd, port=dns_port, port2=E.free_port())
        conf += 'zone "bl.mailhealth.test" { type primary; file "bl.zone"; };\n'
        with open(os.path.join(nd, "named.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(nd, "mailhealth.test.zone"), "w") as f:
            f.write(E.ZONE)
        with open(os.path.join(nd, "bl.zone"), "w") as f:
            f.write(BL_ZONE)
        procs.start("named", ["named", "-g", "-n", "1", "-c", os.path.join(nd, "named.conf")])
        E.wait_for("named to run", lambda: "running" in procs.tail("named", 200), 20)

        # Two messages deferred: the content filter on 127.0.0.1:10024 is down.
        # Retried: after a test whose smtpd died, master throttles smtpd for
        # up to a minute.
        def send_two():
            with smtplib.SMTP("127.0.0.1", 25, local_hostname="client.mailhealth.test",
                              timeout=10) as c:
                for k in range(2):
                    c.sendmail(sender, [f"fleet{k}@filtered.test"],
                               b"Subject: fleet test\r\n\r\nbody\r\n")
            return True
        E.wait_for("smtpd to take two messages", send_two, 120, interval=2)

        def deferred_now():
            q = subprocess.run(["postqueue", "-j"], capture_output=True, text=True).stdout
            return sum(1 for m in map(json.loads, filter(None, q.splitlines()))
                       if m.get("sender") == sender and m.get("queue_name") == "deferred")
        E.wait_for("two deferred messages", lambda: deferred_now() == 2, 60, interval=0.5)

        # Twenty exporters.
        closed = E.free_port()
        ports = []
        for i in range(N):
            cfg = host_config(i, work, broken_cfg, broken_spool, dns_port, closed)
            port = E.free_port()
            ports.append(port)
            procs.start(f"exporter{i}", [exporter, "--config.file=" + cfg, "--allow-root",
                                         f"--web.listen-address=127.0.0.1:{port}"])
        instances = [f"127.0.0.1:{p}" for p in ports]

        # Prometheus: the shipped config and rules, a file-SD file like the example.
        prom_port = E.free_port()
        pdir = os.path.join(work, "prometheus")
        os.makedirs(os.path.join(pdir, "targets"))
        with open(os.path.join(source, "deploy/prometheus/prometheus.yml")) as f:
            pcfg = E.test_prometheus_config(f.read(), E.free_port())
        with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
            f.write(pcfg)
        shutil.copy(os.path.join(source, "deploy/prometheus/mailhealth.rules.yml"), pdir)
        with open(os.path.join(source, "deploy/prometheus/fleet.rules.yml")) as f:
            fleet_rules = f.read()
        records = re.findall(r"(?m)^\s*- record: (\S+)", fleet_rules)
        fleet_rules, n = re.subn(r"(?m)^(\s+interval:\s*)\S+", r"\g<1>1s", fleet_rules)
        assert n == 1, "fleet.rules.yml: no group interval"
        with open(os.path.join(pdir, "fleet.rules.yml"), "w") as f:
            f.write(fleet_rules)
        # The example's format: groups of targets with shared labels.
        with open(os.path.join(source, "deploy/prometheus/targets/fleet.yml.example")) as f:
            assert "- targets:" in f.read()
        with open(os.path.join(pdir, "targets", "fleet.yml"), "w") as f:
            for site in ("dc1", "dc2"):
                group = [x for k, x in enumerate(instances) if (k % 2 == 0) == (site == "dc1")]
                f.write("- targets:\n" + "".join(f"    - {x}\n" for x in group) +
                        f"  labels:\n    site: {site}\n    role: mx\n")
        procs.start("prometheus", [
            "prometheus", f"--web.listen-address=127.0.0.1:{prom_port}",
            "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
            "--config.file=" + os.path.join(pdir, "prometheus.yml")])
        prom = E.Prom(prom_port)

        def one(expr):
            r = prom.query(expr)["data"]["result"]
            return r

        E.wait_for("Prometheus to scrape all twenty", lambda: [
            float(s["value"][1]) for s in one("fleet:mailhealth_hosts_scraped:count")] == [20.0],
            90, interval=1)
        E.wait_for("4 hosts with Postfix down", lambda: [
            float(s["value"][1]) for s in one("fleet:mailhealth_postfix_down_hosts:count")] == [4.0],
            60, interval=1)
        E.wait_for("5 listed hosts", lambda: [
            float(s["value"][1]) for s in one("fleet:mailhealth_listed_hosts:count")] == [5.0],
            60, interval=1)
        time.sleep(3)  # every rule evaluated on settled data

        # What the hosts say themselves.
        raw = {}
        for inst in instances:
            with urllib.request.urlopen(f"http://{inst}/metrics", timeout=5) as r:
                raw[inst] = parse_metrics(r.read().decode())

        def hosts_with(name, **match):
            return {h for h, ms in raw.items()
                    if any(n == name and all(ls.get(k) == v for k, v in match.items())
                           for n, ls, _ in ms)}

        def total(name, **match):
            return sum(v for ms in raw.values() for n, ls, v in ms
                       if n == name and all(ls.get(k) == v2 for k, v2 in match.items()))

        down_hosts = {instances[i] for i in range(N) if down(i)}
        listed_hosts = {instances[i] for i in range(N) if reputation_address(i) == "127.0.0.2"}
        assert {h for h, ms in raw.items() for n, _, v in ms
                if n == "mailhealth_postfix_up" and v == 0} == down_hosts
        # Every up host reads the same queue: our 2 deferred messages (and
        # whatever other tests left there).
        per_host = {h: sum(v for n, ls, v in ms
                           if n == "mailhealth_queue_messages" and ls.get("queue") == "deferred")
                    for h, ms in raw.items() if h not in down_hosts}
        assert len(set(per_host.values())) == 1 and min(per_host.values()) >= 2, per_host
        deferred_total = total("mailhealth_queue_messages", queue="deferred")
        assert deferred_total == min(per_host.values()) * (N - len(down_hosts)), deferred_total
        by_reason_total = total("mailhealth_queue_deferred_messages_by_reason",
                                reason="local_service")
        assert by_reason_total >= 2 * (N - len(down_hosts)), by_reason_total

        expect_fleet = {
            "fleet:mailhealth_hosts:count": N,
            "fleet:mailhealth_hosts_scraped:count": N,
            "fleet:mailhealth_postfix_down_hosts:count": len(down_hosts),
            "fleet:mailhealth_queue_deferred_messages:sum": deferred_total,
            "fleet:mailhealth_listed_hosts:count": len(listed_hosts),
        }
        expect_hosts = {
            "instance:mailhealth_postfix_down:max": hosts_with("mailhealth_postfix_up"),
            "instance:mailhealth_queue_deferred_messages:sum":
                hosts_with("mailhealth_queue_messages", queue="deferred"),
            "instance:mailhealth_dnsbl_listed:sum": hosts_with("mailhealth_dnsbl_listed"),
        }
        errors = []
        for rec in records:
            res = one(rec)
            if rec in expect_fleet:
                got = [float(s["value"][1]) for s in res]
                if got != [float(expect_fleet[rec])]:
                    errors.append(f"{rec}: {got}, want [{expect_fleet[rec]}]")
            elif rec in expect_hosts:
                got = [s["metric"].get("instance") for s in res]
                if len(got) != len(set(got)) or set(got) != expect_hosts[rec]:
                    errors.append(f"{rec}: series for {sorted(got)}, want one per host of "
                                  f"{sorted(expect_hosts[rec])}")
                for s in res:  # each host's value is its own
                    inst, v = s["metric"]["instance"], float(s["value"][1])
                    if rec == "instance:mailhealth_postfix_down:max" and \
                            v != (1.0 if inst in down_hosts else 0.0):
                        errors.append(f"{rec}{{instance={inst}}} = {v}")
                    if rec == "instance:mailhealth_dnsbl_listed:sum" and \
                            v != (1.0 if inst in listed_hosts else 0.0):
                        errors.append(f"{rec}{{instance={inst}}} = {v}")
            elif rec == "fleet:mailhealth_queue_deferred_messages_by_reason:sum":
                got = {s["metric"]["reason"]: float(s["value"][1]) for s in res}
                if got.get("local_service") != by_reason_total:
                    errors.append(f"{rec}: {got}, want local_service {by_reason_total}")
            else:
                errors.append(f"{rec}: a recording rule this test does not check")
            E.log(f"{rec}: {len(res)} series"
                  + (f", value {res[0]['value'][1]}" if len(res) == 1 else ""))

        # Every query of the dashboard's fleet row.
        dash = json.load(open(os.path.join(source, "grafana/mailhealth.json")))
        rows, current = {}, None
        for p in dash["panels"]:
            if p["type"] == "row":
                current = p["title"]
                continue
            rows.setdefault(current, []).append(p)
        assert "Fleet overview" in rows, list(rows)
        nq = 0
        for p in rows["Fleet overview"]:
            for t in p["targets"]:
                expr = E.grafana_to_promql(t["expr"])
                res = one(expr)
                nq += 1
                base = re.match(r"\s*([a-z_:]+)", expr).group(1)
                if base in expect_fleet:
                    want = [float(expect_fleet[base])]
                    got = [float(s["value"][1]) for s in res]
                    if got != want:
                        errors.append(f"panel {p['title']}: {expr}: {got}, want {want}")
                elif base in expect_hosts:
                    want = expect_hosts[base]
                    if "== 1" in expr:
                        want = down_hosts if "postfix_down" in base else listed_hosts
                    got = [s["metric"].get("instance") for s in res]
                    if len(got) != len(set(got)) or set(got) != want:
                        errors.append(f"panel {p['title']}: {expr}: series for {sorted(got)}, "
                                      f"want one per host of {sorted(want)}")
                else:
                    errors.append(f"panel {p['title']}: {expr}: not a fleet rule")
                E.log(f"panel {p['title']!r}: {expr}: {len(res)} series")
        assert nq >= 7, nq
        for e in errors:
            print("FAIL:", e)
        if errors:
            return 1
        procs.check_alive()
        E.log("PASS")
        return 0
    except AssertionError as e:
        print("FAIL:", e)
        for name, _ in procs.procs[:3] + procs.procs[-2:]:
            print(f"--- {name} log tail ---\n{procs.tail(name)}")
        return 1
    finally:
        procs.stop_all()
        E.delete_queued_from(sender)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
