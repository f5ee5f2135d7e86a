// The queue collector with a fake postqueue (ProcessRunner): the families it
// builds, postfix_up, failures, the -j -> -p fallback, and config checks.
#include "collectors/queue/queue_collector.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "collectors/queue/queue_stats.h"
#include "exporter/metric_builder.h"

extern char** environ;

namespace mailhealth {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Scripted postqueue: one outcome (and stdout) per call, argv recorded.
// postconf calls are answered from `postconf` (a missing binary when null)
// and recorded apart.
struct FakePostconf {
  std::string stdout_text;  // "name = value" lines
  int exit_code = 0;
  std::vector<std::vector<std::string>> calls;
};

class FakeRunner : public ProcessRunner {
 public:
  struct Step {
    ProcessOutcome outcome;
    std::string stdout_text;
  };
  explicit FakeRunner(std::vector<Step> steps,
                      std::vector<std::vector<std::string>>* calls,
                      FakePostconf* postconf = nullptr)
      : steps_(std::move(steps)), calls_(calls), postconf_(postconf) {}
  ProcessOutcome Run(const std::vector<std::string>& argv, Clock::time_point,
                     const OutputFn& on_stdout) override {
    if (!argv.empty() && argv[0].ends_with("/postconf")) {
      ProcessOutcome o;
      if (postconf_ == nullptr) {
        o.error = "No such file or directory";
        return o;
      }
      postconf_->calls.push_back(argv);
      o.started = o.exited = true;
      o.exit_code = postconf_->exit_code;
      on_stdout(postconf_->stdout_text);
      return o;
    }
    calls_->push_back(argv);
    Step s =
        steps_.empty() ? Step{} : steps_[std::min(next_, steps_.size() - 1)];
    ++next_;
    // Deliver in small pieces, as a pipe would.
    for (size_t i = 0; i < s.stdout_text.size(); i += 100) {
      on_stdout(std::string_view(s.stdout_text).substr(i, 100));
    }
    return s.outcome;
  }

 private:
  std::vector<Step> steps_;
  size_t next_ = 0;
  std::vector<std::vector<std::string>>* calls_;
  FakePostconf* postconf_;
};

ProcessOutcome Exited(int code, std::string err = "") {
  ProcessOutcome o;
  o.started = true;
  o.exited = true;
  o.exit_code = code;
  o.stderr_text = std::move(err);
  return o;
}

// A live process whose name is "master" (a copy of sleep), and a queue
// directory whose pid file names it.
class FakeMaster {
 public:
  FakeMaster() {
    char tmpl[] = "/tmp/mh_queue_XXXXXX";
    dir_ = mkdtemp(tmpl);
    mkdir((dir_ + "/pid").c_str(), 0755);
    std::string bin = dir_ + "/master";
    std::ifstream src("/bin/sleep", std::ios::binary);
    std::ofstream dst(bin, std::ios::binary);
    dst << src.rdbuf();
    dst.close();
    chmod(bin.c_str(), 0755);
  }
  ~FakeMaster() {
    Stop();
    std::system(("rm -rf " + dir_).c_str());
  }
  void Start() {
    std::string bin = dir_ + "/master";
    char* argv[] = {const_cast<char*>(bin.c_str()), const_cast<char*>("100"),
                    nullptr};
    ASSERT_EQ(posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv, environ),
              0);
    std::ofstream(dir_ + "/pid/master.pid") << "        " << pid_ << "\n";
    // Wait until exec has happened (comm becomes "master").
    for (int i = 0; i < 200; ++i) {
      std::ifstream comm("/proc/" + std::to_string(pid_) + "/comm");
      std::string name;
      if (std::getline(comm, name) && name == "master") break;
      usleep(5000);
    }
  }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// name{labels} -> value, histograms as _count/_sum.
using Samples = std::map<std::string, double>;

Samples Flatten(const Families& fams) {
  Samples out;
  for (const auto& f : fams) {
    for (const auto& m : f.metric) {
      std::string key = f.name;
      if (!m.label.empty()) {
        key += "{";
        for (size_t i = 0; i < m.label.size(); ++i) {
          key += (i ? "," : "") + m.label[i].name + "=" + m.label[i].value;
        }
        key += "}";
      }
      switch (f.type) {
        case prometheus::MetricType::Gauge:
          out[key] = m.gauge.value;
          break;
        case prometheus::MetricType::Counter:
          out[key] = m.counter.value;
          break;
        case prometheus::MetricType::Histogram:
          out[key + "_count"] = static_cast<double>(m.histogram.sample_count);
          out[key + "_sum"] = m.histogram.sample_sum;
          break;
        default:
          break;
      }
    }
  }
  return out;
}

class QueueCollectorTest : public ::testing::Test {
 protected:
  std::unique_ptr<Collector> Make(std::vector<FakeRunner::Step> steps,
                                  QueueConfig cfg = QueueConfig()) {
    cfg.queue_directory = master_.dir();
    // These are tests of method postqueue (the spool method's are below).
    if (cfg.method == "auto") cfg.method = "postqueue";
    return MakeQueueCollector(
        cfg, Millis(30000),
        std::make_unique<FakeRunner>(std::move(steps), &calls_, postconf_),
        [this] { return now_; });
  }
  FakeMaster master_;
  FakePostconf* postconf_ = nullptr;
  std::vector<std::vector<std::string>> calls_;
  std::time_t now_ = 1795572000;  // 2026-11-25 02:00:00 UTC
};

const char kTwoMessages[] =
    R"({"queue_name": "deferred", "queue_id": "A", "arrival_time": 1795571400, "message_size": 1000, "recipients": [{"address": "a@Example.COM", "delay_reason": "connect to 127.0.0.1[127.0.0.1]:10024: Connection refused"}, {"address": "b@other.test", "delay_reason": "Mailbox full"}]})"
    "\n"
    R"({"queue_name": "hold", "queue_id": "B", "arrival_time": 1795564800, "message_size": 500, "recipients": [{"address": "c@example.com"}]})"
    "\n";

TEST_F(QueueCollectorTest, BuildsEveryFamilyFromTheListing) {
  master_.Start();
  QueueConfig cfg;
  cfg.domains = {"example.com"};
  auto c = Make({{Exited(0), kTwoMessages}}, cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix}"], 1);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      1);
  EXPECT_EQ(s["mailhealth_queue_messages{postfix_instance=postfix,queue=hold}"],
            1);
  EXPECT_EQ(
      s["mailhealth_queue_size_bytes{postfix_instance=postfix,queue=deferred}"],
      1000);
  EXPECT_EQ(s["mailhealth_queue_oldest_message_age_seconds{postfix_instance="
              "postfix,queue=deferred}"],
            600);
  EXPECT_EQ(s["mailhealth_queue_oldest_message_age_seconds{postfix_instance="
              "postfix,queue=hold}"],
            7200);
  EXPECT_EQ(s["mailhealth_queue_message_age_seconds{postfix_instance=postfix,"
              "queue=hold}_sum"],
            7200);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=local_service}"],
            1);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=mailbox_full}"],
            1);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=other}"],
            0);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_domain{postfix_instance="
              "postfix,domain=example.com}"],
            1);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_domain{postfix_instance="
              "postfix,domain=other}"],
            1);
  EXPECT_EQ(s["mailhealth_queue_parse_errors_total{postfix_instance=postfix}"],
            0);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0], (std::vector<std::string>{"/usr/sbin/postqueue", "-j"}));
}

TEST_F(QueueCollectorTest, EveryFixedLabelValueIsExportedWhenEmpty) {
  master_.Start();
  auto c = Make({{Exited(0), ""}});
  Samples s =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  for (const char* q :
       {"maildrop", "incoming", "active", "deferred", "hold", "corrupt"}) {
    std::string l = std::string("{postfix_instance=postfix,queue=") + q + "}";
    EXPECT_EQ(s.count("mailhealth_queue_messages" + l), 1u) << q;
    EXPECT_EQ(s.count("mailhealth_queue_size_bytes" + l), 1u) << q;
    EXPECT_EQ(s.count("mailhealth_queue_oldest_message_age_seconds" + l), 1u)
        << q;
    EXPECT_EQ(s.count("mailhealth_queue_message_age_seconds" + l + "_count"),
              1u)
        << q;
  }
  for (auto r : AllDeferralReasons()) {
    EXPECT_EQ(s.count("mailhealth_queue_deferred_messages_by_reason{postfix_"
                      "instance=postfix,reason=" +
                      std::string(DeferralReasonName(r)) + "}"),
              1u);
  }
  EXPECT_EQ(s.count("mailhealth_queue_deferred_messages_by_domain{postfix_"
                    "instance=postfix,domain=other}"),
            1u);
}

TEST_F(QueueCollectorTest, LocalDeliveryEndpointsComeFromPostconfEachRun) {
  master_.Start();
  FakePostconf postconf;
  postconf.stdout_text =
      "local_transport = local:$myhostname\n"
      "virtual_transport = virtual\n"
      "mailbox_transport = lmtp:inet:127.0.0.1:24\n"
      "mailbox_command =\n";
  postconf_ = &postconf;
  const char kListing[] =
      R"({"queue_name": "deferred", "queue_id": "A", "arrival_time": 1795571400, "message_size": 1000, "recipients": [{"address": "a@example.com", "delay_reason": "connect to 127.0.0.1[127.0.0.1]:24: Connection refused"}]})"
      "\n";
  QueueConfig cfg;
  cfg.config_directory = "/etc/postfix-in";
  auto c = Make({{Exited(0), kListing}}, cfg);
  const std::string kRefused =
      "mailhealth_queue_deferred_messages_by_reason{postfix_instance=postfix,"
      "reason=connection_refused}";
  const std::string kLocal =
      "mailhealth_queue_deferred_messages_by_reason{postfix_instance=postfix,"
      "reason=local_delivery}";
  Samples s =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(s[kLocal], 1);
  EXPECT_EQ(s[kRefused], 0);
  ASSERT_EQ(postconf.calls.size(), 1u);
  EXPECT_EQ(
      postconf.calls[0],
      (std::vector<std::string>{"/usr/sbin/postconf", "-c", "/etc/postfix-in",
                                "local_transport", "virtual_transport",
                                "mailbox_transport", "mailbox_command"}));
  // The store moved away from port 24 (postfix reload): read again.
  postconf.stdout_text = "mailbox_transport = lmtp:unix:private/dovecot-lmtp\n";
  s = Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(postconf.calls.size(), 2u);
  EXPECT_EQ(s[kLocal], 0);
  EXPECT_EQ(s[kRefused], 1);
}

// postconf only reads main.cf: it is run again only when main.cf changed
// (a postfix reload after an edit), not on every run.
TEST_F(QueueCollectorTest, PostconfRunsAgainOnlyWhenMainCfChanged) {
  master_.Start();
  FakePostconf postconf;
  postconf.stdout_text = "mailbox_transport = lmtp:inet:127.0.0.1:24\n";
  postconf_ = &postconf;
  std::string conf = master_.dir() + "/etc";
  mkdir(conf.c_str(), 0755);
  std::ofstream(conf + "/main.cf")
      << "mailbox_transport = lmtp:inet:127.0.0.1:24\n";
  QueueConfig cfg;
  cfg.config_directory = conf;
  auto c = Make({{Exited(0), ""}}, cfg);
  for (int i = 0; i < 3; ++i)
    c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(postconf.calls.size(), 1u);
  std::ofstream(conf + "/main.cf", std::ios::app) << "# edited\n";
  c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(postconf.calls.size(), 2u);
  c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(postconf.calls.size(), 2u);
}

TEST_F(QueueCollectorTest, FailingPostconfKeepsTheCollectorWorking) {
  master_.Start();
  FakePostconf postconf;
  postconf.exit_code = 1;
  postconf.stdout_text = "mailbox_transport = lmtp:inet:127.0.0.1:24\n";
  postconf_ = &postconf;
  auto c = Make({{Exited(0), ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(postconf.calls.size(), 1u);
}

TEST_F(QueueCollectorTest, ConfigDirectoryIsPassedAsSeparateArguments) {
  master_.Start();
  QueueConfig cfg;
  cfg.config_directory = "/etc/postfix-out";
  cfg.postqueue = "/opt/postfix/postqueue";
  auto c = Make({{Exited(0), ""}}, cfg);
  c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0], (std::vector<std::string>{"/opt/postfix/postqueue", "-c",
                                                 "/etc/postfix-out", "-j"}));
}

TEST_F(QueueCollectorTest, MailSystemDownIsDataNotFailure) {
  master_.Start();  // even with a master: postqueue's word counts
  auto c = Make({{Exited(69,
                         "postqueue: fatal: Queue report unavailable - mail "
                         "system is down\n"),
                  ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix}"], 0);
  EXPECT_EQ(
      s.count(
          "mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"),
      0u)
      << "no misleading zeros when the queue cannot be read";
}

TEST_F(QueueCollectorTest, NoLiveMasterMeansDown) {
  // pid file absent: postqueue still answers (e.g. reading the queue
  // directly), but Postfix does not run.
  auto c = Make({{Exited(0), kTwoMessages}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(
      Flatten(r.families)["mailhealth_postfix_up{postfix_instance=postfix}"],
      0);
}

TEST_F(QueueCollectorTest, StalePidFileMeansDown) {
  master_.Start();
  master_.Stop();  // the pid file stays, naming a dead process
  auto c = Make({{Exited(1, "postqueue: fatal: Connection refused\n"), ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(
      Flatten(r.families)["mailhealth_postfix_up{postfix_instance=postfix}"],
      0);
}

TEST_F(QueueCollectorTest, MissingPostqueueIsACollectorFailure) {
  master_.Start();
  ProcessOutcome o;
  o.error = "No such file or directory";
  auto c = Make({{o, ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(
      r.status.message().find("cannot run /usr/sbin/postqueue: No such file"),
      std::string::npos)
      << r.status.message();
  EXPECT_EQ(
      Flatten(r.families)["mailhealth_postfix_up{postfix_instance=postfix}"],
      0);
}

TEST_F(QueueCollectorTest, MissingPostqueueIsAFailureEvenWithoutAMaster) {
  ProcessOutcome o;
  o.error = "No such file or directory";
  auto c = Make({{o, ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(
      Flatten(r.families)["mailhealth_postfix_up{postfix_instance=postfix}"],
      0);
}

TEST_F(QueueCollectorTest, FailingPostqueueIsACollectorFailureWithItsMessage) {
  master_.Start();
  auto c = Make({{Exited(1,
                         "postqueue: fatal: User nobody(65534) is not allowed "
                         "to view the mail queue\n"),
                  ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find(
                "exited with status 1: postqueue: fatal: User nobody"),
            std::string::npos)
      << r.status.message();
}

TEST_F(QueueCollectorTest, TimeoutIsACollectorFailure) {
  master_.Start();
  ProcessOutcome o;
  o.started = true;
  o.timed_out = true;
  o.term_signal = SIGKILL;
  auto c = Make({{o, ""}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("timeout"), std::string::npos);
}

TEST_F(QueueCollectorTest, AutoFallsBackToTextAndRemembers) {
  master_.Start();
  std::string text =
      "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
      "ECE1610DFE8!     443 Wed Nov 25 01:52:54  benchuser@mail.bench.test\n"
      "                                         benchuser@mail.bench.test\n\n"
      "-- 1 Kbytes in 1 Request.\n";
  auto c = Make({{Exited(64,
                         "postqueue: invalid option -- 'j'\nusage: postqueue "
                         "-f | postqueue -p\n"),
                  ""},
                 {Exited(0), text},
                 {Exited(0), text}});
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(
      Flatten(r.families)
          ["mailhealth_queue_messages{postfix_instance=postfix,queue=hold}"],
      1);
  c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_EQ(calls_.size(), 3u);
  EXPECT_EQ(calls_[0].back(), "-j");
  EXPECT_EQ(calls_[1].back(), "-p");
  EXPECT_EQ(calls_[2].back(), "-p");
}

TEST_F(QueueCollectorTest, JsonFormatDoesNotFallBack) {
  master_.Start();
  QueueConfig cfg;
  cfg.format = "json";
  auto c = Make({{Exited(64, "postqueue: invalid option -- 'j'\n"), ""}}, cfg);
  EXPECT_FALSE(c->Collect(Clock::now() + std::chrono::seconds(5)).status.ok());
  EXPECT_EQ(calls_.size(), 1u);
}

TEST_F(QueueCollectorTest, ParseErrorsAccumulateAcrossRuns) {
  master_.Start();
  std::string bad = std::string(kTwoMessages) + "garbage\n{\"truncated\n";
  auto c = Make({{Exited(0), bad}});
  c->Collect(Clock::now() + std::chrono::seconds(5));
  Samples s =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(s["mailhealth_queue_parse_errors_total{postfix_instance=postfix}"],
            4);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      1);
}

TEST_F(QueueCollectorTest, CapturedQueueReasonsAddUp) {
  master_.Start();
  std::string j = ReadFile(std::string(MAILHEALTH_SOURCE_DIR) +
                           "/tests/fixtures/corpus/postqueue-j-captured.jsonl");
  auto c = Make({{Exited(0), j}});
  Samples s =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  double deferred =
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"];
  double by_reason = 0;
  for (auto r : AllDeferralReasons()) {
    by_reason +=
        s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
          "postfix,reason=" +
          std::string(DeferralReasonName(r)) + "}"];
  }
  // One message has recipients in two classes (bench-anchors.md).
  EXPECT_EQ(by_reason, deferred + 1);
  EXPECT_EQ(s["mailhealth_queue_messages{postfix_instance=postfix,queue=hold}"],
            1);
  EXPECT_GT(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=local_service}"],
            0);
  EXPECT_GT(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=connection_"
              "refused}"],
            0);
  EXPECT_GT(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=mailbox_full}"],
            0);
  EXPECT_GT(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=remote_"
              "temporary}"],
            0);
}

// A fake postqueue (a real script, run through the real runner) that hangs
// and leaves a grandchild: the run fails at the deadline and nothing is
// left behind.
TEST_F(QueueCollectorTest, HangingPostqueueIsKilledWithItsGrandchild) {
  master_.Start();
  std::string script = master_.dir() + "/postqueue";
  {
    std::ofstream f(script);
    f << "#!/bin/sh\nsleep 1000 &\necho $! > " << master_.dir()
      << "/grandchild\necho $$ > " << master_.dir()
      << "/child\nexec sleep 1000\n";
  }
  chmod(script.c_str(), 0755);
  QueueConfig cfg;
  cfg.method = "postqueue";
  cfg.postqueue = script;
  // The whole 500 ms for the script: a real postconf run first took a good
  // part of it on a loaded machine, and the script was killed before it
  // had written its pids (seen once in the full suite).
  cfg.postconf = "";
  cfg.queue_directory = master_.dir();
  auto c = MakeQueueCollector(cfg, Millis(30000), MakeProcessRunner(),
                              [this] { return now_; });
  auto start = Clock::now();
  CollectResult r = c->Collect(start + std::chrono::milliseconds(500));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("did not finish before the timeout"),
            std::string::npos)
      << r.status.message();
  for (const char* name : {"/child", "/grandchild"}) {
    std::ifstream pf(master_.dir() + name);
    pid_t pid = 0;
    pf >> pid;
    ASSERT_GT(pid, 0) << name;
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string line;
      gone = !stat || !std::getline(stat, line) ||
             line.find(") Z") != std::string::npos;
      if (!gone) usleep(10000);
    }
    EXPECT_TRUE(gone) << name << " " << pid << " still running";
  }
}

// Debian's master.pid is 0600 root: an exporter running as its own user
// cannot read it, and then postqueue's answer decides. Run as `nobody` in a
// forked child (the queue directory here is 0700 root, so the pid file is
// unreadable to it).
void CollectAsNobody(const std::string& dir, ProcessOutcome outcome,
                     const std::string& out, double want_up) {
  if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
  std::vector<std::vector<std::string>> calls;
  QueueConfig cfg;
  cfg.method = "postqueue";
  cfg.queue_directory = dir;
  auto c = MakeQueueCollector(
      cfg, Millis(30000),
      std::make_unique<FakeRunner>(
          std::vector<FakeRunner::Step>{{outcome, out}}, &calls));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  if (!r.status.ok()) _exit(2);
  _exit(
      Flatten(r.families)["mailhealth_postfix_up{postfix_instance=postfix}"] ==
              want_up
          ? 0
          : 1);
}

TEST_F(QueueCollectorTest, UnreadablePidFileLeavesTheVerdictToPostqueue) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  master_.Start();
  EXPECT_EXIT(CollectAsNobody(master_.dir(), Exited(0), kTwoMessages, 1),
              ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      CollectAsNobody(master_.dir(),
                      Exited(69,
                             "postqueue: fatal: Queue report unavailable - "
                             "mail system is down\n"),
                      "", 0),
      ::testing::ExitedWithCode(0), "");
}

// --- method spool: counts from the walk, detail from postqueue

std::string HelpOf(const Families& fams, const std::string& name) {
  for (const auto& f : fams) {
    if (f.name == name) return f.help;
  }
  return "";
}

class SpoolMethodTest : public QueueCollectorTest {
 protected:
  void SetUp() override {
    master_.Start();
    for (const char* d : {"active", "deferred", "deferred/A", "hold",
                          "incoming", "maildrop", "corrupt"}) {
      mkdir((master_.dir() + "/" + d).c_str(), 0700);
    }
    for (const char* f :
         {"deferred/A/A1", "deferred/A/A2", "deferred/TOP", "hold/H1"}) {
      std::ofstream(master_.dir() + "/" + f) << std::string(100, 'x');
    }
  }
  std::unique_ptr<Collector> MakeSpool(std::vector<FakeRunner::Step> steps,
                                       QueueConfig cfg = QueueConfig()) {
    cfg.queue_directory = master_.dir();
    if (cfg.spool_stat == QueueConfig().spool_stat) cfg.spool_stat = "";
    if (cfg.spool_stat_socket == QueueConfig().spool_stat_socket)
      cfg.spool_stat_socket = "";
    return MakeQueueCollector(
        cfg, Millis(30000),
        std::make_unique<FakeRunner>(std::move(steps), &calls_, postconf_),
        [this] { return now_; });
  }
};

TEST_F(SpoolMethodTest, CountsFromTheWalkDetailFromPostqueue) {
  QueueConfig cfg;
  cfg.method = "spool";
  cfg.domains = {"example.com"};
  auto c = MakeSpool({{Exited(0), kTwoMessages}}, cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix}"], 1);
  // The walk: 3 deferred files (one at the top, two hashed), 1 held.
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      3);
  EXPECT_EQ(
      s["mailhealth_queue_size_bytes{postfix_instance=postfix,queue=deferred}"],
      300);
  EXPECT_EQ(s["mailhealth_queue_messages{postfix_instance=postfix,queue=hold}"],
            1);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=corrupt}"],
      0);
  // postqueue's listing: the reasons, domains and ages of its 2 messages.
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix,reason=local_service}"],
            1);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_domain{postfix_instance="
              "postfix,domain=example.com}"],
            1);
  EXPECT_EQ(s["mailhealth_queue_message_age_seconds{postfix_instance=postfix,"
              "queue=hold}_count"],
            1);
  EXPECT_EQ(s["mailhealth_queue_detail_last_success_timestamp_seconds{postfix_"
              "instance=postfix}"],
            static_cast<double>(now_));
  EXPECT_NE(HelpOf(r.families, "mailhealth_queue_messages").find("spool walk"),
            std::string::npos);
  EXPECT_NE(HelpOf(r.families, "mailhealth_queue_deferred_messages_by_reason")
                .find("postqueue -j, run every detail_interval"),
            std::string::npos);
  EXPECT_NE(HelpOf(r.families, "mailhealth_queue_deferred_messages_by_reason")
                .find("Sampled every 5m"),
            std::string::npos);
}

TEST_F(SpoolMethodTest, PostqueueRunsOnItsOwnInterval) {
  QueueConfig cfg;
  cfg.method = "spool";
  cfg.detail_interval = Millis(3600000);
  auto c = MakeSpool({{Exited(0), kTwoMessages}}, cfg);
  for (int i = 0; i < 3; ++i) {
    CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    // The detail of the first run stays published.
    EXPECT_EQ(
        Flatten(r.families)["mailhealth_queue_deferred_messages_by_"
                            "domain{postfix_instance=postfix,domain=other}"],
        1);
  }
  EXPECT_EQ(calls_.size(), 1u);  // one postqueue in three runs
  cfg.detail_interval = Millis(1000);
  calls_.clear();
  auto c2 = MakeSpool({{Exited(0), kTwoMessages}}, cfg);
  c2->Collect(Clock::now() + std::chrono::seconds(5));
  usleep(1100 * 1000);
  c2->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(calls_.size(), 2u);
}

TEST_F(SpoolMethodTest, FailingDetailKeepsTheCountsAndTheLastTimestamp) {
  QueueConfig cfg;
  cfg.method = "spool";
  auto c = MakeSpool({{Exited(1, "postqueue: fatal: no\n"), ""}}, cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      3);
  EXPECT_EQ(s["mailhealth_queue_detail_last_success_timestamp_seconds{postfix_"
              "instance=postfix}"],
            0);
  EXPECT_EQ(s.count("mailhealth_queue_deferred_messages_by_reason{postfix_"
                    "instance=postfix,reason=other}"),
            0u);
  EXPECT_NE(r.detail.find("postqueue: fatal: no"), std::string::npos)
      << r.detail;
}

TEST_F(SpoolMethodTest, AutoWalksWhenItCanElseUsesPostqueue) {
  auto c = MakeSpool({{Exited(0), kTwoMessages}});  // method auto
  Samples s =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      3);  // the walk
  // Not a queue directory (no active/, deferred/), no helper: postqueue.
  std::system(("rm -rf " + master_.dir() + "/active").c_str());
  auto c2 = MakeSpool({{Exited(0), kTwoMessages}});
  CollectResult r = c2->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s2 = Flatten(r.families);
  EXPECT_EQ(
      s2["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      1);  // postqueue
  EXPECT_NE(HelpOf(r.families, "mailhealth_queue_messages").find("postqueue"),
            std::string::npos);
}

TEST_F(SpoolMethodTest, ExplicitSpoolFailsWhenTheWalkFails) {
  std::system(("rm -rf " + master_.dir() + "/deferred").c_str());
  QueueConfig cfg;
  cfg.method = "spool";
  auto c = MakeSpool({{Exited(0), kTwoMessages}}, cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("deferred: No such directory"),
            std::string::npos)
      << r.status.message();
  EXPECT_EQ(
      Flatten(r.families)["mailhealth_postfix_up{postfix_instance=postfix}"],
      0);
}

// The helper's listing through the runner (here a fake answering for it).
class HelperRunner : public ProcessRunner {
 public:
  explicit HelperRunner(ProcessOutcome o, std::string out)
      : o_(std::move(o)), out_(std::move(out)) {}
  ProcessOutcome Run(const std::vector<std::string>& argv, Clock::time_point,
                     const OutputFn& on_stdout) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls.push_back(argv);
    if (argv[0].ends_with("mailhealth-spool-stat")) {
      on_stdout(out_);
      return o_;
    }
    return Exited(0);  // postconf, postqueue: an empty queue
  }
  std::mutex mu_;
  std::vector<std::vector<std::string>> calls;

 private:
  ProcessOutcome o_;
  std::string out_;
};

TEST_F(SpoolMethodTest, HelperListingIsParsedAndCheckedByTheCollector) {
  std::string listing =
      "mailhealth-spool-stat 1\nqueue_directory /var/spool/postfix\n"
      "queue maildrop 0 0 0\nqueue incoming 0 0 0\nqueue active 2 20 0\n"
      "queue deferred 7 700 " +
      std::to_string(now_ - 600) +
      "\nqueue hold 0 0 0\nqueue corrupt 1 5 0\nskipped 0\nvanished 0\n"
      "time btime\nmaster_pid 1\nend\n";
  QueueConfig cfg;
  cfg.method = "spool";
  cfg.spool_stat_socket = "";
  cfg.queue_directory = master_.dir();
  cfg.config_directory = "/etc/postfix-out";
  auto runner = std::make_unique<HelperRunner>(Exited(0), listing);
  HelperRunner* raw = runner.get();
  auto c = MakeQueueCollector(cfg, Millis(30000), std::move(runner),
                              [this] { return now_; });
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}"],
      7);
  EXPECT_EQ(s["mailhealth_queue_oldest_message_age_seconds{postfix_instance="
              "postfix,queue=deferred}"],
            600);
  EXPECT_EQ(
      s["mailhealth_queue_messages{postfix_instance=postfix,queue=corrupt}"],
      1);
  // master_pid 1 is not a Postfix master.
  EXPECT_EQ(s["mailhealth_postfix_up{postfix_instance=postfix}"], 0);
  std::vector<std::string> want = {cfg.spool_stat, "-c", "/etc/postfix-out",
                                   master_.dir()};
  std::lock_guard<std::mutex> lock(raw->mu_);
  EXPECT_NE(std::find(raw->calls.begin(), raw->calls.end(), want),
            raw->calls.end());
}

TEST_F(SpoolMethodTest, TruncatedOrFailingHelperIsACollectorFailure) {
  struct Case {
    ProcessOutcome o;
    std::string out, error_part;
  };
  std::vector<Case> cases = {
      {Exited(0), "mailhealth-spool-stat 1\nqueue active 1 1 1\n",
       "unexpected output"},
      {Exited(1, "mailhealth-spool-stat: deferred: Permission denied\n"), "",
       "exited with status 1: mailhealth-spool-stat: deferred: Permission "
       "denied"},
  };
  for (const auto& k : cases) {
    QueueConfig cfg;
    cfg.method = "spool";
    cfg.spool_stat_socket = "";
    cfg.queue_directory = master_.dir();
    auto c = MakeQueueCollector(cfg, Millis(30000),
                                std::make_unique<HelperRunner>(k.o, k.out),
                                [this] { return now_; });
    CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
    EXPECT_FALSE(r.status.ok());
    EXPECT_NE(r.status.message().find(k.error_part), std::string::npos)
        << r.status.message();
    EXPECT_EQ(Flatten(r.families)
                  .count("mailhealth_queue_messages{postfix_instance=postfix,"
                         "queue=deferred}"),
              0u);
  }
}

// The helper behind a socket (systemd's socket activation): a listener of
// the test's own answers one connection with a listing.
class ListingServer {
 public:
  ListingServer(const std::string& path, std::string listing) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    thread_ = std::thread([this, listing] {
      while (true) {  // one listing per connection, as systemd's Accept=yes
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        EXPECT_EQ(write(c, listing.data(), listing.size()),
                  static_cast<ssize_t>(listing.size()));
        close(c);
      }
    });
  }
  ~ListingServer() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
    unlink(path_.c_str());
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
};

std::string Listing(const std::string& dir, int deferred) {
  return "mailhealth-spool-stat 1\nqueue_directory " + dir +
         "\nqueue maildrop 0 0 0\nqueue incoming 0 0 0\nqueue active 0 0 0\n"
         "queue deferred " +
         std::to_string(deferred) +
         " 10 1\nqueue hold 0 0 0\nqueue corrupt 0 0 0\nskipped 0\n"
         "vanished 0\ntime btime\nend\n";
}

TEST_F(SpoolMethodTest, SocketListingIsUsedWhenTheSocketExists) {
  std::string sock = master_.dir() + "/spool-stat.sock";
  ListingServer server(sock, Listing(master_.dir(), 42));
  QueueConfig cfg;
  cfg.spool_stat_socket = sock;
  cfg.spool_stat = "/nonexistent/mailhealth-spool-stat";
  // auto: the direct walk works here, so make it fail first.
  std::system(("rm -rf " + master_.dir() + "/active").c_str());
  auto c = MakeSpool({{Exited(0), kTwoMessages}}, cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(Flatten(r.families)["mailhealth_queue_messages{postfix_instance="
                                "postfix,queue=deferred}"],
            42);
}

TEST_F(SpoolMethodTest, SocketListingOfAnotherQueueDirectoryIsRefused) {
  std::string sock = master_.dir() + "/spool-stat.sock";
  ListingServer server(sock, Listing("/var/spool/postfix-other", 42));
  QueueConfig cfg;
  cfg.method = "spool";
  cfg.spool_stat_socket = sock;
  auto c = MakeSpool({{Exited(0), kTwoMessages}}, cfg);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("lists /var/spool/postfix-other, not "
                                    "queue_directory"),
            std::string::npos)
      << r.status.message();
}

// --- config

struct ConfigCase {
  const char* name;
  const char* yaml;
  const char* error;  // substring; "" = valid
};

class QueueConfigTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(QueueConfigTest, Validates) {
  ConfigErrors errors;
  ConfigNode node(YAML::Load(GetParam().yaml), "collectors.queue", "x.yml",
                  &errors);
  QueueConfig parsed = ParseQueueConfig(node);
  std::optional<QueueConfig> cfg;
  if (errors.list().empty()) cfg = parsed;
  if (std::string(GetParam().error).empty()) {
    EXPECT_TRUE(cfg.has_value()) << errors.Joined();
  } else {
    EXPECT_FALSE(cfg.has_value());
    EXPECT_NE(errors.Joined().find(GetParam().error), std::string::npos)
        << errors.Joined();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, QueueConfigTest,
    ::testing::Values(
        ConfigCase{"defaults", "{}", ""},
        ConfigCase{
            "full",
            "{postqueue: /usr/sbin/postqueue, format: text, config_directory: "
            "/etc/postfix-out, "
            "queue_directory: /var/spool/postfix-out, domains: [example.com], "
            "local_services: ['127.0.0.1:10024', 'unix:/run/dovecot/lmtp']}",
            ""},
        ConfigCase{
            "relative_postqueue", "{postqueue: postqueue}",
            "x.yml:1: collectors.queue.postqueue: must be an absolute path"},
        ConfigCase{"bad_format", "{format: xml}", "collectors.queue.format"},
        ConfigCase{"relative_config_directory",
                   "{config_directory: etc/postfix}",
                   "collectors.queue.config_directory: must be empty or an "
                   "absolute path"},
        ConfigCase{
            "relative_queue_directory", "{queue_directory: spool}",
            "collectors.queue.queue_directory: must be an absolute path"},
        ConfigCase{"reserved_other", "{domains: [other]}",
                   "\"other\" is reserved"},
        ConfigCase{"address_as_domain", "{domains: [a@example.com]}",
                   "is not a domain name"},
        ConfigCase{"duplicate_domain", "{domains: [example.com, EXAMPLE.com]}",
                   "duplicate domain"},
        ConfigCase{"spool",
                   "{method: spool, detail_interval: 10m, "
                   "spool_stat: /usr/local/lib/mh-spool-stat}",
                   ""},
        ConfigCase{"spool_direct", "{method: spool, spool_stat: ''}", ""},
        ConfigCase{"bad_method", "{method: find}",
                   "x.yml:1: collectors.queue.method"},
        ConfigCase{"short_detail_interval", "{detail_interval: 10ms}",
                   "collectors.queue.detail_interval: must be at least 1s"},
        ConfigCase{"bad_detail_interval", "{detail_interval: often}",
                   "collectors.queue.detail_interval"},
        ConfigCase{"relative_spool_stat_socket",
                   "{spool_stat_socket: run/spool-stat.sock}",
                   "collectors.queue.spool_stat_socket: must be empty or an "
                   "absolute path"},
        ConfigCase{"relative_spool_stat", "{spool_stat: spool-stat}",
                   "collectors.queue.spool_stat: must be empty or an "
                   "absolute path"},
        ConfigCase{"instances_auto", "{instances: auto}", ""},
        ConfigCase{"instances_list",
                   "{instances: [/etc/postfix, /etc/postfix-out]}", ""},
        ConfigCase{"instances_word",
                   "{postqueue: /usr/sbin/postqueue,\n instances: all}",
                   "x.yml:2: collectors.queue.instances: must be auto or a "
                   "list of absolute config directories, got \"all\""},
        ConfigCase{"instances_relative", "{instances: [etc/postfix-out]}",
                   "x.yml:1: collectors.queue.instances: \"etc/postfix-out\" "
                   "is not an absolute path"},
        ConfigCase{"instances_empty", "{instances: []}",
                   "collectors.queue.instances: must be auto or a non-empty "
                   "list"},
        ConfigCase{"instances_duplicate",
                   "{instances: [/etc/postfix-out, /etc/postfix-out/]}",
                   "duplicate config directory \"/etc/postfix-out\""},
        ConfigCase{"instances_not_strings", "{instances: [{dir: /etc/x}]}",
                   "collectors.queue.instances: expected a list of strings"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(QueueConfigInstancesTest, AutoByDefaultElseTheList) {
  ConfigErrors errors;
  ConfigNode dflt(YAML::Load("{}"), "collectors.queue", "x.yml", &errors);
  QueueConfig a = ParseQueueConfig(dflt);
  ASSERT_TRUE(errors.list().empty()) << errors.Joined();
  EXPECT_TRUE(a.instances_auto);
  EXPECT_TRUE(a.instances.empty());
  ConfigNode list(YAML::Load("{instances: [/etc/postfix-out, /etc/postfix]}"),
                  "collectors.queue", "x.yml", &errors);
  QueueConfig l = ParseQueueConfig(list);
  ASSERT_TRUE(errors.list().empty()) << errors.Joined();
  EXPECT_FALSE(l.instances_auto);
  EXPECT_EQ(l.instances,
            (std::vector<std::string>{"/etc/postfix-out", "/etc/postfix"}));
}

// --- several Postfix instances (issue #15)

// postqueue answered per instance (its -c DIR, "" for the default), from
// several threads at once; postconf (local delivery) is not there.
class InstanceRunner : public ProcessRunner {
 public:
  struct Answer {
    ProcessOutcome outcome;
    std::string stdout_text;
    Millis delay{0};
  };
  explicit InstanceRunner(std::map<std::string, Answer> answers)
      : answers_(std::move(answers)) {}
  ProcessOutcome Run(const std::vector<std::string>& argv, Clock::time_point,
                     const OutputFn& on_stdout) override {
    if (argv[0].ends_with("/postconf")) {
      ProcessOutcome o;
      o.error = "No such file or directory";
      return o;
    }
    const std::string dir = argv.size() > 2 && argv[1] == "-c" ? argv[2] : "";
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(argv);
    }
    auto it = answers_.find(dir);
    if (it == answers_.end()) return Exited(1, "postqueue: fatal: no " + dir);
    std::this_thread::sleep_for(it->second.delay);
    on_stdout(it->second.stdout_text);
    return it->second.outcome;
  }
  std::vector<std::vector<std::string>> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::map<std::string, Answer> answers_;
  std::mutex mu_;
  std::vector<std::vector<std::string>> calls_;
};

std::string Deferred(int n, const std::string& id_prefix) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out +=
        R"({"queue_name": "deferred", "queue_id": ")" + id_prefix +
        std::to_string(i) +
        R"(", "arrival_time": 1795571400, "message_size": 100, "recipients": [{"address": "x@example.net", "delay_reason": "Mailbox full"}]})"
        "\n";
  }
  return out;
}

class MultiInstanceTest : public ::testing::Test {
 protected:
  using Instances = std::vector<postconf::PostfixInstance>;
  // The default instance in main_, postfix-out in out_ (its config dir
  // /etc/postfix-out).
  Instances Two() {
    return {{"postfix", "", main_.dir(), "postfix", true, ""},
            {"postfix-out", "/etc/postfix-out", out_.dir(), "postfix-out", true,
             ""}};
  }
  std::unique_ptr<Collector> Make(
      std::map<std::string, InstanceRunner::Answer> a,
      InstanceDiscovery discover) {
    QueueConfig cfg;
    cfg.method = "postqueue";
    cfg.queue_directory = main_.dir();
    auto runner = std::make_unique<InstanceRunner>(std::move(a));
    runner_ = runner.get();
    return MakeQueueCollector(
        cfg, Millis(30000), std::move(runner),
        [] { return std::time_t{1795572000}; }, std::move(discover));
  }
  static InstanceDiscovery Fixed(Instances list) {
    return [list](Clock::time_point) -> Result<Instances> { return list; };
  }
  FakeMaster main_, out_;
  InstanceRunner* runner_ = nullptr;
};

constexpr char kUpMain[] = "mailhealth_postfix_up{postfix_instance=postfix}";
constexpr char kUpOut[] = "mailhealth_postfix_up{postfix_instance=postfix-out}";
constexpr char kDeferredMain[] =
    "mailhealth_queue_messages{postfix_instance=postfix,queue=deferred}";
constexpr char kDeferredOut[] =
    "mailhealth_queue_messages{postfix_instance=postfix-out,queue=deferred}";

TEST_F(MultiInstanceTest, EachInstanceHasItsOwnCountsAndUp) {
  main_.Start();
  out_.Start();
  auto c = Make({{"", {Exited(0), Deferred(2, "M")}},
                 {"/etc/postfix-out", {Exited(0), Deferred(5, "O")}}},
                Fixed(Two()));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s[kUpMain], 1);
  EXPECT_EQ(s[kUpOut], 1);
  EXPECT_EQ(s[kDeferredMain], 2);
  EXPECT_EQ(s[kDeferredOut], 5);
  EXPECT_EQ(s["mailhealth_queue_deferred_messages_by_reason{postfix_instance="
              "postfix-out,reason=mailbox_full}"],
            5);
  EXPECT_EQ(s.count("mailhealth_queue_parse_errors_total{postfix_instance="
                    "postfix-out}"),
            1u);
  // One family per name, both instances' samples in it.
  size_t up_families = 0;
  for (const auto& f : r.families) {
    if (f.name == "mailhealth_postfix_up") {
      ++up_families;
      EXPECT_EQ(f.metric.size(), 2u);
    }
  }
  EXPECT_EQ(up_families, 1u);
  auto calls = runner_->calls();
  std::sort(calls.begin(), calls.end());
  EXPECT_EQ(calls, (std::vector<std::vector<std::string>>{
                       {"/usr/sbin/postqueue", "-c", "/etc/postfix-out", "-j"},
                       {"/usr/sbin/postqueue", "-j"}}));
}

TEST_F(MultiInstanceTest, OneInstanceFailingIsDataNotACollectorFailure) {
  main_.Start();
  out_.Start();
  auto c = Make({{"", {Exited(0), Deferred(2, "M")}},
                 {"/etc/postfix-out",
                  {Exited(69, "postqueue: fatal: bad permissions"), ""}}},
                Fixed(Two()));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s[kUpMain], 1);
  EXPECT_EQ(s[kUpOut], 0);
  EXPECT_EQ(s[kDeferredMain], 2);
  EXPECT_EQ(s.count(kDeferredOut), 0u);
  EXPECT_NE(r.detail.find("postfix-out: /usr/sbin/postqueue -j exited with "
                          "status 69: postqueue: fatal: bad permissions"),
            std::string::npos)
      << r.detail;
}

TEST_F(MultiInstanceTest, StoppedInstanceIsDownTheOtherUp) {
  main_.Start();  // postfix-out's master does not run
  auto c = Make({{"", {Exited(0), Deferred(1, "M")}},
                 {"/etc/postfix-out",
                  {Exited(69,
                          "postqueue: fatal: Queue report unavailable - mail "
                          "system is down"),
                   ""}}},
                Fixed(Two()));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s[kUpMain], 1);
  EXPECT_EQ(s[kUpOut], 0);
}

TEST_F(MultiInstanceTest, EveryInstanceFailingIsACollectorFailure) {
  main_.Start();  // masters run: postqueue failing is a failure
  out_.Start();
  auto c = Make({}, Fixed(Two()));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("postfix: "), std::string::npos);
  EXPECT_NE(r.status.message().find("postfix-out: "), std::string::npos)
      << r.status.message();
}

TEST_F(MultiInstanceTest, InstanceWhosePostconfFailedIsDown) {
  main_.Start();
  Instances list = Two();
  list[1].queue_directory = "";
  list[1].error = "postconf: fatal: open /etc/postfix-out/main.cf";
  auto c = Make({{"", {Exited(0), Deferred(1, "M")}}}, Fixed(list));
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s[kUpMain], 1);
  EXPECT_EQ(s.count(kUpOut), 1u);
  EXPECT_EQ(s[kUpOut], 0);
  EXPECT_NE(r.detail.find("fatal: open /etc/postfix-out/main.cf"),
            std::string::npos)
      << r.detail;
  for (const auto& call : runner_->calls()) {
    EXPECT_EQ(std::find(call.begin(), call.end(), "/etc/postfix-out"),
              call.end());
  }
}

TEST_F(MultiInstanceTest, InstancesRunInParallel) {
  main_.Start();
  out_.Start();
  auto c = Make({{"", {Exited(0), "", Millis(600)}},
                 {"/etc/postfix-out", {Exited(0), "", Millis(600)}}},
                Fixed(Two()));
  const auto start = Clock::now();
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_LT(Clock::now() - start, Millis(1100));
  EXPECT_EQ(runner_->calls().size(), 2u);
}

TEST_F(MultiInstanceTest, InstancesAddedLaterAppearGoneOnesDisappear) {
  main_.Start();
  out_.Start();
  auto list = std::make_shared<Instances>(Two());
  list->pop_back();
  auto c =
      Make({{"", {Exited(0), Deferred(1, "M")}},
            {"/etc/postfix-out", {Exited(0), Deferred(3, "O")}}},
           [list](Clock::time_point) -> Result<Instances> { return *list; });
  Samples s1 =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(s1.count(kUpOut), 0u);
  *list = Two();
  Samples s2 =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(s2[kDeferredOut], 3);
  list->pop_back();
  Samples s3 =
      Flatten(c->Collect(Clock::now() + std::chrono::seconds(5)).families);
  EXPECT_EQ(s3.count(kUpOut), 0u);
  EXPECT_EQ(s3[kDeferredMain], 1);
}

// Discovery through a fake postconf script: the default instance plus the
// one its multi_instance_directories names, with its own queue directory.
TEST_F(MultiInstanceTest, PostconfDiscoveryFindsTheSecondInstance) {
  main_.Start();
  out_.Start();
  const std::string script = out_.dir() + "/postconf";
  std::ofstream(script) << "#!/bin/sh\n"
                           "if [ \"$1\" = -c ]; then\n"
                           "  echo "
                        << out_.dir()
                        << "; echo postfix-out; echo postfix-out;"
                           " echo yes\n"
                           "else\n"
                           "  echo "
                        << main_.dir()
                        << "; echo postfix; echo; echo no;"
                           " echo /etc/postfix-out\n"
                           "fi\n";
  chmod(script.c_str(), 0755);
  QueueConfig cfg;
  cfg.postconf = script;
  InstanceDiscovery d = PostconfDiscovery(cfg);
  ASSERT_TRUE(d != nullptr);
  auto c = Make({{"", {Exited(0), Deferred(2, "M")}},
                 {"/etc/postfix-out", {Exited(0), Deferred(4, "O")}}},
                d);
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  Samples s = Flatten(r.families);
  EXPECT_EQ(s[kDeferredMain], 2);
  EXPECT_EQ(s[kDeferredOut], 4);
  EXPECT_EQ(s[kUpOut], 1);  // out_'s master.pid, from discovery's queue dir
  cfg.postconf = "";
  EXPECT_TRUE(PostconfDiscovery(cfg) == nullptr);
}

TEST(MergeInstanceFamiliesTest, LabelsFirstAndMergesByName) {
  Families out;
  for (const char* inst : {"postfix", "postfix-out"}) {
    Families f;
    auto g = Gauge("mailhealth_queue_messages", "Messages.");
    AddSample(g, {{"queue", "hold"}}, inst[7] == '-' ? 2 : 1);
    f.push_back(std::move(g));
    MergeInstanceFamilies(out, std::move(f), inst);
  }
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].metric.size(), 2u);
  EXPECT_EQ(out[0].metric[1].label[0].name, "postfix_instance");
  EXPECT_EQ(out[0].metric[1].label[0].value, "postfix-out");
  EXPECT_EQ(out[0].metric[1].label[1].name, "queue");
  EXPECT_EQ(out[0].metric[1].gauge.value, 2);
}

}  // namespace
}  // namespace mailhealth
