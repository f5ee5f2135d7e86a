#include "collectors/queue/queue_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "collectors/queue/deferral_reason.h"
#include "collectors/queue/queue_parser.h"
#include "collectors/queue/queue_stats.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"
#include "exporter/strings.h"

namespace mailhealth {
namespace {

constexpr char kPostfixUp[] = "mailhealth_postfix_up";
constexpr char kParseErrors[] = "mailhealth_queue_parse_errors_total";

std::string FirstLine(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' '))
    s.remove_prefix(1);
  size_t nl = s.find('\n');
  return std::string(nl == std::string_view::npos ? s : s.substr(0, nl));
}

enum class Master { kAlive, kGone, kUnknown };

std::string_view MasterName(Master m) {
  switch (m) {
    case Master::kAlive:
      return "true";
    case Master::kGone:
      return "false";
    default:
      return "unknown";
  }
}

// Is the Postfix master running? Its pid file (QUEUE_DIR/pid/master.pid)
// must name a live process, and when /proc shows it, that process must be
// `master` (a stale pid file after a crash can name an unrelated process).
// Debian's master.pid is mode 0600 root: an exporter running as its own
// user cannot read it (kUnknown), and then a postqueue that answers is the
// evidence (showq is spawned by the master, so without a master postqueue
// says "mail system is down").
Master CheckMaster(const std::string& queue_directory) {
  std::string path = queue_directory + "/pid/master.pid";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == EACCES || errno == EPERM ? Master::kUnknown : Master::kGone;
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return Master::kGone;
  buf[n] = '\0';
  long pid = std::strtol(buf, nullptr, 10);
  if (pid <= 1) return Master::kGone;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)
    return Master::kGone;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (comm && std::getline(comm, name)) {
    return name == "master" ? Master::kAlive : Master::kGone;
  }
  return Master::kAlive;
}

// The corrupt queue is not listed by postqueue (showq skips it): count its
// files directly. It is mode 0700 postfix; without access it reads as 0.
void ScanCorrupt(const std::string& queue_directory, QueueStats& stats,
                 bool* unreadable) {
  std::string dir = queue_directory + "/corrupt";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    *unreadable = errno != ENOENT;
    return;
  }
  *unreadable = false;
  QueueMessage m;
  m.queue = QueueName::kCorrupt;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    struct stat st {};
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    m.size = st.st_size;
    m.arrival_time = st.st_mtime;
    stats.OnMessage(m);
  }
  closedir(d);
}

class QueueCollector : public Collector {
 public:
  QueueCollector(QueueConfig cfg, Millis interval,
                 std::unique_ptr<ProcessRunner> runner,
                 std::function<std::time_t()> wall_clock)
      : cfg_(std::move(cfg)),
        interval_(interval),
        runner_(std::move(runner)),
        wall_clock_(wall_clock ? std::move(wall_clock)
                               : [] { return std::time(nullptr); }),
        local_(cfg_.local_services),
        delivery_(std::vector<std::string>{}),
        use_text_(cfg_.format == "text") {}

  CollectResult Collect(Clock::time_point deadline) override {
    CollectResult result;
    std::time_t now = wall_clock_();
    Master master = CheckMaster(cfg_.queue_directory);
    if (master == Master::kUnknown && !noted_unreadable_pid_) {
      LogInfo(
          "cannot read the master's pid file; postfix_up follows postqueue "
          "alone",
          {{"collector", "queue"},
           {"pid_file", cfg_.queue_directory + "/pid/master.pid"}});
      noted_unreadable_pid_ = true;
    }
    ReadLocalDelivery(deadline);
    QueueStats stats(cfg_.domains, &local_, now, &delivery_);

    Run run = RunPostqueue(deadline, now, stats);
    if (!run.text_fallback_reason.empty()) {
      LogWarn("postqueue -j not supported, using postqueue -p",
              {{"collector", "queue"}, {"err", run.text_fallback_reason}});
      use_text_ = true;
      stats = QueueStats(cfg_.domains, &local_, now, &delivery_);
      run = RunPostqueue(deadline, now, stats);
    }
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
             {"pid_file", cfg_.queue_directory + "/pid/master.pid"}});
      }
      warned_no_master_ = master == Master::kGone;
    } else if (run.status.ok() ||
               (master == Master::kGone && !run.hard_failure)) {
      // "mail system is down", or postqueue failing while no master runs:
      // Postfix being down is data, not a collector failure.
      run.status = Status::Ok();
    }
    if (up != last_up_) {
      if (up) {
        LogInfo("postfix is up", {{"collector", "queue"}});
      } else {
        LogWarn("postfix is down",
                {{"collector", "queue"},
                 {"master_running", std::string(MasterName(master))}});
      }
      last_up_ = up;
    }

    auto up_f = Gauge(
        kPostfixUp,
        SampledHelp(
            "1 when the Postfix master process runs and its queue can be read.",
            interval_));
    AddSample(up_f, {}, up ? 1 : 0);
    result.families.push_back(std::move(up_f));
    if (readable) {
      bool unreadable = false;
      ScanCorrupt(cfg_.queue_directory, stats, &unreadable);
      if (unreadable && !warned_corrupt_) {
        LogDebug("corrupt queue directory not readable; reported as empty",
                 {{"collector", "queue"},
                  {"dir", cfg_.queue_directory + "/corrupt"}});
        warned_corrupt_ = true;
      }
      stats.AppendFamilies(result.families, interval_);
    }
    auto errors = Counter(kParseErrors,
                          "Lines of postqueue output that could not be parsed "
                          "and were skipped.");
    AddSample(errors, {}, static_cast<double>(parse_errors_));
    result.families.push_back(std::move(errors));
    result.status = run.status;
    return result;
  }

 private:
  // `postconf local_transport virtual_transport mailbox_transport
  // mailbox_command`, each run (a reload may change them). On failure the
  // last endpoints stay; not a collector failure (warned once).
  void ReadLocalDelivery(Clock::time_point deadline) {
    if (cfg_.postconf.empty()) return;
    std::vector<std::string> argv = {cfg_.postconf};
    if (!cfg_.config_directory.empty()) {
      argv.push_back("-c");
      argv.push_back(cfg_.config_directory);
    }
    for (const char* p : {"local_transport", "virtual_transport",
                          "mailbox_transport", "mailbox_command"}) {
      argv.push_back(p);
    }
    std::string out;
    ProcessOutcome o =
        runner_->Run(argv, deadline, [&](std::string_view chunk) {
          if (out.size() < 65536) out.append(chunk);
        });
    if (!o.started || o.timed_out || !o.exited || o.exit_code != 0) {
      if (!warned_postconf_) {
        LogWarn(
            "cannot read the local delivery endpoints with postconf; "
            "local_delivery is recognised by its texts only",
            {{"collector", "queue"},
             {"err", o.started ? FirstLine(o.stderr_text) : o.error}});
        warned_postconf_ = true;
      }
      return;
    }
    warned_postconf_ = false;
    std::vector<std::string> endpoints = LocalDeliveryEndpoints(out);
    if (endpoints != delivery_endpoints_) {
      delivery_endpoints_ = endpoints;
      delivery_ = LocalServiceMatcher(delivery_endpoints_);
    }
  }

  struct Run {
    Status status;
    bool down = false;  // postqueue said the mail system is down
    // postqueue could not be started or did not finish: a collector
    // failure even when the master is gone.
    bool hard_failure = false;
    uint64_t parse_errors = 0;
    std::string text_fallback_reason;
  };

  Run RunPostqueue(Clock::time_point deadline, std::time_t now,
                   QueueStats& stats) {
    Run run;
    std::vector<std::string> argv = {cfg_.postqueue};
    if (!cfg_.config_directory.empty()) {
      argv.push_back("-c");
      argv.push_back(cfg_.config_directory);
    }
    argv.push_back(use_text_ ? "-p" : "-j");
    std::string cmd = cfg_.postqueue + " " + argv.back();

    std::unique_ptr<QueueListingParser> parser;
    TextQueueParser* text = nullptr;
    if (use_text_) {
      auto t = std::make_unique<TextQueueParser>(&stats, now);
      text = t.get();
      parser = std::move(t);
    } else {
      parser = std::make_unique<JsonQueueParser>(&stats);
    }
    ProcessOutcome o = runner_->Run(
        argv, deadline, [&](std::string_view chunk) { parser->Feed(chunk); });
    if (!o.started) {
      run.status =
          Status::Error("cannot run " + cfg_.postqueue + ": " + o.error);
      run.hard_failure = true;
      return run;
    }
    if (o.timed_out) {
      run.status =
          Status::Error(cmd + " did not finish before the timeout; killed");
      run.hard_failure = true;
      run.parse_errors = parser->parse_errors();
      return run;
    }
    parser->Finish();
    run.parse_errors = parser->parse_errors();
    bool down = ContainsI(o.stderr_text, "mail system is down") ||
                (text != nullptr && text->mail_system_down());
    if (o.exited && o.exit_code == 0 && !down) return run;
    if (down) {
      run.down = true;
      return run;
    }
    if (cfg_.format == "auto" && !use_text_ && o.exited &&
        (ContainsI(o.stderr_text, "invalid option") ||
         ContainsI(o.stderr_text, "illegal option") ||
         ContainsI(o.stderr_text, "usage:"))) {
      run.text_fallback_reason = FirstLine(o.stderr_text);
      return run;
    }
    std::string how = o.exited
                          ? "exited with status " + std::to_string(o.exit_code)
                          : "killed by signal " + std::to_string(o.term_signal);
    std::string err = FirstLine(o.stderr_text);
    run.status =
        Status::Error(cmd + " " + how + (err.empty() ? "" : ": " + err));
    return run;
  }

  QueueConfig cfg_;
  Millis interval_;
  std::unique_ptr<ProcessRunner> runner_;
  std::function<std::time_t()> wall_clock_;
  LocalServiceMatcher local_;
  LocalServiceMatcher delivery_;
  std::vector<std::string> delivery_endpoints_;
  bool warned_postconf_ = false;
  bool use_text_;
  uint64_t parse_errors_ = 0;
  bool last_up_ = true;  // so that a first "down" is logged
  bool warned_no_master_ = false;
  bool noted_unreadable_pid_ = false;
  bool warned_corrupt_ = false;
};

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

}  // namespace

std::optional<QueueConfig> ReadQueueConfig(ConfigNode& s) {
  QueueConfig c;
  size_t errors_before = s.errors()->list().size();
  c.postqueue = s.String("postqueue", c.postqueue);
  c.postconf = s.String("postconf", c.postconf);
  c.format = s.Enum("format", c.format, {"auto", "json", "text"});
  c.config_directory = s.String("config_directory", c.config_directory);
  c.queue_directory = s.String("queue_directory", c.queue_directory);
  c.domains = s.StringList("domains", c.domains);
  c.local_services = s.StringList("local_services", c.local_services);
  if (!IsAbsolute(c.postqueue)) {
    s.Error("postqueue",
            "must be an absolute path, got \"" + c.postqueue + "\"");
  }
  if (!c.postconf.empty() && !IsAbsolute(c.postconf)) {
    s.Error("postconf",
            "must be empty or an absolute path, got \"" + c.postconf + "\"");
  }
  if (!c.config_directory.empty() && !IsAbsolute(c.config_directory)) {
    s.Error("config_directory", "must be empty or an absolute path, got \"" +
                                    c.config_directory + "\"");
  }
  if (!IsAbsolute(c.queue_directory)) {
    s.Error("queue_directory",
            "must be an absolute path, got \"" + c.queue_directory + "\"");
  }
  std::vector<std::string> seen;
  for (std::string& d : c.domains) {
    for (char& ch : d)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (d.empty() || d.find_first_of("@ \t") != std::string::npos) {
      s.Error("domains", "\"" + d + "\" is not a domain name");
    } else if (d == "other") {
      s.Error("domains", "\"other\" is reserved for the remaining domains");
    } else if (std::find(seen.begin(), seen.end(), d) != seen.end()) {
      s.Error("domains", "duplicate domain \"" + d + "\"");
    }
    seen.push_back(d);
  }
  for (const std::string& e : c.local_services) {
    if (e.empty() || e.find_first_of(" \t") != std::string::npos) {
      s.Error("local_services",
              "\"" + e + "\" is not an endpoint (host:port or a socket path)");
    }
  }
  if (s.errors()->list().size() != errors_before) return std::nullopt;
  return c;
}

std::unique_ptr<Collector> MakeQueueCollector(
    QueueConfig config, Millis interval, std::unique_ptr<ProcessRunner> runner,
    std::function<std::time_t()> wall_clock) {
  return std::make_unique<QueueCollector>(
      std::move(config), interval, std::move(runner), std::move(wall_clock));
}

CollectorInfo QueueCollectorInfo() {
  CollectorInfo info;
  info.name = "queue";
  info.description =
      "Postfix queue sizes, ages and deferral reasons (postqueue)";
  info.default_enabled = true;
  info.default_interval = Millis(30000);
  info.default_timeout = Millis(20000);
  info.factory = [](const CollectorContext& ctx,
                    ConfigNode& s) -> std::unique_ptr<Collector> {
    auto cfg = ReadQueueConfig(s);
    if (!cfg) return nullptr;
    return MakeQueueCollector(std::move(*cfg), ctx.settings.interval,
                              MakeProcessRunner());
  };
  return info;
}

}  // namespace mailhealth
