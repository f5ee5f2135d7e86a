#include "collectors/mailauth/mailauth_config.h"

#include <set>

#include "collectors/resolve/dns_message.h"
#include "collectors/resolve/domain_name.h"
#include "collectors/resolve/resolver_config.h"

namespace mailhealth::mailauth {
namespace {

bool ValidSelector(const std::string& s) {
  // One or more DNS labels ("s1", "2024.brisbane"): letters, digits, '-'
  // and '.' between labels.
  if (s.empty() || s.size() > 63 || s.front() == '.' || s.back() == '.')
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' &&
        c != '_')
      return false;
  return s.find("..") == std::string::npos;
}

DomainConfig ParseDomain(ConfigNode& d, std::set<std::string>& seen) {
  DomainConfig dc;
  const std::string raw = d.String("name", "");
  dc.name = NormalizeName(raw);
  if (raw.empty()) {
    d.Error("name", "missing (the domain whose records are checked)");
  } else if (!resolve::ValidDomainName(dc.name) ||
             dc.name.find('.') == std::string::npos) {
    d.Error("name", "invalid domain name \"" + raw + "\"");
  } else if (!seen.insert(dc.name).second) {
    d.Error("name", "domain \"" + dc.name + "\" listed twice");
  }
  std::set<std::string> addrs;
  for (const std::string& text : d.StringList("sending_addresses", {})) {
    const std::string ip = CanonicalIp(text);
    if (ip.empty() || text.front() == '[') {
      d.Error("sending_addresses",
              "\"" + text + "\" is not an IPv4 or IPv6 address");
      continue;
    }
    if (!addrs.insert(ip).second) {
      d.Error("sending_addresses", "address \"" + text + "\" listed twice");
      continue;
    }
    dc.sending_addresses.push_back(ip);
  }
  if (dc.sending_addresses.size() > kMaxSendingAddresses) {
    d.Error("sending_addresses", "too many addresses, at most " +
                                     std::to_string(kMaxSendingAddresses));
  }
  dc.from_mx = d.Bool("from_mx", false);
  dc.from_postfix = d.Bool("from_postfix", false);
  std::set<std::string> selectors;
  for (ConfigNode& s : d.List("dkim_selectors", true)) {
    SelectorConfig sc;
    if (s.IsScalar()) {
      sc.name = s.Scalar();
    } else {
      sc.name = s.String("name", "");
      sc.private_key_file = s.AbsolutePath("private_key_file", "", true);
      s.Finish();
    }
    if (!ValidSelector(sc.name)) {
      d.Error("dkim_selectors", "invalid selector \"" + sc.name + "\"");
      continue;
    }
    if (!selectors.insert(sc.name).second) {
      d.Error("dkim_selectors", "selector \"" + sc.name + "\" listed twice");
      continue;
    }
    dc.dkim_selectors.push_back(std::move(sc));
  }
  if (dc.dkim_selectors.size() > kMaxSelectors) {
    d.Error("dkim_selectors",
            "too many selectors, at most " + std::to_string(kMaxSelectors));
  }
  for (const std::string& k : d.StringList("skip", {})) {
    if (k == "spf") {
      dc.spf = false;
    } else if (k == "dkim") {
      dc.dkim = false;
    } else if (k == "dmarc") {
      dc.dmarc = false;
    } else if (k == "tlsrpt") {
      dc.tlsrpt = false;
    } else if (k == "mta_sts") {
      dc.mta_sts = false;
    } else if (k == "dane") {
      dc.dane = false;
    } else {
      d.Error("skip",
              "unknown check \"" + k +
                  "\" (one of spf, dkim, dmarc, tlsrpt, mta_sts, dane)");
    }
  }
  return dc;
}

}  // namespace

MailauthConfig ParseMailauthConfig(ConfigNode& s,
                                   const CollectorSettings& settings) {
  MailauthConfig c;
  c.interval = settings.interval;
  c.timeout = settings.timeout;
  c.max_series = settings.max_series;
  c.resolvers = ParseResolverList(s, "resolvers");
  c.workers = static_cast<size_t>(s.Int("workers", 4, 1, 32));
  c.ca_file = s.AbsolutePath("ca_file", "", true);
  std::set<std::string> seen;
  for (ConfigNode& d : s.List("domains")) {
    c.domains.push_back(ParseDomain(d, seen));
    d.Finish();
  }
  if (c.domains.size() > kMaxDomains) {
    s.Error("domains", "too many domains (" + std::to_string(c.domains.size()) +
                           "), at most " + std::to_string(kMaxDomains));
  }
  if (settings.enabled && c.domains.empty()) {
    s.Warning("domains",
              "mailauth is enabled but lists no domains: it "
              "checks nothing");
  }
  return c;
}

}  // namespace mailhealth::mailauth
