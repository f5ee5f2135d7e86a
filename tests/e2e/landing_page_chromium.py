#!/usr/bin/env python3
"""The landing page rendered by a real browser: headless Chromium (Debian's
`chromium`) at a phone's and a desktop's width.

The exporter runs with the log collector on a log that holds a fatal line
and the smtp collector probing a loopback port nothing listens on, so the
page has FAIL, OK and SKIP sections. Chromium's --dump-dom (what a person
would read, after layout) must show the verdicts, the causes, the first
commands and the link to /metrics; --screenshot writes phone.png
(390x844) and desktop.png (1280x900) to OUT_DIR, whose paths are printed.

usage: landing_page_chromium.py EXPORTER_BINARY OUT_DIR
Exit 77 (skipped) without chromium, or outside tests/tools/isolate (the
browser then has no network but loopback).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def chromium(browser, profile, *args):
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--user-data-dir=" + profile, "--no-first-run", "--disable-sync",
           "--disable-background-networking", "--disable-component-update",
           "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
           *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    if r.returncode != 0:
        raise AssertionError(f"chromium {args} exited {r.returncode}: {r.stderr[-800:]}")
    return r.stdout


def main():
    exporter, out_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    browser = shutil.which("chromium")
    if not browser:
        print("SKIP: chromium not installed (scripts/bootstrap installs it)")
        return SKIP
    if os.environ.get("MAILHEALTH_ISOLATED") != "1":
        print("SKIP: run through tests/tools/isolate (the browser must see loopback only)")
        return SKIP
    work = tempfile.mkdtemp(prefix="mh-landing-")
    proc = None
    try:
        log = os.path.join(work, "mail.log")
        stamp = time.strftime("%b %e %H:%M:%S")
        with open(log, "w") as f:
            f.write(f"{stamp} mail postfix/qmgr[41]: fatal: open database "
                    "/etc/postfix/transport.db: No such file or directory\n")
            f.write(f"{stamp} mail postfix/smtpd[42]: connect from localhost[127.0.0.1]\n")
        closed = free_port()
        cfg = os.path.join(work, "mailhealth.yml")
        with open(cfg, "w") as f:
            f.write(f"""collectors:
  queue: {{enabled: false}}
  log: {{enabled: true, interval: 1s, timeout: 900ms, path: {log}, start_at: beginning}}
  smtp:
    enabled: true
    interval: 2s
    timeout: 1s
    helo: landing.mailhealth.test
    targets: ["127.0.0.1:{closed}"]
""")
        port = free_port()
        proc = subprocess.Popen([exporter, "--config.file=" + cfg, "--allow-root",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 20
        while status(url + "-/ready") != 200:
            if time.monotonic() > deadline:
                raise AssertionError("exporter not ready")
            time.sleep(0.1)
        time.sleep(1.5)  # a second smtp run: the page is settled

        profile = os.path.join(work, "profile")
        dom = chromium(browser, profile, "--dump-dom", url)
        text = re.sub(r"(?s)<style>.*?</style>", " ", dom)
        text = re.sub(r"<[^>]+>", " ", text)
        text = re.sub(r"\s+", " ", text).replace(" :", ":")
        for must in ("mailhealth: FAIL",
                     # The first FAIL in troubleshooting order: port 25.
                     f"First: FAIL SMTP port does not greet: 127.0.0.1:{closed} (127.0.0.1) "
                     "gives no 220 greeting and EHLO: refused",
                     "FAIL Postfix logged fatal: postfix/qmgr logged 1 fatal line(s) in the "
                     "last 5m",
                     f"$ nc -v 127.0.0.1 {closed}",
                     "$ grep -E 'postfix/qmgr.*(fatal|panic):' /var/log/mail.log | tail -n 20",
                     "SKIP Postfix running: the queue collector is not enabled",
                     "OK Exporter: every collector works"):
            assert must in text, f"{must!r} not in the rendered page:\n{text}"
        assert 'href="/metrics"' in dom, "no link to /metrics"
        assert "<script" not in dom, "the page has a script"
        # Troubleshooting order on the page, as in `check`.
        order = [text.find(t) for t in ("Postfix running", "Port 25 (SMTP greeting)",
                                        "MX and A records", "Queue", "Log", "Reputation")]
        assert order == sorted(order) and -1 not in order, order

        os.makedirs(out_dir, exist_ok=True)
        for name, size in (("phone", "390,844"), ("desktop", "1280,900")):
            path = os.path.join(out_dir, name + ".png")
            if os.path.exists(path):
                os.unlink(path)
            chromium(browser, profile, "--window-size=" + size, "--screenshot=" + path, url)
            with open(path, "rb") as f:
                head = f.read(24)
            assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
            w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            assert (w, h) == tuple(map(int, size.split(","))), (path, w, h)
            print(f"screenshot ({name}, {w}x{h}): {path}")
        print("PASS")
        return 0
    except AssertionError as e:
        print("FAIL:", e)
        if proc:
            proc.terminate()
            print(proc.communicate(timeout=10)[1].decode()[-2000:])
            proc = None
        return 1
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
