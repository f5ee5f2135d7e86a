// The smtp collector: config validation (file:line errors) and the metric
// families of a run against fake peers on 127.0.0.1.
#include "collectors/smtp/smtp_collector.h"

#include <gtest/gtest.h>

#include <map>

#include "collectors/smtpprobe/smtp_probe.h"
#include "daemon/config.h"
#include "tests/smtp/fake_smtp_server.h"
#include "tests/testutil/samples.h"

namespace mailhealth::smtp {
namespace {

using namespace std::chrono_literals;
using testing::FakeConn;
using testing::FakeSmtpServer;
using testing::GoodServer;

// ---- config ----

Result<LoadedConfig> Load(const std::string& smtp_section) {
  CollectorRegistry reg;
  reg.Register(SmtpCollectorInfo());
  return LoadConfigFromString(reg, "collectors:\n  smtp:\n" + smtp_section,
                              "t.yml", {});
}

TEST(SmtpConfigTest, DefaultsAreValidAndDisabled) {
  Result<LoadedConfig> c = Load("    targets: []\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->collectors.empty());
}

TEST(SmtpConfigTest, AcceptsEveryKey) {
  Result<LoadedConfig> c = Load(
      "    enabled: true\n"
      "    interval: 60s\n"
      "    timeout: 10s\n"
      "    helo: probe.example.com\n"
      "    starttls: false\n"
      "    resolvers: [\"127.0.0.1:5353\", \"[::1]:53\"]\n"
      "    targets: [\"mx1.example.com:25\", \"mx:example.com\", "
      "\"lmtp:127.0.0.1:24\",\n"
      "              \"127.0.0.1:10024\", \"smtps:[::1]:4650\"]\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->collectors.size(), 1u);
}

struct ConfigErrorCase {
  const char* name;
  std::string section;
  std::string error;  // exact
};

class SmtpConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(SmtpConfigErrorTest, ReportsFileLineAndKey) {
  Result<LoadedConfig> c = Load(GetParam().section);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, SmtpConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{
            "bad_target",
            "    targets:\n      - \"mx1.example.com:25\"\n      - "
            "\"mx1.example.com\"\n",
            "t.yml:5: collectors.smtp.targets[1]: invalid target "
            "\"mx1.example.com\": missing port (expected HOST:PORT)"},
        ConfigErrorCase{"duplicate",
                        "    targets:\n      - \"mx:example.com\"\n      - "
                        "\"mx:example.com\"\n",
                        "t.yml:5: collectors.smtp.targets[1]: duplicate target "
                        "\"mx:example.com\""},
        ConfigErrorCase{"mapping_target", "    targets:\n      - {host: x}\n",
                        "t.yml:4: collectors.smtp.targets[0]: expected a "
                        "string (HOST:PORT, "
                        "mx:DOMAIN[:PORT], lmtp:HOST:PORT, smtps:HOST:PORT)"},
        ConfigErrorCase{
            "resolver_name", "    resolvers: [ns1.example.com]\n",
            "t.yml:3: collectors.smtp.resolvers: invalid resolver "
            "\"ns1.example.com\": not an IP address (resolvers must be IP "
            "literals such as 192.0.2.53, 192.0.2.53:5353 or "
            "[2001:db8::53]:53, not host names)"},
        ConfigErrorCase{
            "helo", "    helo: \"bad_helo!\"\n",
            "t.yml:3: collectors.smtp.helo: invalid helo name \"bad_helo!\" "
            "(expected a host name or an address literal such as [192.0.2.1])"},
        ConfigErrorCase{"unknown_key", "    targetz: []\n",
                        "t.yml:3: collectors.smtp: unknown key \"targetz\""}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(SmtpConfigTest, CapsTheNumberOfTargets) {
  std::string s = "    targets:\n";
  for (size_t i = 0; i <= kSmtpMaxTargets; ++i) {
    s += "      - \"127.0.0." + std::to_string(i % 250 + 1) + ":" +
         std::to_string(1000 + i) + "\"\n";
  }
  Result<LoadedConfig> c = Load(s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("too many targets (257), at most 256"),
            std::string::npos)
      << c.status().message();
}

// ---- runs ----

std::string Key(const std::string& metric, const std::string& target,
                const std::string& address, const std::string& extra = "") {
  return metric + "{target=" + target + ",address=" + address +
         (extra.empty() ? "" : "," + extra) + "}";
}

CollectResult RunCollector(std::vector<std::string> targets,
                           Clock::duration timeout = 2s,
                           std::vector<std::string> resolvers = {}) {
  SmtpConfig cfg;
  cfg.helo = "probe.mailhealth.test";
  cfg.resolvers = std::move(resolvers);
  for (const auto& t : targets) {
    Result<SmtpTarget> p = ParseSmtpTarget(t);
    EXPECT_TRUE(p.ok()) << t;
    cfg.targets.push_back(*p);
  }
  auto c = MakeSmtpCollector(cfg, Millis(60000));
  return c->Collect(Clock::now() + timeout);
}

TEST(SmtpCollectorTest, SuccessfulTargetExportsEverySeries) {
  FakeSmtpServer srv(GoodServer({}));
  const std::string t = "127.0.0.1:" + std::to_string(srv.port());
  CollectResult r = RunCollector({t});
  ASSERT_TRUE(r.status.ok());
  Samples s = Flatten(r.families);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_probe_success", t, "127.0.0.1")), 1);
  EXPECT_EQ(
      s.at(Key("mailhealth_smtp_reply_code", t, "127.0.0.1", "stage=banner")),
      220);
  EXPECT_EQ(
      s.at(Key("mailhealth_smtp_reply_code", t, "127.0.0.1", "stage=ehlo")),
      250);
  EXPECT_EQ(
      s.at(Key("mailhealth_smtp_reply_code", t, "127.0.0.1", "stage=starttls")),
      0);
  for (const char* reason : kSmtpFailureNames) {
    EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", t, "127.0.0.1",
                       std::string("reason=") + reason)),
              0)
        << reason;
  }
  for (const char* phase : kSmtpPhaseNames) {
    EXPECT_EQ(s.count(Key("mailhealth_smtp_phase_duration_seconds", t,
                          "127.0.0.1", std::string("phase=") + phase)),
              1u)
        << phase;
  }
  EXPECT_EQ(s.at(Key("mailhealth_smtp_capability", t, "127.0.0.1",
                     "capability=pipelining")),
            1);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_capability", t, "127.0.0.1",
                     "capability=auth")),
            0);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_starttls_advertised", t, "127.0.0.1")),
            0);
  EXPECT_EQ(s.at("mailhealth_smtp_target_addresses{target=" + t + "}"), 1);
  // No TLS, no certificate series.
  EXPECT_EQ(s.count(Key("mailhealth_smtp_tls_cert_not_after_timestamp_seconds",
                        t, "127.0.0.1")),
            0u);
}

TEST(SmtpCollectorTest, FailureIsOneForTheCurrentReasonOnly) {
  const std::string t = "127.0.0.1:" + std::to_string(testing::ClosedPort());
  Samples s = Flatten(RunCollector({t}).families);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_probe_success", t, "127.0.0.1")), 0);
  for (const char* reason : kSmtpFailureNames) {
    EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", t, "127.0.0.1",
                       std::string("reason=") + reason)),
              std::string(reason) == "refused" ? 1 : 0)
        << reason;
  }
}

TEST(SmtpCollectorTest, UnresolvableHostIsDnsFailureWithEmptyAddress) {
  // The resolver is a loopback port where nothing listens: no packet leaves.
  const std::string resolver =
      "127.0.0.1:" + std::to_string(testing::ClosedPort());
  const std::string t = "mx1.mailhealth.invalid:25";
  Samples s = Flatten(RunCollector({t}, 1s, {resolver}).families);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_probe_success", t, "")), 0);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", t, "", "reason=dns_failure")),
            1);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", t, "", "reason=refused")), 0);
  EXPECT_EQ(s.at("mailhealth_smtp_target_addresses{target=" + t + "}"), 0);
}

TEST(SmtpCollectorTest, UnresolvableMxDomainIsDnsFailure) {
  const std::string resolver =
      "127.0.0.1:" + std::to_string(testing::ClosedPort());
  const std::string t = "mx:mailhealth.invalid";
  Samples s = Flatten(RunCollector({t}, 1s, {resolver}).families);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", t, "", "reason=dns_failure")),
            1);
}

TEST(SmtpCollectorTest, RunEndsByTheDeadlineWithATarpitAmongTargets) {
  FakeSmtpServer good(GoodServer({}));
  FakeSmtpServer tarpit([](FakeConn& c) { c.Hold(); });
  testing::Blackhole bh;
  const std::string tg = "127.0.0.1:" + std::to_string(good.port());
  const std::string tt = "127.0.0.1:" + std::to_string(tarpit.port());
  const std::string tb = "127.0.0.1:" + std::to_string(bh.port());
  const auto t0 = Clock::now();
  const auto deadline = t0 + 800ms;
  SmtpConfig cfg;
  cfg.helo = "probe.mailhealth.test";
  for (const auto& t : {tg, tt, tb}) cfg.targets.push_back(*ParseSmtpTarget(t));
  auto c = MakeSmtpCollector(cfg, Millis(60000));
  CollectResult r = c->Collect(deadline);
  // The collector keeps a margin before the deadline; 300 ms more leave
  // room for a loaded machine (a sequential run would take 1.6 s).
  EXPECT_LE(Clock::now(), deadline + 300ms);
  Samples s = Flatten(r.families);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_probe_success", tg, "127.0.0.1")), 1);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", tt, "127.0.0.1",
                     "reason=banner_timeout")),
            1);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_failure", tb, "127.0.0.1",
                     "reason=connect_timeout")),
            1);
}

TEST(SmtpCollectorTest, CertificateSeriesOnlyAfterAHandshake) {
  testing::TestCert cert =
      testing::MakeTestCert("mx.mailhealth.test", -10 * 86400, -86400);
  testing::SslCtxPtr ctx = testing::MakeServerCtx(cert);
  testing::GoodServerOptions o;
  o.tls = ctx.get();
  FakeSmtpServer srv(GoodServer(o));
  const std::string t = "127.0.0.1:" + std::to_string(srv.port());
  Samples s = Flatten(RunCollector({t}).families);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_probe_success", t, "127.0.0.1")), 1);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_starttls_advertised", t, "127.0.0.1")),
            1);
  EXPECT_EQ(s.at(Key("mailhealth_smtp_tls_cert_not_after_timestamp_seconds", t,
                     "127.0.0.1")),
            static_cast<double>(cert.not_after));
  EXPECT_EQ(s.at(Key("mailhealth_smtp_tls_cert_verified", t, "127.0.0.1")), 0);
  EXPECT_EQ(
      s.at(Key("mailhealth_smtp_reply_code", t, "127.0.0.1", "stage=starttls")),
      220);
  int versions = 0;
  for (const auto& [k, v] : s) {
    if (k.rfind("mailhealth_smtp_tls_version_info{", 0) == 0) {
      ++versions;
      EXPECT_EQ(v, 1);
      EXPECT_NE(k.find("version=TLSv1."), std::string::npos) << k;
    }
  }
  EXPECT_EQ(versions, 1);
}

TEST(SmtpCollectorTest, HelpSaysTheValueIsSampled) {
  CollectResult r = RunCollector({});
  ASSERT_FALSE(r.families.empty());
  for (const auto& f : r.families) {
    EXPECT_EQ(f.name.rfind("mailhealth_smtp_", 0), 0u) << f.name;
    EXPECT_NE(f.help.find("1m"), std::string::npos) << f.name << ": " << f.help;
  }
}

}  // namespace
}  // namespace mailhealth::smtp
