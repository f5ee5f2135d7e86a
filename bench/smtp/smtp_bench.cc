// bench/smtp: one smtp collector run over 200 loopback targets, a mix of
// the test fakes (good, STARTTLS, postscreen-style slow greeting, 554,
// refused, tarpit, blackhole). Prints the wall time of the run, the sum of
// the single probe durations, and the peak RSS of this process. Not a test:
// the figures go into docs/smtp.md.
//
// The fakes run in a forked child so that their threads and buffers do not
// count in this process's RSS.
//
//   bench_smtp [TIMEOUT_MS]     (default 3000)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/smtp/smtp_collector.h"
#include "tests/smtp/fake_smtp_server.h"

namespace mh = mailhealth;
namespace mt = mailhealth::testing;
using namespace std::chrono_literals;

namespace {

struct Kind {
  const char* name;
  int count;
};
// 200 targets in all.
constexpr Kind kMix[] = {
    {"good", 50},    {"starttls", 40}, {"postscreen", 30}, {"reject554", 15},
    {"refused", 20}, {"tarpit", 30},   {"blackhole", 15}};

// Child: starts the fakes, writes "kind port\n" lines to `out`, then waits
// until the parent closes `in`.
[[noreturn]] void RunFakes(int out, int in) {
  mt::TestCert cert = mt::MakeTestCert("mx.bench.test", -3600, 86400);
  mt::SslCtxPtr ctx = mt::MakeServerCtx(cert);
  std::vector<std::unique_ptr<mt::FakeSmtpServer>> servers;
  std::vector<std::unique_ptr<mt::Blackhole>> holes;
  std::string lines;
  for (const Kind& k : kMix) {
    for (int i = 0; i < k.count; ++i) {
      std::string kind = k.name;
      uint16_t port = 0;
      if (kind == "refused") {
        port = mt::ClosedPort();
      } else if (kind == "blackhole") {
        holes.push_back(std::make_unique<mt::Blackhole>());
        port = holes.back()->port();
      } else {
        mt::FakeSmtpServer::Script script;
        mt::GoodServerOptions o;
        if (kind == "starttls") o.tls = ctx.get();
        if (kind == "postscreen") {
          o.banner_lines = {"220-bench.test ESMTP", "220 bench.test ESMTP"};
          o.line_delay = 300ms;
        }
        if (kind == "reject554")
          o.banner_lines = {"554 5.7.1 No SMTP service here"};
        if (kind == "tarpit") {
          script = [](mt::FakeConn& c) { c.Hold(); };
        } else {
          script = mt::GoodServer(o);
        }
        servers.push_back(std::make_unique<mt::FakeSmtpServer>(script));
        port = servers.back()->port();
      }
      lines += kind + " " + std::to_string(port) + "\n";
    }
  }
  lines += "end 0\n";
  if (write(out, lines.data(), lines.size()) < 0) _exit(1);
  close(out);
  char c;
  while (read(in, &c, 1) > 0) {
  }
  servers.clear();
  holes.clear();
  _exit(0);
}

// The fakes' "KIND PORT" lines, up to "end", as targets on 127.0.0.1 (one
// distinct target string each), their kinds in KINDS; false on a bad line.
bool ReadTargets(const std::string& text, mh::smtp::SmtpConfig* cfg,
                 std::vector<std::string>* kinds) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t sp = line.find(' ');
    std::string kind = line.substr(0, sp);
    if (kind == "end") break;
    auto t = mh::smtp::ParseSmtpTarget("127.0.0.1:" + line.substr(sp + 1));
    if (!t.ok()) return false;
    cfg->targets.push_back(*t);
    kinds->push_back(kind);
  }
  return true;
}

// One run's line (and its failure reasons); the number of targets probed.
int ReportRun(const char* run, const mh::CollectResult& r, long timeout_ms,
              double wall) {
  double sum = 0, slowest = 0;
  int ok = 0, total = 0;
  std::map<std::string, int> reasons;
  for (const auto& f : r.families) {
    for (const auto& m : f.metric) {
      if (f.name == "mailhealth_smtp_probe_duration_seconds") {
        sum += m.gauge.value;
        slowest = std::max(slowest, m.gauge.value);
      }
      if (f.name == "mailhealth_smtp_failure" && m.gauge.value == 1) {
        ++reasons[m.label.back().value];
      }
      if (f.name == "mailhealth_smtp_probe_success") {
        ++total;
        ok += m.gauge.value == 1 ? 1 : 0;
      }
    }
  }
  std::printf(
      "%s run: targets %d (succeeded %d), timeout %ld ms, wall %.3f s, "
      "slowest probe %.3f s, sum of probe durations %.3f s\n",
      run, total, ok, timeout_ms, wall, slowest, sum);
  for (const auto& [reason, count] : reasons)
    std::printf("  %s: %d\n", reason.c_str(), count);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const long timeout_ms = argc > 1 ? std::atol(argv[1]) : 3000;
  int to_parent[2], to_child[2];
  if (pipe(to_parent) != 0 || pipe(to_child) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    RunFakes(to_parent[1], to_child[0]);
  }
  close(to_parent[1]);
  close(to_child[0]);

  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(to_parent[0], buf, sizeof buf)) > 0)
    text.append(buf, static_cast<size_t>(n));
  close(to_parent[0]);

  mh::smtp::SmtpConfig cfg;
  cfg.helo = "bench.mailhealth.test";
  std::vector<std::string> kinds;
  if (!ReadTargets(text, &cfg, &kinds)) return 1;

  // Two runs: the first loads the system CA bundle (cached afterwards, as
  // in the exporter, where every later run is a warm one).
  auto collector = mh::smtp::MakeSmtpCollector(cfg, mh::Millis(60000));
  int total = 0;
  for (const char* run : {"cold", "warm"}) {
    const auto t0 = mh::Clock::now();
    mh::CollectResult r =
        collector->Collect(t0 + std::chrono::milliseconds(timeout_ms));
    total = ReportRun(run, r, timeout_ms, mh::Seconds(mh::Clock::now() - t0));
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS: %.1f MiB\n",
              static_cast<double>(ru.ru_maxrss) / 1024.0);

  close(to_child[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::printf("fake peers died (status %d): figures above are wrong\n",
                status);
    return 1;
  }
  return total == static_cast<int>(cfg.targets.size()) ? 0 : 1;
}
