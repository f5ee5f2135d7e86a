// ProcessRunner: runs a child program with a deadline, streaming its stdout.
//
// The interface exists so the queue collector (and its tests) can swap the
// real runner for a fake; the real one (MakeProcessRunner) spawns through
// Boost.Process:
//   - argv[0] is an absolute path, executed directly: no shell, no PATH
//     search, no string-built command line;
//   - stdin is /dev/null; stdout is handed to `on_stdout` chunk by chunk as
//     it arrives (nothing is accumulated; the pipe holds up to 1 MiB, so
//     the child writes ahead while a chunk is parsed); stderr is kept up
//     to kMaxStderr;
//   - the child is the leader of a new process group. When the child exits,
//     whatever it left running in its group is killed (SIGKILL); at
//     `deadline` the whole group is killed. Either way the child is reaped
//     before Run() returns, so no process is left behind (a grandchild that
//     moved to a process group of its own is beyond reach: Run() then stops
//     reading at the deadline);
//   - file descriptors of the calling process other than 0-2 are not
//     inherited (close_range(CLOSE_RANGE_CLOEXEC) in the child), and the
//     child starts with an empty signal mask and SIGPIPE at its default
//     (the exporter blocks signals in its threads and ignores SIGPIPE).
// Run() blocks the calling thread, never throws, and is safe to call from
// several threads at once (each call owns its pipes and child).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"

namespace mailhealth {

struct ProcessOutcome {
  bool started = false;    // false: could not spawn (see error)
  std::string error;       // why spawning failed
  bool timed_out = false;  // killed at the deadline
  bool exited = false;     // exited normally: exit_code is valid
  int exit_code = -1;
  int term_signal = 0;      // the signal that ended it, when !exited
  std::string stderr_text;  // the first kMaxStderr bytes of stderr
};

class ProcessRunner {
 public:
  static constexpr size_t kMaxStderr = 4096;
  using OutputFn = std::function<void(std::string_view chunk)>;

  virtual ~ProcessRunner() = default;
  virtual ProcessOutcome Run(const std::vector<std::string>& argv,
                             Clock::time_point deadline,
                             const OutputFn& on_stdout) = 0;
};

std::unique_ptr<ProcessRunner> MakeProcessRunner();

}  // namespace mailhealth
