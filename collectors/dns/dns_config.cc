#include "collectors/dns/dns_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "collectors/resolve/dns_message.h"
#include "collectors/resolve/domain_name.h"
#include "collectors/resolve/resolver_config.h"

namespace mailhealth::dns {
std::vector<std::string> DnsConfig::ResolverLabels() const {
  std::vector<std::string> out;
  if (resolvers.empty()) {
    out.push_back(kSystemResolverLabel);
  } else {
    for (const auto& r : resolvers) out.push_back(r.label);
  }
  return out;
}

Result<ExpectedMx> ParseExpectedMx(const std::string& text) {
  ExpectedMx e;
  std::string t = text;
  size_t sp = t.find_first_of(" \t");
  if (sp != std::string::npos) {
    std::string pref = t.substr(0, sp);
    size_t rest = t.find_first_not_of(" \t", sp);
    int v = -1;
    auto [p, ec] = std::from_chars(pref.data(), pref.data() + pref.size(), v);
    if (ec != std::errc() || p != pref.data() + pref.size() || v < 0 ||
        v > 65535 || rest == std::string::npos) {
      return Status::Error("invalid MX \"" + text +
                           "\" (use \"PREFERENCE HOST\" or \"HOST\")");
    }
    e.preference = v;
    t = t.substr(rest);
  }
  if (t.find_first_of(" \t") != std::string::npos) {
    return Status::Error("invalid MX \"" + text + "\" (too many fields)");
  }
  e.exchange = NormalizeName(t);
  if (e.exchange != "." && !resolve::ValidDomainName(e.exchange)) {
    return Status::Error("invalid MX host \"" + t + "\"");
  }
  return e;
}

void ParseDnsResolvers(ConfigNode& s, DnsConfig& c) {
  for (auto& r : ParseResolverList(s, "resolvers"))
    c.resolvers.push_back(std::move(r));
}

Status AddExpectedAddresses(const std::string& host,
                            const std::vector<std::string>& ips,
                            DnsDomainConfig& dc) {
  std::string h = NormalizeName(host);
  if (!resolve::ValidDomainName(h)) {
    return Status::Error("invalid host name \"" + host + "\"");
  }
  std::vector<std::string> canon;
  for (const auto& ip : ips) {
    std::string ci = CanonicalIp(ip);
    if (ci.empty() || ip.front() == '[') {
      return Status::Error("\"" + ip + "\" (for " + host +
                           ") is not an IP address");
    }
    canon.push_back(ci);
  }
  std::sort(canon.begin(), canon.end());
  canon.erase(std::unique(canon.begin(), canon.end()), canon.end());
  dc.expect_addresses[h] = std::move(canon);
  return Status::Ok();
}

void ParseDomainExpectations(ConfigNode& d, DnsDomainConfig& dc) {
  dc.has_expect_mx = d.Has("expect_mx");
  const auto expect_mx = d.StringList("expect_mx", {});
  if (dc.has_expect_mx && expect_mx.empty()) {
    // "expect_mx: []" would declare "no MX at all"; make it explicit.
    d.Error("expect_mx",
            "empty list: list the expected MX hosts, or \".\" for a null MX");
  }
  for (const auto& text : expect_mx) {
    auto e = ParseExpectedMx(text);
    if (!e.ok()) {
      d.Error("expect_mx", e.status().message());
      continue;
    }
    dc.expect_mx.push_back(std::move(*e));
  }
  for (const auto& [host, ips] : d.StringListMap("expect_addresses")) {
    if (Status st = AddExpectedAddresses(host, ips, dc); !st.ok()) {
      d.Error("expect_addresses", st.message());
    }
  }
}

namespace {

DnsDomainConfig ParseDomain(ConfigNode& d,
                            std::set<std::string>& seen_domains) {
  DnsDomainConfig dc;
  std::string raw = d.String("name", "");
  dc.name = NormalizeName(raw);
  if (raw.empty()) {
    d.Error("name", "missing (the mail domain to check)");
  } else if (!resolve::ValidDomainName(dc.name)) {
    d.Error("name", "invalid domain name \"" + raw + "\"");
  } else if (!seen_domains.insert(dc.name).second) {
    d.Error("name", "domain \"" + dc.name + "\" listed twice");
  }
  ParseDomainExpectations(d, dc);
  dc.check_domain_addresses = d.Bool("check_domain_addresses", false);
  return dc;
}

}  // namespace

DnsConfig ParseDnsConfig(ConfigNode& s, const CollectorSettings& settings) {
  DnsConfig c;
  c.timeout = settings.timeout;
  c.interval = settings.interval;
  ParseDnsResolvers(s, c);
  std::set<std::string> seen_domains;
  for (auto& d : s.List("domains")) {
    c.domains.push_back(ParseDomain(d, seen_domains));
    d.Finish();
  }
  const size_t pairs =
      c.domains.size() * std::max<size_t>(1, c.resolvers.size());
  if (pairs > kMaxDomainResolverPairs) {
    s.Error("domains",
            std::to_string(c.domains.size()) + " domains x " +
                std::to_string(std::max<size_t>(1, c.resolvers.size())) +
                " resolvers = " + std::to_string(pairs) +
                " checks, more than the limit of " +
                std::to_string(kMaxDomainResolverPairs));
  }
  return c;
}

}  // namespace mailhealth::dns
