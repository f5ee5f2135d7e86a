// `mailhealth_exporter check` end to end in-process: flags, exit statuses,
// the log window, text and JSON (the log collector on a file of the test's).
#include "diagnosis/check_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "collectors/log/log_collector.h"

namespace mailhealth::diagnosis {
namespace {

std::string Stamp(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%b %e %H:%M:%S", &tm);
  return buf;
}

class CheckCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char d[] = "/tmp/mh-check-XXXXXX";
    ASSERT_NE(mkdtemp(d), nullptr);
    dir_ = d;
    log_ = dir_ + "/mail.log";
    cfg_ = dir_ + "/mailhealth.yml";
    std::ofstream(cfg_) << "collectors:\n  log: {path: " + log_ + "}\n";
    registry_.Register(LogCollectorInfo());
  }
  void TearDown() override {
    (void)std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  int Run(std::vector<std::string> args, std::string* out) {
    testing::internal::CaptureStdout();
    int rc = RunCheck(args, registry_);
    *out = testing::internal::GetCapturedStdout();
    return rc;
  }
  std::string dir_, log_, cfg_;
  CollectorRegistry registry_;
};

TEST_F(CheckCommand, QuietLogIsOkAndExitsZero) {
  std::ofstream(log_) << Stamp(std::time(nullptr) - 10)
                      << " mx postfix/qmgr[1]: info: all well\n";
  std::string out;
  EXPECT_EQ(Run({"--config.file=" + cfg_}, &out), 0) << out;
  EXPECT_EQ(out.rfind("mailhealth_exporter check: OK (exit 0)\n", 0), 0u)
      << out;
  EXPECT_NE(out.find("OK    Log: fatal 0"), std::string::npos) << out;
  EXPECT_NE(
      out.find("SKIP  Postfix running: the queue collector is not enabled"),
      std::string::npos);
  EXPECT_EQ(out.find("\033["), std::string::npos);  // not a terminal
}

TEST_F(CheckCommand, FatalInTheWindowFailsAndTheWindowIsAFlag) {
  const std::time_t now = std::time(nullptr);
  std::ofstream(log_) << Stamp(now - 600) << " mx postfix/cleanup[1]: fatal: "
                      << "open database /etc/postfix/header_checks.db\n"
                      << Stamp(now - 10) << " mx postfix/qmgr[1]: info: ok\n";
  std::string out;
  EXPECT_EQ(Run({"--config.file=" + cfg_, "--check.format=json"}, &out), 2);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["first"]["alert"], "MailhealthLogFatal");
  EXPECT_EQ(j["first"]["evidence"],
            "postfix/cleanup logged 1 fatal line(s) in the last 15m");
  EXPECT_EQ(j["first"]["commands"][0],
            "grep -E 'postfix/cleanup.*(fatal|panic):' /var/log/mail.log | "
            "tail -n 20");
  // Ten minutes old: outside a 5m window.
  EXPECT_EQ(Run({"--config.file=" + cfg_, "--check.log-window=5m"}, &out), 0)
      << out;
}

TEST_F(CheckCommand, CouldNotRunIsThree) {
  std::string out;
  EXPECT_EQ(Run({"--config.file=" + dir_ + "/missing.yml"}, &out), 3);
  EXPECT_EQ(Run({"--config.file=" + cfg_, "--check.format=xml"}, &out), 3);
  EXPECT_EQ(Run({"--config.file=" + cfg_, "--check.log-window=soon"}, &out), 3);
  EXPECT_EQ(Run({"--config.file=" + cfg_, "--check.nope"}, &out), 3);
  EXPECT_EQ(Run({"--config.file=" + cfg_, "--no-collector.log"}, &out), 3);
  std::ofstream(cfg_) << "collectors:\n  log: {pathh: /x}\n";
  EXPECT_EQ(Run({"--config.file=" + cfg_}, &out), 3);
  EXPECT_EQ(out, "");
}

TEST_F(CheckCommand, ColourWhenAsked) {
  std::ofstream(log_) << Stamp(std::time(nullptr))
                      << " mx postfix/qmgr[1]: x\n";
  std::string out;
  Run({"--config.file=" + cfg_, "--check.color=always"}, &out);
  EXPECT_NE(out.find("\033[32mOK"), std::string::npos) << out;
}

}  // namespace
}  // namespace mailhealth::diagnosis
