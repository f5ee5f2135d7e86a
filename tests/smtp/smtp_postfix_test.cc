// The smtp probe against the real Postfix on 127.0.0.1:25, configured by
// scripts/setup-postfix (STARTTLS with the snakeoil certificate). Runs under
// the ctest RESOURCE_LOCK postfix.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

#include "collectors/smtp/smtp_collector.h"
#include "collectors/smtpprobe/smtp_probe.h"
#include "tests/testutil/isolation.h"
#include "tests/testutil/shell.h"

namespace mailhealth::smtp {
namespace {

using namespace std::chrono_literals;

constexpr char kSnakeoil[] = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

// notAfter of the snakeoil certificate according to the openssl tool.
int64_t OpensslNotAfter() {
  std::string line =
      ShellOutput(std::string("openssl x509 -enddate -noout -in ") + kSnakeoil);
  // "notAfter=Nov 22 01:02:03 2036 GMT"
  const std::string prefix = "notAfter=";
  if (line.rfind(prefix, 0) != 0) return -1;
  struct tm tm {};
  if (strptime(line.c_str() + prefix.size(), "%b %d %H:%M:%S %Y GMT", &tm) ==
      nullptr)
    return -1;
  return static_cast<int64_t>(timegm(&tm));
}

class PostfixSmtpTest : public ::testing::Test {
 protected:
  // GTEST_SKIP in SetUpTestSuite does not skip the tests (GoogleTest 1.12).
  void SetUp() override {
    if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
  }
  static void SetUpTestSuite() {
    if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
    was_running_ = std::system("postfix status >/dev/null 2>&1") == 0;
    const std::string setup =
        std::string(MAILHEALTH_SOURCE_DIR) + "/scripts/setup-postfix start";
    ASSERT_EQ(std::system((setup + " >/dev/null 2>&1").c_str()), 0) << setup;
  }
  static void TearDownTestSuite() {
    if (IsolatedFromMachine() && !was_running_)
      std::system("postfix stop >/dev/null 2>&1");
  }

  SmtpProbeResult Probe(bool starttls = true) {
    SmtpProbeRequest req;
    req.address = "127.0.0.1";
    req.port = 25;
    req.tls_name = "mail.mailhealth.test";
    SmtpProbeOptions opt;
    opt.helo = "probe.mailhealth.test";
    opt.starttls = starttls;
    SmtpProbeResult r;
    // Postfix may take a moment to listen after a fresh start.
    for (int attempt = 0; attempt < 20; ++attempt) {
      opt.deadline = Clock::now() + 5s;
      r = RunSmtpProbes({req}, opt).at(0);
      if (r.failure != SmtpFailure::kRefused) break;
      std::this_thread::sleep_for(250ms);
    }
    return r;
  }

  static bool was_running_;
};
bool PostfixSmtpTest::was_running_ = false;

TEST_F(PostfixSmtpTest, ProbeSucceeds) {
  SmtpProbeResult r = Probe();
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_EQ(r.ehlo_code, 250);
}

TEST_F(PostfixSmtpTest, AdvertisesStarttlsAndTheHandshakeCompletes) {
  SmtpProbeResult r = Probe();
  EXPECT_TRUE(r.caps.starttls());
  EXPECT_EQ(r.starttls_code, 220);
  ASSERT_TRUE(r.tls.done) << r.detail;
  EXPECT_EQ(r.tls.version.rfind("TLSv1.", 0), 0u) << r.tls.version;
  EXPECT_GT(r.phase_seconds[static_cast<size_t>(SmtpPhase::kTls)], 0);
}

TEST_F(PostfixSmtpTest, NotAfterEqualsOpenssl) {
  const int64_t expected = OpensslNotAfter();
  ASSERT_GT(expected, 0);
  SmtpProbeResult r = Probe();
  ASSERT_TRUE(r.tls.have_cert) << r.detail;
  EXPECT_EQ(r.tls.not_after, expected);
}

TEST_F(PostfixSmtpTest, SnakeoilCertificateIsNotVerified) {
  SmtpProbeResult r = Probe();
  ASSERT_TRUE(r.tls.have_cert) << r.detail;
  EXPECT_FALSE(r.tls.verified);
  EXPECT_TRUE(r.success());
}

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// The chain the probe reports is what Postfix presents: the snakeoil
// certificate alone (self-signed), byte for byte as openssl writes it.
TEST_F(PostfixSmtpTest, PresentedChainIsTheSnakeoilCertificate) {
  std::string expected =
      ShellOutput(std::string("openssl x509 -outform DER -in ") + kSnakeoil +
                  " | od -An -v -tx1 | tr -d ' \\n'");
  ASSERT_GT(expected.size(), 100u);
  SmtpProbeResult r = Probe();
  ASSERT_TRUE(r.tls.done) << r.detail;
  ASSERT_EQ(r.tls.chain_der.size(), 1u);
  EXPECT_EQ(Hex(r.tls.chain_der[0]), expected);
  EXPECT_TRUE(Probe(false).tls.chain_der.empty());
}

TEST_F(PostfixSmtpTest, StarttlsDisabledStillSeesItAdvertised) {
  SmtpProbeResult r = Probe(false);
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_TRUE(r.caps.starttls());
  EXPECT_FALSE(r.tls.done);
}

TEST_F(PostfixSmtpTest, CollectorExportsTheCertificate) {
  SmtpConfig cfg;
  cfg.helo = "probe.mailhealth.test";
  cfg.targets.push_back(*ParseSmtpTarget("127.0.0.1:25"));
  auto c = MakeSmtpCollector(cfg, Millis(60000));
  CollectResult res = c->Collect(Clock::now() + 5s);
  ASSERT_TRUE(res.status.ok());
  double not_after = -1, success = -1;
  for (const auto& f : res.families) {
    for (const auto& m : f.metric) {
      if (f.name == "mailhealth_smtp_tls_cert_not_after_timestamp_seconds")
        not_after = m.gauge.value;
      if (f.name == "mailhealth_smtp_probe_success") success = m.gauge.value;
    }
  }
  EXPECT_EQ(success, 1);
  EXPECT_EQ(not_after, static_cast<double>(OpensslNotAfter()));
}

}  // namespace
}  // namespace mailhealth::smtp
