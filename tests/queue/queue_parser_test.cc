// The postqueue -j / -p stream parsers, on every listing in
// tests/fixtures/corpus and on constructed faults (truncation, garbage,
// overlong lines).
#include "collectors/queue/queue_parser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace mailhealth {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Corpus(const std::string& name) {
  return ReadFile(std::string(MAILHEALTH_SOURCE_DIR) +
                  "/tests/fixtures/corpus/" + name);
}

// Records what the parser emits, owning copies of the views.
struct Recorded {
  QueueName queue;
  int64_t arrival;
  int64_t size;
  std::vector<std::pair<std::string, std::string>> recipients;
};

class Recorder : public QueueMessageSink {
 public:
  void OnMessage(const QueueMessage& m) override {
    Recorded r{m.queue, m.arrival_time, m.size, {}};
    for (const auto& rc : m.recipients) {
      r.recipients.emplace_back(std::string(rc.address),
                                std::string(rc.delay_reason));
    }
    messages.push_back(std::move(r));
  }
  size_t Count(QueueName q) const {
    size_t n = 0;
    for (const auto& m : messages) n += m.queue == q;
    return n;
  }
  int64_t Bytes() const {
    int64_t n = 0;
    for (const auto& m : messages) n += m.size;
    return n;
  }
  std::vector<Recorded> messages;
};

// Independent expectations for a JSON listing, by regex on the raw text.
struct JsonTruth {
  size_t lines = 0;
  std::map<std::string, size_t> per_queue;
  int64_t bytes = 0;
  size_t addresses = 0;
};

JsonTruth JsonTruthOf(const std::string& text) {
  JsonTruth t;
  std::istringstream in(text);
  std::string line;
  std::regex qn(R"re("queue_name": "([a-z]+)")re"),
      sz(R"re("message_size": (\d+))re"), addr(R"re("address": ")re");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++t.lines;
    std::smatch m;
    if (std::regex_search(line, m, qn)) ++t.per_queue[m[1]];
    if (std::regex_search(line, m, sz)) t.bytes += std::stoll(m[1]);
    t.addresses +=
        std::distance(std::sregex_iterator(line.begin(), line.end(), addr),
                      std::sregex_iterator());
  }
  return t;
}

class JsonCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(JsonCorpusTest, EveryLineIsOneMessage) {
  std::string text = Corpus(GetParam());
  JsonTruth truth = JsonTruthOf(text);
  ASSERT_GT(truth.lines, 0u);
  Recorder rec;
  JsonQueueParser p(&rec);
  p.Feed(text);
  p.Finish();
  EXPECT_EQ(p.parse_errors(), 0u);
  EXPECT_EQ(rec.messages.size(), truth.lines);
  EXPECT_EQ(rec.Bytes(), truth.bytes);
  size_t addresses = 0;
  for (const auto& m : rec.messages) addresses += m.recipients.size();
  EXPECT_EQ(addresses, truth.addresses);
  for (const auto& [name, n] : truth.per_queue) {
    EXPECT_EQ(rec.Count(*ParseQueueName(name)), n) << name;
  }
}

TEST_P(JsonCorpusTest, ChunkingDoesNotMatter) {
  std::string text = Corpus(GetParam());
  Recorder whole, bytes;
  JsonQueueParser a(&whole), b(&bytes);
  a.Feed(text);
  a.Finish();
  for (size_t i = 0; i < text.size(); i += 7)
    b.Feed(std::string_view(text).substr(i, 7));
  b.Finish();
  ASSERT_EQ(whole.messages.size(), bytes.messages.size());
  for (size_t i = 0; i < whole.messages.size(); ++i) {
    EXPECT_EQ(whole.messages[i].recipients, bytes.messages[i].recipients);
    EXPECT_EQ(whole.messages[i].arrival, bytes.messages[i].arrival);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, JsonCorpusTest,
                         ::testing::Values("postqueue/postqf-qdata.jsonl",
                                           "postqueue-j-captured.jsonl"));

// Independent expectations for a text listing: entry lines by regex.
struct TextTruth {
  size_t entries = 0, held = 0, active = 0;
  int64_t bytes = 0;
};

TextTruth TextTruthOf(const std::string& text) {
  TextTruth t;
  std::istringstream in(text);
  std::string line;
  std::regex entry(
      R"(^[0-9A-Za-z]+([*!]?)\s+(\d+)\s+\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, entry)) continue;
    ++t.entries;
    t.held += m[1] == "!";
    t.active += m[1] == "*";
    t.bytes += std::stoll(m[2]);
  }
  return t;
}

class TextCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TextCorpusTest, EveryEntryIsOneMessage) {
  std::string text = Corpus(GetParam());
  TextTruth truth = TextTruthOf(text);
  ASSERT_GT(truth.entries, 0u);
  Recorder rec;
  TextQueueParser p(&rec, std::time(nullptr));
  p.Feed(text);
  p.Finish();
  EXPECT_EQ(p.parse_errors(), 0u);
  EXPECT_EQ(rec.messages.size(), truth.entries);
  EXPECT_EQ(rec.Count(QueueName::kHold), truth.held);
  EXPECT_EQ(rec.Count(QueueName::kActive), truth.active);
  EXPECT_EQ(rec.Count(QueueName::kDeferred),
            truth.entries - truth.held - truth.active);
  EXPECT_EQ(rec.Bytes(), truth.bytes);
  for (const auto& m : rec.messages) {
    EXPECT_FALSE(m.recipients.empty());
    EXPECT_GT(m.arrival, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, TextCorpusTest,
    ::testing::Values("postqueue/datadog-integrations-core-postqueue_p.txt",
                      "postqueue/kumina-postfix_exporter-showq.txt",
                      "postqueue/netdata-postqueue.txt",
                      "postqueue/pymailq-mailq.sample.txt",
                      "postqueue-p-captured.txt"));

TEST(TextParserTest, MultiRecipientReasonsApplyToTheFollowingAddresses) {
  Recorder rec;
  TextQueueParser p(&rec, std::time(nullptr));
  p.Feed(
      "0533410DFE6     275 Wed Nov 25 01:52:55  benchuser@mail.bench.test\n"
      "(delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2599: "
      "Connection refused)\n"
      "                                         alice@example.com\n"
      "                                         bob@example.net\n"
      "                                          (Greylisted, please try again "
      "later)\n"
      "                                         carol@greylist.test\n"
      "\n");
  p.Finish();
  ASSERT_EQ(rec.messages.size(), 1u);
  const auto& r = rec.messages[0].recipients;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].second, r[1].second);
  EXPECT_EQ(r[0].second,
            "delivery temporarily suspended: connect to "
            "127.0.0.1[127.0.0.1]:2599: Connection refused");
  EXPECT_EQ(r[2],
            std::make_pair(std::string("carol@greylist.test"),
                           std::string("Greylisted, please try again later")));
}

TEST(TextParserTest, EmptyQueue) {
  Recorder rec;
  TextQueueParser p(&rec, std::time(nullptr));
  p.Feed("Mail queue is empty\n");
  p.Finish();
  EXPECT_TRUE(p.queue_empty());
  EXPECT_EQ(rec.messages.size(), 0u);
  EXPECT_EQ(p.parse_errors(), 0u);
}

TEST(TextParserTest, MailSystemDown) {
  Recorder rec;
  TextQueueParser p(&rec, std::time(nullptr));
  p.Feed("postqueue: fatal: Queue report unavailable - mail system is down\n");
  p.Finish();
  EXPECT_TRUE(p.mail_system_down());
  EXPECT_EQ(p.parse_errors(), 0u);
}

TEST(TextParserTest, SingularTrailer) {
  Recorder rec;
  TextQueueParser p(&rec, std::time(nullptr));
  p.Feed(
      "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
      "ECE1610DFE8!     443 Wed Nov 25 01:52:54  benchuser@mail.bench.test\n"
      "                                         benchuser@mail.bench.test\n\n"
      "-- 1 Kbytes in 1 Request.\n");
  p.Finish();
  EXPECT_EQ(p.trailer_requests(), std::optional<uint64_t>(1));
  ASSERT_EQ(rec.messages.size(), 1u);
  EXPECT_EQ(rec.messages[0].queue, QueueName::kHold);
}

TEST(TextParserTest, GarbageAndTruncationAreCountedAndSkipped) {
  std::string text = Corpus("postqueue-p-captured.txt");
  TextTruth truth = TextTruthOf(text);
  std::string cut = text.substr(0, text.size() / 2);
  // Cut in the middle of a line; add garbage in the middle.
  std::string garbage = "this is not a queue listing\n\x01\x02\xff\n";
  Recorder rec;
  TextQueueParser p(&rec, std::time(nullptr));
  p.Feed(garbage);
  p.Feed(cut);
  p.Finish();
  EXPECT_GE(p.parse_errors(), 2u);
  EXPECT_LE(p.parse_errors(), 3u);  // + the cut line, if it was an entry line
  EXPECT_GT(rec.messages.size(), 0u);
  EXPECT_LT(rec.messages.size(), truth.entries);
}

TEST(JsonParserTest, TruncatedLastLineIsOneError) {
  std::string text = Corpus("postqueue-j-captured.jsonl");
  JsonTruth truth = JsonTruthOf(text);
  std::string cut = text.substr(0, text.size() - 40);  // into the last object
  Recorder rec;
  JsonQueueParser p(&rec);
  p.Feed(cut);
  p.Finish();
  EXPECT_EQ(p.parse_errors(), 1u);
  EXPECT_EQ(rec.messages.size(), truth.lines - 1);
}

struct BadLine {
  const char* name;
  const char* line;
};

class JsonBadLineTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(JsonBadLineTest, CountedAndSkipped) {
  std::string good =
      R"({"queue_name": "deferred", "queue_id": "A1", "arrival_time": 1795571573, "message_size": 10, "forced_expire": false, "sender": "", "recipients": [{"address": "a@b.c", "delay_reason": "x"}]})";
  Recorder rec;
  JsonQueueParser p(&rec);
  p.Feed(good + "\n" + GetParam().line + "\n" + good + "\n");
  p.Finish();
  EXPECT_EQ(p.parse_errors(), 1u);
  EXPECT_EQ(rec.messages.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, JsonBadLineTest,
    ::testing::Values(
        BadLine{"garbage", "garbage"}, BadLine{"array", "[1,2,3]"},
        BadLine{
            "unknown_queue",
            R"({"queue_name": "nowhere", "arrival_time": 1, "message_size": 1})"},
        BadLine{"no_size", R"({"queue_name": "deferred", "arrival_time": 1})"},
        BadLine{
            "string_time",
            R"({"queue_name": "deferred", "arrival_time": "1", "message_size": 1})"},
        BadLine{"binary", "\x01\xff\xfe{"},
        // Found by fuzz_postqueue_json: out-of-range numbers must not be
        // converted (UB), they are errors.
        BadLine{
            "huge_float_time",
            R"({"queue_name": "deferred", "arrival_time": 1.8e76, "message_size": 1})"},
        BadLine{
            "huge_integer_size",
            R"({"queue_name": "deferred", "arrival_time": 1, "message_size": 18446744073709551615})"},
        BadLine{
            "negative_size",
            R"({"queue_name": "deferred", "arrival_time": 1, "message_size": -5})"}),
    [](const auto& p) { return std::string(p.param.name); });

// The scanner against the former DOM parser (nlohmann::json), line by
// line: the same messages (every field) and the same parse errors, on the
// corpus and on lines made to hit every branch of the scanner.
void ExpectSameAsDom(const std::string& text) {
  Recorder fast, dom;
  JsonQueueParser a(&fast);
  JsonDomQueueParser b(&dom);
  a.Feed(text);
  a.Finish();
  b.Feed(text);
  b.Finish();
  EXPECT_EQ(a.parse_errors(), b.parse_errors()) << text;
  ASSERT_EQ(fast.messages.size(), dom.messages.size()) << text;
  for (size_t i = 0; i < fast.messages.size(); ++i) {
    EXPECT_EQ(fast.messages[i].queue, dom.messages[i].queue) << text;
    EXPECT_EQ(fast.messages[i].arrival, dom.messages[i].arrival) << text;
    EXPECT_EQ(fast.messages[i].size, dom.messages[i].size) << text;
    EXPECT_EQ(fast.messages[i].recipients, dom.messages[i].recipients) << text;
  }
}

TEST(JsonScannerTest, SameAsTheDomParserOnTheCorpus) {
  for (const char* f :
       {"postqueue/postqf-qdata.jsonl", "postqueue-j-captured.jsonl"}) {
    ExpectSameAsDom(Corpus(f));
  }
}

TEST(JsonScannerTest, SameAsTheDomParserOnEdgeCases) {
  const std::string head =
      R"({"queue_name": "deferred", "arrival_time": 5, "message_size": 7)";
  std::vector<std::string> lines = {
      head + "}",
      head + R"(, "recipients": []})",
      head + R"(, "recipients": {}})",
      head + R"(, "recipients": [1, "x", null, [], {}]})",
      head + R"(, "recipients": [{"address": 5, "delay_reason": null}]})",
      head +
          R"(, "recipients": [{"address": "a\"b\\c\/d\u00e9\ud83d\ude00@x", "delay_reason": "tab\there\nnl"}]})",
      head + R"(, "recipients": [{"address": "a@x", "address": "b@y"}]})",
      head + R"(, "recipients": [{"address": "a@x", "address": 1}]})",
      head + R"(, "recipients": [{"address": "a@x"}], "recipients": 3})",
      head +
          R"(, "recipients": [{"address": "\u0061@x"}, {"address": "b@x", "delay_reason": "\u0041"}, {"address": "c\u00e9@x"}]})",
      head +
          R"(, "x": {"a": [1, 2, {"b": [true, false, null]}], "c": -1.5e-3}})",
      head + R"(, "x": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]})",
      head + R"(, "queue_name": "hold"})",
      head + R"(, "queue_name": 1})",
      head + R"(, "arrival_time": 1.0})",
      head + R"(, "arrival_time": -0})",
      head + R"(, "arrival_time": -1})",
      head + R"(, "arrival_time": 9223372036854775807})",
      head + R"(, "arrival_time": 9223372036854775808})",
      head + R"(, "arrival_time": 1e2})",
      head + R"(, "arrival_time": 01})",
      head + R"(, "arrival_time": 1.})",
      head + R"(, "arrival_time": .1})",
      head + R"(, "arrival_time": +1})",
      R"({"queue\u005fname": "active", "arrival_time": 1, "message_size": 1})",
      "\xEF\xBB\xBF" + head + "}",
      "  \t" + head + "}  \r",
      head + "} x",
      head + std::string("}\t\0\"queue_name\": x", 18),  // fuzz_postqueue_json
      head + std::string("}\0", 2),
      std::string("\0", 1) + head + "}",
      head + "}}",
      head + ",}",
      head + ", }",
      head,
      head + R"(, "s": "\x"})",
      head + R"(, "s": "\u12"})",
      head + R"(, "s": "\ud800"})",
      head + R"(, "s": "\udc00"})",
      head + R"(, "s": "\ud800\u0041"})",
      head + ", \"s\": \"ctl\x01\"}",
      head + ", \"s\": \"bad\xff\"}",
      head + ", \"s\": \"overlong\xc0\xaf\"}",
      head + ", \"s\": \"surrogate\xed\xa0\x80\"}",
      head + ", \"s\": \"cut\xe2\x82\"}",
      head + ", \"s\": \"ok\xe2\x82\xac\xf0\x9f\x98\x80\"}",
      head + R"(, "t": tru})",
      head + R"(, "t": nul})",
      head + R"(, "t": [1 2]})",
      head + R"(, "t": {"a" 1}})",
      head + R"(, "t": {1: 1}})",
      "{}",
      "[]",
      "\"string\"",
      "{\"queue_name\": \"deferred\", \"arrival_time\": 1, \"message_size\": "
      "1, "
      "\"recipients\": [{\"address\": \"" +
          std::string(70, 'a') + "\\u0040" + std::string(70, 'b') +
          "\"}, {\"address\": \"" + std::string(40, 'c') + "\\n\"}, " +
          "{\"address\": \"d\\n\"}, {\"address\": \"e\\n\"}, "
          "{\"address\": \"f\\n\"}]}",
  };
  for (const auto& l : lines) {
    SCOPED_TRACE(l);
    ExpectSameAsDom(l + "\n");
  }
}

TEST(JsonParserTest, NewerFieldsAreIgnored) {
  Recorder rec;
  JsonQueueParser p(&rec);
  p.Feed(
      R"({"queue_name": "deferred", "queue_id": "BBBBBBBBBBB", "arrival_time": 1700000000, "message_size": 2552, "forced_expire": false, "sender": "MAILER-DAEMON", "recipients": [{"orig_address": "", "address": "d@example.invalid", "delay_reason": "alias database unavailable"}]})");
  p.Finish();
  EXPECT_EQ(p.parse_errors(), 0u);
  ASSERT_EQ(rec.messages.size(), 1u);
  EXPECT_EQ(rec.messages[0].recipients[0].second, "alias database unavailable");
}

TEST(ParserTest, OverlongLineIsOneErrorAndMemoryIsReleased) {
  Recorder rec;
  JsonQueueParser p(&rec);
  std::string chunk(1 << 20, 'x');
  for (size_t i = 0; i < QueueListingParser::kMaxLine / chunk.size() + 2; ++i)
    p.Feed(chunk);
  p.Feed("\n");
  p.Feed(R"({"queue_name": "hold", "arrival_time": 1, "message_size": 1})"
         "\n");
  p.Finish();
  EXPECT_EQ(p.parse_errors(), 1u);
  ASSERT_EQ(rec.messages.size(), 1u);
  EXPECT_EQ(rec.messages[0].queue, QueueName::kHold);
}

class ArrivalTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz) saved_ = tz;
    had_ = tz != nullptr;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (had_) {
      setenv("TZ", saved_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  std::string saved_;
  bool had_ = false;
};

TEST_F(ArrivalTimeTest, SameYear) {
  // 2026-11-25 02:00:00 UTC
  std::time_t now = 1795572000;
  EXPECT_EQ(ParseTextArrivalTime("Wed Nov 25 01:52:53", now), 1795571573);
}

TEST_F(ArrivalTimeTest, DecemberSeenInJanuaryIsLastYear) {
  std::time_t now = 1798761600 + 3600;  // 2027-01-01 01:00:00 UTC
  EXPECT_EQ(ParseTextArrivalTime("Thu Dec 31 23:00:00", now),
            1798761600 - 3600);
}

TEST_F(ArrivalTimeTest, SpacePaddedDay) {
  std::time_t now = 1795572000;
  auto t = ParseTextArrivalTime("Thu Nov  5 00:00:00", now);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(1795572000 - *t, 20 * 86400 + 7200);
}

TEST_F(ArrivalTimeTest, Malformed) {
  EXPECT_FALSE(
      ParseTextArrivalTime("Wed Foo 25 01:52:53", 1795572000).has_value());
  EXPECT_FALSE(
      ParseTextArrivalTime("Wed Nov 25 01:52", 1795572000).has_value());
  EXPECT_FALSE(
      ParseTextArrivalTime("Wed Nov 25 25:52:53", 1795572000).has_value());
}

// The captured -j and -p listings are the same 42-message queue: the text
// parser must agree with the JSON parser on everything the text shows.
TEST_F(ArrivalTimeTest, TextAgreesWithJsonOnTheSameQueue) {
  Recorder json, text;
  JsonQueueParser jp(&json);
  jp.Feed(Corpus("postqueue-j-captured.jsonl"));
  jp.Finish();
  // The text listing was printed in UTC on the day of the capture.
  int64_t latest = 0;
  for (const auto& m : json.messages) latest = std::max(latest, m.arrival);
  TextQueueParser tp(&text, static_cast<std::time_t>(latest + 3600));
  tp.Feed(Corpus("postqueue-p-captured.txt"));
  tp.Finish();
  ASSERT_EQ(json.messages.size(), text.messages.size());
  EXPECT_EQ(tp.trailer_requests(),
            std::optional<uint64_t>(json.messages.size()));
  for (size_t i = 0; i < json.messages.size(); ++i) {
    const auto& j = json.messages[i];
    const auto& t = text.messages[i];
    EXPECT_EQ(j.queue, t.queue) << i;
    EXPECT_EQ(j.size, t.size) << i;
    EXPECT_EQ(j.arrival, t.arrival)
        << i << " (local-time arrival without a year)";
    auto jr = j.recipients, tr = t.recipients;
    std::sort(jr.begin(), jr.end());
    std::sort(tr.begin(), tr.end());
    EXPECT_EQ(jr, tr) << i;
  }
}

}  // namespace
}  // namespace mailhealth
