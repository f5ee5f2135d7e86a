// Where log lines come from: a file followed across rotations, or the
// systemd journal. Both feed a LineProcessor and update a shared
// FollowerState under its mutex, one block (up to 1 MiB) at a time, so the
// collector's Collect() only copies counters.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collectors/log/log_parser.h"

namespace mailhealth::log {

// Shared between the follower thread (writer) and Collect() (reader).
struct FollowerState {
  std::mutex mu;
  LogCounters counters;
  // Non-empty: the source cannot be read (permission denied, journal
  // unavailable); Collect() reports it as a collector failure.
  std::string error;
  // True while the file (or journal) is open; false while a missing file
  // is waited for.
  bool available = false;
  // Non-empty while the file is waited for because it does not exist
  // ("/var/log/mail.log does not exist"); not a failure.
  std::string missing;
};

// Reads one log file from its current offset to EOF on every Poll(),
// following rename and copytruncate rotation:
//  - rename: the old file stays open and is read to its end while the path
//    is missing or still names it; once the path names another file, the
//    old one is drained a last time (its unterminated last line, if any,
//    counts as a line) and the new one is read from its start;
//  - copytruncate: a file smaller than the read offset, or whose first
//    bytes or bytes just before the offset are no longer those read there
//    (truncated and written again past the offset between two polls), is
//    read again from its start.
// A file missing at the first Poll() is read from its start when it
// appears; otherwise `from_beginning` decides. Not thread-safe: one thread
// calls Poll().
class FileReader {
 public:
  // `retired_grace`: how long the old file of a rename rotation stays open
  // for late writes (see Retire()).
  FileReader(
      std::string path, bool from_beginning, LineProcessor* processor,
      FollowerState* state,
      std::chrono::milliseconds retired_grace = std::chrono::seconds(10));
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Reads everything available now; returns the number of bytes read.
  size_t Poll();
  const std::string& path() const { return path_; }

 private:
  bool Open();
  size_t Drain();
  void FlushCarry();
  void Close();
  void SetError(std::string e, std::string missing = "");

  std::string path_;
  bool start_at_end_;
  LineProcessor* processor_;
  FollowerState* state_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  std::vector<char> buf_;
  size_t carry_ = 0;       // bytes of an incomplete line at buf_ start
  bool skipping_ = false;  // dropping the rest of an over-long line
  // The first bytes of the file and the last bytes read (those just before
  // offset_): if the file no longer has them there, it was truncated and
  // written again past our offset.
  bool Rewritten();
  std::array<char, 64> head_{}, tail_{};
  size_t head_len_ = 0, tail_len_ = 0;

  // After a rename rotation the old file stays open for kRetiredGrace, so
  // lines a writer still appends to it (syslog before its HUP, postlogd
  // before `postfix logrotate`) are read too; a line split across the
  // switch is completed from the old file, not counted twice.
  void Retire();
  void DrainRetired(bool final);
  std::chrono::milliseconds retired_grace_;
  int retired_fd_ = -1;
  std::string retired_carry_;
  bool retired_skipping_ = false;
  std::chrono::steady_clock::time_point retired_until_{};
};

// A background thread that runs a source until Stop().
class Follower {
 public:
  virtual ~Follower() = default;
  virtual void Start() = 0;
  // Stops the thread promptly (it waits on an eventfd beside its inotify or
  // journal fd). Idempotent.
  virtual void Stop() = 0;
};

// Follows `path` with inotify on its directory, and a poll every
// `poll_interval` as fallback (file systems without inotify, writes to a
// renamed file).
std::unique_ptr<Follower> MakeFileFollower(
    std::string path, bool from_beginning, LineProcessor* processor,
    FollowerState* state,
    std::chrono::milliseconds poll_interval = std::chrono::milliseconds(1000));

struct JournalOptions {
  // Entries whose _SYSTEMD_UNIT is one of these count, and so do entries
  // whose SYSLOG_IDENTIFIER is a Postfix program (postfix/..., postfix-X/...
  // or a configured syslog name).
  std::vector<std::string> units;
  std::string directory;  // empty: the local system journal
  bool from_beginning = false;
};

std::unique_ptr<Follower> MakeJournalFollower(JournalOptions options,
                                              LineProcessor* processor,
                                              FollowerState* state);

// Whether the journal (options.directory, or the local system journal)
// holds entries the journal follower would count: a _SYSTEMD_UNIT in
// options.units or a SYSLOG_IDENTIFIER that is a Postfix program. Looks at
// the fields' unique values, not at every entry. When the journal cannot be
// opened, returns false and sets *error (cleared otherwise).
bool JournalHasPostfixEntries(const JournalOptions& options,
                              const LineProcessor& processor,
                              std::string* error);

// `mailhealth_exporter check`: the lines of the last `lookback` before
// `now`, read once from the end of the file (or the journal) instead of
// followed. Reads backwards from the end in blocks until a line older than
// now - lookback (or the start of the file), then forwards to the end,
// skipping the lines whose timestamp is older. Lines without a timestamp
// it can read count. At most `max_bytes` from the end are read. Returns
// false with *error (or *missing, when the file does not exist) when the
// source cannot be read.
struct WindowRead {
  std::string error;
  std::string missing;
  size_t bytes = 0;  // read forwards
};
WindowRead ReadFileWindow(const std::string& path, double now,
                          double lookback_seconds, LineProcessor* processor,
                          LogCounters* counters,
                          size_t max_bytes = size_t{256} << 20);
WindowRead ReadJournalWindow(const JournalOptions& options, double now,
                             double lookback_seconds, LineProcessor* processor,
                             LogCounters* counters);

// The wall-clock time (Unix seconds) of a log line's timestamp: RFC 3339
// ("2024-03-22T08:00:01.000+00:00"), "2024-03-22 08:00:01" and the BSD
// form ("Mar 22 08:00:01", local time, the year that puts it at most a day
// after `now`), after an optional "<PRI>" (and RFC 5424's version).
// nullopt when the line starts with none of them.
std::optional<double> LineTimestamp(std::string_view line, double now);

}  // namespace mailhealth::log
