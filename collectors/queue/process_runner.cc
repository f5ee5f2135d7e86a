#include "collectors/queue/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/group.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace mailhealth {
namespace {

namespace bp = boost::process;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// An owned fd.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Takes the read end out of a Boost pipe and closes its write end (the
// child holds its own copy), so EOF arrives when the child side closes.
int TakeSource(bp::pipe& p) {
  int src = p.native_source();
  ::close(p.native_sink());
  p.assign_sink(-1);
  p.assign_source(-1);
  return src;
}

void SetCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

// Has the child exited? (without reaping it, so its pid and process group
// stay ours until we kill the group and reap).
bool ChildExited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  return info.si_pid == pid;
}

// Starts argv[0] in a process group of its own, stdout and stderr on
// pipes, stdin on /dev/null. False (with out->error) when it did not start.
bool Spawn(const std::vector<std::string>& argv, ProcessOutcome* out,
           pid_t* pid, Fd* out_fd, Fd* err_fd) {
  try {
    bp::pipe out_pipe, err_pipe;
    // Our copies must not leak into other children spawned meanwhile;
    // dup2 onto the child's 1 and 2 clears the flag there.
    for (int fd : {out_pipe.native_source(), out_pipe.native_sink(),
                   err_pipe.native_source(), err_pipe.native_sink()}) {
      SetCloexec(fd);
    }
    // A larger stdout pipe (1 MiB, the unprivileged maximum; the default is
    // 64 KiB) lets the child write ahead while on_stdout parses the last
    // chunk: with 64 KiB, postqueue -j (and showq behind it) stalled on
    // every chunk and the two ran one after the other (bench/queue: the
    // collector took 1.6x postqueue -j alone at 50,000 messages). Errors
    // are ignored: the default size still works.
    fcntl(out_pipe.native_source(), F_SETPIPE_SZ, 1 << 20);
    std::vector<std::string> args(argv.begin() + 1, argv.end());
    bp::group group;
    std::error_code ec;
    bp::child child(
        bp::exe = argv[0], bp::args = args, group,
        bp::std_in<bp::null, bp::std_out> out_pipe, bp::std_err > err_pipe,
        bp::extend::on_exec_setup =
            [](auto&) {
              // Only async-signal-safe calls here (after fork).
              // The exporter blocks SIGTERM/SIGHUP/... in every thread
              // (sigwait) and ignores SIGPIPE; a blocked mask and
              // ignored signals survive exec, so give the child the
              // defaults back.
              sigset_t none;
              sigemptyset(&none);
              sigprocmask(SIG_SETMASK, &none, nullptr);
              struct sigaction dfl {};
              dfl.sa_handler = SIG_DFL;
              sigaction(SIGPIPE, &dfl, nullptr);
              // Everything above stderr closes at exec (Boost's own
              // exec-error pipe is already close-on-exec). Errors are
              // ignored: kernels before 5.11 lack the flag.
              syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
            },
        ec);
    if (ec) {
      out->error = ec.message();
      return false;
    }
    *pid = child.id();
    group.detach();
    child.detach();  // reaped below, after the group is killed
    out_fd->Reset(TakeSource(out_pipe));
    err_fd->Reset(TakeSource(err_pipe));
  } catch (const std::exception& e) {
    out->error = e.what();
    if (*pid > 0) {
      ::kill(-*pid, SIGKILL);
      waitpid(*pid, nullptr, 0);
    }
    return false;
  }
  return true;
}

// Reads stdout (to on_stdout) and stderr (kept, capped) until the child
// has exited and both pipes are closed, or until the deadline.
void Pump(pid_t pid, const Fd& out_fd, const Fd& err_fd,
          Clock::time_point deadline, const ProcessRunner::OutputFn& on_stdout,
          ProcessOutcome* out) {
  Fd pidfd(PidfdOpen(pid));
  bool exited = false;
  bool out_open = true, err_open = true;
  char buf[65536];
  while (true) {
    if (!exited && (pidfd.get() < 0 ? ChildExited(pid) : false)) exited = true;
    if (exited && !out_open && !err_open) break;
    auto now = Clock::now();
    if (now >= deadline) {
      out->timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, pid_i = -1;
    if (out_open) fds[out_i = n++] = {out_fd.get(), POLLIN, 0};
    if (err_open) fds[err_i = n++] = {err_fd.get(), POLLIN, 0};
    if (!exited && pidfd.get() >= 0)
      fds[pid_i = n++] = {pidfd.get(), POLLIN, 0};
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)
            .count() +
        1;
    int timeout = static_cast<int>(std::min<int64_t>(left, 60000));
    if (pidfd.get() < 0 && !exited) timeout = std::min(timeout, 10);
    int r = poll(fds, static_cast<nfds_t>(n), timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      out->error = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (out_i >= 0 && fds[out_i].revents) {
      ssize_t got = ::read(out_fd.get(), buf, sizeof buf);
      if (got > 0) {
        on_stdout(std::string_view(buf, static_cast<size_t>(got)));
        // A short read: the child writes in small pieces (postqueue: 4 KiB
        // stdio buffers). Waking for each cost more CPU than parsing them
        // (perf: most of the collector's time was poll wake-ups); let the
        // 1 MiB pipe fill for a millisecond instead (the child does not
        // block meanwhile; the deadline is still kept).
        if (got < static_cast<ssize_t>(sizeof buf) / 2 &&
            Clock::now() + std::chrono::milliseconds(1) < deadline) {
          struct timespec ms = {0, 1000000};
          nanosleep(&ms, nullptr);
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        out_open = false;
      }
    }
    if (err_i >= 0 && fds[err_i].revents) {
      ssize_t got = ::read(err_fd.get(), buf, sizeof buf);
      if (got > 0) {
        size_t room =
            ProcessRunner::kMaxStderr -
            std::min(ProcessRunner::kMaxStderr, out->stderr_text.size());
        out->stderr_text.append(buf, std::min(room, static_cast<size_t>(got)));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        err_open = false;
      }
    }
    if (pid_i >= 0 && fds[pid_i].revents) exited = true;
    if (exited && (out_open || err_open)) {
      // The child is gone but something still holds its pipes: whatever
      // it left in its process group goes now (the child is a zombie, so
      // the group id is still ours). Pipes then reach EOF promptly.
      ::kill(-pid, SIGKILL);
    }
  }
}

// Kills whatever is left of the group, then reaps the child.
void Reap(pid_t pid, ProcessOutcome* out) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    out->exited = true;
    out->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out->term_signal = WTERMSIG(status);
  }
}

class BoostProcessRunner : public ProcessRunner {
 public:
  ProcessOutcome Run(const std::vector<std::string>& argv,
                     Clock::time_point deadline,
                     const OutputFn& on_stdout) override {
    ProcessOutcome out;
    if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
      out.error = "program must be an absolute path";
      return out;
    }
    pid_t pid = -1;
    Fd out_fd, err_fd;
    if (!Spawn(argv, &out, &pid, &out_fd, &err_fd)) return out;
    out.started = true;
    Pump(pid, out_fd, err_fd, deadline, on_stdout, &out);
    Reap(pid, &out);
    return out;
  }
};

}  // namespace

std::unique_ptr<ProcessRunner> MakeProcessRunner() {
  return std::make_unique<BoostProcessRunner>();
}

}  // namespace mailhealth
