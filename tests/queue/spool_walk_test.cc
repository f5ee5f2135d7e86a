// The spool walk on a queue tree of the test's own (a temporary directory
// laid out like /var/spool/postfix): counts, bytes, oldest time, hash
// directories, symlinks never followed, files vanishing mid-walk, an
// unreadable queue directory; and the formatter/parser round trip.
#include "collectors/queue/spool_walk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "collectors/queue/spool_stat_parser.h"

namespace mailhealth {
namespace {

namespace fs = std::filesystem;

size_t Index(std::string_view q) {
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    if (kSpoolQueues[i] == q) return i;
  }
  return kSpoolQueues.size();
}

class SpoolWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mh-spool-walk.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (auto q : kSpoolQueues) fs::create_directory(root_ / std::string(q));
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_ / "hold", fs::perms::owner_all, ec);
    fs::remove_all(root_, ec);
  }
  void File(const fs::path& rel, size_t size) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << std::string(size, 'x');
  }
  bool Walk(int depth, SpoolWalkResult* r, const SpoolWalkHooks* h = nullptr) {
    int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY);
    EXPECT_GE(fd, 0);
    bool ok = WalkSpool(fd, depth, r, h);
    close(fd);
    return ok;
  }
  const SpoolQueueCounts& Q(const SpoolWalkResult& r, std::string_view q) {
    return r.queues[Index(q)];
  }
  fs::path root_;
};

TEST_F(SpoolWalkTest, EmptyQueuesAreZero) {
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(1, &r)) << r.error;
  for (const auto& q : r.queues) {
    EXPECT_EQ(q.files, 0u);
    EXPECT_EQ(q.bytes, 0u);
    EXPECT_EQ(q.oldest, 0);
    EXPECT_FALSE(q.missing);
  }
}

TEST_F(SpoolWalkTest, CountsBytesPerQueue) {
  File("active/A1", 100);
  File("active/A2", 50);
  File("hold/H1", 7);
  File("corrupt/C1", 3);
  File("maildrop/M1", 11);
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(1, &r)) << r.error;
  EXPECT_EQ(Q(r, "active").files, 2u);
  EXPECT_EQ(Q(r, "active").bytes, 150u);
  EXPECT_EQ(Q(r, "hold").files, 1u);
  EXPECT_EQ(Q(r, "hold").bytes, 7u);
  EXPECT_EQ(Q(r, "corrupt").files, 1u);
  EXPECT_EQ(Q(r, "maildrop").bytes, 11u);
  EXPECT_EQ(Q(r, "deferred").files, 0u);
}

TEST_F(SpoolWalkTest, HashDirectoriesToTheConfiguredDepth) {
  File("deferred/A/A1234", 10);
  File("deferred/B/B1234", 10);
  File("deferred/B/C/BC123", 10);  // depth 2
  File("deferred/TOP", 10);        // at the top, as while depth changes
  SpoolWalkResult r1;
  ASSERT_TRUE(Walk(1, &r1)) << r1.error;
  EXPECT_EQ(Q(r1, "deferred").files, 3u);
  EXPECT_EQ(r1.skipped, 1u);  // deferred/B/C: deeper than hash_queue_depth
  SpoolWalkResult r2;
  ASSERT_TRUE(Walk(2, &r2)) << r2.error;
  EXPECT_EQ(Q(r2, "deferred").files, 4u);
  EXPECT_EQ(r2.skipped, 0u);
  SpoolWalkResult r0;
  ASSERT_TRUE(Walk(0, &r0)) << r0.error;
  EXPECT_EQ(Q(r0, "deferred").files, 1u);
}

TEST_F(SpoolWalkTest, ThreadsGiveTheSameCounts) {
  const char* hex = "0123456789ABCDEF";
  for (int i = 0; i < 200; ++i) {
    std::string d(1, hex[i % 16]);
    File("deferred/" + d + "/F" + std::to_string(i), static_cast<size_t>(i));
    if (i % 10 == 0) File("active/" + d + "/G" + std::to_string(i), 1);
    if (i % 7 == 0) File("deferred/" + d + "/X/D" + std::to_string(i), 2);
  }
  File("hold/H", 3);
  SpoolWalkResult one, two, four;
  ASSERT_TRUE(Walk(2, &one)) << one.error;
  int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(WalkSpool(fd, 2, &two, nullptr, 2)) << two.error;
  ASSERT_TRUE(WalkSpool(fd, 2, &four, nullptr, 4)) << four.error;
  close(fd);
  for (const SpoolWalkResult* r : {&two, &four}) {
    for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
      EXPECT_EQ(r->queues[i].files, one.queues[i].files) << kSpoolQueues[i];
      EXPECT_EQ(r->queues[i].bytes, one.queues[i].bytes) << kSpoolQueues[i];
      EXPECT_EQ(r->queues[i].oldest, one.queues[i].oldest) << kSpoolQueues[i];
    }
    EXPECT_EQ(r->skipped, one.skipped);
  }
  EXPECT_EQ(Q(one, "deferred").files, 200u + 29u);
  EXPECT_EQ(Q(one, "active").files, 20u);
}

TEST_F(SpoolWalkTest, NotAHashDirectoryIsSkipped) {
  File("deferred/longname/X1", 10);
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(3, &r)) << r.error;
  EXPECT_EQ(Q(r, "deferred").files, 0u);
  EXPECT_EQ(r.skipped, 1u);
}

TEST_F(SpoolWalkTest, FollowsNoSymlink) {
  // Outside the queue: a directory with a file, and a file.
  char tmpl[] = "/tmp/mh-spool-outside.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  fs::path outside = tmpl;
  std::ofstream(outside / "secret") << std::string(1000, 's');
  fs::create_symlink(outside, root_ / "deferred" / "A");           // hash dir
  fs::create_symlink(outside / "secret", root_ / "active" / "F");  // file
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(2, &r)) << r.error;
  EXPECT_EQ(Q(r, "deferred").files, 0u);
  EXPECT_EQ(Q(r, "active").files, 0u);
  EXPECT_EQ(Q(r, "active").bytes, 0u);
  EXPECT_EQ(r.skipped, 2u);
  // A queue directory that is itself a symlink is not entered either.
  fs::remove_all(root_ / "hold");
  fs::create_symlink(outside, root_ / "hold");
  SpoolWalkResult r2;
  EXPECT_FALSE(Walk(1, &r2));
  EXPECT_NE(r2.error.find("hold"), std::string::npos) << r2.error;
  fs::remove(root_ / "hold");
  fs::create_directory(root_ / "hold");
  fs::remove_all(outside);
}

TEST_F(SpoolWalkTest, VanishingFilesAreNotErrors) {
  for (int i = 0; i < 10; ++i) File("deferred/A/F" + std::to_string(i), 5);
  File("active/GONE", 5);
  SpoolWalkHooks hooks;
  int n = 0;
  hooks.before_stat = [&](int dfd, const char* name) {
    // Every other file moves away between readdir and statx.
    if (n++ % 2 == 0) unlinkat(dfd, name, 0);
  };
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(1, &r, &hooks)) << r.error;
  EXPECT_EQ(Q(r, "deferred").files + Q(r, "active").files + r.vanished, 11u);
  EXPECT_EQ(r.vanished, 6u);
}

TEST_F(SpoolWalkTest, MissingQueueDirectoryIsEmpty) {
  fs::remove_all(root_ / "corrupt");
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(1, &r)) << r.error;
  EXPECT_TRUE(Q(r, "corrupt").missing);
  EXPECT_EQ(Q(r, "corrupt").files, 0u);
}

// As the exporter's user: a queue directory it may not read fails the walk
// with its name (root, as the suite runs, checks it as nobody in a child).
void WalkAsNobodyExpectingDenied(const std::string& root) {
  if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) _exit(4);
  SpoolWalkResult r;
  bool ok = WalkSpool(fd, 1, &r);
  close(fd);
  _exit(!ok && r.error == "hold: Permission denied" ? 0 : 1);
}

TEST_F(SpoolWalkTest, UnreadableQueueDirectoryFails) {
  fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read |
                             fs::perms::group_exec | fs::perms::others_read |
                             fs::perms::others_exec);
  for (auto q : kSpoolQueues) {
    fs::permissions(root_ / std::string(q), fs::perms::owner_all |
                                                fs::perms::others_read |
                                                fs::perms::others_exec);
  }
  fs::permissions(root_ / "hold", fs::perms::none);
  EXPECT_EXIT(WalkAsNobodyExpectingDenied(root_.string()),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(SpoolWalkTest, OldestIsTheEarliestBirthOrChangeTime) {
  File("deferred/A/OLD", 1);
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(1, &r)) << r.error;
  int64_t now = time(nullptr);
  EXPECT_LE(Q(r, "deferred").oldest, now);
  EXPECT_GE(Q(r, "deferred").oldest, now - 60);
  // Postfix sets a deferred file's mtime to its next retry, in the future:
  // that must not make it look young (or old).
  struct timespec ts[2] = {{now + 4000, 0}, {now + 4000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ / "deferred/A/OLD").c_str(), ts, 0), 0);
  SpoolWalkResult r2;
  ASSERT_TRUE(Walk(1, &r2)) << r2.error;
  EXPECT_LE(Q(r2, "deferred").oldest, now);
}

TEST_F(SpoolWalkTest, FormatParsesBack) {
  File("deferred/A/X", 10);
  File("hold/Y", 20);
  SpoolWalkResult r;
  ASSERT_TRUE(Walk(1, &r)) << r.error;
  SpoolStatReport p = ParseSpoolStat(FormatSpoolStat(r, "/var/spool/postfix"));
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.queue_directory, "/var/spool/postfix");
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    EXPECT_EQ(p.walk.queues[i].files, r.queues[i].files);
    EXPECT_EQ(p.walk.queues[i].bytes, r.queues[i].bytes);
    EXPECT_EQ(p.walk.queues[i].oldest, r.queues[i].oldest);
  }
  EXPECT_EQ(p.walk.all_btime, r.all_btime);
  EXPECT_EQ(p.parse_errors, 0u);
}

// --- the parser on hand-made listings

constexpr char kGood[] =
    "mailhealth-spool-stat 1\n"
    "queue_directory /var/spool/postfix\n"
    "queue maildrop 0 0 0\n"
    "queue incoming 1 500 1700000000\n"
    "queue active 0 0 0\n"
    "queue deferred 50000 123456789 1600000000\n"
    "queue hold 2 20 1700000001\n"
    "queue corrupt 0 0 0\n"
    "skipped 1\n"
    "vanished 3\n"
    "time btime\n"
    "end\n";

TEST(SpoolStatParserTest, ReadsEveryField) {
  SpoolStatReport p = ParseSpoolStat(kGood);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.walk.queues[Index("deferred")].files, 50000u);
  EXPECT_EQ(p.walk.queues[Index("deferred")].bytes, 123456789u);
  EXPECT_EQ(p.walk.queues[Index("deferred")].oldest, 1600000000);
  EXPECT_EQ(p.walk.queues[Index("hold")].files, 2u);
  EXPECT_EQ(p.walk.skipped, 1u);
  EXPECT_EQ(p.walk.vanished, 3u);
  EXPECT_TRUE(p.walk.all_btime);
}

TEST(SpoolStatParserTest, UnknownLinesAreCountedAndSkipped) {
  std::string in = kGood;
  in.insert(in.find("skipped"), "future_field 7\n\n");
  SpoolStatReport p = ParseSpoolStat(in);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.parse_errors, 2u);
}

TEST(SpoolStatParserTest, RejectsBrokenListings) {
  std::string good = kGood;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  struct Case {
    std::string name, input, error_part;
  };
  std::vector<Case> cases = {
      {"empty", "", "empty"},
      {"no version", good.substr(good.find('\n') + 1), "version"},
      {"version 2", replace("stat 1", "stat 2"), "version"},
      {"cut short", good.substr(0, good.find("skipped")), "cut short"},
      {"no newline at end", good.substr(0, good.size() - 1), "newline"},
      {"after end", good + "queue hold 1 1 1\n", "after"},
      {"queue twice", replace("queue hold", "queue active"), "twice"},
      {"unknown queue", replace("queue hold", "queue bogus"), "unknown queue"},
      {"negative", replace("2 20", "-2 20"), "count"},
      {"sign", replace("2 20", "+2 20"), "count"},
      {"overflow", replace("2 20", "99999999999999999999 20"), "count"},
      {"too big for int64", replace("2 20", "9223372036854775808 20"), "count"},
      {"few fields", replace("queue hold 2 20 1700000001", "queue hold 2"),
       "fields"},
      {"bad time", replace("time btime", "time mtime"), "time"},
      {"relative dir", replace("/var/spool/postfix", "spool"), "absolute"},
  };
  for (const auto& c : cases) {
    SpoolStatReport p = ParseSpoolStat(c.input);
    EXPECT_FALSE(p.ok) << c.name;
    EXPECT_NE(p.error.find(c.error_part), std::string::npos)
        << c.name << ": " << p.error;
  }
  std::string missing = good;
  missing.erase(missing.find("queue corrupt"),
                std::string("queue corrupt 0 0 0\n").size());
  SpoolStatReport p = ParseSpoolStat(missing);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "queue corrupt missing");
}

}  // namespace
}  // namespace mailhealth
