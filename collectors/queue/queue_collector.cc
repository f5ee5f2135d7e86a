#include "collectors/queue/queue_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "collectors/queue/deferral_reason.h"
#include "collectors/queue/queue_instance.h"
#include "collectors/queue/queue_parser.h"
#include "collectors/queue/queue_stats.h"
#include "collectors/queue/spool_stat_parser.h"
#include "collectors/queue/spool_walk.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"
#include "exporter/strings.h"

namespace mailhealth {
namespace {

constexpr char kPostfixUp[] = "mailhealth_postfix_up";
constexpr char kParseErrors[] = "mailhealth_queue_parse_errors_total";
constexpr char kDetailLastSuccess[] =
    "mailhealth_queue_detail_last_success_timestamp_seconds";

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
Master CheckMasterPid(long pid);

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
  return CheckMasterPid(std::strtol(buf, nullptr, 10));
}

// The pid read from master.pid (by us or by the helper): a live `master`?
Master CheckMasterPid(long pid) {
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

// What one postqueue run gave.
struct PostqueueRun {
  Status status;
  bool down = false;  // postqueue said the mail system is down
  // postqueue could not be started or did not finish: a collector
  // failure even when the master is gone.
  bool hard_failure = false;
  uint64_t parse_errors = 0;
  std::unique_ptr<QueueStats> stats;  // set when it ran
};

// Runs postconf (the local delivery endpoints) and postqueue, with the
// -j -> -p fallback of format auto. Used by one thread at a time: the
// collector's in method postqueue, the detail worker's in method spool.
class PostqueueReader {
 public:
  PostqueueReader(const QueueConfig& cfg, std::shared_ptr<ProcessRunner> runner)
      : cfg_(cfg),
        runner_(std::move(runner)),
        local_(cfg_.local_services),
        delivery_(std::vector<std::string>{}),
        use_text_(cfg_.format == "text") {}

  PostqueueRun Read(Clock::time_point deadline, std::time_t now) {
    ReadLocalDelivery(deadline);
    PostqueueRun run = RunPostqueue(deadline, now);
    if (!text_fallback_reason_.empty()) {
      LogWarn("postqueue -j not supported, using postqueue -p",
              {{"collector", "queue"},
               {"postfix_instance", cfg_.instance_name},
               {"err", text_fallback_reason_}});
      text_fallback_reason_.clear();
      use_text_ = true;
      run = RunPostqueue(deadline, now);
    }
    return run;
  }

 private:
  // `postconf local_transport virtual_transport mailbox_transport
  // mailbox_command`, each run (a reload may change them). On failure the
  // last endpoints stay; not a collector failure (warned once).
  //
  // Skipped while main.cf is unchanged (same inode, size, mtime and ctime
  // as at the last successful read): postconf takes ~10 ms a run, a
  // noticeable share of a postqueue run on a small queue, and what it
  // reads comes from main.cf alone.
  void ReadLocalDelivery(Clock::time_point deadline) {
    if (cfg_.postconf.empty()) return;
    std::string main_cf =
        (cfg_.config_directory.empty() ? std::string("/etc/postfix")
                                       : cfg_.config_directory) +
        "/main.cf";
    struct stat st {};
    std::string stamp;
    if (::stat(main_cf.c_str(), &st) == 0) {
      stamp = std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
              ":" + std::to_string(st.st_mtim.tv_sec) + "." +
              std::to_string(st.st_mtim.tv_nsec) + ":" +
              std::to_string(st.st_ctim.tv_sec) + "." +
              std::to_string(st.st_ctim.tv_nsec);
      if (stamp == main_cf_stamp_) return;
    }
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
             {"postfix_instance", cfg_.instance_name},
             {"err", o.started ? FirstLine(o.stderr_text) : o.error}});
        warned_postconf_ = true;
      }
      return;
    }
    warned_postconf_ = false;
    main_cf_stamp_ = stamp;
    std::vector<std::string> endpoints = LocalDeliveryEndpoints(out);
    if (endpoints != delivery_endpoints_) {
      delivery_endpoints_ = endpoints;
      delivery_ = LocalServiceMatcher(delivery_endpoints_);
    }
  }

  PostqueueRun RunPostqueue(Clock::time_point deadline, std::time_t now) {
    PostqueueRun run;
    run.stats =
        std::make_unique<QueueStats>(cfg_.domains, &local_, now, &delivery_);
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
      auto t = std::make_unique<TextQueueParser>(run.stats.get(), now);
      text = t.get();
      parser = std::move(t);
    } else {
      parser = std::make_unique<JsonQueueParser>(run.stats.get());
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
      text_fallback_reason_ = FirstLine(o.stderr_text);
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
  std::shared_ptr<ProcessRunner> runner_;
  LocalServiceMatcher local_;
  LocalServiceMatcher delivery_;
  std::vector<std::string> delivery_endpoints_;
  bool warned_postconf_ = false;
  std::string main_cf_stamp_;  // main.cf as at the last postconf read
  bool use_text_;
  std::string text_fallback_reason_;
};

// The detail of method spool: postqueue on a worker thread, at most one at
// a time, each run bounded by detail_interval (killed then). The state is
// shared with the thread, which is detached: a collector dropped by a
// reload does not wait for a long postqueue.
class DetailWorker {
 public:
  struct Done {
    PostqueueRun run;
    std::time_t finished = 0;  // wall clock, Unix seconds
  };

  DetailWorker(const QueueConfig& cfg, std::shared_ptr<ProcessRunner> runner,
               std::function<std::time_t()> wall_clock)
      : state_(std::make_shared<State>(cfg, std::move(runner))),
        wall_clock_(std::move(wall_clock)) {}

  bool running() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->running;
  }

  // Starts a run unless one is under way.
  void Start(Millis budget) {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->running) return;
      state_->running = true;
    }
    std::shared_ptr<State> st = state_;
    auto clock = wall_clock_;
    std::thread([st, clock, budget] {
      std::time_t now = clock();
      Done done;
      done.run = st->reader.Read(Clock::now() + budget, now);
      done.finished = clock();
      std::lock_guard<std::mutex> lock(st->mu);
      st->done = std::move(done);
      st->running = false;
      st->cv.notify_all();
    }).detach();
  }

  // Waits until the running run is done or `until`; takes its result.
  std::optional<Done> Take(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait_until(lock, until, [&] { return !state_->running; });
    std::optional<Done> out = std::move(state_->done);
    state_->done.reset();
    return out;
  }

 private:
  struct State {
    State(const QueueConfig& cfg, std::shared_ptr<ProcessRunner> runner)
        : reader(cfg, std::move(runner)) {}
    PostqueueReader reader;  // used by the worker thread only
    std::mutex mu;
    std::condition_variable cv;
    bool running = false;
    std::optional<Done> done;
  };
  std::shared_ptr<State> state_;
  std::function<std::time_t()> wall_clock_;
};

enum class Method {
  kUndecided,
  kPostqueue,
  kSpoolHelper,
  kSpoolSocket,
  kSpoolDirect
};

// What one spool walk gave.
struct Walk {
  bool ok = false;
  std::string error;
  SpoolWalkResult result;
  uint64_t parse_errors = 0;  // of the helper's output
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
        detail_(cfg_, runner_, wall_clock_) {
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
      Walk direct = WalkDirect();
      why_not = "direct: " + direct.error;
      if (direct.ok) {
        method_ = Method::kSpoolDirect;
        first_walk_ = std::move(direct);
      }
      if (method_ == Method::kUndecided && socket) {
        Walk w = WalkSocket(deadline);
        if (w.ok) {
          method_ = Method::kSpoolSocket;
          first_walk_ = std::move(w);
        } else {
          why_not += "; " + w.error;
        }
      }
      if (method_ == Method::kUndecided && !cfg_.spool_stat.empty()) {
        Walk w = WalkHelper(deadline);
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

  // The helper behind systemd's socket (mailhealth-spool-stat.socket): one
  // connection, one listing, read to EOF by the deadline. The helper there
  // walks Postfix's queue_directory, which must be ours.
  Walk WalkSocket(Clock::time_point deadline) {
    Walk w;
    const std::string& path = cfg_.spool_stat_socket;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
      w.error = path + ": socket path too long";
      return w;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      w.error = std::string("socket: ") + std::strerror(errno);
      return w;
    }
    std::string out;
    std::string err;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS && errno != EAGAIN) {
      err = "connect " + path + ": " + std::strerror(errno);
    }
    char buf[16384];
    while (err.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - Clock::now())
                      .count();
      if (left <= 0) {
        err = path + ": no complete listing before the timeout";
        break;
      }
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60000)));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        err = std::string("poll: ") + std::strerror(errno);
        break;
      }
      if (r == 0) continue;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        if (out.size() < 65536) out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;
      if (errno == EAGAIN || errno == EINTR) continue;
      err = "read " + path + ": " + std::strerror(errno);
    }
    ::close(fd);
    if (!err.empty()) {
      w.error = err;
      return w;
    }
    SpoolStatReport rep = ParseSpoolStat(out);
    if (!rep.ok) {
      // The helper writes its error to the journal; an empty answer is it
      // failing (e.g. no capability: "deferred: Permission denied").
      w.error = path + ": " +
                (out.empty() ? "no listing (see the journal of "
                               "mailhealth-spool-stat@.service)"
                             : "unexpected output: " + rep.error);
      w.parse_errors = out.empty() ? 0 : 1;
      return w;
    }
    auto trim = [](std::string d) {
      while (d.size() > 1 && d.back() == '/') d.pop_back();
      return d;
    };
    if (trim(rep.queue_directory) != trim(cfg_.queue_directory)) {
      w.error = path + " lists " + rep.queue_directory +
                ", not queue_directory " + cfg_.queue_directory;
      return w;
    }
    w.ok = true;
    w.result = rep.walk;
    w.parse_errors = rep.parse_errors;
    return w;
  }

  Walk WalkDirect() {
    Walk w;
    int fd = ::open(cfg_.queue_directory.c_str(),
                    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      w.error = cfg_.queue_directory + ": " + std::strerror(errno);
      return w;
    }
    w.ok = WalkSpool(fd, hash_depth_, &w.result, nullptr,
                     std::thread::hardware_concurrency() >= 2 ? 2 : 1);
    if (!w.ok) w.error = cfg_.queue_directory + "/" + w.result.error;
    ::close(fd);
    return w;
  }

  Walk WalkHelper(Clock::time_point deadline) {
    Walk w;
    std::vector<std::string> argv = {cfg_.spool_stat};
    if (!cfg_.config_directory.empty()) {
      argv.push_back("-c");
      argv.push_back(cfg_.config_directory);
    }
    argv.push_back(cfg_.queue_directory);
    std::string out;
    ProcessOutcome o =
        runner_->Run(argv, deadline, [&](std::string_view chunk) {
          if (out.size() < 65536) out.append(chunk);
        });
    std::string cmd = cfg_.spool_stat;
    if (!o.started) {
      w.error = "cannot run " + cmd + ": " + o.error;
      return w;
    }
    if (o.timed_out) {
      w.error = cmd + " did not finish before the timeout; killed";
      return w;
    }
    if (!o.exited || o.exit_code != 0) {
      std::string err = FirstLine(o.stderr_text);
      w.error =
          cmd +
          (o.exited ? " exited with status " + std::to_string(o.exit_code)
                    : " killed by signal " + std::to_string(o.term_signal)) +
          (err.empty() ? "" : ": " + err);
      return w;
    }
    SpoolStatReport rep = ParseSpoolStat(out);
    if (!rep.ok) {
      w.error = cmd + ": unexpected output: " + rep.error;
      w.parse_errors = 1;
      return w;
    }
    w.ok = true;
    w.result = rep.walk;
    w.parse_errors = rep.parse_errors;
    return w;
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
      walk = WalkHelper(deadline);
    } else if (method_ == Method::kSpoolSocket) {
      walk = WalkSocket(deadline);
    } else {
      walk = WalkDirect();
    }
    parse_errors_ += walk.parse_errors;
    // A quick postqueue (a small queue) is published in the same run.
    auto until = std::min(deadline, Clock::now() + std::chrono::seconds(1));
    if (std::optional<DetailWorker::Done> d = detail_.Take(until)) {
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

    auto up_f = Gauge(
        kPostfixUp,
        SampledHelp("1 when the Postfix master process runs and its queue can "
                    "be read (the spool walk, and the master's pid).",
                    interval_));
    AddSample(up_f, {}, up ? 1 : 0);
    result.families.push_back(std::move(up_f));
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
    AppendDetailTimestamp(result.families);
    AppendParseErrors(result.families);
    if (!walk.ok) {
      result.status = Status::Error(walk.error);
    }
    result.detail = detail_error_.empty() ? "" : "detail: " + detail_error_;
    return result;
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

  void AppendDetailTimestamp(Families& out) {
    auto ts = Gauge(kDetailLastSuccess,
                    "Unix time of the last successful postqueue run, whose "
                    "listing gives the age histogram and the by_reason and "
                    "by_domain series (0: none yet).");
    AddSample(ts, {}, static_cast<double>(last_detail_success_));
    out.push_back(std::move(ts));
  }

  void AppendParseErrors(Families& out) {
    auto errors =
        Counter(kParseErrors,
                "Lines of postqueue (or mailhealth-spool-stat) output that "
                "could not be parsed and were skipped.");
    AddSample(errors, {}, static_cast<double>(parse_errors_));
    out.push_back(std::move(errors));
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

    auto up_f = Gauge(
        kPostfixUp,
        SampledHelp(
            "1 when the Postfix master process runs and its queue can be read.",
            interval_));
    AddSample(up_f, {}, up ? 1 : 0);
    result.families.push_back(std::move(up_f));
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
    AppendDetailTimestamp(result.families);
    AppendParseErrors(result.families);
    result.status = run.status;
    return result;
  }

  QueueConfig cfg_;
  Millis interval_;
  std::shared_ptr<ProcessRunner> runner_;
  std::function<std::time_t()> wall_clock_;
  PostqueueReader reader_;  // method postqueue
  DetailWorker detail_;     // method spool
  Method method_ = Method::kUndecided;
  std::optional<Walk> first_walk_;
  int hash_depth_ = 16;  // direct walk: every one-character level
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

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

// `instances: auto` or a list of absolute config directories.
void ReadInstances(ConfigNode& s, QueueConfig& c) {
  if (!s.IsSequence("instances")) {
    std::string v = s.String("instances", "auto");
    if (v != "auto") {
      s.Error("instances",
              "must be auto or a list of absolute config directories, got \"" +
                  v + "\"");
    }
    return;
  }
  c.instances_auto = false;
  c.instances = s.StringList("instances", {});
  if (c.instances.empty()) {
    s.Error("instances", "must be auto or a non-empty list");
  }
  std::vector<std::string> seen;
  for (std::string d : c.instances) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    if (!IsAbsolute(d)) {
      s.Error("instances", "\"" + d + "\" is not an absolute path");
    } else if (std::find(seen.begin(), seen.end(), d) != seen.end()) {
      s.Error("instances", "duplicate config directory \"" + d + "\"");
    }
    seen.push_back(d);
  }
}

}  // namespace

std::optional<QueueConfig> ReadQueueConfig(ConfigNode& s) {
  QueueConfig c;
  size_t errors_before = s.errors()->list().size();
  c.postqueue = s.String("postqueue", c.postqueue);
  c.postconf = s.String("postconf", c.postconf);
  c.format = s.Enum("format", c.format, {"auto", "json", "text"});
  c.config_directory = s.String("config_directory", c.config_directory);
  c.queue_directory = s.String("queue_directory", c.queue_directory);
  ReadInstances(s, c);
  c.domains = s.StringList("domains", c.domains);
  c.local_services = s.StringList("local_services", c.local_services);
  c.method = s.Enum("method", c.method, {"auto", "postqueue", "spool"});
  c.detail_interval = s.Duration("detail_interval", c.detail_interval);
  c.spool_stat = s.String("spool_stat", c.spool_stat);
  c.spool_stat_socket = s.String("spool_stat_socket", c.spool_stat_socket);
  if (!c.spool_stat_socket.empty() && !IsAbsolute(c.spool_stat_socket)) {
    s.Error("spool_stat_socket", "must be empty or an absolute path, got \"" +
                                     c.spool_stat_socket + "\"");
  }
  if (c.detail_interval < Millis(1000)) {
    s.Error("detail_interval", "must be at least 1s");
  }
  if (!c.spool_stat.empty() && !IsAbsolute(c.spool_stat)) {
    s.Error("spool_stat",
            "must be empty or an absolute path, got \"" + c.spool_stat + "\"");
  }
  if (c.method == "postqueue" && s.Has("detail_interval")) {
    s.Warning("detail_interval",
              "has no effect with method postqueue (postqueue runs every "
              "interval)");
  }
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
    auto cfg = ReadQueueConfig(s);
    if (!cfg) return nullptr;
    InstanceDiscovery discover = PostconfDiscovery(*cfg);
    return MakeQueueCollector(std::move(*cfg), ctx.settings.interval,
                              MakeProcessRunner(), nullptr,
                              std::move(discover));
  };
  return info;
}

}  // namespace mailhealth
