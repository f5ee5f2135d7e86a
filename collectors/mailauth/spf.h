// SPF (RFC 7208): record selection and check_host(), evaluated over any
// DNS (an interface, so the evaluator is tested on fixed answers and run on
// the shared resolver library).
//
// Our own evaluator rather than Debian's libspf2: libspf2 resolves through
// libc (or its own resolver) and cannot use the collector's configured
// resolvers and deadline; it does not report the number of DNS-querying
// terms and void lookups a record uses, which is what warns before the
// limit of 10 breaks every check; and its macro expansion has had remote
// code execution bugs (CVE-2021-20314, CVE-2023-42118). This one has no
// allocation-size arithmetic on untrusted input beyond std::string.
//
// Limits as RFC 7208 section 4.6.4 counts them: the mechanisms include, a,
// mx, ptr, exists and the modifier redirect count toward 10 (more:
// permerror); an mx or ptr term looks up at most 10 names (more:
// permerror); more than 2 void lookups (NXDOMAIN, or NOERROR without an
// answer) of those terms are a permerror.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/resolve/dns_client.h"

namespace mailhealth::mailauth {

enum class SpfResult : uint8_t {
  kPass,
  kFail,
  kSoftFail,
  kNeutral,
  kNone,
  kPermError,
  kTempError,
  kCount
};
inline constexpr size_t kSpfResultCount =
    static_cast<size_t>(SpfResult::kCount);
const char* SpfResultName(SpfResult r);

inline constexpr int kMaxDnsLookups = 10;
inline constexpr int kMaxVoidLookups = 2;
inline constexpr int kMaxMxOrPtrNames = 10;

// One DNS query, answered synchronously.
class SpfDns {
 public:
  virtual ~SpfDns() = default;
  virtual LookupResult Lookup(const std::string& name, uint16_t qtype) = 0;
};

struct SpfOutcome {
  SpfResult result = SpfResult::kNone;
  // DNS-querying terms and void lookups, summed over the includes and the
  // redirect that were evaluated.
  int dns_lookups = 0;
  int void_lookups = 0;
  // v=spf1 records at the domain itself (0: none; 2 or more: permerror).
  int records = 0;
  std::string reason;  // why a permerror or temperror, "" otherwise
};

struct SpfRequest {
  std::string ip;      // IPv4 or IPv6 literal
  std::string domain;  // the domain whose policy is checked
  std::string sender;  // MAIL FROM ("postmaster@DOMAIN" when empty)
  std::string helo;    // the HELO name (DOMAIN when empty)
};

// check_host() for `req`.
SpfOutcome CheckHost(const SpfRequest& req, SpfDns& dns);

// Walks every term of the record tree (a match does not stop it, as for an
// address that matches nothing): the most DNS-querying terms and void
// lookups any check of this domain can use. The result is that of the
// walk (permerror when a limit is passed).
SpfOutcome WalkPolicy(const std::string& domain, SpfDns& dns);

// Macro expansion (RFC 7208 section 7) of a domain-spec; exposed for tests.
// Returns false on a malformed macro.
struct MacroContext {
  std::string sender, local, sender_domain, domain, ip, helo;
  bool v6 = false;
};
bool ExpandMacros(std::string_view spec, const MacroContext& ctx,
                  std::string* out);

}  // namespace mailhealth::mailauth
