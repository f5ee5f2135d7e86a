// The spool walk: counts and sizes of the Postfix queue directories from
// their directory entries and file metadata alone.
//
// Used by the helper mailhealth-spool-stat (collectors/queue/spool_stat/)
// and, when the exporter itself may read the spool, by the queue collector
// directly. No queue file is ever opened or read: each entry is listed
// with readdir() and looked at with statx(AT_SYMLINK_NOFOLLOW); directories
// are opened with O_DIRECTORY|O_NOFOLLOW relative to their parent, so no
// symlink is followed anywhere below the queue directory. Memory does not
// grow with the queue (one open directory stream per level, at most
// hash_queue_depth + 1 levels). A file or hash directory that vanishes
// between readdir() and statx()/openat() (the queue manager moving mail)
// is counted as `vanished`, not an error.
//
// Free of the exporter's libraries (libc only), so the helper stays small.
// Not thread-safe per result; WalkSpool itself keeps no global state.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mailhealth {

// The six queues, in the order of QueueName (queue_parser.h).
inline constexpr std::array<std::string_view, 6> kSpoolQueues = {
    "maildrop", "incoming", "active", "deferred", "hold", "corrupt"};

struct SpoolQueueCounts {
  uint64_t files = 0;
  uint64_t bytes = 0;    // sum of st_size (the queue file, envelope included)
  int64_t oldest = 0;    // Unix seconds of the oldest file; 0 when empty
  bool missing = false;  // the directory does not exist
};

struct SpoolWalkResult {
  std::array<SpoolQueueCounts, kSpoolQueues.size()> queues;
  uint64_t skipped = 0;   // entries that are not regular files (symlinks...)
  uint64_t vanished = 0;  // gone between readdir and statx/openat
  // How a file's age was taken: its birth time (statx btime) where the
  // file system reports it, else min(mtime, ctime). False when at least
  // one file had no birth time.
  bool all_btime = true;
  // The pid in QUEUE_DIR/pid/master.pid (0600 root on Debian, so the
  // helper reads it for the exporter's up/down check); -1 when unread.
  int64_t master_pid = -1;
  std::string error;  // set when WalkSpool returned false
};

struct SpoolWalkHooks {
  // Called with (directory fd, entry name) before each statx: tests use it
  // to remove the entry, as the queue manager would.
  std::function<void(int, const char*)> before_stat;
};

// Walks the queue directories below the open directory `queue_dir_fd`
// (not closed). Descends into one-character subdirectories (Postfix's
// hash directories) up to `hash_depth` levels (0-16; files at every level
// count, as during a change of hash_queue_depth). False with
// result->error when a queue directory exists but cannot be opened or
// read (e.g. "deferred: Permission denied"). `threads` > 1 shares the
// first-level hash directories out among that many threads (the statx
// calls dominate; each thread holds its own directory streams and counts);
// hooks are then called from those threads.
bool WalkSpool(int queue_dir_fd, int hash_depth, SpoolWalkResult* result,
               const SpoolWalkHooks* hooks = nullptr, int threads = 1);

// The helper's output for one walk (the format spool_stat_parser.h reads):
//   mailhealth-spool-stat 1
//   queue_directory DIR
//   queue NAME FILES BYTES OLDEST      (six lines, NAME in kSpoolQueues order)
//   skipped N
//   vanished N
//   time btime|ctime
//   master_pid PID                     (when it was read)
//   end
// Reads QUEUE_DIR/pid/master.pid below `queue_dir_fd` (no symlink
// followed, at most 32 bytes): the pid, or -1.
int64_t ReadMasterPid(int queue_dir_fd);

std::string FormatSpoolStat(const SpoolWalkResult& result,
                            std::string_view queue_directory);

}  // namespace mailhealth
