// The probe engine against fake peers on 127.0.0.1 (ephemeral ports): one
// behaviour per test, for what a real Postfix cannot show.
#include "collectors/smtpprobe/smtp_probe.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "tests/smtp/fake_smtp_server.h"

namespace mailhealth::smtp {
namespace {

using namespace std::chrono_literals;
using testing::FakeConn;
using testing::FakeSmtpServer;
using testing::GoodServer;
using testing::GoodServerOptions;

SmtpProbeRequest Req(uint16_t port) {
  SmtpProbeRequest r;
  r.address = "127.0.0.1";
  r.port = port;
  return r;
}

SmtpProbeResult ProbeOne(const SmtpProbeRequest& req,
                         Clock::duration timeout = 2s,
                         SmtpProbeOptions opt = {}) {
  opt.helo = "probe.mailhealth.test";
  opt.deadline = Clock::now() + timeout;
  std::vector<SmtpProbeResult> r = RunSmtpProbes({req}, opt);
  EXPECT_EQ(r.size(), 1u);
  return r.at(0);
}

double Phase(const SmtpProbeResult& r, SmtpPhase p) {
  return r.phase_seconds[static_cast<size_t>(p)];
}

TEST(SmtpProbeTest, SuccessWithoutStarttls) {
  FakeSmtpServer srv(GoodServer({}));
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_EQ(r.ehlo_code, 250);
  EXPECT_EQ(r.starttls_code, 0);
  EXPECT_FALSE(r.caps.starttls());
  EXPECT_FALSE(r.tls.done);
  EXPECT_GT(Phase(r, SmtpPhase::kConnect), 0);
  EXPECT_GT(Phase(r, SmtpPhase::kBanner), 0);
  EXPECT_GT(Phase(r, SmtpPhase::kEhlo), 0);
  EXPECT_GT(r.duration_seconds, 0);
}

TEST(SmtpProbeTest, SendsEhloWithConfiguredNameAndQuits) {
  FakeSmtpServer srv(GoodServer({}));
  ProbeOne(Req(srv.port()));
  EXPECT_EQ(srv.Commands(),
            (std::vector<std::string>{"EHLO probe.mailhealth.test", "QUIT"}));
}

TEST(SmtpProbeTest, LmtpSendsLhlo) {
  FakeSmtpServer srv(GoodServer({}));
  SmtpProbeRequest req = Req(srv.port());
  req.lmtp = true;
  SmtpProbeResult r = ProbeOne(req);
  EXPECT_TRUE(r.success()) << r.detail;
  ASSERT_FALSE(srv.Commands().empty());
  EXPECT_EQ(srv.Commands()[0], "LHLO probe.mailhealth.test");
}

TEST(SmtpProbeTest, ParsesCapabilities) {
  GoodServerOptions o;
  o.ehlo_reply =
      "250-fake\r\n250-AUTH PLAIN LOGIN\r\n250-SIZE 100\r\n250 CHUNKING\r\n";
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  ASSERT_TRUE(r.ehlo_done);
  EXPECT_TRUE(r.caps.has[4]);   // auth
  EXPECT_TRUE(r.caps.has[1]);   // size
  EXPECT_FALSE(r.caps.has[2]);  // pipelining
}

TEST(SmtpProbeTest, ClosedPortIsRefused) {
  SmtpProbeResult r = ProbeOne(Req(testing::ClosedPort()));
  EXPECT_EQ(r.failure, SmtpFailure::kRefused) << r.detail;
  EXPECT_EQ(r.banner_code, 0);
}

TEST(SmtpProbeTest, FullAcceptQueueIsConnectTimeout) {
  testing::Blackhole bh;
  const auto t0 = Clock::now();
  SmtpProbeResult r = ProbeOne(Req(bh.port()), 500ms);
  EXPECT_EQ(r.failure, SmtpFailure::kConnectTimeout) << r.detail;
  // Bounds with room for sanitizer builds; the kernel alone would retry
  // the SYN for minutes.
  EXPECT_LT(Clock::now() - t0, 3s);
}

TEST(SmtpProbeTest, TarpitIsBannerTimeout) {
  FakeSmtpServer srv([](FakeConn& c) { c.Hold(); });
  const auto t0 = Clock::now();
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 500ms);
  EXPECT_EQ(r.failure, SmtpFailure::kBannerTimeout) << r.detail;
  // The probe waited for the greeting until its deadline. (Not a fixed share
  // of the 500 ms for the banner phase: under a sanitizer, setting up the
  // probe and connecting took 220 ms of it.)
  EXPECT_GT(Phase(r, SmtpPhase::kBanner), 0.0);
  EXPECT_GE(Clock::now() - t0, 490ms);
  EXPECT_LT(Clock::now() - t0, 3s);
}

TEST(SmtpProbeTest, RejectingGreetingIsBadBannerWithItsCode) {
  GoodServerOptions o;
  o.banner_lines = {"554 5.7.1 No SMTP service here"};
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kBadBanner);
  EXPECT_EQ(r.banner_code, 554);
  EXPECT_EQ(r.ehlo_code, 0);
  // RFC 5321 3.1: after a 554 greeting the client sends QUIT, not EHLO.
  EXPECT_EQ(srv.Commands(), std::vector<std::string>{"QUIT"});
}

TEST(SmtpProbeTest, CloseBeforeGreetingIsBadBanner) {
  FakeSmtpServer srv([](FakeConn&) {});
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kBadBanner) << r.detail;
  EXPECT_EQ(r.banner_code, 0);
}

TEST(SmtpProbeTest, PostscreenMultiLineGreetingSucceeds) {
  GoodServerOptions o;
  o.banner_lines = {"220-mail.example.com ESMTP", "220 mail.example.com ESMTP"};
  o.line_delay = 200ms;  // postscreen pauses between the lines
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_GE(Phase(r, SmtpPhase::kBanner), 0.19);
  // Nothing was sent before the greeting ended (postscreen's pregreet test).
  EXPECT_EQ(srv.Commands().at(0), "EHLO probe.mailhealth.test");
}

struct ProtocolCase {
  const char* name;
  std::string bytes;
};

class SmtpProtocolErrorTest : public ::testing::TestWithParam<ProtocolCase> {};

TEST_P(SmtpProtocolErrorTest, IsProtocolError) {
  std::string bytes = GetParam().bytes;
  FakeSmtpServer srv([bytes](FakeConn& c) {
    c.Send(bytes);
    c.Hold();
  });
  const auto t0 = Clock::now();
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 10s);
  EXPECT_EQ(r.failure, SmtpFailure::kProtocolError) << r.detail;
  EXPECT_LT(Clock::now() - t0, 5s) << "must not wait for the deadline";
}

INSTANTIATE_TEST_SUITE_P(
    Peers, SmtpProtocolErrorTest,
    ::testing::Values(
        ProtocolCase{
            "garbage",
            std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n",
                        13)},
        ProtocolCase{"http", "HTTP/1.1 400 Bad Request\r\n\r\n"},
        ProtocolCase{"line_100kb", "220 " + std::string(100 * 1024, 'x')},
        ProtocolCase{"line_100kb_terminated",
                     "220 " + std::string(100 * 1024, 'x') + "\r\n"},
        ProtocolCase{"endless_continuation",
                     [] {
                       std::string s;
                       for (int i = 0; i < 100; ++i) s += "220-more\r\n";
                       return s;
                     }()}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(SmtpProbeTest, DropAfterEhloIsEhloRejected) {
  FakeSmtpServer srv([](FakeConn& c) {
    c.Send("220 fake ESMTP\r\n");
    c.ReadLine();  // EHLO, then hang up
  });
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kEhloRejected) << r.detail;
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_EQ(r.ehlo_code, 0);
}

TEST(SmtpProbeTest, EhloErrorReplyIsEhloRejectedWithItsCode) {
  GoodServerOptions o;
  o.ehlo_reply = "501 5.5.2 <x>: Helo command rejected: Invalid name\r\n";
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kEhloRejected);
  EXPECT_EQ(r.ehlo_code, 501);
}

TEST(SmtpProbeTest, SilentEhloIsEhloRejectedAtTheDeadline) {
  FakeSmtpServer srv([](FakeConn& c) {
    c.Send("220 fake ESMTP\r\n");
    c.Hold();
  });
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 400ms);
  EXPECT_EQ(r.failure, SmtpFailure::kEhloRejected) << r.detail;
}

TEST(SmtpProbeTest, StarttlsErrorReplyIsStarttlsFailed) {
  FakeSmtpServer srv([](FakeConn& c) {
    c.Send("220 fake ESMTP\r\n");
    c.ReadLine();
    c.Send("250-fake\r\n250 STARTTLS\r\n");
    c.ReadLine();
    c.Send("454 4.7.0 TLS not available due to local problem\r\n");
    c.ReadLine();
  });
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kStarttlsFailed);
  EXPECT_TRUE(r.caps.starttls());
  EXPECT_EQ(r.starttls_code, 454);
}

TEST(SmtpProbeTest, GarbageInsteadOfHandshakeIsTlsHandshakeFailed) {
  FakeSmtpServer srv([](FakeConn& c) {
    c.Send("220 fake ESMTP\r\n");
    c.ReadLine();
    c.Send("250-fake\r\n250 STARTTLS\r\n");
    c.ReadLine();
    c.Send("220 go ahead\r\n");
    c.Wait(50ms);
    c.Send("this is not a TLS server hello\r\n");
    c.Hold();
  });
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kTlsHandshakeFailed) << r.detail;
  EXPECT_EQ(r.starttls_code, 220);
  EXPECT_FALSE(r.tls.done);
}

TEST(SmtpProbeTest, StarttlsDisabledSkipsTls) {
  testing::TestCert cert =
      testing::MakeTestCert("mx.mailhealth.test", -3600, 86400);
  testing::SslCtxPtr ctx = testing::MakeServerCtx(cert);
  GoodServerOptions o;
  o.tls = ctx.get();
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeOptions opt;
  opt.starttls = false;
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 2s, opt);
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_TRUE(r.caps.starttls());
  EXPECT_FALSE(r.tls.done);
  EXPECT_EQ(srv.Commands(),
            (std::vector<std::string>{"EHLO probe.mailhealth.test", "QUIT"}));
}

TEST(SmtpProbeTest, ExpiredCertificateStillSucceedsWithItsNotAfter) {
  // Valid from 10 days ago to 1 day ago.
  testing::TestCert cert =
      testing::MakeTestCert("mx.mailhealth.test", -10 * 86400, -86400);
  testing::SslCtxPtr ctx = testing::MakeServerCtx(cert);
  GoodServerOptions o;
  o.tls = ctx.get();
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeRequest req = Req(srv.port());
  req.tls_name = "mx.mailhealth.test";
  SmtpProbeResult r = ProbeOne(req);
  EXPECT_TRUE(r.success()) << r.detail;
  ASSERT_TRUE(r.tls.done);
  ASSERT_TRUE(r.tls.have_cert);
  EXPECT_EQ(r.tls.not_after, cert.not_after);
  EXPECT_LT(r.tls.not_after, std::time(nullptr));
  EXPECT_FALSE(r.tls.verified);
  EXPECT_EQ(r.starttls_code, 220);
  EXPECT_GT(Phase(r, SmtpPhase::kTls), 0);
  EXPECT_FALSE(r.tls.version.empty());
}

class SmtpTlsVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::MakeTestCert("Mailhealth Test CA", -3600, 86400, nullptr,
                                true);
    ca_file_ = testing::WriteTempFile("ca.pem", ca_.cert_pem);
    leaf_ = testing::MakeTestCert("mx.mailhealth.test", -3600, 86400, &ca_);
    ctx_ = testing::MakeServerCtx(leaf_);
  }
  SmtpProbeResult Probe(const std::string& name) {
    GoodServerOptions o;
    o.tls = ctx_.get();
    FakeSmtpServer srv(GoodServer(o));
    SmtpProbeRequest req = Req(srv.port());
    req.tls_name = name;
    SmtpProbeOptions opt;
    opt.ca_file = ca_file_;
    return ProbeOne(req, 2s, opt);
  }
  testing::TestCert ca_, leaf_;
  std::string ca_file_;
  testing::SslCtxPtr ctx_;
};

TEST_F(SmtpTlsVerifyTest, TrustedChainAndMatchingNameVerifies) {
  SmtpProbeResult r = Probe("mx.mailhealth.test");
  ASSERT_TRUE(r.tls.done) << r.detail;
  EXPECT_TRUE(r.tls.verified) << r.tls.verify_error;
}

TEST_F(SmtpTlsVerifyTest, NameMismatchIsNotVerifiedButSucceeds) {
  SmtpProbeResult r = Probe("other.mailhealth.test");
  EXPECT_TRUE(r.success()) << r.detail;
  ASSERT_TRUE(r.tls.done);
  EXPECT_FALSE(r.tls.verified);
  EXPECT_EQ(r.tls.not_after, leaf_.not_after);
}

TEST(SmtpProbeTest, ImplicitTlsReadsTheBannerOverTls) {
  testing::TestCert cert =
      testing::MakeTestCert("mx.mailhealth.test", -3600, 86400);
  testing::SslCtxPtr ctx = testing::MakeServerCtx(cert);
  GoodServerOptions o;
  o.tls = ctx.get();
  o.implicit_tls = true;
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeRequest req = Req(srv.port());
  req.implicit_tls = true;
  SmtpProbeResult r = ProbeOne(req);
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_TRUE(r.tls.done);
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_EQ(r.starttls_code, 0);
  EXPECT_GT(Phase(r, SmtpPhase::kTls), 0);
  EXPECT_EQ(r.tls.not_after, cert.not_after);
}

TEST(SmtpProbeTest, ImplicitTlsAgainstPlainServerIsTlsHandshakeFailed) {
  FakeSmtpServer srv(GoodServer({}));
  SmtpProbeRequest req = Req(srv.port());
  req.implicit_tls = true;
  SmtpProbeResult r = ProbeOne(req);
  EXPECT_EQ(r.failure, SmtpFailure::kTlsHandshakeFailed) << r.detail;
}

// Old firewalls' SMTP fixups and servers without ESMTP answer EHLO with
// 500/502; a real sender then says HELO (RFC 5321 3.2), and so does the
// probe: reachable, without ESMTP.
TEST(SmtpProbeTest, EhloRefusedFallsBackToHelo) {
  for (const char* reply : {"500 5.5.1 Command unrecognized\r\n",
                            "502 5.5.2 Error: command not implemented\r\n"}) {
    FakeSmtpServer srv([reply](FakeConn& c) {
      c.Send("220 old.mailhealth.test SMTP\r\n");
      while (auto line = c.ReadLine()) {
        if (line->rfind("EHLO", 0) == 0) {
          c.Send(reply);
        } else if (line->rfind("HELO", 0) == 0) {
          c.Send("250 old.mailhealth.test\r\n");
        } else if (*line == "QUIT") {
          c.Send("221 bye\r\n");
          return;
        } else {
          c.Send("500 what\r\n");
        }
      }
    });
    SmtpProbeResult r = ProbeOne(Req(srv.port()));
    EXPECT_TRUE(r.success()) << reply << r.detail;
    EXPECT_FALSE(r.esmtp);
    EXPECT_TRUE(r.ehlo_done);
    EXPECT_EQ(r.ehlo_code, std::atoi(reply));
    EXPECT_FALSE(r.caps.starttls());
    EXPECT_EQ(srv.Commands(),
              (std::vector<std::string>{"EHLO probe.mailhealth.test",
                                        "HELO probe.mailhealth.test", "QUIT"}));
  }
}

TEST(SmtpProbeTest, EhloRefusedAndHeloRefusedIsEhloRejected) {
  FakeSmtpServer srv([](FakeConn& c) {
    c.Send("220 x\r\n");
    while (auto line = c.ReadLine()) {
      c.Send(*line == "QUIT" ? "221 bye\r\n" : "502 no\r\n");
    }
  });
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kEhloRejected);
  EXPECT_NE(r.detail.find("EHLO answered 502, HELO answered 502"),
            std::string::npos)
      << r.detail;
}

TEST(SmtpProbeTest, OtherEhloErrorsGetNoHelo) {
  GoodServerOptions o;
  o.ehlo_reply = "554 5.7.1 go away\r\n";
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeResult r = ProbeOne(Req(srv.port()));
  EXPECT_EQ(r.failure, SmtpFailure::kEhloRejected);
  EXPECT_EQ(srv.Commands(),
            (std::vector<std::string>{"EHLO probe.mailhealth.test", "QUIT"}));
}

TEST(SmtpProbeTest, EsmtpOnAnEhloSuccess) {
  FakeSmtpServer srv(GoodServer({}));
  EXPECT_TRUE(ProbeOne(Req(srv.port())).esmtp);
}

// A port that stays silent (an implicit-TLS port such as 465 or stunnel in
// front of a submission port, probed as plain SMTP) but completes a TLS
// handshake: banner_timeout, with the hint and the certificate's dates.
TEST(SmtpProbeTest, SilentPortSpeakingTlsIsFlaggedImplicitTls) {
  testing::TestCert cert =
      testing::MakeTestCert("smtps.mailhealth.test", -3600, 86400);
  testing::SslCtxPtr ctx = testing::MakeServerCtx(cert);
  GoodServerOptions o;
  o.tls = ctx.get();
  o.implicit_tls = true;
  FakeSmtpServer srv(GoodServer(o));
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 1500ms);
  EXPECT_EQ(r.failure, SmtpFailure::kBannerTimeout) << r.detail;
  EXPECT_TRUE(r.implicit_tls_detected);
  EXPECT_NE(r.detail.find("smtps:"), std::string::npos) << r.detail;
  EXPECT_TRUE(r.tls.done);
  EXPECT_EQ(r.tls.not_after, cert.not_after);
}

TEST(SmtpProbeTest, SilentTarpitIsNotFlaggedImplicitTls) {
  FakeSmtpServer srv([](FakeConn& c) { c.Hold(); });
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 1500ms);
  EXPECT_EQ(r.failure, SmtpFailure::kBannerTimeout) << r.detail;
  EXPECT_FALSE(r.implicit_tls_detected);
  EXPECT_FALSE(r.tls.done);
}

TEST(SmtpProbeTest, SlowGreetingBeforeTheHintStillSucceeds) {
  FakeSmtpServer srv([](FakeConn& c) {
    if (!c.Wait(600ms)) return;
    GoodServerOptions g;
    GoodServer(g)(c);
  });
  SmtpProbeResult r = ProbeOne(Req(srv.port()), 2s);
  EXPECT_TRUE(r.success()) << r.detail;
  EXPECT_FALSE(r.implicit_tls_detected);
}

TEST(SmtpProbeTest, TarpitsAreProbedConcurrently) {
  std::vector<std::unique_ptr<FakeSmtpServer>> tarpits;
  std::vector<SmtpProbeRequest> reqs;
  for (int i = 0; i < 5; ++i) {
    tarpits.push_back(
        std::make_unique<FakeSmtpServer>([](FakeConn& c) { c.Hold(); }));
    reqs.push_back(Req(tarpits.back()->port()));
  }
  SmtpProbeOptions opt;
  opt.deadline = Clock::now() + 1s;
  const auto t0 = Clock::now();
  std::vector<SmtpProbeResult> r = RunSmtpProbes(reqs, opt);
  const auto took = Clock::now() - t0;
  ASSERT_EQ(r.size(), 5u);
  for (const auto& x : r) EXPECT_EQ(x.failure, SmtpFailure::kBannerTimeout);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2500ms) << "probes ran one after another (5 s)";
}

TEST(SmtpProbeTest, OneResultPerRequestInOrder) {
  FakeSmtpServer good(GoodServer({}));
  GoodServerOptions bad;
  bad.banner_lines = {"421 4.3.2 Service shutting down"};
  FakeSmtpServer rej(GoodServer(bad));
  SmtpProbeOptions opt;
  opt.deadline = Clock::now() + 2s;
  std::vector<SmtpProbeResult> r = RunSmtpProbes(
      {Req(rej.port()), Req(good.port()), Req(testing::ClosedPort())}, opt);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].banner_code, 421);
  EXPECT_TRUE(r[1].success());
  EXPECT_EQ(r[2].failure, SmtpFailure::kRefused);
}

TEST(SmtpProbeTest, NoRequestsReturnAtOnce) {
  SmtpProbeOptions opt;
  opt.deadline = Clock::now() + 5s;
  const auto t0 = Clock::now();
  EXPECT_TRUE(RunSmtpProbes({}, opt).empty());
  EXPECT_LT(Clock::now() - t0, 100ms);
}

}  // namespace
}  // namespace mailhealth::smtp
