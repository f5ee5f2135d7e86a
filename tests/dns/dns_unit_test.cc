// Pure parts of the dns collector: resolver addresses, DNS reply parsing on
// constructed packets, status mapping, expectations, config validation and
// the metric families built from a run result.
#include <ares.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <thread>

#include "collectors/dns/dns_check.h"
#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_config.h"
#include "collectors/dns/dns_metrics.h"
#include "collectors/resolve/dns_client.h"
#include "collectors/resolve/dns_message.h"
#include "collectors/resolve/domain_name.h"
#include "collectors/resolve/resolver_address.h"
#include "daemon/config.h"
#include "exporter/metric_builder.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::dns {
namespace {

// ---------- resolver addresses ----------

struct AddrCase {
  const char* text;
  bool ok;
  const char* ip;
  uint16_t port;
};

class ResolverAddressTest : public ::testing::TestWithParam<AddrCase> {};

TEST_P(ResolverAddressTest, Parses) {
  const AddrCase& c = GetParam();
  auto r = ParseResolverAddress(c.text);
  ASSERT_EQ(r.ok(), c.ok) << c.text << ": " << r.status().message();
  if (!c.ok) return;
  EXPECT_EQ(r->ip, c.ip);
  EXPECT_EQ(r->port, c.port);
  EXPECT_EQ(r->label, c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResolverAddressTest,
    ::testing::Values(AddrCase{"192.0.2.53", true, "192.0.2.53", 53},
                      AddrCase{"192.0.2.53:5353", true, "192.0.2.53", 5353},
                      AddrCase{"[2001:db8::53]:53", true, "2001:db8::53", 53},
                      AddrCase{"[2001:DB8:0::53]", true, "2001:db8::53", 53},
                      AddrCase{"2001:db8::53", true, "2001:db8::53", 53},
                      AddrCase{"dns.example.com", false, "", 0},
                      AddrCase{"dns.example.com:53", false, "", 0},
                      AddrCase{"192.0.2.53:0", false, "", 0},
                      AddrCase{"192.0.2.53:65536", false, "", 0},
                      AddrCase{"192.0.2.53:", false, "", 0},
                      AddrCase{"[2001:db8::53", false, "", 0},
                      AddrCase{"[192.0.2.53]:53", false, "", 0},
                      AddrCase{"", false, "", 0}));

TEST(ResolverAddressTest, HostNameErrorSaysIpLiteralsAreNeeded) {
  auto r = ParseResolverAddress("ns1.example.net");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("not host names"));
}

// The smtp collector's `resolvers` are parsed by the same function (it had
// a validator of its own once): what it accepted and rejected still holds.
TEST(ParseResolverAddressTest, AcceptsWhatTheSmtpCollectorAccepted) {
  for (const char* r :
       {"192.0.2.53", "192.0.2.53:5353", "2001:db8::53", "[2001:db8::53]:53"}) {
    EXPECT_TRUE(ParseResolverAddress(r).ok()) << r;
  }
}

TEST(ParseResolverAddressTest, RejectsWhatTheSmtpCollectorRejected) {
  for (const char* r :
       {"ns1.example.com", "192.0.2.53:0", "192.0.2.53:x", "[ns1]:53", ""}) {
    EXPECT_FALSE(ParseResolverAddress(r).ok()) << r;
  }
}

// ---------- reply parsing on constructed packets ----------

class Packet {
 public:
  Packet(uint16_t qtype, int rcode, bool tc = false) {
    bytes_ = {0x12,
              0x34,
              static_cast<unsigned char>(0x81 | (tc ? 0x02 : 0)),
              static_cast<unsigned char>(0x80 | rcode),
              0,
              1,
              0,
              0,
              0,
              0,
              0,
              0};
    Name("example.test");
    Put16(qtype);
    Put16(1);
  }
  // Answer RR owned by the question name (compression pointer 0xc00c).
  Packet& Rr(uint16_t type, const std::vector<unsigned char>& rdata) {
    bytes_.insert(bytes_.end(), {0xc0, 0x0c});
    Put16(type);
    Put16(1);
    bytes_.insert(bytes_.end(), {0, 0, 1, 0x2c});
    Put16(static_cast<uint16_t>(rdata.size()));
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
    ++bytes_[7];
    return *this;
  }
  static std::vector<unsigned char> Encoded(const std::string& name) {
    std::vector<unsigned char> out;
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      out.push_back(static_cast<unsigned char>(dot - start));
      out.insert(out.end(), name.begin() + start, name.begin() + dot);
      start = dot + 1;
    }
    out.push_back(0);
    return out;
  }
  static std::vector<unsigned char> Mx(uint16_t pref, const std::string& host) {
    std::vector<unsigned char> v = {static_cast<unsigned char>(pref >> 8),
                                    static_cast<unsigned char>(pref & 0xff)};
    auto n = Encoded(host == "." ? "" : host);
    v.insert(v.end(), n.begin(), n.end());
    return v;
  }
  const std::vector<unsigned char>& bytes() const { return bytes_; }

 private:
  void Name(const std::string& n) {
    auto e = Encoded(n);
    bytes_.insert(bytes_.end(), e.begin(), e.end());
  }
  void Put16(uint16_t v) {
    bytes_.push_back(static_cast<unsigned char>(v >> 8));
    bytes_.push_back(static_cast<unsigned char>(v & 0xff));
  }
  std::vector<unsigned char> bytes_;
};

Result<DnsAnswer> Parse(const Packet& p, uint16_t qtype) {
  return ParseDnsResponse(p.bytes().data(), p.bytes().size(), qtype);
}

TEST(ValidDomainNameTest, LabelsLengthsAndCharacters) {
  using mailhealth::resolve::ValidDomainName;
  EXPECT_TRUE(ValidDomainName("example.com"));
  EXPECT_FALSE(
      ValidDomainName("example.com."));  // written without the root dot
  EXPECT_TRUE(ValidDomainName("_dmarc.mx-1.example.com"));
  EXPECT_TRUE(ValidDomainName(std::string(63, 'a') + ".test"));
  EXPECT_FALSE(ValidDomainName(std::string(64, 'a') + ".test"));
  EXPECT_FALSE(ValidDomainName(""));
  EXPECT_FALSE(ValidDomainName("."));
  EXPECT_FALSE(ValidDomainName("a..b"));
  EXPECT_FALSE(ValidDomainName(".example.com"));
  EXPECT_FALSE(ValidDomainName("exa mple.com"));
  EXPECT_FALSE(ValidDomainName("192.0.2.1:25"));
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  EXPECT_FALSE(ValidDomainName(long_name + "test"));  // > 253
}

TEST(DnsMessageTest, ParsesMxRecordsNormalized) {
  Packet p(kTypeMx, 0);
  p.Rr(kTypeMx, Packet::Mx(10, "MX1.Example.TEST"))
      .Rr(kTypeMx, Packet::Mx(20, "mx2.example.test"));
  auto a = Parse(p, kTypeMx);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->rcode, 0);
  ASSERT_EQ(a->mx.size(), 2u);
  EXPECT_EQ(a->mx[0], (MxRecord{10, "mx1.example.test"}));
  EXPECT_EQ(a->mx[1], (MxRecord{20, "mx2.example.test"}));
}

TEST(DnsMessageTest, NullMxExchangeIsRoot) {
  Packet p(kTypeMx, 0);
  p.Rr(kTypeMx, Packet::Mx(0, "."));
  auto a = Parse(p, kTypeMx);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->mx.size(), 1u);
  EXPECT_EQ(a->mx[0], (MxRecord{0, "."}));
}

TEST(DnsMessageTest, ParsesAddressesAndCnameChain) {
  Packet p(kTypeA, 0);
  p.Rr(kTypeCname, Packet::Encoded("real.example.test"))
      .Rr(kTypeA, {192, 0, 2, 1})
      .Rr(kTypeA, {192, 0, 2, 2});
  auto a = Parse(p, kTypeA);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_THAT(a->addresses, ::testing::ElementsAre("192.0.2.1", "192.0.2.2"));
  EXPECT_THAT(a->cname_chain, ::testing::ElementsAre("real.example.test"));
}

TEST(DnsMessageTest, ParsesAaaaCanonically) {
  Packet p(kTypeAaaa, 0);
  p.Rr(kTypeAaaa,
       {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53});
  auto a = Parse(p, kTypeAaaa);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->addresses, ::testing::ElementsAre("2001:db8::53"));
}

TEST(DnsMessageTest, OnlyRecordsOfTheAskedTypeCount) {
  Packet p(kTypeA, 0);
  p.Rr(kTypeAaaa, std::vector<unsigned char>(16, 0)).Rr(kTypeA, {10, 0, 0, 1});
  auto a = Parse(p, kTypeA);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->count(), 1u);
}

TEST(DnsMessageTest, ReadsRcodeAndTruncation) {
  auto a = Parse(Packet(kTypeMx, 3, /*tc=*/true), kTypeMx);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->rcode, 3);
  EXPECT_TRUE(a->truncated);
  EXPECT_EQ(a->count(), 0u);
}

TEST(DnsMessageTest, RejectsRecordPastTheEnd) {
  Packet p(kTypeA, 0);
  p.Rr(kTypeA, {10, 0, 0, 1});
  auto bytes = p.bytes();
  ASSERT_GT(bytes.size(), 2u);
  bytes.erase(bytes.end() - 2, bytes.end());
  EXPECT_FALSE(ParseDnsResponse(bytes.data(), bytes.size(), kTypeA).ok());
}

TEST(DnsMessageTest, RejectsShortPacketAndQuery) {
  const unsigned char tiny[5] = {1, 2, 3, 4, 5};
  EXPECT_FALSE(ParseDnsResponse(tiny, sizeof tiny, kTypeA).ok());
  auto bytes = Packet(kTypeA, 0).bytes();
  bytes[2] &= 0x7f;  // QR=0: a query, not a reply
  EXPECT_FALSE(ParseDnsResponse(bytes.data(), bytes.size(), kTypeA).ok());
}

TEST(DnsMessageTest, RejectsBadAddressLength) {
  Packet p(kTypeA, 0);
  p.Rr(kTypeA, {10, 0, 0});
  EXPECT_FALSE(Parse(p, kTypeA).ok());
}

TEST(DnsMessageTest, ParsesTlsaRecords) {
  Packet p(kTypeTlsa, 0);
  p.Rr(kTypeTlsa, {3, 1, 1, 0xde, 0xad, 0xbe, 0xef})
      .Rr(kTypeTlsa, {2, 0, 0})  // empty association data
      .Rr(kTypeTxt, {1, 'x'});
  auto a = Parse(p, kTypeTlsa);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->tlsa.size(), 2u);
  EXPECT_EQ(a->tlsa[0], (TlsaRecord{3, 1, 1, "\xde\xad\xbe\xef"}));
  EXPECT_EQ(a->tlsa[1], (TlsaRecord{2, 0, 0, ""}));
  EXPECT_EQ(a->count(), 2u);
  EXPECT_TRUE(a->texts.empty());
}

TEST(DnsMessageTest, RejectsShortTlsaRecord) {
  Packet p(kTypeTlsa, 0);
  p.Rr(kTypeTlsa, {3, 1});
  EXPECT_FALSE(Parse(p, kTypeTlsa).ok());
}

TEST(DnsMessageTest, ReadsTheAdBit) {
  auto bytes = Packet(kTypeTlsa, 0).bytes();
  auto a = ParseDnsResponse(bytes.data(), bytes.size(), kTypeTlsa);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->authenticated);  // 0x80 in byte 3 is RA, not AD
  bytes[3] |= 0x20;
  a = ParseDnsResponse(bytes.data(), bytes.size(), kTypeTlsa);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->authenticated);
  EXPECT_EQ(a->rcode, 0);
}

// A one-shot UDP responder on 127.0.0.1: records the query it got and
// answers it with the AD bit set, echoing ID and question.
class OneShotResponder {
 public:
  OneShotResponder() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &l);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      unsigned char buf[512];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0,
                           reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 12) return;
      query_.assign(buf, buf + n);
      buf[2] |= 0x80;  // QR
      buf[3] = 0x20;   // AD, NOERROR
      sendto(fd_, buf, static_cast<size_t>(n), 0,
             reinterpret_cast<sockaddr*>(&from), fl);
    });
  }
  ~OneShotResponder() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<unsigned char> TakeQuery() {
    thread_.join();
    thread_ = std::thread([] {});
    return query_;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<unsigned char> query_;
};

LookupResult QueryLoopback(uint16_t port, bool request_ad) {
  auto addr = ParseResolverAddress("127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(addr.ok());
  DnsBatchOptions o;
  o.request_ad = request_ad;
  o.tries = 1;
  auto batch = DnsBatch::Create({{*addr}}, o);
  EXPECT_TRUE(batch.ok());
  LookupResult out;
  (*batch)->Query(0, "_25._tcp.mx.example.test", kTypeTlsa,
                  [&](const LookupResult& r) { out = r; });
  (*batch)->Run(Clock::now() + std::chrono::seconds(3));
  return out;
}

TEST(DnsBatchAdTest, RequestAdSetsTheBitInTheQueryAndReadsItInTheReply) {
  OneShotResponder server;
  LookupResult r = QueryLoopback(server.port(), true);
  auto q = server.TakeQuery();
  ASSERT_GE(q.size(), 12u);
  EXPECT_EQ(q[2] & 0x81, 0x01);  // a query (QR=0) with RD
  EXPECT_EQ(q[3] & 0x20, 0x20);  // AD
  EXPECT_EQ(q[11], 0);           // ARCOUNT: no EDNS
  ASSERT_TRUE(r.answered) << r.error;
  EXPECT_TRUE(r.answer.authenticated);
  EXPECT_EQ(r.status, DnsStatus::kNoError);
}

TEST(DnsBatchAdTest, DefaultQueriesLeaveAdClear) {
  OneShotResponder server;
  LookupResult r = QueryLoopback(server.port(), false);
  auto q = server.TakeQuery();
  ASSERT_GE(q.size(), 12u);
  EXPECT_EQ(q[2] & 0x81, 0x01);
  EXPECT_EQ(q[3] & 0x20, 0);
  ASSERT_TRUE(r.answered) << r.error;
}

struct RcodeCase {
  int rcode;
  DnsStatus status;
};
class RcodeTest : public ::testing::TestWithParam<RcodeCase> {};
TEST_P(RcodeTest, Maps) {
  EXPECT_EQ(StatusFromRcode(GetParam().rcode), GetParam().status);
}
INSTANTIATE_TEST_SUITE_P(Table, RcodeTest,
                         ::testing::Values(RcodeCase{0, DnsStatus::kNoError},
                                           RcodeCase{1, DnsStatus::kFormErr},
                                           RcodeCase{2, DnsStatus::kServFail},
                                           RcodeCase{3, DnsStatus::kNxDomain},
                                           RcodeCase{4, DnsStatus::kOther},
                                           RcodeCase{5, DnsStatus::kRefused},
                                           RcodeCase{9, DnsStatus::kOther}));

struct AresCase {
  int code;
  DnsStatus status;
};
class AresCodeTest : public ::testing::TestWithParam<AresCase> {};
TEST_P(AresCodeTest, Maps) {
  EXPECT_EQ(StatusFromAresCode(GetParam().code), GetParam().status);
}
INSTANTIATE_TEST_SUITE_P(
    Table, AresCodeTest,
    ::testing::Values(AresCase{ARES_ENODATA, DnsStatus::kNoError},
                      AresCase{ARES_ENOTFOUND, DnsStatus::kNxDomain},
                      AresCase{ARES_ESERVFAIL, DnsStatus::kServFail},
                      AresCase{ARES_EREFUSED, DnsStatus::kRefused},
                      AresCase{ARES_EFORMERR, DnsStatus::kFormErr},
                      AresCase{ARES_ETIMEOUT, DnsStatus::kTimeout},
                      AresCase{ARES_ECANCELLED, DnsStatus::kTimeout},
                      AresCase{ARES_ECONNREFUSED, DnsStatus::kOther},
                      AresCase{ARES_EBADRESP, DnsStatus::kOther}));

TEST(DnsMessageTest, NormalizeName) {
  EXPECT_EQ(NormalizeName("MX1.Example.COM."), "mx1.example.com");
  EXPECT_EQ(NormalizeName("."), ".");
  EXPECT_EQ(NormalizeName(""), ".");
}

// ---------- expectations ----------

std::vector<ExpectedMx> Expect(const std::vector<std::string>& texts) {
  std::vector<ExpectedMx> out;
  for (const auto& t : texts) {
    auto e = ParseExpectedMx(t);
    EXPECT_TRUE(e.ok()) << t;
    if (e.ok()) out.push_back(*e);
  }
  return out;
}

struct MatchCase {
  std::vector<std::string> expected;
  std::vector<MxRecord> answer;
  bool match;
};
class MxMatchTest : public ::testing::TestWithParam<MatchCase> {};
TEST_P(MxMatchTest, Compares) {
  EXPECT_EQ(MxMatchesExpected(GetParam().answer, Expect(GetParam().expected)),
            GetParam().match);
}
INSTANTIATE_TEST_SUITE_P(
    Table, MxMatchTest,
    ::testing::Values(
        MatchCase{{"10 MX1.example.com.", "mx2.example.com"},
                  {{10, "mx1.example.com"}, {20, "mx2.example.com"}},
                  true},
        MatchCase{{"20 mx1.example.com"}, {{10, "mx1.example.com"}}, false},
        MatchCase{{"mx1.example.com"},
                  {{10, "mx1.example.com"}, {20, "mx2.example.com"}},
                  false},
        MatchCase{{"mx1.example.com", "mx2.example.com"},
                  {{10, "mx1.example.com"}},
                  false},
        MatchCase{{"mx1.example.com"}, {}, false},
        MatchCase{{"."}, {{0, "."}}, true},
        MatchCase{{"0 ."}, {{0, "."}}, true},
        MatchCase{{"."}, {{10, "mx1.example.com"}}, false}));

TEST(ExpectedMxTest, RejectsMalformedEntries) {
  EXPECT_FALSE(ParseExpectedMx("ten mx1.example.com").ok());
  EXPECT_FALSE(ParseExpectedMx("10 mx1.example.com extra").ok());
  EXPECT_FALSE(ParseExpectedMx("70000 mx1.example.com").ok());
  EXPECT_FALSE(ParseExpectedMx("mx1..example.com").ok());
}

// ---------- config ----------

struct Loaded {
  ConfigErrors errors;
  std::optional<DnsConfig> config;
};

std::unique_ptr<Loaded> Load(const std::string& yaml) {
  auto l = std::make_unique<Loaded>();
  ConfigNode node(YAML::Load(yaml), "collectors.dns", "dns.yml", &l->errors);
  CollectorSettings settings;
  settings.timeout = Millis(5000);
  settings.interval = Millis(60000);
  DnsConfig c = ParseDnsConfig(node, settings);
  node.Finish();
  if (l->errors.empty()) l->config = std::move(c);
  return l;
}

TEST(DnsConfigTest, ReadsEveryKey) {
  auto l = Load(R"(resolvers: ["192.0.2.53", "[2001:db8::53]:5353"]
domains:
  - name: Example.COM.
    expect_mx: ["10 mx1.example.com", "mx2.example.com"]
    expect_addresses: {mx1.example.com: ["192.0.2.25", "2001:DB8::25"]}
    check_domain_addresses: true
)");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  const auto& c = *l->config;
  EXPECT_THAT(c.ResolverLabels(),
              ::testing::ElementsAre("192.0.2.53", "[2001:db8::53]:5353"));
  ASSERT_EQ(c.domains.size(), 1u);
  EXPECT_EQ(c.domains[0].name, "example.com");
  EXPECT_TRUE(c.domains[0].has_expect_mx);
  EXPECT_EQ(c.domains[0].expect_mx.size(), 2u);
  EXPECT_THAT(c.domains[0].expect_addresses.at("mx1.example.com"),
              ::testing::ElementsAre("192.0.2.25", "2001:db8::25"));
  EXPECT_TRUE(c.domains[0].check_domain_addresses);
}

TEST(DnsConfigTest, NoResolversMeansSystem) {
  auto l = Load("domains: [{name: example.com}]\n");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  EXPECT_THAT(l->config->ResolverLabels(), ::testing::ElementsAre("system"));
  EXPECT_FALSE(l->config->domains[0].has_expect_mx);
}

struct ConfigErrorCase {
  const char* yaml;
  const char* error;  // expected substring, with file:line: key
};
class DnsConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};
TEST_P(DnsConfigErrorTest, Reports) {
  auto l = Load(GetParam().yaml);
  EXPECT_FALSE(l->config);
  EXPECT_THAT(l->errors.Joined(), ::testing::HasSubstr(GetParam().error));
}
INSTANTIATE_TEST_SUITE_P(
    Table, DnsConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"domains: []\nresolvers: [ns1.example.net]\n",
                        "dns.yml:2: collectors.dns.resolvers: invalid resolver "
                        "\"ns1.example.net\""},
        ConfigErrorCase{
            "resolvers: [192.0.2.1, \"192.0.2.1:53\"]\n",
            "collectors.dns.resolvers: resolver \"192.0.2.1:53\" listed twice"},
        ConfigErrorCase{
            "domains:\n  - {name: a.example}\n  - {name: A.example.}\n",
            "dns.yml:3: collectors.dns.domains[1].name: domain "
            "\"a.example\" listed twice"},
        ConfigErrorCase{"domains:\n  - {expect_mx: [mx.example.com]}\n",
                        "collectors.dns.domains[0].name: missing"},
        ConfigErrorCase{"domains:\n  - {name: 'bad domain'}\n",
                        "invalid domain name"},
        ConfigErrorCase{
            "domains:\n  - name: a.example\n    expect_mx: ['x y z']\n",
            "dns.yml:3: collectors.dns.domains[0].expect_mx: invalid MX"},
        ConfigErrorCase{"domains:\n  - name: a.example\n    expect_mx: []\n",
                        "expect_mx: empty list"},
        ConfigErrorCase{"domains:\n  - name: a.example\n    expect_addresses: "
                        "{mx.a.example: [mx.b.example]}\n",
                        "is not an IP address"},
        ConfigErrorCase{"domains:\n  - name: a.example\n    expect_mxx: [a]\n",
                        "dns.yml:3: collectors.dns.domains[0]: unknown key "
                        "\"expect_mxx\""}));

TEST(DnsConfigTest, CapsDomainsTimesResolvers) {
  std::string yaml = "resolvers: [127.0.0.1, 127.0.0.2, 127.0.0.3]\ndomains:\n";
  for (int i = 0; i < 334; ++i)
    yaml += "  - {name: d" + std::to_string(i) + ".example}\n";
  auto l = Load(yaml);
  EXPECT_FALSE(l->config);
  EXPECT_THAT(l->errors.Joined(),
              ::testing::HasSubstr("1002 checks, more than the limit of 1000"));
}

TEST(DnsConfigTest, FactoryRejectsBadConfigWithoutIo) {
  ConfigErrors errors;
  ConfigNode node(YAML::Load("resolvers: [dns.google]\n"), "collectors.dns",
                  "dns.yml", &errors);
  CollectorContext ctx{"dns", {}};
  (void)DnsCollectorInfo().factory(ctx, node);  // no I/O, whatever it returns
  EXPECT_THAT(errors.Joined(), ::testing::HasSubstr("invalid resolver"));
  // The framework counts the error and keeps no collector.
  CollectorRegistry reg;
  reg.Register(DnsCollectorInfo());
  auto loaded = LoadConfigFromString(
      reg,
      "collectors:\n  dns:\n    enabled: true\n    resolvers: [dns.google]\n",
      "dns.yml", {});
  EXPECT_FALSE(loaded.ok());
}

// ---------- families from a run result ----------

LookupResult Answered(DnsStatus s, std::vector<MxRecord> mx = {},
                      std::vector<std::string> addrs = {}) {
  LookupResult l;
  l.status = s;
  l.answered = true;
  l.answer.mx = std::move(mx);
  l.answer.addresses = std::move(addrs);
  l.duration_seconds = 0.001;
  return l;
}

DnsConfig TwoResolverConfig() {
  auto l = Load(R"(resolvers: ["127.0.0.1:1053", "127.0.0.1:2053"]
domains:
  - {name: a.example, expect_mx: ["10 mx.a.example"]}
)");
  return *l->config;
}

TEST(DnsReportTest, ExportsEveryStatusWithOneSet) {
  DnsConfig c = TwoResolverConfig();
  DnsRunResult run;
  run.results = {{{}, {}}};
  run.results[0][0].mx = Answered(DnsStatus::kNxDomain);
  auto fs = BuildDnsFamilies(c, run);
  int ones = 0, total = 0;
  for (DnsStatus s : kAllDnsStatuses) {
    auto v =
        Value(fs, kDnsLookupStatus,
              {{"resolver", "127.0.0.1:1053"}, {"status", DnsStatusName(s)}});
    ASSERT_TRUE(v) << DnsStatusName(s);
    ones += *v == 1;
    ++total;
  }
  EXPECT_EQ(total, 7);
  EXPECT_EQ(ones, 1);
  EXPECT_EQ(Value(fs, kDnsLookupStatus,
                  {{"resolver", "127.0.0.1:1053"}, {"status", "nxdomain"}}),
            1);
  // The second resolver never answered: timeout.
  EXPECT_EQ(Value(fs, kDnsLookupStatus,
                  {{"resolver", "127.0.0.1:2053"}, {"status", "timeout"}}),
            1);
}

TEST(DnsReportTest, ResolversDisagreeOnDifferentMxSets) {
  DnsConfig c = TwoResolverConfig();
  DnsRunResult run;
  run.results = {{{}, {}}};
  run.results[0][0].mx = Answered(DnsStatus::kNoError, {{10, "mx.a.example"}});
  run.results[0][1].mx = Answered(DnsStatus::kNoError, {{10, "mx.b.example"}});
  auto fs = BuildDnsFamilies(c, run);
  EXPECT_EQ(
      Value(fs, kDnsResolversAgree, {{"domain", "a.example"}, {"qtype", "MX"}}),
      0);
  EXPECT_EQ(Value(fs, kDnsMxMatchesExpected, {{"resolver", "127.0.0.1:1053"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxMatchesExpected, {{"resolver", "127.0.0.1:2053"}}),
            0);
}

TEST(DnsReportTest, FailedResolverDoesNotCountAsDisagreement) {
  DnsConfig c = TwoResolverConfig();
  DnsRunResult run;
  run.results = {{{}, {}}};
  run.results[0][0].mx = Answered(DnsStatus::kNoError, {{10, "mx.a.example"}});
  run.results[0][1].mx = Answered(DnsStatus::kServFail);
  auto fs = BuildDnsFamilies(c, run);
  EXPECT_EQ(
      Value(fs, kDnsResolversAgree, {{"domain", "a.example"}, {"qtype", "MX"}}),
      1);
}

TEST(DnsReportTest, DisagreeOnMxHostAddresses) {
  DnsConfig c = TwoResolverConfig();
  DnsRunResult run;
  run.results = {{{}, {}}};
  for (int r = 0; r < 2; ++r) {
    run.results[0][r].mx =
        Answered(DnsStatus::kNoError, {{10, "mx.a.example"}});
    run.results[0][r].hosts["mx.a.example"].a =
        Answered(DnsStatus::kNoError, {}, {r == 0 ? "192.0.2.1" : "192.0.2.2"});
    run.results[0][r].hosts["mx.a.example"].aaaa =
        Answered(DnsStatus::kNoError);
  }
  auto fs = BuildDnsFamilies(c, run);
  EXPECT_EQ(
      Value(fs, kDnsResolversAgree, {{"domain", "a.example"}, {"qtype", "A"}}),
      0);
  EXPECT_EQ(Value(fs, kDnsResolversAgree,
                  {{"domain", "a.example"}, {"qtype", "AAAA"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxHostResolves,
                  {{"resolver", "127.0.0.1:1053"},
                   {"exchange", "mx.a.example"},
                   {"qtype", "A"}}),
            1);
  EXPECT_EQ(Value(fs, kDnsMxHostResolves,
                  {{"resolver", "127.0.0.1:1053"},
                   {"exchange", "mx.a.example"},
                   {"qtype", "AAAA"}}),
            0);
}

TEST(DnsReportTest, NoAgreementMetricWithOneResolver) {
  auto l = Load("resolvers: [127.0.0.1]\ndomains: [{name: a.example}]\n");
  DnsRunResult run;
  run.results = {{{}}};
  auto fs = BuildDnsFamilies(*l->config, run);
  EXPECT_FALSE(Value(fs, kDnsResolversAgree, {{"domain", "a.example"}}));
  EXPECT_FALSE(Value(fs, kDnsMxMatchesExpected, {}));  // no expect_mx
}

TEST(DnsBatchOptionsTest, SilentResolverGivesUpBeforeTheTimeout) {
  for (Millis t : {Millis(500), Millis(5000), Millis(30000)}) {
    DnsBatchOptions o = CollectorBatchOptions(t);
    // c-ares doubles the per-try timeout on each retry.
    Millis total{0};
    for (int i = 0; i < o.tries; ++i) total += o.try_timeout * (1 << i);
    EXPECT_LT(total, t);
    EXPECT_FALSE(o.failover);
  }
}

// 40 MX records in shuffled order (as unbound hands them out): the 32
// checked hosts are the most preferred, whatever the answer order.
std::vector<MxRecord> ShuffledMx() {
  std::vector<MxRecord> mx;
  for (int i = 0; i < 40; ++i) {
    mx.push_back({100 - i, "mx" + std::to_string(i) + ".a.example"});
  }
  std::vector<MxRecord> shuffled;
  for (int i = 0; i < 40; ++i) shuffled.push_back(mx[(i * 7) % 40]);
  return shuffled;
}

TEST(DnsCheckTest, CheckedExchangesAreTheMostPreferredWhateverTheOrder) {
  std::vector<MxRecord> mx = ShuffledMx();
  mx.push_back({5, "."});                // never checked
  mx.push_back({61, "mx39.a.example"});  // a duplicate host counts once
  std::vector<std::string> got = CheckedExchanges(mx);
  ASSERT_EQ(got.size(), kMaxExchangesPerDomain);
  // Preference 61 (mx39) first, then 62 (mx38) ... 92 (mx8).
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], "mx" + std::to_string(39 - i) + ".a.example") << i;
  }
  std::vector<MxRecord> reversed(mx.rbegin(), mx.rend());
  EXPECT_EQ(CheckedExchanges(reversed), got);
}

TEST(DnsReportTest, HostSeriesAreTheMostPreferredExchangesOfAShuffledAnswer) {
  DnsConfig c = TwoResolverConfig();
  DnsRunResult run;
  run.results = {{{}, {}}};
  run.results[0][0].mx = Answered(DnsStatus::kNoError, ShuffledMx());
  auto fs = BuildDnsFamilies(c, run);
  std::set<std::string> exchanges;
  for (const auto& f : fs) {
    if (f.name != kDnsMxHostResolves) continue;
    for (const auto& m : f.metric) {
      bool first = false;
      std::string ex;
      for (const auto& l : m.label) {
        if (l.name == "resolver") first = l.value == "127.0.0.1:1053";
        if (l.name == "exchange") ex = l.value;
      }
      if (first) exchanges.insert(ex);
    }
  }
  ASSERT_EQ(exchanges.size(), kMaxExchangesPerDomain);
  for (int i = 8; i < 40; ++i) {
    EXPECT_TRUE(exchanges.count("mx" + std::to_string(i) + ".a.example")) << i;
  }
}

}  // namespace
}  // namespace mailhealth::dns
