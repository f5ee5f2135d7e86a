// The log collector through the framework: config validation (file:line
// errors), the exported families (every fixed label value from the first
// run), and Stop().
#include "collectors/log/log_collector.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "daemon/config.h"
#include "exporter/logging.h"
#include "tests/log/log_test_util.h"

namespace mailhealth {
namespace {

CollectorRegistry LogOnly() {
  CollectorRegistry r;
  r.Register(LogCollectorInfo());
  return r;
}

std::string LoadError(const std::string& yaml) {
  auto r = LoadConfigFromString(LogOnly(), yaml, "x.yml", {});
  return r.ok() ? "" : r.status().message();
}

std::shared_ptr<Collector> Build(const std::string& yaml) {
  auto r = LoadConfigFromString(LogOnly(), yaml, "x.yml", {});
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok() || r->collectors.empty()) return nullptr;
  return r->collectors[0].collector;
}

struct ErrorCase {
  std::string yaml;
  std::string error;  // a substring of the load error
};

class LogConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LogConfigErrorTest, Reports) {
  EXPECT_NE(LoadError(GetParam().yaml).find(GetParam().error),
            std::string::npos)
      << LoadError(GetParam().yaml);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LogConfigErrorTest,
    ::testing::Values(
        ErrorCase{"collectors:\n  log:\n    rules:\n      - name: a\n        "
                  "regex: 'a(b'\n",
                  "x.yml:5: collectors.log.rules[0].regex: invalid regular "
                  "expression: missing ): a(b"},
        ErrorCase{
            "collectors:\n  log:\n    rules:\n      - {name: a, regex: x}\n    "
            "  - {name: a, regex: y}\n",
            "x.yml:5: collectors.log.rules[1].name: duplicate rule name \"a\""},
        ErrorCase{"collectors:\n  log:\n    rules:\n      - {name: 'a b', "
                  "regex: x}\n",
                  "collectors.log.rules[0].name: must be 1-64 characters"},
        ErrorCase{"collectors:\n  log:\n    rules:\n      - {name: a}\n",
                  "collectors.log.rules[0].regex: missing regular expression"},
        ErrorCase{"collectors:\n  log:\n    rules:\n      - {name: a, regex: "
                  "x, proc: smtpd}\n",
                  "collectors.log.rules[0]: unknown key \"proc\""},
        ErrorCase{"collectors:\n  log:\n    path: mail.log\n",
                  "x.yml:3: collectors.log.path: must be an absolute path"},
        ErrorCase{"collectors:\n  log:\n    source: syslog\n",
                  "collectors.log.source"},
        ErrorCase{"collectors:\n  log:\n    source: bogus\n",
                  "x.yml:3: collectors.log.source: invalid value \"bogus\" "
                  "(one of: auto, file, journal)"},
        ErrorCase{"collectors:\n  log:\n    start_at: middle\n",
                  "collectors.log.start_at"},
        ErrorCase{"collectors:\n  log:\n    journal_unit: a.service\n    "
                  "journal_units: [b.service]\n",
                  "give journal_unit or journal_units, not both"}));

TEST(LogConfigTest, RuleCountIsCapped) {
  std::string yaml = "collectors:\n  log:\n    rules:\n";
  for (int i = 0; i < 101; ++i)
    yaml += "      - {name: r" + std::to_string(i) + ", regex: x}\n";
  EXPECT_NE(
      LoadError(yaml).find("collectors.log.rules: at most 100 rules, got 101"),
      std::string::npos)
      << LoadError(yaml);
}

TEST(LogConfigTest, ShippedExampleSectionLoads) {
  std::ifstream f(std::string(MAILHEALTH_SOURCE_DIR) +
                  "/deploy/mailhealth.yml");
  std::string all((std::istreambuf_iterator<char>(f)),
                  std::istreambuf_iterator<char>());
  // Only the log collector is registered here: keep its section.
  size_t b = all.find("\n  log:\n");
  ASSERT_NE(b, std::string::npos);
  size_t e = all.find("\n  # ---", b + 1);
  std::string yaml =
      "collectors:" +
      all.substr(b, e == std::string::npos ? std::string::npos : e - b) + "\n";
  EXPECT_EQ(LoadError(yaml), "") << yaml;
}

const prometheus::MetricFamily* Find(const CollectResult& r,
                                     const std::string& name) {
  for (const auto& f : r.families)
    if (f.name == name) return &f;
  return nullptr;
}

class LogCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = log::TempDir();
    path_ = dir_ + "/mail.log";
  }
  void TearDown() override {
    (void)std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string dir_, path_;
};

TEST_F(LogCollectorTest, ExportsEveryLabelValueFromTheFirstRun) {
  auto c = Build("collectors:\n  log:\n    path: " + path_ +
                 "\n    rules:\n      - {name: sasl, regex: 'SASL'}\n      - "
                 "{name: tls, regex: TLS, process: smtpd}\n");
  ASSERT_TRUE(c);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  c->Stop();
  EXPECT_TRUE(r.status.ok())
      << r.status.message();  // a missing file is waited for
  struct Want {
    const char* name;
    size_t samples;
  };
  for (Want w : {Want{"mailhealth_log_lines_total", 1},
                 Want{"mailhealth_log_messages_total", 14 * 5},
                 Want{"mailhealth_log_deliveries_total", 7 * 4},
                 Want{"mailhealth_log_rejects_total", 7 * 9},
                 Want{"mailhealth_log_events_total", log::N<log::Event>()},
                 Want{"mailhealth_log_rule_matches_total", 2},
                 Want{"mailhealth_log_unsupported_lines_total", 1},
                 Want{"mailhealth_log_foreign_lines_total", 1},
                 Want{"mailhealth_log_truncated_lines_total", 1},
                 Want{"mailhealth_log_last_line_timestamp_seconds", 1},
                 Want{"mailhealth_log_rotations_total", 1},
                 Want{"mailhealth_log_read_errors_total", 1},
                 Want{"mailhealth_log_source_up", 1}}) {
    const auto* f = Find(r, w.name);
    ASSERT_TRUE(f) << w.name;
    EXPECT_EQ(f->metric.size(), w.samples) << w.name;
  }
}

double Value(
    const CollectResult& r, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  const auto* f = Find(r, name);
  if (!f) return -1;
  for (const auto& m : f->metric) {
    bool match = true;
    for (const auto& [k, v] : labels) {
      bool found = false;
      for (const auto& lp : m.label)
        if (lp.name == k && lp.value == v) found = true;
      match = match && found;
    }
    if (!match) continue;
    if (f->type == prometheus::MetricType::Counter) return m.counter.value;
    return m.gauge.value;
  }
  return -1;
}

TEST_F(LogCollectorTest, CountsLinesAppendedAfterStart) {
  {
    std::ofstream(path_) << "Jan  1 00:00:00 mx postfix/qmgr[1]: A1: removed\n";
  }
  auto c = Build("collectors:\n  log:\n    path: " + path_ +
                 "\n    rules:\n      - {name: bounced, regex: "
                 "'status=bounced', process: smtp}\n");
  ASSERT_TRUE(c);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // at the end
  {
    std::ofstream o(path_, std::ios::app);
    o << "Jan  1 00:00:01 mx postfix/smtp[2]: A2: to=<a@example.com>, "
         "relay=none, delay=1, "
         "dsn=5.4.4, status=bounced (Host or domain name not found. Name "
         "service error)\n";
  }
  auto until = Clock::now() + std::chrono::seconds(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = c->Collect(Clock::now() + std::chrono::seconds(1));
  } while (Value(r, "mailhealth_log_lines_total") < 1 && Clock::now() < until);
  c->Stop();
  EXPECT_EQ(Value(r, "mailhealth_log_lines_total"), 1);
  EXPECT_EQ(Value(r, "mailhealth_log_deliveries_total",
                  {{"transport", "smtp"}, {"status", "bounced"}}),
            1);
  EXPECT_EQ(
      Value(r, "mailhealth_log_events_total", {{"event", "host_not_found"}}),
      1);
  EXPECT_EQ(
      Value(r, "mailhealth_log_rule_matches_total", {{"rule", "bounced"}}), 1);
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 1);
  EXPECT_GT(Value(r, "mailhealth_log_last_line_timestamp_seconds"), 1.7e9);
}

TEST_F(LogCollectorTest, NotARegularFileIsACollectorFailure) {
  auto c = Build("collectors:\n  log:\n    path: " + dir_ + "\n");
  ASSERT_TRUE(c);
  CollectResult r;
  auto until = Clock::now() + std::chrono::seconds(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = c->Collect(Clock::now() + std::chrono::seconds(1));
  } while (r.status.ok() && Clock::now() < until);
  c->Stop();
  EXPECT_EQ(r.status.message(), dir_ + " is not a regular file");
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 0);
}

// ------------------------------------------------------------ source: auto

// Collects until `done(result)` or 5 s.
template <typename Pred>
CollectResult CollectUntil(Collector& c, Pred done) {
  CollectResult r;
  auto until = Clock::now() + std::chrono::seconds(5);
  do {
    r = c.Collect(Clock::now() + std::chrono::seconds(1));
    if (done(r)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < until);
  return r;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}

// Captures the log lines of one test.
class CapturedLogs {
 public:
  CapturedLogs() { CaptureLogsForTest(&out_); }
  ~CapturedLogs() { CaptureLogsForTest(nullptr); }
  const std::string& out() const { return out_; }

 private:
  std::string out_;
};

class LogAutoSourceTest : public LogCollectorTest {
 protected:
  void SetUp() override {
    LogCollectorTest::SetUp();
    if (!log::HaveJournalRemote())
      GTEST_SKIP() << "systemd-journal-remote not installed";
    journal_ = dir_ + "/journal";
    ASSERT_EQ(::mkdir(journal_.c_str(), 0755), 0);
  }
  // A config for `source` (omitted: the default) reading the private
  // journal directory from its start.
  std::string Yaml(const std::string& source = "") const {
    return "collectors:\n  log:\n" +
           (source.empty() ? "" : "    source: " + source + "\n") +
           "    path: " + path_ + "\n    journal_directory: " + journal_ +
           "\n    start_at: beginning\n"
           // Not about instances: no postconf (whose warning, while another
           // test reconfigures the machine's Postfix, these tests forbid).
           "    postconf: \"\"\n";
  }
  void PostfixJournal() {
    ASSERT_TRUE(log::MakeJournal(
        journal_, "a",
        {{"postfix@-.service", "postfix/smtp",
          "A1: to=<a@example.com>, relay=x[192.0.2.1]:25, delay=1, "
          "dsn=2.0.0, status=sent (250 ok)"},
         {"", "postfix/qmgr", "A1: removed"},
         {"dovecot.service", "dovecot", "imap-login: Login"}},
        1700000000));
  }
  std::string journal_;
};

TEST_F(LogAutoSourceTest, IsTheDefault) {
  PostfixJournal();
  CapturedLogs logs;
  auto c = Build(Yaml());
  ASSERT_TRUE(c);
  CollectResult r = CollectUntil(*c, [](const CollectResult& got) {
    return Value(got, "mailhealth_log_lines_total") >= 2;
  });
  c->Stop();
  EXPECT_EQ(Value(r, "mailhealth_log_lines_total"), 2);
  EXPECT_NE(logs.out().find("source=journal"), std::string::npos) << logs.out();
}

TEST_F(LogAutoSourceTest, PicksTheFileWhenItExists) {
  PostfixJournal();  // ignored: the file wins
  {
    std::ofstream(path_) << "Jan  1 00:00:00 mx postfix/qmgr[1]: A1: removed\n";
  }
  CapturedLogs logs;
  auto c = Build(Yaml("auto"));
  ASSERT_TRUE(c);
  CollectResult r = CollectUntil(*c, [](const CollectResult& got) {
    return Value(got, "mailhealth_log_lines_total") >= 1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  c->Collect(Clock::now() + std::chrono::seconds(1));
  c->Stop();
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(Value(r, "mailhealth_log_lines_total"), 1);  // not the journal's
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 1);
  EXPECT_EQ(r.detail,
            "source: file " + path_ + " (auto: " + path_ + " exists)");
  EXPECT_EQ(Count(logs.out(), "msg=\"log source chosen\""), 1u) << logs.out();
  EXPECT_NE(logs.out().find("level=info msg=\"log source chosen\" "
                            "collector=log source=file path=" +
                            path_ + " reason=\"" + path_ + " exists\""),
            std::string::npos)
      << logs.out();
}

TEST_F(LogAutoSourceTest, PicksTheJournalWhenTheFileIsMissing) {
  PostfixJournal();
  CapturedLogs logs;
  auto c = Build(Yaml("auto"));
  ASSERT_TRUE(c);
  CollectResult r = CollectUntil(*c, [](const CollectResult& got) {
    return Value(got, "mailhealth_log_lines_total") >= 2;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  c->Stop();
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(Value(r, "mailhealth_log_lines_total"), 2);  // not dovecot's
  EXPECT_EQ(Value(r, "mailhealth_log_deliveries_total",
                  {{"transport", "smtp"}, {"status", "sent"}}),
            1);
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 1);
  const std::string reason =
      path_ + " does not exist and the journal has postfix entries";
  EXPECT_EQ(r.detail,
            "source: journal " + journal_ + " (auto: " + reason + ")");
  EXPECT_EQ(Count(logs.out(), "msg=\"log source chosen\""), 1u) << logs.out();
  EXPECT_NE(logs.out().find("level=info msg=\"log source chosen\" "
                            "collector=log source=journal reason=\"" +
                            reason + "\""),
            std::string::npos)
      << logs.out();
  EXPECT_EQ(logs.out().find("level=warn"), std::string::npos) << logs.out();
}

TEST_F(LogAutoSourceTest, WithNeitherFollowsTheFileAndReportsItMissing) {
  ASSERT_TRUE(log::MakeJournal(
      journal_, "a", {{"dovecot.service", "dovecot", "imap-login: Login"}},
      1700000000));
  CapturedLogs logs;
  auto c = Build(Yaml("auto"));
  ASSERT_TRUE(c);
  const std::string missing = "missing: " + path_ + " does not exist";
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(r.detail.rfind(missing, 0), 0u) << r.detail;
  EXPECT_EQ(Count(logs.out(), "level=warn"), 1u) << "at the first run";
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = c->Collect(Clock::now() + std::chrono::seconds(1));
  }
  EXPECT_TRUE(r.status.ok()) << r.status.message();  // waited for
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 0);
  EXPECT_EQ(r.detail, missing + " (auto: " + path_ +
                          " does not exist and the journal has no postfix "
                          "entries)");
  EXPECT_NE(logs.out().find("source=file path=" + path_), std::string::npos)
      << logs.out();
  EXPECT_EQ(Count(logs.out(), "level=warn"), 1u) << logs.out();
  EXPECT_NE(logs.out().find("level=warn msg=\"log source missing\" "
                            "collector=log path=" +
                            path_ + " err=\"" + path_ + " does not exist\""),
            std::string::npos)
      << logs.out();

  // It appears: read from its start, the detail says so.
  {
    std::ofstream(path_) << "Jan  1 00:00:00 mx postfix/qmgr[1]: A1: removed\n";
  }
  r = CollectUntil(*c, [](const CollectResult& got) {
    return Value(got, "mailhealth_log_lines_total") >= 1;
  });
  c->Stop();
  EXPECT_EQ(Value(r, "mailhealth_log_lines_total"), 1);
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 1);
  EXPECT_EQ(r.detail.find("missing"), std::string::npos) << r.detail;
  EXPECT_EQ(Count(logs.out(), "level=warn"), 1u) << logs.out();
}

TEST_F(LogAutoSourceTest, AnUnopenableJournalFallsBackToTheFile) {
  CapturedLogs logs;
  auto c = Build("collectors:\n  log:\n    path: " + path_ +
                 "\n    journal_directory: " + dir_ + "/nonexistent\n");
  ASSERT_TRUE(c);
  CollectResult r = CollectUntil(*c, [](const CollectResult& got) {
    return got.detail.rfind("missing:", 0) == 0;
  });
  c->Stop();
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_NE(r.detail.find("(auto: " + path_ +
                          " does not exist and the journal cannot be read: "
                          "cannot open the journal in " +
                          dir_ + "/nonexistent: No such file or directory)"),
            std::string::npos)
      << r.detail;
}

TEST_F(LogCollectorTest, MissingFileIsADetailAndOneWarning) {
  CapturedLogs logs;
  auto c =
      Build("collectors:\n  log:\n    source: file\n    path: " + path_ + "\n");
  ASSERT_TRUE(c);
  const std::string missing = "missing: " + path_ + " does not exist";
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(r.detail, missing) << "from the first run on";
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = c->Collect(Clock::now() + std::chrono::seconds(1));
  }
  c->Stop();
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.detail, missing);
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 0);
  EXPECT_EQ(Count(logs.out(), "msg=\"log source missing\""), 1u) << logs.out();
  EXPECT_NE(logs.out().find("msg=\"log source chosen\" collector=log "
                            "source=file path=" +
                            path_ + " reason=configured"),
            std::string::npos)
      << logs.out();
}

TEST_F(LogCollectorTest, StopIsPrompt) {
  auto c = Build("collectors:\n  log:\n    path: " + path_ + "\n");
  ASSERT_TRUE(c);
  c->Collect(Clock::now() + std::chrono::seconds(1));
  auto t0 = Clock::now();
  c->Stop();
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));
  c->Stop();  // idempotent
}

// `check`: RunMode::once reads the last `lookback` of the file at once,
// no follower, every run the same window.
TEST(LogCollectorOnce, ReadsTheLastWindowOfTheFile) {
  std::string dir = log::TempDir();
  const std::string path = dir + "/mail.log";
  auto stamp = [](std::time_t t) {
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%b %e %H:%M:%S", &tm);
    return std::string(buf);
  };
  const std::time_t now = std::time(nullptr);
  {
    std::ofstream o(path);
    o << stamp(now - 3600) << " mx postfix/smtpd[1]: fatal: old\n"
      << stamp(now - 30) << " mx postfix/smtpd[1]: fatal: new\n"
      << stamp(now - 20) << " mx postfix/qmgr[2]: error: new\n";
  }
  RunMode once;
  once.once = true;
  once.lookback = std::chrono::minutes(15);
  auto loaded = LoadConfigFromString(
      LogOnly(), "collectors:\n  log:\n    path: " + path + "\n", "x.yml", {},
      once);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto& c = loaded->collectors.at(0).collector;
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(Value(r, "mailhealth_log_lines_total"), 2);
  EXPECT_EQ(Value(r, "mailhealth_log_messages_total",
                  {{"process", "smtpd"}, {"severity", "fatal"}}),
            1);
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 1);
  EXPECT_NE(r.detail.find("last 15m"), std::string::npos) << r.detail;
  (void)std::system(("rm -rf '" + dir + "'").c_str());
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 0);
  EXPECT_NE(r.detail.find("missing"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace mailhealth
