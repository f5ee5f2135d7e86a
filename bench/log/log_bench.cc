// bench_log FILE [RULES]: reads FILE from the beginning with the log
// collector's own reader and parser (FileReader + LineProcessor, the code
// the follower thread runs), on the calling thread only, and prints
//   lines=N seconds=S cpu_seconds=C lines_per_second=L peak_rss_kib=R
//   sent=... deferred=... bounced=... expired=... rejects=... unsupported=...
// RULES (default 0) adds that many user rules (cycling through a list of
// realistic patterns, some with a process filter) to measure their cost.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "collectors/log/log_parser.h"
#include "collectors/log/log_source.h"

namespace {

using mailhealth::log::DeliveryStatus;

const char* const kPatterns[][2] = {
    {"blocked using zen\\.spamhaus\\.org", "smtpd"},
    {"SASL (LOGIN|PLAIN) authentication failed", "smtpd"},
    {"status=deferred \\(connect to [^ ]+: Connection timed out", "smtp"},
    {"relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:10024", ""},
    {"Relay access denied", ""},
    {"to=<[^>]*@gmail\\.com>", ""},
    {"said: 5\\d\\d ", "smtp"},
    {"TLSv1\\.[0-2] with cipher", ""},
    {"does not resolve to address", "smtpd"},
    {"improper command pipelining", "smtpd"},
    {"milter-reject", "cleanup"},
    {"^warning: header Subject", "cleanup"},
    {"Mailbox full|over quota", ""},
    {"queue active", "qmgr"},
    {"PREGREET \\d+ after", "postscreen"},
    {"status=bounced", ""},
    {"disconnect from .* commands=\\d+/\\d+", "smtpd"},
    {"opendkim", ""},
    {"delivered to maildir", "local"},
    {"Greylisted", ""},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_log FILE [RULES]\n");
    return 2;
  }
  int nrules = argc > 2 ? std::atoi(argv[2]) : 0;
  std::vector<mailhealth::log::Rule> rules;
  const int npat = static_cast<int>(sizeof kPatterns / sizeof kPatterns[0]);
  for (int i = 0; i < nrules; ++i) {
    rules.push_back({"rule" + std::to_string(i), kPatterns[i % npat][0],
                     kPatterns[i % npat][1]});
  }
  mailhealth::log::LineProcessor lp(rules, {});
  mailhealth::log::FollowerState state;
  mailhealth::log::FileReader reader(argv[1], true, &lp, &state);

  auto t0 = std::chrono::steady_clock::now();
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  reader.Poll();
  auto t1 = std::chrono::steady_clock::now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  double cpu =
      tv(ru.ru_utime) + tv(ru.ru_stime) - tv(ru0.ru_utime) - tv(ru0.ru_stime);
  double secs = std::chrono::duration<double>(t1 - t0).count();
  if (!state.error.empty()) {
    std::fprintf(stderr, "bench_log: %s\n", state.error.c_str());
    return 1;
  }
  const auto& c = state.counters;
  const mailhealth::log::InstanceCounters total = c.Total();
  auto del = [&](DeliveryStatus s) {
    uint64_t n = 0;
    for (const auto& t : total.deliveries) n += t[static_cast<size_t>(s)];
    return static_cast<unsigned long long>(n);
  };
  unsigned long long rejects = 0, matches = 0;
  for (const auto& s : total.rejects)
    for (auto v : s) rejects += v;
  for (auto v : c.rule_matches) matches += v;
  std::printf(
      "lines=%llu seconds=%.3f cpu_seconds=%.3f lines_per_second=%.0f "
      "peak_rss_kib=%ld rules=%d\n"
      "sent=%llu deferred=%llu bounced=%llu expired=%llu rejects=%llu "
      "foreign=%llu unsupported=%llu rule_matches=%llu\n",
      static_cast<unsigned long long>(c.lines), secs, cpu,
      secs > 0 ? static_cast<double>(c.lines) / secs : 0.0, ru.ru_maxrss,
      nrules, del(DeliveryStatus::kSent), del(DeliveryStatus::kDeferred),
      del(DeliveryStatus::kBounced), del(DeliveryStatus::kExpired), rejects,
      static_cast<unsigned long long>(c.foreign),
      static_cast<unsigned long long>(c.unsupported), matches);
  return 0;
}
