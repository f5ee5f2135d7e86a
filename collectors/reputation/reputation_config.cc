#include "collectors/reputation/reputation_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>

#include "collectors/resolve/dns_message.h"
#include "collectors/resolve/domain_name.h"
#include "collectors/resolve/resolver_config.h"

namespace mailhealth::reputation {
namespace {

constexpr uint32_t kLoopbackNet = 0x7f000000;  // 127.0.0.0/8

std::optional<uint32_t> ParseV4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

bool InLoopback(uint32_t a) { return (a & 0xff000000u) == kLoopbackNet; }

constexpr const char* kPublicResolvers[] = {
    // Google, Cloudflare, Quad9, OpenDNS, AdGuard, Comodo, Verisign (old),
    // CleanBrowsing, Control D, Level3, Yandex.
    "8.8.8.8",
    "8.8.4.4",
    "1.1.1.1",
    "1.0.0.1",
    "1.1.1.2",
    "1.0.0.2",
    "1.1.1.3",
    "1.0.0.3",
    "9.9.9.9",
    "149.112.112.112",
    "9.9.9.10",
    "149.112.112.10",
    "9.9.9.11",
    "208.67.222.222",
    "208.67.220.220",
    "94.140.14.14",
    "94.140.15.15",
    "8.26.56.26",
    "8.20.247.20",
    "64.6.64.6",
    "64.6.65.6",
    "185.228.168.9",
    "185.228.169.9",
    "76.76.2.0",
    "76.76.10.0",
    "4.2.2.1",
    "4.2.2.2",
    "77.88.8.8",
    "77.88.8.1",
    "2001:4860:4860::8888",
    "2001:4860:4860::8844",
    "2606:4700:4700::1111",
    "2606:4700:4700::1001",
    "2620:fe::fe",
    "2620:fe::9",
    "2620:119:35::35",
    "2620:119:53::53",
    "2a10:50c0::ad1:ff",
    "2a10:50c0::ad2:ff"};

// The shared resolver list, with a warning for each public resolver.
std::vector<ResolverAddress> ParseResolvers(ConfigNode& n,
                                            const std::string& key) {
  std::vector<ResolverAddress> out = ParseResolverList(n, key);
  for (const ResolverAddress& r : out) {
    if (IsPublicResolver(r.ip)) {
      n.Warning(key, "\"" + r.label +
                         "\" is a public resolver: blocklists refuse or "
                         "misanswer queries through it (Spamhaus answers "
                         "127.255.255.254); use your own resolver");
    }
  }
  return out;
}

std::vector<CodeRange> ParseCodes(ConfigNode& z, const std::string& key) {
  std::vector<CodeRange> out;
  for (const std::string& text : z.StringList(key, {})) {
    auto r = ParseCodeRange(text);
    if (!r.ok()) {
      z.Error(key, r.status().message());
      continue;
    }
    out.push_back(*r);
  }
  return out;
}

ZoneConfig ParseZone(ConfigNode& z, std::set<std::string>& seen) {
  ZoneConfig zc;
  const std::string raw = z.String("name", "");
  zc.name = NormalizeName(raw);
  if (raw.empty()) {
    z.Error("name", "missing (the blocklist zone, e.g. zen.spamhaus.org)");
  } else if (!resolve::ValidDomainName(zc.name)) {
    z.Error("name", "invalid zone name \"" + raw + "\"");
  } else if (!seen.insert(zc.name).second) {
    z.Error("name", "zone \"" + zc.name + "\" listed twice");
  }
  const bool has_listed = z.Has("listed_codes");
  const bool has_error = z.Has("error_codes");
  zc.listed_codes = ParseCodes(z, "listed_codes");
  zc.error_codes = ParseCodes(z, "error_codes");
  const bool spamhaus = IsSpamhausZone(zc.name);
  if (!has_listed || zc.listed_codes.empty()) {
    zc.listed_codes = spamhaus ? SpamhausListedCodes() : DefaultListedCodes();
  }
  if (!has_error || zc.error_codes.empty()) {
    zc.error_codes = spamhaus ? SpamhausErrorCodes() : DefaultErrorCodes();
  }
  zc.resolvers = ParseResolvers(z, "resolvers");
  const std::string type = z.String("type", "address");
  if (type == "domain") {
    zc.domains = true;
  } else if (type != "address") {
    z.Error("type", "unknown zone type \"" + type +
                        "\" (address: an IP blocklist; domain: a domain "
                        "list such as dbl.spamhaus.org)");
  }
  return zc;
}

}  // namespace

Result<CodeRange> ParseCodeRange(const std::string& text) {
  const std::string bad = "invalid return code \"" + text +
                          "\" (use 127.0.0.2, 127.0.0.2-127.0.0.11 or "
                          "127.0.0.0/24)";
  CodeRange r;
  if (size_t dash = text.find('-'); dash != std::string::npos) {
    auto a = ParseV4(text.substr(0, dash));
    auto b = ParseV4(text.substr(dash + 1));
    if (!a || !b) return Status::Error(bad);
    if (*a > *b) {
      return Status::Error("invalid return code range \"" + text +
                           "\" (first above last)");
    }
    r = {*a, *b};
  } else if (size_t slash = text.find('/'); slash != std::string::npos) {
    auto a = ParseV4(text.substr(0, slash));
    const std::string len_text = text.substr(slash + 1);
    int len = -1;
    auto [p, ec] = std::from_chars(len_text.data(),
                                   len_text.data() + len_text.size(), len);
    if (!a || ec != std::errc() || p != len_text.data() + len_text.size() ||
        len < 8 || len > 32) {
      return Status::Error(bad);
    }
    const uint32_t mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
    r = {*a & mask, (*a & mask) | ~mask};
  } else {
    auto a = ParseV4(text);
    if (!a) return Status::Error(bad);
    r = {*a, *a};
  }
  if (!InLoopback(r.first) || !InLoopback(r.last)) {
    return Status::Error("return code \"" + text +
                         "\" is outside 127.0.0.0/8, where blocklists answer");
  }
  return r;
}

std::vector<CodeRange> DefaultListedCodes() {
  return {{0x7f000002, 0x7f0000fe}};
}
std::vector<CodeRange> DefaultErrorCodes() {
  return {{0x7fffff00, 0x7fffffff}};
}
std::vector<CodeRange> SpamhausListedCodes() {
  return {{0x7f000002, 0x7f0002ff}};
}
std::vector<CodeRange> SpamhausErrorCodes() {
  return {{0x7ffffffc, 0x7ffffffc}, {0x7ffffffe, 0x7fffffff}};
}

bool IsSpamhausZone(const std::string& zone) {
  auto under = [&zone](const std::string& d) {
    return zone == d ||
           (zone.size() > d.size() &&
            zone.compare(zone.size() - d.size(), d.size(), d) == 0 &&
            zone[zone.size() - d.size() - 1] == '.');
  };
  return under("spamhaus.org") || under("spamhaus.net");
}

bool IsPublicResolver(const std::string& ip) {
  const std::string c = CanonicalIp(ip);
  for (const char* p : kPublicResolvers) {
    if (c == p) return true;
  }
  return false;
}

namespace {

// `addresses`: IPv4 or IPv6 addresses, canonical, each once.
std::vector<std::string> ParseAddresses(ConfigNode& s) {
  std::vector<std::string> addresses;
  std::set<std::string> seen;
  for (const std::string& text : s.StringList("addresses", {})) {
    const std::string ip = CanonicalIp(text);
    if (ip.empty() || text.front() == '[') {
      s.Error("addresses", "\"" + text + "\" is not an IPv4 or IPv6 address");
      continue;
    }
    if (!seen.insert(ip).second) {
      s.Error("addresses", "address \"" + text + "\" listed twice");
      continue;
    }
    addresses.push_back(ip);
  }
  if (addresses.size() > kMaxAddresses) {
    s.Error("addresses", "too many addresses (" +
                             std::to_string(addresses.size()) + "), at most " +
                             std::to_string(kMaxAddresses));
  }
  return addresses;
}

// A list of domain names (`from_mx`, `domains`): normalized, each once, at
// most kMaxMxDomains.
std::vector<std::string> ParseDomainList(ConfigNode& s,
                                         const std::string& key) {
  std::vector<std::string> domains;
  std::set<std::string> seen;
  for (const std::string& text : s.StringList(key, {})) {
    const std::string d = NormalizeName(text);
    if (!resolve::ValidDomainName(d)) {
      s.Error(key, "invalid domain name \"" + text + "\"");
      continue;
    }
    if (!seen.insert(d).second) {
      s.Error(key, "domain \"" + d + "\" listed twice");
      continue;
    }
    domains.push_back(d);
  }
  if (domains.size() > kMaxMxDomains) {
    s.Error(key, "too many domains (" + std::to_string(domains.size()) +
                     "), at most " + std::to_string(kMaxMxDomains));
  }
  return domains;
}

std::vector<ZoneConfig> ParseZones(ConfigNode& s) {
  std::vector<ZoneConfig> zones;
  std::set<std::string> seen_zones;
  for (ConfigNode& z : s.List("zones")) {
    zones.push_back(ParseZone(z, seen_zones));
    z.Finish();
  }
  if (zones.size() > kMaxZones) {
    s.Error("zones", "too many zones (" + std::to_string(zones.size()) +
                         "), at most " + std::to_string(kMaxZones));
  }
  return zones;
}

// Warnings for an enabled section that is valid but checks little or
// nothing.
void WarnIfChecksNothing(ConfigNode& s, const ReputationConfig& c) {
  if (c.addresses.empty() && c.from_mx.empty() && !c.from_postfix) {
    s.Warning("addresses",
              "reputation is enabled but has no addresses, from_mx or "
              "from_postfix: it checks nothing");
  }
  const bool domain_zone =
      std::any_of(c.zones.begin(), c.zones.end(),
                  [](const ZoneConfig& z) { return z.domains; });
  if (domain_zone && c.domains.empty() && c.from_mx.empty()) {
    s.Warning("zones",
              "a zone of type domain is configured but neither domains nor "
              "from_mx names a domain to check on it");
  }
  if (c.zones.empty()) {
    s.Warning("zones",
              "reputation is enabled but lists no zones: only reverse DNS "
              "is checked");
  }
}

}  // namespace

ReputationConfig ParseReputationConfig(ConfigNode& s,
                                       const CollectorSettings& settings) {
  ReputationConfig c;
  c.interval = settings.interval;
  c.timeout = settings.timeout;
  c.max_series = settings.max_series;
  c.resolvers = ParseResolvers(s, "resolvers");
  c.addresses = ParseAddresses(s);
  c.from_mx = ParseDomainList(s, "from_mx");
  c.from_postfix = s.Bool("from_postfix", false);
  c.domains = ParseDomainList(s, "domains");

  const std::string expect = s.String("expect_ptr", "");
  if (!expect.empty()) {
    c.expect_ptr = NormalizeName(expect);
    if (!resolve::ValidDomainName(c.expect_ptr)) {
      s.Error("expect_ptr", "invalid host name \"" + expect + "\"");
    }
  }
  c.min_interval = s.Duration("min_interval", c.min_interval);
  if (c.min_interval < Millis(0)) {
    s.Error("min_interval", "must not be negative");
  }
  c.zones = ParseZones(s);

  if (settings.enabled) WarnIfChecksNothing(s, c);
  return c;
}

}  // namespace mailhealth::reputation
