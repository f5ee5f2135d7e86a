#include "collectors/postconf/postfix_instances.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>

#include "collectors/postconf/postconf_reader.h"

namespace mailhealth::postconf {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string WriteScript(const std::string& name, const std::string& body) {
  const std::string path = std::string(::testing::TempDir()) + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

Clock::time_point Soon() { return Clock::now() + std::chrono::seconds(5); }

// A fake postconf for a host with the default instance in /etc/postfix and
// the instances listed in $DIRS. It answers `[-c DIR] [-x] -h NAME...`
// from a table per config dir, records every call in $LOG, and fails for
// /etc/postfix-broken.
std::string FakePostconf(const std::string& name, const std::string& dirs) {
  const std::string log =
      std::string(::testing::TempDir()) + "/" + name + ".log";
  std::remove(log.c_str());
  return WriteScript(
      name,
      "echo \"$@\" >> " + log +
          "\n"
          "dir=/etc/postfix\n"
          "if [ \"$1\" = -c ]; then dir=$2; shift 2; fi\n"
          "[ \"$1\" = -x ] && shift\n"
          "[ \"$1\" = -h ] || exit 3\n"
          "shift\n"
          "case $dir in /etc/postfix-broken) echo \"postconf: fatal: open "
          "$dir/main.cf: No such file\" >&2; exit 1;; esac\n"
          "base=${dir##*/}\n"
          "for p in \"$@\"; do case $p in\n"
          "  config_directory) echo $dir;;\n"
          "  queue_directory) echo /var/spool/$base;;\n"
          "  syslog_name) echo $base;;\n"
          "  multi_instance_name) [ $dir = /etc/postfix-null ] && echo || { [ "
          "$dir = /etc/postfix ] && echo || echo mi-$base; };;\n"
          "  multi_instance_enable) [ $dir = /etc/postfix-out ] && echo yes || "
          "echo no;;\n"
          "  multi_instance_directories) [ $dir = /etc/postfix ] && echo '" +
          dirs +
          "' || echo;;\n"
          "  *) exit 4;;\n"
          "esac; done\n");
}

std::string CallLog(const std::string& name) {
  std::ifstream in(std::string(::testing::TempDir()) + "/" + name + ".log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(PostconfOptionsTest, PassesConfigDirAndExpand) {
  const std::string p = FakePostconf("postconf-opts", "");
  auto r = ReadPostconf(p, {"queue_directory", "syslog_name"}, Soon(),
                        {"/etc/postfix-out", true});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->at("queue_directory"), "/var/spool/postfix-out");
  EXPECT_EQ(r->at("syslog_name"), "postfix-out");
  EXPECT_EQ(CallLog("postconf-opts"),
            "-c /etc/postfix-out -x -h queue_directory syslog_name\n");
}

TEST(PostconfOptionsTest, DefaultCallUnchanged) {
  const std::string p = FakePostconf("postconf-plain", "");
  auto r = ReadPostconf(p, {"queue_directory"}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(CallLog("postconf-plain"), "-h queue_directory\n");
}

// postconf inherits nothing but stdin, stdout and stderr: not the HTTP
// listening socket, nor a scrape's connection, which a child that outlives
// a restart would keep bound (seen: "Address already in use" when the
// exporter restarted while the log collector's postconf ran).
TEST(PostconfOptionsTest, ChildInheritsNoOtherDescriptor) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(leaked, 3);
  const std::string p = WriteScript(
      "postconf-fds", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo\n");
  auto r = ReadPostconf(p, {"fds"}, Soon());
  ::close(leaked);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // ls itself holds one more descriptor: the directory it reads (3).
  EXPECT_EQ(r->at("fds"), "0 1 2 3");
}

// master.cf's `-o syslog_name=` of every service, from the real postconf
// on a config directory of the test's own: expanded ($service_name), in
// master.cf order, the services without one left out.
TEST(ReadServiceParameterTest, MasterCfSyslogNamesFromTheRealPostconf) {
  constexpr char kPostconf[] = "/usr/sbin/postconf";
  if (::access(kPostconf, X_OK) != 0) GTEST_SKIP() << "no postconf";
  const std::string dir = std::string(::testing::TempDir()) + "/mastercf";
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/main.cf") << "compatibility_level = 3.6\n";
  std::ofstream(dir + "/master.cf")
      << "smtp      inet  n       -       y       -       -       smtpd\n"
         "submission inet n       -       y       -       -       smtpd\n"
         "  -o syslog_name=mysubmit\n"
         "  -o smtpd_sasl_auth_enable=yes\n"
         "smtps     inet  n       -       y       -       -       smtpd\n"
         "  -o syslog_name=postfix/smtps\n"
         "relay     unix  -       -       n       -       -       smtp\n"
         "  -o syslog_name=postfix/$service_name\n";
  // postconf waits while main.cf is younger than 2 s: dated back.
  for (const char* f : {"/main.cf", "/master.cf"}) {
    timeval old[2] = {{1000000000, 0}, {1000000000, 0}};
    ::utimes((dir + f).c_str(), old);
  }
  auto r = ReadServiceParameter(kPostconf, "syslog_name", Soon(), {dir, true});
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> got;
  for (const ServiceParameter& p : *r)
    got.push_back(p.service + "/" + p.type + " " + p.value);
  EXPECT_THAT(
      got, ElementsAre("submission/inet mysubmit", "smtps/inet postfix/smtps",
                       "relay/unix postfix/relay"));
  // A service parameter nobody sets: no line, no error.
  auto none = ReadServiceParameter(kPostconf, "smtpd_client_restrictions",
                                   Soon(), {dir, true});
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
  // A directory without main.cf: postconf's error, not an empty answer.
  auto bad = ReadServiceParameter(kPostconf, "syslog_name", Soon(),
                                  {dir + "/nonexistent", true});
  EXPECT_FALSE(bad.ok());
}

TEST(SplitDirectoryListTest, BlanksAndCommas) {
  EXPECT_THAT(SplitDirectoryList(" /etc/postfix-out,/etc/postfix-null/ \t/x"),
              ElementsAre("/etc/postfix-out", "/etc/postfix-null", "/x"));
  EXPECT_TRUE(SplitDirectoryList("").empty());
}

TEST(DiscoverInstancesTest, SingleInstanceHost) {
  const std::string p = FakePostconf("postconf-single", "");
  auto r = DiscoverInstances(p, "", {}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  const PostfixInstance& d = r->at(0);
  EXPECT_EQ(d.name, "postfix");
  EXPECT_EQ(d.config_directory, "");
  EXPECT_EQ(d.queue_directory, "/var/spool/postfix");
  EXPECT_EQ(d.syslog_name, "postfix");
  EXPECT_TRUE(d.enabled);  // multi_instance_enable=no does not apply to it
  EXPECT_EQ(d.error, "");
  // No -c for the default instance; -x so syslog_name is expanded.
  EXPECT_EQ(CallLog("postconf-single").rfind("-x -h ", 0), 0u);
}

TEST(DiscoverInstancesTest, AutoFindsEveryListedInstance) {
  const std::string p =
      FakePostconf("postconf-auto", "/etc/postfix-out, /etc/postfix-null");
  auto r = DiscoverInstances(p, "", {}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(r->at(0).name, "postfix");
  const PostfixInstance& out = r->at(1);
  EXPECT_EQ(out.name, "mi-postfix-out");  // its multi_instance_name
  EXPECT_EQ(out.config_directory, "/etc/postfix-out");
  EXPECT_EQ(out.queue_directory, "/var/spool/postfix-out");
  EXPECT_EQ(out.syslog_name, "postfix-out");
  EXPECT_TRUE(out.enabled);
  const PostfixInstance& null = r->at(2);
  EXPECT_EQ(null.name, "postfix-null");  // no multi_instance_name: basename
  EXPECT_FALSE(null.enabled);
  EXPECT_THAT(CallLog("postconf-auto"),
              HasSubstr("-c /etc/postfix-null -x -h"));
}

TEST(DiscoverInstancesTest, DefaultConfigDirGivesMinusC) {
  const std::string p = FakePostconf("postconf-defdir", "/etc/postfix-out");
  auto r = DiscoverInstances(p, "/etc/postfix", {}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at(0).name, "postfix");
  EXPECT_EQ(r->at(0).config_directory, "/etc/postfix");
  EXPECT_EQ(CallLog("postconf-defdir").rfind("-c /etc/postfix -x -h", 0), 0u);
}

TEST(DiscoverInstancesTest, FailingInstanceIsMarkedNotDropped) {
  const std::string p =
      FakePostconf("postconf-broken", "/etc/postfix-broken /etc/postfix-out");
  auto r = DiscoverInstances(p, "", {}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(r->at(1).name, "postfix-broken");
  EXPECT_EQ(r->at(1).config_directory, "/etc/postfix-broken");
  EXPECT_THAT(r->at(1).error, HasSubstr("fatal: open /etc/postfix-broken"));
  EXPECT_EQ(r->at(1).queue_directory, "");
  EXPECT_EQ(r->at(2).name, "mi-postfix-out");
  EXPECT_EQ(r->at(2).error, "");
}

TEST(DiscoverInstancesTest, DefaultFailingIsTheOnlyInstance) {
  const std::string p = WriteScript(
      "postconf-dead", "echo 'postconf: fatal: boom' >&2\nexit 1\n");
  auto r = DiscoverInstances(p, "", {}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->at(0).name, "postfix");
  EXPECT_THAT(r->at(0).error, HasSubstr("fatal: boom"));
}

TEST(DiscoverInstancesTest, ExplicitListIsExactlyThose) {
  const std::string p =
      FakePostconf("postconf-explicit", "/etc/postfix-out /etc/postfix-null");
  auto r =
      DiscoverInstances(p, "", {"/etc/postfix-null", "/etc/postfix/"}, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at(0).name, "postfix-null");
  EXPECT_EQ(r->at(0).config_directory, "/etc/postfix-null");
  EXPECT_EQ(r->at(1).name, "postfix");  // the default config dir, listed
  EXPECT_EQ(r->at(1).config_directory, "");
  EXPECT_EQ(r->at(1).queue_directory, "/var/spool/postfix");
}

TEST(DiscoverInstancesTest, SeesAnInstanceAddedLater) {
  const std::string dirs = std::string(::testing::TempDir()) + "/mi-dirs";
  std::ofstream(dirs) << "";
  const std::string p = WriteScript(
      "postconf-grow",
      "[ \"$1\" = -c ] && { echo /q$2; echo n; echo; echo yes; exit 0; }\n"
      "echo /var/spool/postfix; echo postfix; echo; echo no; cat " +
          dirs + "; echo\n");
  auto before = DiscoverInstances(p, "", {}, Soon());
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size(), 1u);
  std::ofstream(dirs) << "/etc/postfix-new";
  auto after = DiscoverInstances(p, "", {}, Soon());
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ(after->at(1).name, "postfix-new");
  EXPECT_EQ(after->at(1).queue_directory, "/q/etc/postfix-new");
}

TEST(DiscoverInstancesTest, RelativePostconfRefused) {
  EXPECT_FALSE(DiscoverInstances("postconf", "", {}, Soon()).ok());
}

}  // namespace
}  // namespace mailhealth::postconf
