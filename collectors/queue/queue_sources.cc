#include "collectors/queue/queue_sources.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "collectors/queue/queue_parser.h"
#include "collectors/queue/spool_stat_parser.h"
#include "exporter/logging.h"
#include "exporter/strings.h"

namespace mailhealth {
namespace {

std::string FirstLine(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' '))
    s.remove_prefix(1);
  size_t nl = s.find('\n');
  return std::string(nl == std::string_view::npos ? s : s.substr(0, nl));
}

}  // namespace

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

PostqueueReader::PostqueueReader(const QueueConfig& cfg,
                                 std::shared_ptr<ProcessRunner> runner)
    : cfg_(cfg),
      runner_(std::move(runner)),
      local_(cfg_.local_services),
      delivery_(std::vector<std::string>{}),
      use_text_(cfg_.format == "text") {}

PostqueueRun PostqueueReader::Read(Clock::time_point deadline,
                                   std::time_t now) {
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

void PostqueueReader::ReadLocalDelivery(Clock::time_point deadline) {
  if (cfg_.postconf.empty()) return;
  std::string main_cf =
      (cfg_.config_directory.empty() ? std::string("/etc/postfix")
                                     : cfg_.config_directory) +
      "/main.cf";
  struct stat st {};
  std::string stamp;
  if (::stat(main_cf.c_str(), &st) == 0) {
    stamp = std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
            std::to_string(st.st_mtim.tv_sec) + "." +
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
  ProcessOutcome o = runner_->Run(argv, deadline, [&](std::string_view chunk) {
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

PostqueueRun PostqueueReader::RunPostqueue(Clock::time_point deadline,
                                           std::time_t now) {
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
    run.status = Status::Error("cannot run " + cfg_.postqueue + ": " + o.error);
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
  run.status = Status::Error(cmd + " " + how + (err.empty() ? "" : ": " + err));
  return run;
}

DetailWorker::DetailWorker(const QueueConfig& cfg,
                           std::shared_ptr<ProcessRunner> runner,
                           std::function<std::time_t()> wall_clock)
    : state_(std::make_shared<State>(cfg, std::move(runner))),
      wall_clock_(std::move(wall_clock)) {}

bool DetailWorker::running() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->running;
}

void DetailWorker::Start(Millis budget) {
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

std::optional<DetailWorker::Done> DetailWorker::Take(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait_until(lock, until, [&] { return !state_->running; });
  std::optional<Done> out = std::move(state_->done);
  state_->done.reset();
  return out;
}

SpoolWalker::SpoolWalker(const QueueConfig& cfg,
                         std::shared_ptr<ProcessRunner> runner)
    : cfg_(cfg), runner_(std::move(runner)) {}

Walk SpoolWalker::Socket(Clock::time_point deadline) {
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

Walk SpoolWalker::Direct() {
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

Walk SpoolWalker::Helper(Clock::time_point deadline) {
  Walk w;
  std::vector<std::string> argv = {cfg_.spool_stat};
  if (!cfg_.config_directory.empty()) {
    argv.push_back("-c");
    argv.push_back(cfg_.config_directory);
  }
  argv.push_back(cfg_.queue_directory);
  std::string out;
  ProcessOutcome o = runner_->Run(argv, deadline, [&](std::string_view chunk) {
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

}  // namespace mailhealth
