#include "collectors/queue/spool_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace mailhealth {
namespace {

constexpr int kMaxHashDepth = 16;

// An owned directory stream.
class Dir {
 public:
  explicit Dir(DIR* d) : d_(d) {}
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir() {
    if (d_ != nullptr) closedir(d_);
  }
  DIR* get() const { return d_; }

 private:
  DIR* d_;
};

// Opens NAME below DIRFD as a directory stream, following no symlink.
// nullptr with errno set on failure.
DIR* OpenDirAt(int dirfd, const char* name) {
  int fd = openat(dirfd, name,
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return nullptr;
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    close(fd);
    errno = e;
  }
  return d;
}

bool IsHashDirName(const char* n) {
  return n[0] != '\0' && n[1] == '\0' &&
         ((n[0] >= '0' && n[0] <= '9') || (n[0] >= 'A' && n[0] <= 'Z') ||
          (n[0] >= 'a' && n[0] <= 'z'));
}

// A hash directory of the first level, opened, left for a worker thread.
struct Task {
  size_t queue;
  int fd;
  std::string where;
};

struct Walker {
  int max_depth;
  SpoolWalkResult* result;
  const SpoolWalkHooks* hooks;
  std::vector<Task>* tasks = nullptr;  // set: first-level hash dirs go here
  size_t queue = 0;

  // Walks one open directory at `depth` (0 = the queue directory itself).
  // False with result->error on a read error of a directory.
  bool Walk(DIR* d, int depth, SpoolQueueCounts& q, const std::string& where) {
    int dfd = dirfd(d);
    while (true) {
      errno = 0;
      dirent* e = readdir(d);
      if (e == nullptr) {
        if (errno != 0) {
          result->error = where + ": " + std::strerror(errno);
          return false;
        }
        return true;
      }
      const char* name = e->d_name;
      if (name[0] == '.' &&
          (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        continue;
      }
      if (e->d_type == DT_DIR) {
        if (!Descend(dfd, name, depth, q, where)) return false;
        continue;
      }
      if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) {
        ++result->skipped;  // symlink, fifo, socket...: never followed
        continue;
      }
      if (hooks != nullptr && hooks->before_stat) hooks->before_stat(dfd, name);
      struct statx st {};
      if (statx(
              dfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
              STATX_TYPE | STATX_SIZE | STATX_MTIME | STATX_CTIME | STATX_BTIME,
              &st) != 0) {
        if (errno == ENOENT) {
          ++result->vanished;
          continue;
        }
        result->error = where + "/" + name + ": " + std::strerror(errno);
        return false;
      }
      if (S_ISDIR(st.stx_mode)) {  // DT_UNKNOWN file systems
        if (!Descend(dfd, name, depth, q, where)) return false;
        continue;
      }
      if (!S_ISREG(st.stx_mode)) {
        ++result->skipped;
        continue;
      }
      int64_t when;
      if ((st.stx_mask & STATX_BTIME) != 0 && st.stx_btime.tv_sec > 0) {
        when = st.stx_btime.tv_sec;
      } else {
        result->all_btime = false;
        when = std::min<int64_t>(st.stx_mtime.tv_sec, st.stx_ctime.tv_sec);
      }
      ++q.files;
      q.bytes += st.stx_size;
      if (q.oldest == 0 || when < q.oldest) q.oldest = when;
    }
  }

  bool Descend(int dfd, const char* name, int depth, SpoolQueueCounts& q,
               const std::string& where) {
    if (depth >= max_depth || !IsHashDirName(name)) {
      ++result->skipped;  // not a hash directory of this queue
      return true;
    }
    if (depth == 0 && tasks != nullptr) {
      int fd =
          openat(dfd, name,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
      if (fd >= 0) {
        tasks->push_back({queue, fd, where + "/" + name});
        return true;
      }
      // errno as from OpenDirAt: handled below.
    }
    Dir sub(depth == 0 && tasks != nullptr ? nullptr : OpenDirAt(dfd, name));
    if (sub.get() == nullptr) {
      if (errno == ENOENT) {
        ++result->vanished;
        return true;
      }
      if (errno == ELOOP || errno == ENOTDIR) {  // replaced by a symlink
        ++result->skipped;
        return true;
      }
      result->error = where + "/" + name + ": " + std::strerror(errno);
      return false;
    }
    return Walk(sub.get(), depth + 1, q, where + "/" + name);
  }
};

void CloseTasks(std::vector<Task>* tasks) {
  for (Task& t : *tasks) {
    if (t.fd >= 0) close(t.fd);
    t.fd = -1;
  }
}

// One thread's counts P added to RESULT (its first error kept).
void MergePart(const SpoolWalkResult& p, SpoolWalkResult* result) {
  if (!p.error.empty() && result->error.empty()) result->error = p.error;
  result->skipped += p.skipped;
  result->vanished += p.vanished;
  result->all_btime = result->all_btime && p.all_btime;
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    SpoolQueueCounts& q = result->queues[i];
    const SpoolQueueCounts& c = p.queues[i];
    q.files += c.files;
    q.bytes += c.bytes;
    if (c.oldest != 0 && (q.oldest == 0 || c.oldest < q.oldest)) {
      q.oldest = c.oldest;
    }
  }
}

// The first-level hash directories TASKS, shared out among THREADS
// threads: each keeps its own counts, merged into RESULT (statx dominates
// the walk, and it runs in parallel). Closes every task's descriptor.
void WalkTasks(std::vector<Task>* tasks, int threads, int hash_depth,
               const SpoolWalkHooks* hooks, SpoolWalkResult* result) {
  std::atomic<size_t> next{0};
  std::vector<SpoolWalkResult> part(static_cast<size_t>(threads));
  auto work = [&](SpoolWalkResult* r) {
    Walker tw{hash_depth, r, hooks};
    while (true) {
      size_t k = next.fetch_add(1);
      if (k >= tasks->size()) return;
      Task& t = (*tasks)[k];
      DIR* dir = fdopendir(t.fd);
      if (dir == nullptr) {
        if (r->error.empty()) r->error = t.where + ": " + std::strerror(errno);
        continue;
      }
      t.fd = -1;  // owned by the stream now
      Dir sub(dir);
      if (r->error.empty()) {
        tw.Walk(sub.get(), 1, r->queues[t.queue], t.where);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int k = 1; k < threads; ++k) pool.emplace_back(work, &part[k]);
  work(&part[0]);
  for (auto& th : pool) th.join();
  CloseTasks(tasks);
  for (const SpoolWalkResult& r : part) MergePart(r, result);
}

// Postfix creates every queue directory; without these two it is not a
// queue directory at all (a wrong queue_directory), not an empty queue.
bool HasRequiredQueues(SpoolWalkResult* result) {
  for (const char* required : {"active", "deferred"}) {
    for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
      if (kSpoolQueues[i] == required && result->queues[i].missing) {
        result->error = std::string(required) +
                        ": No such directory (not a Postfix queue directory)";
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool WalkSpool(int queue_dir_fd, int hash_depth, SpoolWalkResult* result,
               const SpoolWalkHooks* hooks, int threads) {
  *result = SpoolWalkResult{};
  if (hash_depth < 0) hash_depth = 0;
  if (hash_depth > kMaxHashDepth) hash_depth = kMaxHashDepth;
  std::vector<Task> tasks;
  Walker w{hash_depth, result, hooks};
  if (threads > 1) w.tasks = &tasks;
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    std::string name(kSpoolQueues[i]);
    SpoolQueueCounts& q = result->queues[i];
    w.queue = i;
    Dir d(OpenDirAt(queue_dir_fd, name.c_str()));
    if (d.get() == nullptr) {
      if (errno == ENOENT) {
        q.missing = true;
        continue;
      }
      result->error = name + ": " + std::strerror(errno);
      CloseTasks(&tasks);
      return false;
    }
    if (!w.Walk(d.get(), 0, q, name)) {
      CloseTasks(&tasks);
      return false;
    }
  }
  if (!tasks.empty()) {
    WalkTasks(&tasks, threads, hash_depth, hooks, result);
    if (!result->error.empty()) return false;
  }
  return HasRequiredQueues(result);
}

int64_t ReadMasterPid(int queue_dir_fd) {
  int dfd = openat(queue_dir_fd, "pid",
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return -1;
  int fd = openat(dfd, "master.pid",
                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  close(dfd);
  if (fd < 0) return -1;
  char buf[33];
  ssize_t n = read(fd, buf, 32);
  close(fd);
  if (n <= 0) return -1;
  int64_t pid = 0;
  ssize_t i = 0;
  while (i < n && buf[i] == ' ') ++i;
  ssize_t digits = 0;
  for (; i < n && buf[i] >= '0' && buf[i] <= '9' && digits < 10; ++i, ++digits)
    pid = pid * 10 + (buf[i] - '0');
  return digits == 0 ? -1 : pid;
}

std::string FormatSpoolStat(const SpoolWalkResult& r,
                            std::string_view queue_directory) {
  std::string out = "mailhealth-spool-stat 1\nqueue_directory ";
  out.append(queue_directory);
  out += '\n';
  for (size_t i = 0; i < kSpoolQueues.size(); ++i) {
    const SpoolQueueCounts& q = r.queues[i];
    out += "queue ";
    out.append(kSpoolQueues[i]);
    out += ' ' + std::to_string(q.files) + ' ' + std::to_string(q.bytes) + ' ' +
           std::to_string(q.oldest) + '\n';
  }
  out += "skipped " + std::to_string(r.skipped) + '\n';
  out += "vanished " + std::to_string(r.vanished) + '\n';
  out += r.all_btime ? "time btime\n" : "time ctime\n";
  if (r.master_pid >= 0) {
    out += "master_pid " + std::to_string(r.master_pid) + '\n';
  }
  out += "end\n";
  return out;
}

}  // namespace mailhealth
