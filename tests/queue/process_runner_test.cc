// The real process runner: streaming, exit status, spawn errors, and the
// deadline with a child that hangs and leaves a grandchild behind.
#include "collectors/queue/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

namespace mailhealth {
namespace {

using std::chrono::milliseconds;

std::string TempDir() {
  char tmpl[] = "/tmp/mh_runner_XXXXXX";
  char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "/tmp";
}

// Gone: no such process, or a zombie waiting for a reaper (in containers
// PID 1 may not reap orphans).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() &&
         (line[close + 2] == 'Z' || line[close + 2] == 'X');
}

bool WaitGone(pid_t pid, milliseconds within) {
  auto end = Clock::now() + within;
  while (Clock::now() < end) {
    if (ProcessGone(pid)) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return ProcessGone(pid);
}

pid_t ReadPid(const std::string& path) {
  std::ifstream f(path);
  pid_t p = 0;
  f >> p;
  return p;
}

TEST(ProcessRunnerTest, StreamsStdoutAndReportsExitCode) {
  auto runner = MakeProcessRunner();
  std::string got;
  ProcessOutcome o =
      runner->Run({"/bin/sh", "-c", "printf 'a\\nb\\n'; echo oops >&2; exit 3"},
                  Clock::now() + std::chrono::seconds(10),
                  [&](std::string_view c) { got.append(c); });
  EXPECT_TRUE(o.started);
  EXPECT_FALSE(o.timed_out);
  EXPECT_TRUE(o.exited);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(got, "a\nb\n");
  EXPECT_EQ(o.stderr_text, "oops\n");
}

TEST(ProcessRunnerTest, ArgumentsAreNotInterpretedByAShell) {
  auto runner = MakeProcessRunner();
  std::string got;
  ProcessOutcome o = runner->Run({"/bin/echo", "$HOME;", "`id`", "a b"},
                                 Clock::now() + std::chrono::seconds(10),
                                 [&](std::string_view c) { got.append(c); });
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(got, "$HOME; `id` a b\n");
}

TEST(ProcessRunnerTest, LargeOutputArrivesInBoundedChunks) {
  auto runner = MakeProcessRunner();
  size_t total = 0, largest = 0;
  ProcessOutcome o = runner->Run(
      {"/usr/bin/head", "-c", "8000000", "/dev/zero"},
      Clock::now() + std::chrono::seconds(20), [&](std::string_view c) {
        total += c.size();
        largest = std::max(largest, c.size());
      });
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(total, 8000000u);
  EXPECT_LE(largest, 65536u);
}

TEST(ProcessRunnerTest, MissingProgramIsASpawnError) {
  auto runner = MakeProcessRunner();
  ProcessOutcome o = runner->Run({"/nonexistent/postqueue", "-j"},
                                 Clock::now() + std::chrono::seconds(5),
                                 [](std::string_view) {});
  EXPECT_FALSE(o.started);
  EXPECT_NE(o.error.find("No such file"), std::string::npos) << o.error;
}

TEST(ProcessRunnerTest, RelativeProgramIsRefused) {
  auto runner = MakeProcessRunner();
  ProcessOutcome o =
      runner->Run({"sh", "-c", "true"}, Clock::now() + std::chrono::seconds(5),
                  [](std::string_view) {});
  EXPECT_FALSE(o.started);
  EXPECT_FALSE(o.error.empty());
}

TEST(ProcessRunnerTest, DeadlineKillsTheWholeGroupIncludingAGrandchild) {
  std::string dir = TempDir();
  // The child starts a grandchild that also holds stdout, both hang.
  std::string script = "sleep 1000 & echo $! > " + dir +
                       "/grandchild; echo $$ > " + dir +
                       "/child; echo started; exec sleep 1000";
  auto runner = MakeProcessRunner();
  std::string got;
  auto start = Clock::now();
  ProcessOutcome o =
      runner->Run({"/bin/sh", "-c", script}, start + milliseconds(500),
                  [&](std::string_view c) { got.append(c); });
  auto took = Clock::now() - start;
  EXPECT_TRUE(o.started);
  EXPECT_TRUE(o.timed_out);
  EXPECT_FALSE(o.exited);
  EXPECT_EQ(o.term_signal, SIGKILL);
  EXPECT_EQ(got, "started\n");
  EXPECT_LT(took, std::chrono::seconds(3));
  pid_t child = ReadPid(dir + "/child");
  pid_t grandchild = ReadPid(dir + "/grandchild");
  ASSERT_GT(child, 0);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(WaitGone(child, milliseconds(500)));
  EXPECT_TRUE(WaitGone(grandchild, milliseconds(500)));
  std::system(("rm -rf " + dir).c_str());
}

TEST(ProcessRunnerTest, ChildThatExitsLeavingAGrandchildStillEndsPromptly) {
  std::string dir = TempDir();
  // The grandchild keeps stdout open: without the group kill, EOF would
  // only come at the deadline.
  std::string script =
      "sleep 1000 & echo $! > " + dir + "/grandchild; echo done";
  auto runner = MakeProcessRunner();
  std::string got;
  auto start = Clock::now();
  ProcessOutcome o =
      runner->Run({"/bin/sh", "-c", script}, start + std::chrono::seconds(10),
                  [&](std::string_view c) { got.append(c); });
  auto took = Clock::now() - start;
  EXPECT_FALSE(o.timed_out);
  EXPECT_TRUE(o.exited);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(got, "done\n");
  EXPECT_LT(took, std::chrono::seconds(3));
  pid_t grandchild = ReadPid(dir + "/grandchild");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(WaitGone(grandchild, milliseconds(500)));
  std::system(("rm -rf " + dir).c_str());
}

TEST(ProcessRunnerTest, OurFileDescriptorsAreNotInherited) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);  // deliberately without O_CLOEXEC
  auto runner = MakeProcessRunner();
  std::string got;
  ProcessOutcome o = runner->Run({"/bin/sh", "-c", "ls /proc/self/fd | wc -l"},
                                 Clock::now() + std::chrono::seconds(5),
                                 [&](std::string_view c) { got.append(c); });
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(o.exit_code, 0);
  // 0, 1, 2 and the directory fd `ls` itself opens.
  EXPECT_EQ(std::atoi(got.c_str()), 4) << got;
}

TEST(ProcessRunnerTest, ChildGetsAnEmptySignalMaskAndDefaultSigpipe) {
  // As in the exporter: signals blocked in the calling thread, SIGPIPE
  // ignored.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  struct sigaction ign {
  }, old_pipe{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old_pipe);
  auto runner = MakeProcessRunner();
  std::string got;
  ProcessOutcome o =
      runner->Run({"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"},
                  Clock::now() + std::chrono::seconds(5),
                  [&](std::string_view c) { got.append(c); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(got.find("SigBlk:\t0000000000000000"), std::string::npos) << got;
  // SIGPIPE is signal 13: bit 12 of SigIgn.
  size_t ign_pos = got.find("SigIgn:\t");
  ASSERT_NE(ign_pos, std::string::npos);
  unsigned long long mask =
      std::stoull(got.substr(ign_pos + 8, 16), nullptr, 16);
  EXPECT_EQ(mask & (1ULL << (SIGPIPE - 1)), 0u) << got;
}

}  // namespace
}  // namespace mailhealth
