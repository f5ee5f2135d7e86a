#!/usr/bin/env python3
"""Static checks of the shipped deployment files (stdlib only).

  check_deploy.py rules-coverage RULES TESTS
      every alert has a severity page|ticket, a summary, a description with a
      `command`, and a promtool test case where it fires and one where it
      stays quiet.
  check_deploy.py metric-names SOURCE_DIR METRICS_MD FILE...
      every metric name used by the PromQL in FILE (rules .yml or Grafana
      .json) is one the exporter exports: listed in METRICS_MD or a
      "mailhealth_..." string constant in the exporter/daemon/collector sources.
      With --code-only, only names found in the sources count.
  check_deploy.py metrics-contract SOURCE_DIR METRICS_MD
      docs/metrics.md and the code agree: every "mailhealth_..." name the
      code exports is listed under "## Metric names", and every name listed
      there is exported by the code (the sections after it sketch coming
      work and may name metrics not yet built).
  check_deploy.py systemd UNIT BINARY
      `systemd-analyze verify` prints nothing on the unit (with ExecStart
      pointed at BINARY) and the hardening directives are present.
  check_deploy.py systemd-socket SOCKET SERVICE BINARY
      `systemd-analyze verify` prints nothing on the socket unit (beside its
      service, ExecStart pointed at BINARY with --web.systemd-socket), and
      it listens on 9732 for the service.
  check_deploy.py spool-stat-units SOCKET SERVICE BINARY
      the queue helper's socket and per-connection service: verify, the
      capability from systemd (AmbientCapabilities, bounding set), its
      sandbox lines, exposure level at most 3.0.
  check_deploy.py launchd PLIST
      the plist parses and has the keys launchd needs.
  check_deploy.py dashboard JSON
      structure of the Grafana dashboard: variables, datasource variable,
      overview row first, unique panel ids.

Exit status 0 when the check passes, 1 with the reasons otherwise.
"""

import json
import os
import plistlib
import re
import subprocess
import sys
import tempfile

PROMQL_FUNCTIONS = {
    # aggregations
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
    # functions (Prometheus 2.42)
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "day_of_month", "day_of_week", "day_of_year",
    "days_in_month", "delta", "deriv", "exp", "floor", "histogram_quantile",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "ln", "log2", "log10", "minute", "month",
    "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort",
    "sort_desc", "sqrt", "time", "timestamp", "vector", "year",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "quantile_over_time", "stddev_over_time",
    "stdvar_over_time", "last_over_time", "present_over_time", "acos",
    "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh",
    "tan", "tanh", "deg", "rad", "pi",
}
PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and",
    "or", "unless", "bool", "offset", "atan2", "inf", "nan",
}
# Series Prometheus itself adds to every scrape or rule evaluation.
PROMETHEUS_SERIES = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added", "ALERTS",
    "ALERTS_FOR_STATE",
}


def fail(errors):
    for e in errors:
        print("FAIL:", e)
    return 1 if errors else 0


def metric_names(expr):
    """Metric names referenced by a PromQL expression (Grafana variables
    allowed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "1", e)          # Grafana variables
    e = re.sub(r"\{[^}]*\}", "", e)                   # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                  # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue  # 1e3, 5m, 0.5
        if word in PROMQL_FUNCTIONS or word in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def rule_exprs(path):
    """(alert name, expr) pairs of a Prometheus rules file (the subset of
    YAML that file uses: `expr:` on one line or as a `|` block)."""
    out = []
    lines = open(path, encoding="utf-8").read().split("\n")
    alert = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*- (?:alert|record): (\S+)", line)
        if m:
            alert = m.group(1)
        m = re.match(r"(\s*)expr: (.*)$", line)
        if m:
            value = m.group(2).strip()
            if value in ("|", ">", "|-", ">-"):
                indent = len(m.group(1))
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                out.append((alert, " ".join(block)))
                continue
            out.append((alert, value))
        i += 1
    return out


def dashboard_exprs(path):
    dash = json.load(open(path, encoding="utf-8"))
    out = []

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.append((p.get("title", "?"), t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            m = re.match(r"\s*label_values\((.*),\s*\w+\)\s*$", q or "")
            if m:
                out.append(("variable " + v["name"], m.group(1)))
            elif q:
                out.append(("variable " + v["name"], q))
    return out


def known_metrics(source_dir, metrics_md, code_only):
    names = set()
    for sub in ("exporter", "daemon", "collectors", "cmd", "diagnosis"):
        for root, _, files in os.walk(os.path.join(source_dir, sub)):
            for f in files:
                if f.endswith((".cc", ".h")):
                    text = open(os.path.join(root, f), encoding="utf-8",
                                errors="replace").read()
                    names.update(re.findall(r'"(mailhealth_[a-z0-9_]+)"', text))
    code = set(names)
    if not code_only and os.path.exists(metrics_md):
        text = open(metrics_md, encoding="utf-8").read()
        for m in re.finditer(r"`(mailhealth_[a-z0-9_]+)`", text):
            names.add(m.group(1))
    return names, code


def cmd_metric_names(args):
    code_only = "--code-only" in args
    args = [a for a in args if a != "--code-only"]
    source_dir, metrics_md, files = args[0], args[1], args[2:]
    known, code = known_metrics(source_dir, metrics_md, code_only)
    errors = []
    used = set()
    # Recording rules of the rule files given are names too.
    for f in files:
        if not f.endswith(".json"):
            known.update(re.findall(r"(?m)^\s*- record: (\S+)", open(f, encoding="utf-8").read()))
    for f in files:
        exprs = dashboard_exprs(f) if f.endswith(".json") else rule_exprs(f)
        if not exprs:
            errors.append(f"{f}: no expressions found")
        for where, expr in exprs:
            for name in metric_names(expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name in PROMETHEUS_SERIES:
                    continue
                used.add(name)
                if name not in known and base not in known:
                    errors.append(f"{os.path.basename(f)}: {where}: unknown metric {name}")
    not_in_code = sorted(n for n in used
                         if n not in code and re.sub(r"_(bucket|sum|count)$", "", n) not in code)
    if not_in_code:
        print("note: used but not (yet) in the code:", " ".join(not_in_code))
    print(f"{len(used)} metric names used, {len(known)} known")
    return fail(errors)


def cmd_metrics_contract(args):
    source_dir, metrics_md = args
    _, code = known_metrics(source_dir, metrics_md, True)
    text = open(metrics_md, encoding="utf-8").read()
    start = text.find("\n## Metric names")
    end = text.find("\n## ", start + 1)
    if start < 0:
        return fail([f"{metrics_md}: no '## Metric names' section"])
    section = text[start:end if end > 0 else len(text)]
    listed = set(re.findall(r"`(mailhealth_[a-z0-9_]*[a-z0-9])`", section))
    errors = [f"{n}: exported by the code but not listed in {metrics_md}"
              for n in sorted(code - listed)]
    errors += [f"{n}: listed in {metrics_md} but not exported by the code"
               for n in sorted(listed - code)]
    print(f"{len(code)} names in the code, {len(listed)} listed")
    return fail(errors)


def cmd_rules_coverage(args):
    rules_path, tests_path = args
    text = open(rules_path, encoding="utf-8").read()
    errors = []
    # Split the rules file into one chunk per alert.
    chunks = re.split(r"\n(?=[ \t]*- alert: )", text)[1:]
    alerts = []
    for c in chunks:
        name = re.match(r"\s*- alert: (\S+)", c).group(1)
        alerts.append(name)
        sev = re.search(r"\n\s+severity: (\S+)", c)
        if not sev or sev.group(1) not in ("page", "ticket"):
            errors.append(f"{name}: severity must be page or ticket")
        if not re.search(r"\n\s+summary: ", c):
            errors.append(f"{name}: no summary")
        desc = re.search(r"\n\s+description: >-\n((?:\s{12}.*\n?)+)", c)
        desc_text = " ".join(desc.group(1).split()) if desc else ""
        if "First step" not in desc_text or "`" not in desc_text:
            errors.append(f"{name}: description must give the first step as a `command`")
    if len(set(alerts)) != len(alerts):
        errors.append("duplicate alert names")
    tests = open(tests_path, encoding="utf-8").read()
    # alert_rule_test entries: "alertname: X" followed by "exp_alerts: []"
    # (quiet) or "exp_alerts:" with entries (fires).
    fires, quiet = set(), set()
    for m in re.finditer(r"alertname: (\S+)\n\s+exp_alerts:( \[\])?", tests):
        (quiet if m.group(2) else fires).add(m.group(1))
    for a in alerts:
        if a not in fires:
            errors.append(f"{a}: no promtool test where it fires")
        if a not in quiet:
            errors.append(f"{a}: no promtool test where it stays quiet")
    for a in (fires | quiet) - set(alerts):
        errors.append(f"test for unknown alert {a}")
    print(f"{len(alerts)} alerts, {len(fires)} with firing tests, {len(quiet)} with quiet tests")
    return fail(errors)


def cmd_systemd(args):
    unit, binary = args[0], os.path.abspath(args[1])
    text = open(unit, encoding="utf-8").read()
    errors = []
    required = [
        "ExecStart=/usr/bin/mailhealth_exporter --config.file=/etc/mailhealth/mailhealth.yml",
        "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
        "User=mailhealth", "SupplementaryGroups=adm systemd-journal postdrop",
        "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
        "PrivateTmp=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        "WantedBy=multi-user.target",
    ]
    for r in required:
        if not re.search(r"^" + re.escape(r) + r"$", text, re.M):
            errors.append(f"missing line: {r}")
    with tempfile.TemporaryDirectory() as d:
        # The binary is not installed under /usr/bin here: point ExecStart at
        # the build's binary so verify can check it is executable.
        copy = os.path.join(d, os.path.basename(unit))
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/bin/mailhealth_exporter", binary))
        r = subprocess.run(["systemd-analyze", "verify", copy],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0 or r.stdout.strip():
            errors.append("systemd-analyze verify: " + r.stdout.strip())
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", copy],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        if not m:
            errors.append("systemd-analyze security gave no exposure level: " + r.stdout[-300:])
        else:
            print("systemd-analyze security exposure:", m.group(1))
            if float(m.group(1)) > 3.0:
                errors.append(f"exposure level {m.group(1)} above 3.0")
    return fail(errors)


def cmd_systemd_socket(args):
    sock, service, binary = args[0], args[1], os.path.abspath(args[2])
    text = open(sock, encoding="utf-8").read()
    errors = []
    for r in ["ListenStream=9732", "Service=mailhealth-exporter.service",
              "Accept=no", "WantedBy=sockets.target"]:
        if not re.search(r"^" + re.escape(r) + r"$", text, re.M):
            errors.append(f"missing line: {r}")
    if "--web.systemd-socket" not in text:
        errors.append("the socket unit does not say to start the service with --web.systemd-socket")
    with tempfile.TemporaryDirectory() as d:
        svc = open(service, encoding="utf-8").read()
        svc = re.sub(r"^ExecStart=/usr/bin/mailhealth_exporter (.*)$",
                     lambda m: "ExecStart=" + binary + " " + m.group(1) + " --web.systemd-socket",
                     svc, flags=re.M)
        with open(os.path.join(d, os.path.basename(service)), "w", encoding="utf-8") as f:
            f.write(svc)
        copy = os.path.join(d, os.path.basename(sock))
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run(["systemd-analyze", "verify", copy],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           cwd=d)
        if r.returncode != 0 or r.stdout.strip():
            errors.append("systemd-analyze verify: " + r.stdout.strip())
    return fail(errors)


def cmd_spool_stat_units(args):
    """The helper's socket and per-connection service: verify, the
    capability given by systemd (not by the file), and an exposure level no
    worse than the exporter's limit."""
    sock, service, binary = args[0], args[1], os.path.abspath(args[2])
    text = open(service, encoding="utf-8").read()
    stext = open(sock, encoding="utf-8").read()
    errors = []
    for r in ["ListenStream=/run/mailhealth-spool-stat.sock", "SocketGroup=mailhealth",
              "SocketMode=0660", "Accept=yes", "WantedBy=sockets.target"]:
        if not re.search(r"^" + re.escape(r) + r"$", stext, re.M):
            errors.append(f"socket: missing line: {r}")
    for r in ["ExecStart=/usr/lib/mailhealth/mailhealth-spool-stat",
              "StandardInput=socket", "StandardOutput=socket", "User=mailhealth",
              "AmbientCapabilities=CAP_DAC_READ_SEARCH",
              "CapabilityBoundingSet=CAP_DAC_READ_SEARCH", "NoNewPrivileges=yes",
              "ProtectSystem=strict", "PrivateNetwork=yes"]:
        if not re.search(r"^" + re.escape(r) + r"$", text, re.M):
            errors.append(f"service: missing line: {r}")
    with tempfile.TemporaryDirectory() as d:
        svc = os.path.join(d, os.path.basename(service))
        with open(svc, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/lib/mailhealth/mailhealth-spool-stat", binary))
        copy = os.path.join(d, os.path.basename(sock))
        with open(copy, "w", encoding="utf-8") as f:
            f.write(stext)
        r = subprocess.run(["systemd-analyze", "verify", copy, svc],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=d)
        if r.returncode != 0 or r.stdout.strip():
            errors.append("systemd-analyze verify: " + r.stdout.strip())
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", svc],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=d)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        if not m:
            errors.append("systemd-analyze security gave no exposure level: " + r.stdout[-300:])
        else:
            print("systemd-analyze security exposure:", m.group(1))
            if float(m.group(1)) > 3.0:
                errors.append(f"exposure level {m.group(1)} above 3.0")
    return fail(errors)


def cmd_launchd(args):
    (path,) = args
    errors = []
    with open(path, "rb") as f:
        d = plistlib.load(f)
    for key in ("Label", "ProgramArguments", "UserName", "KeepAlive", "RunAtLoad"):
        if key not in d:
            errors.append(f"missing key {key}")
    args_ = d.get("ProgramArguments", [])
    if not args_ or not args_[0].endswith("/mailhealth_exporter"):
        errors.append("ProgramArguments[0] is not the exporter")
    if not any(a.startswith("--config.file=") for a in args_):
        errors.append("no --config.file")
    if d.get("KeepAlive") != {"SuccessfulExit": False}:
        errors.append("KeepAlive should restart on failure only")
    return fail(errors)


def cmd_dashboard(args):
    (path,) = args
    dash = json.load(open(path, encoding="utf-8"))
    errors = []
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    for v in ("datasource", "instance", "domain", "target"):
        if v not in variables:
            errors.append(f"missing template variable {v}")
    if variables.get("datasource", {}).get("type") != "datasource":
        errors.append("variable datasource must be of type datasource")
    panels = dash.get("panels", [])
    if not panels or panels[0].get("type") != "row" or "overview" not in panels[0].get("title", "").lower():
        errors.append("the first row must be the health overview")
    ids = []

    def walk(ps):
        for p in ps:
            ids.append(p.get("id"))
            if p.get("type") != "row":
                ds = p.get("datasource", {})
                if not isinstance(ds, dict) or ds.get("uid") != "${datasource}":
                    errors.append(f"panel {p.get('title')}: datasource must be ${{datasource}}")
                if not p.get("targets"):
                    errors.append(f"panel {p.get('title')}: no query")
            walk(p.get("panels", []))

    walk(panels)
    if len(ids) != len(set(ids)):
        errors.append("panel ids are not unique")
    # Multi-instance Postfix: a postfix_instance variable (multi, All), and
    # every selector of a metric that carries postfix_instance filters on it.
    pv = variables.get("postfix_instance")
    if not pv:
        errors.append("missing template variable postfix_instance")
    elif not (pv.get("multi") and pv.get("includeAll") and pv.get("allValue") == ".*"):
        errors.append("variable postfix_instance must be multi, with All (.*)")
    per_instance = re.compile(
        r"(?<![\w:])(mailhealth_postfix_up|mailhealth_queue_[a-z_]+|mailhealth_log_(?:messages|deliveries|"
        r"rejects|events|postscreen_events|sasl_auth_failures|sasl_auth_successes|"
        r"tls_failures|tls_connections)_total|mailhealth_log_postscreen_dnsbl_rank_[a-z]+)"
        r"(\{[^}]*\})?")
    for where, expr in dashboard_exprs(path):
        if where.startswith("variable "):
            continue
        for m in per_instance.finditer(expr):
            if 'postfix_instance=~"$postfix_instance"' not in (m.group(2) or ""):
                errors.append(f"panel {where}: {m.group(1)} does not filter on $postfix_instance")
    rows = [p["title"] for p in panels if p.get("type") == "row"]
    print("rows:", ", ".join(rows))
    for want in ("queue", "log", "dns", "smtp", "exporter"):
        if not any(want in r.lower() for r in rows):
            errors.append(f"no row about {want}")
    return fail(errors)


def main(argv):
    cmds = {
        "rules-coverage": cmd_rules_coverage,
        "metric-names": cmd_metric_names,
        "metrics-contract": cmd_metrics_contract,
        "systemd": cmd_systemd,
        "systemd-socket": cmd_systemd_socket,
        "spool-stat-units": cmd_spool_stat_units,
        "launchd": cmd_launchd,
        "dashboard": cmd_dashboard,
    }
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__)
        return 2
    return cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
