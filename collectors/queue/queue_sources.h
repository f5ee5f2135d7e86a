// How the queue collector reads one Postfix instance's queue: postqueue
// (PostqueueReader, run on a worker thread by DetailWorker for method
// spool), the spool walk (SpoolWalker: the helper, its systemd socket, or
// directly), and whether the master runs. Internal to the queue collector
// (queue_collector.cc); every child runs through the ProcessRunner.
#pragma once

#include <condition_variable>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/queue/deferral_reason.h"
#include "collectors/queue/process_runner.h"
#include "collectors/queue/queue_config.h"
#include "collectors/queue/queue_stats.h"
#include "collectors/queue/spool_walk.h"
#include "exporter/status.h"

namespace mailhealth {

enum class Master { kAlive, kGone, kUnknown };

std::string_view MasterName(Master m);

// Is the Postfix master running? Its pid file (QUEUE_DIR/pid/master.pid)
// must name a live process, and when /proc shows it, that process must be
// `master` (a stale pid file after a crash can name an unrelated process).
// Debian's master.pid is mode 0600 root: an exporter running as its own
// user cannot read it (kUnknown), and then a postqueue that answers is the
// evidence (showq is spawned by the master, so without a master postqueue
// says "mail system is down").
Master CheckMaster(const std::string& queue_directory);
// The pid read from master.pid (by us or by the helper): a live `master`?
Master CheckMasterPid(long pid);

// The corrupt queue is not listed by postqueue (showq skips it): count its
// files directly. It is mode 0700 postfix; without access it reads as 0.
void ScanCorrupt(const std::string& queue_directory, QueueStats& stats,
                 bool* unreadable);

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
  PostqueueReader(const QueueConfig& cfg,
                  std::shared_ptr<ProcessRunner> runner);

  PostqueueRun Read(Clock::time_point deadline, std::time_t now);

 private:
  // `postconf local_transport virtual_transport mailbox_transport
  // mailbox_command`, each run (a reload may change them). On failure the
  // last endpoints stay; not a collector failure (warned once).
  //
  // Skipped while main.cf is unchanged (same inode, size, mtime and ctime
  // as at the last successful read): postconf takes ~10 ms a run, a
  // noticeable share of a postqueue run on a small queue, and what it
  // reads comes from main.cf alone.
  void ReadLocalDelivery(Clock::time_point deadline);

  PostqueueRun RunPostqueue(Clock::time_point deadline, std::time_t now);

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
               std::function<std::time_t()> wall_clock);

  bool running() const;

  // Starts a run unless one is under way.
  void Start(Millis budget);

  // Waits until the running run is done or `until`; takes its result.
  std::optional<Done> Take(Clock::time_point until);

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

// What one spool walk gave.
struct Walk {
  bool ok = false;
  std::string error;
  SpoolWalkResult result;
  uint64_t parse_errors = 0;  // of the helper's output
};

class SpoolWalker {
 public:
  SpoolWalker(const QueueConfig& cfg, std::shared_ptr<ProcessRunner> runner);

  // The helper behind systemd's socket (mailhealth-spool-stat.socket): one
  // connection, one listing, read to EOF by the deadline. The helper there
  // walks Postfix's queue_directory, which must be ours.
  Walk Socket(Clock::time_point deadline);

  Walk Direct();

  Walk Helper(Clock::time_point deadline);

 private:
  QueueConfig cfg_;
  std::shared_ptr<ProcessRunner> runner_;
  int hash_depth_ = 16;  // direct walk: every one-character level
};

}  // namespace mailhealth
