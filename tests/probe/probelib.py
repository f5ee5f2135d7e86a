"""Helpers of the /probe tests: the exporter binary, Postfix's smtp-sink,
HTTP requests that return the status of an error too, nftables counters.

Every server listens on loopback or on the 198.18.0.0/15 addresses of
namespaces the test made itself.
"""
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, headers=None, timeout=30):
    """(status, body) of a GET, also for 4xx/5xx."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sample(text, name, **labels):
    """The value of the first sample of `name` whose labels include
    `labels`, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not (line.startswith(name + " ") or line.startswith(name + "{")):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def more_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Exporter:
    """mailhealth_exporter with `config`, optionally inside network
    namespace `netns` (ip netns exec)."""

    def __init__(self, binary, config, listen, netns=None, url_host=None):
        self.dir = tempfile.mkdtemp(prefix="mh-probe-")
        self.config = os.path.join(self.dir, "mailhealth.yml")
        with open(self.config, "w") as f:
            f.write(config)
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+")
        prefix = ["ip", "netns", "exec", netns] if netns else []
        self.proc = subprocess.Popen(
            [*prefix, binary, "--config.file=" + self.config,
             "--web.listen-address=" + listen, "--allow-root",
             "--log.level=debug"],
            stderr=self.stderr, preexec_fn=more_files)
        self.url = "http://" + (url_host or listen)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("exporter exited: " + self.logs())
            try:
                get(self.url + "/-/healthy", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("exporter did not start: " + self.logs())

    def logs(self):
        self.stderr.flush()
        with open(self.stderr.name) as f:
            return f.read()

    def probe(self, module, target, headers=None, **params):
        q = urllib.parse.urlencode({"module": module, "target": target,
                                    **params})
        return get(self.url + "/probe?" + q, headers=headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class SmtpSink:
    """Postfix's smtp-sink (a real SMTP server that accepts and discards)
    on address:port, optionally inside `netns`."""

    def __init__(self, address, port, netns=None):
        prefix = ["ip", "netns", "exec", netns] if netns else []
        host = "[%s]" % address if ":" in address else address
        self.proc = subprocess.Popen(
            [*prefix, "/usr/sbin/smtp-sink", "-u", "nobody",
             "-h", "sink.test", "%s:%d" % (host, port), "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.address, self.port = address, port
        deadline = time.time() + 5
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smtp-sink exited: " +
                                   self.proc.stderr.read().decode())
            if netns or self._listening():
                return
            time.sleep(0.05)
        raise RuntimeError("smtp-sink did not listen")

    def _listening(self):
        try:
            socket.create_connection((self.address, self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


class AcceptCounter:
    """A listening socket that counts the connections it accepts (and
    holds them open without a word: an SMTP tarpit)."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)

    def stop(self):
        self._stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


def nft(*args, netns=None):
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.run([*prefix, "nft", *args], check=True,
                          capture_output=True, text=True).stdout


class SynCounter:
    """An nftables counter of TCP SYNs to `port` (on the output hook:
    every connection attempt of this namespace, also to a closed port)."""

    def __init__(self, port, table="mh_probe_test"):
        self.table = table
        nft("add", "table", "inet", table)
        nft("add", "chain", "inet", table, "out",
            "{ type filter hook output priority 0; }")
        nft("add", "rule", "inet", table, "out", "tcp", "dport", str(port),
            "tcp", "flags", "syn", "counter")

    def packets(self):
        out = nft("list", "table", "inet", self.table)
        for line in out.splitlines():
            if "counter packets" in line:
                return int(line.split("counter packets")[1].split()[0])
        raise RuntimeError("no counter in " + out)

    def remove(self):
        nft("delete", "table", "inet", self.table)
