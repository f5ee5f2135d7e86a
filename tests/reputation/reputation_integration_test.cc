// The reputation collector against a real BIND 9 on loopback
// (tests/testutil/dns_server.h) serving a test blocklist, a zone that
// answers every name with a public-looking address (a resolver that
// rewrites NXDOMAIN), reverse zones and the hosts they name; plus a UDP
// socket that never answers. Exact values for each case of issue #13, and
// the query log proving the answer cache.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "collectors/reputation/dnsbl.h"
#include "collectors/reputation/reputation_collector.h"
#include "collectors/reputation/reputation_config.h"
#include "tests/testutil/dns_server.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::reputation {
namespace {

using mailhealth::testing::DnsServer;

// A UDP socket on 127.0.0.1 that reads nothing and answers nothing.
class SilentResolver {
 public:
  SilentResolver() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentResolver() { close(fd_); }
  std::string resolver() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// The relative name of `address` inside zone bl.test.
std::string InBl(const std::string& address) {
  std::string n = DnsblQueryName(address, "bl.test");
  return n.substr(0, n.size() - std::string(".bl.test").size());
}

class ReputationIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string bl =
        // RFC 5782 5: 127.0.0.2 listed, 127.0.0.1 not.
        InBl("127.0.0.2") + " A 127.0.0.2\n" + InBl("127.0.0.2") +
        " TXT \"test entry\"\n" +
        // Listed with two codes.
        InBl("198.18.0.10") + " A 127.0.0.2\n" + InBl("198.18.0.10") +
        " A 127.0.0.4\n" +
        // The "public resolver" error code: an error, never a listing.
        InBl("198.18.0.11") + " A 127.255.255.254\n" +
        // An IPv6 address in nibble form.
        InBl("2001:db8::2") + " A 127.0.0.3\n";
    srv_ = DnsServer::Start(
               {{"bl.test", bl},
                // Every name answers with an address outside 127/8, as a
                // resolver that rewrites NXDOMAIN does.
                {"rewrite.test", "* A 198.18.7.7\n"},
                {"0.18.198.in-addr.arpa",
                 // .10: no PTR at all.
                 "11 PTR noa.hosts.test.\n"    // PTR without an A record
                 "12 PTR other.hosts.test.\n"  // PTR whose A is another
                 "13 PTR a.hosts.test.\n"      // two PTRs, one confirms
                 "13 PTR b.hosts.test.\n"},
                {"hosts.test",
                 "other A 198.18.0.99\n"
                 "a A 198.18.0.50\n"
                 "b A 198.18.0.13\n"},
                // A domain list (RFC 5782 3): DOMAIN.dbl.test.
                {"dbl.test",
                 "mxsrc.test A 127.0.0.2\n"
                 "mxsrc.test A 127.0.0.3\n"
                 "blocked.test A 127.255.255.254\n"},
                // from_mx: two MX hosts, three addresses (one shared).
                {"mxsrc.test",
                 "@ MX 10 mx1\n"
                 "@ MX 20 mx2\n"
                 "mx1 A 127.0.0.2\n"
                 "mx1 AAAA 2001:db8::2\n"
                 "mx2 A 127.0.0.2\n"
                 "mx2 A 198.18.0.13\n"}},
               /*query_log=*/true)
               .release();
    ASSERT_NE(srv_, nullptr) << DnsServer::last_error();
  }
  static void TearDownTestSuite() {
    delete srv_;
    srv_ = nullptr;
  }

  static ReputationConfig Config(std::vector<std::string> addresses) {
    ReputationConfig c;
    c.addresses = std::move(addresses);
    c.resolvers = {*ParseResolverAddress(srv_->resolver())};
    ZoneConfig z;
    z.name = "bl.test";
    z.listed_codes = DefaultListedCodes();
    z.error_codes = DefaultErrorCodes();
    c.zones.push_back(z);
    z.name = "rewrite.test";
    c.zones.push_back(z);
    c.interval = Millis(60000);
    return c;
  }

  static DnsServer* srv_;
};
DnsServer* ReputationIntegrationTest::srv_ = nullptr;

double V(const Families& f, const std::string& name, const Labels& l) {
  auto v = Value(f, name, l);
  EXPECT_TRUE(v.has_value()) << name;
  return v.value_or(-1);
}

std::string StatusOf(const Families& f, const std::string& zone,
                     const std::string& address) {
  std::string found;
  for (LookupStatus s : kAllLookupStatuses) {
    if (Value(f, "mailhealth_dnsbl_lookup_status",
              {{"zone", zone},
               {"address", address},
               {"status", LookupStatusName(s)}}) == 1) {
      if (!found.empty()) return "more than one status";
      found = LookupStatusName(s);
    }
  }
  return found;
}

size_t CodeCount(const Families& f, const std::string& zone,
                 const std::string& address) {
  size_t n = 0;
  for (const auto& fam : f) {
    if (fam.name != "mailhealth_dnsbl_return_code") continue;
    for (const auto& m : fam.metric) {
      bool z = false, a = false;
      for (const auto& l : m.label) {
        z |= l.name == "zone" && l.value == zone;
        a |= l.name == "address" && l.value == address;
      }
      n += z && a;
    }
  }
  return n;
}

TEST_F(ReputationIntegrationTest, BlocklistCases) {
  auto c = MakeReputationCollector(Config(
      {"127.0.0.2", "127.0.0.1", "198.18.0.10", "198.18.0.11", "2001:db8::2"}));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok());
  const Families& f = r.families;
  const char* L = "mailhealth_dnsbl_listed";
  auto zl = [](const char* zone, const char* a) {
    return Labels{{"zone", zone}, {"address", a}};
  };
  // 127.0.0.2: listed with 127.0.0.2.
  EXPECT_EQ(V(f, L, zl("bl.test", "127.0.0.2")), 1);
  EXPECT_EQ(StatusOf(f, "bl.test", "127.0.0.2"), "listed");
  EXPECT_EQ(
      V(f, "mailhealth_dnsbl_return_code",
        {{"zone", "bl.test"}, {"address", "127.0.0.2"}, {"code", "127.0.0.2"}}),
      1);
  EXPECT_EQ(CodeCount(f, "bl.test", "127.0.0.2"), 1u);
  // 127.0.0.1: not listed (NXDOMAIN).
  EXPECT_EQ(V(f, L, zl("bl.test", "127.0.0.1")), 0);
  EXPECT_EQ(StatusOf(f, "bl.test", "127.0.0.1"), "not_listed");
  EXPECT_EQ(CodeCount(f, "bl.test", "127.0.0.1"), 0u);
  // Two codes, both exported.
  EXPECT_EQ(V(f, L, zl("bl.test", "198.18.0.10")), 1);
  EXPECT_EQ(StatusOf(f, "bl.test", "198.18.0.10"), "listed");
  EXPECT_EQ(CodeCount(f, "bl.test", "198.18.0.10"), 2u);
  EXPECT_EQ(V(f, "mailhealth_dnsbl_return_code",
              {{"zone", "bl.test"},
               {"address", "198.18.0.10"},
               {"code", "127.0.0.4"}}),
            1);
  // 127.255.255.254: an error, not listed.
  EXPECT_EQ(V(f, L, zl("bl.test", "198.18.0.11")), 0);
  EXPECT_EQ(StatusOf(f, "bl.test", "198.18.0.11"), "error_blocked_resolver");
  EXPECT_EQ(V(f, "mailhealth_dnsbl_return_code",
              {{"zone", "bl.test"},
               {"address", "198.18.0.11"},
               {"code", "127.255.255.254"}}),
            1);
  // IPv6 in nibble form.
  EXPECT_EQ(V(f, L, zl("bl.test", "2001:db8::2")), 1);
  EXPECT_EQ(StatusOf(f, "bl.test", "2001:db8::2"), "listed");
  // The rewriting "resolver": every address is an error, none listed.
  for (const char* a : {"127.0.0.2", "127.0.0.1", "198.18.0.10", "198.18.0.11",
                        "2001:db8::2"}) {
    EXPECT_EQ(V(f, L, zl("rewrite.test", a)), 0) << a;
    EXPECT_EQ(StatusOf(f, "rewrite.test", a), "error_rewritten") << a;
    EXPECT_EQ(CodeCount(f, "rewrite.test", a), 0u) << a;
  }
  // Listings count only real listings.
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listings", {{"address", "127.0.0.2"}}), 1);
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listings", {{"address", "198.18.0.10"}}), 1);
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listings", {{"address", "198.18.0.11"}}), 0);
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listings", {{"address", "127.0.0.1"}}), 0);
}

TEST_F(ReputationIntegrationTest, ReverseDnsCases) {
  ReputationConfig cfg =
      Config({"198.18.0.10", "198.18.0.11", "198.18.0.12", "198.18.0.13"});
  cfg.expect_ptr = "b.hosts.test";
  auto c = MakeReputationCollector(cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  const Families& f = r.families;
  const char* P = "mailhealth_reverse_dns_ptr_records";
  const char* F = "mailhealth_reverse_dns_forward_confirmed";
  const char* M = "mailhealth_reverse_dns_matches_expected";
  // PTR missing.
  EXPECT_EQ(V(f, P, {{"address", "198.18.0.10"}}), 0);
  EXPECT_EQ(V(f, F, {{"address", "198.18.0.10"}}), 0);
  EXPECT_EQ(V(f, M, {{"address", "198.18.0.10"}}), 0);
  // PTR without an A record.
  EXPECT_EQ(V(f, P, {{"address", "198.18.0.11"}}), 1);
  EXPECT_EQ(V(f, F, {{"address", "198.18.0.11"}}), 0);
  // PTR whose A is another address.
  EXPECT_EQ(V(f, P, {{"address", "198.18.0.12"}}), 1);
  EXPECT_EQ(V(f, F, {{"address", "198.18.0.12"}}), 0);
  EXPECT_EQ(V(f, M, {{"address", "198.18.0.12"}}), 0);
  // Two PTRs, one of which confirms (and is the expected name).
  EXPECT_EQ(V(f, P, {{"address", "198.18.0.13"}}), 2);
  EXPECT_EQ(V(f, F, {{"address", "198.18.0.13"}}), 1);
  EXPECT_EQ(V(f, M, {{"address", "198.18.0.13"}}), 1);
}

TEST_F(ReputationIntegrationTest, SilentResolverTimesOutAtTheDeadlineOnly) {
  SilentResolver silent;
  ReputationConfig cfg = Config({"127.0.0.2", "198.18.0.13"});
  ZoneConfig z;
  z.name = "silent.test";
  z.listed_codes = DefaultListedCodes();
  z.error_codes = DefaultErrorCodes();
  z.resolvers = {*ParseResolverAddress(silent.resolver())};
  cfg.zones.push_back(z);
  auto c = MakeReputationCollector(cfg);
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(1500);
  CollectResult r = c->Collect(deadline);
  const auto end = Clock::now();
  EXPECT_LE(end, deadline + std::chrono::milliseconds(100));
  const Families& f = r.families;
  for (const char* a : {"127.0.0.2", "198.18.0.13"}) {
    EXPECT_EQ(StatusOf(f, "silent.test", a), "timeout") << a;
    EXPECT_EQ(V(f, "mailhealth_dnsbl_listed",
                {{"zone", "silent.test"}, {"address", a}}),
              0);
  }
  // Nothing else is affected by the silent zone.
  EXPECT_EQ(StatusOf(f, "bl.test", "127.0.0.2"), "listed");
  EXPECT_EQ(StatusOf(f, "bl.test", "198.18.0.13"), "not_listed");
  EXPECT_EQ(StatusOf(f, "rewrite.test", "127.0.0.2"), "error_rewritten");
  EXPECT_EQ(V(f, "mailhealth_reverse_dns_forward_confirmed",
              {{"address", "198.18.0.13"}}),
            1);
}

// The same questions without the silent zone come back well before that
// deadline: the timeout above is the silent resolver's alone.
TEST_F(ReputationIntegrationTest, AnsweredRunIsFast) {
  auto c = MakeReputationCollector(Config({"127.0.0.2", "198.18.0.13"}));
  const auto start = Clock::now();
  CollectResult r = c->Collect(start + std::chrono::milliseconds(1500));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_EQ(StatusOf(r.families, "bl.test", "127.0.0.2"), "listed");
}

TEST_F(ReputationIntegrationTest, TenRunsInsideOneTtlAskEachQuestionOnce) {
  // An address no other test asks about, so the counts start at 0.
  ReputationConfig cfg = Config({"198.18.0.12"});
  cfg.min_interval = Millis(15 * 60 * 1000);
  const std::string q_bl = DnsblQueryName("198.18.0.12", "bl.test");
  const std::string q_rw = DnsblQueryName("198.18.0.12", "rewrite.test");
  const std::string q_ptr = ReverseName("198.18.0.12");
  const std::string q_fwd = "other.hosts.test";
  const int bl0 = srv_->QueryCount(q_bl), rw0 = srv_->QueryCount(q_rw),
            ptr0 = srv_->QueryCount(q_ptr), fwd0 = srv_->QueryCount(q_fwd);
  auto c = MakeReputationCollector(cfg);
  for (int i = 0; i < 10; ++i) {
    CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
    EXPECT_EQ(StatusOf(r.families, "bl.test", "198.18.0.12"), "not_listed");
    EXPECT_EQ(V(r.families, "mailhealth_reverse_dns_ptr_records",
                {{"address", "198.18.0.12"}}),
              1);
  }
  EXPECT_EQ(srv_->QueryCount(q_bl) - bl0, 1);
  EXPECT_EQ(srv_->QueryCount(q_rw) - rw0, 1);
  EXPECT_EQ(srv_->QueryCount(q_ptr) - ptr0, 1);
  EXPECT_EQ(srv_->QueryCount(q_fwd) - fwd0, 1);
}

// from_mx: the addresses of every MX host of the domain, resolved through
// the collector's resolvers, each checked once however many hosts share it.
TEST_F(ReputationIntegrationTest, FromMxChecksEveryAddressOfEveryMxHost) {
  ReputationConfig cfg = Config({});
  cfg.from_mx = {"mxsrc.test"};
  auto c = MakeReputationCollector(cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const Families& f = r.families;
  EXPECT_EQ(StatusOf(f, "bl.test", "127.0.0.2"), "listed");
  EXPECT_EQ(StatusOf(f, "bl.test", "2001:db8::2"), "listed");
  EXPECT_EQ(StatusOf(f, "bl.test", "198.18.0.13"), "not_listed");
  EXPECT_EQ(V(f, "mailhealth_reverse_dns_forward_confirmed",
              {{"address", "198.18.0.13"}}),
            1);
  // Three addresses, no more: the shared 127.0.0.2 once.
  size_t listings = 0;
  for (const auto& fam : f) {
    if (fam.name == "mailhealth_dnsbl_listings") listings = fam.metric.size();
  }
  EXPECT_EQ(listings, 3u);
  // A domain without MX is the run's problem, not a crash or a listing.
  cfg.from_mx = {"nomx.hosts.test"};
  CollectResult r2 = MakeReputationCollector(cfg)->Collect(
      Clock::now() + std::chrono::seconds(5));
  for (const auto& fam : r2.families) {
    if (fam.name == "mailhealth_dnsbl_listings") {
      EXPECT_EQ(fam.metric.size(), 0u);
    }
  }
}

// from_postfix: the real postconf reading a main.cf of the test's own
// (MAIL_CONFIG), never the machine's: smtp_bind_address(6) are checked,
// and myhostname is the expected PTR name. 15s: postconf -h myhostname
// takes about 2s in the test's network namespace (its host name lookups
// time out there), and gathering gets a third of the run.
TEST_F(ReputationIntegrationTest, FromPostfixReadsBindAddressesAndMyhostname) {
  if (access("/usr/sbin/postconf", X_OK) != 0) {
    GTEST_SKIP() << "no /usr/sbin/postconf";
  }
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() /
      ("mailhealth-reputation-postconf-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "main.cf") << "smtp_bind_address = 198.18.0.13\n"
                                    "smtp_bind_address6 = 2001:db8::2\n"
                                    "myhostname = b.hosts.test\n";
  std::ofstream(dir / "master.cf") << "";
  const char* before = std::getenv("MAIL_CONFIG");
  const std::string saved = before ? before : "";
  setenv("MAIL_CONFIG", dir.c_str(), 1);
  ReputationConfig cfg = Config({});
  cfg.from_postfix = true;
  CollectResult r = MakeReputationCollector(cfg)->Collect(
      Clock::now() + std::chrono::seconds(15));
  // The same with myhostname naming another host: not the expected PTR.
  std::ofstream(dir / "main.cf") << "smtp_bind_address = 198.18.0.13\n"
                                    "myhostname = mail.elsewhere.test\n";
  CollectResult r2 = MakeReputationCollector(cfg)->Collect(
      Clock::now() + std::chrono::seconds(15));
  if (before) {
    setenv("MAIL_CONFIG", saved.c_str(), 1);
  } else {
    unsetenv("MAIL_CONFIG");
  }
  fs::remove_all(dir);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_TRUE(r2.status.ok()) << r2.status.message();
  EXPECT_EQ(StatusOf(r.families, "bl.test", "198.18.0.13"), "not_listed");
  EXPECT_EQ(StatusOf(r.families, "bl.test", "2001:db8::2"), "listed");
  EXPECT_EQ(V(r.families, "mailhealth_reverse_dns_matches_expected",
              {{"address", "198.18.0.13"}}),
            1);
  EXPECT_EQ(V(r2.families, "mailhealth_reverse_dns_forward_confirmed",
              {{"address", "198.18.0.13"}}),
            1);
  EXPECT_EQ(V(r2.families, "mailhealth_reverse_dns_matches_expected",
              {{"address", "198.18.0.13"}}),
            0);
  EXPECT_FALSE(Value(r2.families, "mailhealth_dnsbl_listings",
                     {{"address", "2001:db8::2"}})
                   .has_value());
}

// Domain lists: the configured domains and the from_mx domains are asked
// on the type: domain zones only, as DOMAIN.ZONE; the addresses on the IP
// lists only; no reverse DNS series for a domain.
TEST_F(ReputationIntegrationTest, DomainListsAskDomainsAndOnlyDomains) {
  ReputationConfig cfg = Config({"198.18.0.13"});
  ZoneConfig dbl;
  dbl.name = "dbl.test";
  dbl.domains = true;
  dbl.listed_codes = DefaultListedCodes();
  dbl.error_codes = DefaultErrorCodes();
  cfg.zones.push_back(dbl);
  cfg.domains = {"clean.test", "blocked.test"};
  cfg.from_mx = {"mxsrc.test"};
  const int wrong0 =
      srv_->QueryCount(DnsblQueryName("198.18.0.13", "dbl.test"));
  CollectResult r = MakeReputationCollector(cfg)->Collect(
      Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const Families& f = r.families;
  EXPECT_EQ(StatusOf(f, "dbl.test", "mxsrc.test"), "listed");
  EXPECT_EQ(CodeCount(f, "dbl.test", "mxsrc.test"), 2u);
  EXPECT_EQ(StatusOf(f, "dbl.test", "clean.test"), "not_listed");
  EXPECT_EQ(StatusOf(f, "dbl.test", "blocked.test"), "error_blocked_resolver");
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listed",
              {{"zone", "dbl.test"}, {"address", "blocked.test"}}),
            0);
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listings", {{"address", "mxsrc.test"}}), 1);
  EXPECT_EQ(V(f, "mailhealth_dnsbl_listings", {{"address", "clean.test"}}), 0);
  // The IP lists still see the addresses, the domain list does not.
  EXPECT_EQ(StatusOf(f, "bl.test", "127.0.0.2"), "listed");
  EXPECT_EQ(StatusOf(f, "bl.test", "198.18.0.13"), "not_listed");
  EXPECT_EQ(StatusOf(f, "dbl.test", "198.18.0.13"), "");
  EXPECT_EQ(StatusOf(f, "bl.test", "mxsrc.test"), "");
  EXPECT_EQ(
      srv_->QueryCount(DnsblQueryName("198.18.0.13", "dbl.test")) - wrong0, 0);
  EXPECT_FALSE(Value(f, "mailhealth_reverse_dns_ptr_records",
                     {{"address", "mxsrc.test"}})
                   .has_value());
  EXPECT_EQ(V(f, "mailhealth_reverse_dns_forward_confirmed",
              {{"address", "198.18.0.13"}}),
            1);
}

}  // namespace
}  // namespace mailhealth::reputation
