#include "collectors/log/log_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

namespace mailhealth::log {
namespace {

constexpr size_t kBlockBytes = 1 << 20;

double WallNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An fd closed on scope exit.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits on `fd` (may be -1) and the stop eventfd; returns false on stop.
bool Wait(int fd, int stop_fd, int timeout_ms) {
  pollfd p[2] = {{stop_fd, POLLIN, 0}, {fd, POLLIN, 0}};
  int r = ::poll(p, fd >= 0 ? 2 : 1, timeout_ms);
  if (r > 0 && (p[0].revents & POLLIN)) return false;
  return true;
}

// A follower running Run() on its own thread until Stop(), which wakes it
// through an eventfd it polls beside its inotify or journal fd. Subclasses
// call Stop() in their destructor, before their members go away.
class ThreadFollower : public Follower {
 public:
  void Start() override {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() override {
    std::lock_guard<std::mutex> l(stop_mu_);
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    ssize_t w = ::write(stop_fd(), &one, sizeof one);
    (void)w;
    thread_.join();
  }

 protected:
  int stop_fd() const { return stop_fd_.get(); }

 private:
  virtual void Run() = 0;

  UniqueFd stop_fd_{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::mutex stop_mu_;
  std::thread thread_;
};

class FileFollower : public ThreadFollower {
 public:
  FileFollower(std::string path, bool from_beginning, LineProcessor* processor,
               FollowerState* state, std::chrono::milliseconds poll_interval)
      : reader_(std::move(path), from_beginning, processor, state),
        poll_ms_(static_cast<int>(poll_interval.count())) {
    const std::string& p = reader_.path();
    size_t slash = p.rfind('/');
    dir_ = slash == 0 ? "/" : p.substr(0, slash);
    base_ = p.substr(slash + 1);
  }
  ~FileFollower() override { Stop(); }

 private:
  void Run() override {
    UniqueFd in(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    int wd = -1;
    for (;;) {
      if (in.get() >= 0 && wd < 0) {
        wd = ::inotify_add_watch(in.get(), dir_.c_str(),
                                 IN_MODIFY | IN_CREATE | IN_MOVED_TO |
                                     IN_MOVED_FROM | IN_DELETE | IN_ATTRIB |
                                     IN_CLOSE_WRITE);
      }
      reader_.Poll();
      // Sleep until an event names our file, or the poll interval passes.
      for (;;) {
        if (!Wait(wd >= 0 ? in.get() : -1, stop_fd(), poll_ms_)) return;
        if (wd < 0) break;
        bool relevant = false, timed_out = true;
        alignas(inotify_event) char buf[4096];
        for (;;) {
          ssize_t n = ::read(in.get(), buf, sizeof buf);
          if (n <= 0) break;
          timed_out = false;
          for (char* p = buf; p < buf + n;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED)) relevant = true;
            if (ev->mask & IN_IGNORED) wd = -1;  // directory gone: re-add
            if (ev->len > 0 && base_ == ev->name) relevant = true;
            p += sizeof(inotify_event) + ev->len;
          }
        }
        if (relevant || timed_out) break;
      }
    }
  }

  FileReader reader_;
  int poll_ms_;
  std::string dir_, base_;
};

struct JournalCloser {
  void operator()(sd_journal* j) const { sd_journal_close(j); }
};
using Journal = std::unique_ptr<sd_journal, JournalCloser>;

// Opens `directory`, or the local system journal when it is empty; on
// failure returns nullptr and sets *error.
Journal OpenJournal(const std::string& directory, std::string* error) {
  sd_journal* j = nullptr;
  int r = directory.empty()
              ? sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY)
              : sd_journal_open_directory(&j, directory.c_str(), 0);
  if (r < 0) {
    *error = "cannot open the journal" +
             (directory.empty() ? std::string() : " in " + directory) + ": " +
             std::strerror(-r);
    return nullptr;
  }
  error->clear();
  return Journal(j);
}

// Whether an entry with this SYSLOG_IDENTIFIER and _SYSTEMD_UNIT counts.
bool IsPostfixEntry(const LineProcessor& processor,
                    const std::set<std::string>& units, std::string_view ident,
                    std::string_view unit) {
  return processor.IsPostfixProgram(ident) ||
         (!unit.empty() && units.count(std::string(unit)) > 0);
}

// The value of field `name` of the current entry ("" when it has none).
std::string_view JournalField(sd_journal* j, const char* name) {
  const void* d = nullptr;
  size_t n = 0;
  if (sd_journal_get_data(j, name, &d, &n) < 0) return {};
  std::string_view v(static_cast<const char*>(d), n);
  size_t eq = v.find('=');
  return eq == std::string_view::npos ? std::string_view() : v.substr(eq + 1);
}

// Processes the current entry when it is Postfix's; true when it was. The
// unit is read only when the identifier does not decide.
bool ProcessJournalEntry(sd_journal* j, LineProcessor* processor,
                         const std::set<std::string>& units,
                         LogCounters* counters) {
  std::string_view ident = JournalField(j, "SYSLOG_IDENTIFIER");
  std::string_view unit = processor->IsPostfixProgram(ident) || units.empty()
                              ? std::string_view()
                              : JournalField(j, "_SYSTEMD_UNIT");
  if (!IsPostfixEntry(*processor, units, ident, unit)) return false;
  processor->ProcessEntry(ident, JournalField(j, "MESSAGE"), counters);
  return true;
}

class JournalFollower : public ThreadFollower {
 public:
  JournalFollower(JournalOptions o, LineProcessor* processor,
                  FollowerState* state)
      : o_(std::move(o)),
        units_(o_.units.begin(), o_.units.end()),
        processor_(processor),
        state_(state) {}
  ~JournalFollower() override { Stop(); }

 private:
  Journal Open() {
    std::string error;
    Journal j = OpenJournal(o_.directory, &error);
    std::lock_guard<std::mutex> l(state_->mu);
    state_->error = std::move(error);
    state_->available = j != nullptr;
    return j;
  }

  void Run() override {
    Journal j;
    while (!j) {
      j = Open();
      if (!j && !Wait(-1, stop_fd(), 1000)) return;
    }
    sd_journal_set_data_threshold(j.get(), kMaxLineBytes + 64);
    if (o_.from_beginning) {
      sd_journal_seek_head(j.get());
    } else {
      sd_journal_seek_tail(j.get());
      sd_journal_previous(j.get());  // the next entry is the first new one
    }
    for (;;) {
      ReadAvailable(j.get());
      int fd = sd_journal_get_fd(j.get());
      if (!Wait(fd, stop_fd(), 1000)) return;
      sd_journal_process(j.get());
    }
  }

  void ReadAvailable(sd_journal* j) {
    for (;;) {
      std::lock_guard<std::mutex> l(state_->mu);
      int n = 0;
      for (; n < 4096; ++n) {
        int r = sd_journal_next(j);
        if (r < 0) {
          ++state_->counters.read_errors;
          return;
        }
        if (r == 0) break;
        if (ProcessJournalEntry(j, processor_, units_, &state_->counters))
          state_->counters.last_line_timestamp = WallNow();
      }
      processor_->Flush(&state_->counters);
      if (n < 4096) return;
    }
  }

  JournalOptions o_;
  std::set<std::string> units_;
  LineProcessor* processor_;
  FollowerState* state_;
};

}  // namespace

FileReader::FileReader(std::string path, bool from_beginning,
                       LineProcessor* processor, FollowerState* state,
                       std::chrono::milliseconds retired_grace)
    : path_(std::move(path)),
      start_at_end_(!from_beginning),
      processor_(processor),
      state_(state),
      buf_(kBlockBytes + kMaxLineBytes),
      retired_grace_(retired_grace) {}

FileReader::~FileReader() {
  Close();
  if (retired_fd_ >= 0) ::close(retired_fd_);
}

void FileReader::Retire() {
  if (retired_fd_ >= 0) DrainRetired(/*final=*/true);
  retired_fd_ = fd_;
  retired_carry_.assign(buf_.data(), carry_);
  retired_skipping_ = skipping_;
  retired_until_ = std::chrono::steady_clock::now() + retired_grace_;
  fd_ = -1;
  Close();
}

void FileReader::DrainRetired(bool final) {
  char block[65536];
  for (;;) {
    ssize_t n = ::read(retired_fd_, block, sizeof block);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view in(block, static_cast<size_t>(n));
    if (retired_skipping_) {
      size_t nl = in.find('\n');
      if (nl == std::string_view::npos) continue;
      in.remove_prefix(nl + 1);
      retired_skipping_ = false;
    }
    retired_carry_.append(in);
    std::lock_guard<std::mutex> l(state_->mu);
    size_t used = processor_->ProcessBlock(retired_carry_, &state_->counters);
    if (used > 0) state_->counters.last_line_timestamp = WallNow();
    retired_carry_.erase(0, used);
    if (retired_carry_.size() > kMaxLineBytes) {
      processor_->ProcessLine(
          std::string_view(retired_carry_).substr(0, kMaxLineBytes),
          &state_->counters, true);
      retired_carry_.clear();
      retired_skipping_ = true;
    }
  }
  if (!final) return;
  if (!retired_carry_.empty() && !retired_skipping_) {
    std::lock_guard<std::mutex> l(state_->mu);
    processor_->ProcessLine(retired_carry_, &state_->counters);
    state_->counters.last_line_timestamp = WallNow();
  }
  retired_carry_.clear();
  retired_skipping_ = false;
  ::close(retired_fd_);
  retired_fd_ = -1;
}

void FileReader::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  carry_ = 0;
  skipping_ = false;
  tail_len_ = 0;
  head_len_ = 0;
}

bool FileReader::Rewritten() {
  std::array<char, 64> now{};
  auto differs = [&](const std::array<char, 64>& want, size_t len, off_t at) {
    if (len == 0 || at < 0) return false;
    ssize_t n = ::pread(fd_, now.data(), len, at);
    return n >= 0 && (static_cast<size_t>(n) != len ||
                      std::memcmp(now.data(), want.data(), len) != 0);
  };
  return differs(head_, head_len_, 0) ||
         differs(tail_, tail_len_, offset_ - static_cast<off_t>(tail_len_));
}

void FileReader::SetError(std::string e, std::string missing) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->error = std::move(e);
  state_->missing = std::move(missing);
  state_->available = false;
}

bool FileReader::Open() {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) {
      // Missing: waited for (not a failure); read from its start when it
      // appears, whatever start_at says.
      start_at_end_ = false;
      SetError("", path_ + " does not exist");
    } else {
      SetError("cannot open " + path_ + ": " + std::strerror(e));
    }
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    SetError(path_ + " is not a regular file");
    return false;
  }
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = start_at_end_ ? st.st_size : 0;
  if (offset_ > 0) {
    // Starting inside a line that is still being written: skip its rest.
    char last = '\n';
    if (::pread(fd_, &last, 1, offset_ - 1) == 1 && last != '\n')
      skipping_ = true;
  }
  start_at_end_ = false;
  if (offset_ > 0) ::lseek(fd_, offset_, SEEK_SET);
  std::lock_guard<std::mutex> l(state_->mu);
  state_->error.clear();
  state_->missing.clear();
  state_->available = true;
  return true;
}

size_t FileReader::Drain() {
  size_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd_, buf_.data() + carry_, kBlockBytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::lock_guard<std::mutex> l(state_->mu);
      ++state_->counters.read_errors;
      break;
    }
    if (n == 0) break;
    offset_ += n;
    total += static_cast<size_t>(n);
    size_t len = carry_ + static_cast<size_t>(n);
    // buf_[0, len) are the file's bytes just before offset_.
    tail_len_ = std::min(len, tail_.size());
    std::memcpy(tail_.data(), buf_.data() + len - tail_len_, tail_len_);
    size_t start = 0;
    if (skipping_) {
      const void* nl = std::memchr(buf_.data(), '\n', len);
      if (!nl) {
        carry_ = 0;
        continue;
      }
      start =
          static_cast<size_t>(static_cast<const char*>(nl) - buf_.data()) + 1;
      skipping_ = false;
    }
    std::string_view block(buf_.data() + start, len - start);
    std::lock_guard<std::mutex> l(state_->mu);
    size_t used = processor_->ProcessBlock(block, &state_->counters);
    size_t rest = block.size() - used;
    if (rest > kMaxLineBytes) {
      processor_->ProcessLine(block.substr(used, kMaxLineBytes),
                              &state_->counters, true);
      skipping_ = true;
      carry_ = 0;
    } else {
      std::memmove(buf_.data(), block.data() + used, rest);
      carry_ = rest;
    }
    if (used > 0 || skipping_) state_->counters.last_line_timestamp = WallNow();
  }
  return total;
}

void FileReader::FlushCarry() {
  if (carry_ > 0 && !skipping_) {
    std::lock_guard<std::mutex> l(state_->mu);
    processor_->ProcessLine(std::string_view(buf_.data(), carry_),
                            &state_->counters);
    state_->counters.last_line_timestamp = WallNow();
  }
  carry_ = 0;
  skipping_ = false;
}

size_t FileReader::Poll() {
  if (retired_fd_ >= 0) {
    DrainRetired(std::chrono::steady_clock::now() >= retired_until_);
  }
  if (fd_ < 0 && !Open()) return 0;
  bool rewritten = Rewritten();
  size_t total = rewritten ? 0 : Drain();
  if (head_len_ == 0 && offset_ > 0) {
    ssize_t n = ::pread(fd_, head_.data(),
                        static_cast<size_t>(std::min<off_t>(offset_, 64)), 0);
    head_len_ = n > 0 ? static_cast<size_t>(n) : 0;
  }
  struct stat st {};
  if (rewritten || (::fstat(fd_, &st) == 0 && st.st_size < offset_)) {
    // copytruncate: start over; a partial line from before is dropped.
    ::lseek(fd_, 0, SEEK_SET);
    offset_ = 0;
    carry_ = 0;
    skipping_ = false;
    tail_len_ = 0;
    head_len_ = 0;
    {
      std::lock_guard<std::mutex> l(state_->mu);
      ++state_->counters.rotations;
    }
    total += Drain();
  }
  if (::stat(path_.c_str(), &st) != 0) {
    // Renamed or deleted, nothing new yet: keep reading the old file.
    std::lock_guard<std::mutex> l(state_->mu);
    state_->available = false;
    return total;
  }
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    total += Drain();
    Retire();  // the old file stays open a while for late writes
    {
      std::lock_guard<std::mutex> l(state_->mu);
      ++state_->counters.rotations;
    }
    start_at_end_ = false;
    if (Open()) total += Drain();
  } else {
    std::lock_guard<std::mutex> l(state_->mu);
    state_->available = true;
  }
  return total;
}

std::unique_ptr<Follower> MakeFileFollower(
    std::string path, bool from_beginning, LineProcessor* processor,
    FollowerState* state, std::chrono::milliseconds poll_interval) {
  return std::make_unique<FileFollower>(std::move(path), from_beginning,
                                        processor, state, poll_interval);
}

std::unique_ptr<Follower> MakeJournalFollower(JournalOptions options,
                                              LineProcessor* processor,
                                              FollowerState* state) {
  return std::make_unique<JournalFollower>(std::move(options), processor,
                                           state);
}

bool JournalHasPostfixEntries(const JournalOptions& options,
                              const LineProcessor& processor,
                              std::string* error) {
  Journal j = OpenJournal(options.directory, error);
  if (!j) return false;
  const std::set<std::string> units(options.units.begin(), options.units.end());
  // Each field's unique values (from the journal files' field index), tested
  // the way the follower tests an entry.
  auto any = [&](const char* field, bool is_unit) {
    if (sd_journal_query_unique(j.get(), field) < 0) return false;
    const void* d = nullptr;
    size_t n = 0;
    SD_JOURNAL_FOREACH_UNIQUE(j.get(), d, n) {
      std::string_view v(static_cast<const char*>(d), n);
      size_t eq = v.find('=');
      if (eq == std::string_view::npos) continue;
      v.remove_prefix(eq + 1);
      if (is_unit ? IsPostfixEntry(processor, units, {}, v)
                  : IsPostfixEntry(processor, units, v, {}))
        return true;
    }
    return false;
  };
  return any("_SYSTEMD_UNIT", true) || any("SYSLOG_IDENTIFIER", false);
}

}  // namespace mailhealth::log

namespace mailhealth::log {
namespace {

bool Digits(std::string_view s, size_t i, size_t n) {
  if (i + n > s.size()) return false;
  for (size_t k = i; k < i + n; ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  return true;
}

int Num(std::string_view s, size_t i, size_t n) {
  int v = 0;
  for (size_t k = i; k < i + n; ++k) v = v * 10 + (s[k] - '0');
  return v;
}

// "HH:MM:SS" at i.
bool Clock(std::string_view s, size_t i, std::tm* tm) {
  if (!Digits(s, i, 2) || i + 8 > s.size() || s[i + 2] != ':' ||
      !Digits(s, i + 3, 2) || s[i + 5] != ':' || !Digits(s, i + 6, 2))
    return false;
  tm->tm_hour = Num(s, i, 2);
  tm->tm_min = Num(s, i + 3, 2);
  tm->tm_sec = Num(s, i + 6, 2);
  return true;
}

double LocalSeconds(std::tm tm) {
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

}  // namespace

std::optional<double> LineTimestamp(std::string_view s, double now) {
  size_t i = 0;
  if (!s.empty() && s[0] == '<') {
    size_t j = s.find('>');
    if (j == std::string_view::npos || j > 5) return std::nullopt;
    i = j + 1;
    if (i + 1 < s.size() && s[i] == '1' && s[i + 1] == ' ') i += 2;
  }
  std::tm tm{};
  if (Digits(s, i, 4) && i + 10 <= s.size() && s[i + 4] == '-') {
    if (!Digits(s, i + 5, 2) || s[i + 7] != '-' || !Digits(s, i + 8, 2))
      return std::nullopt;
    tm.tm_year = Num(s, i, 4) - 1900;
    tm.tm_mon = Num(s, i + 5, 2) - 1;
    tm.tm_mday = Num(s, i + 8, 2);
    size_t k = i + 10;
    if (k >= s.size() || (s[k] != 'T' && s[k] != ' ') || !Clock(s, k + 1, &tm))
      return std::nullopt;
    const bool rfc3339 = s[k] == 'T';
    k += 9;
    double frac = 0;
    if (k < s.size() && s[k] == '.') {
      double scale = 0.1;
      for (++k; k < s.size() && s[k] >= '0' && s[k] <= '9'; ++k) {
        frac += (s[k] - '0') * scale;
        scale /= 10;
      }
    }
    if (!rfc3339) return LocalSeconds(tm) + frac;
    int offset = 0;
    if (k < s.size() && (s[k] == '+' || s[k] == '-')) {
      const int sign = s[k] == '-' ? -1 : 1;
      if (!Digits(s, k + 1, 2)) return std::nullopt;
      int h = Num(s, k + 1, 2), m = 0;
      size_t mpos = k + 3 < s.size() && s[k + 3] == ':' ? k + 4 : k + 3;
      if (Digits(s, mpos, 2)) m = Num(s, mpos, 2);
      offset = sign * (h * 3600 + m * 60);
    } else if (k >= s.size() || s[k] != 'Z') {
      return LocalSeconds(tm) + frac;
    }
    return static_cast<double>(timegm(&tm)) + frac - offset;
  }
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (i + 15 > s.size()) return std::nullopt;
  int mon = -1;
  for (int m = 0; m < 12; ++m)
    if (s.compare(i, 3, kMonths[m]) == 0) mon = m;
  if (mon < 0 || s[i + 3] != ' ') return std::nullopt;
  size_t d = i + 4;
  int day;
  if (s[d] == ' ' && Digits(s, d + 1, 1)) {
    day = Num(s, d + 1, 1);
  } else if (Digits(s, d, 2)) {
    day = Num(s, d, 2);
  } else {
    return std::nullopt;
  }
  if (s[d + 2] != ' ' || !Clock(s, d + 3, &tm)) return std::nullopt;
  std::time_t n = static_cast<std::time_t>(now);
  std::tm local{};
  localtime_r(&n, &local);
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_year = local.tm_year;
  double t = LocalSeconds(tm);
  if (t > now + 86400) {
    tm.tm_year -= 1;
    t = LocalSeconds(tm);
  }
  return t;
}

namespace {

// One ReadFileWindow(): the open file, the cutoff, where its lines go.
struct Window {
  int fd;
  off_t size;
  double now;
  double cutoff;
  LineProcessor* processor;
  LogCounters* counters;
  std::vector<char> buf = std::vector<char>(kBlockBytes);
};

// Backwards from the end: the first whole line of the first block whose
// first whole line is older than the cutoff; `floor` when there is none.
off_t WindowStart(Window& w, off_t floor) {
  for (off_t pos = w.size; pos > floor;) {
    const off_t from = std::max(floor, pos - static_cast<off_t>(kBlockBytes));
    const ssize_t n =
        ::pread(w.fd, w.buf.data(), static_cast<size_t>(pos - from), from);
    if (n <= 0) break;
    std::string_view block(w.buf.data(), static_cast<size_t>(n));
    size_t first = 0;
    if (from > 0) {
      size_t nl = block.find('\n');
      if (nl == std::string_view::npos) {
        pos = from;
        continue;
      }
      first = nl + 1;
    }
    std::string_view line = block.substr(first);
    line = line.substr(0, line.find('\n'));
    auto ts = LineTimestamp(line, w.now);
    if (ts && *ts < w.cutoff) return from + static_cast<off_t>(first);
    pos = from;
  }
  return floor;
}

// A line of the window: processed unless it is older than the cutoff.
void WindowLine(const Window& w, std::string_view line) {
  auto ts = LineTimestamp(line, w.now);
  if (ts && *ts < w.cutoff) return;
  const bool cut = line.size() > kMaxLineBytes;
  w.processor->ProcessLine(cut ? line.substr(0, kMaxLineBytes) : line,
                           w.counters, cut);
}

// Forwards from `start` to the end; false (and out->error) on a read error.
bool ReadForward(Window& w, off_t start, const std::string& path,
                 WindowRead* out) {
  std::string carry;
  for (off_t pos = start; pos < w.size;) {
    const ssize_t n = ::pread(
        w.fd, w.buf.data(),
        static_cast<size_t>(std::min<off_t>(w.size - pos, kBlockBytes)), pos);
    if (n < 0) {
      ++w.counters->read_errors;
      out->error = "cannot read " + path + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    pos += n;
    out->bytes += static_cast<size_t>(n);
    std::string_view data(w.buf.data(), static_cast<size_t>(n));
    size_t b = 0;
    for (size_t nl; (nl = data.find('\n', b)) != std::string_view::npos;
         b = nl + 1) {
      if (!carry.empty()) {
        carry.append(data.substr(b, nl - b));
        WindowLine(w, carry);
        carry.clear();
      } else {
        WindowLine(w, data.substr(b, nl - b));
      }
    }
    carry.append(data.substr(b));
  }
  if (!carry.empty()) WindowLine(w, carry);
  return true;
}

}  // namespace

WindowRead ReadFileWindow(const std::string& path, double now,
                          double lookback_seconds, LineProcessor* processor,
                          LogCounters* counters, size_t max_bytes) {
  WindowRead out;
  const double cutoff = now - lookback_seconds;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    if (e == ENOENT) {
      out.missing = path + " does not exist";
    } else {
      out.error = "cannot open " + path + ": " + std::strerror(e);
    }
    return out;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    out.error = "cannot stat " + path + ": " + std::strerror(errno);
    return out;
  }
  Window w{fd.get(), st.st_size, now, cutoff, processor, counters};
  const off_t floor = w.size > static_cast<off_t>(max_bytes)
                          ? w.size - static_cast<off_t>(max_bytes)
                          : 0;
  if (!ReadForward(w, WindowStart(w, floor), path, &out)) return out;
  counters->last_line_timestamp = WallNow();
  return out;
}

WindowRead ReadJournalWindow(const JournalOptions& o, double now,
                             double lookback_seconds, LineProcessor* processor,
                             LogCounters* counters) {
  WindowRead out;
  std::string error;
  Journal j = OpenJournal(o.directory, &error);
  if (!j) {
    out.error = error.empty() ? "cannot open the journal" : error;
    return out;
  }
  sd_journal_set_data_threshold(j.get(), kMaxLineBytes + 64);
  const std::set<std::string> units(o.units.begin(), o.units.end());
  const double since = now - lookback_seconds;
  sd_journal_seek_realtime_usec(
      j.get(), since > 0 ? static_cast<uint64_t>(since * 1e6) : 0);
  for (;;) {
    int r = sd_journal_next(j.get());
    if (r < 0) {
      ++counters->read_errors;
      break;
    }
    if (r == 0) break;
    ProcessJournalEntry(j.get(), processor, units, counters);
  }
  counters->last_line_timestamp = WallNow();
  return out;
}

}  // namespace mailhealth::log
