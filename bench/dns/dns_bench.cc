// bench_dns: one dns collector run over 300 domains x 3 resolvers on
// 127.0.0.1 (two BIND instances serving the same data, one socket that
// never answers), repeated; prints wall time, CPU time and peak RSS.
//
//   bench_dns [runs=5] [timeout_ms=5000]
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_metrics.h"
#include "tests/testutil/dns_server.h"

namespace {

using mailhealth::Clock;
using mailhealth::Millis;
constexpr int kDomains = 300;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long PeakRssKib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Counts lookups in the run's families (mailhealth_dns_lookup_duration +
// mx_host_addresses series = queries that produced a row).
size_t Rows(const mailhealth::Families& fs, const char* name) {
  for (const auto& f : fs) {
    if (f.name == name) return f.metric.size();
  }
  return 0;
}

// Each domain with two MX hosts, each with an A and an AAAA record.
std::string BenchZone() {
  std::string zone;
  for (int i = 0; i < kDomains; ++i) {
    const std::string d = "d" + std::to_string(i);
    zone += d + " IN MX 10 mx1." + d + "\n" + d + " IN MX 20 mx2." + d + "\n";
    for (int m = 1; m <= 2; ++m) {
      const std::string h = "mx" + std::to_string(m) + "." + d;
      zone += h + " IN A 127.2." + std::to_string(i / 250) + "." +
              std::to_string(i % 250 + m) + "\n";
      zone += h + " IN AAAA fd00::" + std::to_string(i) + ":" +
              std::to_string(m) + "\n";
    }
  }
  return zone;
}

// A bound UDP socket nobody reads, and its address in ADDR.
int SilentResolver(std::string* addr) {
  int silent = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &sl);
  *addr = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  return silent;
}

std::unique_ptr<mailhealth::Collector> MakeCollector(
    const std::vector<std::string>& resolvers, Millis timeout) {
  std::string yaml = "resolvers: [";
  for (size_t i = 0; i < resolvers.size(); ++i) {
    yaml += (i ? ", \"" : "\"") + resolvers[i] + "\"";
  }
  yaml += "]\ndomains:\n";
  for (int i = 0; i < kDomains; ++i) {
    yaml += "  - {name: d" + std::to_string(i) +
            ".bench.test, expect_mx: [\"10 mx1.d" + std::to_string(i) +
            ".bench.test\", \"20 mx2.d" + std::to_string(i) +
            ".bench.test\"]}\n";
  }
  mailhealth::ConfigErrors errors;
  mailhealth::ConfigNode node(YAML::Load(yaml), "collectors.dns", "bench",
                              &errors);
  mailhealth::CollectorContext ctx{"dns", {true, Millis(60000), timeout}};
  auto c = mailhealth::dns::DnsCollectorInfo().factory(ctx, node);
  if (!c) std::fprintf(stderr, "config: %s\n", errors.Joined().c_str());
  return c;
}

struct Setup {
  const char* name;
  std::vector<std::string> resolvers;
};

// RUNS runs of one setup, a line each and the medians.
bool RunSetup(const Setup& s, int runs, Millis timeout) {
  auto collector = MakeCollector(s.resolvers, timeout);
  if (!collector) return false;
  std::vector<double> walls, cpus;
  size_t queries = 0;
  for (int r = 0; r < runs; ++r) {
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    auto res = collector->Collect(t0 + timeout);
    const double wall =
        std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = CpuSeconds() - cpu0;
    // Queries sent: one MX per domain and resolver, plus A and AAAA of
    // every MX host the answer named.
    queries = Rows(res.families, mailhealth::dns::kDnsLookupDuration) +
              Rows(res.families, mailhealth::dns::kDnsMxHostAddresses);
    size_t matched = 0;
    for (const auto& f : res.families) {
      if (f.name != mailhealth::dns::kDnsMxMatchesExpected) continue;
      for (const auto& m : f.metric) matched += m.gauge.value == 1;
    }
    walls.push_back(wall);
    cpus.push_back(cpu);
    std::printf(
        "  %-26s run %d: wall %.3f s, cpu %.3f s, %zu queries, "
        "%.1f us cpu/query, %zu/%zu domain-resolver pairs match\n",
        s.name, r + 1, wall, cpu, queries, cpu * 1e6 / queries, matched,
        s.resolvers.size() * kDomains);
  }
  std::printf("%s: median wall %.3f s, median cpu %.3f s (%.1f us/query)\n",
              s.name, Median(walls), Median(cpus),
              Median(cpus) * 1e6 / queries);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const Millis timeout(argc > 2 ? std::atoi(argv[2]) : 5000);

  std::vector<mailhealth::testing::TestZone> zones = {
      {"bench.test", BenchZone()}};
  auto fa = std::async(std::launch::async, [&] {
    return mailhealth::testing::DnsServer::Start(zones);
  });
  auto b = mailhealth::testing::DnsServer::Start(zones);
  auto a = fa.get();
  if (!a || !b) {
    std::fprintf(stderr, "named did not start: %s\n",
                 mailhealth::testing::DnsServer::last_error().c_str());
    return 1;
  }
  std::string silent_addr;
  const int silent = SilentResolver(&silent_addr);

  std::printf("bench_dns: %d domains, timeout %lld ms, %d runs per setup\n",
              kDomains, static_cast<long long>(timeout.count()), runs);
  for (const Setup& s :
       {Setup{"3 resolvers (1 silent)",
              {a->resolver(), b->resolver(), silent_addr}},
        Setup{"2 resolvers (both answer)", {a->resolver(), b->resolver()}}}) {
    if (!RunSetup(s, runs, timeout)) return 1;
  }
  std::printf("peak RSS %.1f MiB\n", PeakRssKib() / 1024.0);
  close(silent);
  return 0;
}
