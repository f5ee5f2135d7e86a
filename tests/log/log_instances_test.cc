// Multi-instance Postfix in the parser (#15): every message, delivery,
// reject and event counts for the instance its syslog name belongs to.
// tests/fixtures/log/two-instances.log is a postmulti host's log: the
// default instance (postfix, with a submission service), postfix-out (with
// a dead content filter), an instance whose syslog_name "relay" the live
// configuration maps to postfix-relay, and the name "mx-out" that the
// config maps (log.syslog_names: mx-out=postfix-out).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "collectors/log/log_parser.h"
#include "tests/log/log_test_util.h"

namespace mailhealth::log {
namespace {

using M = std::map<std::string, uint64_t>;

const std::string kFixture =
    std::string(MAILHEALTH_SOURCE_DIR) + "/tests/fixtures/log/two-instances.log";

LogCounters ProcessFixture() {
  LineProcessor lp({}, {"mx-out=postfix-out"});
  lp.SetInstanceNames({{"relay", "postfix-relay"}, {"postfix-out", "postfix-out"}});
  return ProcessFile(lp, kFixture);
}

// Expected counts by reading the 24 lines.
TEST(InstanceFixtureTest, EachInstanceCountsItsOwnLines) {
  LogCounters c = ProcessFixture();
  EXPECT_EQ(c.lines, 24u);
  EXPECT_EQ(c.postfix, 23u);
  EXPECT_EQ(c.foreign, 1u);  // dovecot
  EXPECT_EQ(c.unsupported, 0u);
  ASSERT_EQ(c.instances.size(), 3u);

  const InstanceCounters* in = c.Find("postfix");
  ASSERT_NE(in, nullptr);
  // postfix/submission/smtpd is the default instance's submission service.
  EXPECT_EQ(NonZeroOf(*in), (M{{"messages{smtpd,info}", 4},
                               {"messages{smtpd,warning}", 1},
                               {"messages{cleanup,info}", 1},
                               {"messages{qmgr,info}", 2},
                               {"messages{local,info}", 1},
                               {"deliveries{local,sent}", 1},
                               {"rejects{rcpt,relay_denied}", 1},
                               {"events{sasl_auth_failed}", 1}}));

  const InstanceCounters* out = c.Find("postfix-out");
  ASSERT_NE(out, nullptr);
  // Its own lines plus mx-out's (mapped by the config); the dead content
  // filter (smtp to 127.0.0.1:10024, lmtp to 127.0.0.1:24) is a local
  // service of this instance, not a remote refusal.
  EXPECT_EQ(NonZeroOf(*out), (M{{"messages{smtpd,info}", 3},
                                {"messages{cleanup,info}", 1},
                                {"messages{qmgr,info}", 1},
                                {"messages{smtp,info}", 5},
                                {"messages{lmtp,info}", 1},
                                {"messages{other,fatal}", 1},
                                {"deliveries{smtp,sent}", 1},
                                {"deliveries{smtp,deferred}", 2},
                                {"deliveries{smtp,bounced}", 1},
                                {"deliveries{lmtp,deferred}", 1},
                                {"rejects{rcpt,unknown_user}", 1},
                                {"events{content_filter_unavailable}", 3},
                                {"events{connection_timeout}", 1}}));

  const InstanceCounters* relay = c.Find("postfix-relay");
  ASSERT_NE(relay, nullptr);
  EXPECT_EQ(NonZeroOf(*relay), (M{{"messages{smtp,info}", 2},
                                  {"deliveries{smtp,sent}", 1},
                                  {"events{connection_timeout}", 1}}));
  EXPECT_EQ(c.Find("relay"), nullptr);
  EXPECT_EQ(c.Find("mx-out"), nullptr);
}

// The same file counted independently: each line's instance from its
// syslog name (the part of the program before the first '/', through the
// same two maps written out here), then status=, reject: and Postfix lines
// by std::regex. The parser's per-instance sums must equal these.
TEST(InstanceFixtureTest, PerInstanceTotalsMatchAnIndependentCount) {
  const std::map<std::string, std::string> names = {
      {"postfix", "postfix"}, {"postfix-out", "postfix-out"},
      {"mx-out", "postfix-out"}, {"relay", "postfix-relay"}};
  const std::regex prefix(R"(^\w{3} +\d+ [\d:]{8} \S+ ([^/\[ ]+)/[^\[ ]+\[\d+\]: (.*)$)");
  const std::regex status(R"(, status=(sent|deferred|bounced) )");
  std::map<std::string, M> want;
  std::ifstream f(kFixture);
  for (std::string line; std::getline(f, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, prefix) || !names.count(m[1].str())) continue;
    M& w = want[names.at(m[1].str())];
    ++w["lines"];
    std::smatch s;
    const std::string body = m[2].str();
    if (std::regex_search(body, s, status)) ++w[s[1].str()];
    if (body.find(": reject: ") != std::string::npos) ++w["rejects"];
  }
  ASSERT_EQ(want.size(), 3u);

  LogCounters c = ProcessFixture();
  for (const auto& [instance, w] : want) {
    const InstanceCounters* got = c.Find(instance);
    ASSERT_NE(got, nullptr) << instance;
    M have;
    auto put = [&](const std::string& k, uint64_t v) {
      if (v) have[k] = v;
    };
    uint64_t lines = 0, rejects = 0;
    for (const auto& p : got->messages)
      for (uint64_t v : p) lines += v;
    for (const auto& st : got->rejects)
      for (uint64_t v : st) rejects += v;
    put("lines", lines);
    put("rejects", rejects);
    for (auto s : {DeliveryStatus::kSent, DeliveryStatus::kDeferred,
                   DeliveryStatus::kBounced}) {
      uint64_t n = 0;
      for (const auto& t : got->deliveries) n += t[static_cast<size_t>(s)];
      put(std::string(Name(s)), n);
    }
    EXPECT_EQ(have, w) << instance;
  }
}

// Without the maps, each syslog name is its own instance (the name
// itself): nothing is lost, and the totals are the same.
TEST(InstanceFixtureTest, UnmappedNamesAreTheirOwnInstance) {
  LineProcessor lp({}, {"mx-out", "relay"});
  LogCounters c = ProcessFile(lp, kFixture);
  EXPECT_EQ(c.postfix, 23u);
  for (const char* n : {"postfix", "postfix-out", "mx-out", "relay"})
    EXPECT_NE(c.Find(n), nullptr) << n;
  EXPECT_EQ(c.Find("postfix-relay"), nullptr);
  const InstanceCounters mapped = ProcessFixture().Total();
  EXPECT_EQ(NonZeroOf(c.Total()), NonZeroOf(mapped));
}

// The config's NAME=INSTANCE wins over the live configuration for the
// same name, and SetInstanceNames replaces the previous live set.
TEST(InstanceMapTest, ConfigWinsAndLiveNamesAreReplaced) {
  LineProcessor lp({}, {"mx-out=postfix-out"});
  lp.SetInstanceNames({{"mx-out", "postfix-elsewhere"}, {"relay", "postfix-relay"}});
  LogCounters c;
  lp.ProcessLine("Dec  6 10:00:11 mx mx-out/qmgr[1]: 1A: removed", &c);
  lp.ProcessLine("Dec  6 10:00:11 mx relay/qmgr[2]: 1B: removed", &c);
  lp.SetInstanceNames({});
  lp.ProcessLine("Dec  6 10:00:12 mx relay/qmgr[2]: 1C: removed", &c);
  auto qmgr = [&](const char* n) -> uint64_t {
    const InstanceCounters* i = c.Find(n);
    return i ? i->messages[static_cast<size_t>(Process::kQmgr)]
                          [static_cast<size_t>(Severity::kInfo)]
             : 0;
  };
  EXPECT_EQ(qmgr("postfix-out"), 1u);
  EXPECT_EQ(qmgr("postfix-elsewhere"), 0u);
  EXPECT_EQ(qmgr("postfix-relay"), 1u);
  // After the live set is gone, "relay" is no Postfix name any more.
  EXPECT_EQ(qmgr("relay"), 0u);
  EXPECT_EQ(c.foreign, 1u);
}

// Over the shared real-world corpus: each Postfix line counts once, for
// the instance its syslog name names (digineo's postfix-secondary/qmgr
// line is its own instance), against grep over the same files.
class InstanceCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InstanceCorpusTest, PostfixSecondaryIsItsOwnInstance) {
  const std::string path = std::string(MAILHEALTH_SOURCE_DIR) +
                           "/tests/fixtures/corpus/postfix-logs/" + GetParam();
  LineProcessor lp({}, {});
  LogCounters c = ProcessFile(lp, path);
  const InstanceCounters* sec = c.Find("postfix-secondary");
  uint64_t want = GrepCount("-E ' postfix-secondary/[^ ]+\\[[0-9]+\\]: '", path);
  uint64_t got = 0;
  if (sec)
    for (const auto& p : sec->messages)
      for (uint64_t v : p) got += v;
  EXPECT_EQ(got, want);
  EXPECT_EQ(want > 0, sec != nullptr);
}

INSTANTIATE_TEST_SUITE_P(Files, InstanceCorpusTest,
                         ::testing::Values("digineo-postfix_exporter.log",
                                           "kumina-postfix_exporter.log"),
                         [](const auto& p) {
                           return p.param.substr(0, p.param.find('-'));
                         });

}  // namespace
}  // namespace mailhealth::log
