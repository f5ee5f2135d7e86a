// /probe with the real probers (smtp, dns) and a real DNS server (BIND 9 on
// 127.0.0.1, tests/testutil/dns_server.h): an mx: target is fenced by the
// addresses its MX hosts resolve to, before any connection; the dns prober
// answers with the dns collector's series and judges expect_mx from the
// module or the URL.
#include <gtest/gtest.h>

#include <future>

#include "cmd/builtin_collectors.h"
#include "daemon/config.h"
#include "daemon/probe_service.h"
#include "tests/smtp/fake_smtp_server.h"
#include "tests/testutil/dns_server.h"

namespace mailhealth {
namespace {

struct Answer {
  int status = 0;
  std::string body;
};

bool Has(const std::string& body, const std::string& line) {
  return body.find("\n" + line + "\n") != std::string::npos ||
         body.rfind(line + "\n", 0) == 0;
}

class ProbeDnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // mx1 answers SMTP on 127.0.0.1 (the fake server's port).
    dns_ = testing::DnsServer::Start({{"mailhealth.test",
                                       "@ MX 10 mx1\n"
                                       "mx1 A 127.0.0.1\n"},
                                      {"good.test",
                                       "@ MX 10 mx1\n"
                                       "@ MX 20 mx2\n"
                                       "mx1 A 192.0.2.1\n"
                                       "mx2 A 192.0.2.2\n"},
                                      {"nomx.test", "www A 192.0.2.9\n"}})
               .release();
    ASSERT_NE(dns_, nullptr) << testing::DnsServer::last_error();
    smtp_ = new testing::FakeSmtpServer(testing::GoodServer({}));
  }
  static void TearDownTestSuite() {
    delete smtp_;
    delete dns_;
  }

  void Load(const std::string& modules) {
    CollectorRegistry registry;
    RegisterBuiltinCollectors(registry);
    const std::string yaml =
        "collectors:\n  queue: {enabled: false}\n  log: {enabled: false}\n"
        "probe:\n  modules:\n" +
        modules;
    auto c = LoadConfigFromString(registry, yaml, "p.yml", {});
    ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << yaml;
    service_ = std::make_unique<ProbeService>(c->probe);
  }

  Answer Get(const std::string& query) {
    auto promise = std::make_shared<std::promise<Answer>>();
    auto f = promise->get_future();
    HttpRequest req;
    req.method = "GET";
    req.path = "/probe";
    req.query = query;
    service_->Handle(req, [promise](HttpResponse r) {
      promise->set_value({r.status, r.body});
    });
    return f.get();
  }

  std::string Port() const { return std::to_string(smtp_->port()); }
  std::string SmtpModule(const std::string& allowed) const {
    return "    m: {prober: smtp, timeout: 3s, helo: probe.mailhealth.test, "
           "resolvers: [\"" +
           dns_->resolver() + "\"], allowed_targets: [" + allowed + "]}\n";
  }
  std::string DnsModule(const std::string& extra = "") const {
    return "    d: {prober: dns, timeout: 3s, resolvers: [\"" +
           dns_->resolver() + "\"], allowed_targets: [good.test, nomx.test]" +
           extra + "}\n";
  }

  static testing::DnsServer* dns_;
  static testing::FakeSmtpServer* smtp_;
  std::unique_ptr<ProbeService> service_;
};

testing::DnsServer* ProbeDnsTest::dns_ = nullptr;
testing::FakeSmtpServer* ProbeDnsTest::smtp_ = nullptr;

TEST_F(ProbeDnsTest, MxResolvingToLoopbackIsRefusedWithoutACidrEntry) {
  const size_t before = smtp_->Commands().size();
  Load(SmtpModule("\"mailhealth.test:" + Port() + "\""));
  Answer a = Get("module=m&target=mx:mailhealth.test:" + Port());
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("mx1.mailhealth.test resolves to 127.0.0.1, a "
                        "loopback, private or reserved address"),
            std::string::npos)
      << a.body;
  EXPECT_EQ(smtp_->Commands().size(), before);  // nothing was sent
}

TEST_F(ProbeDnsTest, MxResolvingOutsideTheCidrsIsRefused) {
  const size_t before = smtp_->Commands().size();
  Load(SmtpModule("\"mailhealth.test:" + Port() +
                  "\", \"127.0.0.2/32:" + Port() + "\""));
  Answer a = Get("module=m&target=mx:mailhealth.test:" + Port());
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("resolves to 127.0.0.1 port " + Port() +
                        ", outside allowed_targets"),
            std::string::npos)
      << a.body;
  EXPECT_EQ(smtp_->Commands().size(), before);
}

TEST_F(ProbeDnsTest, MxInsideTheFenceIsProbed) {
  const size_t before = smtp_->Commands().size();
  Load(SmtpModule("\"mailhealth.test:" + Port() +
                  "\", \"127.0.0.0/8:" + Port() + "\""));
  const std::string target = "mx:mailhealth.test:" + Port();
  Answer a = Get("module=m&target=" + target);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(Has(a.body, "mailhealth_probe_success 1")) << a.body;
  EXPECT_TRUE(Has(a.body, "mailhealth_smtp_probe_success{target=\"" + target +
                              "\",address=\"127.0.0.1\"} 1"))
      << a.body;
  EXPECT_TRUE(Has(a.body, "mailhealth_smtp_esmtp{target=\"" + target +
                              "\",address=\"127.0.0.1\"} 1"))
      << a.body;
  EXPECT_GT(smtp_->Commands().size(), before);
}

TEST_F(ProbeDnsTest, DnsProberAnswersWithTheCollectorSeries) {
  Load(DnsModule());
  Answer a = Get("module=d&target=good.test");
  ASSERT_EQ(a.status, 200) << a.body;
  const std::string r = dns_->resolver();
  EXPECT_TRUE(Has(a.body, "mailhealth_probe_success 1")) << a.body;
  EXPECT_TRUE(Has(a.body,
                  "mailhealth_dns_lookup_success{domain=\"good.test\","
                  "resolver=\"" +
                      r + "\",qtype=\"MX\"} 1"))
      << a.body;
  EXPECT_TRUE(Has(a.body,
                  "mailhealth_dns_mx_info{domain=\"good.test\","
                  "resolver=\"" +
                      r +
                      "\",exchange=\"mx2.good.test\",preference="
                      "\"20\"} 1"))
      << a.body;
  // No expectation given: no expectation series.
  EXPECT_EQ(a.body.find("mailhealth_dns_mx_matches_expected{"),
            std::string::npos);
}

TEST_F(ProbeDnsTest, ExpectMxFromTheUrl) {
  Load(DnsModule());
  Answer ok = Get(
      "module=d&target=good.test&expect_mx=10+mx1.good.test&expect_mx=20+mx2."
      "good.test");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(Has(ok.body, "mailhealth_probe_success 1")) << ok.body;
  EXPECT_NE(ok.body.find("mailhealth_dns_mx_matches_expected{domain=\"good."
                         "test\",resolver=\"" +
                         dns_->resolver() + "\"} 1"),
            std::string::npos)
      << ok.body;
  Answer bad = Get("module=d&target=good.test&expect_mx=10+mx1.good.test");
  ASSERT_EQ(bad.status, 200) << bad.body;
  EXPECT_TRUE(Has(bad.body, "mailhealth_probe_success 0")) << bad.body;
  EXPECT_NE(bad.body.find("mailhealth_dns_mx_matches_expected{domain=\"good."
                          "test\",resolver=\"" +
                          dns_->resolver() + "\"} 0"),
            std::string::npos);
  Answer addr = Get(
      "module=d&target=good.test&expect_addresses=mx1.good.test%3D192.0.2.7");
  EXPECT_TRUE(Has(addr.body, "mailhealth_probe_success 0")) << addr.body;
  EXPECT_EQ(Get("module=d&target=good.test&expect_mx=1+2+3").status, 400);
  EXPECT_EQ(Get("module=d&target=good.test&bogus=1").status, 400);
}

TEST_F(ProbeDnsTest, ExpectMxFromTheModule) {
  Load(DnsModule(", expect_mx: [\"10 mx1.good.test\"]"));
  EXPECT_TRUE(
      Has(Get("module=d&target=good.test").body, "mailhealth_probe_success 0"));
  // The URL replaces the module's list.
  EXPECT_TRUE(Has(Get("module=d&target=good.test&expect_mx=mx1.good.test&"
                      "expect_mx=mx2.good.test")
                      .body,
                  "mailhealth_probe_success 1"));
}

TEST_F(ProbeDnsTest, DomainWithoutMxFailsAndOutsideTheFenceIs403) {
  Load(DnsModule());
  EXPECT_TRUE(
      Has(Get("module=d&target=nomx.test").body, "mailhealth_probe_success 0"));
  Answer a = Get("module=d&target=mailhealth.test");
  EXPECT_EQ(a.status, 403) << a.body;
}

}  // namespace
}  // namespace mailhealth
