#include "collectors/dns/dns_check.h"

#include <algorithm>
#include <set>

namespace mailhealth::dns {

std::vector<std::string> CheckedExchanges(const std::vector<MxRecord>& mx) {
  std::vector<MxRecord> sorted = mx;
  std::sort(sorted.begin(), sorted.end(),
            [](const MxRecord& a, const MxRecord& b) {
              return a.preference != b.preference ? a.preference < b.preference
                                                  : a.exchange < b.exchange;
            });
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& r : sorted) {
    if (out.size() >= kMaxExchangesPerDomain) break;
    if (r.exchange == "." || !seen.insert(r.exchange).second) continue;
    out.push_back(r.exchange);
  }
  return out;
}

DnsBatchOptions CollectorBatchOptions(Millis timeout) {
  DnsBatchOptions o;
  o.try_timeout = std::max(Millis(50), timeout / 5);
  o.tries = 2;
  o.failover = false;
  return o;
}

Result<DnsRunResult> RunDnsChecks(const DnsConfig& config,
                                  Clock::time_point deadline) {
  std::vector<std::vector<ResolverAddress>> slots;
  if (config.resolvers.empty()) {
    slots.push_back({});  // the system's resolvers
  } else {
    for (const auto& r : config.resolvers) slots.push_back({r});
  }
  auto batch_or =
      DnsBatch::Create(slots, CollectorBatchOptions(config.timeout));
  if (!batch_or.ok()) return batch_or.status();
  DnsBatch& batch = **batch_or;

  DnsRunResult run;
  run.results.assign(config.domains.size(),
                     std::vector<DomainResolverResult>(slots.size()));
  for (size_t d = 0; d < config.domains.size(); ++d) {
    const DnsDomainConfig& dom = config.domains[d];
    for (size_t r = 0; r < slots.size(); ++r) {
      DomainResolverResult& res = run.results[d][r];
      auto lookup_host = [&batch, &res, r](const std::string& host) {
        HostLookups& h = res.hosts[host];  // map nodes stay put
        batch.Query(r, host, kTypeA, [&h](const LookupResult& l) { h.a = l; });
        batch.Query(r, host, kTypeAaaa,
                    [&h](const LookupResult& l) { h.aaaa = l; });
      };
      batch.Query(r, dom.name, kTypeMx,
                  [&res, &dom, lookup_host](const LookupResult& l) {
                    res.mx = l;
                    std::set<std::string> hosts;
                    if (l.answered) {
                      for (auto& ex : CheckedExchanges(l.answer.mx)) {
                        hosts.insert(std::move(ex));
                      }
                    }
                    for (const auto& [h, ips] : dom.expect_addresses) {
                      if (!(dom.check_domain_addresses && h == dom.name)) {
                        hosts.insert(h);
                      }
                    }
                    for (const auto& h : hosts) lookup_host(h);
                  });
      if (dom.check_domain_addresses) {
        batch.Query(r, dom.name, kTypeA,
                    [&res](const LookupResult& l) { res.domain_a = l; });
        batch.Query(r, dom.name, kTypeAaaa,
                    [&res](const LookupResult& l) { res.domain_aaaa = l; });
      }
    }
  }
  batch.Run(deadline);
  return run;
}

}  // namespace mailhealth::dns
