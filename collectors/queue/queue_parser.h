// Stream parsers for Postfix queue listings: `postqueue -j` (one JSON object
// per line, Postfix >= 3.1) and `postqueue -p` (the classic mailq text).
//
// Both take the listing in chunks of any size (Feed) and hand every complete
// message to a QueueMessageSink as soon as it is parsed, so memory stays
// bounded by the longest line / the largest single message, never by the
// queue. Malformed lines are counted (parse_errors()) and skipped.
//
// Pure: no I/O, no clock (the text parser takes "now" to place the
// year-less arrival time). Not thread-safe; one parser per listing.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailhealth {

enum class QueueName {
  kMaildrop = 0,
  kIncoming,
  kActive,
  kDeferred,
  kHold,
  kCorrupt
};
inline constexpr size_t kQueueCount = 6;

std::string_view QueueNameLabel(QueueName q);
std::optional<QueueName> ParseQueueName(std::string_view name);
const std::array<QueueName, kQueueCount>& AllQueues();

struct QueueRecipient {
  std::string_view address;
  std::string_view delay_reason;  // empty: not tried yet
};

// One queued message. The views are valid only during OnMessage().
struct QueueMessage {
  QueueName queue = QueueName::kDeferred;
  int64_t arrival_time = 0;  // Unix seconds
  int64_t size = 0;          // bytes
  std::vector<QueueRecipient> recipients;
};

class QueueMessageSink {
 public:
  virtual ~QueueMessageSink() = default;
  virtual void OnMessage(const QueueMessage& message) = 0;
};

class QueueListingParser {
 public:
  // Lines longer than this are skipped and counted as one parse error.
  static constexpr size_t kMaxLine = 16 << 20;

  explicit QueueListingParser(QueueMessageSink* sink) : sink_(sink) {}
  virtual ~QueueListingParser() = default;

  void Feed(std::string_view chunk);
  // End of input: a last line without a newline is parsed as well.
  void Finish();

  uint64_t parse_errors() const { return parse_errors_; }
  uint64_t messages() const { return messages_; }

 protected:
  virtual void ParseLine(std::string_view line) = 0;
  virtual void End() {}
  void Emit(const QueueMessage& m) {
    ++messages_;
    sink_->OnMessage(m);
  }
  void CountError() { ++parse_errors_; }

 private:
  QueueMessageSink* sink_;
  std::string partial_;
  bool overlong_ = false;
  uint64_t parse_errors_ = 0;
  uint64_t messages_ = 0;
};

// `postqueue -j`: a scanner for its one object per line (no DOM; the
// recipients' strings are views into the line unless they had escapes).
class JsonQueueParser : public QueueListingParser {
 public:
  using QueueListingParser::QueueListingParser;

 protected:
  void ParseLine(std::string_view line) override;

 private:
  bool ParseObject(std::string_view line);
  struct Rcpt {
    std::string_view address, reason;
    std::string address_buf, reason_buf;  // for strings with escapes
    bool address_in_buf = false, reason_in_buf = false;
  };
  // Scanner: the JSON scanner of queue_parser.cc.
  template <class Scanner>
  bool ParseRecipients(Scanner& s, bool* is_array, size_t* n);
  template <class Scanner>
  bool ParseRecipient(Scanner& s, Rcpt& r);
  QueueMessage message_;
  std::vector<Rcpt> rcpt_;  // reused across lines
  std::string key_buf_, queue_buf_;
};

// The same through a DOM (nlohmann::json): the former parser, kept as the
// reference the tests and the fuzz target compare JsonQueueParser with, and
// for the before/after figure of bench_queue_parse.
class JsonDomQueueParser : public QueueListingParser {
 public:
  using QueueListingParser::QueueListingParser;

 protected:
  void ParseLine(std::string_view line) override;

 private:
  QueueMessage message_;
};

// `postqueue -p`. The text format has no queue name: `*` after the queue
// ID is active, `!` is hold, and an unmarked entry is counted as deferred
// (the listing cannot tell deferred from incoming/maildrop; in practice
// unmarked entries are deferred mail).
class TextQueueParser : public QueueListingParser {
 public:
  // `now` (Unix seconds) places the year-less "Wed Nov 25 01:52:53"
  // arrival time in local time: the latest such date not more than a day
  // in the future.
  TextQueueParser(QueueMessageSink* sink, std::time_t now)
      : QueueListingParser(sink), now_(now) {}

  bool queue_empty() const { return queue_empty_; }
  bool mail_system_down() const { return mail_system_down_; }
  // The "-- N Kbytes in M Requests." trailer, when present.
  std::optional<uint64_t> trailer_requests() const { return trailer_requests_; }

 protected:
  void ParseLine(std::string_view line) override;
  void End() override;

 private:
  bool ParseEntry(std::string_view line);
  void Flush();

  std::time_t now_;
  bool in_message_ = false;
  QueueMessage message_;
  std::vector<std::string> addresses_;
  std::vector<size_t> reason_of_;  // index into reasons_, or npos
  std::vector<std::string> reasons_;
  size_t n_addresses_ = 0;
  size_t n_reasons_ = 0;
  bool queue_empty_ = false;
  bool mail_system_down_ = false;
  std::optional<uint64_t> trailer_requests_;
};

// "Wed Nov 25 01:52:53" (local time, no year) -> Unix seconds, placed
// relative to `now`; nullopt when malformed. Exposed for tests.
std::optional<int64_t> ParseTextArrivalTime(std::string_view text,
                                            std::time_t now);

}  // namespace mailhealth
