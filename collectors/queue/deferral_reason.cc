#include "collectors/queue/deferral_reason.h"

#include <algorithm>
#include <cctype>

#include "exporter/strings.h"

namespace mailhealth {
namespace {

constexpr std::array<std::string_view, kDeferralReasonCount> kNames = {
    "local_service",         "local_delivery",
    "transport_unavailable", "connection_refused",
    "connection_timeout",    "dns_failure",
    "tls_failure",           "mailbox_full",
    "remote_temporary",      "other"};

bool ContainsAnyI(std::string_view hay,
                  std::initializer_list<std::string_view> needles) {
  for (auto n : needles) {
    if (ContainsI(hay, n)) return true;
  }
  return false;
}

// "TLS" as a word, case-sensitive: host names in reasons may be upper case
// but rarely contain "TLS" between non-alphanumerics.
bool ContainsWord(std::string_view hay, std::string_view word) {
  for (size_t pos = hay.find(word); pos != std::string_view::npos;
       pos = hay.find(word, pos + 1)) {
    bool left =
        pos == 0 || !std::isalnum(static_cast<unsigned char>(hay[pos - 1]));
    size_t end = pos + word.size();
    bool right = end == hay.size() ||
                 !std::isalnum(static_cast<unsigned char>(hay[end]));
    if (left && right) return true;
  }
  return false;
}

bool MailboxFullText(std::string_view reason) {
  return ContainsAnyI(
      reason, {"4.2.2", "quota", "mailbox full", "mailbox is full",
               "mailbox has exceeded", "out of storage", "insufficient storage",
               "insufficient system storage", "file too large"});
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

}  // namespace

std::string_view DeferralReasonName(DeferralReason r) {
  return kNames[static_cast<size_t>(r)];
}

const std::array<DeferralReason, kDeferralReasonCount>& AllDeferralReasons() {
  static const std::array<DeferralReason, kDeferralReasonCount> kAll = {
      DeferralReason::kLocalService,         DeferralReason::kLocalDelivery,
      DeferralReason::kTransportUnavailable, DeferralReason::kConnectionRefused,
      DeferralReason::kConnectionTimeout,    DeferralReason::kDnsFailure,
      DeferralReason::kTlsFailure,           DeferralReason::kMailboxFull,
      DeferralReason::kRemoteTemporary,      DeferralReason::kOther};
  return kAll;
}

LocalServiceMatcher::LocalServiceMatcher(
    const std::vector<std::string>& endpoints) {
  for (const std::string& raw : endpoints) {
    std::string_view e = raw;
    // Postfix's own prefixes in master.cf / content_filter notation.
    for (std::string_view p : {"inet:", "unix:"}) {
      if (e.substr(0, p.size()) == p) e.remove_prefix(p.size());
    }
    if (e.empty()) continue;
    if (e.find('/') != std::string_view::npos) {
      // A UNIX socket: Postfix prints the path as given in master.cf.
      needles_.push_back(ToLower(e));
      continue;
    }
    size_t colon = e.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == e.size()) {
      needles_.push_back(ToLower(e));
      continue;
    }
    std::string_view host = e.substr(0, colon);
    std::string_view port = e.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    // Postfix prints "connect to NAME[ADDR]:PORT": match the address in
    // brackets (whatever name it resolved to) and the name form.
    needles_.push_back(
        ToLower(std::string("[").append(host).append("]:").append(port)));
    needles_.push_back(ToLower(std::string(host) + ":" + std::string(port)));
  }
}

bool LocalServiceMatcher::Matches(std::string_view reason) const {
  std::string lower = ToLower(reason);
  for (const std::string& n : needles_) {
    // The endpoint must end where a port or path ends (":10024" must not
    // match ":100245").
    for (size_t pos = lower.find(n); pos != std::string::npos;
         pos = lower.find(n, pos + 1)) {
      size_t end = pos + n.size();
      if (end == lower.size() ||
          !std::isalnum(static_cast<unsigned char>(lower[end]))) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string> LocalDeliveryEndpoints(std::string_view out) {
  std::vector<std::string> endpoints;
  while (!out.empty()) {
    size_t nl = out.find('\n');
    std::string_view line = out.substr(0, nl);
    out.remove_prefix(nl == std::string_view::npos ? out.size() : nl + 1);
    size_t eq = line.find(" = ");
    if (eq == std::string_view::npos) continue;
    std::string_view name = line.substr(0, eq);
    std::string_view value = line.substr(eq + 3);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r'))
      value.remove_suffix(1);
    if (value.empty()) continue;
    if (name == "mailbox_command") {
      size_t start = value.find_first_not_of(" \t\"'");
      if (start == std::string_view::npos) continue;
      value.remove_prefix(start);
      std::string_view prog = value.substr(0, value.find_first_of(" \t\"'"));
      if (prog.find('/') != std::string_view::npos)
        endpoints.emplace_back(prog);
      continue;
    }
    if (name != "local_transport" && name != "virtual_transport" &&
        name != "mailbox_transport") {
      continue;
    }
    size_t colon = value.find(':');
    if (colon == std::string_view::npos) continue;  // a transport name only
    std::string_view transport = value.substr(0, colon);
    std::string_view nexthop = value.substr(colon + 1);
    if ((transport == "lmtp" || transport == "smtp") && !nexthop.empty()) {
      endpoints.emplace_back(nexthop);
    }
  }
  return endpoints;
}

namespace {

// The delivery agents' own words at the start of a reason (local(8) and
// pipe(8) take "temporary failure" from sys_exits for EX_TEMPFAIL).
bool LocalAgentText(std::string_view own) {
  for (std::string_view p :
       {"temporary failure", "command died with status",
        "command time limit exceeded", "cannot update mailbox",
        "cannot append message to", "maildir delivery failed",
        "delivery failed to mailbox", "unable to lock for exclusive access"}) {
    if (own.size() >= p.size() && ContainsI(own.substr(0, p.size()), p))
      return true;
  }
  return false;
}

// "connect to H[private/x]", "lost connection with H[/run/x] while ...":
// a UNIX socket, so a local agent.
bool UnixSocketEndpoint(std::string_view own) {
  for (std::string_view p : {"[private/", "[public/", "[/"}) {
    if (own.find(p) != std::string_view::npos) return true;
  }
  return false;
}

const LocalServiceMatcher& NoEndpoints() {
  static const LocalServiceMatcher kNone({});
  return kNone;
}

}  // namespace

DeferralReason ClassifyDeferralReason(std::string_view reason,
                                      const LocalServiceMatcher& local) {
  return ClassifyDeferralReason(reason, local, NoEndpoints());
}

DeferralReason ClassifyDeferralReason(std::string_view reason,
                                      const LocalServiceMatcher& local,
                                      const LocalServiceMatcher& delivery) {
  // 0. "delivery temporarily suspended: CAUSE" (the dead-site cache) is
  // classed by its cause.
  constexpr std::string_view kSuspended = "delivery temporarily suspended: ";
  while (reason.size() >= kSuspended.size() &&
         ContainsI(reason.substr(0, kSuspended.size()), kSuspended)) {
    reason.remove_prefix(kSuspended.size());
  }
  // 1. Split off the remote server's own text.
  std::string_view own = reason;
  std::string_view remote;
  if (ContainsI(reason.substr(0, 5), "host ")) {
    for (std::string_view sep : {" said: ", " refused to talk to me: "}) {
      size_t pos = reason.find(sep);
      if (pos != std::string_view::npos) {
        own = reason.substr(0, pos);
        remote = reason.substr(pos + sep.size());
        break;
      }
    }
  }

  if (local.Matches(own)) return DeferralReason::kLocalService;
  if (delivery.Matches(own) || UnixSocketEndpoint(own) || LocalAgentText(own)) {
    return MailboxFullText(reason) ? DeferralReason::kMailboxFull
                                   : DeferralReason::kLocalDelivery;
  }
  if (ContainsAnyI(own, {"mail transport unavailable",
                         "unknown mail transport error"})) {
    return DeferralReason::kTransportUnavailable;
  }
  if (ContainsAnyI(own, {"connection refused", "no route to host",
                         "network is unreachable"})) {
    return DeferralReason::kConnectionRefused;
  }
  if (ContainsI(own, "timed out")) return DeferralReason::kConnectionTimeout;
  if (ContainsAnyI(own, {"host or domain name not found", "name service error",
                         "no mx host", "host not found", "unable to look up",
                         "no data record", "dns lookup"})) {
    return DeferralReason::kDnsFailure;
  }
  if (ContainsWord(own, "TLS") || ContainsWord(own, "SSL") ||
      ContainsI(own, "certificate")) {
    return DeferralReason::kTlsFailure;
  }
  if (MailboxFullText(reason)) return DeferralReason::kMailboxFull;
  if ((!remote.empty() && remote.front() == '4') ||
      ContainsAnyI(reason, {"greylist", "graylist"})) {
    return DeferralReason::kRemoteTemporary;
  }
  return DeferralReason::kOther;
}

}  // namespace mailhealth
