#include "collectors/queue/queue_collector.h"

#include <unistd.h>

#include <optional>

#include "collectors/queue/queue_instance.h"
#include "collectors/queue/queue_metrics.h"
#include "collectors/queue/queue_sources.h"
#include "exporter/logging.h"

namespace mailhealth {
namespace {

enum class Method {
  kUndecided,
  kPostqueue,
  kSpoolHelper,
  kSpoolSocket,
  kSpoolDirect
};

// One Postfix instance's queue (its config_directory and queue_directory
// in cfg); the postfix_instance label is added by the caller.
class InstanceCollector : public Collector {
 public:
  InstanceCollector(QueueConfig cfg, Millis interval,
                    std::shared_ptr<ProcessRunner> runner,
                    std::function<std::time_t()> wall_clock)
      : cfg_(std::move(cfg)),
        interval_(interval),
        runner_(std::move(runner)),
        wall_clock_(wall_clock ? std::move(wall_clock)
                               : [] { return std::time(nullptr); }),
        reader_(cfg_, runner_),
        detail_(cfg_, runner_, wall_clock_),
        walker_(cfg_, runner_) {
    if (cfg_.method == "postqueue") method_ = Method::kPostqueue;
  }

  CollectResult Collect(Clock::time_point deadline) override {
    if (method_ == Method::kUndecided) Decide(deadline);
    if (method_ == Method::kPostqueue) return CollectPostqueue(deadline);
    return CollectSpool(deadline);
  }

 private:
  // method auto (or spool): which way the spool can be walked. auto falls
  // back to postqueue; spool keeps trying the configured way.
  void Decide(Clock::time_point deadline) {
    std::string why_not;
    bool socket = !cfg_.spool_stat_socket.empty() &&
                  ::access(cfg_.spool_stat_socket.c_str(), F_OK) == 0;
    if (cfg_.method == "spool") {
      method_ = socket                     ? Method::kSpoolSocket
                : !cfg_.spool_stat.empty() ? Method::kSpoolHelper
                                           : Method::kSpoolDirect;
    } else {
      Walk direct = walker_.Direct();
      why_not = "direct: " + direct.error;
      if (direct.ok) {
        method_ = Method::kSpoolDirect;
        first_walk_ = std::move(direct);
      }
      if (method_ == Method::kUndecided && socket) {
        Walk w = walker_.Socket(deadline);
        if (w.ok) {
          method_ = Method::kSpoolSocket;
          first_walk_ = std::move(w);
        } else {
          why_not += "; " + w.error;
        }
      }
      if (method_ == Method::kUndecided && !cfg_.spool_stat.empty()) {
        Walk w = walker_.Helper(deadline);
        if (w.ok) {
          method_ = Method::kSpoolHelper;
          first_walk_ = std::move(w);
        } else {
          why_not += "; " + w.error;
        }
      }
      if (method_ == Method::kUndecided) method_ = Method::kPostqueue;
    }
    switch (method_) {
      case Method::kSpoolDirect:
        LogInfo("queue method: spool, walked directly",
                {{"collector", "queue"},
                 {"postfix_instance", cfg_.instance_name},
                 {"dir", cfg_.queue_directory}});
        break;
      case Method::kSpoolSocket:
        LogInfo("queue method: spool, through the helper's socket",
                {{"collector", "queue"},
                 {"postfix_instance", cfg_.instance_name},
                 {"socket", cfg_.spool_stat_socket}});
        break;
      case Method::kSpoolHelper:
        LogInfo("queue method: spool, through the helper",
                {{"collector", "queue"},
                 {"postfix_instance", cfg_.instance_name},
                 {"helper", cfg_.spool_stat}});
        break;
      default:
        LogInfo(
            "queue method: postqueue (the spool cannot be walked; for the "
            "spool walk install mailhealth-spool-stat with "
            "cap_dac_read_search, see docs/queue.md)",
            {{"collector", "queue"},
             {"postfix_instance", cfg_.instance_name},
             {"err", why_not}});
        break;
    }
  }

  CollectResult CollectSpool(Clock::time_point deadline) {
    CollectResult result;
    std::time_t now = wall_clock_();
    // The detail first, so postqueue runs while we walk.
    bool due = !detail_started_ ||
               Clock::now() - last_detail_start_ >= cfg_.detail_interval;
    if (due && !detail_.running()) {
      detail_.Start(cfg_.detail_interval);
      detail_started_ = true;
      last_detail_start_ = Clock::now();
    }
    Walk walk;
    if (first_walk_) {  // the walk that decided method auto
      walk = std::move(*first_walk_);
      first_walk_.reset();
    } else if (method_ == Method::kSpoolHelper) {
      walk = walker_.Helper(deadline);
    } else if (method_ == Method::kSpoolSocket) {
      walk = walker_.Socket(deadline);
    } else {
      walk = walker_.Direct();
    }
    parse_errors_ += walk.parse_errors;
    // A quick postqueue (a small queue) is published in the same run.
    TakeDetail(std::min(deadline, Clock::now() + std::chrono::seconds(1)));

    bool up = SpoolUp(walk);
    AppendPostfixUp(result.families, up, interval_, UpSource::kSpoolWalk);
    if (walk.ok) {
      std::string source =
          method_ != Method::kSpoolDirect
              ? "the spool walk (mailhealth-spool-stat: file count, file "
                "sizes, birth times)"
              : "the spool walk (file count, file sizes, birth times)";
      AppendSpoolFamilies(result.families, walk.result, now, interval_, source);
      if (last_detail_ != nullptr) {
        last_detail_->AppendDetailFamilies(
            result.families, cfg_.detail_interval,
            "postqueue -j, run every detail_interval; see "
            "mailhealth_queue_detail_last_success_timestamp_seconds");
      }
    }
    AppendDetailTimestamp(result.families, last_detail_success_);
    AppendParseErrors(result.families, parse_errors_);
    if (!walk.ok) {
      result.status = Status::Error(walk.error);
    }
    result.detail = detail_error_.empty() ? "" : "detail: " + detail_error_;
    return result;
  }

  // The detail run's result, if it finished by `until`: kept for the
  // detail series, or its error noted (warned once).
  void TakeDetail(Clock::time_point until) {
    std::optional<DetailWorker::Done> d = detail_.Take(until);
    if (!d) return;
    parse_errors_ += d->run.parse_errors;
    if (d->run.status.ok() && !d->run.down) {
      last_detail_ = std::move(d->run.stats);
      last_detail_success_ = d->finished;
      detail_error_.clear();
    } else {
      detail_error_ =
          d->run.down ? "mail system is down" : d->run.status.message();
      postqueue_down_ = d->run.down;
      if (!warned_detail_) {
        LogWarn(
            "postqueue detail failed; the detail series keep their "
            "last values",
            {{"collector", "queue"},
             {"postfix_instance", cfg_.instance_name},
             {"err", detail_error_}});
        warned_detail_ = true;
      }
    }
    if (d->run.status.ok() && !d->run.down) {
      postqueue_down_ = false;
      warned_detail_ = false;
    }
  }

  // Up: the walk worked and the master lives (its pid from the helper,
  // or the pid file read here; when neither can tell, postqueue's last
  // answer).
  bool SpoolUp(const Walk& walk) {
    Master master = Master::kUnknown;
    if (walk.ok && walk.result.master_pid >= 0) {
      master = CheckMasterPid(static_cast<long>(walk.result.master_pid));
    } else if (walk.ok && method_ != Method::kSpoolDirect) {
      master = Master::kGone;  // the helper reads the pid file, and found none
    } else {
      master = CheckMaster(cfg_.queue_directory);
    }
    bool up = walk.ok && master != Master::kGone &&
              !(master == Master::kUnknown && postqueue_down_);
    NoteUp(up, master);
    return up;
  }

  void NoteUp(bool up, Master master) {
    if (up != last_up_) {
      if (up) {
        LogInfo("postfix is up", {{"collector", "queue"},
                                  {"postfix_instance", cfg_.instance_name}});
      } else {
        LogWarn("postfix is down",
                {{"collector", "queue"},
                 {"postfix_instance", cfg_.instance_name},
                 {"master_running", std::string(MasterName(master))}});
      }
      last_up_ = up;
    }
  }

  CollectResult CollectPostqueue(Clock::time_point deadline) {
    CollectResult result;
    std::time_t now = wall_clock_();
    Master master = CheckMaster(cfg_.queue_directory);
    if (master == Master::kUnknown && !noted_unreadable_pid_) {
      LogInfo(
          "cannot read the master's pid file; postfix_up follows postqueue "
          "alone",
          {{"collector", "queue"},
           {"postfix_instance", cfg_.instance_name},
           {"pid_file", cfg_.queue_directory + "/pid/master.pid"}});
      noted_unreadable_pid_ = true;
    }
    PostqueueRun run = reader_.Read(deadline, now);
    parse_errors_ += run.parse_errors;
    // postqueue failing while Postfix shuts down: look at the master again.
    if (!run.status.ok() && master == Master::kAlive) {
      master = CheckMaster(cfg_.queue_directory);
    }

    bool up = false;
    bool readable = false;
    if (run.status.ok() && !run.down) {
      readable = true;
      up = master != Master::kGone;
      if (master == Master::kGone && !warned_no_master_) {
        LogWarn(
            "postqueue answered but no live master process is named by "
            "the pid file; check queue_directory",
            {{"collector", "queue"},
             {"postfix_instance", cfg_.instance_name},
             {"pid_file", cfg_.queue_directory + "/pid/master.pid"}});
      }
      warned_no_master_ = master == Master::kGone;
    } else if (run.status.ok() ||
               (master == Master::kGone && !run.hard_failure)) {
      // "mail system is down", or postqueue failing while no master runs:
      // Postfix being down is data, not a collector failure.
      run.status = Status::Ok();
    }
    NoteUp(up, master);

    AppendPostfixUp(result.families, up, interval_, UpSource::kPostqueue);
    if (readable) {
      bool unreadable = false;
      ScanCorrupt(cfg_.queue_directory, *run.stats, &unreadable);
      if (unreadable && !warned_corrupt_) {
        LogDebug("corrupt queue directory not readable; reported as empty",
                 {{"collector", "queue"},
                  {"postfix_instance", cfg_.instance_name},
                  {"dir", cfg_.queue_directory + "/corrupt"}});
        warned_corrupt_ = true;
      }
      run.stats->AppendFamilies(result.families, interval_);
      last_detail_success_ = wall_clock_();
    }
    AppendDetailTimestamp(result.families, last_detail_success_);
    AppendParseErrors(result.families, parse_errors_);
    result.status = run.status;
    return result;
  }

  QueueConfig cfg_;
  Millis interval_;
  std::shared_ptr<ProcessRunner> runner_;
  std::function<std::time_t()> wall_clock_;
  PostqueueReader reader_;  // method postqueue
  DetailWorker detail_;     // method spool
  SpoolWalker walker_;      // method spool
  Method method_ = Method::kUndecided;
  std::optional<Walk> first_walk_;
  bool detail_started_ = false;
  Clock::time_point last_detail_start_{};
  std::unique_ptr<QueueStats> last_detail_;
  std::time_t last_detail_success_ = 0;
  std::string detail_error_;
  bool postqueue_down_ = false;
  bool warned_detail_ = false;
  uint64_t parse_errors_ = 0;
  bool last_up_ = true;  // so that a first "down" is logged
  bool warned_no_master_ = false;
  bool noted_unreadable_pid_ = false;
  bool warned_corrupt_ = false;
};

}  // namespace

std::unique_ptr<Collector> MakeInstanceCollector(
    QueueConfig config, Millis interval, std::shared_ptr<ProcessRunner> runner,
    std::function<std::time_t()> wall_clock) {
  return std::make_unique<InstanceCollector>(
      std::move(config), interval, std::move(runner), std::move(wall_clock));
}

CollectorInfo QueueCollectorInfo() {
  CollectorInfo info;
  info.name = "queue";
  info.description =
      "Postfix queue sizes, ages and deferral reasons (spool walk, postqueue)";
  info.default_enabled = true;
  info.default_interval = Millis(30000);
  info.default_timeout = Millis(20000);
  info.factory = [](const CollectorContext& ctx,
                    ConfigNode& s) -> std::unique_ptr<Collector> {
    QueueConfig cfg = ParseQueueConfig(s);
    InstanceDiscovery discover = PostconfDiscovery(cfg);
    return MakeQueueCollector(std::move(cfg), ctx.settings.interval,
                              MakeProcessRunner(), nullptr,
                              std::move(discover));
  };
  return info;
}

}  // namespace mailhealth
