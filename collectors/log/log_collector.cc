#include "collectors/log/log_collector.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "collectors/log/log_parser.h"
#include "collectors/log/log_source.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

using log::DeliveryStatus;
using log::Event;
using log::N;
using log::Process;
using log::RejectReason;
using log::RejectStage;
using log::Severity;
using log::Transport;

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

constexpr int64_t kMaxRules = 100;

struct LogConfig {
  std::string source = "auto";  // auto | file | journal
  std::string path = "/var/log/mail.log";
  bool from_beginning = false;
  std::vector<std::string> units{"postfix.service", "postfix@-.service"};
  std::string journal_directory;
  std::vector<std::string> syslog_names;
  std::vector<log::Rule> rules;
  Millis silence_threshold{30 * 60 * 1000};
  std::vector<std::string> probe_helos;  // default: the host name
};

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string S(std::string_view v) { return std::string(v); }

// Reads the log in a thread of its own (started on the first Collect(), so
// --config.check and factories do no I/O); Collect() copies the counters.
// `source: auto` is resolved once, at that first Collect().
class LogCollector : public Collector {
 public:
  LogCollector(LogConfig cfg, Millis interval)
      : cfg_(std::move(cfg)),
        interval_(interval),
        processor_(cfg_.rules, cfg_.syslog_names),
        traffic_changed_(Clock::now()) {
    processor_.SetProbeHelos(cfg_.probe_helos);
  }
  ~LogCollector() override { Stop(); }

  CollectResult Collect(Clock::time_point) override {
    {
      std::lock_guard<std::mutex> l(start_mu_);
      if (!follower_ && !stopped_) {
        log::JournalOptions o;
        o.units = cfg_.units;
        o.directory = cfg_.journal_directory;
        o.from_beginning = cfg_.from_beginning;
        if (ChooseSource(o)) {
          follower_ = log::MakeJournalFollower(o, &processor_, &state_);
        } else {
          // Known missing from the first Collect() on, not only once the
          // follower has looked.
          struct stat st {};
          if (::stat(cfg_.path.c_str(), &st) != 0 && errno == ENOENT) {
            std::lock_guard<std::mutex> sl(state_.mu);
            state_.missing = cfg_.path + " does not exist";
          }
          follower_ = log::MakeFileFollower(cfg_.path, cfg_.from_beginning,
                                            &processor_, &state_);
        }
        follower_->Start();
      }
    }
    log::LogCounters c;
    std::string error, missing;
    bool available;
    {
      std::lock_guard<std::mutex> l(state_.mu);
      c = state_.counters;
      error = state_.error;
      missing = state_.missing;
      available = state_.available;
    }
    CollectResult r;
    if (!error.empty()) r.status = Status::Error(error);
    if (!missing.empty()) {
      r.detail = "missing: " + missing + auto_note_;
      if (!warned_missing_) {
        LogWarn("log source missing",
                {{"collector", "log"}, {"path", cfg_.path}, {"err", missing}});
        warned_missing_ = true;
      }
    } else {
      r.detail = source_ + auto_note_;
    }
    // Silence counts from the last traffic line seen at a Collect(), or
    // from the start when there has been none (a restart on a silent log
    // is silent too).
    Clock::time_point now = Clock::now();
    if (c.traffic != last_traffic_) {
      last_traffic_ = c.traffic;
      traffic_changed_ = now;
    }
    silence_ = std::chrono::duration<double>(now - traffic_changed_).count();
    Build(c, available, &r.families);
    return r;
  }

  void Stop() override {
    std::unique_ptr<log::Follower> f;
    {
      std::lock_guard<std::mutex> l(start_mu_);
      stopped_ = true;
      f = std::move(follower_);
    }
    if (f) f->Stop();
  }

 private:
  // Decides between the file and the journal (once, under start_mu_), logs
  // the choice and why; true: the journal.
  bool ChooseSource(const log::JournalOptions& o) {
    bool journal = cfg_.source == "journal";
    std::string reason = "configured";
    if (cfg_.source == "auto") {
      struct stat st {};
      if (::stat(cfg_.path.c_str(), &st) == 0) {
        reason = cfg_.path + " exists";
      } else if (int e = errno; e != ENOENT) {
        // Perhaps there but out of reach: the file reader reports why.
        reason = "cannot stat " + cfg_.path + ": " + std::strerror(e);
      } else {
        std::string err;
        journal = log::JournalHasPostfixEntries(o, processor_, &err);
        reason = cfg_.path + " does not exist and the journal " +
                 (journal       ? std::string("has postfix entries")
                  : err.empty() ? std::string("has no postfix entries")
                                : "cannot be read: " + err);
      }
      auto_note_ = " (auto: " + reason + ")";
    }
    if (journal) {
      source_ = "source: journal" + (cfg_.journal_directory.empty()
                                         ? std::string()
                                         : " " + cfg_.journal_directory);
      LogInfo(
          "log source chosen",
          {{"collector", "log"}, {"source", "journal"}, {"reason", reason}});
    } else {
      source_ = "source: file " + cfg_.path;
      LogInfo("log source chosen", {{"collector", "log"},
                                    {"source", "file"},
                                    {"path", cfg_.path},
                                    {"reason", reason}});
    }
    return journal;
  }

  std::string Help(const std::string& h) const {
    return SampledHelp(h, interval_);
  }

  void Build(const log::LogCounters& c, bool available, Families* out) const {
    auto scalar = [&](const char* name, const std::string& help, double v,
                      bool gauge = false) {
      auto f = gauge ? Gauge(name, Help(help)) : Counter(name, Help(help));
      AddSample(f, {}, v);
      out->push_back(std::move(f));
    };
    scalar(kLines, "Lines read from the mail log.",
           static_cast<double>(c.lines));

    auto m =
        Counter(kMessages, Help("Postfix log lines by process and severity."));
    for (size_t p = 0; p < N<Process>(); ++p)
      for (size_t s = 0; s < N<Severity>(); ++s)
        AddSample(m,
                  {{"process", S(Name(Process(p)))},
                   {"severity", S(Name(Severity(s)))}},
                  static_cast<double>(c.messages[p][s]));
    out->push_back(std::move(m));

    auto d = Counter(kDeliveries,
                     Help("Delivery attempts by transport and status."));
    for (size_t t = 0; t < N<Transport>(); ++t)
      for (size_t s = 0; s < N<DeliveryStatus>(); ++s)
        AddSample(d,
                  {{"transport", S(Name(Transport(t)))},
                   {"status", S(Name(DeliveryStatus(s)))}},
                  static_cast<double>(c.deliveries[t][s]));
    out->push_back(std::move(d));

    auto rj = Counter(kRejects, Help("reject: lines of smtpd, postscreen and "
                                     "cleanup by stage and reason class."));
    for (size_t st = 0; st < N<RejectStage>(); ++st)
      for (size_t re = 0; re < N<RejectReason>(); ++re)
        AddSample(rj,
                  {{"stage", S(Name(RejectStage(st)))},
                   {"reason", S(Name(RejectReason(re)))}},
                  static_cast<double>(c.rejects[st][re]));
    out->push_back(std::move(rj));

    auto ev = Counter(kEvents,
                      Help("Notable events in the mail log (a fixed list)."));
    for (size_t e = 0; e < N<Event>(); ++e)
      AddSample(ev, {{"event", S(Name(Event(e)))}},
                static_cast<double>(c.events[e]));
    out->push_back(std::move(ev));

    auto rm = Counter(kRuleMatches,
                      Help("Lines matched by each rule of the config."));
    const auto& names = processor_.rule_names();
    for (size_t i = 0; i < names.size(); ++i)
      AddSample(rm, {{"rule", names[i]}},
                i < c.rule_matches.size()
                    ? static_cast<double>(c.rule_matches[i])
                    : 0);
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
           silence_, true);
    scalar(kSilenceThreshold,
           "The config's silence_threshold: how long without traffic counts "
           "as a silent log.",
           static_cast<double>(cfg_.silence_threshold.count()) / 1000.0, true);
    scalar(kSourceUp,
           "1 when the log file (or journal) is open, 0 while it is missing or "
           "unreadable.",
           available ? 1 : 0, true);
    log::BuildSignalFamilies(c.signals, interval_, out);
  }

  LogConfig cfg_;
  Millis interval_;
  log::LineProcessor processor_;
  log::FollowerState state_;
  std::mutex start_mu_;
  bool stopped_ = false;
  std::unique_ptr<log::Follower> follower_;
  // Set by ChooseSource(): "source: file /var/log/mail.log", and for
  // `source: auto` why, " (auto: /var/log/mail.log exists)".
  std::string source_, auto_note_;
  bool warned_missing_ = false;  // Collect() runs on one thread
  uint64_t last_traffic_ = 0;
  Clock::time_point traffic_changed_;
  double silence_ = 0;
};

bool ValidLabelValue(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
      return false;
  return true;
}

}  // namespace

CollectorInfo LogCollectorInfo() {
  CollectorInfo info;
  info.name = "log";
  info.description =
      "Errors, warnings, deliveries and rejects from the mail log";
  info.default_enabled = true;
  info.default_interval = Millis(5000);
  info.default_timeout = Millis(4000);
  info.factory = [](const CollectorContext& ctx,
                    ConfigNode& s) -> std::unique_ptr<Collector> {
    LogConfig c;
    size_t errors_before = s.errors() ? s.errors()->list().size() : 0;
    c.source = s.Enum("source", c.source, {"auto", "file", "journal"});
    c.path = s.String("path", c.path);
    c.from_beginning =
        s.Enum("start_at", "end", {"end", "beginning"}) == "beginning";
    if (c.path.empty() || c.path[0] != '/')
      s.Error("path", "must be an absolute path, got \"" + c.path + "\"");
    if (s.Has("journal_unit") && s.Has("journal_units"))
      s.Error("journal_units", "give journal_unit or journal_units, not both");
    if (s.Has("journal_unit")) {
      c.units = {s.String("journal_unit", "postfix.service")};
    } else {
      c.units = s.StringList("journal_units", c.units);
    }
    c.journal_directory = s.String("journal_directory", "");
    if (!c.journal_directory.empty() && c.journal_directory[0] != '/')
      s.Error("journal_directory",
              "must be an absolute path, got \"" + c.journal_directory + "\"");
    c.syslog_names = s.StringList("syslog_names", {});
    c.silence_threshold = s.Duration("silence_threshold", c.silence_threshold);
    if (c.silence_threshold.count() <= 0)
      s.Error("silence_threshold", "must be positive");
    c.probe_helos = s.StringList("probe_helo", {HostName()});
    std::vector<ConfigNode> rules = s.List("rules");
    if (static_cast<int64_t>(rules.size()) > kMaxRules)
      s.Error("rules", "at most " + std::to_string(kMaxRules) + " rules, got " +
                           std::to_string(rules.size()));
    std::set<std::string> names;
    for (auto& r : rules) {
      log::Rule rule;
      rule.name = r.String("name", "");
      rule.regex = r.String("regex", "");
      rule.process = r.String("process", "");
      if (!ValidLabelValue(rule.name)) {
        r.Error("name", "must be 1-64 characters of [A-Za-z0-9_.-], got \"" +
                            rule.name + "\"");
      } else if (!names.insert(rule.name).second) {
        r.Error("name", "duplicate rule name \"" + rule.name + "\"");
      }
      if (rule.regex.empty()) {
        r.Error("regex", "missing regular expression");
      } else if (std::string e = log::CheckRegex(rule.regex); !e.empty()) {
        r.Error("regex", "invalid regular expression: " + e);
      }
      r.Finish();
      c.rules.push_back(std::move(rule));
    }
    size_t errors_after = s.errors() ? s.errors()->list().size() : 0;
    if (errors_after != errors_before) return nullptr;
    return std::make_unique<LogCollector>(std::move(c), ctx.settings.interval);
  };
  return info;
}

}  // namespace mailhealth
