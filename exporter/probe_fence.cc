#include "exporter/probe_fence.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "exporter/strings.h"

namespace mailhealth {
namespace {

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Parses an IP literal into 4 or 16 bytes; returns the family or 0.
int ParseIp(const std::string& s, uint8_t out[16]) {
  if (inet_pton(AF_INET, s.c_str(), out) == 1) return 4;
  if (inet_pton(AF_INET6, s.c_str(), out) == 1) return 6;
  return 0;
}

bool PrefixMatch(const uint8_t* a, const uint8_t* net, int prefix) {
  const int full = prefix / 8;
  if (std::memcmp(a, net, static_cast<size_t>(full)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

bool PortAllowed(int entry_port, int port) {
  if (port < 0) return true;  // nothing is sent to the target itself
  if (entry_port >= 0) return entry_port == port;
  for (int p : ProbeFence::kDefaultPorts) {
    if (p == port) return true;
  }
  return false;
}

bool DomainCovers(const std::string& domain, const std::string& host) {
  if (host == domain) return true;
  return host.size() > domain.size() &&
         host.compare(host.size() - domain.size(), domain.size(), domain) ==
             0 &&
         host[host.size() - domain.size() - 1] == '.';
}

std::string PortText(int port) {
  return port < 0 ? std::string() : " port " + std::to_string(port);
}

}  // namespace

Result<ProbeFence::Entry> ParseFenceEntry(const std::string& text) {
  ProbeFence::Entry e;
  e.text = text;
  std::string s = text;
  auto bad = [&](const std::string& why) {
    return Status::Error("invalid allowed_targets entry \"" + text +
                         "\": " + why);
  };
  if (s.empty()) return bad("empty");
  if (s.rfind("mx:", 0) == 0) {
    e.kind = ProbeFence::Entry::Kind::kMx;
    s = s.substr(3);
  }
  // Split off :PORT.
  std::string host = s;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) return bad("missing ]");
    host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected :PORT after ]");
      port = rest.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    const size_t colon = s.find(':');
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (port.empty()) return bad("empty port");
  }
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 ||
        p > 65535) {
      return bad("port \"" + port + "\" is not a number from 1 to 65535");
    }
    e.port = p;
  }
  if (host.empty()) return bad("no host");
  const size_t slash = host.find('/');
  std::string ip = slash == std::string::npos ? host : host.substr(0, slash);
  const int family = ParseIp(ip, e.net);
  if (family != 0) {
    if (e.kind == ProbeFence::Entry::Kind::kMx) {
      return bad("mx: takes a domain, not an address");
    }
    e.kind = ProbeFence::Entry::Kind::kNetwork;
    e.family = family;
    const int max = family == 4 ? 32 : 128;
    e.prefix = max;
    if (slash != std::string::npos) {
      const std::string len = host.substr(slash + 1);
      int n = -1;
      auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
      if (ec != std::errc() || ptr != len.data() + len.size() || n < 0 ||
          n > max) {
        return bad("prefix length \"" + len + "\" is not 0 to " +
                   std::to_string(max));
      }
      e.prefix = n;
    }
    return e;
  }
  if (slash != std::string::npos)
    return bad("\"" + ip + "\" is not an IP address");
  e.domain = Lower(host);
  if (!ValidDomainName(e.domain))
    return bad("not a domain, host name, address or CIDR");
  return e;
}

Result<ProbeFence> ProbeFence::Parse(const std::vector<std::string>& entries) {
  ProbeFence f;
  for (const std::string& text : entries) {
    Result<Entry> e = ParseFenceEntry(text);
    if (!e.ok()) return e.status();
    if (e->kind == Entry::Kind::kNetwork) f.has_address_entries_ = true;
    f.entries_.push_back(std::move(*e));
  }
  return f;
}

Status ProbeFence::AllowsSubject(const ProbeSubject& subject) const {
  if (entries_.empty()) {
    return Status::Error(
        "the module's allowed_targets is empty: nothing may "
        "be probed");
  }
  bool host_matched = false;
  if (subject.kind == ProbeSubject::Kind::kAddress) {
    uint8_t a[16] = {};
    const int family = ParseIp(subject.host, a);
    for (const Entry& e : entries_) {
      if (e.kind != Entry::Kind::kNetwork || e.family != family ||
          !PrefixMatch(a, e.net, e.prefix)) {
        continue;
      }
      host_matched = true;
      if (PortAllowed(e.port, subject.port)) return Status::Ok();
    }
  } else {
    const std::string host = Lower(subject.host);
    for (const Entry& e : entries_) {
      const bool covers =
          (e.kind == Entry::Kind::kDomain && DomainCovers(e.domain, host)) ||
          (e.kind == Entry::Kind::kMx &&
           subject.kind == ProbeSubject::Kind::kMx && e.domain == host);
      if (!covers) continue;
      host_matched = true;
      if (PortAllowed(e.port, subject.port)) return Status::Ok();
    }
  }
  const std::string what =
      (subject.kind == ProbeSubject::Kind::kMx ? "mx:" : "") + subject.host;
  if (host_matched) {
    return Status::Error(what + PortText(subject.port) +
                         " is outside allowed_targets (that port is not "
                         "allowed for it)");
  }
  return Status::Error(what + " is outside allowed_targets");
}

Status ProbeFence::AllowsAddress(const std::string& address, int port,
                                 const std::string& name) const {
  uint8_t a[16] = {};
  const int family = ParseIp(address, a);
  if (family == 0) return Status::Error(address + " is not an IP address");
  for (const Entry& e : entries_) {
    if (e.kind == Entry::Kind::kNetwork && e.family == family &&
        PrefixMatch(a, e.net, e.prefix) && PortAllowed(e.port, port)) {
      return Status::Ok();
    }
  }
  if (has_address_entries_) {
    return Status::Error(name + " resolves to " + address + PortText(port) +
                         ", outside allowed_targets");
  }
  if (IsSpecialAddress(address)) {
    return Status::Error(name + " resolves to " + address +
                         ", a loopback, private or reserved address: only "
                         "an address or CIDR entry in allowed_targets opens "
                         "it");
  }
  return Status::Ok();
}

bool IsSpecialAddress(const std::string& address) {
  uint8_t a[16] = {};
  const int family = ParseIp(address, a);
  if (family == 0) return true;
  struct Net {
    const char* ip;
    int prefix;
  };
  static constexpr Net kV4[] = {
      {"0.0.0.0", 8},    {"10.0.0.0", 8},     {"100.64.0.0", 10},
      {"127.0.0.0", 8},  {"169.254.0.0", 16}, {"172.16.0.0", 12},
      {"192.0.0.0", 24}, {"192.168.0.0", 16}, {"198.18.0.0", 15},
      {"224.0.0.0", 4},  {"240.0.0.0", 4},
  };
  static constexpr Net kV6[] = {
      {"::", 128},   {"::1", 128},   {"::ffff:0:0", 96}, {"64:ff9b::", 96},
      {"fc00::", 7}, {"fe80::", 10}, {"ff00::", 8},      {"100::", 64},
  };
  uint8_t n[16] = {};
  if (family == 4) {
    for (const Net& net : kV4) {
      inet_pton(AF_INET, net.ip, n);
      if (PrefixMatch(a, n, net.prefix)) return true;
    }
    return false;
  }
  for (const Net& net : kV6) {
    inet_pton(AF_INET6, net.ip, n);
    if (PrefixMatch(a, n, net.prefix)) return true;
  }
  return false;
}

}  // namespace mailhealth
