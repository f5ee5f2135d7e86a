// The queue collector on a real second Postfix instance (issue #15),
// inside tests/tools/isolate: scripts/setup-postfix's default instance plus
// postfix-out made with `postmulti -e init` and `postmulti -I postfix-out
// -G mta -e create` (config /etc/postfix-out in the private /etc; queue and
// data directories under the private /home, so nothing lands on the
// machine's /var/spool), smtpd on 127.0.0.1:2540 only, remote mail to the
// dead relayhost [127.0.0.1]:2599. Each instance gets a different number of
// deferred and held messages; the per-instance counts are compared with
// `postqueue [-c DIR] -j` itself, through postqueue and through the spool
// helper, and postfix_up is checked per instance with only postfix-out
// stopped. The instance is destroyed again at the end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "collectors/queue/queue_collector.h"
#include "collectors/queue/spool_stat_parser.h"
#include "tests/testutil/isolation.h"
#include "tests/testutil/samples.h"
#include "tests/testutil/shell.h"

namespace mailhealth {
namespace {

constexpr char kOutConf[] = "/etc/postfix-out";
constexpr char kOutBase[] = "/home/mh-postfix-out";
constexpr char kOutQueue[] = "/home/mh-postfix-out/spool";

int Sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string Sender() {
  return "mhmulti" + std::to_string(getpid()) + "@mail.mailhealth.test";
}

// queue name -> messages, from `postqueue [-c DIR] -j`.
std::map<std::string, int> Counts(const std::string& conf) {
  std::map<std::string, int> out;
  std::string cmd = "/usr/sbin/postqueue" +
                    (conf.empty() ? std::string() : " -c " + conf) +
                    " -j 2>/dev/null";
  std::string text = ShellOutput(cmd);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    auto j = nlohmann::json::parse(text.substr(pos, nl - pos), nullptr, false);
    if (j.is_object()) ++out[j.value("queue_name", "")];
    pos = nl + 1;
  }
  return out;
}

bool Send(const std::string& conf, int n, const std::string& subject) {
  for (int i = 0; i < n; ++i) {
    std::string cmd =
        "/usr/sbin/sendmail" + (conf.empty() ? std::string() : " -C " + conf) +
        " -i -f " + Sender() + " r" + std::to_string(i) + "@example.com";
    FILE* p = popen(cmd.c_str(), "w");
    if (!p) return false;
    std::fprintf(p, "From: <%s>\nSubject: %s\n\nbody\n", Sender().c_str(),
                 subject.c_str());
    if (pclose(p) != 0) return false;
  }
  return true;
}

// Until `conf`'s queue holds at least `deferred` tried deferred and `hold`
// held messages.
bool WaitFor(const std::string& conf, int deferred, int hold) {
  for (int i = 0; i < 120; ++i) {
    auto c = Counts(conf);
    if (c["deferred"] >= deferred && c["hold"] >= hold && c["active"] == 0 &&
        c["incoming"] == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

class QueueMultiInstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
  }
  static void SetUpTestSuite() {
    if (!IsolatedFromMachine() || geteuid() != 0) return;
    ASSERT_EQ(
        Sh(std::string(MAILHEALTH_SOURCE_DIR) + "/scripts/setup-postfix start"),
        0);
    ASSERT_EQ(Sh("postmulti -e init"), 0);
    ASSERT_EQ(
        Sh(std::string("mkdir -p ") + kOutBase + " && chmod 755 " + kOutBase),
        0);
    ASSERT_EQ(Sh(std::string("postmulti -I postfix-out -G mta -e create "
                             "config_directory=") +
                 kOutConf + " queue_directory=" + kOutQueue +
                 " data_directory=" + kOutBase + "/data"),
              0);
    const std::string pc = std::string("postconf -c ") + kOutConf;
    ASSERT_EQ(
        Sh(pc + " -e 'master_service_disable =' "
                "'inet_interfaces = loopback-only' 'inet_protocols = ipv4' "
                "'myhostname = out.mailhealth.test' 'mydestination =' "
                "'relayhost = [127.0.0.1]:2599' "
                "'smtp_dns_support_level = disabled' "
                "'smtpd_peername_lookup = no' "
                "'authorized_submit_users = static:anyone' "
                "'header_checks = regexp:/etc/postfix-out/header_checks' "
                "'maillog_file = /var/log/mail-out.log'"),
        0);
    ASSERT_EQ(Sh(pc + " -F '*/*/chroot = n'"), 0);
    ASSERT_EQ(Sh(pc + " -M# smtp/inet"), 0);
    ASSERT_EQ(Sh(pc + " -M '127.0.0.1:2540/inet = 127.0.0.1:2540 inet n - n - "
                      "- smtpd'"),
              0);
    ASSERT_EQ(Sh("echo '/^Subject:.*HOLDME/ HOLD held' > "
                 "/etc/postfix-out/header_checks"),
              0);
    ASSERT_EQ(Sh("postmulti -i postfix-out -e enable"), 0);
    ASSERT_EQ(Sh("postmulti -i postfix-out -p start"), 0);
    // Different numbers in each: default 2 deferred + 1 held of ours,
    // postfix-out 4 deferred + 2 held.
    base_ = Counts("");
    ASSERT_TRUE(Send("", 2, "multi test"));
    ASSERT_TRUE(Send("", 1, "multi HOLDME"));
    ASSERT_TRUE(Send(kOutConf, 4, "multi test"));
    ASSERT_TRUE(Send(kOutConf, 2, "multi HOLDME"));
    ASSERT_TRUE(WaitFor(kOutConf, 4, 2));
    ASSERT_TRUE(WaitFor("", base_["deferred"] + 2, base_["hold"] + 1));
  }
  static void TearDownTestSuite() {
    if (!IsolatedFromMachine() || geteuid() != 0) return;
    Sh("postmulti -i postfix-out -p stop >/dev/null 2>&1");
    Sh(std::string("postsuper -c ") + kOutConf + " -d ALL >/dev/null 2>&1");
    Sh("postmulti -i postfix-out -e disable >/dev/null 2>&1");
    if (Sh("postmulti -i postfix-out -e destroy >/dev/null 2>&1") != 0) {
      Sh("postconf -e 'multi_instance_directories ='");
    }
    Sh(std::string("rm -rf ") + kOutBase + " " + kOutConf);
    Sh("postconf -X multi_instance_wrapper multi_instance_enable");
    // Our messages in the default instance.
    Sh("postqueue -j | grep '" + Sender() +
       "' | sed 's/.*\"queue_id\": *\"\\([0-9A-F]*\\)\".*/\\1/' | "
       "postsuper -d - >/dev/null 2>&1");
  }

  std::unique_ptr<Collector> Make(const std::string& method) {
    QueueConfig cfg;
    cfg.method = method;
    cfg.spool_stat = method == "spool" ? SPOOL_STAT_BIN : "";
    cfg.spool_stat_socket = "";
    return MakeQueueCollector(cfg, Millis(30000), MakeProcessRunner(), nullptr,
                              PostconfDiscovery(cfg));
  }

  // Collects until its counts and postqueue's agree around the run (a
  // message moving between queues meanwhile), at most 10 times.
  void ExpectCountsEqualPostqueue(const std::string& method) {
    auto c = Make(method);
    for (int attempt = 0;; ++attempt) {
      auto before_main = Counts(""), before_out = Counts(kOutConf);
      CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(20));
      ASSERT_TRUE(r.status.ok()) << r.status.message();
      Samples s = Flatten(r.families);
      auto after_main = Counts(""), after_out = Counts(kOutConf);
      if ((before_main != after_main || before_out != after_out) &&
          attempt < 10) {
        continue;
      }
      for (const char* q : {"deferred", "hold", "active", "incoming"}) {
        SCOPED_TRACE(method + " " + q);
        EXPECT_EQ(
            s["mailhealth_queue_messages{postfix_instance=postfix,queue=" +
              std::string(q) + "}"],
            after_main[q]);
        EXPECT_EQ(s["mailhealth_queue_messages{postfix_instance=postfix-out,"
                    "queue=" +
                    std::string(q) + "}"],
                  after_out[q]);
      }
      EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix}"], 1);
      EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix-out}"], 1);
      return;
    }
  }

  static std::map<std::string, int> base_;
};

std::map<std::string, int> QueueMultiInstanceTest::base_;

TEST_F(QueueMultiInstanceTest, EachInstanceHasItsOwnQueue) {
  auto out = Counts(kOutConf);
  EXPECT_EQ(out["deferred"], 4);
  EXPECT_EQ(out["hold"], 2);
  auto main = Counts("");
  EXPECT_EQ(main["deferred"], base_["deferred"] + 2);
  EXPECT_EQ(main["hold"], base_["hold"] + 1);
}

TEST_F(QueueMultiInstanceTest, PerInstanceCountsThroughPostqueue) {
  ExpectCountsEqualPostqueue("postqueue");
}

TEST_F(QueueMultiInstanceTest, PerInstanceCountsThroughTheSpoolHelper) {
  ExpectCountsEqualPostqueue("spool");
}

TEST_F(QueueMultiInstanceTest, DiscoveryReadsTheRealInstance) {
  auto found = postconf::DiscoverInstances(
      "/usr/sbin/postconf", "", {}, Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ(found->at(0).name, "postfix");
  EXPECT_EQ(found->at(0).syslog_name, "postfix");
  const postconf::PostfixInstance& out = found->at(1);
  EXPECT_EQ(out.name, "postfix-out");
  EXPECT_EQ(out.config_directory, kOutConf);
  EXPECT_EQ(out.queue_directory, kOutQueue);
  EXPECT_EQ(out.syslog_name, "postfix-out");
  EXPECT_TRUE(out.enabled);
  EXPECT_EQ(out.error, "");
}

// The helper walks postfix-out's queue only for -c of a listed instance,
// and only that instance's queue directory.
TEST_F(QueueMultiInstanceTest, SpoolHelperTakesOnlyListedInstances) {
  const std::string bin = SPOOL_STAT_BIN;
  SpoolStatReport rep =
      ParseSpoolStat(ShellOutput(bin + " -c " + kOutConf + " 2>/dev/null"));
  ASSERT_TRUE(rep.ok) << rep.error;
  EXPECT_EQ(rep.queue_directory, kOutQueue);
  EXPECT_EQ(Sh(bin + " -c " + kOutConf + " " + kOutQueue + " >/dev/null"), 0);
  // Its -c with the default instance's queue: refused.
  EXPECT_EQ(Sh(bin + " -c " + kOutConf + " /var/spool/postfix 2>/dev/null"), 2);
  // An instance directory that the default main.cf does not list.
  Sh("rm -rf /etc/postfix-other && cp -a /etc/postfix-out /etc/postfix-other");
  std::string err = ShellOutput(
      bin + " -c /etc/postfix-other 2>&1 >/dev/null; echo \"rc=$?\"");
  EXPECT_NE(err.find("refused: -c /etc/postfix-other"), std::string::npos)
      << err;
  EXPECT_NE(err.find("rc=2"), std::string::npos) << err;
  Sh("rm -rf /etc/postfix-other");
}

// Last: stops postfix-out only.
TEST_F(QueueMultiInstanceTest, ZZUpPerInstanceWithOnlyPostfixOutStopped) {
  ASSERT_EQ(Sh("postmulti -i postfix-out -p stop >/dev/null 2>&1"), 0);
  for (const char* method : {"postqueue", "spool"}) {
    SCOPED_TRACE(method);
    auto c = Make(method);
    CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(20));
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    Samples s = Flatten(r.families);
    EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix}"], 1);
    EXPECT_EQ(s.count("mailhealth_postfix_up{postfix_instance=postfix-out}"),
              1u);
    EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix-out}"], 0);
  }
  ASSERT_EQ(Sh("postmulti -i postfix-out -p start >/dev/null 2>&1"), 0);
  auto c = Make("postqueue");
  Samples s =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(20)).families);
  EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix-out}"], 1);
}

}  // namespace
}  // namespace mailhealth
