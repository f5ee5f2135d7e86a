#include "collectors/dns/dns_report.h"

#include <algorithm>
#include <map>
#include <set>

#include "exporter/metric_builder.h"

namespace mailhealth {
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

Families BuildDnsFamilies(const DnsConfig& config, const DnsRunResult& run) {
  const Millis iv = config.interval;
  auto success =
      Gauge(kDnsLookupSuccess,
            SampledHelp("1 when the resolver answered the lookup with "
                        "NOERROR (possibly with no records).",
                        iv));
  auto duration =
      Gauge(kDnsLookupDuration,
            SampledHelp("Duration of the lookup in seconds, retries "
                        "and TCP fallback included.",
                        iv));
  auto status = Gauge(kDnsLookupStatus,
                      SampledHelp("1 for the lookup's current status "
                                  "(noerror, nxdomain, servfail, refused, "
                                  "formerr, timeout, other), 0 for the others.",
                                  iv));
  auto answers = Gauge(
      kDnsAnswers, SampledHelp("Records of the asked type in the answer.", iv));
  auto mx_info =
      Gauge(kDnsMxInfo, SampledHelp("1 for every MX record of the answer "
                                    "(exchange \".\" for a null MX).",
                                    iv));
  auto null_mx =
      Gauge(kDnsNullMx, SampledHelp("1 when the domain has a null MX (\"0 .\", "
                                    "RFC 7505: it accepts no mail).",
                                    iv));
  auto matches = Gauge(kDnsMxMatchesExpected,
                       SampledHelp("1 when the MX answer is exactly the "
                                   "configured expect_mx set.",
                                   iv));
  auto host_resolves = Gauge(kDnsMxHostResolves,
                             SampledHelp("1 when the MX host has at least one "
                                         "address of this type.",
                                         iv));
  auto host_addrs =
      Gauge(kDnsMxHostAddresses,
            SampledHelp("Addresses of this type of the MX host.", iv));
  auto host_cname = Gauge(kDnsMxHostIsCname,
                          SampledHelp("1 when the MX host name is an alias "
                                      "(CNAME), which RFC 2181 10.3 forbids.",
                                      iv));
  auto addr_match = Gauge(kDnsAddressesMatchExpected,
                          SampledHelp("1 when the host's A and AAAA addresses "
                                      "are exactly the configured "
                                      "expect_addresses.",
                                      iv));
  auto agree = Gauge(kDnsResolversAgree,
                     SampledHelp("0 when two resolvers gave different "
                                 "definitive answers (NOERROR or NXDOMAIN) "
                                 "for the domain's records of this type.",
                                 iv));

  const auto labels = config.ResolverLabels();
  for (size_t d = 0; d < config.domains.size() && d < run.results.size(); ++d) {
    const auto& dom = config.domains[d];
    const auto& per_resolver = run.results[d];
    for (size_t r = 0; r < per_resolver.size() && r < labels.size(); ++r) {
      const auto& res = per_resolver[r];
      const std::string& rl = labels[r];
      auto lookup = [&](const char* qtype, const LookupResult& l) {
        Labels base{{"domain", dom.name}, {"resolver", rl}, {"qtype", qtype}};
        AddSample(success, base, l.status == DnsStatus::kNoError ? 1 : 0);
        AddSample(duration, base, l.duration_seconds);
        AddSample(answers, base, static_cast<double>(l.answer.count()));
        for (DnsStatus s : kAllDnsStatuses) {
          Labels sl = base;
          sl.emplace_back("status", DnsStatusName(s));
          AddSample(status, sl, s == l.status ? 1 : 0);
        }
      };
      lookup("MX", res.mx);
      if (dom.check_domain_addresses) {
        lookup("A", res.domain_a);
        lookup("AAAA", res.domain_aaaa);
      }
      Labels dr{{"domain", dom.name}, {"resolver", rl}};
      std::set<std::pair<std::string, int>> seen;
      std::set<std::string> exchanges;
      if (res.mx.answered) {
        for (const auto& mx : res.mx.answer.mx) {
          if (!seen.insert({mx.exchange, mx.preference}).second) continue;
          Labels l = dr;
          l.emplace_back("exchange", mx.exchange);
          l.emplace_back("preference", std::to_string(mx.preference));
          AddSample(mx_info, l, 1);
        }
        for (auto& ex : CheckedExchanges(res.mx.answer.mx)) {
          exchanges.insert(std::move(ex));
        }
      }
      AddSample(null_mx, dr, IsNullMx(res.mx) ? 1 : 0);
      if (dom.has_expect_mx) {
        bool ok = res.mx.answered && res.mx.status == DnsStatus::kNoError &&
                  MxMatchesExpected(res.mx.answer.mx, dom.expect_mx);
        AddSample(matches, dr, ok ? 1 : 0);
      }
      for (const auto& ex : exchanges) {
        auto it = res.hosts.find(ex);
        static const HostLookups kNone;
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
          AddSample(host_resolves, hl, n > 0 ? 1 : 0);
          AddSample(host_addrs, hl, static_cast<double>(n));
        }
        Labels cl = dr;
        cl.emplace_back("exchange", ex);
        const bool cname =
            (h.a.answered && !h.a.answer.cname_chain.empty()) ||
            (h.aaaa.answered && !h.aaaa.answer.cname_chain.empty());
        AddSample(host_cname, cl, cname ? 1 : 0);
      }
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
        AddSample(addr_match, al,
                  complete && SortedAddresses(h) == want ? 1 : 0);
      }
    }

    // Agreement between resolvers (only meaningful with two or more).
    if (per_resolver.size() < 2) continue;
    std::vector<std::string> mx_keys;
    for (const auto& res : per_resolver) {
      mx_keys.push_back(Definitive(res.mx) ? MxKey(res.mx) : "");
    }
    AddSample(agree, {{"domain", dom.name}, {"qtype", "MX"}},
              AllEqual(mx_keys) ? 1 : 0);
    // A and AAAA: every name looked up for this domain (the domain itself,
    // the MX hosts, expect_addresses hosts), compared name by name.
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
      AddSample(agree, {{"domain", dom.name}, {"qtype", qtype}}, ok ? 1 : 0);
    }
  }

  Families out;
  for (auto* f :
       {&success, &duration, &status, &answers, &mx_info, &null_mx, &matches,
        &host_resolves, &host_addrs, &host_cname, &addr_match, &agree}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace mailhealth
