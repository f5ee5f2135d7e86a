// mailhealth-spool-stat, the binary: what it lists as root, what it refuses
// (any directory but Postfix's queue_directory, an unlisted -c, MAIL_CONFIG),
// and that an unprivileged user of the exporter's group can list the queue
// only through the helper holding cap_dac_read_search: not without the
// capability, not outside the group, and not by walking the spool itself
// (the queue collector run as that user). Inside tests/tools/isolate (its
// own /etc, so the test group and user changes stay there), as root.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "collectors/queue/queue_collector.h"
#include "collectors/queue/spool_stat_parser.h"
#include "tests/testutil/isolation.h"

namespace mailhealth {
namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;  // exit status, or -1
  std::string out, err;
};

// Runs a shell command line, capturing stdout and stderr apart.
Result Sh(const std::string& cmd) {
  Result r;
  std::string errfile = "/tmp/mh-spool-stat-err." + std::to_string(getpid());
  FILE* p = popen((cmd + " 2>" + errfile).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(errfile);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  fs::remove(errfile);
  return r;
}

std::string QueueDirectory() {
  std::string q = Sh("/usr/sbin/postconf -h queue_directory").out;
  while (!q.empty() && q.back() == '\n') q.pop_back();
  return q;
}

constexpr char kGroup[] = "mhspooltest";

class SpoolStatHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    queue_dir_ = QueueDirectory();
    ASSERT_FALSE(queue_dir_.empty());
    // The private /etc of isolate: the group exists only there.
    ASSERT_EQ(std::system((std::string("getent group ") + kGroup +
                           " >/dev/null || groupadd " + kGroup)
                              .c_str()),
              0);
    group* g = getgrnam(kGroup);
    ASSERT_NE(g, nullptr);
    gid_ = g->gr_gid;
    // A copy of the helper, installed as the package does: 0750
    // root:GROUP, in a directory anyone may traverse.
    char tmpl[] = "/tmp/mh-spool-stat.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    bin_ = dir_ + "/mailhealth-spool-stat";
    fs::copy_file(SPOOL_STAT_BIN, bin_);
    ASSERT_EQ(chown(bin_.c_str(), 0, gid_), 0);
    ASSERT_EQ(chmod(bin_.c_str(), 0750), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // As nobody, with or without the test group. Through a shell: setpriv
  // itself still holds root's capabilities when it execs (so its exec
  // would pass any permission check); the shell it starts holds none.
  std::string AsNobody(bool in_group) {
    return std::string("setpriv --reuid=nobody --regid=nogroup ") +
           (in_group ? "--groups=" + std::to_string(gid_) : "--clear-groups") +
           " /bin/sh -c 'exec \"$0\" \"$@\"' ";
  }
  bool SetCap() {
    return std::system(("setcap cap_dac_read_search+ep " + bin_).c_str()) == 0;
  }

  std::string queue_dir_, dir_, bin_;
  gid_t gid_ = 0;
};

TEST_F(SpoolStatHelperTest, RootListsThePostfixQueue) {
  Result r = Sh(std::string(SPOOL_STAT_BIN));
  ASSERT_EQ(r.status, 0) << r.err;
  SpoolStatReport p = ParseSpoolStat(r.out);
  ASSERT_TRUE(p.ok) << p.error << "\n" << r.out;
  EXPECT_EQ(p.queue_directory, queue_dir_);
  EXPECT_EQ(p.parse_errors, 0u);
  // Named explicitly, in another spelling of the same directory.
  Result same = Sh(std::string(SPOOL_STAT_BIN) + " " + queue_dir_ + "/");
  EXPECT_EQ(same.status, 0) << same.err;
}

TEST_F(SpoolStatHelperTest, RefusesEveryOtherDirectory) {
  for (std::string d :
       {std::string("/tmp"), std::string("/"), std::string("/var/spool"),
        queue_dir_ + "/deferred", queue_dir_ + "/../../../tmp",
        std::string("/nonexistent")}) {
    SCOPED_TRACE(d);
    Result r = Sh(std::string(SPOOL_STAT_BIN) + " '" + d + "'");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("refused: " + d + " is not the queue directory " +
                         queue_dir_),
              std::string::npos)
        << r.err;
  }
  Result rel = Sh(std::string(SPOOL_STAT_BIN) + " spool");
  EXPECT_EQ(rel.status, 2);
  EXPECT_NE(rel.err.find("not an absolute path"), std::string::npos);
  Result usage = Sh(std::string(SPOOL_STAT_BIN) + " --all /");
  EXPECT_EQ(usage.status, 2);
  EXPECT_NE(usage.err.find("usage:"), std::string::npos);
}

TEST_F(SpoolStatHelperTest, ConfigDirectoryMustBeListedByTheDefaultMainCf) {
  // A main.cf of our own that points queue_directory at a tree we made.
  std::string conf = dir_ + "/conf";
  fs::create_directories(conf);
  fs::create_directories(dir_ + "/spool/deferred");
  fs::create_directories(dir_ + "/spool/active");
  std::ofstream(conf + "/main.cf")
      << "queue_directory = " << dir_ << "/spool\n";
  Result r = Sh(std::string(SPOOL_STAT_BIN) + " -c " + conf);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("refused: -c " + conf), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  // MAIL_CONFIG does not redirect the helper's postconf either.
  Result env = Sh("MAIL_CONFIG=" + conf + " " + SPOOL_STAT_BIN);
  ASSERT_EQ(env.status, 0) << env.err;
  EXPECT_EQ(ParseSpoolStat(env.out).queue_directory, queue_dir_);
  // The default config directory itself is accepted.
  Result dflt = Sh(std::string(SPOOL_STAT_BIN) + " -c /etc/postfix");
  EXPECT_EQ(dflt.status, 0) << dflt.err;
}

// The default main.cf decides, in each of its forms: no queue_directory
// (the compiled-in default), a plain path (read from main.cf itself, no
// postconf run), an expanded one (left to postconf). Each time the helper
// lists exactly the directory main.cf names and refuses the other.
TEST_F(SpoolStatHelperTest, FollowsTheDefaultMainCfInEveryForm) {
  const std::string main_cf = "/etc/postfix/main.cf";  // isolate's own copy
  std::string saved;
  {
    std::ifstream in(main_cf);
    saved.assign(std::istreambuf_iterator<char>(in), {});
  }
  struct Restore {
    const std::string& path;
    const std::string& text;
    ~Restore() { std::ofstream(path) << text; }
  } restore{main_cf, saved};
  const std::string decoy = dir_ + "/spool";
  for (const char* q : {"maildrop", "incoming", "active", "hold", "corrupt"})
    fs::create_directories(decoy + "/" + q);
  fs::create_directories(decoy + "/deferred/A");
  std::ofstream(decoy + "/deferred/A/A1B2C3") << "x";
  const fs::path real(queue_dir_);
  struct Form {
    std::string lines, listed, refused;
  };
  const Form forms[] = {
      {"", queue_dir_, decoy},
      {"queue_directory = " + queue_dir_ + "\n", queue_dir_, decoy},
      {"queue_directory = " + decoy + "\n", decoy, queue_dir_},
      {"mh_spool_parent = " + real.parent_path().string() +
           "\nqueue_directory = $mh_spool_parent/" + real.filename().string() +
           "\n",
       queue_dir_, decoy},
      {"mh_spool_parent = " + dir_ +
           "\nqueue_directory = ${mh_spool_parent}/spool\n",
       decoy, queue_dir_},
  };
  for (const Form& f : forms) {
    SCOPED_TRACE(f.lines);
    std::ofstream(main_cf) << saved << "\n" << f.lines;
    // Dated back: postconf waits ~2 s on a main.cf written this second.
    Sh("touch -d '1 hour ago' " + main_cf);
    Result ok = Sh(std::string(SPOOL_STAT_BIN) + " " + f.listed);
    ASSERT_EQ(ok.status, 0) << ok.err;
    SpoolStatReport p = ParseSpoolStat(ok.out);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.queue_directory, f.listed);
    Result bare = Sh(std::string(SPOOL_STAT_BIN));
    EXPECT_EQ(ParseSpoolStat(bare.out).queue_directory, f.listed) << bare.err;
    Result no = Sh(std::string(SPOOL_STAT_BIN) + " " + f.refused);
    EXPECT_EQ(no.status, 2);
    EXPECT_NE(no.err.find("refused: " + f.refused), std::string::npos)
        << no.err;
    EXPECT_EQ(no.out, "");
  }
}

TEST_F(SpoolStatHelperTest, UnprivilegedUserNeedsTheCapability) {
  // Without the capability the group may run it, but the queue is closed.
  Result nocap = Sh(AsNobody(true) + bin_);
  EXPECT_EQ(nocap.status, 1);
  EXPECT_NE(nocap.err.find("Permission denied"), std::string::npos)
      << nocap.err;
  EXPECT_EQ(nocap.out, "");

  if (!SetCap()) GTEST_SKIP() << "this file system takes no capabilities";
  Result root = Sh(std::string(SPOOL_STAT_BIN));
  Result capped = Sh(AsNobody(true) + bin_);
  ASSERT_EQ(capped.status, 0) << capped.err;
  SpoolStatReport a = ParseSpoolStat(root.out), b = ParseSpoolStat(capped.out);
  ASSERT_TRUE(b.ok) << b.error;
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    EXPECT_EQ(a.walk.queues[i].files, b.walk.queues[i].files);
  }
  // Even with the capability it refuses another directory.
  Result other = Sh(AsNobody(true) + bin_ + " /root");
  EXPECT_EQ(other.status, 2);
  // Outside the exporter's group it cannot be run at all.
  Result stranger = Sh(AsNobody(false) + bin_);
  EXPECT_NE(stranger.status, 0);
  EXPECT_EQ(stranger.out, "");
}

// The queue collector as nobody in the group: the spool walk works only
// through the capable helper (the exporter's user cannot read the spool).
// Exit codes: 0 as expected, 1 not, 3 setup.
void CollectAsNobody(gid_t group, const std::string& helper, bool want_ok) {
  if (setgroups(1, &group) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
    _exit(3);
  QueueConfig cfg;
  cfg.method = "spool";
  cfg.spool_stat = helper;
  cfg.spool_stat_socket = "";
  cfg.queue_directory = QueueDirectory();
  cfg.detail_interval = Millis(3600000);
  cfg.postqueue = "/bin/false";  // the detail is not what is tested here
  auto c = MakeQueueCollector(cfg, Millis(30000), MakeProcessRunner());
  CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(20));
  bool has_counts = false;
  for (const auto& f : r.families) {
    has_counts = has_counts || f.name == "mailhealth_queue_messages";
  }
  bool ok = r.status.ok() && has_counts;
  if (!want_ok &&
      r.status.message().find("Permission denied") == std::string::npos) {
    _exit(1);
  }
  _exit(ok == want_ok ? 0 : 1);
}

TEST_F(SpoolStatHelperTest, CollectorAsUnprivilegedUserWalksOnlyThroughHelper) {
  if (!SetCap()) GTEST_SKIP() << "this file system takes no capabilities";
  EXPECT_EXIT(CollectAsNobody(gid_, bin_, true), ::testing::ExitedWithCode(0),
              "");
  EXPECT_EXIT(CollectAsNobody(gid_, "", false), ::testing::ExitedWithCode(0),
              "");
}

// The unit mailhealth-spool-stat@.service, as far as it can be run without
// systemd as PID 1: systemd-socket-activate hands each connection to the
// helper as stdin/stdout (StandardInput=/StandardOutput=socket), and setpriv
// starts it as an unprivileged user under no_new_privs with the capability
// as an ambient one (AmbientCapabilities=): the collector, connecting as
// the exporter does, gets the listing. The same helper without the ambient
// capability gives no listing, and the collector says where to look.
TEST_F(SpoolStatHelperTest, SocketActivatedHelperServesTheCollector) {
  if (std::system("command -v systemd-socket-activate >/dev/null") != 0) {
    GTEST_SKIP() << "no systemd-socket-activate";
  }
  struct Case {
    const char* caps;
    bool want_ok;
  };
  for (Case k : {Case{"--inh-caps=+dac_read_search "
                      "--ambient-caps=+dac_read_search",
                      true},
                 Case{"", false}}) {
    SCOPED_TRACE(k.caps);
    std::string sock = dir_ + "/spool-stat.sock";
    std::string pidfile = dir_ + "/activate.pid";
    std::string cmd = "systemd-socket-activate --accept --inetd -l " + sock +
                      " setpriv --reuid=nobody --regid=nogroup "
                      "--clear-groups --no-new-privs " +
                      k.caps + " " + SPOOL_STAT_BIN +
                      " >/dev/null 2>&1 & echo $! > " + pidfile;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    for (int i = 0; i < 100 && !fs::exists(sock); ++i) usleep(20000);
    ASSERT_TRUE(fs::exists(sock));
    QueueConfig cfg;
    cfg.method = "spool";
    cfg.spool_stat = "";
    cfg.spool_stat_socket = sock;
    cfg.queue_directory = queue_dir_;
    cfg.detail_interval = Millis(3600000);
    cfg.postqueue = "/bin/false";
    auto c = MakeQueueCollector(cfg, Millis(30000), MakeProcessRunner());
    CollectResult r = c->Collect(Clock::now() + std::chrono::seconds(20));
    pid_t pid = 0;
    std::ifstream(pidfile) >> pid;
    if (pid > 0) kill(pid, SIGTERM);
    fs::remove(sock);
    EXPECT_EQ(r.status.ok(), k.want_ok) << r.status.message();
    if (!k.want_ok) {
      EXPECT_NE(r.status.message().find("no listing"), std::string::npos)
          << r.status.message();
    }
  }
}

}  // namespace
}  // namespace mailhealth
