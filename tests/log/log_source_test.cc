// File follower and journal tests on real files in a temp directory:
// start position, rotation by rename and copytruncate while a writer keeps
// appending, a file that appears late, an unreadable file, a 2 MiB line with
// NUL and invalid bytes, and journal files written by systemd-journal-remote.
#include "collectors/log/log_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/log/log_test_util.h"

namespace mailhealth::log {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string Line(int i) {
  return "Jan  1 00:00:00 mx postfix/smtp[1]: A" + std::to_string(i) +
         ": to=<a@example.com>, relay=x[192.0.2.1]:25, delay=1, dsn=2.0.0, "
         "status=sent (250 ok)\n";
}

void Append(const std::string& path, const std::string& data) {
  int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  ::close(fd);
}

LogCounters Snapshot(FollowerState& s) {
  std::lock_guard<std::mutex> l(s.mu);
  return s.counters;
}

// Waits (up to 10 s, polling every 10 ms) until pred(counters) holds.
template <typename Pred>
bool WaitFor(FollowerState& s, Pred pred) {
  auto until = steady_clock::now() + std::chrono::seconds(10);
  while (steady_clock::now() < until) {
    if (pred(Snapshot(s))) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred(Snapshot(s));
}

class FileReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    path_ = dir_ + "/mail.log";
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  std::string dir_, path_;
  LineProcessor lp_{{}, {}};
  FollowerState state_;
};

TEST_F(FileReaderTest, StartAtEndSkipsExistingLines) {
  Append(path_, Line(1) + Line(2));
  FileReader r(path_, false, &lp_, &state_);
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 0u);
  Append(path_, Line(3));
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 1u);
}

TEST_F(FileReaderTest, StartAtEndInsideALineSkipsItsRest) {
  Append(path_, Line(1) + "Jan  1 00:00:00 mx postfix/qmgr[1]: A: rem");
  FileReader r(path_, false, &lp_, &state_);
  r.Poll();
  Append(path_, "oved\n" + Line(2));
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 1u);
  EXPECT_EQ(c.unsupported, 0u);
  EXPECT_EQ(Deliveries(c, DeliveryStatus::kSent), 1u);
}

TEST_F(FileReaderTest, StartAtBeginningReadsExistingLines) {
  Append(path_, Line(1) + Line(2));
  FileReader r(path_, true, &lp_, &state_);
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 2u);
}

TEST_F(FileReaderTest, IncompleteLineWaitsForItsNewline) {
  FileReader r(path_, true, &lp_, &state_);
  Append(path_, "Jan  1 00:00:00 mx postfix/qmgr[1]: A: rem");
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 0u);
  Append(path_, "oved\n");
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 1u);
  EXPECT_EQ(c.unsupported, 0u);
}

TEST_F(FileReaderTest, MissingFileIsWaitedForAndReadFromItsStart) {
  FileReader r(path_, false, &lp_, &state_);
  r.Poll();
  {
    std::lock_guard<std::mutex> l(state_.mu);
    EXPECT_FALSE(state_.available);
    EXPECT_EQ(state_.error, "");
  }
  Append(path_, Line(1) + Line(2));
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 2u);
  std::lock_guard<std::mutex> l(state_.mu);
  EXPECT_TRUE(state_.available);
}

TEST_F(FileReaderTest, RenameReadsRestOfOldFileThenNewFromStart) {
  // No grace: the old file's unterminated last line is taken as a line at
  // the first poll after the switch.
  FileReader r(path_, true, &lp_, &state_, std::chrono::milliseconds(0));
  Append(path_, Line(1));
  r.Poll();
  // Rotated: the old file gets one more line after the rename (a writer
  // that has not reopened yet), and the new file has two lines already.
  ASSERT_EQ(::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  Append(path_ + ".1",
         Line(2) + "Jan  1 00:00:00 mx postfix/qmgr[1]: A: removed");
  r.Poll();  // path missing: old file still read
  Append(path_, Line(3) + Line(4));
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 4u);  // old file's last line still open
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 5u);  // the unterminated last line of the old file counts
  EXPECT_EQ(c.rotations, 1u);
  EXPECT_EQ(c.unsupported, 0u);
}

// A writer that holds the old file open (syslog before its HUP, postlogd
// before `postfix logrotate`) keeps writing to it after the new file
// appeared: those lines are read too, and a line split across the switch
// is counted once.
TEST_F(FileReaderTest, LateWritesToTheRenamedFileAreStillRead) {
  FileReader r(path_, true, &lp_, &state_);
  Append(path_, Line(1));
  r.Poll();
  ASSERT_EQ(::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  const std::string l2 = Line(2);
  Append(path_ + ".1", l2.substr(0, 10));  // half a line before the switch
  Append(path_, Line(3));
  r.Poll();                                       // switches to the new file
  Append(path_ + ".1", l2.substr(10) + Line(4));  // late writes to the old one
  Append(path_, Line(5));
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 5u);
  EXPECT_EQ(c.rotations, 1u);
  EXPECT_EQ(c.unsupported, 0u);
}

TEST_F(FileReaderTest, DeletedFileIsReportedMissingAndItsRestStillRead) {
  FileReader r(path_, true, &lp_, &state_);
  Append(path_, Line(1));
  r.Poll();
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  std::string l2 = Line(2);
  ASSERT_EQ(::write(fd, l2.data(), l2.size()), static_cast<ssize_t>(l2.size()));
  ::close(fd);
  r.Poll();
  EXPECT_EQ(Snapshot(state_).lines, 2u);
  std::lock_guard<std::mutex> l(state_.mu);
  EXPECT_FALSE(state_.available);
  EXPECT_EQ(state_.error, "");
}

TEST_F(FileReaderTest, CopyTruncateStartsOver) {
  FileReader r(path_, true, &lp_, &state_);
  Append(path_, Line(1) + Line(2) + Line(3));
  r.Poll();
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Append(path_, Line(4));
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 4u);
  EXPECT_EQ(c.rotations, 1u);
}

TEST_F(FileReaderTest, CopyTruncateRefilledPastOffsetIsDetected) {
  FileReader r(path_, true, &lp_, &state_);
  Append(path_, Line(1));
  r.Poll();
  // Truncated, then more written than we had read, before the next poll:
  // the size check alone cannot see it.
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Append(path_, Line(2) + Line(3) + Line(4));
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 4u);
  EXPECT_EQ(Deliveries(c, DeliveryStatus::kSent), 4u);
  EXPECT_EQ(c.rotations, 1u);
}

TEST_F(FileReaderTest, HugeLineWithNulAndInvalidBytesIsCutAndCounted) {
  FileReader r(path_, true, &lp_, &state_);
  std::string big = "Jan  1 00:00:00 mx postfix/smtpd[1]: warning: ";
  for (size_t i = 0; big.size() < (2u << 20); ++i)
    big.push_back(i % 3 == 0 ? '\0' : static_cast<char>(0x80 + i % 0x7f));
  Append(path_, Line(1));
  // Written in pieces so the reader sees the line grow across polls.
  for (size_t off = 0; off < big.size(); off += 700000) {
    Append(path_, big.substr(off, 700000));
    r.Poll();
  }
  Append(path_, "\n" + Line(2));
  r.Poll();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 3u);
  EXPECT_EQ(c.truncated, 1u);
  EXPECT_EQ(Deliveries(c, DeliveryStatus::kSent), 2u);
  EXPECT_EQ(Severities(c, Severity::kWarning), 1u);
}

// As root, permissions do not apply: the reader runs in a child process
// that switches to "nobody", which owns the file with mode 000 and can
// chmod it back.
TEST_F(FileReaderTest, UnreadableFileFailsWithReasonAndRecovers) {
  struct passwd* pw = ::getpwnam("nobody");
  if (::geteuid() != 0 || !pw) GTEST_SKIP() << "needs root and user nobody";
  Append(path_, Line(1));
  ASSERT_EQ(::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid), 0);
  ASSERT_EQ(::chown(path_.c_str(), pw->pw_uid, pw->pw_gid), 0);
  ASSERT_EQ(::chmod(path_.c_str(), 0), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0) _exit(10);
    FileReader r(path_, true, &lp_, &state_);
    r.Poll();
    {
      std::lock_guard<std::mutex> l(state_.mu);
      if (state_.error != "cannot open " + path_ + ": Permission denied")
        _exit(11);
    }
    if (::chmod(path_.c_str(), 0644) != 0) _exit(12);
    r.Poll();
    std::lock_guard<std::mutex> l(state_.mu);
    if (!state_.error.empty()) _exit(13);
    if (state_.counters.lines != 1) _exit(14);
    _exit(0);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "10 setuid, 11 error text, 12 chmod, "
                                   "13 error kept, 14 line count";
}

// ------------------------------------------------ the threaded follower

class FollowerTest : public FileReaderTest {};

TEST_F(FollowerTest, InotifyWakesFollowerQuickly) {
  Append(path_, "");
  // A poll interval of 60 s: only inotify can deliver the line in time.
  auto f =
      MakeFileFollower(path_, false, &lp_, &state_, std::chrono::seconds(60));
  f->Start();
  ASSERT_TRUE(WaitFor(state_, [](const LogCounters&) { return true; }));
  std::this_thread::sleep_for(milliseconds(100));  // let it seek to the end
  Append(path_, Line(1));
  EXPECT_TRUE(
      WaitFor(state_, [](const LogCounters& c) { return c.lines == 1; }));
  auto t0 = steady_clock::now();
  f->Stop();
  EXPECT_LT(steady_clock::now() - t0, milliseconds(500));
}

TEST_F(FollowerTest, LateFileIsPickedUp) {
  auto f = MakeFileFollower(path_, false, &lp_, &state_, milliseconds(200));
  f->Start();
  std::this_thread::sleep_for(milliseconds(100));
  Append(path_, Line(1) + Line(2));
  EXPECT_TRUE(
      WaitFor(state_, [](const LogCounters& c) { return c.lines == 2; }));
  f->Stop();
}

// A writer appends continuously while the file is rotated several times,
// alternating rename and copytruncate. With rename, the writer reopens the
// path (as postlogd does after `postfix logrotate`); no line is lost or
// counted twice. For copytruncate, lines written between the copy and the
// truncation are lost by design of copytruncate, so the writer pauses for
// that moment (the test checks our side, not logrotate's race).
TEST_F(FollowerTest, RotationWhileWritingLosesNothing) {
  auto f = MakeFileFollower(path_, true, &lp_, &state_, milliseconds(200));
  Append(path_, "");
  f->Start();
  std::mutex wmu;  // held by the writer per line, by the rotator per rotation
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; i < 6000; ++i) {
      {
        std::lock_guard<std::mutex> l(wmu);
        Append(path_, Line(i));
        written = i + 1;
      }
      if (i % 50 == 0) std::this_thread::sleep_for(milliseconds(1));
    }
    done = true;
  });
  int rotations = 0;
  for (int k = 0; !done && k < 6; ++k) {
    std::this_thread::sleep_for(milliseconds(60));
    if (k % 2 == 0) {
      // rename: new lines go to a fresh file; the old one is read to its end
      std::lock_guard<std::mutex> l(wmu);
      ASSERT_EQ(
          ::rename(path_.c_str(), (path_ + "." + std::to_string(k)).c_str()),
          0);
      ++rotations;
    } else {
      // copytruncate: wait until the follower has read everything so far
      std::lock_guard<std::mutex> l(wmu);
      int target = written;
      WaitFor(state_, [&](const LogCounters& c) {
        return c.lines >= static_cast<uint64_t>(target);
      });
      ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
      ++rotations;
    }
  }
  writer.join();
  Append(path_, "");  // a rename right after the last line: the new file
  EXPECT_TRUE(WaitFor(state_, [&](const LogCounters& c) {
    return c.lines >= 6000 && c.rotations >= static_cast<uint64_t>(rotations);
  }));
  std::this_thread::sleep_for(milliseconds(300));  // nothing counted twice
  f->Stop();
  LogCounters c = Snapshot(state_);
  EXPECT_EQ(c.lines, 6000u);
  EXPECT_EQ(Deliveries(c, DeliveryStatus::kSent), 6000u);
  EXPECT_EQ(c.rotations, static_cast<uint64_t>(rotations));
}

// ---------------------------------------------------------------- journal

const char kSent[] =
    "A1: to=<a@example.com>, relay=x[192.0.2.1]:25, delay=1, dsn=2.0.0, "
    "status=sent (250 ok)";

TEST(JournalTest, ReadsPostfixEntriesByUnitAndIdentifier) {
  if (::access("/lib/systemd/systemd-journal-remote", X_OK) != 0)
    GTEST_SKIP() << "systemd-journal-remote not installed";
  std::string dir = TempDir();
  std::string nul_msg = std::string("warning: bad\0byte \xff\xfe", 20);
  ASSERT_TRUE(MakeJournal(dir, "a",
                          {{"postfix@-.service", "postfix/smtp", kSent},
                           {"", "postfix/smtp", kSent},  // identifier only
                           {"postfix.service", "postfix/qmgr", "A1: removed"},
                           {"", "postfix-out/smtpd", nul_msg},
                           {"dovecot.service", "dovecot", "imap-login: Login"},
                           {"cron.service", "CRON", "pam_unix(cron:session)"}},
                          1700000000));
  LineProcessor lp({}, {});
  FollowerState st;
  JournalOptions o;
  o.units = {"postfix.service", "postfix@-.service"};
  o.directory = dir;
  o.from_beginning = true;
  auto f = MakeJournalFollower(o, &lp, &st);
  f->Start();
  EXPECT_TRUE(WaitFor(st, [](const LogCounters& c) { return c.lines >= 4; }));
  std::this_thread::sleep_for(milliseconds(100));
  f->Stop();
  LogCounters c = Snapshot(st);
  EXPECT_EQ(c.lines, 4u);  // dovecot and cron entries are not ours
  EXPECT_EQ(Deliveries(c, DeliveryStatus::kSent), 2u);
  EXPECT_EQ(Severities(c, Severity::kWarning), 1u);
  EXPECT_EQ(c.unsupported, 0u);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(JournalTest, UnreadableJournalIsAFailureWithTheReason) {
  LineProcessor lp({}, {});
  FollowerState st;
  JournalOptions o;
  o.directory = "/nonexistent-mailhealth-journal";
  auto f = MakeJournalFollower(o, &lp, &st);
  f->Start();
  std::string error;
  auto until = steady_clock::now() + std::chrono::seconds(5);
  while (error.empty() && steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
    std::lock_guard<std::mutex> l(st.mu);
    error = st.error;
  }
  auto t0 = steady_clock::now();
  f->Stop();
  EXPECT_LT(steady_clock::now() - t0, milliseconds(500));
  EXPECT_EQ(error,
            "cannot open the journal in /nonexistent-mailhealth-journal: No "
            "such file or directory");
}

TEST(JournalTest, ProbeFindsPostfixEntriesByUnitOrIdentifier) {
  if (!HaveJournalRemote())
    GTEST_SKIP() << "systemd-journal-remote not installed";
  LineProcessor lp({}, {"mypostfix"});
  std::string by_unit = TempDir(), by_ident = TempDir(), by_name = TempDir(),
              foreign = TempDir(), empty = TempDir();
  ASSERT_TRUE(MakeJournal(by_unit, "a",
                          {{"postfix@-.service", "master", "daemon started"}},
                          1700000000));
  ASSERT_TRUE(MakeJournal(by_ident, "a", {{"", "postfix-out/smtp", kSent}},
                          1700000000));
  ASSERT_TRUE(
      MakeJournal(by_name, "a", {{"", "mypostfix/smtp", kSent}}, 1700000000));
  ASSERT_TRUE(MakeJournal(foreign, "a",
                          {{"dovecot.service", "dovecot", "imap-login: Login"},
                           {"cron.service", "CRON", "postfix/smtp"}},
                          1700000000));
  JournalOptions o;
  o.units = {"postfix.service", "postfix@-.service"};
  for (const auto& [dir, want] :
       std::vector<std::pair<std::string, bool>>{{by_unit, true},
                                                 {by_ident, true},
                                                 {by_name, true},
                                                 {foreign, false},
                                                 {empty, false}}) {
    o.directory = dir;
    std::string error = "unset";
    EXPECT_EQ(JournalHasPostfixEntries(o, lp, &error), want) << dir;
    EXPECT_EQ(error, "") << dir;
  }
  o.units = {};
  o.directory = by_unit;
  std::string error;
  EXPECT_FALSE(JournalHasPostfixEntries(o, lp, &error))
      << "the unit counts only when it is in journal_units";
  for (const auto& d : {by_unit, by_ident, by_name, foreign, empty})
    (void)std::system(("rm -rf '" + d + "'").c_str());
}

TEST(JournalTest, ProbeOfAnUnopenableJournalSaysWhy) {
  LineProcessor lp({}, {});
  JournalOptions o;
  o.directory = "/nonexistent-mailhealth-journal";
  std::string error;
  EXPECT_FALSE(JournalHasPostfixEntries(o, lp, &error));
  EXPECT_EQ(error,
            "cannot open the journal in /nonexistent-mailhealth-journal: No "
            "such file or directory");
}

TEST(JournalTest, StartsAtTheTail) {
  if (::access("/lib/systemd/systemd-journal-remote", X_OK) != 0)
    GTEST_SKIP() << "systemd-journal-remote not installed";
  std::string dir = TempDir();
  ASSERT_TRUE(MakeJournal(dir, "old",
                          {{"postfix.service", "postfix/smtp", kSent},
                           {"postfix.service", "postfix/smtp", kSent}},
                          1700000000));
  LineProcessor lp({}, {});
  FollowerState st;
  JournalOptions o;
  o.units = {"postfix.service"};
  o.directory = dir;
  auto f = MakeJournalFollower(o, &lp, &st);
  f->Start();
  ASSERT_TRUE(WaitFor(st, [&](const LogCounters&) {
    std::lock_guard<std::mutex> l(st.mu);
    return st.available;
  }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(Snapshot(st).lines, 0u);
  ASSERT_TRUE(MakeJournal(dir, "new",
                          {{"postfix.service", "postfix/qmgr", "A1: removed"}},
                          1700000100));
  EXPECT_TRUE(WaitFor(st, [](const LogCounters& c) { return c.lines >= 1; }));
  std::this_thread::sleep_for(milliseconds(100));
  f->Stop();
  EXPECT_EQ(Snapshot(st).lines, 1u);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace mailhealth::log

// --- `check`: the last window of the log, read from the end --------------
namespace mailhealth::log {
namespace {

std::string BsdStamp(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%b %e %H:%M:%S", &tm);
  return buf;
}

TEST(LineTimestamp, Formats) {
  const double now = 1765000000;  // 2025-12-06T05:46:40Z
  EXPECT_EQ(
      *LineTimestamp("2025-12-06T05:46:40.500+00:00 mail postfix/x[1]: y", now),
      1765000000.5);
  EXPECT_EQ(*LineTimestamp("2025-12-06T06:46:40+01:00 mail p: y", now),
            1765000000);
  EXPECT_EQ(*LineTimestamp("<22>1 2025-12-06T05:46:40Z mail p - - - y", now),
            1765000000);
  const std::string bsd =
      BsdStamp(1765000000 - 60) + " mail postfix/smtpd[1]: x";
  EXPECT_EQ(*LineTimestamp(bsd, now), 1765000000 - 60);
  // A BSD stamp "in the future" by more than a day is last year's.
  const std::string future = BsdStamp(1765000000 + 5 * 86400) + " mail p: x";
  EXPECT_LT(*LineTimestamp(future, now), now - 300 * 86400);
  EXPECT_FALSE(LineTimestamp("no timestamp here", now));
  EXPECT_FALSE(LineTimestamp("", now));
  EXPECT_FALSE(LineTimestamp("Foo  6 05:46:40 mail p: x", now));
}

TEST(ReadFileWindow, CountsOnlyTheLinesOfTheWindow) {
  char path[] = "/tmp/mh-window-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::time_t now = std::time(nullptr);
  std::string text;
  // 3 MiB of old lines (more than one block), then the window's lines.
  const std::string old = BsdStamp(now - 3600) +
                          " mail postfix/smtpd[1]: fatal: an hour ago, padding "
                          "padding padding padding padding padding\n";
  while (text.size() < (3u << 20)) text += old;
  text +=
      BsdStamp(now - 120) + " mail postfix/smtpd[2]: fatal: two minutes ago\n";
  text +=
      BsdStamp(now - 60) + " mail postfix/qmgr[3]: warning: one minute ago\n";
  text += "a line without a timestamp\n";
  text += BsdStamp(now) + " mail postfix/smtpd[2]: fatal: unterminated";
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
  LineProcessor p({}, {});
  LogCounters c;
  WindowRead r = ReadFileWindow(path, static_cast<double>(now), 900, &p, &c);
  EXPECT_EQ(r.error, "");
  EXPECT_LT(r.bytes, size_t{2} << 20);  // not the whole file
  EXPECT_EQ(c.lines, 4u);
  EXPECT_EQ(c.Total().messages[static_cast<size_t>(Process::kSmtpd)]
                      [static_cast<size_t>(Severity::kFatal)],
            2u);
  // All of it with a long window.
  LogCounters all;
  ReadFileWindow(path, static_cast<double>(now), 7200, &p, &all);
  EXPECT_GT(all.lines, 20000u);
  unlink(path);
  LogCounters none;
  WindowRead missing =
      ReadFileWindow(path, static_cast<double>(now), 900, &p, &none);
  EXPECT_NE(missing.missing.find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace mailhealth::log

namespace mailhealth::log {
namespace {

TEST(ReadJournalWindow, CountsOnlyTheEntriesOfTheWindow) {
  if (!HaveJournalRemote())
    GTEST_SKIP() << "systemd-journal-remote not installed";
  std::string dir = TempDir();
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  ASSERT_TRUE(
      MakeJournal(dir, "old",
                  {{"postfix.service", "postfix/smtpd", "fatal: an hour ago"},
                   {"postfix.service", "postfix/qmgr", "warning: an hour ago"}},
                  now - 3600));
  ASSERT_TRUE(
      MakeJournal(dir, "new",
                  {{"postfix.service", "postfix/smtpd", "fatal: a minute ago"},
                   {"cron.service", "CRON", "not ours"}},
                  now - 60));
  LineProcessor lp({}, {});
  JournalOptions o;
  o.units = {"postfix.service"};
  o.directory = dir;
  LogCounters c;
  WindowRead r = ReadJournalWindow(o, static_cast<double>(now), 900, &lp, &c);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(c.lines, 1u);
  EXPECT_EQ(Severities(c, Severity::kFatal), 1u);
  LogCounters all;
  ReadJournalWindow(o, static_cast<double>(now), 7200, &lp, &all);
  EXPECT_EQ(all.lines, 3u);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace mailhealth::log
