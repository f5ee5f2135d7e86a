// mx: and host-name targets resolved through a real DNS server (BIND 9 on
// 127.0.0.1, tests/testutil/dns_server.h): every address of every MX host
// is probed, and a backup MX that is down shows as its own failed series.
#include <gtest/gtest.h>

#include <map>

#include "collectors/smtp/smtp_collector.h"
#include "tests/smtp/fake_smtp_server.h"
#include "tests/testutil/dns_server.h"

namespace mailhealth::smtp {
namespace {

using namespace std::chrono_literals;

using Samples = std::map<std::string, double>;

class SmtpMxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // mx1 (preference 10) answers on 127.0.0.1; the backup mx2 resolves to
    // 127.0.0.2 where nothing listens; mx3 has no address at all.
    dns_ = testing::DnsServer::Start({{"mailhealth.test",
                                       "@ MX 10 mx1\n"
                                       "@ MX 20 mx2\n"
                                       "@ MX 30 mx3\n"
                                       "mx1 A 127.0.0.1\n"
                                       "mx2 A 127.0.0.2\n"}})
               .release();
    ASSERT_NE(dns_, nullptr) << testing::DnsServer::last_error();
    server_ = new testing::FakeSmtpServer(testing::GoodServer({}));
    port_ = std::to_string(server_->port());

    SmtpConfig cfg;
    cfg.helo = "probe.mailhealth.test";
    cfg.resolvers = {dns_->resolver()};
    for (const std::string& t :
         {"mx:mailhealth.test:" + port_, "mx1.mailhealth.test:" + port_,
          "mx:nxdomain.mailhealth.test:" + port_}) {
      cfg.targets.push_back(*ParseSmtpTarget(t));
    }
    auto c = MakeSmtpCollector(cfg, Millis(60000));
    CollectResult r = c->Collect(Clock::now() + 4s);
    samples_ = new Samples;
    for (const auto& f : r.families) {
      for (const auto& m : f.metric) {
        std::string key = f.name + "{";
        for (size_t i = 0; i < m.label.size(); ++i) {
          key += (i ? "," : "") + m.label[i].name + "=" + m.label[i].value;
        }
        (*samples_)[key + "}"] = m.gauge.value;
      }
    }
  }
  static void TearDownTestSuite() {
    delete samples_;
    delete server_;
    delete dns_;
  }
  static double At(const std::string& key) {
    auto it = samples_->find(key);
    EXPECT_NE(it, samples_->end()) << key;
    return it == samples_->end() ? -1 : it->second;
  }
  static std::string Mx() { return "mx:mailhealth.test:" + port_; }

  static testing::DnsServer* dns_;
  static testing::FakeSmtpServer* server_;
  static std::string port_;
  static Samples* samples_;
};
testing::DnsServer* SmtpMxTest::dns_ = nullptr;
testing::FakeSmtpServer* SmtpMxTest::server_ = nullptr;
std::string SmtpMxTest::port_;
Samples* SmtpMxTest::samples_ = nullptr;

TEST_F(SmtpMxTest, PrimaryMxAddressSucceeds) {
  EXPECT_EQ(At("mailhealth_smtp_probe_success{target=" + Mx() +
               ",address=127.0.0.1}"),
            1);
}

TEST_F(SmtpMxTest, BackupMxThatIsDownShows) {
  const std::string l = "{target=" + Mx() + ",address=127.0.0.2";
  EXPECT_EQ(At("mailhealth_smtp_probe_success" + l + "}"), 0);
  EXPECT_EQ(At("mailhealth_smtp_failure" + l + ",reason=refused}"), 1);
}

TEST_F(SmtpMxTest, MxHostWithoutAddressIsDnsFailureUnderItsName) {
  EXPECT_EQ(At("mailhealth_smtp_failure{target=" + Mx() +
               ",address=mx3.mailhealth.test,reason=dns_failure}"),
            1);
}

TEST_F(SmtpMxTest, CountsTheProbedAddresses) {
  EXPECT_EQ(At("mailhealth_smtp_target_addresses{target=" + Mx() + "}"), 2);
}

TEST_F(SmtpMxTest, ResolvePhaseIsTimed) {
  EXPECT_GT(At("mailhealth_smtp_phase_duration_seconds{target=" + Mx() +
               ",address=127.0.0.1,phase=resolve}"),
            0);
}

TEST_F(SmtpMxTest, HostNameTargetResolves) {
  EXPECT_EQ(At("mailhealth_smtp_probe_success{target=mx1.mailhealth.test:" +
               port_ + ",address=127.0.0.1}"),
            1);
}

TEST_F(SmtpMxTest, NxdomainIsDnsFailure) {
  EXPECT_EQ(At("mailhealth_smtp_failure{target=mx:nxdomain.mailhealth.test:" +
               port_ + ",address=,reason=dns_failure}"),
            1);
}

}  // namespace
}  // namespace mailhealth::smtp
