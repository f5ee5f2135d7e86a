#include "collectors/postconf/postconf_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "collectors/resolve/resolver_address.h"

namespace mailhealth::postconf {
namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' ||
                        s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

// postconf [-c DIR] [-x] MODE OPERAND... (MODE -h: parameter values; -P:
// master.cf service settings)
std::vector<std::string> Arguments(const std::string& postconf,
                                   const PostconfOptions& options,
                                   const char* mode,
                                   const std::vector<std::string>& operands) {
  std::vector<std::string> args = {postconf};
  if (!options.config_dir.empty()) {
    args.push_back("-c");
    args.push_back(options.config_dir);
  }
  if (options.expand) args.push_back("-x");
  args.push_back(mode);
  args.insert(args.end(), operands.begin(), operands.end());
  return args;
}

// In the child after fork: closes every descriptor above stderr, so that
// postconf holds neither the HTTP listening socket nor a scrape's
// connection (the exporter's sockets are not close-on-exec; a child that
// outlives a restart would keep the port bound). close_range is in Linux
// 5.9 and later; before, each descriptor up to the limit is closed.
void CloseInheritedDescriptors() {
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
  rlimit lim{};
  long max =
      getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
          ? static_cast<long>(lim.rlim_cur)
          : 65536;
  for (long fd = 3; fd < max && fd < 1048576; ++fd) close(static_cast<int>(fd));
}

// In the child after fork: stdin from /dev/null, stdout and stderr to
// the pipes, its own process group, default signals; runs postconf.
[[noreturn]] void ExecChild(std::vector<char*>& argv, const Fd& out_w,
                            const Fd& err_w) {
  setpgid(0, 0);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_w.fd, 1);
  dup2(err_w.fd, 2);
  CloseInheritedDescriptors();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execv(argv[0], argv.data());
  _exit(127);
}

// Reads both pipes until they close (each kept up to 64 KiB); true when
// the deadline came first.
bool ReadOutput(Clock::time_point deadline, Fd* out_r, Fd* err_r,
                std::string* out, std::string* err) {
  for (int open_fds = 2; open_fds > 0;) {
    const auto left =
        std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    pollfd p[2] = {{out_r->fd, POLLIN, 0}, {err_r->fd, POLLIN, 0}};
    int n = poll(p, 2, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      char buf[4096];
      ssize_t r = read(p[i].fd, buf, sizeof buf);
      if (r <= 0) {
        (i == 0 ? out_r : err_r)->fd = -1;
        close(p[i].fd);
        --open_fds;
        continue;
      }
      std::string& dst = i == 0 ? *out : *err;
      if (dst.size() < 65536) dst.append(buf, static_cast<size_t>(r));
    }
  }
  return false;
}

// One line of `out` per name, in order.
Result<std::map<std::string, std::string>> SplitValues(
    const std::string& postconf, const std::vector<std::string>& names,
    const std::string& out) {
  std::map<std::string, std::string> values;
  size_t pos = 0;
  for (const std::string& name : names) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos && pos >= out.size()) {
      return Status::Error(postconf + " printed no value for " + name);
    }
    values[name] = Trim(out.substr(
        pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? out.size() : nl + 1;
  }
  return values;
}

// ARGS (ARGS[0] the absolute postconf) run to its end or DEADLINE; its
// standard output.
Result<std::string> RunPostconf(std::vector<std::string> args,
                                Clock::time_point deadline) {
  const std::string& postconf = args.front();
  if (postconf.empty() || postconf.front() != '/') {
    return Status::Error("postconf must be an absolute path");
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::Error("pipe failed");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Status::Error("pipe failed");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return Status::Error("fork failed");
  if (pid == 0) ExecChild(argv, out_w, err_w);
  setpgid(pid, pid);
  close(out_w.fd);
  out_w.fd = -1;
  close(err_w.fd);
  err_w.fd = -1;

  std::string out, err;
  const bool timed_out = ReadOutput(deadline, &out_r, &err_r, &out, &err);
  if (timed_out) kill(-pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return Status::Error(postconf + " did not finish in time");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    return Status::Error(postconf + " failed: " + Trim(err));
  }
  return out;
}

// The "SERVICE/TYPE/PARAMETER = VALUE" lines of postconf -P output TEXT;
// other lines are skipped.
std::vector<ServiceParameter> SplitServiceLines(const std::string& parameter,
                                                const std::string& text) {
  std::vector<ServiceParameter> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t eq = line.find(" = ");
    const size_t s1 = line.find('/');
    const size_t s2 = s1 == std::string::npos ? s1 : line.find('/', s1 + 1);
    if (eq == std::string::npos || s2 == std::string::npos || s2 > eq ||
        line.substr(s2 + 1, eq - s2 - 1) != parameter)
      continue;
    out.push_back({line.substr(0, s1), line.substr(s1 + 1, s2 - s1 - 1),
                   Trim(line.substr(eq + 3))});
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> ReadPostconf(
    const std::string& postconf, const std::vector<std::string>& names,
    Clock::time_point deadline, const PostconfOptions& options) {
  auto out = RunPostconf(Arguments(postconf, options, "-h", names), deadline);
  if (!out.ok()) return out.status();
  return SplitValues(postconf, names, *out);
}

Result<std::vector<ServiceParameter>> ReadServiceParameter(
    const std::string& postconf, const std::string& parameter,
    Clock::time_point deadline, const PostconfOptions& options) {
  auto out = RunPostconf(
      Arguments(postconf, options, "-P", {"*/*/" + parameter}), deadline);
  if (!out.ok()) return out.status();
  return SplitServiceLines(parameter, *out);
}

std::vector<std::string> BindAddresses(
    const std::map<std::string, std::string>& params) {
  std::vector<std::string> out;
  for (const char* key : {"smtp_bind_address", "smtp_bind_address6"}) {
    auto it = params.find(key);
    if (it == params.end()) continue;
    std::string ip = CanonicalIp(it->second);
    if (!ip.empty()) out.push_back(ip);
  }
  return out;
}

}  // namespace mailhealth::postconf
