// The mailauth collector against a real BIND 9 on loopback
// (tests/testutil/dns_server.h) serving one zone, auth.test, with the SPF
// cases of issue #14 (a chain of 11 includes, one of exactly 10, two void
// lookups and three, two v=spf1 records, redirect=, exists: with macros,
// ip6:, mx, a softfail), DKIM keys made with openssl (one published key
// matching the local private key, one not, a revoked one, a missing one),
// DMARC variants and TLS-RPT records. Exact values for every case; and
// every SPF result agrees with a second, independent evaluator run here:
// pyspf (Debian's python3-spf, spf.check2) over dnspython pointed at the
// same BIND.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "collectors/mailauth/mailauth_collector.h"
#include "collectors/mailauth/mailauth_lookup.h"
#include "exporter/metric_builder.h"
#include "tests/mailauth/mailauth_test_util.h"
#include "tests/testutil/dns_server.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::mailauth {
namespace {

using mailhealth::testing::DnsServer;

using testutil::Output;

// A TXT value as zone-file strings of at most 255 bytes each.
std::string TxtStrings(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); i += 200)
    out += " \"" + v.substr(i, 200) + "\"";
  return out;
}

// The SPF cases: domain (under auth.test), addresses to check.
struct SpfCase {
  std::string domain;
  std::vector<std::string> addresses;
};

const std::vector<SpfCase>& SpfCases() {
  static const std::vector<SpfCase> cases = {
      {"chain10.auth.test", {"198.18.0.10", "198.18.0.11"}},
      {"chain11.auth.test", {"198.18.0.10"}},
      {"void2.auth.test", {"198.18.0.20", "198.18.0.21"}},
      {"void3.auth.test", {"198.18.0.20"}},
      {"two.auth.test", {"198.18.0.30"}},
      {"redir.auth.test", {"198.18.0.40", "198.18.1.40"}},
      {"macro.auth.test", {"198.18.0.50", "198.18.0.51"}},
      {"six.auth.test", {"2001:db8::25", "2001:db9::25", "198.18.0.60"}},
      {"mx.auth.test", {"198.18.0.70", "198.18.0.71"}},
      {"soft.auth.test", {"198.18.0.80"}},
      {"nospf.auth.test", {"198.18.0.90"}},
      {"gone.auth.test", {"198.18.0.91"}},
  };
  return cases;
}

std::string Zone(const std::string& pub_a, const std::string& pub_b) {
  std::string z;
  // A chain of includes: the head and links l1 ... lN, N include terms.
  auto chain = [&](const std::string& name, int n, const std::string& tail) {
    z += name + " TXT \"v=spf1 include:l1." + name + ".auth.test -all\"\n";
    for (int i = 1; i <= n; ++i) {
      std::string next = i < n ? "include:l" + std::to_string(i + 1) + "." +
                                     name + ".auth.test"
                               : tail;
      z += "l" + std::to_string(i) + "." + name + " TXT \"v=spf1 " + next +
           " -all\"\n";
    }
  };
  chain("chain10", 10, "ip4:198.18.0.10");
  chain("chain11", 11, "ip4:198.18.0.10");
  z += "void2 TXT \"v=spf1 a:nx1.auth.test a:nx2.auth.test "
       "ip4:198.18.0.20 -all\"\n";
  z += "void3 TXT \"v=spf1 a:nx1.auth.test a:nx2.auth.test "
       "exists:nx3.auth.test ip4:198.18.0.20 -all\"\n";
  z += "two TXT \"v=spf1 -all\"\ntwo TXT \"v=spf1 ip4:198.18.0.30 -all\"\n";
  z += "redir TXT \"v=spf1 redirect=_spf.auth.test\"\n";
  z += "_spf TXT \"v=spf1 ip4:198.18.0.0/24 -all\"\n";
  z += "macro TXT \"v=spf1 exists:%{i}._allow.%{d} -all\"\n";
  z += "198.18.0.50._allow.macro A 127.0.0.2\n";
  z += "six TXT \"v=spf1 ip6:2001:db8::/32 ~all\"\n";
  z += "mx TXT \"v=spf1 mx a:a.mx.auth.test/30 -all\"\n";
  z += "mx MX 10 mx1.auth.test.\nmx1 A 198.18.0.70\n";
  z += "a.mx A 198.18.0.100\n";
  z += "soft TXT \"v=spf1 ip4:198.18.5.0/24 ~all\"\n";
  z += "nospf TXT \"just some verification token\"\n";
  // DKIM: s1 = key A (the local key), s2 = key A but the local key is B,
  // s3 revoked, s4 missing; DMARC and TLS-RPT variants.
  z += "s1._domainkey.dk TXT" + TxtStrings("v=DKIM1; k=rsa; p=" + pub_a) + "\n";
  z += "s2._domainkey.dk TXT" + TxtStrings("v=DKIM1; k=rsa; p=" + pub_a) + "\n";
  z += "s3._domainkey.dk TXT \"v=DKIM1; k=rsa; p=\"\n";
  z += "s5._domainkey.dk TXT" + TxtStrings("v=DKIM1; k=rsa; p=" + pub_b) + "\n";
  z += "_dmarc.dk TXT \"v=DMARC1; p=reject; pct=50; "
       "rua=mailto:dmarc@auth.test\"\n";
  z += "_smtp._tls.dk TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@auth.test\"\n";
  z += "_dmarc.q TXT \"v=DMARC1; p=quarantine\"\n";
  z += "_smtp._tls.q TXT \"v=TLSRPTv1\"\n";
  z += "_dmarc.dup TXT \"v=DMARC1; p=none\"\n_dmarc.dup TXT \"v=DMARC1; "
       "p=reject\"\n";
  z += "_dmarc.badp TXT \"v=DMARC1; p=block\"\n";
  // from_mx: the MX hosts' addresses are the sending addresses; one is
  // in the policy, one is not.
  z += "frommx TXT \"v=spf1 ip4:198.18.0.110 -all\"\n";
  z += "frommx MX 10 mx1.frommx.auth.test.\nfrommx MX 20 "
       "mx2.frommx.auth.test.\n";
  z += "mx1.frommx A 198.18.0.110\nmx2.frommx A 198.18.0.111\n";
  return z;
}

class MailauthIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mailauth-it-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ASSERT_TRUE(testutil::MakeRsaKeys(dir_, {"a", "b"}));
    dns_ = DnsServer::Start(
               {{"auth.test", Zone(testutil::PublicKeyBase64(dir_, "a"),
                                   testutil::PublicKeyBase64(dir_, "b"))}})
               .release();
    ASSERT_NE(dns_, nullptr) << DnsServer::last_error();
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  static MailauthConfig Config() {
    MailauthConfig c;
    c.resolvers = {*ParseResolverAddress(dns_->resolver())};
    for (const SpfCase& s : SpfCases()) {
      DomainConfig d;
      d.name = s.domain;
      d.sending_addresses = s.addresses;
      d.dkim = false;
      d.dmarc = false;
      d.tlsrpt = false;
      c.domains.push_back(d);
    }
    DomainConfig dk;
    dk.name = "dk.auth.test";
    dk.spf = false;
    dk.dkim_selectors = {{"s1", dir_ + "/a.pem"},
                         {"s2", dir_ + "/b.pem"},
                         {"s3", ""},
                         {"s4", dir_ + "/a.pem"},
                         {"s5", ""}};
    c.domains.push_back(dk);
    for (const char* n : {"q.auth.test", "dup.auth.test", "badp.auth.test",
                          "nothing.auth.test"}) {
      DomainConfig d;
      d.name = n;
      d.spf = false;
      c.domains.push_back(d);
    }
    return c;
  }

  static std::string dir_;
  static DnsServer* dns_;
};
std::string MailauthIntegrationTest::dir_;
DnsServer* MailauthIntegrationTest::dns_ = nullptr;

double V(const Families& f, const std::string& name, const Labels& l) {
  auto v = Value(f, name, l);
  return v ? *v : -1;
}

// The result the collector reports for (domain, address).
std::string ResultOf(const Families& f, const std::string& domain,
                     const std::string& ip) {
  std::string found;
  for (size_t r = 0; r < kSpfResultCount; ++r) {
    const char* name = SpfResultName(SpfResult(r));
    if (V(f, "mailhealth_spf_result",
          {{"domain", domain}, {"address", ip}, {"result", name}}) == 1)
      found += found.empty() ? name : std::string(",") + name;
  }
  return found;
}

TEST_F(MailauthIntegrationTest, ExactValuesForEveryCase) {
  auto c = MakeMailauthCollector(Config());
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(20));
  ASSERT_TRUE(r.status.ok());
  const Families& f = r.families;
  const std::map<std::pair<std::string, std::string>, std::string> want = {
      {{"chain10.auth.test", "198.18.0.10"}, "pass"},
      {{"chain10.auth.test", "198.18.0.11"}, "fail"},
      {{"chain11.auth.test", "198.18.0.10"}, "permerror"},
      {{"void2.auth.test", "198.18.0.20"}, "pass"},
      {{"void2.auth.test", "198.18.0.21"}, "fail"},
      {{"void3.auth.test", "198.18.0.20"}, "permerror"},
      {{"two.auth.test", "198.18.0.30"}, "permerror"},
      {{"redir.auth.test", "198.18.0.40"}, "pass"},
      {{"redir.auth.test", "198.18.1.40"}, "fail"},
      {{"macro.auth.test", "198.18.0.50"}, "pass"},
      {{"macro.auth.test", "198.18.0.51"}, "fail"},
      {{"six.auth.test", "2001:db8::25"}, "pass"},
      {{"six.auth.test", "2001:db9::25"}, "softfail"},
      {{"six.auth.test", "198.18.0.60"}, "softfail"},
      {{"mx.auth.test", "198.18.0.70"}, "pass"},
      {{"mx.auth.test", "198.18.0.71"}, "fail"},
      {{"soft.auth.test", "198.18.0.80"}, "softfail"},
      {{"nospf.auth.test", "198.18.0.90"}, "none"},
      {{"gone.auth.test", "198.18.0.91"}, "none"},
  };
  for (const auto& [k, result] : want)
    EXPECT_EQ(ResultOf(f, k.first, k.second), result)
        << k.first << " " << k.second;
  auto dom = [&](const char* name, const std::string& d) {
    return V(f, name, {{"domain", d}});
  };
  // Lookups on the longest path, as the RFC counts them.
  EXPECT_EQ(dom("mailhealth_spf_dns_lookups", "chain10.auth.test"), 10);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "chain10.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_spf_dns_lookups", "chain11.auth.test"), 11);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "chain11.auth.test"), 0);
  EXPECT_EQ(dom("mailhealth_spf_void_lookups", "void2.auth.test"), 2);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "void2.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_spf_void_lookups", "void3.auth.test"), 3);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "void3.auth.test"), 0);
  EXPECT_EQ(dom("mailhealth_spf_records", "two.auth.test"), 2);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "two.auth.test"), 0);
  EXPECT_EQ(dom("mailhealth_spf_dns_lookups", "redir.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_spf_dns_lookups", "mx.auth.test"), 2);
  EXPECT_EQ(dom("mailhealth_spf_dns_lookups", "macro.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_spf_void_lookups", "macro.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_spf_records", "nospf.auth.test"), 0);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "nospf.auth.test"), 0);
  EXPECT_EQ(dom("mailhealth_spf_record_valid", "soft.auth.test"), 1);

  auto sel = [&](const char* name, const char* s) {
    return V(f, name, {{"domain", "dk.auth.test"}, {"selector", s}});
  };
  EXPECT_EQ(sel("mailhealth_dkim_key_valid", "s1"), 1);
  EXPECT_EQ(sel("mailhealth_dkim_key_bits", "s1"), 2048);
  EXPECT_EQ(sel("mailhealth_dkim_key_matches_local", "s1"), 1);
  EXPECT_EQ(sel("mailhealth_dkim_key_valid", "s2"), 1);
  EXPECT_EQ(sel("mailhealth_dkim_key_matches_local", "s2"), 0);
  EXPECT_EQ(sel("mailhealth_dkim_key_valid", "s3"), 0);  // revoked
  EXPECT_EQ(sel("mailhealth_dkim_key_bits", "s3"), 0);
  EXPECT_EQ(sel("mailhealth_dkim_key_matches_local", "s3"), -1);  // no file
  EXPECT_EQ(sel("mailhealth_dkim_key_valid", "s4"), 0);           // no record
  EXPECT_EQ(sel("mailhealth_dkim_key_matches_local", "s4"), 0);
  EXPECT_EQ(sel("mailhealth_dkim_key_valid", "s5"), 1);

  auto policy = [&](const std::string& d) {
    std::string p;
    for (const char* n : {"none", "quarantine", "reject", "missing"})
      if (V(f, "mailhealth_dmarc_policy", {{"domain", d}, {"policy", n}}) == 1)
        p += n;
    return p;
  };
  EXPECT_EQ(policy("dk.auth.test"), "reject");
  EXPECT_EQ(dom("mailhealth_dmarc_record_valid", "dk.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_dmarc_pct", "dk.auth.test"), 50);
  EXPECT_EQ(dom("mailhealth_dmarc_rua_configured", "dk.auth.test"), 1);
  EXPECT_EQ(policy("q.auth.test"), "quarantine");
  EXPECT_EQ(dom("mailhealth_dmarc_pct", "q.auth.test"), 100);
  EXPECT_EQ(dom("mailhealth_dmarc_rua_configured", "q.auth.test"), 0);
  for (const char* d :
       {"dup.auth.test", "badp.auth.test", "nothing.auth.test"}) {
    EXPECT_EQ(policy(d), "missing") << d;
    EXPECT_EQ(dom("mailhealth_dmarc_record_valid", d), 0) << d;
  }
  EXPECT_EQ(dom("mailhealth_tlsrpt_record_valid", "dk.auth.test"), 1);
  EXPECT_EQ(dom("mailhealth_tlsrpt_record_valid", "q.auth.test"), 0);  // no rua
  EXPECT_EQ(dom("mailhealth_tlsrpt_record_valid", "nothing.auth.test"), 0);
  // Skipped checks export nothing.
  EXPECT_EQ(dom("mailhealth_spf_records", "dk.auth.test"), -1);
  EXPECT_EQ(dom("mailhealth_dmarc_record_valid", "chain10.auth.test"), -1);
}

// The reputation collector's address sources: from_mx (the MX hosts'
// addresses, resolved each run) and from_postfix (the real postconf
// reading a main.cf of the test's own through MAIL_CONFIG, never the
// machine's).
TEST_F(MailauthIntegrationTest, AddressSourcesFromMxAndFromPostfix) {
  if (access("/usr/sbin/postconf", X_OK) != 0)
    GTEST_SKIP() << "no /usr/sbin/postconf";
  const std::string conf = dir_ + "/postfix";
  ASSERT_EQ(std::system(("mkdir -p " + conf).c_str()), 0);
  std::ofstream(conf + "/main.cf") << "smtp_bind_address = 198.18.0.10\n"
                                      "smtp_bind_address6 = 2001:db8::25\n";
  std::ofstream(conf + "/master.cf") << "";
  const char* before = std::getenv("MAIL_CONFIG");
  const std::string saved = before ? before : "";
  setenv("MAIL_CONFIG", conf.c_str(), 1);
  MailauthConfig c;
  c.resolvers = {*ParseResolverAddress(dns_->resolver())};
  DomainConfig mx;
  mx.name = "frommx.auth.test";
  mx.from_mx = true;
  mx.dkim = mx.dmarc = mx.tlsrpt = mx.mta_sts = mx.dane = false;
  DomainConfig pf;
  pf.name = "chain10.auth.test";
  pf.from_postfix = true;
  pf.sending_addresses = {"198.18.0.11"};
  pf.dkim = pf.dmarc = pf.tlsrpt = pf.mta_sts = pf.dane = false;
  c.domains = {mx, pf};
  CollectResult r = MakeMailauthCollector(c)->Collect(Clock::now() +
                                                      std::chrono::seconds(15));
  if (before) {
    setenv("MAIL_CONFIG", saved.c_str(), 1);
  } else {
    unsetenv("MAIL_CONFIG");
  }
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(ResultOf(r.families, "frommx.auth.test", "198.18.0.110"), "pass");
  EXPECT_EQ(ResultOf(r.families, "frommx.auth.test", "198.18.0.111"), "fail");
  // Configured first, then Postfix's bind addresses.
  EXPECT_EQ(ResultOf(r.families, "chain10.auth.test", "198.18.0.11"), "fail");
  EXPECT_EQ(ResultOf(r.families, "chain10.auth.test", "198.18.0.10"), "pass");
  EXPECT_EQ(ResultOf(r.families, "chain10.auth.test", "2001:db8::25"), "fail");
  EXPECT_EQ(r.detail.find("lookups failed"), std::string::npos) << r.detail;
}

// Every SPF case, case by case, against pyspf.
TEST_F(MailauthIntegrationTest, SpfAgreesWithPyspf) {
  if (std::system("/usr/bin/python3 -c 'import spf, dns.resolver' "
                  ">/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-spf and python3-dnspython are not installed "
                    "(scripts/bootstrap installs them)";
  const std::string script = dir_ + "/pyspf.py";
  std::ofstream(script) << R"(import sys, dns.resolver, spf
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = int(sys.argv[1])
dns.resolver.default_resolver = r
for line in sys.stdin:
    ip, domain = line.split()
    res = spf.check2(i=ip, s="postmaster@" + domain, h=domain)[0]
    print(ip, domain, res)
)";
  std::string input;
  size_t cases = 0;
  for (const SpfCase& s : SpfCases()) {
    for (const std::string& ip : s.addresses) {
      input += ip + " " + s.domain + "\n";
      ++cases;
    }
  }
  std::ofstream(dir_ + "/in.txt") << input;
  const std::string out =
      Output("/usr/bin/python3 " + script + " " + std::to_string(dns_->port()) +
             " < " + dir_ + "/in.txt");
  std::map<std::pair<std::string, std::string>, std::string> theirs;
  std::istringstream in(out);
  std::string ip, domain, res;
  while (in >> ip >> domain >> res) theirs[{ip, domain}] = res;
  ASSERT_EQ(theirs.size(), cases) << out;

  auto c = MakeMailauthCollector(Config());
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(20));
  for (const SpfCase& s : SpfCases())
    for (const std::string& a : s.addresses)
      EXPECT_EQ(ResultOf(r.families, s.domain, a), (theirs[{a, s.domain}]))
          << s.domain << " " << a;
}

}  // namespace
}  // namespace mailhealth::mailauth
