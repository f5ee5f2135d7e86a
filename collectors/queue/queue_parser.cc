#include "collectors/queue/queue_parser.h"

#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "exporter/strings.h"

namespace mailhealth {
namespace {

constexpr std::array<std::string_view, kQueueCount> kQueueLabels = {
    "maildrop", "incoming", "active", "deferred", "hold", "corrupt"};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view QueueNameLabel(QueueName q) {
  return kQueueLabels[static_cast<size_t>(q)];
}

std::optional<QueueName> ParseQueueName(std::string_view name) {
  for (size_t i = 0; i < kQueueCount; ++i) {
    if (kQueueLabels[i] == name) return static_cast<QueueName>(i);
  }
  return std::nullopt;
}

const std::array<QueueName, kQueueCount>& AllQueues() {
  static const std::array<QueueName, kQueueCount> kAll = {
      QueueName::kMaildrop, QueueName::kIncoming, QueueName::kActive,
      QueueName::kDeferred, QueueName::kHold,     QueueName::kCorrupt};
  return kAll;
}

// ---------------------------------------------------------------------------
// Line splitting

void QueueListingParser::Feed(std::string_view chunk) {
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    std::string_view piece =
        nl == std::string_view::npos ? chunk : chunk.substr(0, nl);
    if (!overlong_) {
      if (partial_.size() + piece.size() > kMaxLine) {
        overlong_ = true;
        partial_.clear();
        partial_.shrink_to_fit();
      } else if (nl != std::string_view::npos && partial_.empty()) {
        ParseLine(piece);  // the common case: no copy
      } else {
        partial_.append(piece);
      }
    }
    if (nl == std::string_view::npos) return;
    if (overlong_) {
      CountError();
      overlong_ = false;
    } else if (!partial_.empty()) {
      ParseLine(partial_);
      partial_.clear();
    }
    chunk.remove_prefix(nl + 1);
  }
}

void QueueListingParser::Finish() {
  if (overlong_) {
    CountError();
  } else if (!partial_.empty()) {
    ParseLine(partial_);
  }
  overlong_ = false;
  partial_.clear();
  End();
}

// ---------------------------------------------------------------------------
// postqueue -j

void JsonQueueParser::ParseLine(std::string_view line) {
  if (Trim(line).empty()) return;
  nlohmann::json j =
      nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    CountError();
    return;
  }
  auto qn = j.find("queue_name");
  auto at = j.find("arrival_time");
  auto sz = j.find("message_size");
  auto rc = j.find("recipients");
  // Integers only, in range: a float such as 1.8e76 would overflow the
  // conversion to int64_t (undefined behaviour, found by fuzz_postqueue_json).
  auto is_count = [](const nlohmann::json& v) {
    if (v.is_number_unsigned()) {
      return v.get<uint64_t>() <=
             static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    }
    return v.is_number_integer() && v.get<int64_t>() >= 0;
  };
  if (qn == j.end() || !qn->is_string() || at == j.end() || !is_count(*at) ||
      sz == j.end() || !is_count(*sz)) {
    CountError();
    return;
  }
  auto queue = ParseQueueName(qn->get_ref<const std::string&>());
  if (!queue) {
    CountError();
    return;
  }
  message_.queue = *queue;
  message_.arrival_time = at->get<int64_t>();
  message_.size = sz->get<int64_t>();
  message_.recipients.clear();
  if (rc != j.end() && rc->is_array()) {
    for (const auto& r : *rc) {
      if (!r.is_object()) continue;
      QueueRecipient qr;
      auto a = r.find("address");
      if (a != r.end() && a->is_string())
        qr.address = a->get_ref<const std::string&>();
      auto d = r.find("delay_reason");
      if (d != r.end() && d->is_string()) {
        qr.delay_reason = d->get_ref<const std::string&>();
      }
      message_.recipients.push_back(qr);
    }
  }
  Emit(message_);
}

// ---------------------------------------------------------------------------
// postqueue -p

std::optional<int64_t> ParseTextArrivalTime(std::string_view t,
                                            std::time_t now) {
  // "Wed Nov 25 01:52:53" / "Mon Jul  3 16:16:18"
  static constexpr std::string_view kMonths =
      "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (t.size() != 19 || t[3] != ' ' || t[7] != ' ' || t[10] != ' ' ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  size_t mpos = kMonths.find(t.substr(4, 3));
  if (mpos == std::string_view::npos || mpos % 3 != 0) return std::nullopt;
  std::string_view day = t.substr(8, 2);
  if (day[0] == ' ') day.remove_prefix(1);
  int mday = 0, hour = 0, min = 0, sec = 0;
  if (!ParseNumber(day, mday) || !ParseNumber(t.substr(11, 2), hour) ||
      !ParseNumber(t.substr(14, 2), min) ||
      !ParseNumber(t.substr(17, 2), sec) || mday < 1 || mday > 31 ||
      hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  struct tm now_tm {};
  localtime_r(&now, &now_tm);
  for (int back = 0; back < 2; ++back) {
    struct tm tm {};
    tm.tm_year = now_tm.tm_year - back;
    tm.tm_mon = static_cast<int>(mpos / 3);
    tm.tm_mday = mday;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    std::time_t when = mktime(&tm);
    if (when == static_cast<std::time_t>(-1)) return std::nullopt;
    if (when <= now + 86400 || back == 1) return static_cast<int64_t>(when);
  }
  return std::nullopt;
}

bool TextQueueParser::ParseEntry(std::string_view line) {
  // "84C9110D6D6    2825 Wed Nov 25 01:52:53  sender@example.com"
  size_t i = 0;
  while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i])))
    ++i;
  if (i == 0) return false;
  QueueName queue = QueueName::kDeferred;
  if (i < line.size() && line[i] == '*') {
    queue = QueueName::kActive;
    ++i;
  } else if (i < line.size() && line[i] == '!') {
    queue = QueueName::kHold;
    ++i;
  }
  if (i >= line.size() || !IsSpace(line[i])) return false;
  while (i < line.size() && IsSpace(line[i])) ++i;
  size_t size_start = i;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])))
    ++i;
  int64_t size = 0;
  if (!ParseNumber(line.substr(size_start, i - size_start), size)) return false;
  if (i >= line.size() || !IsSpace(line[i])) return false;
  while (i < line.size() && IsSpace(line[i])) ++i;
  if (i + 19 > line.size()) return false;
  auto when = ParseTextArrivalTime(line.substr(i, 19), now_);
  if (!when) return false;
  Flush();
  in_message_ = true;
  message_.queue = queue;
  message_.size = size;
  message_.arrival_time = *when;
  n_addresses_ = 0;
  n_reasons_ = 0;
  return true;
}

void TextQueueParser::Flush() {
  if (!in_message_) return;
  in_message_ = false;
  message_.recipients.clear();
  for (size_t k = 0; k < n_addresses_; ++k) {
    QueueRecipient r;
    r.address = addresses_[k];
    if (reason_of_[k] != std::string::npos)
      r.delay_reason = reasons_[reason_of_[k]];
    message_.recipients.push_back(r);
  }
  Emit(message_);
}

void TextQueueParser::ParseLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view t = Trim(line);
  if (t.empty()) {
    Flush();
    return;
  }
  if (!IsSpace(line[0]) && line[0] != '(') {
    if (line[0] == '-') {
      if (StartsWith(line, "-- ") && ContainsI(line, "kbytes in")) {
        // "-- 450 Kbytes in 42 Requests."
        Flush();
        size_t in = line.rfind(" in ");
        std::string_view rest = line.substr(in + 4);
        size_t sp = rest.find(' ');
        uint64_t n = 0;
        if (sp != std::string_view::npos &&
            ParseNumber(rest.substr(0, sp), n)) {
          trailer_requests_ = n;
        } else {
          CountError();
        }
        return;
      }
      if (ContainsI(line, "queue id")) return;  // the header
      CountError();
      return;
    }
    if (ContainsI(line, "mail queue is empty")) {
      queue_empty_ = true;
      return;
    }
    if (ContainsI(line, "mail system is down")) {
      mail_system_down_ = true;
      return;
    }
    if (!ParseEntry(line)) CountError();
    return;
  }
  if (!in_message_) {
    CountError();
    return;
  }
  if (t.front() == '(' && t.back() == ')') {
    t.remove_prefix(1);
    t.remove_suffix(1);
    if (n_reasons_ == reasons_.size()) reasons_.emplace_back();
    reasons_[n_reasons_].assign(t);
    ++n_reasons_;
    return;
  }
  if (t.find(' ') != std::string_view::npos) {
    CountError();
    return;
  }
  if (n_addresses_ == addresses_.size()) {
    addresses_.emplace_back();
    reason_of_.push_back(std::string::npos);
  }
  addresses_[n_addresses_].assign(t);
  reason_of_[n_addresses_] =
      n_reasons_ == 0 ? std::string::npos : n_reasons_ - 1;
  ++n_addresses_;
}

void TextQueueParser::End() { Flush(); }

}  // namespace mailhealth
