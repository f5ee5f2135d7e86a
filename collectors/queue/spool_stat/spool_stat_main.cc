// mailhealth-spool-stat: lists and stats the Postfix queue directories and
// prints, per queue, the number of files, their bytes and the oldest file's
// time (the format of FormatSpoolStat in spool_walk.h).
//
//   mailhealth-spool-stat [-c CONFIG_DIRECTORY] [QUEUE_DIRECTORY]
//
// Meant to run with the file capability cap_dac_read_search, executable only
// by the exporter's group, so the exporter itself needs no access to mail.
// What it does with that capability is therefore kept to the least:
//   - the queue directory is Postfix's own: `postconf -h queue_directory`
//     (the postconf of the build, MAILHEALTH_SPOOL_STAT_POSTCONF, run with
//     an empty environment, so MAIL_CONFIG or PATH cannot redirect it). For
//     the default instance, when the default main.cf leaves queue_directory
//     unset or sets it to a plain absolute path, that answer is read from
//     main.cf by postconf(5)'s rules instead (main_cf.h: postconf costs
//     10 ms of CPU, as much as walking 5,000 files); anything else is asked
//     of postconf. A QUEUE_DIRECTORY argument must be that same directory
//     (compared by device and inode); any other is refused (exit 2);
//   - `-c DIR` (another Postfix instance) is accepted only when the default
//     main.cf names DIR in config_directory, alternate_config_directories or
//     multi_instance_directories, as postqueue and postdrop require of
//     unprivileged users;
//   - no queue file is opened or read; no symlink is followed (spool_walk.h);
//   - nothing is written but stdout and stderr.
// Exit status: 0 listed; 1 could not list (postconf failed, a queue
// directory unreadable); 2 usage error or a refused directory.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "collectors/queue/main_cf.h"
#include "collectors/queue/spool_walk.h"

namespace {

constexpr char kPostconf[] = MAILHEALTH_SPOOL_STAT_POSTCONF;
constexpr char kDefaultMainCf[] =
    MAILHEALTH_POSTFIX_CONFIG_DIRECTORY "/main.cf";
constexpr char kCompiledQueueDirectory[] = MAILHEALTH_POSTFIX_QUEUE_DIRECTORY;
constexpr char kUsage[] =
    "usage: mailhealth-spool-stat [-c CONFIG_DIRECTORY] [QUEUE_DIRECTORY]\n";

int Fail(int status, const std::string& msg) {
  std::fprintf(stderr, "mailhealth-spool-stat: %s\n", msg.c_str());
  return status;
}

// postconf with ARGS and an empty environment, started (Start) and then
// read to its end and reaped (Finish): the walk runs in between.
struct PostconfRun {
  pid_t pid = -1;
  int fd = -1;
  std::string last_arg;
};

bool StartPostconf(const std::vector<std::string>& args, PostconfRun* run,
                   std::string* err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    *err = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> argv_s = {kPostconf};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_env, nullptr};
  pid_t pid = fork();
  if (pid < 0) {
    *err = std::string("fork: ") + std::strerror(errno);
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execve(kPostconf, argv.data(), envp);
    _exit(127);
  }
  close(p[1]);
  run->pid = pid;
  run->fd = p[0];
  run->last_arg = args.back();
  return true;
}

bool FinishPostconf(PostconfRun* run, std::string* out, std::string* err) {
  char buf[4096];
  while (true) {
    ssize_t n = read(run->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out->size() < 65536) out->append(buf, static_cast<size_t>(n));
  }
  close(run->fd);
  int status = 0;
  while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *err = std::string(kPostconf) + " " + run->last_arg + " failed" +
           (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (cannot run it)"
                                                            : "");
    return false;
  }
  return true;
}

bool Postconf(const std::vector<std::string>& args, std::string* out,
              std::string* err) {
  PostconfRun run;
  return StartPostconf(args, &run, err) && FinishPostconf(&run, out, err);
}

// Every one-character directory level is walked, whatever hash_queue_depth
// says: Postfix's own queue scan descends into them the same way, and after
// a change of hash_queue_depth files sit at both depths for a while.
constexpr int kAllLevels = 16;

int Threads() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 2 ? 2 : 1;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    if (nl > start || nl < s.size()) out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!w.empty()) out.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

// The default instance's queue_directory as the default main.cf gives it
// plainly (LiteralQueueDirectory), or nullopt: ask postconf. A main.cf that
// cannot be read, is not a regular file or is over 1 MiB is postconf's.
std::optional<std::string> QueueDirectoryFromMainCf() {
  int fd = open(kDefaultMainCf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::string text;
  bool ok =
      fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (1 << 20);
  if (ok) {
    text.resize(static_cast<size_t>(st.st_size) + 1);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, text.data() + got, text.size() - got)) > 0) {
      got += static_cast<size_t>(n);
      if (got == text.size()) break;
    }
    // Grown while read, or a read error: postconf's.
    ok = n >= 0 && got <= static_cast<size_t>(st.st_size);
    text.resize(got);
  }
  close(fd);
  if (!ok) return std::nullopt;
  return mailhealth::LiteralQueueDirectory(text, kCompiledQueueDirectory);
}

std::string Resolve(const std::string& p) {
  char buf[PATH_MAX];
  if (realpath(p.c_str(), buf) == nullptr) return "";
  return buf;
}

// Walks the directory FD into RESULT, with the master's pid when listed.
void Walk(int fd, mailhealth::SpoolWalkResult* result) {
  bool ok = mailhealth::WalkSpool(fd, kAllLevels, result, nullptr, Threads());
  if (ok) result->master_pid = mailhealth::ReadMasterPid(fd);
  if (!ok && result->error.empty()) result->error = "walk failed";
}

struct Args {
  std::string config_dir;  // -c
  std::string wanted_dir;  // QUEUE_DIRECTORY
};

// The command line into ARGS, or the exit status to end with (-1: go on).
int ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "-c" && i + 1 < argc && args->config_dir.empty()) {
      args->config_dir = argv[++i];
    } else if (!a.empty() && a[0] != '-' && args->wanted_dir.empty()) {
      args->wanted_dir = a;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (!args->config_dir.empty() && args->config_dir[0] != '/')
    return Fail(2, "-c " + args->config_dir + ": not an absolute path");
  if (!args->wanted_dir.empty() && args->wanted_dir[0] != '/')
    return Fail(2, args->wanted_dir + ": not an absolute path");
  return -1;
}

// -c CONFIG_DIR is allowed when the default main.cf names it (by realpath)
// in config_directory, alternate_config_directories or
// multi_instance_directories. The exit status to end with, or -1: go on.
int CheckConfigDirAllowed(const std::string& config_dir) {
  std::string out, err;
  if (!Postconf({"-x", "-h", "config_directory", "alternate_config_directories",
                 "multi_instance_directories"},
                &out, &err)) {
    return Fail(1, err);
  }
  std::vector<std::string> allowed;
  for (const auto& l : Lines(out)) {
    for (auto& w : Words(l)) allowed.push_back(w);
  }
  std::string want = Resolve(config_dir);
  bool ok = false;
  for (const auto& a : allowed)
    ok = ok || (!want.empty() && Resolve(a) == want);
  if (!ok) {
    return Fail(2, "refused: -c " + config_dir +
                       " is not the default config_directory nor listed "
                       "in alternate_config_directories or "
                       "multi_instance_directories");
  }
  return -1;
}

// The answer of the postconf PC started for queue_directory, into
// QUEUE_DIR. The exit status to end with, or -1: go on.
int FinishQueueDirectory(PostconfRun* pc, std::string* queue_dir) {
  std::string out, err;
  if (!FinishPostconf(pc, &out, &err)) return Fail(1, err);
  std::vector<std::string> lines = Lines(out);
  if (lines.empty() || lines[0].empty() || lines[0][0] != '/')
    return Fail(1, "postconf gave no absolute queue_directory");
  *queue_dir = lines[0];
  return -1;
}

// Whether the directory FD (opened from WANTED_DIR, or -1 with OPEN_ERRNO)
// is QUEUE_DIR (stat WANT), by device and inode. The exit status to end
// with, or -1: go on.
int CheckSameDirectory(int fd, int open_errno, const std::string& wanted_dir,
                       const std::string& queue_dir, const struct stat& want) {
  struct stat got {};
  bool same = fd >= 0 && fstat(fd, &got) == 0 && got.st_dev == want.st_dev &&
              got.st_ino == want.st_ino;
  if (same) return -1;
  if (fd < 0 && Resolve(wanted_dir) == Resolve(queue_dir)) {
    return Fail(1, wanted_dir + ": " + std::strerror(open_errno));
  }
  return Fail(2, "refused: " + wanted_dir + " is not the queue directory " +
                     queue_dir + " (postconf -h queue_directory)");
}

// FD's walk as the output, or the exit status of a failure. Closes FD.
int Print(int fd, const std::string& queue_dir,
          const mailhealth::SpoolWalkResult& result) {
  close(fd);
  if (!result.error.empty()) return Fail(1, queue_dir + "/" + result.error);
  std::string text = mailhealth::FormatSpoolStat(result, queue_dir);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (int status = ParseArgs(argc, argv, &args); status >= 0) return status;
  if (!args.config_dir.empty()) {
    if (int status = CheckConfigDirAllowed(args.config_dir); status >= 0)
      return status;
  }
  std::vector<std::string> pc_args;
  if (!args.config_dir.empty()) {
    pc_args.push_back("-c");
    pc_args.push_back(args.config_dir);
  }
  pc_args.insert(pc_args.end(), {"-x", "-h", "queue_directory"});
  std::optional<std::string> literal;
  if (args.config_dir.empty()) literal = QueueDirectoryFromMainCf();
  PostconfRun pc;
  std::string err;
  if (!literal && !StartPostconf(pc_args, &pc, &err)) return Fail(1, err);

  // With a directory named, it is walked while postconf runs (postconf is
  // most of the time on a small queue), and the result is printed only
  // once the directory walked (its device and inode, not its name) is
  // found to be Postfix's queue directory; otherwise nothing of the walk
  // is shown.
  int fd = -1;
  int open_errno = 0;
  mailhealth::SpoolWalkResult result;
  bool walked = false;
  if (!args.wanted_dir.empty()) {
    fd = open(args.wanted_dir.c_str(),
              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      open_errno = errno;
    } else {
      walked = true;
      Walk(fd, &result);
    }
  }
  auto end = [&fd](int status) {
    if (fd >= 0) close(fd);
    return status;
  };
  std::string queue_dir;
  if (literal) {
    queue_dir = *literal;
  } else if (int status = FinishQueueDirectory(&pc, &queue_dir); status >= 0) {
    return end(status);
  }
  struct stat want {};
  if (stat(queue_dir.c_str(), &want) != 0) {
    int e = errno;
    return end(
        Fail(1, "queue_directory " + queue_dir + ": " + std::strerror(e)));
  }
  if (!args.wanted_dir.empty()) {
    if (int status = CheckSameDirectory(fd, open_errno, args.wanted_dir,
                                        queue_dir, want);
        status >= 0)
      return end(status);
  }
  if (!walked) {
    if (fd < 0) {
      fd = open(queue_dir.c_str(),
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) {
        return Fail(
            1, "queue_directory " + queue_dir + ": " + std::strerror(errno));
      }
    }
    Walk(fd, &result);
  }
  return Print(fd, queue_dir, result);
}
