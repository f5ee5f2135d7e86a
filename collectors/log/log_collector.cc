#include "collectors/log/log_collector.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

constexpr char kLinesTotal[] = "mailhealth_log_lines_total";

struct LogConfig {
  std::string path = "/var/log/mail.log";
  bool from_beginning = false;
};

// Minimal framework version: counts complete lines appended to `path`.
// The full follower (rotation, inotify, journal, classification) is the
// log collector's own issue.
class LogCollector : public Collector {
 public:
  LogCollector(LogConfig cfg, Millis interval)
      : cfg_(std::move(cfg)), interval_(interval) {}

  CollectResult Collect(Clock::time_point) override {
    CollectResult r;
    int fd = open(cfg_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      r.status = Status::Error("cannot open " + cfg_.path + ": " +
                               std::strerror(errno));
    } else {
      struct stat st{};
      fstat(fd, &st);
      if (!started_) {
        offset_ = cfg_.from_beginning ? 0 : st.st_size;
        inode_ = st.st_ino;
        started_ = true;
      }
      if (st.st_ino != inode_ || st.st_size < offset_) {
        offset_ = 0;
        inode_ = st.st_ino;
      }
      char buf[65536];
      ssize_t n;
      while ((n = pread(fd, buf, sizeof buf, offset_)) > 0) {
        for (ssize_t i = 0; i < n; ++i) {
          if (buf[i] == '\n') ++lines_;
        }
        offset_ += n;
      }
      close(fd);
    }
    auto f = Counter(kLinesTotal, "Lines read from the mail log.");
    AddSample(f, {}, static_cast<double>(lines_));
    r.families.push_back(std::move(f));
    return r;
  }

 private:
  LogConfig cfg_;
  Millis interval_;
  bool started_ = false;
  off_t offset_ = 0;
  ino_t inode_ = 0;
  uint64_t lines_ = 0;
};

}  // namespace

CollectorInfo LogCollectorInfo() {
  CollectorInfo info;
  info.name = "log";
  info.description = "Errors, warnings, deliveries and rejects from the mail log";
  info.default_enabled = true;
  info.default_interval = Millis(5000);
  info.default_timeout = Millis(4000);
  info.factory = [](const CollectorContext& ctx, ConfigNode& s) -> std::unique_ptr<Collector> {
    LogConfig c;
    c.path = s.String("path", c.path);
    c.from_beginning =
        s.Enum("start_at", "end", {"end", "beginning"}) == "beginning";
    if (c.path.empty() || c.path[0] != '/') {
      s.Error("path", "must be an absolute path, got \"" + c.path + "\"");
      return nullptr;
    }
    return std::make_unique<LogCollector>(c, ctx.settings.interval);
  };
  return info;
}

}  // namespace mailhealth
