#!/usr/bin/env python3
"""End-to-end test of the exporter binary (framework level).

Starts mailhealth_exporter on a free loopback port and checks, as a user
would: /metrics passes `promtool check metrics` with the right Content-Type,
gzip works, the landing page links to /metrics, --config.check accepts the
shipped config and rejects a typo with file:line:key, a reload with a broken
config keeps the old one and says so in the metric, a port in use is a
one-line error and exit 1, SIGTERM exits 0 within a second, IPv6, several
listen addresses and systemd socket activation work, and the median scrape
stays in milliseconds while the log collector is busy.

usage: exporter_e2e.py BINARY SOURCE_DIR
"""
import gzip
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

BINARY = SOURCE = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def metric_value(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


class Exporter:
    def __init__(self, config_text, extra_args=(), listen=None, url=None,
                 prefix=()):
        """listen: the --web.listen-address values (default 127.0.0.1 on a
        free port), url: where to wait for it, prefix: a command to run the
        binary under (systemd-socket-activate)."""
        self.dir = tempfile.mkdtemp(prefix="mh-e2e-")
        self.log = os.path.join(self.dir, "mail.log")
        open(self.log, "w").close()
        self.config = os.path.join(self.dir, "mailhealth.yml")
        self.write_config(config_text)
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+")
        # A free port can be taken by a test running beside this one (ctest
        # -j) before the exporter binds it: then, and only for the default
        # address, try again on another port.
        for attempt in range(3):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [*prefix, BINARY, "--config.file=" + self.config,
                 *["--web.listen-address=" + a for a in
                   (listen if listen is not None
                    else ["127.0.0.1:%d" % self.port])],
                 "--allow-root", *extra_args],
                stderr=self.stderr)
            self.url = url or "http://127.0.0.1:%d" % self.port
            if self.wait_healthy():
                return
            if (listen is None and self.proc.poll() is not None
                    and "Address already in use" in self.logs()):
                continue
            break
        raise RuntimeError("exporter did not start: " + self.logs())

    def wait_healthy(self):
        deadline = time.time() + 10
        while time.time() < deadline and self.proc.poll() is None:
            try:
                fetch(self.url + "/-/healthy")
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text.replace("LOGFILE", self.log))

    def metrics(self):
        return fetch(self.url + "/metrics")[2].decode()

    def logs(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


LOG_ONLY = """collectors:
  queue: {enabled: false}
  log:
    enabled: true
    path: LOGFILE
    start_at: beginning
    interval: 1s
    timeout: 500ms
"""


class ExporterE2E(unittest.TestCase):
    def setUp(self):
        self.exp = None

    def tearDown(self):
        if self.exp:
            self.exp.stop()

    def wait_metric(self, name, want, limit=10):
        deadline = time.time() + limit
        while time.time() < deadline:
            v = metric_value(self.exp.metrics(), name)
            if v == want:
                return
            time.sleep(0.1)
        self.fail("%s never became %s; metrics:\n%s" % (name, want, self.exp.metrics()))

    def test_metrics_pass_promtool_with_content_type(self):
        self.exp = Exporter(LOG_ONLY)
        with open(self.exp.log, "a") as f:
            f.write("line one\nline two\n")
        self.wait_metric("mailhealth_log_lines_total", 2)
        status, headers, body = fetch(self.exp.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        check = subprocess.run(["promtool", "check", "metrics"], input=body,
                               capture_output=True)
        self.assertEqual(check.returncode, 0,
                         check.stdout.decode() + check.stderr.decode())
        text = body.decode()
        self.assertIn('mailhealth_scrape_collector_success{collector="log"} 1', text)
        self.assertIn("mailhealth_build_info{", text)

    def test_gzip(self):
        self.exp = Exporter(LOG_ONLY)
        _, headers, body = fetch(self.exp.url + "/metrics",
                                 {"Accept-Encoding": "gzip"})
        self.assertEqual(headers.get("Content-Encoding"), "gzip")
        self.assertIn(b"mailhealth_build_info", gzip.decompress(body))

    def test_landing_page_links_to_metrics(self):
        self.exp = Exporter(LOG_ONLY)
        _, headers, body = fetch(self.exp.url + "/")
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        page = body.decode()
        self.assertIn('<a href="/metrics">', page)
        self.assertIn("mailhealth_exporter", page)
        self.assertIn("<td>log</td>", page)
        # The diagnosis: a verdict per section, the log's among them.
        self.assertRegex(page, r'<title>mailhealth: (OK|WARN|FAIL)</title>')
        self.assertIn("<b>Log</b>", page)
        self.assertNotIn("<script", page)

    def test_ready_after_every_collector_ran(self):
        self.exp = Exporter(LOG_ONLY)
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _, body = fetch(self.exp.url + "/-/ready")
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            if status == 200 or time.monotonic() > deadline:
                break
            self.assertEqual(status, 503)
            time.sleep(0.1)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"Ready\n")

    def test_reload_with_broken_config_keeps_running_one(self):
        self.exp = Exporter(LOG_ONLY)
        self.wait_metric("mailhealth_config_last_reload_successful", 1)
        self.exp.write_config(LOG_ONLY + "    pathh: /x\n")
        self.exp.proc.send_signal(signal.SIGHUP)
        self.wait_metric("mailhealth_config_last_reload_successful", 0)
        self.assertIn('unknown key \\"pathh\\"', self.exp.logs())
        # The old config still runs: the log collector keeps counting.
        with open(self.exp.log, "a") as f:
            f.write("after broken reload\n")
        self.wait_metric("mailhealth_log_lines_total", 1)
        # A good config is taken again.
        self.exp.write_config(LOG_ONLY)
        self.exp.proc.send_signal(signal.SIGHUP)
        self.wait_metric("mailhealth_config_last_reload_successful", 1)

    def test_sigterm_exits_zero_promptly(self):
        self.exp = Exporter(LOG_ONLY)
        # With a kept-alive and a half-sent request open, as Prometheus and
        # a slow client would leave them.
        held = [socket.create_connection(("127.0.0.1", self.exp.port))
                for _ in range(2)]
        held[1].sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        start = time.time()
        self.exp.proc.send_signal(signal.SIGTERM)
        rc = self.exp.proc.wait(timeout=5)
        took = time.time() - start
        for s in held:
            s.close()
        print("SIGTERM to exit: %.3f s" % took)
        self.assertEqual(rc, 0, self.exp.logs())
        limit = 3.0 if os.environ.get("MAILHEALTH_SANITIZED") else 1.0
        self.assertLess(took, limit)

    def test_ipv6_and_two_listen_addresses(self):
        p6 = free_port()
        self.exp = Exporter(LOG_ONLY, listen=[
            "127.0.0.1:%d" % p6, "[::1]:%d" % p6],
            url="http://[::1]:%d" % p6)
        for url in ("http://127.0.0.1:%d" % p6, "http://[::1]:%d" % p6):
            status, headers, body = fetch(url + "/metrics")
            self.assertEqual(status, 200, url)
            self.assertIn(b"mailhealth_build_info", body)

    def test_all_addresses_dual_stack(self):
        port = free_port()
        self.exp = Exporter(LOG_ONLY, listen=[":%d" % port],
                            url="http://127.0.0.1:%d" % port)
        for host in ("127.0.0.1", "[::1]"):
            status, _, _ = fetch("http://%s:%d/metrics" % (host, port))
            self.assertEqual(status, 200, host)
        self.exp.stop()
        self.exp = Exporter(LOG_ONLY, listen=["[::]:%d" % port],
                            url="http://[::1]:%d" % port)
        for host in ("127.0.0.1", "[::1]"):
            status, _, _ = fetch("http://%s:%d/metrics" % (host, port))
            self.assertEqual(status, 200, host)

    def test_systemd_socket_activation(self):
        port = free_port()
        self.exp = Exporter(
            LOG_ONLY, listen=[], extra_args=["--web.systemd-socket"],
            url="http://127.0.0.1:%d" % port,
            prefix=["systemd-socket-activate", "-l", "127.0.0.1:%d" % port])
        status, headers, body = fetch(self.exp.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"mailhealth_build_info", body)
        self.assertIn("address=\"systemd socket\"", self.exp.logs())
        # Without the sockets: a clear error, exit 1.
        r = subprocess.run([BINARY, "--config.file=" + self.exp.config,
                            "--web.systemd-socket", "--allow-root"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("systemd passed no socket", r.stderr.decode())

    def test_port_in_use_is_one_line_error(self):
        self.exp = Exporter(LOG_ONLY)
        r = subprocess.run([BINARY, "--config.file=" + self.exp.config,
                            "--web.listen-address=127.0.0.1:%d" % self.exp.port,
                            "--allow-root"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        lines = [l for l in r.stderr.decode().splitlines()
                 if "level=error" in l]
        self.assertEqual(len(lines), 1, r.stderr.decode())
        self.assertIn("cannot listen on 127.0.0.1:%d" % self.exp.port, lines[0])
        self.assertIn("Address already in use", lines[0])
        # The taken one among several addresses is the one named.
        free = free_port()
        r = subprocess.run([BINARY, "--config.file=" + self.exp.config,
                            "--web.listen-address=[::1]:%d" % free,
                            "--web.listen-address=127.0.0.1:%d" % self.exp.port,
                            "--allow-root"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        lines = [l for l in r.stderr.decode().splitlines()
                 if "level=error" in l]
        self.assertEqual(len(lines), 1, r.stderr.decode())
        self.assertIn("cannot listen on 127.0.0.1:%d" % self.exp.port, lines[0])

    def test_config_check(self):
        shipped = os.path.join(SOURCE, "deploy", "mailhealth.yml")
        r = subprocess.run([BINARY, "--config.file=" + shipped, "--config.check"],
                           capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("collectors:\n  log:\n    enabled: true\n    pathh: /x\n")
        r = subprocess.run([BINARY, "--config.file=" + f.name, "--config.check"],
                           capture_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode().strip(),
                         '%s:4: collectors.log: unknown key "pathh"' % f.name)
        os.unlink(f.name)
        # Enabled with nothing to do: valid (exit 0), one warning each.
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("collectors:\n  dns:\n    enabled: true\n")
        r = subprocess.run([BINARY, "--config.file=" + f.name, "--config.check",
                            "--collector.smtp"], capture_output=True)
        os.unlink(f.name)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        warnings = r.stderr.decode().splitlines()
        self.assertEqual(len(warnings), 2, warnings)
        self.assertIn("dns is enabled but lists no domains", warnings[0])
        self.assertIn("smtp is enabled but lists no targets", warnings[1])

    def test_scrape_fast_while_collector_busy(self):
        self.exp = Exporter(LOG_ONLY)
        stop = threading.Event()

        def writer():  # keeps the log collector busy
            with open(self.exp.log, "a") as f:
                while not stop.is_set():
                    f.write("x" * 100 + "\n" * 1)
                    f.write(("Nov 25 01:23:06 mail postfix/smtpd[1]: connect from x\n") * 2000)
                    f.flush()
        t = threading.Thread(target=writer)
        t.start()
        # Single-digit milliseconds is the target for a normal build; a
        # sanitizer build (scripts/test runs the suite under ASan too) is
        # several times slower and is only held to a loose bound. ctest -j
        # runs Postfix, Prometheus and builds beside this test on the same
        # two cores, so a round of 60 scrapes may land in a burst of other
        # work: the best of three rounds' medians is held to the target.
        limit = 0.100 if os.environ.get("MAILHEALTH_SANITIZED") else 0.010
        medians = []
        try:
            for _ in range(3):
                times = []
                for _ in range(60):
                    s = time.perf_counter()
                    fetch(self.exp.url + "/metrics")
                    times.append(time.perf_counter() - s)
                medians.append(statistics.median(times))
                print("median scrape %.2f ms over %d scrapes (p90 %.2f ms)" %
                      (medians[-1] * 1000, len(times),
                       sorted(times)[int(len(times) * 0.9)] * 1000))
                if medians[-1] < limit:
                    break
        finally:
            stop.set()
            t.join()
        self.assertLess(min(medians), limit)


if __name__ == "__main__":
    BINARY, SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
