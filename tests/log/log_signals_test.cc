// postscreen, SASL and TLS signals: exact counts on tests/fixtures/log/
// signals.log (lines of the real-world corpus in tests/fixtures/corpus, plus
// the TLS failure sequences Postfix's tls_server.c / tls_client.c write:
// "SSL_accept error from X: -1" followed by tls_print_errors()' "TLS
// library problem" lines), and totals over the real corpus checked against
// grep run in the test.
#include "collectors/log/log_signals.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "collectors/log/log_parser.h"
#include "exporter/metric_builder.h"
#include "tests/log/log_test_util.h"

namespace mailhealth::log {
namespace {

using E = PostscreenEvent;
using M = SaslMechanism;
using R = TlsFailureReason;
using V = TlsVersion;
constexpr size_t kIn = static_cast<size_t>(TlsDirection::kInbound);
constexpr size_t kOut = static_cast<size_t>(TlsDirection::kOutbound);

template <typename T>
constexpr size_t I(T v) {
  return static_cast<size_t>(v);
}

const InstanceSignals* Find(const LogCounters& c, const std::string& name) {
  for (const InstanceSignals& i : c.signals.instances)
    if (i.name == name) return &i;
  return nullptr;
}
const SaslCounts* FindService(const InstanceSignals& i,
                              const std::string& name) {
  for (const SaslCounts& s : i.sasl)
    if (s.service == name) return &s;
  return nullptr;
}

// A one-part syslog name that master.cf gives a service (`-o
// syslog_name=mysubmit` on submission) counts for that service and the
// instance the live configuration names; a two-part one keeps its middle
// part; without the live names, mysubmit is no Postfix program at all.
TEST(SaslServiceTest, MasterCfSyslogNameNamesItsService) {
  const std::string fail =
      ": warning: unknown[198.18.0.9]: SASL LOGIN authentication failed: "
      "authentication failure";
  const std::string ok =
      ": 4PbC4x469Jz3tBr: client=unknown[198.18.0.9], sasl_method=PLAIN, "
      "sasl_username=alice";
  LineProcessor lp({}, {});
  lp.SetInstanceNames(
      {{"postfix", "postfix"}, {"mysubmit", "postfix"}, {"inbound", "postfix"}},
      {{"mysubmit", "submission"}});
  LogCounters c;
  for (const char* prog :
       {"mysubmit/smtpd[7]", "inbound/smtps/smtpd[8]", "postfix/smtpd[9]"}) {
    lp.ProcessLine(std::string("Dec  7 10:00:00 mx ") + prog + fail, &c);
    lp.ProcessLine(std::string("Dec  7 10:00:01 mx ") + prog + ok, &c);
  }
  EXPECT_EQ(c.foreign, 0u);
  const InstanceSignals* p = Find(c, "postfix");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sasl.size(), 3u);
  for (const char* service : {"submission", "smtps", "smtpd"}) {
    const SaslCounts* sc = FindService(*p, service);
    ASSERT_NE(sc, nullptr) << service;
    EXPECT_EQ(sc->failures[I(M::kLogin)], 1u) << service;
    EXPECT_EQ(sc->successes[I(M::kPlain)], 1u) << service;
  }

  LineProcessor plain({}, {});
  LogCounters d;
  plain.ProcessLine("Dec  7 10:00:00 mx mysubmit/smtpd[7]" + fail, &d);
  EXPECT_EQ(d.foreign, 1u);
  EXPECT_EQ(Find(d, "postfix"), nullptr);
}

std::string Fixture() {
  return std::string(MAILHEALTH_SOURCE_DIR) + "/tests/fixtures/log/signals.log";
}

TEST(SignalNamesTest, InstanceServiceMechanismReason) {
  EXPECT_EQ(InstanceOf("postfix/smtpd"), "postfix");
  EXPECT_EQ(InstanceOf("postfix-out/smtp"), "postfix-out");
  EXPECT_EQ(InstanceOf("postfix/submission/smtpd"), "postfix");
  EXPECT_EQ(ServiceOf("postfix/submission/smtpd"), "submission");
  EXPECT_EQ(ServiceOf("postfix/smtpd"), "smtpd");
  EXPECT_EQ(ServiceOf("postfix-out/smtps/smtpd"), "smtps");
  EXPECT_EQ(MechanismOf("LOGIN"), M::kLogin);
  EXPECT_EQ(MechanismOf("plain"), M::kPlain);
  EXPECT_EQ(MechanismOf("CRAM-MD5"), M::kCramMd5);
  EXPECT_EQ(MechanismOf("DIGEST-MD5"), M::kDigestMd5);
  EXPECT_EQ(MechanismOf("SCRAM-SHA-1"), M::kScram);
  EXPECT_EQ(MechanismOf("XOAUTH2"), M::kXoauth2);
  EXPECT_EQ(MechanismOf("NTLM"), M::kOther);
  EXPECT_EQ(TlsReasonOf("error:0A0000C1:SSL routines::no shared cipher:x"),
            R::kNoSharedCipher);
  EXPECT_EQ(TlsReasonOf("error:1408F10B:SSL routines:ssl3_get_record:wrong "
                        "version number:s3_pkt.c:339:"),
            R::kProtocolVersion);
  EXPECT_EQ(TlsReasonOf("error:0A000102:SSL routines::unsupported protocol"),
            R::kProtocolVersion);
  EXPECT_EQ(TlsReasonOf("error:0A000086:SSL routines::certificate verify "
                        "failed"),
            R::kCertificateVerify);
  EXPECT_EQ(TlsReasonOf("sslv3 alert handshake failure"), R::kHandshake);
  EXPECT_EQ(TlsReasonOf("dh key too small"), R::kOther);
  EXPECT_EQ(TlsVersionOf("TLSv1.3"), V::kTlsV1_3);
  EXPECT_EQ(TlsVersionOf("SSLv3"), V::kOther);
}

TEST(SignalsTest, FixtureExactCounts) {
  LineProcessor lp({}, {});
  LogCounters c = ProcessFile(lp, Fixture());
  EXPECT_EQ(c.lines, 52u);
  EXPECT_EQ(c.unsupported, 0u);
  ASSERT_EQ(c.signals.instances.size(), 2u);
  const InstanceSignals* p = Find(c, "postfix");
  ASSERT_NE(p, nullptr);
  std::array<uint64_t, N<E>()> ps{};
  ps[I(E::kPassNew)] = 1;
  ps[I(E::kPassOld)] = 1;
  ps[I(E::kPregreet)] = 1;
  ps[I(E::kDnsbl)] = 2;
  ps[I(E::kHangup)] = 1;
  ps[I(E::kCommandTimeLimit)] = 1;
  ps[I(E::kCommandCountLimit)] = 1;
  ps[I(E::kCommandLengthLimit)] = 1;
  ps[I(E::kBareNewline)] = 1;
  ps[I(E::kNonSmtpCommand)] = 1;
  ps[I(E::kNoqueueReject)] = 1;
  ps[I(E::kWhitelisted)] = 2;  // WHITELISTED, ALLOWLISTED (Postfix 3.6)
  ps[I(E::kBlacklisted)] = 2;  // BLACKLISTED, DENYLISTED
  ps[I(E::kOther)] = 2;        // COMMAND PIPELINING, WHITELIST VETO
  EXPECT_EQ(p->postscreen, ps);
  // DNSBL rank 3 and 12: the buckets le=3 and le=20.
  std::array<uint64_t, kDnsblRankBounds.size() + 1> rank{};
  rank[2] = 1;
  rank[7] = 1;
  EXPECT_EQ(p->dnsbl_rank, rank);
  EXPECT_DOUBLE_EQ(p->dnsbl_rank_sum, 15);

  const SaslCounts* smtpd = FindService(*p, "smtpd");
  const SaslCounts* sub = FindService(*p, "submission");
  ASSERT_NE(smtpd, nullptr);
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(p->sasl.size(), 2u);
  std::array<uint64_t, N<M>()> f{}, s{};
  f[I(M::kLogin)] = 2;
  f[I(M::kPlain)] = 1;  // "SASL authentication failure:" is no extra one
  s[I(M::kPlain)] = 2;  // one with a queue ID that starts like "Anonymous"
  EXPECT_EQ(smtpd->failures, f);
  EXPECT_EQ(smtpd->successes, s);
  f = {};
  s = {};
  f[I(M::kCramMd5)] = 1;
  f[I(M::kScram)] = 1;
  s[I(M::kPlain)] = 1;
  s[I(M::kLogin)] = 1;
  EXPECT_EQ(sub->failures, f);
  EXPECT_EQ(sub->successes, s);

  // Inbound: "lost connection" (300), "-1" then a non-TLS line (302), "-1"
  // as the file's last line (700) are handshake failures; "-1" followed by
  // two library lines (301) is one failure with the first line's reason.
  std::array<std::array<uint64_t, N<R>()>, 2> tf{};
  tf[kIn][I(R::kHandshake)] = 3;
  tf[kIn][I(R::kNoSharedCipher)] = 1;
  // Outbound: "-1" with its library line after another process's line
  // (400), "lost connection" (401), a verification failure (402) and a
  // library line on its own (403). tlsmgr's is neither direction.
  tf[kOut][I(R::kProtocolVersion)] = 1;
  tf[kOut][I(R::kHandshake)] = 1;
  tf[kOut][I(R::kCertificateVerify)] = 2;
  EXPECT_EQ(p->tls_failures, tf);
  std::array<std::array<uint64_t, N<V>()>, 2> tc{};
  tc[kIn][I(V::kTlsV1_2)] = 1;
  tc[kIn][I(V::kTlsV1_3)] = 1;
  tc[kOut][I(V::kTlsV1)] = 1;
  tc[kOut][I(V::kTlsV1_2)] = 1;
  EXPECT_EQ(p->tls_connections, tc);

  const InstanceSignals* out = Find(c, "postfix-out");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->postscreen[I(E::kPassNew)], 1u);
  EXPECT_EQ(out->tls_connections[kOut][I(V::kTlsV1_2)], 1u);
  EXPECT_TRUE(out->sasl.empty());
}

// The library line of a failure whose "-1" line ended the previous block
// is no second failure.
TEST(SignalsTest, FailureSplitAcrossBlocks) {
  LineProcessor lp({}, {});
  LogCounters c;
  std::string a =
      "Dec  6 10:01:01 mx postfix/smtpd[301]: SSL_accept error from "
      "h[192.0.2.1]: -1\n";
  std::string b =
      "Dec  6 10:01:01 mx postfix/smtpd[301]: warning: TLS library problem: "
      "error:0A0000C1:SSL routines::no shared cipher:x.c:1:\n"
      "Dec  6 10:01:02 mx postfix/smtpd[301]: lost connection after STARTTLS "
      "from h[192.0.2.1]\n";
  EXPECT_EQ(lp.ProcessBlock(a, &c), a.size());
  EXPECT_EQ(lp.ProcessBlock(b, &c), b.size());
  const InstanceSignals* p = Find(c, "postfix");
  ASSERT_NE(p, nullptr);
  uint64_t total = 0;
  for (uint64_t n : p->tls_failures[kIn]) total += n;
  EXPECT_EQ(total, 1u);
  EXPECT_EQ(p->tls_failures[kIn][I(R::kHandshake)], 1u);
}

TEST(SignalsTest, InstancesAreBounded) {
  LineProcessor lp(
      {}, {"mx0", "mx1", "mx2", "mx3", "mx4", "mx5", "mx6", "mx7", "mx8", "mx9",
           "mxa", "mxb", "mxc", "mxd", "mxe", "mxf", "mxg", "mxh"});
  LogCounters c;
  std::string data;
  for (const char* n :
       {"mx0", "mx1", "mx2", "mx3", "mx4", "mx5", "mx6", "mx7", "mx8", "mx9",
        "mxa", "mxb", "mxc", "mxd", "mxe", "mxf", "mxg", "mxh"})
    data += std::string("Dec  6 10:00:00 h ") + n +
            "/postscreen[1]: PASS NEW [192.0.2.1]:1\n";
  lp.ProcessBlock(data, &c);
  EXPECT_EQ(c.signals.instances.size(), kMaxInstances);
  uint64_t total = 0;
  for (const InstanceSignals& i : c.signals.instances)
    total += i.postscreen[I(E::kPassNew)];
  EXPECT_EQ(total, 18u);
  const InstanceSignals* other = Find(c, "other");
  ASSERT_NE(other, nullptr);
  // "postfix" (always there), mx0 ... mxd, then "other": mxe ... mxh.
  EXPECT_EQ(other->postscreen[I(E::kPassNew)], 4u);
}

// Every fixed label value from the first run, for the default instance.
TEST(SignalsTest, FamiliesHaveZerosFromTheStart) {
  Families f;
  BuildSignalFamilies(SignalCounters{}, Millis(30000), &f);
  std::map<std::string, size_t> samples;
  for (const auto& fam : f) samples[fam.name] = fam.metric.size();
  EXPECT_EQ(samples["mailhealth_log_postscreen_events_total"], N<E>());
  EXPECT_EQ(samples["mailhealth_log_postscreen_dnsbl_rank"], 1u);
  EXPECT_EQ(samples["mailhealth_log_sasl_auth_failures_total"], N<M>());
  EXPECT_EQ(samples["mailhealth_log_sasl_auth_successes_total"], N<M>());
  EXPECT_EQ(samples["mailhealth_log_tls_failures_total"], 2 * N<R>());
  EXPECT_EQ(samples["mailhealth_log_tls_connections_total"], 2 * N<V>());
  for (const auto& fam : f)
    for (const auto& m : fam.metric) {
      ASSERT_FALSE(m.label.empty());
      EXPECT_EQ(m.label[0].name, "postfix_instance");
      EXPECT_EQ(m.label[0].value, "postfix");
    }
}

// A dead content filter (amavis on 127.0.0.1:10024), as the real Postfix
// of tests/fixtures/corpus/postfix-captured.log logged it: the smtp
// client's own line and the deferral each count as
// content_filter_unavailable, never as a remote connection_refused; the
// same for lmtp timing out on a loopback port.
TEST(SignalsTest, DeadContentFilterIsALocalService) {
  LineProcessor lp({}, {});
  LogCounters c;
  std::string data =
      "Nov 25 01:23:08 mail postfix/smtp[13402]: connect to "
      "127.0.0.1[127.0.0.1]:10024: Connection refused\n"
      "Nov 25 01:23:08 mail postfix/smtp[13402]: DC44810C07A: "
      "to=<user@filtered.test>, relay=none, delay=0, delays=0/0/0/0, "
      "dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:10024: "
      "Connection refused)\n"
      "Nov 25 01:23:09 mail postfix/lmtp[13403]: DC44810C07B: "
      "to=<user@example.test>, relay=none, delay=30, delays=0/0/30/0, "
      "dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:24: "
      "Connection timed out)\n";
  lp.ProcessBlock(data, &c);
  EXPECT_EQ(
      c.Total().events[static_cast<size_t>(Event::kContentFilterUnavailable)],
      3u);
  EXPECT_EQ(c.Total().events[static_cast<size_t>(Event::kConnectionRefused)],
            0u);
  EXPECT_EQ(c.Total().events[static_cast<size_t>(Event::kConnectionTimeout)],
            0u);
  EXPECT_EQ(c.unsupported, 0u);
}

// Over the real corpus (every plain log and the two gzipped ones): each
// signal total equals grep's count of the same line shape.
class SignalCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SignalCorpusTest, TotalsMatchGrep) {
  const std::string dir =
      std::string(MAILHEALTH_SOURCE_DIR) + "/tests/fixtures/corpus/";
  std::string plain = TempDir() + "/signals.log";
  std::string cmd =
      GetParam() == "gz"
          ? "zcat '" + dir + "postfix-logs/'*.gz > '" + plain + "'"
          : "cat '" + dir + "postfix-logs/'*.log '" + dir +
                "'postfix-captured*.log > '" + plain + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  LineProcessor lp({}, {});
  LogCounters c = ProcessFile(lp, plain);
  auto sum = [&](auto get) {
    uint64_t n = 0;
    for (const InstanceSignals& i : c.signals.instances) n += get(i);
    return n;
  };
  auto ps = [&](E e) {
    return sum([&](const InstanceSignals& i) { return i.postscreen[I(e)]; });
  };
  const std::string pre = "-E 'postfix[^ /]*/postscreen\\[[0-9]+\\]: ";
  EXPECT_EQ(ps(E::kPassNew), GrepCount(pre + "PASS NEW '", plain));
  EXPECT_EQ(ps(E::kPassOld), GrepCount(pre + "PASS OLD '", plain));
  EXPECT_EQ(ps(E::kPregreet), GrepCount(pre + "PREGREET '", plain));
  EXPECT_EQ(ps(E::kDnsbl), GrepCount(pre + "DNSBL rank '", plain));
  EXPECT_EQ(ps(E::kHangup), GrepCount(pre + "HANGUP '", plain));
  EXPECT_EQ(ps(E::kCommandTimeLimit),
            GrepCount(pre + "COMMAND TIME LIMIT '", plain));
  EXPECT_EQ(ps(E::kNoqueueReject),
            GrepCount(pre + "NOQUEUE: reject: '", plain));
  EXPECT_EQ(ps(E::kWhitelisted),
            GrepCount(pre + "(WHITE|ALLOW)LISTED '", plain));
  EXPECT_EQ(ps(E::kBlacklisted),
            GrepCount(pre + "(BLACK|DENY)LISTED '", plain));
  uint64_t buckets = sum([](const InstanceSignals& i) {
    uint64_t n = 0;
    for (uint64_t b : i.dnsbl_rank) n += b;
    return n;
  });
  EXPECT_EQ(buckets, ps(E::kDnsbl));

  auto sasl = [&](bool ok) {
    return sum([&](const InstanceSignals& i) {
      uint64_t n = 0;
      for (const SaslCounts& s : i.sasl)
        for (size_t m = 0; m < N<M>(); ++m)
          n += ok ? s.successes[m] : s.failures[m];
      return n;
    });
  };
  EXPECT_EQ(sasl(false),
            GrepCount("-E '/smtpd\\[[0-9]+\\]: warning: [^ ]+: SASL [^ ]+ "
                      "authentication failed'",
                      plain));
  EXPECT_EQ(sasl(true),
            GrepCount("-E '/smtpd\\[[0-9]+\\]: [0-9A-Za-z]+: client=[^ ]+, "
                      "sasl_method='",
                      plain));

  for (const char* v : {"TLSv1.2", "TLSv1.3"}) {
    auto conns = [&](size_t d) {
      return sum([&](const InstanceSignals& i) {
        return i.tls_connections[d][I(TlsVersionOf(v))];
      });
    };
    const std::string tail = ": " + std::string(v) + " with cipher'";
    EXPECT_EQ(conns(kIn),
              GrepCount("-E '(smtpd|postscreen|tlsproxy)\\[[0-9]+\\]: "
                        "[A-Za-z]+ TLS connection established from [^ ]+" +
                            tail,
                        plain))
        << v;
    EXPECT_EQ(conns(kOut),
              GrepCount("-E '/(smtp|lmtp)\\[[0-9]+\\]: [A-Za-z]+ TLS "
                        "connection established to [^ ]+" +
                            tail,
                        plain))
        << v;
  }
  uint64_t inbound_failures = sum([](const InstanceSignals& i) {
    uint64_t n = 0;
    for (uint64_t f : i.tls_failures[kIn]) n += f;
    return n;
  });
  // (The corpus has no "TLS library problem" line after an SSL_accept
  // error: each such error is one failure.)
  EXPECT_EQ(inbound_failures,
            GrepCount("-E '(smtpd|postscreen|tlsproxy)\\[[0-9]+\\]: "
                      "SSL_accept error'",
                      plain));
  std::remove(plain.c_str());
}

INSTANTIATE_TEST_SUITE_P(Corpus, SignalCorpusTest,
                         ::testing::Values("plain", "gz"));

}  // namespace
}  // namespace mailhealth::log
