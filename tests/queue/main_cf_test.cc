// LiteralQueueDirectory against the real postconf: for every main.cf below,
// the fast answer (when there is one) is exactly what `postconf -c DIR -h
// queue_directory` prints for the same file.
#include "collectors/queue/main_cf.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>

namespace mailhealth {
namespace {

constexpr char kPostconf[] = "/usr/sbin/postconf";

std::string Shell(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while (p && (n = fread(buf.data(), 1, buf.size(), p.get())) > 0)
    out.append(buf.data(), n);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// What postconf says queue_directory is, for this main.cf.
std::string PostconfSays(const std::string& main_cf) {
  const std::string dir =
      std::string(::testing::TempDir()) + "/maincf-" + std::to_string(getpid());
  mkdir(dir.c_str(), 0755);
  // An empty master.cf (without one postconf warns through syslog and
  // takes seconds) and a fully qualified host name appended (so postconf
  // never looks its own name up in DNS).
  std::ofstream(dir + "/master.cf");
  std::ofstream(dir + "/main.cf")
      << main_cf << "myhostname = mail.example\nmydomain = example\n";
  // A main.cf written within the last two seconds makes postconf wait
  // about two seconds (measured here); the file is dated an hour back.
  const timeval past[2] = {{time(nullptr) - 3600, 0},
                           {time(nullptr) - 3600, 0}};
  utimes((dir + "/main.cf").c_str(), past);
  return Shell(std::string(kPostconf) + " -c " + dir +
               " -h queue_directory 2>/dev/null");
}

struct Case {
  const char* main_cf;
  bool fast;  // answered without postconf
};

const Case kCases[] = {
    {"", true},
    {"smtpd_banner = mail.example\n", true},
    {"# queue_directory = /elsewhere\nrelayhost = m\n", true},
    {"queue_directory = /var/spool/postfix\n", true},
    {"queue_directory=/srv/spool\n", true},
    {"queue_directory = /srv/spool   \n", true},
    {"queue_directory = /a\nqueue_directory = /srv/b\n", true},
    {"queue_directory = /a\n  # a comment inside\nrelayhost = m\n", true},
    {"mydestination = $myhostname,\n  localhost\nqueue_directory = /q\n", true},
    {"data_directory = $queue_directory/data\n", true},
    {"relayhost = m\r\nqueue_directory = /crlf\r\n", true},
    {"queue_directory = $data_directory/q\n", false},
    {"queue_directory = /a\n  /b\n", false},
    {"queue_directory = relative\n", false},
    {"queue_directory = /with space\n", false},
    {"queue_directory =\n", false},
    {"queue_directoryx = /x\n", false},
    {"  queue_directory = /x\n", false},
};

TEST(LiteralQueueDirectoryTest, AgreesWithPostconf) {
  if (access(kPostconf, X_OK) != 0) GTEST_SKIP() << "no " << kPostconf;
  const std::string compiled =
      Shell(std::string(kPostconf) + " -d -h queue_directory 2>/dev/null");
  ASSERT_FALSE(compiled.empty());
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.main_cf);
    auto ours = LiteralQueueDirectory(c.main_cf, compiled);
    EXPECT_EQ(ours.has_value(), c.fast);
    if (ours) {
      EXPECT_EQ(*ours, PostconfSays(c.main_cf));
    }
  }
}

TEST(LiteralQueueDirectoryTest, CompiledDefaultWhenNotAssigned) {
  EXPECT_EQ(LiteralQueueDirectory("relayhost = m\n", "/var/spool/postfix"),
            "/var/spool/postfix");
  EXPECT_EQ(LiteralQueueDirectory(std::string_view("a = b\0c\n", 8), "/d"),
            std::nullopt);
}

}  // namespace
}  // namespace mailhealth
