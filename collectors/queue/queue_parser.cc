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
//
// A scanner for the one shape postqueue -j prints (an object per line),
// instead of a DOM (nlohmann::json, about 5 us per message here): it reads
// the three scalars and the recipients' two strings, skips every other
// value without building it, and decodes a string only when it has escapes
// (otherwise the view points into the line). It accepts exactly the lines
// the DOM parse accepted (RFC 8259 syntax, valid UTF-8, no control
// characters in strings, integers only for the counts, last duplicate key
// wins, nesting of any depth); JsonDomQueueParser keeps the DOM version, and
// the tests and fuzz_postqueue_json compare the two.

namespace {

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view s)
      : p_(s.data()), end_(s.data() + s.size()) {}

  void Ws() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
      ++p_;
    }
  }
  // After the top-level value: only whitespace, up to the end or a NUL
  // byte (the DOM parse takes a NUL as the end of its input and ignores
  // what follows; found by the differential fuzz_postqueue_json).
  bool AtEnd() {
    Ws();
    return p_ == end_ || *p_ == '\0';
  }
  bool Peek(char c) {
    Ws();
    return p_ < end_ && *p_ == c;
  }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++p_;
    return true;
  }

  // A string: a view into the input when it has no escape, else decoded
  // into *buf (and the view points there).
  bool String(std::string_view* out, std::string* buf) {
    if (!Eat('"')) return false;
    const char* start = p_;
    while (p_ < end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') break;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!Utf8()) return false;
      } else {
        ++p_;
      }
    }
    if (p_ >= end_) return false;
    // Escapes: decode from the start.
    buf->assign(start, static_cast<size_t>(p_ - start));
    while (p_ < end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        *out = *buf;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const char* b = p_;
        if (!Utf8()) return false;
        buf->append(b, static_cast<size_t>(p_ - b));
        continue;
      }
      if (c != '\\') {
        buf->push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
      if (!Escape(buf)) return false;
    }
    return false;
  }

  // After a backslash of a string: decodes one escape into *buf (a
  // surrogate pair as one code point).
  bool Escape(std::string* buf) {
    if (++p_ >= end_) return false;
    char e = *p_++;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        buf->push_back(e);
        break;
      case 'b':
        buf->push_back('\b');
        break;
      case 'f':
        buf->push_back('\f');
        break;
      case 'n':
        buf->push_back('\n');
        break;
      case 'r':
        buf->push_back('\r');
        break;
      case 't':
        buf->push_back('\t');
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!Hex4(&cp)) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = 0;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
          p_ += 2;
          if (!Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        }
        AppendUtf8(cp, buf);
        break;
      }
      default:
        return false;
    }
    return true;
  }

  // A number. *is_count: a JSON integer in [0, INT64_MAX] (as the DOM
  // parse reads it: "-0" is 0, a fraction or exponent makes it a float).
  bool Number(int64_t* value, bool* is_count) {
    Ws();
    const char* start = p_;
    bool neg = false;
    if (p_ < end_ && *p_ == '-') {
      neg = true;
      ++p_;
    }
    if (p_ >= end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    const char* int_end = p_;
    bool is_float = false;
    if (p_ < end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    *is_count = false;
    if (is_float) return true;
    const char* digits = start + (neg ? 1 : 0);
    uint64_t v = 0;
    auto [q, ec] = std::from_chars(digits, int_end, v);
    if (ec != std::errc() || q != int_end) return true;  // overflow: a float
    if (neg) {
      *is_count = v == 0;
      *value = 0;
      return true;
    }
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return true;
    }
    *is_count = true;
    *value = static_cast<int64_t>(v);
    return true;
  }

  // Any value, not kept. Iterative (nesting of any depth, as the DOM
  // parse takes it, without recursion).
  bool Skip() {
    stack_.clear();
    while (true) {
      Ws();
      if (p_ >= end_) return false;
      bool closed = false;  // the value just read is complete
      char c = *p_;
      if (c == '{') {
        ++p_;
        if (Eat('}')) {
          closed = true;
        } else {
          stack_.push_back('{');
          std::string_view k;
          if (!String(&k, &skip_buf_) || !Eat(':')) return false;
        }
      } else if (c == '[') {
        ++p_;
        if (Eat(']')) {
          closed = true;
        } else {
          stack_.push_back('[');
        }
      } else {
        if (!Scalar()) return false;
        closed = true;
      }
      if (!closed) continue;
      // After a complete value: close containers or go on to the next.
      while (true) {
        if (stack_.empty()) return true;
        if (Eat(',')) {
          if (stack_.back() == '{') {
            std::string_view k;
            if (!String(&k, &skip_buf_) || !Eat(':')) return false;
          }
          break;
        }
        if (!Eat(stack_.back() == '{' ? '}' : ']')) return false;
        stack_.pop_back();
      }
    }
  }

  char Next() {
    Ws();
    return p_ < end_ ? *p_ : '\0';
  }

 private:
  bool Scalar() {
    switch (*p_) {
      case '"': {
        std::string_view v;
        return String(&v, &skip_buf_);
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default: {
        int64_t v;
        bool c;
        return Number(&v, &c);
      }
    }
  }

  bool Literal(std::string_view lit) {
    if (static_cast<size_t>(end_ - p_) < lit.size() ||
        std::string_view(p_, lit.size()) != lit) {
      return false;
    }
    p_ += lit.size();
    return true;
  }
  bool Hex4(uint32_t* out) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }
  // One UTF-8 sequence at p_ (RFC 3629: no overlongs, no surrogates,
  // nothing above U+10FFFF).
  bool Utf8() {
    auto byte = [&](ptrdiff_t i) { return static_cast<unsigned char>(p_[i]); };
    unsigned char c = byte(0);
    ptrdiff_t left = end_ - p_;
    auto cont = [&](ptrdiff_t i) {
      return i < left && (byte(i) & 0xC0) == 0x80;
    };
    if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(1)) return false;
      p_ += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return false;
      unsigned char c1 = byte(1);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) return false;
      p_ += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return false;
      unsigned char c1 = byte(1);
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) return false;
      p_ += 4;
    } else {
      return false;
    }
    return true;
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  const char* p_;
  const char* end_;
  std::string skip_buf_;
  std::vector<char> stack_;
};

}  // namespace

// One recipient object, after its '{' (the scanner is the JsonScanner
// above): its address and delay_reason, views into the line or, for
// strings with escapes, into the recipient's buffers.
template <class Scanner>
bool JsonQueueParser::ParseRecipient(Scanner& s, Rcpt& r) {
  r.address = {};
  r.reason = {};
  r.address_in_buf = r.reason_in_buf = false;
  if (s.Eat('}')) return true;
  do {
    std::string_view k;
    if (!s.String(&k, &key_buf_) || !s.Eat(':')) return false;
    bool is_addr = k == "address";
    if ((is_addr || k == "delay_reason") && s.Next() == '"') {
      std::string_view v;
      if (!s.String(&v, is_addr ? &r.address_buf : &r.reason_buf)) return false;
      // A view into the line, or into the buffer (resolved at the
      // end: rcpt_ may still grow and move the buffers).
      bool in_buf =
          v.data() == (is_addr ? r.address_buf.data() : r.reason_buf.data());
      (is_addr ? r.address : r.reason) = in_buf ? "" : v;
      (is_addr ? r.address_in_buf : r.reason_in_buf) = in_buf;
    } else {
      if (!s.Skip()) return false;
      if (is_addr) {
        r.address = {};
        r.address_in_buf = false;
      } else if (k == "delay_reason") {
        r.reason = {};
        r.reason_in_buf = false;
      }
    }
  } while (s.Eat(','));
  return s.Eat('}');
}

// The recipients array, after its key (a later duplicate replaces an
// earlier one): *n of rcpt_ filled; a value that is not an array is
// skipped and counts as none (*is_array false).
template <class Scanner>
bool JsonQueueParser::ParseRecipients(Scanner& s, bool* is_array, size_t* n) {
  *n = 0;
  *is_array = false;
  if (s.Next() != '[') return s.Skip();
  *is_array = true;
  s.Eat('[');
  if (s.Eat(']')) return true;
  do {
    if (s.Next() != '{') {
      if (!s.Skip()) return false;
      continue;
    }
    s.Eat('{');
    if (*n == rcpt_.size()) rcpt_.emplace_back();
    if (!ParseRecipient(s, rcpt_[*n])) return false;
    ++*n;
  } while (s.Eat(','));
  return s.Eat(']');
}

bool JsonQueueParser::ParseObject(std::string_view line) {
  // The DOM parse skips a UTF-8 byte order mark at the start of its input.
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  JsonScanner s(line);
  if (!s.Eat('{')) return false;
  bool have_queue = false, have_time = false, have_size = false;
  bool queue_ok = false, time_ok = false, size_ok = false;
  bool rcpt_array = false;
  size_t n_rcpt = 0;
  std::string_view queue_name;
  int64_t arrival = 0, size = 0;
  if (!s.Eat('}')) {
    do {
      std::string_view key;
      if (!s.String(&key, &key_buf_) || !s.Eat(':')) return false;
      if (key == "queue_name") {
        have_queue = true;
        if (s.Next() == '"') {
          if (!s.String(&queue_name, &queue_buf_)) return false;
          queue_ok = true;
        } else {
          if (!s.Skip()) return false;
          queue_ok = false;
        }
      } else if (key == "arrival_time" || key == "message_size") {
        bool is_time = key == "arrival_time";
        (is_time ? have_time : have_size) = true;
        bool ok = false;
        char c = s.Next();
        if (c == '-' || (c >= '0' && c <= '9')) {
          int64_t v = 0;
          if (!s.Number(&v, &ok)) return false;
          (is_time ? arrival : size) = v;
        } else if (!s.Skip()) {
          return false;
        }
        (is_time ? time_ok : size_ok) = ok;
      } else if (key == "recipients") {
        if (!ParseRecipients(s, &rcpt_array, &n_rcpt)) return false;
      } else if (!s.Skip()) {
        return false;
      }
    } while (s.Eat(','));
    if (!s.Eat('}')) return false;
  }
  if (!s.AtEnd()) return false;
  // Syntactically an object: from here on a failed check is still a
  // parse error, but of the content.
  if (!have_queue || !queue_ok || !have_time || !time_ok || !have_size ||
      !size_ok) {
    return false;
  }
  auto queue = ParseQueueName(queue_name);
  if (!queue) return false;
  message_.queue = *queue;
  message_.arrival_time = arrival;
  message_.size = size;
  message_.recipients.clear();
  if (rcpt_array) {
    for (size_t i = 0; i < n_rcpt; ++i) {
      const Rcpt& r = rcpt_[i];
      message_.recipients.push_back(
          {r.address_in_buf ? std::string_view(r.address_buf) : r.address,
           r.reason_in_buf ? std::string_view(r.reason_buf) : r.reason});
    }
  }
  Emit(message_);
  return true;
}

void JsonQueueParser::ParseLine(std::string_view line) {
  if (Trim(line).empty()) return;
  if (!ParseObject(line)) CountError();
}

void JsonDomQueueParser::ParseLine(std::string_view line) {
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
