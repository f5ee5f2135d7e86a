#!/usr/bin/env python3
"""/probe against real peers on loopback (inside tests/tools/isolate):
Postfix's smtp-sink answers the smtp module with the collector's series; a
target outside allowed_targets gets 403 and no connection is attempted (a
listening socket that counts accepts, and an nftables counter of SYNs);
the same probe within min_interval is answered from the cache (one SYN);
500 probe requests in flight against a silent port leave /metrics
answering in under 50 ms; the shipped probe-only config passes
--config.check.

usage: probe_integration.py BINARY SOURCE_DIR
"""
import os
import statistics
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probelib  # noqa: E402

BINARY = SOURCE = None
CONCURRENT = 500


class ProbeIntegration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        probelib.more_files()
        cls.sink_port = probelib.free_port()
        cls.sink = probelib.SmtpSink("127.0.0.1", cls.sink_port)
        cls.counter = probelib.AcceptCounter()
        cls.tarpit = probelib.AcceptCounter()
        cls.port = probelib.free_port()
        config = """
collectors:
  queue: {{ enabled: false }}
  log: {{ enabled: false }}
  smtp: {{ enabled: true, interval: 2s, timeout: 1s, helo: inside.test,
          targets: ["127.0.0.1:{sink}"] }}
probe:
  max_concurrent: {conc}
  modules:
    smtp_out:
      prober: smtp
      timeout: 5s
      helo: outside.test
      allowed_targets: ["127.0.0.1:{sink}"]
    smtp_cached:
      prober: smtp
      timeout: 5s
      min_interval: 30s
      helo: outside.test
      allowed_targets: ["127.0.0.1:{sink}"]
    open_counter:
      prober: smtp
      timeout: 1s
      allowed_targets: ["127.0.0.1:{counter}"]
    tarpit:
      prober: smtp
      timeout: 3s
      allowed_targets: ["127.0.0.1:{tarpit}"]
""".format(sink=cls.sink_port, counter=cls.counter.port,
           tarpit=cls.tarpit.port, conc=CONCURRENT)
        cls.exp = probelib.Exporter(BINARY, config, "127.0.0.1:%d" % cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.exp.stop()
        cls.sink.stop()
        cls.counter.stop()
        cls.tarpit.stop()

    def test_smtp_sink_answers_with_the_collector_series(self):
        target = "127.0.0.1:%d" % self.sink_port
        status, body = self.exp.probe("smtp_out", target)
        self.assertEqual(status, 200, body)
        self.assertEqual(probelib.sample(body, "mailhealth_probe_success"), 1)
        self.assertGreater(
            probelib.sample(body, "mailhealth_probe_duration_seconds"), 0)
        labels = {"target": target, "address": "127.0.0.1"}
        self.assertEqual(probelib.sample(
            body, "mailhealth_smtp_probe_success", **labels), 1, body)
        self.assertEqual(probelib.sample(
            body, "mailhealth_smtp_reply_code", stage="banner", **labels), 220)
        self.assertEqual(probelib.sample(
            body, "mailhealth_smtp_reply_code", stage="ehlo", **labels), 250)
        self.assertEqual(probelib.sample(
            body, "mailhealth_smtp_target_addresses", target=target), 1)
        # The inside collector exports the same series under the same
        # names and labels on /metrics.
        _, metrics = probelib.get(self.exp.url + "/metrics")
        deadline = time.time() + 10
        while probelib.sample(metrics, "mailhealth_smtp_probe_success",
                              **labels) is None and time.time() < deadline:
            time.sleep(0.2)
            _, metrics = probelib.get(self.exp.url + "/metrics")
        self.assertEqual(probelib.sample(
            metrics, "mailhealth_smtp_probe_success", **labels), 1)
        probe_names = {l.split("{")[0] for l in body.splitlines()
                       if l.startswith("mailhealth_smtp_")}
        metric_names = {l.split("{")[0] for l in metrics.splitlines()
                        if l.startswith("mailhealth_smtp_")}
        self.assertEqual(probe_names, metric_names)

    def test_refused_target_gets_403_and_no_connection(self):
        syn = probelib.SynCounter(self.counter.port, table="mh_refused")
        try:
            target = "127.0.0.1:%d" % self.counter.port
            for module, tgt in (("smtp_out", target),
                                ("smtp_out", "127.0.0.2:%d" % self.sink_port),
                                ("smtp_out", "mx:example.net"),
                                ("smtp_out", "localhost:%d" % self.counter.port)):
                status, body = self.exp.probe(module, tgt)
                self.assertEqual(status, 403, body)
                self.assertTrue(body.startswith("forbidden: "), body)
                self.assertEqual(body.count("\n"), 1, body)
                self.assertIn("outside allowed_targets", body)
            time.sleep(0.3)
            self.assertEqual(self.counter.accepted, 0)
            self.assertEqual(syn.packets(), 0)
            # The same target through a module that allows it: the
            # counters do see a probe.
            status, body = self.exp.probe("open_counter", target)
            self.assertEqual(status, 200, body)
            self.assertEqual(probelib.sample(
                body, "mailhealth_smtp_failure", reason="banner_timeout"), 1,
                body)
            self.assertEqual(self.counter.accepted, 1)
            self.assertEqual(syn.packets(), 1)
        finally:
            syn.remove()

    def test_bad_requests_get_400_with_the_reason(self):
        for query, reason in (
                ({"target": "x"}, 'missing parameter "module"'),
                ({"module": "smtp_out"}, 'missing parameter "target"'),
                ({"module": "nope", "target": "x"}, 'unknown module "nope"'),
                ({"module": "smtp_out", "target": "a b"}, "invalid target")):
            q = urllib_encode(query)
            status, body = probelib.get(self.exp.url + "/probe?" + q)
            self.assertEqual(status, 400, body)
            self.assertIn(reason, body)

    def test_cache_within_min_interval(self):
        syn = probelib.SynCounter(self.sink_port, table="mh_cache")
        try:
            target = "127.0.0.1:%d" % self.sink_port
            s1, b1 = self.exp.probe("smtp_cached", target)
            s2, b2 = self.exp.probe("smtp_cached", target)
            self.assertEqual((s1, s2), (200, 200))
            self.assertEqual(b1, b2)
            self.assertEqual(syn.packets(), 1)
            # Without min_interval every request probes.
            self.exp.probe("smtp_out", target)
            self.exp.probe("smtp_out", target)
            self.assertEqual(syn.packets(), 3)
        finally:
            syn.remove()

    def test_500_probes_in_flight_leave_metrics_fast(self):
        target = "127.0.0.1:%d" % self.tarpit.port
        results = []
        lock = threading.Lock()

        def one():
            r = self.exp.probe("tarpit", target)
            with lock:
                results.append(r)

        extra = 10  # beyond max_concurrent: 503
        threads = [threading.Thread(target=one)
                   for _ in range(CONCURRENT + extra)]
        for t in threads:
            t.start()
        deadline = time.time() + 3
        while self.tarpit.accepted < CONCURRENT and time.time() < deadline:
            time.sleep(0.01)
        in_flight = self.tarpit.accepted
        times = []
        for _ in range(100):
            t0 = time.monotonic()
            status, body = probelib.get(self.exp.url + "/metrics")
            times.append(time.monotonic() - t0)
            self.assertEqual(status, 200)
            self.assertIn("mailhealth_build_info", body)
        still = self.tarpit.accepted
        for t in threads:
            t.join()
        times.sort()
        p50 = statistics.median(times)
        p99 = times[98]
        print("probes in flight: %d (tarpit accepts %d after the scrapes); "
              "/metrics during them: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
              % (in_flight, still, p50 * 1e3, p99 * 1e3, times[-1] * 1e3),
              file=sys.stderr)
        self.assertEqual(in_flight, CONCURRENT)
        self.assertLess(p99, 0.050)
        codes = sorted(r[0] for r in results)
        self.assertEqual(codes.count(200), CONCURRENT, codes[-20:])
        self.assertEqual(codes.count(503), extra)
        banner_timeouts = sum(
            1 for s, b in results if s == 200 and probelib.sample(
                b, "mailhealth_smtp_failure", reason="banner_timeout") == 1)
        self.assertEqual(banner_timeouts, CONCURRENT)

    def test_shipped_probe_only_config(self):
        for name in ("mailhealth-probe.yml", "mailhealth.yml"):
            r = subprocess.run(
                [BINARY, "--config.file=" + os.path.join(SOURCE, "deploy", name),
                 "--config.check"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("probe modules: mx_world,smtp_outside", subprocess.run(
            [BINARY, "--config.file=" +
             os.path.join(SOURCE, "deploy", "mailhealth-probe.yml"),
             "--config.check"], capture_output=True, text=True).stdout)


def urllib_encode(q):
    import urllib.parse
    return urllib.parse.urlencode(q)


if __name__ == "__main__":
    BINARY, SOURCE = sys.argv[1], sys.argv[2]
    if os.environ.get("MAILHEALTH_ISOLATED") != "1":
        print("SKIP: needs tests/tools/isolate (nftables counters in a "
              "network namespace of its own)")
        sys.exit(77)
    unittest.main(argv=sys.argv[:1], verbosity=2)
