#include "collectors/log/log_metrics.h"

#include "collectors/log/log_families.h"
#include "exporter/metric_builder.h"

namespace mailhealth::log {
namespace {

constexpr char kLines[] = "mailhealth_log_lines_total";
constexpr char kMessages[] = "mailhealth_log_messages_total";
constexpr char kDeliveries[] = "mailhealth_log_deliveries_total";
constexpr char kRejects[] = "mailhealth_log_rejects_total";
constexpr char kEvents[] = "mailhealth_log_events_total";
constexpr char kRuleMatches[] = "mailhealth_log_rule_matches_total";
constexpr char kUnsupported[] = "mailhealth_log_unsupported_lines_total";
constexpr char kForeign[] = "mailhealth_log_foreign_lines_total";
constexpr char kTruncated[] = "mailhealth_log_truncated_lines_total";
constexpr char kLastLine[] = "mailhealth_log_last_line_timestamp_seconds";
constexpr char kRotations[] = "mailhealth_log_rotations_total";
constexpr char kReadErrors[] = "mailhealth_log_read_errors_total";
constexpr char kSourceUp[] = "mailhealth_log_source_up";
constexpr char kTraffic[] = "mailhealth_log_traffic_lines_total";
constexpr char kTrafficSilence[] = "mailhealth_log_traffic_silence_seconds";
constexpr char kSilenceThreshold[] = "mailhealth_log_silence_threshold_seconds";

template <typename HelpFn>
void BuildInstanceFamilies(const std::vector<InstanceCounters>& inst,
                           const HelpFn& H, Families* out) {
  auto m = Counter(kMessages, H("Postfix log lines by process and severity."));
  auto d =
      Counter(kDeliveries, H("Delivery attempts by transport and status."));
  auto rj = Counter(kRejects, H("reject: lines of smtpd, postscreen and "
                                "cleanup by stage and reason class."));
  auto ev =
      Counter(kEvents, H("Notable events in the mail log (a fixed list)."));
  for (const InstanceCounters& i : inst) {
    AddGrid<Process, Severity>(m, i.name, "process", "severity", i.messages);
    AddGrid<Transport, DeliveryStatus>(d, i.name, "transport", "status",
                                       i.deliveries);
    AddGrid<RejectStage, RejectReason>(rj, i.name, "stage", "reason",
                                       i.rejects);
    AddRow<Event>(ev, i.name, "event", i.events);
  }
  out->push_back(std::move(m));
  out->push_back(std::move(d));
  out->push_back(std::move(rj));
  out->push_back(std::move(ev));
}

}  // namespace

Families BuildLogFamilies(const LogCounters& c, const LogMetricsInput& in) {
  Families families;
  Families* out = &families;
  auto H = [&](const std::string& h) { return SampledHelp(h, in.interval); };
  auto scalar = [&](const char* name, const std::string& help, double v,
                    bool gauge = false) {
    auto f = gauge ? Gauge(name, H(help)) : Counter(name, H(help));
    AddSample(f, {}, v);
    out->push_back(std::move(f));
  };
  scalar(kLines, "Lines read from the mail log.", static_cast<double>(c.lines));

  // Per instance, the default one ("postfix") from the first run.
  std::vector<InstanceCounters> seeded;
  BuildInstanceFamilies(OrDefaultInstance(c.instances, &seeded), H, out);

  auto rm =
      Counter(kRuleMatches, H("Lines matched by each rule of the config."));
  const auto& names = in.rule_names;
  for (size_t i = 0; i < names.size(); ++i)
    AddSample(
        rm, {{"rule", names[i]}},
        i < c.rule_matches.size() ? static_cast<double>(c.rule_matches[i]) : 0);
  out->push_back(std::move(rm));

  scalar(kUnsupported,
         "Postfix lines (or lines without a syslog prefix) the parser did "
         "not understand.",
         static_cast<double>(c.unsupported));
  scalar(kForeign, "Lines from programs other than Postfix.",
         static_cast<double>(c.foreign));
  scalar(kTruncated, "Lines longer than 64 KiB, cut.",
         static_cast<double>(c.truncated));
  scalar(kLastLine,
         "Wall-clock time (Unix seconds) at which the last line was read; 0 "
         "before the first.",
         c.last_line_timestamp, true);
  scalar(kRotations, "Log file rotations seen (rename or truncation).",
         static_cast<double>(c.rotations));
  scalar(kReadErrors, "Errors reading the log.",
         static_cast<double>(c.read_errors));
  scalar(kTraffic,
         "Postfix lines about a message (with a queue ID or NOQUEUE), "
         "without those naming the helo of our own SMTP probes.",
         static_cast<double>(c.traffic));
  scalar(kTrafficSilence,
         "Seconds since the last traffic line (counted from the collector's "
         "start when there was none).",
         in.silence_seconds, true);
  scalar(kSilenceThreshold,
         "The config's silence_threshold: how long without traffic counts "
         "as a silent log.",
         static_cast<double>(in.silence_threshold.count()) / 1000.0, true);
  scalar(kSourceUp,
         "1 when the log file (or journal) is open, 0 while it is missing or "
         "unreadable.",
         in.available ? 1 : 0, true);
  BuildSignalFamilies(c.signals, in.interval, out);
  return families;
}

}  // namespace mailhealth::log
