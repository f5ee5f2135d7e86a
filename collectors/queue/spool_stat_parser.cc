#include "collectors/queue/spool_stat_parser.h"

#include <charconv>
#include <limits>
#include <vector>

namespace mailhealth {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Plain decimal digits only (no sign, no spaces), within int64_t.
bool Number(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() &&
         *out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

SpoolStatReport Failed(std::string why) {
  SpoolStatReport r;
  r.error = std::move(why);
  return r;
}

using Seen = std::array<bool, kSpoolQueues.size()>;

// "queue NAME FILES BYTES OLDEST" into R; an error text, or "".
std::string ParseQueueLine(const std::vector<std::string_view>& f, Seen* seen,
                           SpoolStatReport* r) {
  if (f.size() != 5) return "queue needs 4 fields";
  size_t idx = kSpoolQueues.size();
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    if (kSpoolQueues[i] == f[1]) idx = i;
  }
  if (idx == kSpoolQueues.size()) return "unknown queue";
  if ((*seen)[idx]) return "queue listed twice";
  (*seen)[idx] = true;
  uint64_t files = 0, bytes = 0, oldest = 0;
  if (!Number(f[2], &files) || !Number(f[3], &bytes) ||
      !Number(f[4], &oldest)) {
    return "not a count";
  }
  SpoolQueueCounts& q = r->walk.queues[idx];
  q.files = files;
  q.bytes = bytes;
  q.oldest = static_cast<int64_t>(oldest);
  return "";
}

// Any line after the version line, its fields F, into R (END set by the
// "end" line); an error text, or "".
std::string ParseBodyLine(const std::vector<std::string_view>& f, Seen* seen,
                          bool* end, SpoolStatReport* r) {
  if (f[0] == "queue") return ParseQueueLine(f, seen, r);
  if (f[0] == "skipped" || f[0] == "vanished") {
    uint64_t n = 0;
    if (f.size() != 2 || !Number(f[1], &n)) return "not a count";
    (f[0] == "skipped" ? r->walk.skipped : r->walk.vanished) = n;
  } else if (f[0] == "time") {
    if (f.size() != 2 || (f[1] != "btime" && f[1] != "ctime")) {
      return "time must be btime or ctime";
    }
    r->walk.all_btime = f[1] == "btime";
  } else if (f[0] == "master_pid") {
    uint64_t pid = 0;
    if (f.size() != 2 || !Number(f[1], &pid)) return "not a pid";
    r->walk.master_pid = static_cast<int64_t>(pid);
  } else if (f[0] == "queue_directory") {
    if (f.size() != 2 || f[1].front() != '/') {
      return "queue_directory must be one absolute path";
    }
    r->queue_directory = std::string(f[1]);
  } else if (f[0] == "end" && f.size() == 1) {
    *end = true;
  } else {
    ++r->parse_errors;  // a line kind of a newer helper
  }
  return "";
}

}  // namespace

SpoolStatReport ParseSpoolStat(std::string_view text) {
  SpoolStatReport r;
  Seen seen{};
  bool version = false, end = false;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return Failed("output ends without a newline (cut short?)");
    }
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (end) return Failed("output continues after \"end\"");
    std::vector<std::string_view> f = Fields(line);
    if (line_no == 1) {
      if (f.size() != 2 || f[0] != "mailhealth-spool-stat" || f[1] != "1") {
        return Failed("not the output of mailhealth-spool-stat version 1");
      }
      version = true;
      continue;
    }
    if (f.empty()) {
      ++r.parse_errors;
      continue;
    }
    std::string error = ParseBodyLine(f, &seen, &end, &r);
    if (!error.empty()) {
      return Failed("line " + std::to_string(line_no) + ": " + error);
    }
  }
  if (!version) return Failed("empty output");
  if (!end) return Failed("output cut short (no \"end\" line)");
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    if (!seen[i]) {
      return Failed("queue " + std::string(kSpoolQueues[i]) + " missing");
    }
  }
  r.ok = true;
  return r;
}

}  // namespace mailhealth
