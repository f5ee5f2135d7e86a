// Classifies a Postfix deferral reason ("delay_reason" in `postqueue -j`,
// the parenthesised line in `postqueue -p`) into the fixed classes of the
// `reason` label of mailhealth_queue_deferred_messages_by_reason.
//
// Pure and thread-compatible: no I/O, no global state.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace mailhealth {

// In the order of metrics.md; the first class that matches wins.
enum class DeferralReason {
  kLocalService = 0,
  kLocalDelivery,
  kTransportUnavailable,
  kConnectionRefused,
  kConnectionTimeout,
  kDnsFailure,
  kTlsFailure,
  kMailboxFull,
  kRemoteTemporary,
  kOther,
};
inline constexpr size_t kDeferralReasonCount = 10;

// The label value ("local_service", ...).
std::string_view DeferralReasonName(DeferralReason r);
// Every class, in label order.
const std::array<DeferralReason, kDeferralReasonCount>& AllDeferralReasons();

// The endpoints of `local_services` ("127.0.0.1:10024", "[::1]:10025",
// "localhost:24", "unix:/var/run/dovecot/lmtp", "private/amavis") turned
// into the substrings Postfix prints for them.
class LocalServiceMatcher {
 public:
  explicit LocalServiceMatcher(const std::vector<std::string>& endpoints);
  bool Matches(std::string_view reason) const;

 private:
  std::vector<std::string> needles_;
};

// The endpoints of local delivery read from `postconf` (the text of
// `postconf local_transport virtual_transport mailbox_transport
// mailbox_command`, "name = value" lines): the nexthop of an lmtp or smtp
// transport ("lmtp:unix:private/dovecot-lmtp" -> "unix:private/dovecot-lmtp",
// "lmtp:inet:127.0.0.1:24" -> "127.0.0.1:24") and the program of
// mailbox_command ("/usr/bin/procmail -a x" -> "/usr/bin/procmail"). The
// nexthop of local, virtual and pipe transports is a host name, not an
// endpoint, and is skipped.
std::vector<std::string> LocalDeliveryEndpoints(std::string_view postconf_out);

// The rules (docs/queue.md has the long version):
//  0. "delivery temporarily suspended: CAUSE" is classed by CAUSE.
//  1. A remote reply ("host H said: TEXT", "host H refused to talk to me:
//     TEXT") is split: the network classes (refused, timeout, DNS, TLS)
//     only look at Postfix's own words before it, never at TEXT, so a
//     remote server that *quotes* "Connection refused" is not a refused
//     connection.
//  2. Classes are tried in enum order; the first match wins.
//  local_delivery: an endpoint of `delivery` (from postconf), a UNIX
//  socket in Postfix's own words ("connect to H[private/dovecot-lmtp]:
//  ..."), or the texts of local(8), virtual(8) and pipe(8) ("temporary
//  failure", "Command died with status N", "cannot update mailbox ...");
//  a full mailbox reported by the store stays mailbox_full.
DeferralReason ClassifyDeferralReason(std::string_view reason,
                                      const LocalServiceMatcher& local,
                                      const LocalServiceMatcher& delivery);
DeferralReason ClassifyDeferralReason(std::string_view reason,
                                      const LocalServiceMatcher& local);

}  // namespace mailhealth
