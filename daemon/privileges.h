// Least privilege: the exporter needs no root. It reads /var/log/mail.log
// (group adm on Debian, or the log's group), the journal (group
// systemd-journal) and runs postqueue (group postdrop where postqueue is
// not world-executable or the queue is restricted). Run it as a user in
// those groups, or start it as root with --runas.user=NAME: it binds its
// port, then drops to NAME with NAME's supplementary groups from
// /etc/group (initgroups), before any collector runs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "exporter/status.h"

namespace mailhealth {

// Error when `euid` is 0 and neither --allow-root nor --runas.user is given.
Status CheckRootPolicy(bool allow_root, const std::string& runas_user,
                       uid_t euid);

// Switches the whole process (all threads: glibc broadcasts set*id) to
// `user`: initgroups, setgid, setuid, then checks root cannot be regained.
// Must run as root. Errors name the failing step.
Status DropPrivileges(const std::string& user);

// Names of the process' groups (primary first), for the start-up log.
std::vector<std::string> CurrentGroupNames();

}  // namespace mailhealth
