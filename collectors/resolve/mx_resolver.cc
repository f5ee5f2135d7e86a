#include "collectors/resolve/mx_resolver.h"

#include <algorithm>
#include <set>

#include "collectors/resolve/dns_client.h"
#include "collectors/resolve/resolver_address.h"

namespace mailhealth {
namespace {

constexpr size_t kMaxMxHosts = 32;

// One slot holding every resolver: c-ares tries them in order and moves
// on when one times out or answers SERVFAIL/REFUSED.
Result<std::unique_ptr<DnsBatch>> MakeBatch(
    const std::vector<std::string>& resolvers, Clock::time_point deadline) {
  auto addrs = ParseResolverAddresses(resolvers);
  if (!addrs.ok()) return addrs.status();
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
  DnsBatchOptions o;
  const int n = static_cast<int>(std::max<size_t>(1, addrs->size()));
  // Each server gets one try within the first half of the time left; the
  // second round (doubled) is cut off by the deadline if need be.
  o.try_timeout = std::max(Millis(50), left / (2 * n));
  o.tries = 2;
  o.failover = true;
  return DnsBatch::Create({*addrs}, o);
}

std::string Describe(const LookupResult& l) {
  std::string s = DnsStatusName(l.status);
  if (!l.error.empty() && l.status != DnsStatus::kTimeout)
    s += " (" + l.error + ")";
  return s;
}

// Queues A and AAAA of `host`; results are appended to *out.
void QueueAddresses(DnsBatch& batch, const std::string& host,
                    std::vector<std::string>* out,
                    std::vector<LookupResult>* results) {
  for (uint16_t qtype : {kTypeA, kTypeAaaa}) {
    batch.Query(0, host, qtype, [out, results](const LookupResult& l) {
      results->push_back(l);
      if (l.answered && l.status == DnsStatus::kNoError) {
        out->insert(out->end(), l.answer.addresses.begin(),
                    l.answer.addresses.end());
      }
    });
  }
}

// IPv4 before IPv6, each in answer order, without duplicates (the A and
// AAAA replies may arrive in either order).
void Dedup(std::vector<std::string>* v) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (auto& a : *v) {
    if (seen.insert(a).second) out.push_back(a);
  }
  std::stable_partition(out.begin(), out.end(), [](const std::string& a) {
    return a.find(':') == std::string::npos;
  });
  *v = std::move(out);
}

}  // namespace

MxResolution ResolveMx(const std::string& domain,
                       const std::vector<std::string>& resolvers,
                       Clock::time_point deadline) {
  MxResolution res;
  auto batch_or = MakeBatch(resolvers, deadline);
  if (!batch_or.ok()) {
    res.status = batch_or.status();
    return res;
  }
  DnsBatch& batch = **batch_or;
  const std::string name = NormalizeName(domain);
  LookupResult mx;
  std::vector<LookupResult> addr_results;
  bool implicit = false;
  // hosts_ is filled in the MX callback; address vectors must not move
  // while queries run, so reserve up front.
  res.hosts.reserve(kMaxMxHosts);
  batch.Query(0, name, kTypeMx, [&](const LookupResult& l) {
    mx = l;
    if (!l.answered || l.status != DnsStatus::kNoError) return;
    if (l.answer.mx.size() == 1 && l.answer.mx[0].exchange == ".") {
      res.null_mx = true;
      return;
    }
    std::vector<MxRecord> records = l.answer.mx;
    std::sort(records.begin(), records.end(),
              [](const MxRecord& a, const MxRecord& b) {
                return a.preference != b.preference
                           ? a.preference < b.preference
                           : a.exchange < b.exchange;
              });
    if (records.empty()) {
      implicit = true;  // RFC 5321 5.1: no MX, the domain itself is the host
      records.push_back({0, name});
    }
    std::set<std::string> seen;
    for (const auto& r : records) {
      if (r.exchange == "." || !seen.insert(r.exchange).second) continue;
      if (res.hosts.size() >= kMaxMxHosts) break;
      res.hosts.push_back({r.exchange, r.preference, {}});
    }
    for (auto& h : res.hosts) {
      QueueAddresses(batch, h.exchange, &h.addresses, &addr_results);
    }
  });
  batch.Run(deadline);
  for (auto& h : res.hosts) Dedup(&h.addresses);
  if (!mx.answered || mx.status != DnsStatus::kNoError) {
    res.status =
        Status::Error("MX lookup of " + name + " failed: " + Describe(mx));
    res.hosts.clear();
    return res;
  }
  if (implicit && res.hosts.size() == 1 && res.hosts[0].addresses.empty()) {
    std::string why = "no MX and no address";
    for (const auto& l : addr_results) {
      if (l.status != DnsStatus::kNoError) why = Describe(l);
    }
    res.status =
        Status::Error("MX lookup of " + name +
                      ": no MX records and the implicit MX failed: " + why);
    res.hosts.clear();
  }
  return res;
}

Result<std::vector<std::string>> ResolveHost(
    const std::string& host, const std::vector<std::string>& resolvers,
    Clock::time_point deadline) {
  std::string literal = CanonicalIp(host);
  if (!literal.empty()) return std::vector<std::string>{literal};
  auto batch_or = MakeBatch(resolvers, deadline);
  if (!batch_or.ok()) return batch_or.status();
  std::vector<std::string> addrs;
  std::vector<LookupResult> results;
  QueueAddresses(**batch_or, NormalizeName(host), &addrs, &results);
  (*batch_or)->Run(deadline);
  Dedup(&addrs);
  if (!addrs.empty()) return addrs;
  std::string why = "no A or AAAA records";
  for (const auto& l : results) {
    if (l.status != DnsStatus::kNoError) {
      why = Describe(l);
      break;
    }
  }
  return Status::Error("cannot resolve " + host + ": " + why);
}

}  // namespace mailhealth
