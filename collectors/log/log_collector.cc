#include "collectors/log/log_collector.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "collectors/log/log_config.h"
#include "collectors/log/log_metrics.h"
#include "collectors/log/log_parser.h"
#include "collectors/log/log_source.h"
#include "collectors/postconf/postconf_reader.h"
#include "collectors/postconf/postfix_instances.h"
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

// Reads the log in a thread of its own (started on the first Collect(), so
// --config.check and factories do no I/O); Collect() copies the counters.
// `source: auto` is resolved once, at that first Collect().
class LogCollector : public Collector {
 public:
  LogCollector(log::LogConfig cfg, Millis interval, RunMode mode)
      : cfg_(std::move(cfg)),
        interval_(interval),
        mode_(mode),
        processor_(cfg_.rules, cfg_.syslog_names),
        traffic_changed_(Clock::now()) {
    processor_.SetProbeHelos(cfg_.probe_helos);
  }
  ~LogCollector() override { Stop(); }

  CollectResult Collect(Clock::time_point deadline) override {
    // Before the follower's first line: which syslog name is which
    // instance.
    RefreshInstances(deadline);
    if (mode_.once) return CollectWindow();
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
        // Give the follower its first open, so the first run does not
        // report a readable log as down (mailhealth_log_source_up 0).
        const auto until = std::min(deadline, Clock::now() + Millis(200));
        while (Clock::now() < until) {
          {
            std::lock_guard<std::mutex> sl(state_.mu);
            if (state_.available || !state_.missing.empty() ||
                !state_.error.empty())
              break;
          }
          std::this_thread::sleep_for(Millis(5));
        }
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
    r.families = Build(c, available);
    return r;
  }

  // Asks the live configuration (postconf of every instance) which syslog
  // name belongs to which Postfix instance: at the first run and then at
  // most every kInstanceRefresh, bounded by the run's deadline. A failure
  // keeps the last answer (warned once); counting never stops for it.
  void RefreshInstances(Clock::time_point deadline) {
    if (cfg_.postconf.empty() || Clock::now() < next_discovery_) return;
    next_discovery_ = Clock::now() + kInstanceRefresh;
    std::vector<std::string> dirs;
    if (!cfg_.instances_auto) dirs = cfg_.instances;
    auto found = postconf::DiscoverInstances(
        cfg_.postconf, "", dirs,
        std::min(deadline, Clock::now() + Millis(2000)));
    InstanceNames names;
    std::string err = found.ok() ? "" : found.status().message();
    if (found.ok()) {
      for (const auto& i : *found) {
        if (!i.error.empty()) {
          err = i.name + ": " + i.error;
        } else if (!i.syslog_name.empty()) {
          names.instances.emplace_back(FirstPart(i.syslog_name), i.name);
          AddServiceNames(i, deadline, &names, &err);
        }
      }
    }
    if (!err.empty() && !warned_discovery_) {
      LogWarn(
          "cannot read every Postfix instance's syslog_name; its lines "
          "count under their syslog name",
          {{"collector", "log"}, {"err", err}});
      warned_discovery_ = true;
    }
    if (names.instances.empty()) return;  // keep the last answer
    std::lock_guard<std::mutex> l(state_.mu);
    processor_.SetInstanceNames(std::move(names.instances),
                                std::move(names.services));
  }

  struct InstanceNames {
    // syslog name (its first part) -> postfix_instance
    std::vector<std::pair<std::string, std::string>> instances;
    // a one-part syslog name -> its master.cf service
    std::vector<std::pair<std::string, std::string>> services;
  };

  static std::string FirstPart(const std::string& syslog_name) {
    return syslog_name.substr(0, syslog_name.find('/'));
  }

  // The syslog names master.cf gives services of instance I (`-o
  // syslog_name=...`, expanded): a first part other than the instance's
  // own is another name of I; a name of one part also names the service.
  void AddServiceNames(const postconf::PostfixInstance& i,
                       Clock::time_point deadline, InstanceNames* names,
                       std::string* err) {
    auto services = postconf::ReadServiceParameter(
        cfg_.postconf, "syslog_name",
        std::min(deadline, Clock::now() + Millis(2000)),
        {i.config_directory, true});
    if (!services.ok()) {
      *err = i.name + ": " + services.status().message();
      return;
    }
    const std::string own = FirstPart(i.syslog_name);
    for (const postconf::ServiceParameter& p : *services) {
      const std::string first = FirstPart(p.value);
      if (first.empty() || first == own) continue;
      names->instances.emplace_back(first, i.name);
      if (first == p.value) names->services.emplace_back(first, p.service);
    }
  }

  // `check`: the last mode_.lookback of the file or journal, read now.
  CollectResult CollectWindow() {
    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const double lookback =
        std::chrono::duration<double>(mode_.lookback).count();
    log::JournalOptions o;
    o.units = cfg_.units;
    o.directory = cfg_.journal_directory;
    log::LogCounters c;
    log::WindowRead read;
    if (ChooseSource(o)) {
      read = log::ReadJournalWindow(o, now, lookback, &processor_, &c);
    } else {
      read = log::ReadFileWindow(cfg_.path, now, lookback, &processor_, &c);
    }
    CollectResult r;
    if (!read.error.empty()) r.status = Status::Error(read.error);
    const bool available = read.error.empty() && read.missing.empty();
    r.detail = (read.missing.empty() ? source_ : "missing: " + read.missing) +
               auto_note_ + ", last " + FormatDuration(mode_.lookback);
    silence_ = 0;  // not judged from one read
    r.families = Build(c, available);
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

  Families Build(const log::LogCounters& c, bool available) const {
    log::LogMetricsInput in;
    in.interval = interval_;
    in.rule_names = processor_.rule_names();
    in.silence_seconds = silence_;
    in.silence_threshold = cfg_.silence_threshold;
    in.available = available;
    return log::BuildLogFamilies(c, in);
  }

  log::LogConfig cfg_;
  Millis interval_;
  RunMode mode_;
  log::LineProcessor processor_;
  log::FollowerState state_;
  std::mutex start_mu_;
  bool stopped_ = false;
  std::unique_ptr<log::Follower> follower_;
  // Set by ChooseSource(): "source: file /var/log/mail.log", and for
  // `source: auto` why, " (auto: /var/log/mail.log exists)".
  std::string source_, auto_note_;
  bool warned_missing_ = false;  // Collect() runs on one thread
  bool warned_discovery_ = false;
  Clock::time_point next_discovery_{};
  static constexpr Millis kInstanceRefresh{60000};
  uint64_t last_traffic_ = 0;
  Clock::time_point traffic_changed_;
  double silence_ = 0;
};

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
    // A section with errors is discarded by the framework.
    log::LogConfig c = log::ParseLogConfig(s, ctx.settings);
    return std::make_unique<LogCollector>(std::move(c), ctx.settings.interval,
                                          ctx.mode);
  };
  return info;
}

}  // namespace mailhealth
