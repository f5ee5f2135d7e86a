// postscreen and SASL signals from the real Postfix (scripts/setup-postfix
// start, inside tests/tools/isolate):
//   - postscreen on port 25 with postscreen_access_list empty (so loopback
//     clients are tested), a DNSBL site dnsbl.test served by a real BIND
//     (tests/testutil/dns_server.h) that lists 127.0.0.1, reached by
//     Postfix's dnsblog through /etc/resolv.conf (the private copy) and an
//     nftables redirect of 127.0.0.1:53 to the BIND port, in the test's
//     own network namespace; three clients that talk before the banner
//     (PREGREET);
//   - a submission service on 127.0.0.1:2587 with Cyrus SASL on a sasldb
//     of its own: three swaks logins with a wrong password, one right one
//     that sends a message; and one on 127.0.0.1:2588 whose master.cf
//     entry sets syslog_name=mysubmit: two wrong logins, counted for the
//     default instance and that service from the live configuration.
// The collector's counters must equal the lines Postfix wrote during the
// test, counted here with a plain substring search, and the numbers the
// test caused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "collectors/log/log_collector.h"
#include "daemon/config.h"
#include "exporter/metric_builder.h"
#include "tests/testutil/dns_server.h"
#include "tests/testutil/isolation.h"

namespace mailhealth {
namespace {

using testing::DnsServer;

int Shell(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Sum over the samples of `name` whose labels include all of `labels`
// (counter values; for a histogram, its sample count).
double Sum(const CollectResult& r, const std::string& name,
           const std::vector<std::pair<std::string, std::string>>& labels) {
  double n = 0;
  for (const auto& f : r.families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      bool all = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found |= l.name == k && l.value == v;
        all &= found;
      }
      if (!all) continue;
      n += f.type == prometheus::MetricType::Histogram
               ? static_cast<double>(m.histogram.sample_count)
               : m.counter.value;
    }
  }
  return n;
}

size_t CountLines(const std::string& text, const std::string& a,
                  const std::string& b) {
  size_t n = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    n += line.find(a) != std::string::npos && line.find(b) != std::string::npos;
  return n;
}

// Connects to 127.0.0.1:25, says EHLO before the banner, waits past
// postscreen's greet wait, then QUIT.
void Pregreet() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(25);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char ehlo[] = "EHLO pregreet.test\r\n";
    (void)!::write(fd, ehlo, sizeof ehlo - 1);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const char quit[] = "QUIT\r\n";
    (void)!::write(fd, quit, sizeof quit - 1);
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  }
  ::close(fd);
}

class Restore {
 public:
  explicit Restore(std::string resolv) : resolv_(std::move(resolv)) {}
  ~Restore() {
    std::ofstream("/etc/resolv.conf", std::ios::trunc) << resolv_;
    Shell("nft delete table ip mailhealth_signals >/dev/null 2>&1");
    Shell("rm -f /etc/sasldb2 /etc/postfix/sasl/smtpd.conf");
    // Back to the plain test Postfix (pristine main.cf and master.cf).
    Shell(std::string(MAILHEALTH_SOURCE_DIR) +
          "/scripts/setup-postfix start >/dev/null 2>&1");
  }

 private:
  std::string resolv_;
};

TEST(LogSignalsPostfixTest, PostscreenAndSaslCountedExactly) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to start Postfix";
  if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
  if (Shell("command -v saslpasswd2 >/dev/null && command -v nft >/dev/null"))
    GTEST_SKIP() << "needs saslpasswd2 (sasl2-bin) and nft (scripts/bootstrap)";
  auto dns = DnsServer::Start({{"dnsbl.test", "1.0.0.127 A 127.0.0.2\n"}});
  ASSERT_TRUE(dns) << DnsServer::last_error();
  ASSERT_EQ(Shell(std::string(MAILHEALTH_SOURCE_DIR) +
                  "/scripts/setup-postfix start"),
            0);
  Restore restore(ReadFile("/etc/resolv.conf"));

  // The DNSBL, where dnsblog's resolver looks: 127.0.0.1:53, redirected to
  // the BIND port (this network namespace only).
  std::ofstream("/etc/resolv.conf", std::ios::trunc)
      << "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";
  const std::string port = std::to_string(dns->port());
  ASSERT_EQ(Shell("nft add table ip mailhealth_signals && "
                  "nft add chain ip mailhealth_signals out "
                  "'{ type nat hook output priority -100; }' && "
                  "nft add rule ip mailhealth_signals out ip daddr 127.0.0.1 "
                  "udp dport 53 redirect to :" +
                  port +
                  " && nft add rule ip mailhealth_signals out ip daddr "
                  "127.0.0.1 tcp dport 53 redirect to :" +
                  port),
            0);
  ASSERT_EQ(Shell("test \"$(dig +short +time=2 +tries=1 @127.0.0.1 "
                  "1.0.0.127.dnsbl.test A)\" = 127.0.0.2"),
            0)
      << "the DNSBL does not answer on 127.0.0.1:53";

  // Cyrus SASL on a sasldb of the test's own.
  ASSERT_EQ(Shell("echo secret | saslpasswd2 -p -c -f /etc/sasldb2 -u "
                  "mail.mailhealth.test alice && chown root:postfix "
                  "/etc/sasldb2 && chmod 640 /etc/sasldb2 && mkdir -p "
                  "/etc/postfix/sasl && printf 'pwcheck_method: auxprop\\n"
                  "auxprop_plugin: sasldb\\nsasldb_path: /etc/sasldb2\\n"
                  "mech_list: PLAIN LOGIN\\n' > /etc/postfix/sasl/smtpd.conf"),
            0);
  ASSERT_EQ(
      Shell(
          "postconf -M 'smtp/inet=smtp inet n - n - 1 postscreen' && "
          "postconf -M 'smtpd/pass=smtpd pass - - n - - smtpd' && "
          "postconf -M 'dnsblog/unix=dnsblog unix - - n - 0 dnsblog' && "
          "postconf -M 'tlsproxy/unix=tlsproxy unix - - n - 0 tlsproxy' && "
          "postconf -M '127.0.0.1:2587/inet=127.0.0.1:2587 inet n - n - - "
          "smtpd -o syslog_name=postfix/submission "
          "-o smtpd_sasl_auth_enable=yes -o smtpd_tls_security_level=none "
          "-o smtpd_recipient_restrictions=permit_sasl_authenticated,reject'"
          " && postconf -M '127.0.0.1:2588/inet=127.0.0.1:2588 inet n - n - - "
          "smtpd -o syslog_name=mysubmit "
          "-o smtpd_sasl_auth_enable=yes -o smtpd_tls_security_level=none'"
          " && postconf -e 'postscreen_access_list =' "
          "'postscreen_dnsbl_sites = dnsbl.test' "
          "'postscreen_dnsbl_action = enforce' "
          "'postscreen_greet_action = enforce' "
          "'postscreen_greet_wait = 2s' 'smtpd_sasl_type = cyrus' "
          "'smtpd_sasl_path = smtpd' "
          "'cyrus_sasl_config_path = /etc/postfix/sasl' && "
          "postfix stop >/dev/null 2>&1; postfix start"),
      0);

  CollectorRegistry reg;
  reg.Register(LogCollectorInfo());
  auto loaded = LoadConfigFromString(
      reg, "collectors:\n  log:\n    path: /var/log/mail.log\n", "test.yml",
      {});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  std::shared_ptr<Collector> c = loaded->collectors[0].collector;
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  const std::string log_before = ReadFile("/var/log/mail.log");
  const Labels ps = {{"postfix_instance", "postfix"}};
  const Labels sub = {{"postfix_instance", "postfix"},
                      {"service", "submission"}};
  auto pregreet = [&] {
    Labels l = ps;
    l.push_back({"event", "pregreet"});
    return Sum(r, "mailhealth_log_postscreen_events_total", l);
  };
  auto dnsbl = [&] {
    Labels l = ps;
    l.push_back({"event", "dnsbl"});
    return Sum(r, "mailhealth_log_postscreen_events_total", l);
  };
  auto sasl = [&](const char* name, const char* mech) {
    Labels l = sub;
    l.push_back({"mechanism", mech});
    return Sum(r, name, l);
  };
  const double pregreet0 = pregreet(), dnsbl0 = dnsbl();
  const double rank0 = Sum(r, "mailhealth_log_postscreen_dnsbl_rank", ps);
  const double fail0 = sasl("mailhealth_log_sasl_auth_failures_total", "login");
  const double ok0 = sasl("mailhealth_log_sasl_auth_successes_total", "plain");
  // The service whose master.cf entry says -o syslog_name=mysubmit: its
  // lines ("mysubmit/smtpd") are the default instance's, service
  // 127.0.0.1:2588, from the live configuration (postconf -P).
  const Labels custom = {{"postfix_instance", "postfix"},
                         {"service", "127.0.0.1:2588"},
                         {"mechanism", "login"}};
  auto custom_fail = [&] {
    return Sum(r, "mailhealth_log_sasl_auth_failures_total", custom);
  };
  const double custom0 = custom_fail();

  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) clients.emplace_back(Pregreet);
  const std::string auth =
      "swaks --server 127.0.0.1:2587 --helo client.test --auth-user "
      "alice@mail.mailhealth.test ";
  for (int i = 0; i < 3; ++i)
    Shell(auth +
          "--auth LOGIN --auth-password wrong --quit-after AUTH "
          ">/dev/null 2>&1");
  for (int i = 0; i < 2; ++i)
    Shell(
        "swaks --server 127.0.0.1:2588 --helo client.test --auth-user "
        "alice@mail.mailhealth.test --auth LOGIN --auth-password wrong "
        "--quit-after AUTH >/dev/null 2>&1");
  EXPECT_EQ(Shell(auth + "--auth PLAIN --auth-password secret --from "
                         "alice@mail.mailhealth.test --to "
                         "mhuser@mail.mailhealth.test >/dev/null 2>&1"),
            0)
      << "the right password was refused";
  for (auto& t : clients) t.join();

  auto until = Clock::now() + std::chrono::seconds(30);
  while (
      Clock::now() < until &&
      !(pregreet() >= pregreet0 + 3 &&
        sasl("mailhealth_log_sasl_auth_failures_total", "login") >= fail0 + 3 &&
        sasl("mailhealth_log_sasl_auth_successes_total", "plain") >= ok0 + 1 &&
        custom_fail() >= custom0 + 2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    r = c->Collect(Clock::now() + std::chrono::seconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // stragglers
  r = c->Collect(Clock::now() + std::chrono::seconds(1));
  c->Stop();

  std::string log = ReadFile("/var/log/mail.log");
  ASSERT_GE(log.size(), log_before.size());
  log = log.substr(log_before.size());
  // What the test caused.
  EXPECT_EQ(pregreet() - pregreet0, 3) << log;
  EXPECT_EQ(sasl("mailhealth_log_sasl_auth_failures_total", "login") - fail0, 3)
      << log;
  EXPECT_EQ(sasl("mailhealth_log_sasl_auth_successes_total", "plain") - ok0, 1)
      << log;
  // And what Postfix wrote about it, line for line.
  EXPECT_EQ(pregreet() - pregreet0,
            CountLines(log, "postfix/postscreen[", "]: PREGREET "));
  const size_t dnsbl_lines =
      CountLines(log, "postfix/postscreen[", "]: DNSBL rank 1 for [127.0.0.1]");
  EXPECT_GE(dnsbl_lines, 1u) << "postscreen never scored the DNSBL:\n" << log;
  EXPECT_EQ(dnsbl() - dnsbl0, dnsbl_lines);
  EXPECT_EQ(Sum(r, "mailhealth_log_postscreen_dnsbl_rank", ps) - rank0,
            dnsbl_lines);
  EXPECT_EQ(sasl("mailhealth_log_sasl_auth_failures_total", "login") - fail0,
            CountLines(log, "postfix/submission/smtpd[",
                       ": SASL LOGIN authentication failed"));
  EXPECT_EQ(sasl("mailhealth_log_sasl_auth_successes_total", "plain") - ok0,
            CountLines(log, "postfix/submission/smtpd[", "sasl_method=PLAIN"));
  EXPECT_EQ(custom_fail() - custom0, 2) << log;
  EXPECT_EQ(custom_fail() - custom0,
            CountLines(log, " mysubmit/smtpd[",
                       ": SASL LOGIN authentication failed"));
}

}  // namespace
}  // namespace mailhealth
