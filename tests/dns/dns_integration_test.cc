// The dns collector and mx_resolver against real DNS servers (BIND 9 on
// 127.0.0.1, two instances with different data) and against misbehaving
// fakes (silent, garbage, dying). Nothing leaves 127.0.0.1.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <optional>

#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_metrics.h"
#include "collectors/resolve/dns_client.h"
#include "collectors/resolve/mx_resolver.h"
#include "exporter/metric_builder.h"
#include "tests/dns/fake_dns_server.h"
#include "tests/testutil/dns_server.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::dns {
namespace {

using testing::DnsServer;
using ::testing::ElementsAre;
using testing::FakeDnsServer;
using ::testing::HasSubstr;
using testing::TestZone;

constexpr int kManyAddresses = 100;

// The zones both servers serve; `variant` changes disagree.test only.
std::vector<TestZone> Zones(int variant) {
  std::string many;
  for (int i = 1; i <= kManyAddresses; ++i) {
    many += "big IN A 127.1.0." + std::to_string(i) + "\n";
  }
  return {
      {"match.test",
       "@ IN MX 10 mx1\n@ IN MX 20 mx2.match.test.\n"
       "mx1 IN A 127.0.0.10\nmx1 IN AAAA ::1\nmx2 IN A 127.0.0.11\n"
       "@ IN A 127.0.0.9\n"},
      {"nullmx.test", "@ IN MX 0 .\n"},
      {"cname.test",
       "@ IN MX 10 mail\nmail IN CNAME real\nreal IN A 127.0.0.12\n"},
      {"many.test", "@ IN MX 10 big\n" + many},
      {"nodata.test", "@ IN A 127.0.0.13\n"},
      {"disagree.test", variant == 0 ? "@ IN MX 10 mx1\nmx1 IN A 127.0.0.14\n"
                                     : "@ IN MX 10 mx2\nmx2 IN A 127.0.0.15\n"},
      {"broken.test", "", /*broken=*/true},
  };
}

class DnsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Both start in parallel: most of named's startup is waiting.
    auto a = std::async(std::launch::async,
                        [] { return DnsServer::Start(Zones(0)); });
    auto b = DnsServer::Start(Zones(1));
    a_ = a.get().release();
    b_ = b.release();
    ASSERT_NE(a_, nullptr) << DnsServer::last_error();
    ASSERT_NE(b_, nullptr) << DnsServer::last_error();
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    a_ = b_ = nullptr;
  }
  void SetUp() override {
    if (a_ == nullptr || b_ == nullptr) GTEST_SKIP() << "named did not start";
  }

  // Runs the collector built from `yaml` (the dns section) once, with
  // `timeout`; records how long Collect() took.
  Families Run(const std::string& yaml, Millis timeout = Millis(2000)) {
    ConfigErrors errors;
    ConfigNode node(YAML::Load(yaml), "collectors.dns", "test.yml", &errors);
    CollectorContext ctx{"dns", {true, Millis(60000), timeout}};
    auto c = DnsCollectorInfo().factory(ctx, node);
    EXPECT_TRUE(errors.empty()) << errors.Joined();
    if (!c) return {};
    const auto start = Clock::now();
    auto r = c->Collect(start + timeout);
    elapsed_ = Clock::now() - start;
    EXPECT_TRUE(r.status.ok()) << r.status.message();
    return r.families;
  }
  static std::string Resolvers(const std::vector<std::string>& r) {
    std::string s = "resolvers: [";
    for (size_t i = 0; i < r.size(); ++i)
      s += (i ? ", \"" : "\"") + r[i] + "\"";
    return s + "]\n";
  }

  static DnsServer* a_;
  static DnsServer* b_;
  Clock::duration elapsed_{};
};
DnsServer* DnsIntegrationTest::a_ = nullptr;
DnsServer* DnsIntegrationTest::b_ = nullptr;

// The current status of a lookup ("" if none is 1).
std::string StatusOf(const Families& fs, const Labels& labels) {
  for (DnsStatus s : kAllDnsStatuses) {
    Labels l = labels;
    l.emplace_back("status", DnsStatusName(s));
    if (Value(fs, kDnsLookupStatus, l) == 1) return DnsStatusName(s);
  }
  return "";
}

TEST_F(DnsIntegrationTest, MatchingMxSetIsReportedWithEveryExchange) {
  auto fs = Run(Resolvers({a_->resolver()}) + R"(domains:
  - {name: match.test, expect_mx: ["10 MX1.match.test.", "mx2.match.test"]}
)");
  const std::string r = a_->resolver();
  EXPECT_EQ(
      StatusOf(fs,
               {{"domain", "match.test"}, {"resolver", r}, {"qtype", "MX"}}),
      "noerror");
  EXPECT_EQ(
      Value(fs, kDnsLookupSuccess, {{"domain", "match.test"}, {"qtype", "MX"}}),
      1);
  EXPECT_EQ(Value(fs, kDnsAnswers, {{"domain", "match.test"}, {"qtype", "MX"}}),
            2);
  EXPECT_EQ(Value(fs, kDnsMxInfo,
                  {{"exchange", "mx1.match.test"}, {"preference", "10"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxInfo,
                  {{"exchange", "mx2.match.test"}, {"preference", "20"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxMatchesExpected,
                  {{"domain", "match.test"}, {"resolver", r}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxHostResolves,
                  {{"exchange", "mx1.match.test"}, {"qtype", "AAAA"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxHostResolves,
                  {{"exchange", "mx2.match.test"}, {"qtype", "AAAA"}}),
            0);
  EXPECT_EQ(Value(fs, kDnsMxHostAddresses,
                  {{"exchange", "mx2.match.test"}, {"qtype", "A"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsNullMx, {{"domain", "match.test"}}), 0);
}

struct MismatchCase {
  const char* expect_mx;
};
class DnsMismatchTest : public DnsIntegrationTest,
                        public ::testing::WithParamInterface<MismatchCase> {};
TEST_P(DnsMismatchTest, NonMatchingMxSetIsZero) {
  auto fs = Run(Resolvers({a_->resolver()}) +
                "domains:\n  - {name: match.test, expect_mx: " +
                GetParam().expect_mx + "}\n");
  EXPECT_EQ(Value(fs, kDnsMxMatchesExpected, {{"domain", "match.test"}}), 0);
  EXPECT_EQ(Value(fs, kDnsLookupSuccess, {{"domain", "match.test"}}), 1);
}
INSTANTIATE_TEST_SUITE_P(
    Table, DnsMismatchTest,
    ::testing::Values(
        MismatchCase{"[mx1.match.test]"},                         // one missing
        MismatchCase{"[\"20 mx1.match.test\", mx2.match.test]"},  // preference
        MismatchCase{"[mx1.match.test, mx2.match.test, mx3.match.test]"}));

TEST_F(DnsIntegrationTest, TwoResolversThatDisagree) {
  auto fs = Run(Resolvers({a_->resolver(), b_->resolver()}) +
                "domains: [{name: disagree.test}, {name: match.test}]\n");
  EXPECT_EQ(Value(fs, kDnsResolversAgree,
                  {{"domain", "disagree.test"}, {"qtype", "MX"}}),
            0);
  EXPECT_EQ(Value(fs, kDnsResolversAgree,
                  {{"domain", "match.test"}, {"qtype", "MX"}}),
            1);
  EXPECT_EQ(
      Value(fs, kDnsResolversAgree, {{"domain", "match.test"}, {"qtype", "A"}}),
      1);
  EXPECT_EQ(
      Value(fs, kDnsMxInfo,
            {{"resolver", b_->resolver()}, {"exchange", "mx2.disagree.test"}}),
      1);
}

struct StatusCase {
  const char* domain;
  const char* status;
};
class DnsStatusTest : public DnsIntegrationTest,
                      public ::testing::WithParamInterface<StatusCase> {};
TEST_P(DnsStatusTest, RcodeBecomesStatus) {
  auto fs = Run(Resolvers({a_->resolver()}) +
                "domains: [{name: " + GetParam().domain + "}]\n");
  const Labels l{{"domain", GetParam().domain}, {"qtype", "MX"}};
  EXPECT_EQ(StatusOf(fs, l), GetParam().status);
  EXPECT_EQ(Value(fs, kDnsLookupSuccess, l),
            std::string(GetParam().status) == "noerror" ? 1 : 0);
  EXPECT_LT(elapsed_,
            std::chrono::milliseconds(1000));  // answered, not timed out
}
INSTANTIATE_TEST_SUITE_P(
    Table, DnsStatusTest,
    ::testing::Values(StatusCase{"nosuch.match.test", "nxdomain"},
                      StatusCase{"broken.test", "servfail"},
                      StatusCase{"outside.invalid", "refused"},
                      StatusCase{"nodata.test", "noerror"}));

TEST_F(DnsIntegrationTest, NoDataIsNoErrorWithZeroAnswers) {
  auto fs =
      Run(Resolvers({a_->resolver()}) + "domains: [{name: nodata.test}]\n");
  EXPECT_EQ(
      Value(fs, kDnsAnswers, {{"domain", "nodata.test"}, {"qtype", "MX"}}), 0);
}

TEST_F(DnsIntegrationTest, NullMxIsReportedAsSuch) {
  auto fs = Run(Resolvers({a_->resolver()}) +
                "domains: [{name: nullmx.test, expect_mx: [\"0 .\"]}]\n");
  EXPECT_EQ(Value(fs, kDnsNullMx, {{"domain", "nullmx.test"}}), 1);
  EXPECT_EQ(Value(fs, kDnsMxInfo, {{"exchange", "."}, {"preference", "0"}}), 1);
  EXPECT_EQ(Value(fs, kDnsMxMatchesExpected, {{"domain", "nullmx.test"}}), 1);
  EXPECT_EQ(StatusOf(fs, {{"domain", "nullmx.test"}, {"qtype", "MX"}}),
            "noerror");
  EXPECT_FALSE(Value(fs, kDnsMxHostResolves, {{"domain", "nullmx.test"}}));
}

TEST_F(DnsIntegrationTest, CnamedMxHostResolvesAndIsFlagged) {
  auto fs =
      Run(Resolvers({a_->resolver()}) + "domains: [{name: cname.test}]\n");
  const Labels host{{"exchange", "mail.cname.test"}, {"qtype", "A"}};
  EXPECT_EQ(Value(fs, kDnsMxHostResolves, host), 1);
  EXPECT_EQ(Value(fs, kDnsMxHostAddresses, host), 1);
  EXPECT_EQ(Value(fs, kDnsMxHostIsCname, {{"exchange", "mail.cname.test"}}), 1);
}

// Sends one A query for `name` over UDP and returns the reply's TC bit.
bool UdpReplyIsTruncated(uint16_t port, const std::string& name) {
  std::vector<unsigned char> q = {0xab, 0xcd, 0x01, 0x00, 0, 1,
                                  0,    0,    0,    0,    0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<unsigned char>(dot - start));
    q.insert(q.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  unsigned char r[4096];
  ssize_t n = poll(&p, 1, 1000) == 1 ? recv(fd, r, sizeof r, 0) : -1;
  close(fd);
  return n >= 12 && (r[2] & 0x02) != 0;
}

TEST_F(DnsIntegrationTest, LargeAnswerFallsBackToTcp) {
  // Over UDP (no EDNS) the server can only send a truncated reply...
  ASSERT_TRUE(UdpReplyIsTruncated(a_->port(), "big.many.test"));
  // ...and the collector still gets every address.
  auto fs = Run(Resolvers({a_->resolver()}) + "domains: [{name: many.test}]\n");
  EXPECT_EQ(Value(fs, kDnsMxHostAddresses,
                  {{"exchange", "big.many.test"}, {"qtype", "A"}}),
            kManyAddresses);
}

TEST_F(DnsIntegrationTest, DomainAddressesAndExpectations) {
  auto fs = Run(Resolvers({a_->resolver()}) + R"(domains:
  - name: match.test
    check_domain_addresses: true
    expect_addresses:
      mx1.match.test: ["127.0.0.10", "0:0::1"]
      mx2.match.test: ["127.0.0.99"]
      match.test: ["127.0.0.9"]
)");
  EXPECT_EQ(Value(fs, kDnsAnswers, {{"domain", "match.test"}, {"qtype", "A"}}),
            1);
  EXPECT_EQ(StatusOf(fs, {{"domain", "match.test"}, {"qtype", "AAAA"}}),
            "noerror");
  EXPECT_EQ(Value(fs, kDnsAddressesMatchExpected, {{"host", "mx1.match.test"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsAddressesMatchExpected, {{"host", "mx2.match.test"}}),
            0);
  EXPECT_EQ(Value(fs, kDnsAddressesMatchExpected, {{"host", "match.test"}}), 1);
}

bool HaveIpv6Loopback() {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

TEST_F(DnsIntegrationTest, Ipv6ResolverWithPort) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no ::1 on this host";
  auto fs =
      Run(Resolvers({a_->resolver6()}) + "domains: [{name: match.test}]\n");
  EXPECT_EQ(
      StatusOf(fs, {{"domain", "match.test"}, {"resolver", a_->resolver6()}}),
      "noerror");
  EXPECT_EQ(
      Value(fs, kDnsAnswers, {{"resolver", a_->resolver6()}, {"qtype", "MX"}}),
      2);
}

TEST_F(DnsIntegrationTest, ExpositionPassesPromtool) {
  if (system("promtool --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no promtool";
  auto fs = Run(Resolvers({a_->resolver(), b_->resolver()}) + R"(domains:
  - {name: match.test, expect_mx: [mx1.match.test], check_domain_addresses: true,
     expect_addresses: {mx1.match.test: ["127.0.0.10"]}}
  - {name: nullmx.test}
  - {name: cname.test}
)");
  ASSERT_FALSE(fs.empty());
  const std::string path = ::testing::TempDir() + "dns_metrics.prom";
  std::ofstream(path) << prometheus::TextSerializer().Serialize(fs);
  const std::string cmd =
      "promtool check metrics < " + path + " > " + path + ".out 2>&1";
  const int rc = system(cmd.c_str());
  std::ifstream out(path + ".out");
  std::string text((std::istreambuf_iterator<char>(out)),
                   std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << text;
  std::remove(path.c_str());
  std::remove((path + ".out").c_str());
}

// ---------- faults: the run always ends within its timeout ----------

TEST_F(DnsIntegrationTest, SilentResolverIsTimeoutWithinTheDeadline) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  const Millis timeout(600);
  auto fs = Run(Resolvers({silent.resolver(), a_->resolver()}) +
                    "domains: [{name: match.test}, {name: cname.test}]\n",
                timeout);
  EXPECT_LT(elapsed_, timeout);
  EXPECT_GT(silent.queries(), 0);
  EXPECT_EQ(
      StatusOf(fs, {{"domain", "match.test"}, {"resolver", silent.resolver()}}),
      "timeout");
  EXPECT_EQ(Value(fs, kDnsLookupSuccess,
                  {{"domain", "match.test"}, {"resolver", silent.resolver()}}),
            0);
  // The real resolver's answers are unaffected.
  EXPECT_EQ(
      StatusOf(fs, {{"domain", "match.test"}, {"resolver", a_->resolver()}}),
      "noerror");
  EXPECT_EQ(Value(fs, kDnsResolversAgree,
                  {{"domain", "match.test"}, {"qtype", "MX"}}),
            1);
}

TEST_F(DnsIntegrationTest, GarbageAnswersAreOtherWithinTheDeadline) {
  FakeDnsServer garbage(FakeDnsServer::Mode::kGarbage);
  const Millis timeout(600);
  auto fs =
      Run(Resolvers({garbage.resolver()}) + "domains: [{name: match.test}]\n",
          timeout);
  EXPECT_LT(elapsed_, timeout);
  EXPECT_EQ(StatusOf(fs, {{"domain", "match.test"}}), "other");
}

TEST_F(DnsIntegrationTest, ResolverDyingMidRunEndsWithinTheDeadline) {
  FakeDnsServer dying(FakeDnsServer::Mode::kDies, /*answers_before_death=*/1);
  const Millis timeout(600);
  auto fs =
      Run(Resolvers({dying.resolver()}) + "domains: [{name: gone.test}]\n",
          timeout);
  EXPECT_LT(elapsed_, timeout);
  EXPECT_EQ(StatusOf(fs, {{"domain", "gone.test"}, {"qtype", "MX"}}),
            "noerror");
  EXPECT_EQ(Value(fs, kDnsMxInfo, {{"exchange", "mx.gone.test"}}), 1);
  // The follow-up A/AAAA lookups found nobody listening.
  EXPECT_EQ(Value(fs, kDnsMxHostResolves,
                  {{"exchange", "mx.gone.test"}, {"qtype", "A"}}),
            0);
}

TEST_F(DnsIntegrationTest, DeadlineCancelsEvenWithLongRetrySchedule) {
  // c-ares alone would retry for 1s + 2s + 4s; the batch stops at 300 ms.
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  auto addr = ParseResolverAddress(silent.resolver());
  ASSERT_TRUE(addr.ok());
  DnsBatchOptions o;
  o.try_timeout = Millis(1000);
  o.tries = 3;
  auto batch = DnsBatch::Create({{*addr}}, o);
  ASSERT_TRUE(batch.ok());
  std::vector<LookupResult> got;
  // More than max_in_flight: some wait in the queue when the deadline hits.
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    (*batch)->Query(0, "d" + std::to_string(i) + ".test", kTypeMx,
                    [&got](const LookupResult& l) { got.push_back(l); });
  }
  const auto start = Clock::now();
  (*batch)->Run(start + Millis(300));
  EXPECT_LT(Clock::now() - start, Millis(450));
  ASSERT_EQ(got.size(), static_cast<size_t>(n));
  for (const auto& l : got) EXPECT_EQ(l.status, DnsStatus::kTimeout);
  EXPECT_EQ((*batch)->outstanding(), 0u);
}

TEST_F(DnsIntegrationTest, SilentSlotFailsItsQueueAtItsFirstTimeout) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  auto addr = ParseResolverAddress(silent.resolver());
  ASSERT_TRUE(addr.ok());
  DnsBatchOptions o;
  o.try_timeout = Millis(50);
  o.tries = 1;
  o.max_in_flight = 5;
  auto batch = DnsBatch::Create({{*addr}}, o);
  ASSERT_TRUE(batch.ok());
  int timeouts = 0;
  for (int i = 0; i < 50; ++i) {
    (*batch)->Query(0, "d" + std::to_string(i) + ".test", kTypeMx,
                    [&timeouts](const LookupResult& l) {
                      timeouts += l.status == DnsStatus::kTimeout;
                    });
  }
  const auto start = Clock::now();
  (*batch)->Run(start + Millis(2000));
  // Ten waves of 50 ms would take 500 ms; one wave is enough to know.
  EXPECT_LT(Clock::now() - start, Millis(300));
  EXPECT_EQ(timeouts, 50);
  EXPECT_EQ(silent.queries(), 5);
}

TEST_F(DnsIntegrationTest, QueuedQueriesBeyondTheWindowAreAllAnswered) {
  auto addr = ParseResolverAddress(a_->resolver());
  ASSERT_TRUE(addr.ok());
  DnsBatchOptions o;
  o.max_in_flight = 3;
  auto batch = DnsBatch::Create({{*addr}}, o);
  ASSERT_TRUE(batch.ok());
  int answered = 0;
  for (int i = 0; i < 30; ++i) {
    (*batch)->Query(0, "mx1.match.test", kTypeA, [&](const LookupResult& l) {
      answered +=
          l.status == DnsStatus::kNoError && l.answer.addresses.size() == 1;
    });
  }
  (*batch)->Run(Clock::now() + Millis(2000));
  EXPECT_EQ(answered, 30);
}

// ---------- mx_resolver (used by the smtp collector) ----------

TEST_F(DnsIntegrationTest, ResolveMxSortsHostsAndAddresses) {
  auto r =
      ResolveMx("Match.Test.", {a_->resolver()}, Clock::now() + Millis(2000));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_FALSE(r.null_mx);
  ASSERT_EQ(r.hosts.size(), 2u);
  EXPECT_EQ(r.hosts[0].exchange, "mx1.match.test");
  EXPECT_EQ(r.hosts[0].preference, 10);
  EXPECT_THAT(r.hosts[0].addresses, ElementsAre("127.0.0.10", "::1"));
  EXPECT_EQ(r.hosts[1].exchange, "mx2.match.test");
  EXPECT_THAT(r.hosts[1].addresses, ElementsAre("127.0.0.11"));
}

TEST_F(DnsIntegrationTest, ResolveMxNullMx) {
  auto r =
      ResolveMx("nullmx.test", {a_->resolver()}, Clock::now() + Millis(2000));
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(r.null_mx);
  EXPECT_TRUE(r.hosts.empty());
}

TEST_F(DnsIntegrationTest, ResolveMxImplicitMxFromAddress) {
  auto r =
      ResolveMx("nodata.test", {a_->resolver()}, Clock::now() + Millis(2000));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].exchange, "nodata.test");
  EXPECT_THAT(r.hosts[0].addresses, ElementsAre("127.0.0.13"));
}

TEST_F(DnsIntegrationTest, ResolveMxNxDomainIsAnError) {
  auto r = ResolveMx("nosuch.match.test", {a_->resolver()},
                     Clock::now() + Millis(2000));
  EXPECT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr("nxdomain"));
}

TEST_F(DnsIntegrationTest, ResolveMxFailsOverPastASilentResolver) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  const auto start = Clock::now();
  auto r = ResolveMx("cname.test", {silent.resolver(), a_->resolver()},
                     start + Millis(1000));
  EXPECT_LT(Clock::now() - start, Millis(1000));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_THAT(r.hosts[0].addresses, ElementsAre("127.0.0.12"));
}

TEST_F(DnsIntegrationTest, ResolveMxTimesOutAtTheDeadline) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  const auto start = Clock::now();
  auto r = ResolveMx("match.test", {silent.resolver()}, start + Millis(300));
  EXPECT_LT(Clock::now() - start, Millis(450));
  EXPECT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr("timeout"));
}

TEST_F(DnsIntegrationTest, ResolveHostNameAndLiteral) {
  auto r = ResolveHost("mx1.match.test", {a_->resolver()},
                       Clock::now() + Millis(2000));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(*r, ElementsAre("127.0.0.10", "::1"));
  auto lit = ResolveHost("192.0.2.7", {}, Clock::now() + Millis(2000));
  ASSERT_TRUE(lit.ok());
  EXPECT_THAT(*lit, ElementsAre("192.0.2.7"));
  auto bad = ResolveHost("nosuch.match.test", {a_->resolver()},
                         Clock::now() + Millis(2000));
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("nxdomain"));
}

TEST_F(DnsIntegrationTest, ResolveMxRejectsHostNameResolver) {
  auto r =
      ResolveMx("match.test", {"ns.example.net"}, Clock::now() + Millis(500));
  EXPECT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr("not host names"));
}

}  // namespace
}  // namespace mailhealth::dns
