#include "daemon/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mailhealth {
namespace {

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::string GroupName(gid_t gid) {
  std::vector<char> buf(16384);
  group g{};
  group* out = nullptr;
  if (getgrgid_r(gid, &g, buf.data(), buf.size(), &out) == 0 && out != nullptr) {
    return out->gr_name;
  }
  return std::to_string(gid);
}

}  // namespace

Status CheckRootPolicy(bool allow_root, const std::string& runas_user,
                       uid_t euid) {
  if (euid != 0 || allow_root || !runas_user.empty()) return Status::Ok();
  return Status::Error(
      "refusing to run as root: use --runas.user=NAME to drop to an "
      "unprivileged user after binding (e.g. a user in the groups adm, "
      "systemd-journal and postdrop), or --allow-root");
}

Status DropPrivileges(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return Status::Error("--runas.user: unknown user \"" + user + "\"");
  }
  if (pw.pw_uid == 0) {
    return Status::Error("--runas.user: \"" + user + "\" is root");
  }
  if (geteuid() != 0) {
    if (geteuid() == pw.pw_uid) return Status::Ok();  // already that user
    return Status::Error("--runas.user needs the exporter to start as root");
  }
  // Order matters: groups first (needs root), then gid, then uid.
  if (initgroups(pw.pw_name, pw.pw_gid) != 0) {
    return Status::Error(Errno("initgroups(" + user + ")"));
  }
  if (setgid(pw.pw_gid) != 0) return Status::Error(Errno("setgid"));
  if (setuid(pw.pw_uid) != 0) return Status::Error(Errno("setuid"));
  if (setuid(0) == 0 || geteuid() == 0) {
    return Status::Error("dropped to " + user + " but root could be regained");
  }
  return Status::Ok();
}

std::vector<std::string> CurrentGroupNames() {
  std::vector<std::string> out = {GroupName(getegid())};
  int n = getgroups(0, nullptr);
  if (n <= 0) return out;
  std::vector<gid_t> gids(static_cast<size_t>(n));
  n = getgroups(n, gids.data());
  for (int i = 0; i < n; ++i) {
    if (gids[i] == getegid()) continue;
    out.push_back(GroupName(gids[i]));
  }
  return out;
}

}  // namespace mailhealth
