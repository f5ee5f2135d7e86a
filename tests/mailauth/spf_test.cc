// The SPF evaluator on fixed DNS answers: record selection, every
// mechanism, the lookup and void-lookup limits as RFC 7208 4.6.4 counts
// them, and the macro examples of RFC 7208 section 7.4.
#include "collectors/mailauth/spf.h"

#include <gtest/gtest.h>

#include <map>

namespace mailhealth::mailauth {
namespace {

// Answers from a table; a name/type not in it is NXDOMAIN. Counts queries.
class FakeDns : public SpfDns {
 public:
  void Txt(const std::string& n, std::vector<std::string> t) {
    LookupResult r = Ok();
    r.answer.texts = std::move(t);
    table_[{n, kTypeTxt}] = r;
  }
  void A(const std::string& n, std::vector<std::string> a,
         uint16_t type = kTypeA) {
    LookupResult r = Ok();
    r.answer.addresses = std::move(a);
    table_[{n, type}] = r;
  }
  void Mx(const std::string& n, std::vector<std::string> hosts) {
    LookupResult r = Ok();
    int pref = 10;
    for (auto& h : hosts) r.answer.mx.push_back({pref++, h});
    table_[{n, kTypeMx}] = r;
  }
  void Fail(const std::string& n, uint16_t type, DnsStatus s) {
    LookupResult r;
    r.status = s;
    table_[{n, type}] = r;
  }
  LookupResult Lookup(const std::string& name, uint16_t qtype) override {
    ++queries;
    auto it = table_.find({name, qtype});
    if (it != table_.end()) return it->second;
    LookupResult r;
    r.status = DnsStatus::kNxDomain;
    r.answered = true;
    return r;
  }
  int queries = 0;

 private:
  static LookupResult Ok() {
    LookupResult r;
    r.status = DnsStatus::kNoError;
    r.answered = true;
    return r;
  }
  std::map<std::pair<std::string, uint16_t>, LookupResult> table_;
};

SpfOutcome Check(FakeDns& dns, const std::string& ip,
                 const std::string& domain = "example.com") {
  SpfRequest r;
  r.ip = ip;
  r.domain = domain;
  return CheckHost(r, dns);
}

TEST(SpfTest, QualifiersAndIpMechanisms) {
  FakeDns dns;
  dns.Txt("example.com",
          {"v=spf1 ip4:192.0.2.0/24 -ip4:198.51.100.1 ~ip4:198.51.100.2 "
           "?ip4:198.51.100.3 ip6:2001:db8::/32 -all",
           "some other TXT record"});
  EXPECT_EQ(Check(dns, "192.0.2.77").result, SpfResult::kPass);
  EXPECT_EQ(Check(dns, "198.51.100.1").result, SpfResult::kFail);
  EXPECT_EQ(Check(dns, "198.51.100.2").result, SpfResult::kSoftFail);
  EXPECT_EQ(Check(dns, "198.51.100.3").result, SpfResult::kNeutral);
  EXPECT_EQ(Check(dns, "2001:db8:1::5").result, SpfResult::kPass);
  EXPECT_EQ(Check(dns, "2001:db9::5").result, SpfResult::kFail);
  SpfOutcome o = Check(dns, "203.0.113.1");
  EXPECT_EQ(o.result, SpfResult::kFail);
  EXPECT_EQ(o.records, 1);
  EXPECT_EQ(o.dns_lookups, 0);
}

TEST(SpfTest, NoneAndMultipleRecords) {
  FakeDns dns;
  dns.Txt("norecord.example", {"google-site-verification=x"});
  dns.Txt("two.example", {"v=spf1 -all", "v=spf1 ip4:192.0.2.1 -all"});
  dns.Txt("spf10.example", {"v=spf10 -all"});  // not "v=spf1"
  EXPECT_EQ(Check(dns, "192.0.2.1", "norecord.example").result,
            SpfResult::kNone);
  EXPECT_EQ(Check(dns, "192.0.2.1", "nxdomain.example").result,
            SpfResult::kNone);
  EXPECT_EQ(Check(dns, "192.0.2.1", "spf10.example").result, SpfResult::kNone);
  SpfOutcome two = Check(dns, "192.0.2.1", "two.example");
  EXPECT_EQ(two.result, SpfResult::kPermError);
  EXPECT_EQ(two.records, 2);
  dns.Fail("flaky.example", kTypeTxt, DnsStatus::kServFail);
  EXPECT_EQ(Check(dns, "192.0.2.1", "flaky.example").result,
            SpfResult::kTempError);
}

TEST(SpfTest, SyntaxErrorsAnywhereArePermerror) {
  FakeDns dns;
  dns.Txt("a.example", {"v=spf1 ip4:192.0.2.1 foo:bar -all"});
  dns.Txt("b.example", {"v=spf1 ip4:192.0.2.1 ip4:300.1.1.1 -all"});
  dns.Txt("c.example", {"v=spf1 ip4:192.0.2.1 a:/33 -all"});
  dns.Txt("d.example", {"v=spf1 redirect=x.example redirect=y.example"});
  dns.Txt("e.example", {"v=spf1 ip4:192.0.2.1 include -all"});
  dns.Txt("f.example", {"v=spf1 ip4:192.0.2.1 foo=bar -all"});  // unknown mod
  for (const char* d :
       {"a.example", "b.example", "c.example", "d.example", "e.example"})
    EXPECT_EQ(Check(dns, "192.0.2.1", d).result, SpfResult::kPermError) << d;
  EXPECT_EQ(Check(dns, "192.0.2.1", "f.example").result, SpfResult::kPass);
}

TEST(SpfTest, AMxIncludeRedirectExists) {
  FakeDns dns;
  dns.Txt("example.com",
          {"v=spf1 a mx:mail.example.com/24 include:_spf.example.net "
           "exists:%{i}.allow.example.com redirect=fallback.example"});
  dns.A("example.com", {"192.0.2.10"});
  dns.Mx("mail.example.com", {"mx1.example.com"});
  dns.A("mx1.example.com", {"198.51.100.200"});
  dns.Txt("_spf.example.net", {"v=spf1 ip4:203.0.113.0/25 -all"});
  dns.A("203.0.113.200.allow.example.com", {"127.0.0.2"});
  dns.Txt("fallback.example", {"v=spf1 ip4:203.0.113.250 ~all"});
  EXPECT_EQ(Check(dns, "192.0.2.10").result, SpfResult::kPass);     // a
  EXPECT_EQ(Check(dns, "198.51.100.7").result, SpfResult::kPass);   // mx/24
  EXPECT_EQ(Check(dns, "203.0.113.9").result, SpfResult::kPass);    // include
  EXPECT_EQ(Check(dns, "203.0.113.200").result, SpfResult::kPass);  // exists
  EXPECT_EQ(Check(dns, "203.0.113.250").result, SpfResult::kPass);  // redirect
  SpfOutcome o = Check(dns, "203.0.113.251");
  EXPECT_EQ(o.result, SpfResult::kSoftFail);
  // a, mx, include, exists, redirect: five terms; the exists name of
  // .251 does not exist: one void lookup.
  EXPECT_EQ(o.dns_lookups, 5);
  EXPECT_EQ(o.void_lookups, 1);
  SpfOutcome w = WalkPolicy("example.com", dns);
  EXPECT_EQ(w.dns_lookups, 5);
}

TEST(SpfTest, IncludeOfNothingIsPermerrorRedirectToo) {
  FakeDns dns;
  dns.Txt("a.example", {"v=spf1 include:gone.example -all"});
  dns.Txt("b.example", {"v=spf1 redirect=gone.example"});
  dns.Txt("c.example", {"v=spf1 include:tempfail.example -all"});
  dns.Fail("tempfail.example", kTypeTxt, DnsStatus::kTimeout);
  EXPECT_EQ(Check(dns, "192.0.2.1", "a.example").result, SpfResult::kPermError);
  EXPECT_EQ(Check(dns, "192.0.2.1", "b.example").result, SpfResult::kPermError);
  EXPECT_EQ(Check(dns, "192.0.2.1", "c.example").result, SpfResult::kTempError);
}

// A chain of includes: with 10 DNS-querying terms in all the check works,
// with 11 it is a permerror.
TEST(SpfTest, TenLookupsWorkElevenArePermerror) {
  FakeDns d2;
  for (int n : {10, 11}) {
    std::string base = "c" + std::to_string(n) + "-";
    for (int i = 0; i < n; ++i) {
      std::string next =
          i + 1 < n ? " include:" + base + std::to_string(i + 1) + ".example"
                    : " ip4:203.0.113.5";
      d2.Txt(base + std::to_string(i) + ".example",
             {"v=spf1" + next + " -all"});
    }
    d2.Txt("d" + std::to_string(n) + ".example",
           {"v=spf1 include:" + base + "0.example -all"});
  }
  // d10: include c10-0 ... c10-9: 10 include terms.
  SpfOutcome ok = Check(d2, "203.0.113.5", "d10.example");
  EXPECT_EQ(ok.result, SpfResult::kPass);
  EXPECT_EQ(ok.dns_lookups, 10);
  EXPECT_EQ(WalkPolicy("d10.example", d2).dns_lookups, 10);
  SpfOutcome over = Check(d2, "203.0.113.5", "d11.example");
  EXPECT_EQ(over.result, SpfResult::kPermError);
  EXPECT_EQ(over.dns_lookups, 11);
  EXPECT_NE(over.reason.find("more than 10"), std::string::npos);
}

TEST(SpfTest, TwoVoidLookupsWorkThreeArePermerror) {
  FakeDns dns;
  dns.Txt("two.example",
          {"v=spf1 a:gone1.example a:gone2.example ip4:192.0.2.1 -all"});
  dns.Txt("three.example", {"v=spf1 a:gone1.example a:gone2.example "
                            "exists:gone3.example ip4:192.0.2.1 -all"});
  SpfOutcome two = Check(dns, "192.0.2.1", "two.example");
  EXPECT_EQ(two.result, SpfResult::kPass);
  EXPECT_EQ(two.void_lookups, 2);
  SpfOutcome three = Check(dns, "192.0.2.1", "three.example");
  EXPECT_EQ(three.result, SpfResult::kPermError);
  EXPECT_EQ(three.void_lookups, 3);
}

TEST(SpfTest, MxWithMoreThanTenNamesIsPermerror) {
  FakeDns dns;
  std::vector<std::string> hosts;
  for (int i = 0; i < 11; ++i)
    hosts.push_back("mx" + std::to_string(i) + ".example");
  dns.Mx("many.example", hosts);
  dns.Txt("many.example", {"v=spf1 mx -all"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "many.example").result,
            SpfResult::kPermError);
}

TEST(SpfTest, WalkCountsEveryPathButNotARedirectBehindAll) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.0/24 include:a.example mx a -all "
                          "redirect=b.example"});
  dns.Txt("a.example", {"v=spf1 a:x.a.example exists:y.a.example -all"});
  dns.A("x.a.example", {"198.51.100.1"});
  dns.A("y.a.example", {"127.0.0.2"});
  dns.Mx("example.com", {"mx.example.com"});
  dns.A("mx.example.com", {"198.51.100.2"});
  dns.A("example.com", {"198.51.100.3"});
  // 192.0.2.5 passes at once; the walk counts include (1), its a and
  // exists (2), mx (1), a (1): 5; the redirect is never reached (all).
  EXPECT_EQ(Check(dns, "192.0.2.5").dns_lookups, 0);
  SpfOutcome w = WalkPolicy("example.com", dns);
  EXPECT_EQ(w.dns_lookups, 5);
  EXPECT_EQ(w.void_lookups, 0);
}

TEST(SpfTest, RfcMacroExamples) {
  MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local = "strong-bad";
  c.sender_domain = "email.example.com";
  c.domain = "email.example.com";
  c.ip = "192.0.2.3";
  c.helo = "mx.example.org";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
       "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
       "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net",
       "example.com.trusted-domains.example.net"},
      {"%{h}%%%_%-", "mx.example.org% %20"},
      {"%{S}", "strong-bad%40email.example.com"},
  };
  for (const auto& [in, want] : cases) {
    std::string out;
    ASSERT_TRUE(ExpandMacros(in, c, &out)) << in;
    EXPECT_EQ(out, want) << in;
  }
  c.ip = "2001:db8::cb01";
  c.v6 = true;
  std::string out;
  ASSERT_TRUE(ExpandMacros("%{ir}.%{v}._spf.%{d2}", c, &out));
  EXPECT_EQ(out,
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
            "ip6._spf.example.com");
  for (const char* bad : {"%", "%{", "%{x}", "%{d0}", "%{}", "%a", "%{d2!}"})
    EXPECT_FALSE(ExpandMacros(bad, c, &out)) << bad;
}

}  // namespace
}  // namespace mailhealth::mailauth
