#include "diagnosis/verdict_table.h"

#include <cstdlib>

namespace mailhealth::diagnosis {
namespace {

using M = Matcher;

// Evidence and commands are templates (Expand() in diagnosis.cc):
//   {value} the compared value, {LABEL} a label of the sample,
//   {dig_server} the resolver label as dig arguments ("127.0.0.1 -p 5300"),
//   {port} the port of the target label (25 without one),
//   {join:METRIC:LABEL} LABEL of the samples of METRIC that share this
//     sample's labels and are 1 (the failure reason, the lookup status),
//   {list:METRIC:L1 L2} "L1 L2" of every such sample whatever its value
//     (the MX set seen), {delist} the blocklist's lookup page.
// Appends rows to the table in the order of the calls: the table's order.
class Rows {
 public:
  explicit Rows(std::vector<Rule>* rows) : rows_(rows) {}
  void operator()(Rule x) const { rows_->push_back(std::move(x)); }

 private:
  std::vector<Rule>* rows_;
};

// --- 1. Postfix running: the master and its queue.
void PostfixRules(const Rows& add) {
  add({.alert = "MailhealthPostfixDown",
       .section = Section::kPostfix,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_postfix_up == 0"},
       .metric = "mailhealth_postfix_up",
       .threshold = "0",
       .title = "Postfix is not running",
       .evidence = "the Postfix master is not running or the queue cannot be "
                   "read (mailhealth_postfix_up 0): no mail is received or "
                   "delivered",
       .commands = {"{postfix:status}", "{postfix:check}",
                    "tail -n 50 /var/log/mail.log"}});
}

// --- 2. Port 25: the greeting of each target, MX address and domain.
void Port25GreetingRules(const Rows& add) {
  const std::vector<std::string> smtp_cmds = {
      "postfix status", "ss -ltn 'sport = :{port}'", "nc -v {address} {port}",
      "postconf inet_interfaces; postconf -M smtp/inet", "nft list ruleset"};
  add({.alert = "MailhealthSmtpTargetDown",
       .section = Section::kPort25,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_smtp_probe_success{vantage!=\"outside\","
                     "target!~\"mx:.*\","
                     "target!~\"(?i).*(backup|secondary).*\"} == 0"},
       .metric = "mailhealth_smtp_probe_success",
       .matchers = {{M::kNe, "vantage", "outside"},
                    {M::kNre, "target", "mx:.*"},
                    {M::kNre, "target", "(?i).*(backup|secondary).*"}},
       .threshold = "0",
       .title = "SMTP port does not greet",
       .evidence = "{target} ({address}) gives no 220 greeting and EHLO: "
                   "{join:mailhealth_smtp_failure:reason}",
       .commands = smtp_cmds});
  add({.alert = "MailhealthSmtpBackupMxDown",
       .section = Section::kPort25,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_smtp_probe_success{vantage!=\"outside\","
                     "target!~\"mx:.*\","
                     "target=~\"(?i).*(backup|secondary).*\"} == 0"},
       .metric = "mailhealth_smtp_probe_success",
       .matchers = {{M::kNe, "vantage", "outside"},
                    {M::kNre, "target", "mx:.*"},
                    {M::kRe, "target", "(?i).*(backup|secondary).*"}},
       .threshold = "0",
       .title = "Backup MX does not greet",
       .evidence = "backup MX {target} ({address}) does not answer: "
                   "{join:mailhealth_smtp_failure:reason}",
       .commands = {"nc -v {address} {port}",
                    "postfix status (on the backup)"}});
  add({.alert = "MailhealthSmtpDomainUnreachable",
       .section = Section::kPort25,
       .verdict = Verdict::kFail,
       .condition = {"max by (instance, target) "
                     "(mailhealth_smtp_probe_success{vantage!=\"outside\","
                     "target=~\"mx:.*\"}) == 0"},
       .metric = "mailhealth_smtp_probe_success",
       .matchers = {{M::kNe, "vantage", "outside"},
                    {M::kRe, "target", "mx:.*"}},
       .reduce = Reduce::kMaxBy,
       .group = {"target"},
       .threshold = "0",
       .title = "No MX host of the domain greets",
       .evidence = "no address of {target} answers: "
                   "{list:mailhealth_smtp_failure=1:address reason}",
       .commands = {"postfix status (on the MX hosts)",
                    "nc -v ADDRESS 25 (each address above)"}});
  add({.alert = "MailhealthSmtpMxHostDown",
       .section = Section::kPort25,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_smtp_probe_success{vantage!=\"outside\","
                     "target=~\"mx:.*\"} == 0"},
       .metric = "mailhealth_smtp_probe_success",
       .matchers = {{M::kNe, "vantage", "outside"},
                    {M::kRe, "target", "mx:.*"}},
       .threshold = "0",
       .unless_alert = "MailhealthSmtpDomainUnreachable",
       .title = "One MX address does not greet",
       .evidence = "{address} of {target} does not answer "
                   "({join:mailhealth_smtp_failure:reason}) while others do",
       .commands = {"nc -v {address} {port}",
                    "postfix status (on that host)"}});
}

// --- 2. Port 25: STARTTLS and the certificate.
void Port25TlsRules(const Rows& add) {
  add({.alert = "MailhealthSmtpStarttlsMissing",
       .section = Section::kPort25,
       .verdict = Verdict::kWarn,
       .condition =
           {"mailhealth_smtp_starttls_advertised{vantage!=\"outside\"} == 0"},
       .metric = "mailhealth_smtp_starttls_advertised",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .threshold = "0",
       .and_metric = "mailhealth_smtp_probe_success",
       .and_value = 1,
       .title = "No STARTTLS offered",
       .evidence = "{target} ({address}) greets but its EHLO reply lacks "
                   "STARTTLS",
       .commands = {"postconf smtpd_tls_security_level smtpd_tls_cert_file",
                    "swaks --server {address} --port {port} --tls"}});
  add({.alert = "MailhealthSmtpCertExpiringSoon",
       .section = Section::kPort25,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_smtp_tls_cert_not_after_timestamp_seconds{"
                     "vantage!=\"outside\"} - "
                     "time() < 14 * 86400"},
       .metric = "mailhealth_smtp_tls_cert_not_after_timestamp_seconds",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .reduce = Reduce::kMinusNow,
       .compare = Compare::kLt,
       .threshold = "14 * 86400",
       .title = "TLS certificate expires soon",
       .evidence = "the certificate of {target} ({address}) expires in "
                   "{value}",
       .commands = {"openssl s_client -starttls smtp -connect "
                    "{address}:{port} </dev/null 2>/dev/null | openssl x509 "
                    "-noout -enddate",
                    "postfix reload (after renewing)"}});
  add({.alert = "MailhealthSmtpCertExpiryImminent",
       .section = Section::kPort25,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_smtp_tls_cert_not_after_timestamp_seconds{"
                     "vantage!=\"outside\"} - "
                     "time() < 3 * 86400"},
       .metric = "mailhealth_smtp_tls_cert_not_after_timestamp_seconds",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .reduce = Reduce::kMinusNow,
       .compare = Compare::kLt,
       .threshold = "3 * 86400",
       .title = "TLS certificate expires within 3 days",
       .evidence = "the certificate of {target} ({address}) has {value} left",
       .commands = {"openssl s_client -starttls smtp -connect "
                    "{address}:{port} </dev/null 2>/dev/null | openssl x509 "
                    "-noout -enddate",
                    "postfix reload (after renewing)"}});
}

// --- 2b. Port 25 from outside: the join of both views needs Prometheus
// (the outside series come from another exporter's /probe).
void ProbeRules(const Rows& add) {
  add({.alert = "MailhealthSmtpBlockedFromOutside",
       .section = Section::kProbe,
       .verdict = Verdict::kFail,
       .condition = {"(max by (target, address) (mailhealth_smtp_probe_success"
                     "{vantage!=\"outside\"}) == 1)",
                     "(min by (target, address) (mailhealth_smtp_probe_success"
                     "{vantage=\"outside\"}) == 0"},
       .metric = "mailhealth_smtp_probe_success",
       .matchers = {{M::kEq, "vantage", "outside"}},
       .reduce = Reduce::kPrometheusOnly,
       .threshold = "0",
       .title = "Port 25 blocked from outside",
       .evidence = "{target} answers on the host but not from outside",
       .commands = {"nft list ruleset | grep -w 25",
                    "swaks --server {address} --quit-after EHLO (from "
                    "outside)"}});
  add({.alert = "MailhealthOutsideProbeFailing",
       .section = Section::kProbe,
       .verdict = Verdict::kWarn,
       .condition = {"up{vantage=\"outside\"} == 0"},
       .metric = "up",
       .matchers = {{M::kEq, "vantage", "outside"}},
       .reduce = Reduce::kPrometheusOnly,
       .threshold = "0",
       .title = "Outside prober not answering",
       .evidence = "the /probe scrape of {instance} fails",
       .commands = {"curl -s 'http://PROBER:9732/probe?module=MODULE&target="
                    "{instance}'"}});
  add({.alert = "MailhealthDnsMxDiffersFromOutside",
       .section = Section::kProbe,
       .verdict = Verdict::kWarn,
       .condition = {"count by (domain, exchange, preference) "
                     "(mailhealth_dns_mx_info{vantage=\"outside\"})",
                     "(max by (domain) (mailhealth_dns_lookup_success"
                     "{vantage!=\"outside\",qtype=\"MX\"}) == 1"},
       .metric = "mailhealth_dns_mx_info",
       .matchers = {{M::kEq, "vantage", "outside"}},
       .reduce = Reduce::kPrometheusOnly,
       .threshold = "1",
       .title = "MX seen differently from outside",
       .evidence = "{exchange} of {domain} is seen only {seen_by}",
       .commands = {"dig +short MX {domain} (inside and from the outside "
                    "host)"}});
}

// --- 3. MX and A records: the MX lookup, the MX set, the MX hosts.
void DnsMxRules(const Rows& add) {
  add({.alert = "MailhealthDnsMxLookupFailing",
       .section = Section::kDns,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_dns_lookup_success{vantage!=\"outside\",qtype="
                     "\"MX\"} == 0"},
       .metric = "mailhealth_dns_lookup_success",
       .matchers = {{M::kNe, "vantage", "outside"}, {M::kEq, "qtype", "MX"}},
       .threshold = "0",
       .title = "MX lookup fails",
       .evidence = "MX of {domain} through {resolver}: "
                   "{join:mailhealth_dns_lookup_status:status}",
       .commands = {"dig @{dig_server} {domain} MX",
                    "dig +trace {domain} MX"}});
  add({.alert = "MailhealthDnsMxNotAsDeclared",
       .section = Section::kDns,
       .verdict = Verdict::kFail,
       .condition =
           {"mailhealth_dns_mx_matches_expected{vantage!=\"outside\"} == 0"},
       .metric = "mailhealth_dns_mx_matches_expected",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .threshold = "0",
       .title = "MX records are not as declared",
       .evidence = "MX of {domain} through {resolver} is "
                   "{list:mailhealth_dns_mx_info:preference exchange}, not "
                   "the config's expect_mx",
       .commands = {"dig @{dig_server} {domain} MX",
                    "compare with the zone file and expect_mx in "
                    "mailhealth.yml"}});
  add({.alert = "MailhealthDnsMxHostNotResolving",
       .section = Section::kDns,
       .verdict = Verdict::kWarn,
       .condition =
           {"max without(qtype) "
            "(mailhealth_dns_mx_host_resolves{vantage!=\"outside\"}) == 0"},
       .metric = "mailhealth_dns_mx_host_resolves",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .reduce = Reduce::kMaxWithout,
       .group = {"qtype"},
       .threshold = "0",
       .title = "MX host has no address",
       .evidence = "{exchange} (MX of {domain}) has neither A nor AAAA "
                   "through {resolver}",
       .commands = {"dig @{dig_server} {exchange} A",
                    "dig @{dig_server} {exchange} AAAA"}});
}

// --- 3. MX and A records: the addresses, CNAMEs, resolver agreement.
void DnsAddressRules(const Rows& add) {
  add({.alert = "MailhealthDnsAddressesNotAsDeclared",
       .section = Section::kDns,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_dns_addresses_match_expected{vantage!="
                     "\"outside\"} == 0"},
       .metric = "mailhealth_dns_addresses_match_expected",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .threshold = "0",
       .title = "A/AAAA records are not as declared",
       .evidence = "the addresses of {host} ({domain}) through {resolver} "
                   "differ from expect_addresses",
       .commands = {"dig @{dig_server} {host} A",
                    "dig @{dig_server} {host} AAAA"}});
  add({.alert = "MailhealthDnsMxHostIsCname",
       .section = Section::kDns,
       .verdict = Verdict::kWarn,
       .condition =
           {"mailhealth_dns_mx_host_is_cname{vantage!=\"outside\"} == 1"},
       .metric = "mailhealth_dns_mx_host_is_cname",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .threshold = "1",
       .title = "MX host is a CNAME",
       .evidence = "{exchange} (MX of {domain}) is an alias (RFC 2181 10.3)",
       .commands = {"dig @{dig_server} {exchange} CNAME +short"}});
  add({.alert = "MailhealthDnsResolversDisagree",
       .section = Section::kDns,
       .verdict = Verdict::kWarn,
       .condition =
           {"mailhealth_dns_resolvers_agree{vantage!=\"outside\"} == 0"},
       .metric = "mailhealth_dns_resolvers_agree",
       .matchers = {{M::kNe, "vantage", "outside"}},
       .threshold = "0",
       .title = "Resolvers disagree",
       .evidence = "the resolvers return different {qtype} answers for "
                   "{domain}",
       .commands = {"dig @RESOLVER {domain} {qtype} +short (each resolver)",
                    "dig +trace {domain} {qtype}"}});
}

// --- 4. The queue: deferred by a local service or local delivery.
void QueueDeferralReasonRules(const Rows& add) {
  add({.alert = "MailhealthQueueLocalServiceFailing",
       .section = Section::kQueue,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_queue_deferred_messages_by_reason{reason=~\""
                     "local_service|transport_unavailable\"} > 0"},
       .metric = "mailhealth_queue_deferred_messages_by_reason",
       .matchers = {{M::kRe, "reason", "local_service|transport_unavailable"}},
       .compare = Compare::kGt,
       .threshold = "0",
       .title = "Content filter or transport failing",
       .evidence = "{value} messages deferred with reason {reason}: a local "
                   "service (a content filter such as 127.0.0.1:10024) or a "
                   "master.cf transport does not answer",
       .commands = {"{postmulti_x}postqueue -p | grep -B1 -A2 -i "
                    "'unavailable\\|127.0.0.1'",
                    "ss -ltnp 'sport = :10024'",
                    "systemctl status amavis (or the filter you run)",
                    "{postmulti_x}postqueue -f (after fixing the filter)",
                    "{postmulti_x}postsuper -r ALL; {postfix:reload} (after "
                    "removing the "
                    "filter from main.cf/master.cf instead)"}});
  add({.alert = "MailhealthQueueLocalDeliveryFailing",
       .section = Section::kQueue,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_queue_deferred_messages_by_reason{reason=\""
                     "local_delivery\"} > 0"},
       .metric = "mailhealth_queue_deferred_messages_by_reason",
       .matchers = {{M::kEq, "reason", "local_delivery"}},
       .compare = Compare::kGt,
       .threshold = "0",
       .title = "Local delivery failing",
       .evidence = "{value} messages deferred by local delivery: the mail "
                   "store or delivery agent is down",
       .commands = {"{postmulti_x}postqueue -p | grep -B1 -A1 -iE 'temporary "
                    "failure|private/|Command died|mailbox'",
                    "postconf mailbox_transport virtual_transport "
                    "mailbox_command",
                    "ls -l /var/spool/postfix/private/",
                    "{postmulti_x}postqueue -f (once fixed)"}});
}

// --- 4. The queue: the oldest deferred message, growth, hold.
void QueueAgeAndSizeRules(const Rows& add) {
  add({.alert = "MailhealthQueueDeferredTooOld",
       .section = Section::kQueue,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_queue_oldest_message_age_seconds{queue=\""
                     "deferred\"} > 12 * 3600"},
       .metric = "mailhealth_queue_oldest_message_age_seconds",
       .matchers = {{M::kEq, "queue", "deferred"}},
       .compare = Compare::kGt,
       .threshold = "12 * 3600",
       .title = "Mail stuck in the deferred queue",
       .evidence = "the oldest deferred message is {value} old",
       .commands = {"{postmulti_x}postqueue -p | tail -n 20",
                    "{postmulti_x}postcat -q QUEUE_ID",
                    "{postmulti_x}postqueue -f (after fixing the cause)"}});
  add({.alert = "MailhealthQueueDeferredGrowing",
       .section = Section::kQueue,
       .verdict = Verdict::kWarn,
       .condition = {"delta(mailhealth_queue_messages{queue=\"deferred\"}"
                     "[30m]) > 100"},
       .metric = "mailhealth_queue_messages",
       .matchers = {{M::kEq, "queue", "deferred"}},
       .reduce = Reduce::kPrometheusOnly,
       .compare = Compare::kGt,
       .threshold = "100",
       .title = "Deferred queue growing",
       .evidence = "judged by Prometheus (a 30m delta)",
       .commands = {
           "{postmulti_x}postqueue -p | grep -A2 '^[0-9A-F]' | head -n 40"}});
  add({.alert = "MailhealthQueueHoldNotEmpty",
       .section = Section::kQueue,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_queue_messages{queue=\"hold\"} > 0"},
       .metric = "mailhealth_queue_messages",
       .matchers = {{M::kEq, "queue", "hold"}},
       .compare = Compare::kGt,
       .threshold = "0",
       .title = "Messages on hold",
       .evidence = "{value} message(s) on hold",
       .commands = {
           "{postmulti_x}postqueue -p | grep '!'",
           "{postmulti_x}postcat -q QUEUE_ID",
           "{postmulti_x}postsuper -H QUEUE_ID (release) or postsuper -d "
           "QUEUE_ID"}});
}

// --- 5. The log: fatal lines, error and warning rates.
void LogSeverityRules(const Rows& add) {
  add({.alert = "MailhealthLogFatal",
       .section = Section::kLog,
       .verdict = Verdict::kFail,
       .condition = {"increase(mailhealth_log_messages_total{severity=~\""
                     "fatal|panic\"}[5m])",
                     "\"level\", \"$1\", \"severity\", \"(.*)\")) > 0"},
       .metric = "mailhealth_log_messages_total",
       .matchers = {{M::kRe, "severity", "fatal|panic"}},
       .reduce = Reduce::kWindowIncrease,
       .group = {"postfix_instance", "process", "severity"},
       .compare = Compare::kGt,
       .threshold = "0",
       .window = "5m",
       .clears_when_smtpd_answers = true,
       .title = "Postfix logged fatal",
       .evidence = "{syslog_name}/{process} logged {value} {severity} "
                   "line(s) in the last {window}",
       .commands = {"grep -E '{syslog_name}/{process}.*(fatal|panic):' "
                    "/var/log/mail.log | tail -n 20",
                    "{postfix:check}", "{postfix:reload} (after fixing)"}});
  add({.alert = "MailhealthLogErrorRateHigh",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_messages_total{severity=\"error\"}"
                     "[10m])) * 60 > 1"},
       .metric = "mailhealth_log_messages_total",
       .matchers = {{M::kEq, "severity", "error"}},
       .reduce = Reduce::kRatePerMinute,
       .group = {"postfix_instance", "process"},
       .compare = Compare::kGt,
       .threshold = "1",
       .window = "10m",
       .title = "Many errors in the log",
       .evidence =
           "{syslog_name}/{process} logs {value} errors/min over the last "
           "{window}",
       .commands = {
           "grep '{syslog_name}/{process}.* error:' /var/log/mail.log | "
           "tail -n 20"}});
  add({.alert = "MailhealthLogWarningRateHigh",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_messages_total{severity=\"warning\"}"
                     "[10m])) * 60 > 20"},
       .metric = "mailhealth_log_messages_total",
       .matchers = {{M::kEq, "severity", "warning"}},
       .reduce = Reduce::kRatePerMinute,
       .group = {"postfix_instance", "process"},
       .compare = Compare::kGt,
       .threshold = "20",
       .window = "10m",
       .title = "Many warnings in the log",
       .evidence =
           "{syslog_name}/{process} logs {value} warnings/min over the last "
           "{window}",
       .commands = {
           "grep '{syslog_name}/{process}.* warning:' /var/log/mail.log | "
           "tail -n 50"}});
}

// --- 5. The log: bounce and deferral ratios, unreachable local services.
void LogDeliveryRules(const Rows& add) {
  add({.alert = "MailhealthLogBounceRatioHigh",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_deliveries_total{status=~\""
                     "bounced|expired\"}[10m]))",
                     "rate(mailhealth_log_deliveries_total[10m])) > 0.2",
                     "increase(mailhealth_log_deliveries_total[10m])) >= 20"},
       .metric = "mailhealth_log_deliveries_total",
       .matchers = {{M::kRe, "status", "bounced|expired"}},
       .reduce = Reduce::kWindowRatio,
       .group = {"postfix_instance"},
       .compare = Compare::kGt,
       .threshold = "0.2",
       .window = "10m",
       .min_total = "20",
       .title = "Many deliveries bounce",
       .evidence = "{value} of the deliveries of the last {window} bounced or "
                   "expired",
       .commands = {"grep 'status=bounced' /var/log/mail.log | tail -n 20"}});
  add({.alert = "MailhealthLogDeferralRatioHigh",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_deliveries_total{status=\""
                     "deferred\"}[5m]))",
                     "rate(mailhealth_log_deliveries_total[5m])) > 0.3",
                     "increase(mailhealth_log_deliveries_total[5m])) >= 20"},
       .metric = "mailhealth_log_deliveries_total",
       .matchers = {{M::kEq, "status", "deferred"}},
       .reduce = Reduce::kWindowRatio,
       .group = {"postfix_instance"},
       .compare = Compare::kGt,
       .threshold = "0.3",
       .window = "5m",
       .min_total = "20",
       .title = "Many deliveries deferred",
       .evidence = "{value} of the deliveries of the last {window} were "
                   "deferred",
       .commands = {"grep 'status=deferred' /var/log/mail.log | tail -n 20",
                    "postqueue -p | tail -n 20"}});
  add({.alert = "MailhealthLogContentFilterUnavailable",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"increase(mailhealth_log_events_total{event=\""
                     "content_filter_unavailable\"}[5m])) > 0"},
       .metric = "mailhealth_log_events_total",
       .matchers = {{M::kEq, "event", "content_filter_unavailable"}},
       .reduce = Reduce::kWindowIncrease,
       .group = {"postfix_instance"},
       .compare = Compare::kGt,
       .threshold = "0",
       .window = "5m",
       .title = "Postfix cannot reach a local service",
       .evidence = "{value} connections to a content filter or LMTP store "
                   "failed in the last {window}",
       .commands = {"grep 'connect to .*\\(127\\.\\|private/\\)' "
                    "/var/log/mail.log | tail",
                    "ss -ltnp 'sport = :10024'",
                    "postqueue -f (once it answers)"}});
}

// --- 5. The log: judged by Prometheus only.
void LogPrometheusOnlyRules(const Rows& add) {
  // Rates set against other rates or a 6h baseline: Prometheus' data.
  add({.alert = "MailhealthSaslBruteForce",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_sasl_auth_failures_total[10m])) * "
                     "60 > 10"},
       .metric = "mailhealth_log_sasl_auth_failures_total",
       .reduce = Reduce::kPrometheusOnly,
       .compare = Compare::kGt,
       .threshold = "10",
       .window = "10m",
       .title = "SASL brute force",
       .evidence = "judged by Prometheus (failures against successes)",
       .commands = {"grep 'authentication failed' /var/log/mail.log | tail"}});
  add({.alert = "MailhealthPostscreenRejectSurge",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_postscreen_events_total{event=~\""
                     "pregreet|dnsbl|blacklisted|noqueue_reject|hangup|"
                     "bare_newline|non_smtp_command|command_time_limit|"
                     "command_count_limit|command_length_limit\"}[15m])) * "
                     "60 > 30"},
       .metric = "mailhealth_log_postscreen_events_total",
       .reduce = Reduce::kPrometheusOnly,
       .compare = Compare::kGt,
       .threshold = "30",
       .window = "15m",
       .title = "postscreen rejects surging",
       .evidence = "judged by Prometheus (against the last 6h)",
       .commands = {"grep -E 'postscreen.*(PREGREET|DNSBL|LISTED|HANGUP)' "
                    "/var/log/mail.log | tail"}});
  add({.alert = "MailhealthTlsOutboundFailuresRising",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"rate(mailhealth_log_tls_failures_total{direction=\""
                     "outbound\"}[15m])) * 60 > 1"},
       .metric = "mailhealth_log_tls_failures_total",
       .matchers = {{M::kEq, "direction", "outbound"}},
       .reduce = Reduce::kPrometheusOnly,
       .compare = Compare::kGt,
       .threshold = "1",
       .window = "15m",
       .title = "Outbound TLS failing",
       .evidence = "judged by Prometheus (failures against connections)",
       .commands = {"grep -E 'SSL_connect error|TLS library problem' "
                    "/var/log/mail.log | tail -n 20"}});
}

// --- 5. The log: traffic silence and the log source.
void LogSourceRules(const Rows& add) {
  add({.alert = "MailhealthLogSilent",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_log_traffic_silence_seconds > on (instance, "
                     "job) mailhealth_log_silence_threshold_seconds"},
       .metric = "mailhealth_log_traffic_silence_seconds",
       .reduce = Reduce::kAboveMetric,
       .compare = Compare::kGt,
       .threshold = "mailhealth_log_silence_threshold_seconds",
       .other_metric = "mailhealth_log_silence_threshold_seconds",
       .title = "No mail traffic in the log",
       .evidence = "no Postfix traffic line for {value}",
       .commands = {"tail -f /var/log/mail.log",
                    "swaks --server localhost --to postmaster@YOUR.DOMAIN",
                    "postfix status"}});
  add({.alert = "MailhealthLogSourceDown",
       .section = Section::kLog,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_log_source_up == 0"},
       .metric = "mailhealth_log_source_up",
       .threshold = "0",
       .title = "Mail log unreadable",
       .evidence = "the log collector cannot open the mail log or journal",
       .commands = {"ls -l /var/log/mail.log", "id mailhealth"}});
}

// --- 6. Reputation: blocklists and reverse DNS.
void ReputationRules(const Rows& add) {
  add({.alert = "MailhealthAddressListed",
       .section = Section::kReputation,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_dnsbl_listed == 1"},
       .metric = "mailhealth_dnsbl_listed",
       .threshold = "1",
       .title = "Listed on a blocklist",
       .evidence = "{address} is listed on {zone} "
                   "(codes {list:mailhealth_dnsbl_return_code:code})",
       .commands = {"dig {reversed}.{zone} A +short",
                    "{delist} (find out why, stop the cause, then request "
                    "delisting)"}});
  add({.alert = "MailhealthBlocklistQueriesRefused",
       .section = Section::kReputation,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_dnsbl_lookup_status{status=~\""
                     "error_blocked_resolver|error_rate_limited|"
                     "error_rewritten\"} == 1"},
       .metric = "mailhealth_dnsbl_lookup_status",
       .matchers = {{M::kRe, "status",
                     "error_blocked_resolver|error_rate_limited|"
                     "error_rewritten"}},
       .threshold = "1",
       .title = "Blocklist refuses our queries",
       .evidence = "{zone} answers the query about {address} with {status}: "
                   "use your own resolver",
       .commands = {"dig @RESOLVER 2.0.0.127.{zone}"}});
  add({.alert = "MailhealthReverseDnsBroken",
       .section = Section::kReputation,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_reverse_dns_forward_confirmed == 0"},
       .metric = "mailhealth_reverse_dns_forward_confirmed",
       .threshold = "0",
       .title = "Reverse DNS not forward-confirmed",
       .evidence = "no PTR name of {address} resolves back to it",
       .commands = {"dig -x {address}", "dig A NAME (each PTR name)"}});
}

// --- 6b. SPF, DKIM, DMARC.
void MailauthRecordRules(const Rows& add) {
  add({.alert = "MailhealthSpfPermerror",
       .section = Section::kMailauth,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_spf_records > 0 and "
                     "mailhealth_spf_record_valid == 0"},
       .metric = "mailhealth_spf_record_valid",
       .threshold = "0",
       .and_metric = "mailhealth_spf_records",
       .and_value = 0,
       .and_compare = Compare::kGt,
       .title = "SPF record broken",
       .evidence = "the SPF record of {domain} gives permerror at every "
                   "receiver",
       .commands = {"dig +short TXT {domain}"}});
  add({.alert = "MailhealthSpfLookupsNearLimit",
       .section = Section::kMailauth,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_spf_dns_lookups >= 9"},
       .metric = "mailhealth_spf_dns_lookups",
       .compare = Compare::kGe,
       .threshold = "9",
       .and_metric = "mailhealth_spf_record_valid",
       .and_value = 1,
       .title = "SPF near its lookup limit",
       .evidence = "the SPF record of {domain} needs {value} of the 10 DNS "
                   "lookups",
       .commands = {"dig +short TXT {domain}"}});
  add({.alert = "MailhealthDkimKeyMismatch",
       .section = Section::kMailauth,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_dkim_key_matches_local == 0"},
       .metric = "mailhealth_dkim_key_matches_local",
       .threshold = "0",
       .title = "DKIM key not published",
       .evidence = "selector {selector} of {domain} does not publish the "
                   "signing key",
       .commands = {"dig +short TXT {selector}._domainkey.{domain}",
                    "openssl pkey -in KEYFILE -pubout"}});
  add({.alert = "MailhealthDmarcMissing",
       .section = Section::kMailauth,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_dmarc_policy{policy=\"missing\"} == 1"},
       .metric = "mailhealth_dmarc_policy",
       .matchers = {{M::kEq, "policy", "missing"}},
       .threshold = "1",
       .title = "No DMARC record",
       .evidence = "_dmarc.{domain} holds no valid v=DMARC1 record",
       .commands = {"dig +short TXT _dmarc.{domain}"}});
}

// --- 6b. MTA-STS and DANE.
void MailauthMtaStsDaneRules(const Rows& add) {
  add({.alert = "MailhealthMtaStsMxNotCovered",
       .section = Section::kMailauth,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_mta_sts_mx_covered == 0"},
       .metric = "mailhealth_mta_sts_mx_covered",
       .threshold = "0",
       .and_metric = "mailhealth_mta_sts_mode",
       .and_value = 1,
       .and_matchers = {{M::kEq, "mode", "enforce"}},
       .title = "MTA-STS policy misses an MX",
       .evidence = "the enforced MTA-STS policy of {domain} does not cover "
                   "its MX {exchange}",
       .commands = {"curl -s https://mta-sts.{domain}/.well-known/mta-sts.txt",
                    "dig +short MX {domain}"}});
  add({.alert = "MailhealthMtaStsCertExpiringSoon",
       .section = Section::kMailauth,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_mta_sts_cert_not_after_timestamp_seconds - "
                     "time()) < 14 * 86400"},
       .metric = "mailhealth_mta_sts_cert_not_after_timestamp_seconds",
       .reduce = Reduce::kMinusNow,
       .compare = Compare::kLt,
       .threshold = "14 * 86400",
       .title = "MTA-STS certificate expires soon",
       .evidence = "the certificate of mta-sts.{domain} expires in {value}",
       .commands = {"openssl s_client -connect mta-sts.{domain}:443 "
                    "-servername mta-sts.{domain} </dev/null | openssl x509 "
                    "-noout -enddate"}});

  add({.alert = "MailhealthDaneTlsaMismatch",
       .section = Section::kMailauth,
       .verdict = Verdict::kFail,
       .condition = {"mailhealth_dane_tlsa_matches == 0",
                     "mailhealth_dane_dnssec_validated == 1"},
       .metric = "mailhealth_dane_tlsa_matches",
       .threshold = "0",
       .and_metric = "mailhealth_dane_dnssec_validated",
       .and_value = 1,
       .title = "TLSA record does not match the MX certificate",
       .evidence = "no DNSSEC-validated TLSA record at _25._tcp.{exchange} "
                   "matches the certificate it presents (DANE senders "
                   "defer)",
       .commands = {"dig +short TLSA _25._tcp.{exchange}",
                    "openssl s_client -starttls smtp -connect {exchange}:25 "
                    "</dev/null | openssl x509 -pubkey -noout | openssl pkey "
                    "-pubin -outform DER | openssl dgst -sha256"}});
}

// --- 7. The exporter.
void ExporterRules(const Rows& add) {
  add({.alert = "MailhealthCollectorFailing",
       .section = Section::kExporter,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_scrape_collector_success == 0"},
       .metric = "mailhealth_scrape_collector_success",
       .threshold = "0",
       .title = "A collector is failing",
       .evidence = "the {collector} collector cannot work: {error}",
       .commands = {"journalctl -u mailhealth-exporter -n 50 | grep "
                    "'collector={collector}'",
                    "id mailhealth (groups adm, systemd-journal, postdrop?)"}});
  add({.alert = "MailhealthCollectorSeriesLimit",
       .section = Section::kExporter,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_collector_series_limit_reached == 1"},
       .metric = "mailhealth_collector_series_limit_reached",
       .threshold = "1",
       .title = "A collector drops series",
       .evidence = "the {collector} collector hit its max_series",
       .commands = {"curl -s http://localhost:9732/metrics | grep "
                    "'mailhealth_collector_series{'"}});
  add({.alert = "MailhealthConfigReloadFailed",
       .section = Section::kExporter,
       .verdict = Verdict::kWarn,
       .condition = {"mailhealth_config_last_reload_successful == 0"},
       .metric = "mailhealth_config_last_reload_successful",
       .threshold = "0",
       .title = "Config reload failed",
       .evidence = "the last SIGHUP reload was rejected; the previous config "
                   "runs",
       .commands = {"mailhealth_exporter "
                    "--config.file=/etc/mailhealth/mailhealth.yml "
                    "--config.check"}});
  add({.alert = "MailhealthExporterDown",
       .section = Section::kExporter,
       .verdict = Verdict::kFail,
       .condition = {"up{job=\"mailhealth\"} == 0"},
       .metric = "up",
       .matchers = {{M::kEq, "job", "mailhealth"}},
       .reduce = Reduce::kPrometheusOnly,
       .threshold = "0",
       .title = "Exporter unreachable",
       .evidence = "judged by Prometheus (its scrape of this exporter)",
       .commands = {"systemctl status mailhealth-exporter"}});
}

// The table in troubleshooting order (the order of Section).
std::vector<Rule> BuildRules() {
  std::vector<Rule> r;
  const Rows add(&r);
  PostfixRules(add);
  Port25GreetingRules(add);
  Port25TlsRules(add);
  ProbeRules(add);
  DnsMxRules(add);
  DnsAddressRules(add);
  QueueDeferralReasonRules(add);
  QueueAgeAndSizeRules(add);
  LogSeverityRules(add);
  LogDeliveryRules(add);
  LogPrometheusOnlyRules(add);
  LogSourceRules(add);
  ReputationRules(add);
  MailauthRecordRules(add);
  MailauthMtaStsDaneRules(add);
  ExporterRules(add);
  return r;
}

Matcher SM(Matcher::Op op, std::string l, std::string v) {
  return Matcher{op, std::move(l), std::move(v)};
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "OK";
    case Verdict::kSkip:
      return "SKIP";
    case Verdict::kWarn:
      return "WARN";
    case Verdict::kFail:
      return "FAIL";
  }
  return "?";
}

const char* SectionTitle(Section s) {
  switch (s) {
    case Section::kPostfix:
      return "Postfix running";
    case Section::kPort25:
      return "Port 25 (SMTP greeting)";
    case Section::kProbe:
      return "Port 25 from outside (probe modules)";
    case Section::kDns:
      return "MX and A records";
    case Section::kQueue:
      return "Queue";
    case Section::kLog:
      return "Log";
    case Section::kReputation:
      return "Reputation";
    case Section::kMailauth:
      return "SPF, DKIM, DMARC, MTA-STS, DANE";
    case Section::kExporter:
      return "Exporter";
  }
  return "?";
}

const char* SectionCollector(Section s) {
  switch (s) {
    case Section::kPostfix:
    case Section::kQueue:
      return "queue";
    case Section::kPort25:
      return "smtp";
    case Section::kProbe:
      return "probe";
    case Section::kDns:
      return "dns";
    case Section::kLog:
      return "log";
    case Section::kReputation:
      return "reputation";
    case Section::kMailauth:
      return "mailauth";
    case Section::kExporter:
      return "";
  }
  return "";
}

const char* CompareText(Compare c) {
  switch (c) {
    case Compare::kEq:
      return "==";
    case Compare::kNe:
      return "!=";
    case Compare::kGt:
      return ">";
    case Compare::kGe:
      return ">=";
    case Compare::kLt:
      return "<";
  }
  return "?";
}

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = BuildRules();
  return rules;
}

const Rule* FindRule(const std::string& alert) {
  for (const Rule& r : Rules())
    if (r.alert == alert) return &r;
  return nullptr;
}

bool ParseThreshold(const std::string& text, double* out) {
  double v = 1;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const char* start = text.c_str() + i;
    char* end = nullptr;
    double f = std::strtod(start, &end);
    if (end == start) return false;
    v *= f;
    any = true;
    i += static_cast<size_t>(end - start);
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) break;
    if (text[i] != '*') return false;
    ++i;
  }
  if (!any) return false;
  *out = v;
  return true;
}

const std::vector<Inhibition>& Inhibitions() {
  using M = Matcher;
  const std::string smtp_symptoms =
      "MailhealthSmtpTargetDown|MailhealthSmtpDomainUnreachable|"
      "MailhealthSmtpMxHostDown|MailhealthSmtpStarttlsMissing";
  static const std::vector<Inhibition> inh = {
      // Per Postfix instance where the target has one; the log alerts
      // without it (the host's log) by any instance down.
      {"MailhealthPostfixDown",
       {},
       "MailhealthQueue.+|MailhealthLog.+",
       {},
       {"postfix_instance"}},
      {"MailhealthPostfixDown",
       {},
       "MailhealthLog.+",
       {SM(M::kEq, "postfix_instance", "")},
       {}},
      {"MailhealthPostfixDown", {}, smtp_symptoms, {}, {}},
      {"MailhealthPostfixDown",
       {},
       "MailhealthCollectorFailing",
       {SM(M::kEq, "collector", "queue")},
       {}},
      {"MailhealthLogFatal",
       {SM(M::kEq, "process", "smtpd")},
       smtp_symptoms,
       {},
       {}},
      {"MailhealthCollectorFailing",
       {SM(M::kEq, "collector", "queue")},
       "MailhealthQueue.+",
       {},
       {}},
      {"MailhealthCollectorFailing",
       {SM(M::kEq, "collector", "log")},
       "MailhealthLog.+",
       {},
       {}},
      {"MailhealthCollectorFailing",
       {SM(M::kEq, "collector", "smtp")},
       "MailhealthSmtp.+",
       {},
       {}},
      {"MailhealthCollectorFailing",
       {SM(M::kEq, "collector", "dns")},
       "MailhealthDns.+",
       {},
       {}},
      {"MailhealthDnsMxLookupFailing",
       {},
       "MailhealthDnsMxNotAsDeclared|MailhealthDnsMxHostNotResolving|"
       "MailhealthDnsAddressesNotAsDeclared|MailhealthDnsMxHostIsCname",
       {},
       {"domain", "resolver"}},
      {"MailhealthDnsMxLookupFailing",
       {},
       "MailhealthSmtpDomainUnreachable|MailhealthSmtpMxHostDown",
       {},
       {"domain"}},
      {"MailhealthSmtpCertExpiryImminent",
       {},
       "MailhealthSmtpCertExpiringSoon",
       {},
       {"target", "address"}},
      {"MailhealthSmtpDomainUnreachable",
       {},
       "MailhealthSmtpMxHostDown",
       {},
       {"target"}},
      {"MailhealthSmtpTargetDown|MailhealthSmtpBackupMxDown|"
       "MailhealthSmtpMxHostDown",
       {},
       "MailhealthSmtpStarttlsMissing",
       {},
       {"target", "address"}},
  };
  return inh;
}

}  // namespace mailhealth::diagnosis
