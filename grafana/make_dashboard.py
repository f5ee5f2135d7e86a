#!/usr/bin/env python3
"""Writes grafana/mailhealth.json, the mailhealth Grafana dashboard.

The JSON is generated so that panels stay consistent (datasource variable,
layout, units); edit this file and run

    python3 grafana/make_dashboard.py > grafana/mailhealth.json

The ctest deploy_grafana_dashboard_generated checks the two are in step.
Every query names only metrics the exporter exports (ctest
deploy_metric_names) and runs without error against a real Prometheus
(ctest deploy_e2e).
"""

import json
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
INST = 'instance=~"$instance"'
# The Postfix instance (postmulti): the queue, postfix_up and Postfix-log
# series carry postfix_instance ("postfix" for the default instance); their
# panels filter on the variable and name it in their legends.
PINST = INST + ',postfix_instance=~"$postfix_instance"'
_next_id = [0]
_y = [0]


def next_id():
    _next_id[0] += 1
    return _next_id[0]


def target(expr, legend="", instant=False, fmt=None, ref="A"):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t["instant"] = True
        t["range"] = False
    if fmt:
        t["format"] = fmt
    return t


UPDOWN = {
    "color": {"mode": "thresholds"},
    "mappings": [{
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "OK", "color": "green", "index": 1},
        },
    }],
    "thresholds": {"mode": "absolute", "steps": [
        {"color": "red", "value": None}, {"color": "green", "value": 1}]},
    "unit": "none",
}


def stat(title, targets, w, h=5, defaults=None, description=""):
    return {
        "type": "stat", "title": title, "description": description,
        "datasource": DS, "targets": targets,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": defaults or UPDOWN, "overrides": []},
        "options": {
            "colorMode": "background", "graphMode": "none", "justifyMode": "auto",
            "orientation": "auto", "textMode": "value_and_name",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    }


def timeseries(title, targets, w=12, h=8, unit="short", stack=False, description="",
               bars=False):
    custom = {"drawStyle": "bars" if bars else "line", "fillOpacity": 20 if stack else 0,
              "lineWidth": 1, "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return {
        "type": "timeseries", "title": title, "description": description,
        "datasource": DS, "targets": targets, "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit, "custom": custom, "min": 0},
                        "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right",
                               "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def table(title, expr, w=12, h=8, exclude=("Time", "__name__", "job"), description=""):
    return {
        "type": "table", "title": title, "description": description, "datasource": DS,
        "targets": [target(expr, instant=True, fmt="table")],
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True},
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {k: True for k in exclude}}}],
    }


def row(title, panels):
    """A row and its panels, laid out left to right, top to bottom."""
    out = [{"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": _y[0]}}]
    _y[0] += 1
    x, row_h = 0, 0
    for p in panels:
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            _y[0] += row_h
            x, row_h = 0, 0
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": _y[0]}
        x += w
        row_h = max(row_h, h)
    _y[0] += row_h
    for p in [out[0]] + panels:
        p["id"] = next_id()
    return out + panels


def per_minute(expr_inside, by):
    return f"sum by ({by}) (rate({expr_inside}[$__rate_interval])) * 60"


COUNT = {
    "color": {"mode": "thresholds"}, "mappings": [], "unit": "none",
    "thresholds": {"mode": "absolute", "steps": [
        {"color": "green", "value": None}, {"color": "red", "value": 1}]}}


def row_fleet_overview():
    # The fleet at a glance, from the recording rules of
    # deploy/prometheus/fleet.rules.yml (one series per host, or the
    # fleet's aggregate); the host variable below narrows the rest.
    return row("Fleet overview", [
        stat("Hosts scraped", [target("fleet:mailhealth_hosts_scraped:count", "scraped"),
                               target("fleet:mailhealth_hosts:count", "known", ref="B")], 4,
             defaults={"color": {"mode": "fixed", "fixedColor": "blue"}, "mappings": [],
                       "unit": "none"},
             description="Hosts of the mailhealth job Prometheus scrapes, of those it knows."),
        stat("Hosts with Postfix down", [target(
            "fleet:mailhealth_postfix_down_hosts:count", "down")], 4, defaults=COUNT),
        stat("Deferred mail (fleet)", [target(
            "fleet:mailhealth_queue_deferred_messages:sum", "deferred")], 4,
             defaults={"color": {"mode": "thresholds"}, "mappings": [], "unit": "none",
                       "thresholds": {"mode": "absolute", "steps": [
                           {"color": "green", "value": None},
                           {"color": "orange", "value": 100}]}}),
        stat("Hosts listed on blocklists", [target(
            "fleet:mailhealth_listed_hosts:count", "listed")], 4, defaults=COUNT),
        table("Postfix down by host", 'instance:mailhealth_postfix_down:max{instance=~"$instance"} == 1',
              w=8, h=5, description="The hosts whose Postfix is down now."),
        timeseries("Deferred mail by host", [target(
            'instance:mailhealth_queue_deferred_messages:sum{instance=~"$instance"}',
            "{{instance}}")], w=12),
        timeseries("Blocklist listings by host", [target(
            'instance:mailhealth_dnsbl_listed:sum{instance=~"$instance"}',
            "{{instance}}")], w=12,
            description="Address x zone pairs listed, per host."),
    ])


def row_health_overview():
    return row("Health overview", [
        stat("Postfix", [target(f"mailhealth_postfix_up{{{PINST}}}",
                                "{{instance}} {{postfix_instance}}")], 4,
             description="1 when the Postfix master runs and the queue can be read, "
                         "per Postfix instance."),
        stat("Exporter scraped", [target(f'up{{job=~"$job",{INST}}}', "{{instance}}")], 4,
             description="Prometheus' own up metric for the exporter."),
        stat("Mail log readable", [target(f"mailhealth_log_source_up{{{INST}}}", "{{instance}}")], 4,
             description="0: the log file (or journal) is missing or unreadable."),
        stat("Firing alerts", [target(
            f'count(ALERTS{{alertname=~"Mailhealth.*",alertstate="firing",{INST}}}) or vector(0)',
            "firing")], 4, defaults={
                "color": {"mode": "thresholds"}, "mappings": [], "unit": "none",
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None}, {"color": "red", "value": 1}]}}),
        stat("Resolvers agree", [target(
            f'mailhealth_dns_resolvers_agree{{{INST},domain=~"$domain"}}',
            "{{domain}} {{qtype}}")], 8),
        stat("SMTP targets", [target(
            f'mailhealth_smtp_probe_success{{{INST},target=~"$target"}}',
            "{{target}} {{address}}")], 8,
            description="220 greeting and EHLO answered, per target and address."),
        stat("MX lookup (domain @ resolver)", [target(
            f'mailhealth_dns_lookup_success{{{INST},domain=~"$domain",qtype="MX"}}',
            "{{domain}} @ {{resolver}}")], 8),
        stat("MX as declared (domain @ resolver)", [target(
            f'mailhealth_dns_mx_matches_expected{{{INST},domain=~"$domain"}}',
            "{{domain}} @ {{resolver}}")], 8),
        stat("Collectors", [target(f"mailhealth_scrape_collector_success{{{INST}}}",
                                   "{{instance}} {{collector}}")], 24, h=4,
             description="0: the collector could not work at all (see the exporter's log)."),
    ])


def row_queue():
    return row("Queue", [
        timeseries("Messages per queue", [target(
            f"mailhealth_queue_messages{{{PINST}}}", "{{instance}} {{postfix_instance}} {{queue}}")]),
        timeseries("Oldest message per queue", [target(
            f"mailhealth_queue_oldest_message_age_seconds{{{PINST}}}",
            "{{instance}} {{postfix_instance}} {{queue}}")], unit="s",
            description="Mail that cannot move stays deferred: watch the deferred line."),
        timeseries("Deferred by reason", [target(
            f"mailhealth_queue_deferred_messages_by_reason{{{PINST}}}",
            "{{instance}} {{postfix_instance}} {{reason}}")], stack=True,
            description="local_service / transport_unavailable: a content filter or "
                        "local delivery is down."),
        timeseries("Deferred by recipient domain", [target(
            f"mailhealth_queue_deferred_messages_by_domain{{{PINST}}}",
            "{{instance}} {{postfix_instance}} {{domain}}")], stack=True),
        timeseries("Queue size", [target(
            f"mailhealth_queue_size_bytes{{{PINST}}}", "{{instance}} {{postfix_instance}} {{queue}}")],
            unit="bytes"),
        timeseries("Message age, 50th and 90th percentile", [
            target("histogram_quantile(0.5, sum by (instance, postfix_instance, queue, le) "
                   f"(mailhealth_queue_message_age_seconds_bucket{{{PINST}}}))",
                   "p50 {{instance}} {{postfix_instance}} {{queue}}"),
            target("histogram_quantile(0.9, sum by (instance, postfix_instance, queue, le) "
                   f"(mailhealth_queue_message_age_seconds_bucket{{{PINST}}}))",
                   "p90 {{instance}} {{postfix_instance}} {{queue}}", ref="B")], unit="s"),
    ])


def row_mail_log():
    return row("Mail log", [
        timeseries("Deliveries per minute by status", [target(
            per_minute(f"mailhealth_log_deliveries_total{{{PINST}}}",
                       "instance, postfix_instance, status"),
            "{{instance}} {{postfix_instance}} {{status}}")], stack=True),
        timeseries("Deliveries per minute by transport", [target(
            per_minute(f"mailhealth_log_deliveries_total{{{PINST}}}", "transport, status"),
            "{{transport}} {{status}}")], stack=True),
        timeseries("Rejects per minute by reason", [target(
            per_minute(f"mailhealth_log_rejects_total{{{PINST}}}", "reason"),
            "{{reason}}")], stack=True),
        timeseries("Rejects per minute by stage", [target(
            per_minute(f"mailhealth_log_rejects_total{{{PINST}}}", "stage"),
            "{{stage}}")], stack=True),
        timeseries("Warnings, errors, fatals per minute by process", [target(
            per_minute(f'mailhealth_log_messages_total{{{PINST},severity!="info"}}',
                       "instance, postfix_instance, process, severity"),
            "{{instance}} {{postfix_instance}}/{{process}} {{severity}}")]),
        timeseries("Known causes per minute", [target(
            per_minute(f"mailhealth_log_events_total{{{PINST}}}", "event"),
            "{{event}}")], stack=True,
            description="Connection timeouts/refusals, DNS, TLS, SASL failures, content "
                        "filter unavailable..."),
        timeseries("Seconds since the last log line", [target(
            f"time() - mailhealth_log_last_line_timestamp_seconds{{{INST}}} "
            f"and mailhealth_log_last_line_timestamp_seconds{{{INST}}} > 0",
            "{{instance}}")], unit="s",
            description="Silence on a server that normally logs is a symptom."),
        timeseries("Lines read per second", [
            target(f"sum by (instance) (rate(mailhealth_log_lines_total{{{INST}}}[$__rate_interval]))",
                   "{{instance}} lines"),
            target("sum by (instance) (rate(mailhealth_log_unsupported_lines_total"
                   f"{{{INST}}}[$__rate_interval]))", "{{instance}} not understood", ref="B")],
            unit="ops"),
        timeseries("Lines not from Postfix, or cut", [
            target("sum by (instance) (rate(mailhealth_log_foreign_lines_total"
                   f"{{{INST}}}[$__rate_interval]))", "{{instance}} other programs"),
            target("sum by (instance) (rate(mailhealth_log_truncated_lines_total"
                   f"{{{INST}}}[$__rate_interval]))", "{{instance}} cut (> 64 KiB)", ref="B")],
            unit="ops"),
    ])


def row_dns_per_resolver():
    return row("DNS per resolver", [
        timeseries("Lookup duration", [target(
            f'mailhealth_dns_lookup_duration_seconds{{{INST},domain=~"$domain"}}',
            "{{domain}} {{qtype}} @ {{resolver}}")], unit="s"),
        table("Lookup status (current)",
              f'mailhealth_dns_lookup_status{{{INST},domain=~"$domain"}} == 1',
              exclude=("Time", "__name__", "job", "Value")),
        table("MX records seen", f'mailhealth_dns_mx_info{{{INST},domain=~"$domain"}}',
              exclude=("Time", "__name__", "job", "Value")),
        stat("MX hosts resolve", [target(
            f'mailhealth_dns_mx_host_resolves{{{INST},domain=~"$domain"}}',
            "{{exchange}} {{qtype}} @ {{resolver}}")], 12, h=8,
            description="An MX host with AAAA 0 but A 1 is fine."),
        timeseries("Answers", [target(
            f'mailhealth_dns_answers{{{INST},domain=~"$domain"}}',
            "{{domain}} {{qtype}} @ {{resolver}}")]),
        stat("Host addresses as declared", [target(
            f'mailhealth_dns_addresses_match_expected{{{INST},domain=~"$domain"}}',
            "{{host}} @ {{resolver}}")], 8,
            description="Only for hosts listed in expect_addresses."),
        stat("MX host is a CNAME", [target(
            f'mailhealth_dns_mx_host_is_cname{{{INST},domain=~"$domain"}}',
            "{{exchange}} @ {{resolver}}")], 8, defaults={
                "color": {"mode": "thresholds"}, "unit": "none",
                "mappings": [{"type": "value", "options": {
                    "0": {"text": "no", "color": "green", "index": 0},
                    "1": {"text": "CNAME", "color": "orange", "index": 1}}}],
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None}, {"color": "orange", "value": 1}]}}),
        stat("Null MX (takes no mail)", [target(
            f'mailhealth_dns_null_mx{{{INST},domain=~"$domain"}}',
            "{{domain}} @ {{resolver}}")], 8, defaults={
                "color": {"mode": "thresholds"}, "unit": "none",
                "mappings": [{"type": "value", "options": {
                    "0": {"text": "no", "color": "green", "index": 0},
                    "1": {"text": "NULL MX", "color": "red", "index": 1}}}],
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None}, {"color": "red", "value": 1}]}}),
    ])


def row_smtp_per_target():
    return row("SMTP per target", [
        timeseries("Phase durations", [target(
            f'mailhealth_smtp_phase_duration_seconds{{{INST},target=~"$target"}}',
            "{{target}} {{phase}}")], unit="s", stack=True),
        timeseries("Probe duration", [target(
            f'mailhealth_smtp_probe_duration_seconds{{{INST},target=~"$target"}}',
            "{{target}} {{address}}")], unit="s"),
        table("Current failure reason",
              f'mailhealth_smtp_failure{{{INST},target=~"$target"}} == 1',
              exclude=("Time", "__name__", "job", "Value")),
        table("Reply codes", f'mailhealth_smtp_reply_code{{{INST},target=~"$target"}}',
              exclude=("Time", "__name__", "job")),
        stat("STARTTLS advertised", [target(
            f'mailhealth_smtp_starttls_advertised{{{INST},target=~"$target"}}',
            "{{target}} {{address}}")], 12),
        stat("Certificate verifies (CA and name)", [target(
            f'mailhealth_smtp_tls_cert_verified{{{INST},target=~"$target"}}',
            "{{target}} {{address}}")], 12,
            description="0 is common for MX hosts (opportunistic TLS, self-signed): "
                        "informational."),
        table("EHLO capabilities advertised",
              f'mailhealth_smtp_capability{{{INST},target=~"$target"}} == 1',
              exclude=("Time", "__name__", "job", "Value")),
        table("TLS version", f'mailhealth_smtp_tls_version_info{{{INST},target=~"$target"}}',
              exclude=("Time", "__name__", "job", "Value")),
        stat("Certificate expires in", [target(
            f'mailhealth_smtp_tls_cert_not_after_timestamp_seconds{{{INST},target=~"$target"}} - time() '
            f'and mailhealth_smtp_tls_cert_not_after_timestamp_seconds{{{INST},target=~"$target"}} > 0',
            "{{target}} {{address}}")], 12, defaults={
                "color": {"mode": "thresholds"}, "mappings": [], "unit": "s",
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "red", "value": None}, {"color": "orange", "value": 3 * 86400},
                    {"color": "green", "value": 14 * 86400}]}}),
    ])


def row_outside_view():
    # The outside prober's series (job mailhealth_outside_*, instance = the
    # target, vantage="outside") beside the mail host's own, per target.
    OUT = 'vantage="outside"'
    return row("Outside view: the world's probe beside the host's own", [
        timeseries("SMTP probe success, inside and outside", [
            target(f'max by (target, address) (mailhealth_smtp_probe_success{{{INST},vantage!="outside",target=~"$target"}})',
                   "inside {{target}} {{address}}"),
            target(f'min by (target, address) (mailhealth_smtp_probe_success{{{OUT},target=~"$target"}})',
                   "outside {{target}} {{address}}", ref="B")],
            description="Inside 1 and outside 0 is MailhealthSmtpBlockedFromOutside: "
                        "a firewall, NAT or provider block of the port."),
        table("Outside failure reason",
              f'mailhealth_smtp_failure{{{OUT},target=~"$target"}} == 1',
              exclude=("Time", "__name__", "job", "Value", "vantage")),
        timeseries("Connect time, inside and outside", [
            target(f'max by (target, address) (mailhealth_smtp_phase_duration_seconds{{{INST},vantage!="outside",phase="connect",target=~"$target"}})',
                   "inside {{target}} {{address}}"),
            target(f'max by (target, address) (mailhealth_smtp_phase_duration_seconds{{{OUT},phase="connect",target=~"$target"}})',
                   "outside {{target}} {{address}}", ref="B")], unit="s"),
        table("MX records seen from outside",
              f'mailhealth_dns_mx_info{{{OUT},domain=~"$domain"}}',
              exclude=("Time", "__name__", "job", "Value", "vantage")),
    ])


def row_reputation():
    return row("Reputation: blocklists and reverse DNS", [
        table("Listed on (zone, address)",
              f"mailhealth_dnsbl_listed{{{INST}}} == 1",
              exclude=("Time", "__name__", "job", "Value"),
              description="Each row is a sending address on a blocklist: delist it."),
        table("Blocklist lookups that are not an answer",
              f'mailhealth_dnsbl_lookup_status{{{INST},status!~"listed|not_listed"}} == 1',
              exclude=("Time", "__name__", "job", "Value"),
              description="error_* means the list refuses our resolver (use your own) "
                          "or the resolver rewrites NXDOMAIN."),
        stat("Blocklists listing each address", [target(
            f"mailhealth_dnsbl_listings{{{INST}}}", "{{address}}")], 8, defaults={
                "color": {"mode": "thresholds"}, "mappings": [],
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None}, {"color": "red", "value": 1}]}}),
        stat("Forward-confirmed reverse DNS", [target(
            f"mailhealth_reverse_dns_forward_confirmed{{{INST}}}", "{{address}}")], 8),
        stat("PTR records", [target(
            f"mailhealth_reverse_dns_ptr_records{{{INST}}}", "{{address}}")], 8, defaults={
                "color": {"mode": "thresholds"}, "mappings": [],
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "red", "value": None}, {"color": "green", "value": 1}]}}),
    ])


def row_log_signals():
    return row("Log signals: postscreen, SASL, TLS", [
        timeseries("postscreen verdicts per minute", [target(
            per_minute(f"mailhealth_log_postscreen_events_total{{{PINST}}}",
                       "instance, postfix_instance, event"),
            "{{instance}} {{postfix_instance}} {{event}}")], stack=True,
            description="pregreet, dnsbl, *listed, hangup and the command "
                        "limits are rejects; pass_new/pass_old are clients "
                        "let through."),
        timeseries("SMTP AUTH per minute: failed and successful", [
            target(per_minute(f"mailhealth_log_sasl_auth_failures_total{{{PINST}}}",
                              "instance, postfix_instance, service"),
                   "failed {{instance}} {{postfix_instance}}/{{service}}"),
            target(per_minute(f"mailhealth_log_sasl_auth_successes_total{{{PINST}}}",
                              "instance, postfix_instance, service"),
                   "ok {{instance}} {{postfix_instance}}/{{service}}", ref="B")],
            description="Many failures with few successes is a password-guessing "
                        "run (MailhealthSaslBruteForce)."),
        timeseries("TLS failures per minute by direction and reason", [target(
            per_minute(f"mailhealth_log_tls_failures_total{{{PINST}}}",
                       "instance, postfix_instance, direction, reason"),
            "{{instance}} {{postfix_instance}} {{direction}} {{reason}}")], stack=True),
        timeseries("TLS connections per minute by version", [target(
            per_minute(f"mailhealth_log_tls_connections_total{{{PINST}}}",
                       "instance, postfix_instance, direction, version"),
            "{{instance}} {{postfix_instance}} {{direction}} {{version}}")], stack=True),
    ])


def row_mail_authentication():
    return row("Mail authentication: SPF, DKIM, DMARC, MTA-STS, DANE", [
        table("SPF results other than pass (per sending address)",
              f'mailhealth_spf_result{{{INST},result!="pass"}} == 1',
              exclude=("Time", "__name__", "job", "Value"),
              description="permerror: the record is broken for every receiver; "
                          "fail/softfail: the address is not in the policy."),
        stat("SPF DNS lookups (limit 10)", [target(
            f"mailhealth_spf_dns_lookups{{{INST}}}", "{{domain}}")], 8, defaults={
                "color": {"mode": "thresholds"}, "mappings": [],
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": None}, {"color": "orange", "value": 9},
                    {"color": "red", "value": 11}]}}),
        table("DKIM keys invalid or not the signer's",
              f"mailhealth_dkim_key_valid{{{INST}}} == 0 or "
              f"mailhealth_dkim_key_matches_local{{{INST}}} == 0",
              exclude=("Time", "job", "Value")),
        table("DMARC policy", f"mailhealth_dmarc_policy{{{INST}}} == 1",
              exclude=("Time", "__name__", "job", "Value")),
        table("MTA-STS: MX hosts the policy does not cover",
              f"mailhealth_mta_sts_mx_covered{{{INST}}} == 0",
              exclude=("Time", "__name__", "job", "Value"),
              description="Under mode enforce, senders that honour MTA-STS defer "
                          "mail for these hosts."),
        table("DANE: MX hosts whose TLSA records do not match",
              f"mailhealth_dane_tlsa_matches{{{INST}}} == 0",
              exclude=("Time", "__name__", "job", "Value")),
    ])


def row_the_exporter():
    return row("The exporter", [
        timeseries("Collector run duration", [target(
            f"mailhealth_scrape_collector_duration_seconds{{{INST}}}",
            "{{instance}} {{collector}}")], unit="s"),
        timeseries("Seconds since a collector last succeeded", [target(
            f"time() - mailhealth_collector_last_success_timestamp_seconds{{{INST}}}",
            "{{instance}} {{collector}}")], unit="s"),
        timeseries("Scrape duration", [target(
            f'scrape_duration_seconds{{job=~"$job",{INST}}}', "{{instance}}")], unit="s"),
        timeseries("Parse and read errors", [
            target(f"sum by (instance) (increase(mailhealth_queue_parse_errors_total{{{PINST}}}[$__rate_interval]))",
                   "{{instance}} queue parse errors"),
            target(f"sum by (instance) (increase(mailhealth_log_read_errors_total{{{INST}}}[$__rate_interval]))",
                   "{{instance}} log read errors", ref="B"),
            target(f"sum by (instance) (increase(mailhealth_log_rotations_total{{{INST}}}[$__rate_interval]))",
                   "{{instance}} log rotations", ref="C")]),
        timeseries("Series per collector", [target(
            f"mailhealth_collector_series{{{INST}}}", "{{instance}} {{collector}}")],
            description="Capped by each collector's max_series "
                        "(mailhealth_collector_series_limit_reached)."),
        stat("Last config reload", [target(
            f"mailhealth_config_last_reload_successful{{{INST}}}", "{{instance}}")], 12),
        table("Build", f"mailhealth_build_info{{{INST}}}",
              exclude=("Time", "__name__", "job", "Value"), h=5),
    ])


def dashboard():
    # Row by row, top to bottom (the panel ids follow this order).
    panels = []
    for make_row in (
            row_fleet_overview,
            row_health_overview,
            row_queue,
            row_mail_log,
            row_dns_per_resolver,
            row_smtp_per_target,
            row_outside_view,
            row_reputation,
            row_log_signals,
            row_mail_authentication,
            row_the_exporter,
    ):
        panels += make_row()

    def var(name, query, label, multi=True, hide=0):
        return {
            "name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query, "refresh": 2, "sort": 1, "hide": hide,
            "multi": multi, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "regex": "",
        }

    templating = [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "refresh": 1, "regex": "", "hide": 0,
         "current": {}, "options": []},
        var("job", "label_values(mailhealth_build_info, job)", "Job", hide=2),
        # The host variable: every panel below the fleet row filters on it.
        var("instance", 'label_values(mailhealth_build_info{job=~"$job"}, instance)', "Host"),
        # The Postfix instance (postmulti; "postfix" on a single-instance
        # host): the queue, postfix_up and Postfix-log panels filter on it.
        var("postfix_instance",
            f"label_values(mailhealth_postfix_up{{{INST}}}, postfix_instance)",
            "Postfix instance"),
        var("domain", f"label_values(mailhealth_dns_lookup_success{{{INST}}}, domain)", "Domain"),
        var("target", f"label_values(mailhealth_smtp_probe_success{{{INST}}}, target)", "SMTP target"),
    ]
    return {
        "title": "Mail health (Postfix)",
        "uid": "mailhealth",
        "description": "mailhealth_exporter: Postfix, queue, mail log, DNS and SMTP checks.",
        "tags": ["mail", "postfix", "mailhealth"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 37,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [],
        "templating": {"list": templating},
        "panels": panels,
    }


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
