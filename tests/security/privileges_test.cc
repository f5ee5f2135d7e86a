#include "daemon/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace mailhealth {
namespace {

struct RootCase {
  const char* name;
  bool allow_root;
  const char* runas;
  uid_t euid;
  bool ok;
};

class RootPolicy : public testing::TestWithParam<RootCase> {};

TEST_P(RootPolicy, RefusesRootUnlessAllowedOrDropping) {
  const auto& c = GetParam();
  EXPECT_EQ(CheckRootPolicy(c.allow_root, c.runas, c.euid).ok(), c.ok);
}

INSTANTIATE_TEST_SUITE_P(
    All, RootPolicy,
    testing::Values(RootCase{"RootRefused", false, "", 0, false},
                    RootCase{"RootAllowed", true, "", 0, true},
                    RootCase{"RootDropping", false, "nobody", 0, true},
                    RootCase{"UserFine", false, "", 1000, true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(RootPolicy, ErrorSaysWhatToDo) {
  Status st = CheckRootPolicy(false, "", 0);
  EXPECT_NE(st.message().find("--runas.user"), std::string::npos);
  EXPECT_NE(st.message().find("--allow-root"), std::string::npos);
}

TEST(DropPrivileges, UnknownUserIsAnError) {
  Status st = DropPrivileges("no-such-user-mailhealth");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unknown user"), std::string::npos);
}

TEST(DropPrivileges, RootAsTargetIsRefused) {
  EXPECT_FALSE(DropPrivileges("root").ok());
}

// Runs `body` in a forked child (dropping privileges is irreversible);
// returns the child's exit code.
template <typename F>
int InChild(F body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

TEST(DropPrivileges, BecomesTheUserWithItsGroupsAndCannotRegainRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  passwd* pw = getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  int rc = InChild([&] {
    if (!DropPrivileges("nobody").ok()) return 1;
    if (getuid() != uid || geteuid() != uid) return 2;
    if (getgid() != gid || getegid() != gid) return 3;
    if (setuid(0) == 0) return 4;
    // root's supplementary groups are gone.
    gid_t groups[64];
    int n = getgroups(64, groups);
    for (int i = 0; i < n; ++i) {
      if (groups[i] == 0) return 5;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(DropPrivileges, KeepsSupplementaryGroupsFromEtcGroup) {
  // The exporter reads the log through group adm: dropping must keep the
  // user's supplementary groups. The postfix user is in no extra group on a
  // stock Debian, so use a user whose groups we can see in /etc/group.
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  passwd* pw = getpwnam("postfix");
  if (pw == nullptr) GTEST_SKIP() << "no postfix user";
  int ngroups = 64;
  gid_t expect[64];
  ASSERT_GE(getgrouplist("postfix", pw->pw_gid, expect, &ngroups), 0);
  int rc = InChild([&] {
    if (!DropPrivileges("postfix").ok()) return 1;
    gid_t got[64];
    int n = getgroups(64, got);
    if (n != ngroups) return 2;
    for (int i = 0; i < ngroups; ++i) {
      if (std::find(got, got + n, expect[i]) == got + n) return 3;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace mailhealth
