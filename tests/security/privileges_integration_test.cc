// The exporter binary started as root with --runas.user: it must drop to
// the user and read the mail log only through the user's groups. A log
// owned root:adm 0640 (as rsyslog writes it on Debian) is read when the
// user is in adm and not otherwise. Needs root: creates the system user
// mailhealth-sectest (kept, without groups, for later runs).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>

#include "tests/security/sec_util.h"

namespace mailhealth {
namespace {



constexpr char kUser[] = "mailhealth-sectest";

class RunAsTest : public testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    // The user's groups are machine-wide: serialise with runs from other
    // build dirs (ctest's RESOURCE_LOCK covers one build dir only).
    lock_fd_ = open("/tmp/mailhealth-sectest-user.lock", O_CREAT | O_RDWR, 0600);
    ASSERT_GE(lock_fd_, 0);
    ASSERT_EQ(flock(lock_fd_, LOCK_EX), 0);
    ASSERT_EQ(sectest::Run(std::string("id ") + kUser + " >/dev/null 2>&1 || useradd --system "
                  "--no-create-home --shell /usr/sbin/nologin " + kUser).exit_code, 0);
    SetInAdm(false);
    dir_.Write("mail.log",
               "Nov 25 01:00:00 mx postfix/smtpd[1]: connect from localhost[127.0.0.1]\n");
    ASSERT_EQ(sectest::Run("chmod 755 " + dir_.path() + " && chown root:adm " +
                  dir_.File("mail.log") + " && chmod 640 " + dir_.File("mail.log"))
                  .exit_code, 0);
    dir_.Write("config.yml",
               "collectors:\n"
               "  log: { enabled: true, interval: 1s, timeout: 500ms, path: " +
               dir_.File("mail.log") +
               ", start_at: beginning,\n"
               // Not about instances: no postconf discovery, whose error while
               // another test reconfigures Postfix would end the wait early.
               "         postconf: \"\" }\n"
               "  queue: { enabled: false }\n");
  }
  void TearDown() override {
    if (geteuid() == 0) SetInAdm(false);
    if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
  }
  void SetInAdm(bool in) {
    sectest::Run(std::string(in ? "usermod -aG adm " : "gpasswd -d ") + kUser +
        (in ? "" : " adm") + " >/dev/null 2>&1");
  }

  // Starts the exporter, waits until the log collector has either read the
  // line or reported failure (its file follower opens the log after the
  // first run), returns the scrape and stops it.
  std::string Scrape(const std::string& extra_flags) {
    int port = 20000 + (getpid() % 20000);
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
    std::string cmd =
        std::string(MAILHEALTH_EXPORTER) + " --config.file=" + dir_.File("config.yml") +
        " --web.listen-address=127.0.0.1:" + std::to_string(port) + " " + extra_flags +
        " >" + dir_.File("exporter.log") + " 2>&1 & pid=$!; "
        // Done when the line was counted, or when the failure was logged
        // (then scrape once more: the failed run is in the snapshot).
        "for i in $(seq 1 80); do "
        "  out=$(curl -sf " + url + " 2>/dev/null) && "
        "  echo \"$out\" | grep -q '^mailhealth_log_lines_total 1' && break; "
        "  if grep -q 'level=error' " + dir_.File("exporter.log") + "; then "
        "    sleep 0.2; out=$(curl -sf " + url + " 2>/dev/null); break; fi; "
        "  sleep 0.1; done; "
        "echo \"$out\"; echo uid=$(awk '/^Uid/ {print $2}' /proc/$pid/status); "
        "echo groups=$(awk '/^Groups/ {$1=\"\"; print}' /proc/$pid/status); "
        "kill $pid; wait $pid; echo '--- exporter log:'; cat " + dir_.File("exporter.log");
    return sectest::Run(cmd).out;
  }
  static std::string LogLines(const std::string& scrape) {
    std::smatch m;
    std::regex re("\nmailhealth_log_lines_total ([0-9]+)");
    return std::regex_search(scrape, m, re) ? m[1].str() : "missing";
  }
  static std::string LogSuccess(const std::string& scrape) {
    std::smatch m;
    std::regex re("mailhealth_scrape_collector_success\\{collector=\"log\"\\} ([01])");
    return std::regex_search(scrape, m, re) ? m[1].str() : "missing";
  }

  sectest::TempDir dir_;
  int lock_fd_ = -1;
};

TEST_F(RunAsTest, WithoutGroupAdmTheLogCannotBeRead) {
  std::string s = Scrape(std::string("--runas.user=") + kUser);
  EXPECT_EQ(LogSuccess(s), "0") << s;
  EXPECT_NE(LogLines(s), "1") << s;  // 0, or absent once the run failed
  EXPECT_EQ(s.find("uid=0\n"), std::string::npos) << s;
}

TEST_F(RunAsTest, WithGroupAdmTheLogIsRead) {
  SetInAdm(true);
  std::string s = Scrape(std::string("--runas.user=") + kUser);
  EXPECT_EQ(LogLines(s), "1") << s;
  EXPECT_EQ(LogSuccess(s), "1") << s;
  EXPECT_NE(s.find(" 4"), std::string::npos) << "gid 4 (adm) not in Groups: " << s;
}

TEST(RootPolicyBinary, RefusesRootWithoutAllowRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto r = sectest::Run(std::string(MAILHEALTH_EXPORTER) +
               " --web.listen-address=127.0.0.1:0 --no-collector.queue "
               "--no-collector.log 2>&1; echo rc=$?");
  EXPECT_NE(r.out.find("refusing to run as root"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
}

TEST(WebConfigBinary, BadWebConfigExitsOneWithFileAndLine) {
  sectest::TempDir dir;
  dir.Write("web.yml", "tls_server_config:\n  cert_file: a.crt\n  keyfile: a.key\n");
  auto r = sectest::Run(std::string(MAILHEALTH_EXPORTER) + " --allow-root --web.config.file=" +
               dir.File("web.yml") + " --web.listen-address=127.0.0.1:0 2>&1; echo rc=$?");
  EXPECT_NE(r.out.find("web.yml:3: tls_server_config: unknown key \\\"keyfile\\\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
}

TEST(WebConfigBinary, ConfigCheckValidatesTheWebConfigToo) {
  sectest::TempDir dir;
  dir.Write("web.yml", "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
  auto r = sectest::Run(std::string(MAILHEALTH_EXPORTER) + " --config.check --web.config.file=" +
                        dir.File("web.yml") + " 2>&1; echo rc=$?");
  EXPECT_NE(r.out.find("a.crt: cannot load certificate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mailhealth
