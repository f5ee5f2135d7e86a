#include "collectors/dns/dns_metrics.h"

#include <algorithm>
#include <map>
#include <set>

#include "exporter/metric_builder.h"

namespace mailhealth::dns {
namespace {

bool Definitive(const LookupResult& l) {
  return l.answered &&
         (l.status == DnsStatus::kNoError || l.status == DnsStatus::kNxDomain);
}

// A canonical string of a definitive answer, for comparing resolvers.
std::string MxKey(const LookupResult& l) {
  std::vector<std::string> v;
  for (const auto& mx : l.answer.mx) {
    v.push_back(std::to_string(mx.preference) + " " + mx.exchange);
  }
  std::sort(v.begin(), v.end());
  std::string k = DnsStatusName(l.status);
  for (const auto& s : v) k += "|" + s;
  return k;
}

std::string AddressKey(const LookupResult& l) {
  std::vector<std::string> v = l.answer.addresses;
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::string k = DnsStatusName(l.status);
  for (const auto& s : v) k += "|" + s;
  return k;
}

// Agreement of the definitive answers in `keys` (one per resolver, ""
// for a resolver without a definitive answer): false when two differ.
bool AllEqual(const std::vector<std::string>& keys) {
  std::string first;
  for (const auto& k : keys) {
    if (k.empty()) continue;
    if (first.empty()) {
      first = k;
    } else if (k != first) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool MxMatchesExpected(const std::vector<MxRecord>& answer,
                       const std::vector<ExpectedMx>& expected) {
  std::set<std::string> got_hosts, want_hosts;
  for (const auto& mx : answer) got_hosts.insert(mx.exchange);
  for (const auto& e : expected) want_hosts.insert(e.exchange);
  if (got_hosts != want_hosts) return false;
  for (const auto& e : expected) {
    if (!e.preference) continue;
    bool found = false;
    for (const auto& mx : answer) {
      if (mx.exchange != e.exchange) continue;
      if (mx.preference != *e.preference) return false;
      found = true;
    }
    if (!found) return false;
  }
  return true;
}

bool IsNullMx(const LookupResult& mx) {
  return mx.answered && mx.status == DnsStatus::kNoError &&
         mx.answer.mx.size() == 1 && mx.answer.mx[0].exchange == ".";
}

std::vector<std::string> SortedAddresses(const HostLookups& h) {
  std::vector<std::string> v;
  if (h.a.answered) v = h.a.answer.addresses;
  if (h.aaaa.answered) {
    v.insert(v.end(), h.aaaa.answer.addresses.begin(),
             h.aaaa.answer.addresses.end());
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

namespace {

// The families of one run, filled group by group.
struct DnsFamilies {
  explicit DnsFamilies(Millis iv);
  Families Take();  // the non-empty ones, in the order below

  prometheus::MetricFamily success, duration, status, answers, mx_info, null_mx,
      matches, host_resolves, host_addrs, host_cname, addr_match, agree;
};

DnsFamilies::DnsFamilies(Millis iv)
    : success(Gauge(kDnsLookupSuccess,
                    SampledHelp("1 when the resolver answered the lookup with "
                                "NOERROR (possibly with no records).",
                                iv))),
      duration(Gauge(kDnsLookupDuration,
                     SampledHelp("Duration of the lookup in seconds, retries "
                                 "and TCP fallback included.",
                                 iv))),
      status(Gauge(kDnsLookupStatus,
                   SampledHelp("1 for the lookup's current status "
                               "(noerror, nxdomain, servfail, refused, "
                               "formerr, timeout, other), 0 for the others.",
                               iv))),
      answers(
          Gauge(kDnsAnswers,
                SampledHelp("Records of the asked type in the answer.", iv))),
      mx_info(Gauge(kDnsMxInfo, SampledHelp("1 for every MX record of the "
                                            "answer (exchange \".\" for a "
                                            "null MX).",
                                            iv))),
      null_mx(Gauge(kDnsNullMx,
                    SampledHelp("1 when the domain has a null MX (\"0 .\", "
                                "RFC 7505: it accepts no mail).",
                                iv))),
      matches(Gauge(kDnsMxMatchesExpected,
                    SampledHelp("1 when the MX answer is exactly the "
                                "configured expect_mx set.",
                                iv))),
      host_resolves(Gauge(kDnsMxHostResolves,
                          SampledHelp("1 when the MX host has at least one "
                                      "address of this type.",
                                      iv))),
      host_addrs(
          Gauge(kDnsMxHostAddresses,
                SampledHelp("Addresses of this type of the MX host.", iv))),
      host_cname(Gauge(kDnsMxHostIsCname,
                       SampledHelp("1 when the MX host name is an alias "
                                   "(CNAME), which RFC 2181 10.3 forbids.",
                                   iv))),
      addr_match(Gauge(kDnsAddressesMatchExpected,
                       SampledHelp("1 when the host's A and AAAA addresses "
                                   "are exactly the configured "
                                   "expect_addresses.",
                                   iv))),
      agree(Gauge(kDnsResolversAgree,
                  SampledHelp("0 when two resolvers gave different "
                              "definitive answers (NOERROR or NXDOMAIN) "
                              "for the domain's records of this type.",
                              iv))) {}

Families DnsFamilies::Take() {
  Families out;
  for (auto* f :
       {&success, &duration, &status, &answers, &mx_info, &null_mx, &matches,
        &host_resolves, &host_addrs, &host_cname, &addr_match, &agree}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

// success, duration, answers and status of one lookup.
void AddLookup(DnsFamilies& f, const std::string& domain,
               const std::string& resolver, const char* qtype,
               const LookupResult& l) {
  Labels base{{"domain", domain}, {"resolver", resolver}, {"qtype", qtype}};
  AddSample(f.success, base, l.status == DnsStatus::kNoError ? 1 : 0);
  AddSample(f.duration, base, l.duration_seconds);
  AddSample(f.answers, base, static_cast<double>(l.answer.count()));
  for (DnsStatus s : kAllDnsStatuses) {
    Labels sl = base;
    sl.emplace_back("status", DnsStatusName(s));
    AddSample(f.status, sl, s == l.status ? 1 : 0);
  }
}

// The MX records, null MX and expect_mx of one resolver's answer; returns
// the exchanges whose addresses were checked.
std::set<std::string> AddMx(DnsFamilies& f, const DnsDomainConfig& dom,
                            const Labels& dr, const LookupResult& mx) {
  std::set<std::pair<std::string, int>> seen;
  std::set<std::string> exchanges;
  if (mx.answered) {
    for (const auto& rec : mx.answer.mx) {
      if (!seen.insert({rec.exchange, rec.preference}).second) continue;
      Labels l = dr;
      l.emplace_back("exchange", rec.exchange);
      l.emplace_back("preference", std::to_string(rec.preference));
      AddSample(f.mx_info, l, 1);
    }
    for (auto& ex : CheckedExchanges(mx.answer.mx)) {
      exchanges.insert(std::move(ex));
    }
  }
  AddSample(f.null_mx, dr, IsNullMx(mx) ? 1 : 0);
  if (dom.has_expect_mx) {
    bool ok = mx.answered && mx.status == DnsStatus::kNoError &&
              MxMatchesExpected(mx.answer.mx, dom.expect_mx);
    AddSample(f.matches, dr, ok ? 1 : 0);
  }
  return exchanges;
}

// Whether each checked MX host resolves, to how many addresses, and
// whether its name is an alias.
void AddMxHosts(DnsFamilies& f, const Labels& dr,
                const std::set<std::string>& exchanges,
                const DomainResolverResult& res) {
  static const HostLookups kNone;
  for (const auto& ex : exchanges) {
    auto it = res.hosts.find(ex);
    const HostLookups& h = it == res.hosts.end() ? kNone : it->second;
    for (const auto& [qtype, l] :
         {std::pair<const char*, const LookupResult*>{"A", &h.a},
          {"AAAA", &h.aaaa}}) {
      Labels hl = dr;
      hl.emplace_back("exchange", ex);
      hl.emplace_back("qtype", qtype);
      const size_t n = l->answered && l->status == DnsStatus::kNoError
                           ? l->answer.addresses.size()
                           : 0;
      AddSample(f.host_resolves, hl, n > 0 ? 1 : 0);
      AddSample(f.host_addrs, hl, static_cast<double>(n));
    }
    Labels cl = dr;
    cl.emplace_back("exchange", ex);
    const bool cname = (h.a.answered && !h.a.answer.cname_chain.empty()) ||
                       (h.aaaa.answered && !h.aaaa.answer.cname_chain.empty());
    AddSample(f.host_cname, cl, cname ? 1 : 0);
  }
}

// expect_addresses: each listed host's A and AAAA against the declared set.
void AddExpectedAddresses(DnsFamilies& f, const DnsDomainConfig& dom,
                          const Labels& dr, const DomainResolverResult& res) {
  for (const auto& [host, want] : dom.expect_addresses) {
    HostLookups h;
    if (dom.check_domain_addresses && host == dom.name) {
      h.a = res.domain_a;
      h.aaaa = res.domain_aaaa;
    } else if (auto it = res.hosts.find(host); it != res.hosts.end()) {
      h = it->second;
    }
    const bool complete = h.a.answered && h.aaaa.answered &&
                          h.a.status == DnsStatus::kNoError &&
                          h.aaaa.status == DnsStatus::kNoError;
    Labels al = dr;
    al.emplace_back("host", host);
    AddSample(f.addr_match, al, complete && SortedAddresses(h) == want ? 1 : 0);
  }
}

// Agreement between resolvers (only meaningful with two or more): MX, then
// A and AAAA of every name looked up for this domain (the domain itself,
// the MX hosts, expect_addresses hosts), compared name by name.
void AddAgreement(DnsFamilies& f, const DnsDomainConfig& dom,
                  const std::vector<DomainResolverResult>& per_resolver) {
  if (per_resolver.size() < 2) return;
  std::vector<std::string> mx_keys;
  for (const auto& res : per_resolver) {
    mx_keys.push_back(Definitive(res.mx) ? MxKey(res.mx) : "");
  }
  AddSample(f.agree, {{"domain", dom.name}, {"qtype", "MX"}},
            AllEqual(mx_keys) ? 1 : 0);
  for (const char* qtype : {"A", "AAAA"}) {
    const bool is_a = std::string(qtype) == "A";
    std::set<std::string> names;
    for (const auto& res : per_resolver) {
      for (const auto& [h, l] : res.hosts) names.insert(h);
    }
    bool ok = true;
    if (dom.check_domain_addresses) {
      std::vector<std::string> keys;
      for (const auto& res : per_resolver) {
        const LookupResult& l = is_a ? res.domain_a : res.domain_aaaa;
        keys.push_back(Definitive(l) ? AddressKey(l) : "");
      }
      ok = ok && AllEqual(keys);
    }
    for (const auto& name : names) {
      std::vector<std::string> keys;
      for (const auto& res : per_resolver) {
        auto it = res.hosts.find(name);
        if (it == res.hosts.end()) continue;
        const LookupResult& l = is_a ? it->second.a : it->second.aaaa;
        keys.push_back(Definitive(l) ? AddressKey(l) : "");
      }
      ok = ok && AllEqual(keys);
    }
    AddSample(f.agree, {{"domain", dom.name}, {"qtype", qtype}}, ok ? 1 : 0);
  }
}

}  // namespace

Families BuildDnsFamilies(const DnsConfig& config, const DnsRunResult& run) {
  DnsFamilies f(config.interval);
  const auto labels = config.ResolverLabels();
  for (size_t d = 0; d < config.domains.size() && d < run.results.size(); ++d) {
    const auto& dom = config.domains[d];
    const auto& per_resolver = run.results[d];
    for (size_t r = 0; r < per_resolver.size() && r < labels.size(); ++r) {
      const auto& res = per_resolver[r];
      AddLookup(f, dom.name, labels[r], "MX", res.mx);
      if (dom.check_domain_addresses) {
        AddLookup(f, dom.name, labels[r], "A", res.domain_a);
        AddLookup(f, dom.name, labels[r], "AAAA", res.domain_aaaa);
      }
      const Labels dr{{"domain", dom.name}, {"resolver", labels[r]}};
      AddMxHosts(f, dr, AddMx(f, dom, dr, res.mx), res);
      AddExpectedAddresses(f, dom, dr, res);
    }
    AddAgreement(f, dom, per_resolver);
  }
  return f.Take();
}

}  // namespace mailhealth::dns
