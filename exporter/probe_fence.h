// ProbeFence: which targets a /probe module may send packets to (its
// `allowed_targets`), so that /probe is not an open proxy
// (blackbox_exporter's CVE-2020-16248). Pure: no I/O, thread-safe after
// construction.
//
// An entry is, optionally followed by :PORT ([V6]:PORT for IPv6):
//   example.com      a domain: itself and its subdomains (a host name is a
//                    domain without subdomains), and mx:example.com
//   mx:example.com   the MX of that domain only (its MX hosts, whatever
//                    their names)
//   192.0.2.10       an address; 2001:db8::25
//   192.0.2.0/24     a CIDR; 2001:db8::/32
// Without :PORT an entry allows the SMTP ports 25, 465 and 587 only.
// No entry: nothing is allowed.
//
// Two checks, both before the first packet to the target:
// 1. the target itself (ProbeSubject): an IP literal must be in an address
//    or CIDR entry; a host name or mx:DOMAIN in a domain entry (mx: also in
//    an mx: entry);
// 2. every address a name resolves to (AllowsAddress): in an address or
//    CIDR entry; or, when the module lists none, any address except the
//    special ones (loopback, private, link-local, shared, benchmark,
//    multicast, unspecified, ULA, mapped), which only an explicit entry
//    opens. So a name of an allowed domain cannot lead the prober into
//    the network it stands in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/status.h"

namespace mailhealth {

// What the fence sees of a target before any I/O.
struct ProbeSubject {
  enum class Kind { kName, kAddress, kMx };
  Kind kind = Kind::kName;
  // kName: the host name; kAddress: the IP literal (no brackets); kMx: the
  // domain. Names are compared case-insensitively, without a trailing dot.
  std::string host;
  // The port the prober will connect to; -1 when it sends nothing to the
  // target itself (a dns probe asks its resolvers about the name).
  int port = -1;
};

class ProbeFence {
 public:
  // The SMTP ports an entry without :PORT allows.
  static constexpr int kDefaultPorts[] = {25, 465, 587};

  ProbeFence() = default;  // allows nothing
  // Parses the entries; the error names the first bad one.
  static Result<ProbeFence> Parse(const std::vector<std::string>& entries);

  bool empty() const { return entries_.empty(); }
  bool has_address_entries() const { return has_address_entries_; }

  // OK, or why not (one line, for the 403 answer).
  Status AllowsSubject(const ProbeSubject& subject) const;
  // `address` (an IP literal) that `name` resolved to, at `port`.
  Status AllowsAddress(const std::string& address, int port,
                       const std::string& name) const;

  struct Entry {
    enum class Kind { kDomain, kMx, kNetwork };
    Kind kind = Kind::kDomain;
    std::string domain;  // kDomain, kMx: lower case, no trailing dot
    int family = 0;      // kNetwork: 4 or 6
    uint8_t net[16] = {};
    int prefix = 0;
    int port = -1;  // -1: kDefaultPorts
    std::string text;
  };

 private:
  std::vector<Entry> entries_;
  bool has_address_entries_ = false;
};

// Parses one entry (for config errors that name it).
Result<ProbeFence::Entry> ParseFenceEntry(const std::string& text);

// True for loopback, private, link-local, shared (100.64/10), benchmark
// (198.18/15), multicast, reserved, unspecified, ULA and IPv4-mapped
// addresses: the ones an entry must list explicitly.
bool IsSpecialAddress(const std::string& address);

}  // namespace mailhealth
