// bench_reputation: one reputation collector run over 200 addresses x 10
// blocklist zones (plus the 200 PTR lookups and their forward lookups),
// cold cache, on one BIND instance on 127.0.0.1, inside a 10 s timeout;
// then `dig -f` asking the same 2,000 DNSBL questions one after another.
//
//   bench_reputation [runs=3]
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "collectors/reputation/dnsbl.h"
#include "collectors/reputation/reputation_collector.h"
#include "tests/testutil/dns_server.h"

namespace {

using mailhealth::Clock;
using mailhealth::Millis;
namespace rep = mailhealth::reputation;
constexpr int kAddresses = 200;
constexpr int kZones = 10;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Address(int i) {
  return "198.18." + std::to_string(i / 250) + "." +
         std::to_string(i % 250 + 1);
}

// The blocklist zones (each lists every fourth address), the reverse zone
// and the forward zone of the PTR names.
std::vector<mailhealth::testing::TestZone> BenchZones() {
  std::vector<mailhealth::testing::TestZone> zones;
  std::string reverse;
  std::string hosts;
  for (int z = 0; z < kZones; ++z) {
    const std::string zone = "z" + std::to_string(z) + ".bl.test";
    std::string body;
    for (int i = z % 4; i < kAddresses; i += 4) {
      std::string q = rep::DnsblQueryName(Address(i), zone);
      body += q + ". A 127.0.0.2\n";
    }
    zones.push_back({zone, body});
  }
  for (int i = 0; i < kAddresses; ++i) {
    reverse += rep::ReverseName(Address(i)) + ". PTR h" + std::to_string(i) +
               ".hosts.test.\n";
    hosts += "h" + std::to_string(i) + " A " + Address(i) + "\n";
  }
  zones.push_back({"18.198.in-addr.arpa", reverse});
  zones.push_back({"hosts.test", hosts});
  return zones;
}

rep::ReputationConfig BenchConfig(const std::string& resolver) {
  rep::ReputationConfig cfg;
  for (int i = 0; i < kAddresses; ++i) cfg.addresses.push_back(Address(i));
  cfg.resolvers = {*mailhealth::ParseResolverAddress(resolver)};
  for (int z = 0; z < kZones; ++z) {
    rep::ZoneConfig zc;
    zc.name = "z" + std::to_string(z) + ".bl.test";
    zc.listed_codes = rep::DefaultListedCodes();
    zc.error_codes = rep::DefaultErrorCodes();
    cfg.zones.push_back(zc);
  }
  cfg.max_series = 100000;
  return cfg;
}

// What one run found, to hold against what the zones say.
struct Tally {
  size_t listed = 0, timeouts = 0, confirmed = 0;
};

Tally Count(const mailhealth::Families& families) {
  Tally t;
  for (const auto& f : families) {
    for (const auto& m : f.metric) {
      if (f.name == "mailhealth_dnsbl_listed") t.listed += m.gauge.value == 1;
      if (f.name == "mailhealth_reverse_dns_forward_confirmed")
        t.confirmed += m.gauge.value == 1;
      if (f.name != "mailhealth_dnsbl_lookup_status") continue;
      for (const auto& l : m.label)
        t.timeouts +=
            l.name == "status" && l.value == "timeout" && m.gauge.value == 1;
    }
  }
  return t;
}

// dig: the same 2,000 DNSBL questions, one after another; its wall time,
// and its exit status in RC.
double RunDig(const mailhealth::testing::DnsServer& srv,
              const rep::ReputationConfig& cfg, int* rc) {
  const std::string file = srv.dir() + "/queries.txt";
  {
    std::ofstream q(file);
    for (int i = 0; i < kAddresses; ++i)
      for (const auto& z : cfg.zones)
        q << rep::DnsblQueryName(Address(i), z.name) << " A\n";
  }
  const std::string cmd = "dig -p " + std::to_string(srv.port()) +
                          " @127.0.0.1 +tries=1 +time=2 +short -f " + file +
                          " > /dev/null";
  const auto dstart = Clock::now();
  *rc = std::system(cmd.c_str());
  return std::chrono::duration<double>(Clock::now() - dstart).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  auto srv = mailhealth::testing::DnsServer::Start(BenchZones());
  if (!srv) {
    std::fprintf(stderr, "named: %s\n",
                 mailhealth::testing::DnsServer::last_error().c_str());
    return 1;
  }
  const rep::ReputationConfig cfg = BenchConfig(srv->resolver());

  std::vector<double> walls;
  Tally t;
  for (int r = 0; r < runs; ++r) {
    auto c = rep::MakeReputationCollector(cfg);  // cold cache each run
    const auto start = Clock::now();
    auto res = c->Collect(start + Millis(10000));
    walls.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
    t = Count(res.families);
  }
  int rc = 0;
  const double dig_wall = RunDig(*srv, cfg, &rc);

  std::printf("reputation: %d addresses x %d zones (+%d PTR and forward)\n",
              kAddresses, kZones, kAddresses);
  std::printf("| tool | wall |\n|---|---|\n");
  std::printf(
      "| mailhealth reputation run, cold cache (median of %d) | %.3f s |\n",
      runs, Median(walls));
  std::printf("| dig -f, the 2000 DNSBL queries sequentially | %.3f s%s |\n",
              dig_wall, rc == 0 ? "" : " (dig failed)");
  std::printf(
      "listed=%zu (expected %d) timeouts=%zu fcrdns=%zu (expected %d)\n",
      t.listed, kAddresses * kZones / 4, t.timeouts, t.confirmed, kAddresses);
  const bool ok = Median(walls) < 10.0 && t.timeouts == 0 &&
                  t.listed == static_cast<size_t>(kAddresses * kZones / 4) &&
                  t.confirmed == static_cast<size_t>(kAddresses);
  return ok ? 0 : 2;
}
