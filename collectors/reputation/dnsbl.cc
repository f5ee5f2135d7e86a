#include "collectors/reputation/dnsbl.h"

#include <arpa/inet.h>

#include <algorithm>

#include "collectors/resolve/resolver_address.h"

namespace mailhealth::reputation {
namespace {

constexpr uint32_t kRateLimitedCode = 0x7fffffff;  // 127.255.255.255

std::string Reversed(const std::string& address) {
  const std::string ip = CanonicalIp(address);
  if (ip.empty()) return "";
  if (ip.find(':') == std::string::npos) {
    in_addr a{};
    if (inet_pton(AF_INET, ip.c_str(), &a) != 1) return "";
    const auto* b = reinterpret_cast<const unsigned char*>(&a.s_addr);
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." +
           std::to_string(b[1]) + "." + std::to_string(b[0]);
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, ip.c_str(), &a) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(63);
  for (int i = 15; i >= 0; --i) {
    if (!out.empty()) out += '.';
    out += kHex[a.s6_addr[i] & 0x0f];
    out += '.';
    out += kHex[a.s6_addr[i] >> 4];
  }
  return out;
}

bool InAny(const std::vector<CodeRange>& ranges, uint32_t a) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [a](const CodeRange& r) { return r.Contains(a); });
}

}  // namespace

const char* LookupStatusName(LookupStatus s) {
  switch (s) {
    case LookupStatus::kListed:
      return "listed";
    case LookupStatus::kNotListed:
      return "not_listed";
    case LookupStatus::kErrorBlockedResolver:
      return "error_blocked_resolver";
    case LookupStatus::kErrorRateLimited:
      return "error_rate_limited";
    case LookupStatus::kErrorRewritten:
      return "error_rewritten";
    case LookupStatus::kTimeout:
      return "timeout";
    case LookupStatus::kServFail:
      return "servfail";
    case LookupStatus::kRefused:
      return "refused";
    case LookupStatus::kOther:
      return "other";
  }
  return "other";
}

std::string DnsblQueryName(const std::string& address,
                           const std::string& zone) {
  std::string r = Reversed(address);
  if (r.empty()) return "";
  return r + "." + zone;
}

std::string ReverseName(const std::string& address) {
  std::string r = Reversed(address);
  if (r.empty()) return "";
  const bool v6 = CanonicalIp(address).find(':') != std::string::npos;
  return r + (v6 ? ".ip6.arpa" : ".in-addr.arpa");
}

Classification ClassifyAnswer(DnsStatus dns_status,
                              const std::vector<std::string>& answers,
                              const ZoneConfig& zone) {
  Classification c;
  switch (dns_status) {
    case DnsStatus::kNoError:
      break;
    case DnsStatus::kNxDomain:
      c.status = LookupStatus::kNotListed;
      return c;
    case DnsStatus::kTimeout:
      c.status = LookupStatus::kTimeout;
      return c;
    case DnsStatus::kServFail:
      c.status = LookupStatus::kServFail;
      return c;
    case DnsStatus::kRefused:
      c.status = LookupStatus::kRefused;
      return c;
    case DnsStatus::kFormErr:
    case DnsStatus::kOther:
      c.status = LookupStatus::kOther;
      return c;
  }
  if (answers.empty()) {  // NODATA: the name exists without an A record
    c.status = LookupStatus::kNotListed;
    return c;
  }
  bool rewritten = false, rate_limited = false, blocked = false, listed = false;
  std::vector<uint32_t> codes;
  for (const std::string& text : answers) {
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) {
      rewritten = true;  // not even IPv4: nothing a blocklist sends
      continue;
    }
    const uint32_t v = ntohl(a.s_addr);
    if ((v & 0xff000000u) != 0x7f000000u) {
      rewritten = true;
      continue;
    }
    codes.push_back(v);
    if (InAny(zone.error_codes, v)) {
      (v == kRateLimitedCode ? rate_limited : blocked) = true;
    } else if (InAny(zone.listed_codes, v)) {
      listed = true;
    }
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  if (codes.size() > kMaxReturnCodes) codes.resize(kMaxReturnCodes);
  for (uint32_t v : codes) {
    in_addr a{};
    a.s_addr = htonl(v);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    c.codes.push_back(buf);
  }
  if (rewritten) {
    c.status = LookupStatus::kErrorRewritten;
  } else if (rate_limited) {
    c.status = LookupStatus::kErrorRateLimited;
  } else if (blocked) {
    c.status = LookupStatus::kErrorBlockedResolver;
  } else if (listed) {
    c.status = LookupStatus::kListed;
    c.listed = true;
  } else {
    c.status = LookupStatus::kOther;
  }
  return c;
}

}  // namespace mailhealth::reputation
