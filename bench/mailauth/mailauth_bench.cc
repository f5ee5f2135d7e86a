// bench_mailauth: one mailauth collector run over 50 domains, each with an
// SPF policy of 6 DNS-querying terms (a, mx, an include of a provider that
// includes two more, exists with a macro), 2 sending addresses, 2 DKIM
// selectors, DMARC and TLS-RPT, on one BIND on 127.0.0.1, inside the
// default 30 s timeout; then pyspf (python3-spf, what a script would use)
// checking the same 100 (address, domain) pairs one after another.
//
//   bench_mailauth [runs=3]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "collectors/mailauth/mailauth_collector.h"
#include "tests/testutil/dns_server.h"

namespace {

using mailhealth::Clock;
using mailhealth::Millis;
namespace ma = mailhealth::mailauth;
constexpr int kDomains = 50;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Domain(int i) { return "d" + std::to_string(i) + ".bench.test"; }
std::string Addr(int i, int k) {
  return "198.18." + std::to_string(i) + "." + std::to_string(k + 1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The zone: 50 domains with SPF of 6 lookups, DKIM, DMARC and TLS-RPT.
std::string BenchZone() {
  std::string z;
  z += "_spf.provider TXT \"v=spf1 include:a._spf.provider.bench.test "
       "include:b._spf.provider.bench.test ~all\"\n";
  z += "a._spf.provider TXT \"v=spf1 ip4:203.0.113.0/25 -all\"\n";
  z += "b._spf.provider TXT \"v=spf1 ip4:203.0.113.128/25 -all\"\n";
  for (int i = 0; i < kDomains; ++i) {
    const std::string d = "d" + std::to_string(i);  // relative to bench.test
    z += d +
         " TXT \"v=spf1 a mx include:_spf.provider.bench.test "
         "exists:%{i}._allow.%{d} -all\"\n";
    z += d + " A " + Addr(i, 0) + "\n";
    z += d + " MX 10 mx." + d + ".bench.test.\n";
    z += "mx." + d + " A " + Addr(i, 1) + "\n";
    for (const char* s : {"s1", "s2"})
      z += std::string(s) + "._domainkey." + d +
           " TXT \"v=DKIM1; k=ed25519; "
           "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"\n";
    z += "_dmarc." + d + " TXT \"v=DMARC1; p=reject; rua=mailto:r@" + d +
         ".bench.test\"\n";
    z += "_smtp._tls." + d + " TXT \"v=TLSRPTv1; rua=mailto:t@" + d +
         ".bench.test\"\n";
  }
  return z;
}

ma::MailauthConfig BenchConfig(const std::string& resolver) {
  ma::MailauthConfig cfg;
  cfg.resolvers = {*mailhealth::ParseResolverAddress(resolver)};
  for (int i = 0; i < kDomains; ++i) {
    ma::DomainConfig d;
    d.name = Domain(i);
    d.sending_addresses = {Addr(i, 0), Addr(i, 9)};  // pass, fail
    d.dkim_selectors = {{"s1", ""}, {"s2", ""}};
    cfg.domains.push_back(d);
  }
  cfg.max_series = 100000;
  return cfg;
}

// What one run found, to hold against what the zone says.
struct Tally {
  size_t pass = 0, fail = 0, lookups6 = 0, dkim = 0, dmarc = 0;
};

Tally Count(const mailhealth::Families& families) {
  Tally t;
  for (const auto& f : families)
    for (const auto& m : f.metric) {
      if (f.name == "mailhealth_spf_result" && m.gauge.value == 1)
        for (const auto& l : m.label) {
          t.pass += l.name == "result" && l.value == "pass";
          t.fail += l.name == "result" && l.value == "fail";
        }
      if (f.name == "mailhealth_spf_dns_lookups")
        t.lookups6 += m.gauge.value == 6;
      if (f.name == "mailhealth_dkim_key_valid") t.dkim += m.gauge.value == 1;
      if (f.name == "mailhealth_dmarc_record_valid")
        t.dmarc += m.gauge.value == 1;
    }
  return t;
}

// pyspf: the same 100 checks, one after another; its wall time, and its
// exit status in RC.
double RunPyspf(const mailhealth::testing::DnsServer& srv,
                const ma::MailauthConfig& cfg, int* rc) {
  const std::string script = srv.dir() + "/pyspf.py";
  {
    std::ofstream s(script);
    s << "import sys, dns.resolver, spf\n"
         "r = dns.resolver.Resolver(configure=False)\n"
         "r.nameservers = ['127.0.0.1']\nr.port = int(sys.argv[1])\n"
         "dns.resolver.default_resolver = r\n"
         "for line in sys.stdin:\n"
         "    ip, d = line.split()\n"
         "    spf.check2(i=ip, s='postmaster@' + d, h=d)\n";
    std::ofstream in(srv.dir() + "/in.txt");
    for (const auto& d : cfg.domains)
      for (const auto& a : d.sending_addresses)
        in << a << " " << d.name << "\n";
  }
  const std::string cmd = "/usr/bin/python3 " + script + " " +
                          std::to_string(srv.port()) + " < " + srv.dir() +
                          "/in.txt";
  const auto pstart = Clock::now();
  *rc = std::system(cmd.c_str());
  return std::chrono::duration<double>(Clock::now() - pstart).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  auto srv =
      mailhealth::testing::DnsServer::Start({{"bench.test", BenchZone()}});
  if (!srv) {
    std::fprintf(stderr, "named: %s\n",
                 mailhealth::testing::DnsServer::last_error().c_str());
    return 1;
  }
  const ma::MailauthConfig cfg = BenchConfig(srv->resolver());

  std::vector<double> walls, cpus;
  Tally t;
  for (int r = 0; r < runs; ++r) {
    auto c = ma::MakeMailauthCollector(cfg);
    const double cpu0 = CpuSeconds();
    const auto start = Clock::now();
    auto res = c->Collect(start + Millis(30000));
    walls.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
    cpus.push_back(CpuSeconds() - cpu0);
    t = Count(res.families);
  }
  int rc = 0;
  const double py_wall = RunPyspf(*srv, cfg, &rc);

  std::printf(
      "mailauth: %d domains (SPF of 6 lookups, 2 addresses each; 2 "
      "DKIM selectors; DMARC; TLS-RPT)\n",
      kDomains);
  std::printf("| tool | wall | CPU |\n|---|---|---|\n");
  std::printf(
      "| mailhealth mailauth run, every check (median of %d) | %.3f s "
      "| %.3f s |\n",
      runs, Median(walls), Median(cpus));
  std::printf("| pyspf, the 100 SPF checks only, sequentially | %.3f s%s | |\n",
              py_wall, rc == 0 ? "" : " (pyspf failed)");
  std::printf(
      "pass=%zu fail=%zu (expected %d each) lookups=6: %zu dkim=%zu "
      "dmarc=%zu (expected %d, %d, %d)\n",
      t.pass, t.fail, kDomains, t.lookups6, t.dkim, t.dmarc, kDomains,
      2 * kDomains, kDomains);
  const bool ok = Median(walls) < 30.0 && t.pass == kDomains &&
                  t.fail == kDomains && t.lookups6 == kDomains &&
                  t.dkim == 2 * kDomains && t.dmarc == kDomains;
  return ok ? 0 : 2;
}
