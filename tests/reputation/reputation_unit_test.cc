// Pure parts of the reputation collector: config parsing and its errors,
// DNSBL query names, answer classification, the answer cache, the families
// of a run, postconf output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <optional>

#include "collectors/postconf/postconf_reader.h"
#include "collectors/reputation/dnsbl.h"
#include "collectors/reputation/reputation_collector.h"
#include "collectors/reputation/reputation_config.h"
#include "collectors/reputation/reputation_lookup.h"
#include "collectors/reputation/reputation_metrics.h"
#include "daemon/config.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::reputation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------- config ----------

struct Loaded {
  ConfigErrors errors;
  std::optional<ReputationConfig> config;
};

std::unique_ptr<Loaded> Load(const std::string& yaml, bool enabled = true) {
  auto l = std::make_unique<Loaded>();
  ConfigNode node(YAML::Load(yaml), "collectors.reputation", "rep.yml",
                  &l->errors);
  CollectorSettings settings;
  settings.enabled = enabled;
  settings.timeout = Millis(20000);
  settings.interval = Millis(300000);
  settings.max_series = 5000;
  ReputationConfig c = ParseReputationConfig(node, settings);
  node.Finish();
  if (l->errors.empty()) l->config = std::move(c);
  return l;
}

TEST(ReputationConfigTest, ReadsEveryKey) {
  auto l = Load(R"(addresses: ["192.0.2.25", "2001:DB8:0::25"]
from_mx: [Example.COM.]
from_postfix: true
expect_ptr: Mail.Example.com.
min_interval: 30m
resolvers: ["192.0.2.53", "[2001:db8::53]:5353"]
zones:
  - name: bl.example.net
    listed_codes: ["127.0.0.2", "127.0.0.10-127.0.0.11", "127.0.1.0/24"]
    error_codes: ["127.255.255.254"]
    resolvers: ["198.18.0.53"]
  - name: ZEN.Spamhaus.org
)");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  const ReputationConfig& c = *l->config;
  EXPECT_THAT(c.addresses, ElementsAre("192.0.2.25", "2001:db8::25"));
  EXPECT_THAT(c.from_mx, ElementsAre("example.com"));
  EXPECT_TRUE(c.from_postfix);
  EXPECT_EQ(c.expect_ptr, "mail.example.com");
  EXPECT_EQ(c.min_interval, Millis(30 * 60 * 1000));
  EXPECT_EQ(c.interval, Millis(300000));
  EXPECT_EQ(c.timeout, Millis(20000));
  EXPECT_EQ(c.max_series, 5000);
  ASSERT_EQ(c.resolvers.size(), 2u);
  EXPECT_EQ(c.resolvers[1].ip, "2001:db8::53");
  EXPECT_EQ(c.resolvers[1].port, 5353);
  ASSERT_EQ(c.zones.size(), 2u);
  EXPECT_EQ(c.zones[0].name, "bl.example.net");
  EXPECT_THAT(c.zones[0].listed_codes,
              ElementsAre(CodeRange{0x7f000002, 0x7f000002},
                          CodeRange{0x7f00000a, 0x7f00000b},
                          CodeRange{0x7f000100, 0x7f0001ff}));
  EXPECT_THAT(c.zones[0].error_codes,
              ElementsAre(CodeRange{0x7ffffffe, 0x7ffffffe}));
  ASSERT_EQ(c.zones[0].resolvers.size(), 1u);
  EXPECT_EQ(c.zones[0].resolvers[0].ip, "198.18.0.53");
  EXPECT_EQ(c.zones[1].name, "zen.spamhaus.org");
  EXPECT_EQ(c.zones[1].listed_codes, SpamhausListedCodes());
  EXPECT_EQ(c.zones[1].error_codes, SpamhausErrorCodes());
  EXPECT_TRUE(c.zones[1].resolvers.empty());
}

TEST(ReputationConfigTest, Defaults) {
  auto l = Load("zones: [{name: bl.example.net}]\naddresses: [192.0.2.1]\n");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  const ReputationConfig& c = *l->config;
  EXPECT_FALSE(c.from_postfix);
  EXPECT_TRUE(c.from_mx.empty());
  EXPECT_TRUE(c.resolvers.empty());
  EXPECT_EQ(c.expect_ptr, "");
  EXPECT_EQ(c.min_interval, Millis(15 * 60 * 1000));
  EXPECT_THAT(c.zones[0].listed_codes,
              ElementsAre(CodeRange{0x7f000002, 0x7f0000fe}));
  EXPECT_THAT(c.zones[0].error_codes,
              ElementsAre(CodeRange{0x7fffff00, 0x7fffffff}));
  EXPECT_TRUE(l->errors.warnings().empty());
}

TEST(ReputationConfigTest, EnabledWithoutAddressesWarns) {
  auto l = Load("zones: [{name: bl.example.net}]\n");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  ASSERT_EQ(l->errors.warnings().size(), 1u);
  EXPECT_THAT(l->errors.warnings()[0],
              HasSubstr("no addresses, from_mx or from_postfix"));
}

// The warning only reads the config text: nothing is sent anywhere.
TEST(ReputationConfigTest, PublicResolverWarns) {
  auto l = Load(
      "addresses: [192.0.2.1]\nzones: [{name: bl.example.net}]\n"
      "resolvers: [\"8.8.8.8\", \"192.0.2.53\"]\n");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  ASSERT_EQ(l->errors.warnings().size(), 1u);
  EXPECT_THAT(l->errors.warnings()[0],
              HasSubstr("rep.yml:3: collectors.reputation.resolvers: "
                        "\"8.8.8.8\" is a public resolver"));
}

TEST(ReputationConfigTest, PublicResolverOfAZoneWarns) {
  auto l = Load(
      "addresses: [192.0.2.1]\nzones:\n  - name: bl.example.net\n"
      "    resolvers: [\"[2606:4700:4700::1111]:53\"]\n");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  ASSERT_EQ(l->errors.warnings().size(), 1u);
  EXPECT_THAT(l->errors.warnings()[0],
              HasSubstr("collectors.reputation.zones[0].resolvers: "
                        "\"[2606:4700:4700::1111]:53\" is a public resolver"));
}

TEST(ReputationConfigTest, KnowsPublicResolvers) {
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "9.9.9.9", "208.67.222.222",
                         "2001:4860:4860::8888", "2620:FE::FE"}) {
    EXPECT_TRUE(IsPublicResolver(ip)) << ip;
  }
  for (const char* ip : {"127.0.0.1", "192.0.2.53", "::1", "10.0.0.1"}) {
    EXPECT_FALSE(IsPublicResolver(ip)) << ip;
  }
}

TEST(ReputationConfigTest, SpamhausZones) {
  EXPECT_TRUE(IsSpamhausZone("zen.spamhaus.org"));
  EXPECT_TRUE(IsSpamhausZone("key.zen.dq.spamhaus.net"));
  EXPECT_FALSE(IsSpamhausZone("notspamhaus.org"));
  EXPECT_FALSE(IsSpamhausZone("bl.spamcop.net"));
}

TEST(ReputationConfigTest, DomainListsAndTheirDomains) {
  auto l = Load(R"(domains: [Example.COM., mail.example.org]
zones:
  - {name: zen.spamhaus.org}
  - {name: dbl.spamhaus.org, type: domain}
)");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  EXPECT_EQ(l->config->domains,
            (std::vector<std::string>{"example.com", "mail.example.org"}));
  ASSERT_EQ(l->config->zones.size(), 2u);
  EXPECT_FALSE(l->config->zones[0].domains);
  EXPECT_TRUE(l->config->zones[1].domains);
  // Spamhaus' DBL answers in 127.0.1.x: built in.
  bool dbl_code = false;
  for (const CodeRange& r : l->config->zones[1].listed_codes)
    dbl_code |= r.Contains(0x7f000102);
  EXPECT_TRUE(dbl_code);
  // A domain list with nothing to check is a warning.
  auto w = Load(
      "zones:\n  - {name: dbl.example, type: domain}\naddresses: "
      "[192.0.2.1]\n");
  ASSERT_TRUE(w->config);
  std::string warnings;
  for (const std::string& x : w->errors.warnings()) warnings += x + "\n";
  EXPECT_THAT(warnings, HasSubstr("neither domains nor from_mx"));
}

struct ConfigErrorCase {
  const char* yaml;
  const char* error;  // expected substring, with file:line: key
};
class ReputationConfigErrorTest
    : public ::testing::TestWithParam<ConfigErrorCase> {};
TEST_P(ReputationConfigErrorTest, Reports) {
  auto l = Load(GetParam().yaml);
  EXPECT_FALSE(l->config);
  EXPECT_THAT(l->errors.Joined(), HasSubstr(GetParam().error));
}
INSTANTIATE_TEST_SUITE_P(
    Table, ReputationConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"zones: []\naddresses: [mail.example.com]\n",
                        "rep.yml:2: collectors.reputation.addresses: "
                        "\"mail.example.com\" is not an IPv4 or IPv6 address"},
        ConfigErrorCase{"addresses: [192.0.2.1, 192.0.2.01]\n",
                        "rep.yml:1: collectors.reputation.addresses: "},
        ConfigErrorCase{"addresses: [192.0.2.1, \"192.0.2.1\"]\n",
                        "address \"192.0.2.1\" listed twice"},
        ConfigErrorCase{"addresses: [\"[2001:db8::1]\"]\n",
                        "is not an IPv4 or IPv6 address"},
        ConfigErrorCase{"from_mx: ['bad domain']\n",
                        "rep.yml:1: collectors.reputation.from_mx: invalid "
                        "domain name \"bad domain\""},
        ConfigErrorCase{"from_mx: [a.example, A.example.]\n",
                        "domain \"a.example\" listed twice"},
        ConfigErrorCase{"from_postfix: maybe\n",
                        "rep.yml:1: collectors.reputation.from_postfix"},
        ConfigErrorCase{"expect_ptr: 'mail example'\n",
                        "rep.yml:1: collectors.reputation.expect_ptr: invalid "
                        "host name"},
        ConfigErrorCase{"min_interval: 15x\n",
                        "rep.yml:1: collectors.reputation.min_interval"},
        ConfigErrorCase{"resolvers: [dns.google]\n",
                        "rep.yml:1: collectors.reputation.resolvers: invalid "
                        "resolver \"dns.google\""},
        ConfigErrorCase{"resolvers: [192.0.2.1, \"192.0.2.1:53\"]\n",
                        "resolver \"192.0.2.1:53\" listed twice"},
        ConfigErrorCase{"zones:\n  - {listed_codes: [127.0.0.2]}\n",
                        "rep.yml:2: collectors.reputation.zones[0].name: "
                        "missing"},
        ConfigErrorCase{"zones:\n  - {name: 'bad zone'}\n",
                        "invalid zone name \"bad zone\""},
        ConfigErrorCase{"zones:\n  - {name: dbl.example, type: domains}\n",
                        "rep.yml:2: collectors.reputation.zones[0].type: "
                        "unknown zone type \"domains\""},
        ConfigErrorCase{"domains: ['bad domain']\n",
                        "rep.yml:1: collectors.reputation.domains: invalid "
                        "domain name \"bad domain\""},
        ConfigErrorCase{"domains: [a.example, A.example.]\n",
                        "domain \"a.example\" listed twice"},
        ConfigErrorCase{
            "zones:\n  - {name: a.example}\n  - {name: A.example.}\n",
            "rep.yml:3: collectors.reputation.zones[1].name: zone "
            "\"a.example\" listed twice"},
        ConfigErrorCase{"zones:\n  - name: a.example\n    listed_codes: "
                        "[10.0.0.2]\n",
                        "rep.yml:3: collectors.reputation.zones[0]."
                        "listed_codes: return code \"10.0.0.2\" is outside "
                        "127.0.0.0/8"},
        ConfigErrorCase{
            "zones:\n  - name: a.example\n    error_codes: "
            "[127.0.0.x]\n",
            "rep.yml:3: collectors.reputation.zones[0].error_codes: "
            "invalid return code \"127.0.0.x\""},
        ConfigErrorCase{"zones:\n  - name: a.example\n    listed_codes: "
                        "[127.0.0.9-127.0.0.2]\n",
                        "first above last"},
        ConfigErrorCase{"zones:\n  - name: a.example\n    listed_codes: "
                        "[127.0.0.0/33]\n",
                        "invalid return code \"127.0.0.0/33\""},
        ConfigErrorCase{"zones:\n  - name: a.example\n    resolvers: [x]\n",
                        "rep.yml:3: collectors.reputation.zones[0].resolvers: "
                        "invalid resolver"},
        ConfigErrorCase{"zones:\n  - name: a.example\n    listed: [x]\n",
                        "rep.yml:3: collectors.reputation.zones[0]: unknown "
                        "key \"listed\""},
        ConfigErrorCase{"adresses: [192.0.2.1]\n",
                        "rep.yml:1: collectors.reputation: unknown key "
                        "\"adresses\""}));

TEST(ReputationConfigTest, CapsZones) {
  std::string yaml = "zones:\n";
  for (size_t i = 0; i <= kMaxZones; ++i)
    yaml += "  - {name: z" + std::to_string(i) + ".example}\n";
  auto l = Load(yaml);
  EXPECT_FALSE(l->config);
  EXPECT_THAT(l->errors.Joined(), HasSubstr("too many zones (33), at most 32"));
}

TEST(ReputationConfigTest, FrameworkDiscardsABadSection) {
  CollectorRegistry reg;
  reg.Register(ReputationCollectorInfo());
  auto loaded = LoadConfigFromString(
      reg,
      "collectors:\n  reputation:\n    enabled: true\n    addresses: [x]\n",
      "rep.yml", {});
  EXPECT_FALSE(loaded.ok());
  auto good = LoadConfigFromString(
      reg,
      "collectors:\n  reputation:\n    enabled: true\n    addresses: "
      "[192.0.2.1]\n    zones: [{name: bl.example.net}]\n",
      "rep.yml", {});
  EXPECT_TRUE(good.ok()) << good.status().message();
}

struct CodeCase {
  const char* text;
  bool ok;
  uint32_t first, last;
};
class CodeRangeTest : public ::testing::TestWithParam<CodeCase> {};
TEST_P(CodeRangeTest, Parses) {
  const CodeCase& c = GetParam();
  auto r = ParseCodeRange(c.text);
  ASSERT_EQ(r.ok(), c.ok) << c.text;
  if (!c.ok) return;
  EXPECT_EQ(r->first, c.first) << c.text;
  EXPECT_EQ(r->last, c.last) << c.text;
}
INSTANTIATE_TEST_SUITE_P(
    Table, CodeRangeTest,
    ::testing::Values(
        CodeCase{"127.0.0.2", true, 0x7f000002, 0x7f000002},
        CodeCase{"127.0.0.2-127.0.0.4", true, 0x7f000002, 0x7f000004},
        CodeCase{"127.255.255.0/24", true, 0x7fffff00, 0x7fffffff},
        CodeCase{"127.0.0.5/24", true, 0x7f000000, 0x7f0000ff},
        CodeCase{"127.1.2.3/32", true, 0x7f010203, 0x7f010203},
        CodeCase{"127.0.0.0/7", false, 0, 0},
        CodeCase{"128.0.0.1", false, 0, 0},
        CodeCase{"127.0.0.2-128.0.0.2", false, 0, 0},
        CodeCase{"127.0.0.2-", false, 0, 0}, CodeCase{"::1", false, 0, 0},
        CodeCase{"", false, 0, 0}));

// ---------- query names ----------

struct NameCase {
  const char* address;
  const char* zone;
  const char* query;
  const char* reverse;
};
class QueryNameTest : public ::testing::TestWithParam<NameCase> {};
TEST_P(QueryNameTest, Builds) {
  const NameCase& c = GetParam();
  EXPECT_EQ(DnsblQueryName(c.address, c.zone), c.query);
  EXPECT_EQ(ReverseName(c.address), c.reverse);
}
INSTANTIATE_TEST_SUITE_P(
    Table, QueryNameTest,
    ::testing::Values(
        NameCase{"127.0.0.2", "zen.spamhaus.org", "2.0.0.127.zen.spamhaus.org",
                 "2.0.0.127.in-addr.arpa"},
        NameCase{"192.0.2.99", "bl.test", "99.2.0.192.bl.test",
                 "99.2.0.192.in-addr.arpa"},
        // RFC 5782 4: the IPv6 test entry ::FFFF:7F00:2 in nibble form.
        NameCase{"::ffff:7f00:2", "bl.test",
                 "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                 "0.0.bl.test",
                 "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                 "0.0.ip6.arpa"},
        NameCase{"2001:DB8::1", "bl.test",
                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0."
                 "0.2.bl.test",
                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0."
                 "0.2.ip6.arpa"},
        NameCase{"mail.example.com", "bl.test", "", ""}));

// ---------- classification ----------

struct ClassCase {
  const char* name;
  DnsStatus dns;
  std::vector<std::string> answers;
  bool spamhaus;  // zen.spamhaus.org's built-in codes, else the defaults
  LookupStatus status;
  bool listed;
  std::vector<std::string> codes;
};
class ClassifyTest : public ::testing::TestWithParam<ClassCase> {};
TEST_P(ClassifyTest, Classifies) {
  const ClassCase& c = GetParam();
  ZoneConfig z;
  z.name = c.spamhaus ? "zen.spamhaus.org" : "bl.test";
  z.listed_codes = c.spamhaus ? SpamhausListedCodes() : DefaultListedCodes();
  z.error_codes = c.spamhaus ? SpamhausErrorCodes() : DefaultErrorCodes();
  Classification r = ClassifyAnswer(c.dns, c.answers, z);
  EXPECT_EQ(LookupStatusName(r.status), std::string(LookupStatusName(c.status)))
      << c.name;
  EXPECT_EQ(r.listed, c.listed) << c.name;
  EXPECT_EQ(r.codes, c.codes) << c.name;
}
using S = LookupStatus;
using D = DnsStatus;
INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyTest,
    ::testing::Values(
        ClassCase{
            "nxdomain", D::kNxDomain, {}, false, S::kNotListed, false, {}},
        ClassCase{"nodata", D::kNoError, {}, false, S::kNotListed, false, {}},
        ClassCase{"listed",
                  D::kNoError,
                  {"127.0.0.2"},
                  false,
                  S::kListed,
                  true,
                  {"127.0.0.2"}},
        ClassCase{"listed two codes, every record counts",
                  D::kNoError,
                  {"127.0.0.10", "127.0.0.4", "127.0.0.4"},
                  false,
                  S::kListed,
                  true,
                  {"127.0.0.4", "127.0.0.10"}},
        ClassCase{"127.0.0.1 is no listing",
                  D::kNoError,
                  {"127.0.0.1"},
                  false,
                  S::kOther,
                  false,
                  {"127.0.0.1"}},
        ClassCase{"127.0.0.255 outside the default",
                  D::kNoError,
                  {"127.0.0.255"},
                  false,
                  S::kOther,
                  false,
                  {"127.0.0.255"}},
        ClassCase{"public resolver (default error range)",
                  D::kNoError,
                  {"127.255.255.254"},
                  false,
                  S::kErrorBlockedResolver,
                  false,
                  {"127.255.255.254"}},
        ClassCase{"spamhaus typing error",
                  D::kNoError,
                  {"127.255.255.252"},
                  true,
                  S::kErrorBlockedResolver,
                  false,
                  {"127.255.255.252"}},
        ClassCase{"spamhaus public resolver",
                  D::kNoError,
                  {"127.255.255.254"},
                  true,
                  S::kErrorBlockedResolver,
                  false,
                  {"127.255.255.254"}},
        ClassCase{"spamhaus rate limited",
                  D::kNoError,
                  {"127.255.255.255"},
                  true,
                  S::kErrorRateLimited,
                  false,
                  {"127.255.255.255"}},
        ClassCase{"spamhaus dbl code listed",
                  D::kNoError,
                  {"127.0.1.2"},
                  true,
                  S::kListed,
                  true,
                  {"127.0.1.2"}},
        ClassCase{"error code wins over a listed code",
                  D::kNoError,
                  {"127.0.0.2", "127.255.255.254"},
                  false,
                  S::kErrorBlockedResolver,
                  false,
                  {"127.0.0.2", "127.255.255.254"}},
        ClassCase{"rewritten NXDOMAIN",
                  D::kNoError,
                  {"198.18.7.7"},
                  false,
                  S::kErrorRewritten,
                  false,
                  {}},
        ClassCase{"rewritten beside a code",
                  D::kNoError,
                  {"127.0.0.2", "198.18.7.7"},
                  false,
                  S::kErrorRewritten,
                  false,
                  {"127.0.0.2"}},
        ClassCase{"timeout", D::kTimeout, {}, false, S::kTimeout, false, {}},
        ClassCase{"servfail", D::kServFail, {}, false, S::kServFail, false, {}},
        ClassCase{"refused", D::kRefused, {}, false, S::kRefused, false, {}},
        ClassCase{"formerr", D::kFormErr, {}, false, S::kOther, false, {}},
        ClassCase{"other", D::kOther, {}, false, S::kOther, false, {}}),
    [](const ::testing::TestParamInfo<ClassCase>& i) {
      std::string n;
      for (char ch : std::string(i.param.name))
        n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

TEST(ClassifyTest, CustomCodes) {
  ZoneConfig z;
  z.name = "bl.test";
  z.listed_codes = {{0x7f000005, 0x7f000005}};
  z.error_codes = {{0x7f000001, 0x7f000001}};
  EXPECT_EQ(ClassifyAnswer(D::kNoError, {"127.0.0.5"}, z).status, S::kListed);
  EXPECT_EQ(ClassifyAnswer(D::kNoError, {"127.0.0.2"}, z).status, S::kOther);
  EXPECT_EQ(ClassifyAnswer(D::kNoError, {"127.0.0.1"}, z).status,
            S::kErrorBlockedResolver);
}

TEST(ClassifyTest, KeepsAtMostSixteenCodes) {
  ZoneConfig z;
  z.listed_codes = DefaultListedCodes();
  z.error_codes = DefaultErrorCodes();
  std::vector<std::string> answers;
  for (int i = 2; i < 40; ++i)
    answers.push_back("127.0.0." + std::to_string(i));
  EXPECT_EQ(ClassifyAnswer(D::kNoError, answers, z).codes.size(),
            kMaxReturnCodes);
}

TEST(LookupStatusTest, EveryStatusHasItsName) {
  std::vector<std::string> names;
  for (LookupStatus s : kAllLookupStatuses)
    names.push_back(LookupStatusName(s));
  EXPECT_THAT(names,
              ElementsAre("listed", "not_listed", "error_blocked_resolver",
                          "error_rate_limited", "error_rewritten", "timeout",
                          "servfail", "refused", "other"));
}

// ---------- cache ----------

LookupResult Answer(DnsStatus s, uint32_t ttl) {
  LookupResult r;
  r.answered = true;
  r.status = s;
  r.answer.min_ttl = ttl;
  r.answer.addresses = {"127.0.0.2"};
  return r;
}

TEST(AnswerCacheTest, KeepsAnAnswerForItsTtlButAtLeastMinTtl) {
  AnswerCache cache(Millis(60000));
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  cache.Put("long", Answer(DnsStatus::kNoError, 300), t0);
  cache.Put("short", Answer(DnsStatus::kNoError, 5), t0);
  cache.Put("nx", Answer(DnsStatus::kNxDomain, 0), t0);
  EXPECT_NE(cache.Get("short", t0 + std::chrono::seconds(59)), nullptr);
  EXPECT_EQ(cache.Get("short", t0 + std::chrono::seconds(60)), nullptr);
  EXPECT_NE(cache.Get("nx", t0 + std::chrono::seconds(59)), nullptr);
  EXPECT_NE(cache.Get("long", t0 + std::chrono::seconds(299)), nullptr);
  EXPECT_EQ(cache.Get("long", t0 + std::chrono::seconds(300)), nullptr);
  cache.Expire(t0 + std::chrono::seconds(100));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(AnswerCacheTest, KeepsNoFailure) {
  AnswerCache cache(Millis(60000));
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  LookupResult timeout;  // not answered
  cache.Put("t", timeout, t0);
  cache.Put("s", Answer(DnsStatus::kServFail, 300), t0);
  cache.Put("r", Answer(DnsStatus::kRefused, 300), t0);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Get("t", t0), nullptr);
}

// ---------- families ----------

TEST(ReputationFamiliesTest, ExportsEveryStatusAndTheListings) {
  ReputationRun run;
  run.zones = {"a.test", "b.test"};
  AddressOutcome a;
  a.address = "192.0.2.1";
  a.zones.resize(2);
  a.zones[0].result = {S::kListed, true, {"127.0.0.2", "127.0.0.4"}};
  a.zones[1].result = {S::kErrorRateLimited, false, {"127.255.255.255"}};
  a.ptr_names = {"a.example", "b.example"};
  a.forward_confirmed = true;
  a.matches_expected = false;
  run.addresses.push_back(a);
  AddressOutcome b;
  b.address = "2001:db8::1";
  b.zones.resize(2);
  b.zones[0].result.status = S::kNotListed;
  b.zones[1].result.status = S::kTimeout;
  run.addresses.push_back(b);

  Families f = BuildReputationFamilies(run, Millis(300000));
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(Value(f, "mailhealth_dnsbl_listed",
                  {{"zone", "a.test"}, {"address", "192.0.2.1"}}),
            1);
  EXPECT_EQ(Value(f, "mailhealth_dnsbl_listed",
                  {{"zone", "b.test"}, {"address", "192.0.2.1"}}),
            0);
  EXPECT_EQ(Value(f, "mailhealth_dnsbl_return_code",
                  {{"zone", "a.test"},
                   {"address", "192.0.2.1"},
                   {"code", "127.0.0.4"}}),
            1);
  EXPECT_EQ(Value(f, "mailhealth_dnsbl_return_code",
                  {{"zone", "b.test"}, {"code", "127.255.255.255"}}),
            1);
  EXPECT_EQ(Value(f, "mailhealth_dnsbl_listings", {{"address", "192.0.2.1"}}),
            1);
  EXPECT_EQ(Value(f, "mailhealth_dnsbl_listings", {{"address", "2001:db8::1"}}),
            0);
  for (LookupStatus s : kAllLookupStatuses) {
    const Labels l = {{"zone", "b.test"},
                      {"address", "2001:db8::1"},
                      {"status", LookupStatusName(s)}};
    EXPECT_EQ(Value(f, "mailhealth_dnsbl_lookup_status", l),
              s == S::kTimeout ? 1 : 0)
        << LookupStatusName(s);
  }
  // 2 addresses x 2 zones x 9 statuses.
  EXPECT_EQ(f[2].metric.size(), 36u);
  EXPECT_EQ(Value(f, "mailhealth_reverse_dns_ptr_records",
                  {{"address", "192.0.2.1"}}),
            2);
  EXPECT_EQ(Value(f, "mailhealth_reverse_dns_forward_confirmed",
                  {{"address", "192.0.2.1"}}),
            1);
  EXPECT_EQ(Value(f, "mailhealth_reverse_dns_ptr_records",
                  {{"address", "2001:db8::1"}}),
            0);
  EXPECT_EQ(Value(f, "mailhealth_reverse_dns_matches_expected",
                  {{"address", "192.0.2.1"}}),
            0);
  // No expectation for b: no series.
  EXPECT_EQ(Value(f, "mailhealth_reverse_dns_matches_expected",
                  {{"address", "2001:db8::1"}}),
            std::nullopt);
  EXPECT_THAT(f[0].help, HasSubstr("Sampled every 5m."));
}

TEST(ReputationFamiliesTest, SeriesPerAddressCoversWhatIsBuilt) {
  ReputationRun run;
  run.zones = {"a.test", "b.test", "c.test"};
  AddressOutcome a;
  a.address = "192.0.2.1";
  a.zones.resize(3);
  a.matches_expected = true;
  run.addresses.push_back(a);
  size_t n = 0;
  for (const auto& f : BuildReputationFamilies(run, Millis(1000)))
    n += f.metric.size();
  EXPECT_EQ(n, SeriesPerAddress(3));
}

// ---------- postconf ----------

TEST(PostconfTest, BindAddresses) {
  EXPECT_THAT(postconf::BindAddresses({{"smtp_bind_address", "192.0.2.25"},
                                       {"smtp_bind_address6", "2001:DB8::25"},
                                       {"myhostname", "mail.example.com"}}),
              ElementsAre("192.0.2.25", "2001:db8::25"));
  EXPECT_TRUE(postconf::BindAddresses(
                  {{"smtp_bind_address", ""}, {"smtp_bind_address6", ""}})
                  .empty());
}

std::string WriteScript(const std::string& name, const std::string& body) {
  const std::string path = std::string(::testing::TempDir()) + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

TEST(PostconfTest, ReadsValuesInOrder) {
  const std::string p =
      WriteScript("postconf-ok",
                  "[ \"$1\" = -h ] || exit 3\n"
                  "echo 192.0.2.25\necho\necho mail.example.com\n");
  auto r = postconf::ReadPostconf(
      p, {"smtp_bind_address", "smtp_bind_address6", "myhostname"},
      Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->at("smtp_bind_address"), "192.0.2.25");
  EXPECT_EQ(r->at("smtp_bind_address6"), "");
  EXPECT_EQ(r->at("myhostname"), "mail.example.com");
}

TEST(PostconfTest, ReportsFailureWithStderr) {
  const std::string p =
      WriteScript("postconf-fail",
                  "echo 'postconf: fatal: open /etc/postfix/main.cf' >&2\n"
                  "exit 1\n");
  auto r = postconf::ReadPostconf(p, {"myhostname"},
                                  Clock::now() + std::chrono::seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("fatal: open /etc/postfix"));
}

TEST(PostconfTest, KilledAtTheDeadline) {
  const std::string p = WriteScript("postconf-hang", "exec sleep 30\n");
  const auto start = Clock::now();
  auto r = postconf::ReadPostconf(
      p, {"myhostname"}, Clock::now() + std::chrono::milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("did not finish in time"));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST(PostconfTest, MissingProgram) {
  auto r = postconf::ReadPostconf("/nonexistent/postconf", {"myhostname"},
                                  Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace mailhealth::reputation
