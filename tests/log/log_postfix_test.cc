// Against the real Postfix on loopback (scripts/setup-postfix start), which
// writes /var/log/mail.log itself (maillog_file). The test sends mail that
// is delivered locally, deferred (remote mail goes to a relayhost on
// 127.0.0.1:2599 where nothing listens), bounced (nouser.test goes to the
// error transport) and rejected at RCPT (spamtrap@, over SMTP with swaks),
// and watches the collector's counters follow. Each message carries a token
// of this run, counted by user rules, so other mail in the log cannot make
// the exact counts pass by accident.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "collectors/log/log_collector.h"
#include "daemon/config.h"
#include "tests/testutil/isolation.h"

namespace mailhealth {
namespace {

double Value(
    const CollectResult& r, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  for (const auto& f : r.families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& lp : m.label)
          found = found || (lp.name == k && lp.value == v);
        match = match && found;
      }
      if (match)
        return f.type == prometheus::MetricType::Counter ? m.counter.value
                                                         : m.gauge.value;
    }
  }
  return -1;
}

int Shell(const std::string& cmd) { return std::system(cmd.c_str()); }

TEST(LogPostfixTest, CountersFollowRealMail) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to start Postfix";
  if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
  ASSERT_EQ(Shell(std::string(MAILHEALTH_SOURCE_DIR) +
                  "/scripts/setup-postfix start"),
            0);

  std::string token =
      "mhlog" + std::to_string(::getpid()) + "x" +
      std::to_string(
          std::chrono::system_clock::now().time_since_epoch().count() %
          1000000);
  std::string yaml =
      "collectors:\n  log:\n    path: /var/log/mail.log\n    rules:\n"
      "      - {name: deferred, regex: 'to=<" +
      token +
      "@remote\\.example>.*status=deferred'}\n"
      "      - {name: bounced, regex: 'to=<" +
      token +
      "@nouser\\.test>.*status=bounced', process: error}\n"
      "      - {name: rejected, regex: 'reject: RCPT .*from=<" +
      token +
      "@', process: smtpd}\n"
      "      - {name: picked_up, regex: 'from=<" +
      token + "@', process: pickup}\n";
  CollectorRegistry reg;
  reg.Register(LogCollectorInfo());
  auto loaded = LoadConfigFromString(reg, yaml, "test.yml", {});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  std::shared_ptr<Collector> c = loaded->collectors[0].collector;
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // at the end
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  const double local0 = Value(r, "mailhealth_log_deliveries_total",
                              {{"transport", "local"}, {"status", "sent"}});
  const double reject0 = Value(r, "mailhealth_log_rejects_total",
                               {{"stage", "rcpt"}, {"reason", "policy"}});

  std::string from = token + "@mail.mailhealth.test";
  auto send = [&](const std::string& to) {
    return Shell(
        "printf 'Subject: log test\\n\\nhello\\n' | /usr/sbin/sendmail -f " +
        from + " " + to);
  };
  ASSERT_EQ(send("mhuser@mail.mailhealth.test"), 0);
  ASSERT_EQ(send(token + "@remote.example"), 0);
  ASSERT_EQ(send(token + "@nouser.test"), 0);
  // swaks exits non-zero when the RCPT is rejected, which is the point.
  Shell(
      "swaks --server 127.0.0.1:25 --helo localhost --from " + from +
      " --to spamtrap@mail.mailhealth.test --quit-after RCPT >/dev/null 2>&1");

  auto done = [&] {
    return Value(r, "mailhealth_log_rule_matches_total",
                 {{"rule", "deferred"}}) >= 1 &&
           Value(r, "mailhealth_log_rule_matches_total",
                 {{"rule", "bounced"}}) >= 1 &&
           Value(r, "mailhealth_log_rule_matches_total",
                 {{"rule", "rejected"}}) >= 1 &&
           Value(r, "mailhealth_log_deliveries_total",
                 {{"transport", "local"}, {"status", "sent"}}) > local0;
  };
  auto until = Clock::now() + std::chrono::seconds(60);
  while (!done() && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    r = c->Collect(Clock::now() + std::chrono::seconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // stragglers
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  c->Stop();

  EXPECT_EQ(
      Value(r, "mailhealth_log_rule_matches_total", {{"rule", "picked_up"}}),
      3);
  EXPECT_EQ(
      Value(r, "mailhealth_log_rule_matches_total", {{"rule", "deferred"}}), 1);
  EXPECT_EQ(
      Value(r, "mailhealth_log_rule_matches_total", {{"rule", "bounced"}}), 1);
  EXPECT_EQ(
      Value(r, "mailhealth_log_rule_matches_total", {{"rule", "rejected"}}), 1);
  EXPECT_GE(Value(r, "mailhealth_log_deliveries_total",
                  {{"transport", "local"}, {"status", "sent"}}),
            local0 + 1);
  EXPECT_GE(Value(r, "mailhealth_log_deliveries_total",
                  {{"transport", "smtp"}, {"status", "deferred"}}),
            1);
  EXPECT_GE(Value(r, "mailhealth_log_deliveries_total",
                  {{"transport", "error"}, {"status", "bounced"}}),
            1);
  EXPECT_GE(Value(r, "mailhealth_log_rejects_total",
                  {{"stage", "rcpt"}, {"reason", "policy"}}),
            reject0 + 1);
  EXPECT_GE(Value(r, "mailhealth_log_messages_total",
                  {{"process", "pickup"}, {"severity", "info"}}),
            3);
  EXPECT_EQ(Value(r, "mailhealth_log_unsupported_lines_total"), 0);
  EXPECT_EQ(Value(r, "mailhealth_log_source_up"), 1);
}

}  // namespace
}  // namespace mailhealth
