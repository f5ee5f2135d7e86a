#include "collectors/log/log_parser.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstring>

#include "collectors/log/log_text.h"

namespace mailhealth::log {
namespace {

using std::string_view;

constexpr string_view kProcessNames[] = {
    "smtpd",   "smtp",   "lmtp",   "local", "virtual",    "pipe",   "qmgr",
    "cleanup", "pickup", "bounce", "error", "postscreen", "master", "other"};
constexpr string_view kSeverityNames[] = {"info", "warning", "error", "fatal",
                                          "panic"};
constexpr string_view kTransportNames[] = {"smtp", "lmtp",  "local", "virtual",
                                           "pipe", "error", "other"};
constexpr string_view kStatusNames[] = {"sent", "deferred", "bounced",
                                        "expired"};
constexpr string_view kStageNames[] = {"connect", "helo",    "mail", "rcpt",
                                       "data",    "content", "other"};
constexpr string_view kReasonNames[] = {
    "relay_denied", "unknown_user", "rbl",     "helo", "sender",
    "client",       "policy",       "content", "other"};
constexpr string_view kEventNames[] = {
    "connection_timeout",
    "connection_refused",
    "connection_failed",
    "host_not_found",
    "lost_connection",
    "remote_lost_connection",
    "client_timeout",
    "conversation_timeout",
    "tls_failure",
    "sasl_auth_failed",
    "content_filter_unavailable",
    "milter_failure",
    "improper_pipelining",
    "too_many_errors",
    "non_smtp_command",
    "client_hostname_unverified",
    "postscreen_pregreet",
    "postscreen_dnsbl",
    "bounce_notification",
    "daemon_abnormal_exit",
    "mailbox_full",
};
static_assert(std::size(kProcessNames) == N<Process>());
static_assert(std::size(kSeverityNames) == N<Severity>());
static_assert(std::size(kTransportNames) == N<Transport>());
static_assert(std::size(kStatusNames) == N<DeliveryStatus>());
static_assert(std::size(kStageNames) == N<RejectStage>());
static_assert(std::size(kReasonNames) == N<RejectReason>());
static_assert(std::size(kEventNames) == N<Event>());

// Known starts of Postfix informational messages (after an optional queue
// ID). A Postfix line that starts with none of these, and is not a
// warning/error/fatal/panic, counts as unsupported.
constexpr string_view kKnownStarts[] = {
    "to=", "from=", "client=", "message-id=", "removed",
    "uid=", "reject:", "reject_warning:", "milter-reject:", "milter-discard:",
    "milter-hold:", "proxy-reject:", "proxy-accept:", "hold:", "discard:",
    "redirect:", "filter:", "replace:", "prepend:", "info:", "warning:",
    "resent-message-id=", "sender non-delivery notification",
    "sender delivery status notification",
    "postmaster non-delivery notification", "sender ",
    "orig_to=", "connect from", "disconnect from", "lost connection",
    "timeout after", "too many errors", "improper command pipelining",
    "connect to", "CONNECT from", "PASS ", "DNSBL rank", "HANGUP", "PREGREET",
    "COMMAND ", "WHITELISTED", "ALLOWLISTED", "BLACKLISTED", "DENYLISTED",
    "WHITELIST", "ALLOWLIST", "BARE NEWLINE", "NON-SMTP COMMAND", "DISCONNECT",
    "DATA ", "BDAT ", "NOQUEUE", "statistics:", "daemon started", "reload",
    "terminating", "table ", "setting up TLS", "SSL_accept", "SSL_connect",
    "Anonymous TLS", "Trusted TLS", "Untrusted TLS", "Verified TLS", "TLS",
    "host ", "Host or domain", "conversation with", "status=", "starting",
    "stopping", "refreshing", "executing", "Postfix", "enabling PIX", "cache ",
    "closing", "lost ", "Cannot start TLS", "server certificate", "certificate",
    "peer certificate", "Trusted ", "Untrusted ", "Verified ", "Anonymous ",
    "SASL", "dict_", "error ", "delay", "deferred", "bounced", "sent",
    "expired", "passing", "skipping", "done", "NOTICE", "mail ", "client ",
    "stop", "start", "Received", "initializing", "request", "fatal", "panic",
    "pid ", "MX ", "no MX", "conn_use", "queue ", "queued", "flush", "requeue",
    "delete", "Deleted", "Requeued", "Released", "placed on hold",
    "released from hold", "postfix", "using ", "dnsblog", "addr ", "warning",
    "policy", "open", "nrcpt", "size=", "(", "Mail ", "mail system",
    "restarting", "stopping the Postfix", "starting the Postfix",
    "refreshing the Postfix", "Postfix mail system", "verify", "address ",
    "Deleted:", "Requeued:", "Released from hold:", "Placed on hold:",
    // postfix-script
    "the Postfix", "waiting for", "discarding", "skipped", "network",
    "Renamed"};

// The text of a row of a ByFirstChar table (one overload per row type).
string_view Text(string_view s) { return s; }

// The rows of a table by the first character of their text (`Text(row)`):
// a message is compared with the rows of its first character only.
template <typename Row>
class ByFirstChar {
 public:
  template <size_t kRows>
  explicit ByFirstChar(const Row (&rows)[kRows]) {
    for (const Row& r : rows)
      by_first_[static_cast<unsigned char>(Text(r)[0])].push_back(r);
  }
  // The rows whose text starts with the first character of `m` (none for
  // an empty `m`: no row's text is empty).
  const std::vector<Row>& Of(string_view m) const {
    return by_first_[m.empty() ? 0 : static_cast<unsigned char>(m[0])];
  }

 private:
  std::array<std::vector<Row>, 256> by_first_;
};

struct StartTable {
  ByFirstChar<string_view> starts{kKnownStarts};
  bool Known(string_view m) const {
    for (string_view s : starts.Of(m))
      if (StartsWith(m, s)) return true;
    return false;
  }
};
const StartTable& Starts() {
  static const StartTable t;
  return t;
}

// Does the message start with a real queue ID ("EEE0EA726CC: ",
// "4PbC4x469Jz3tBr: ") or "NOQUEUE: "? Stricter than StripQueueId: at least
// 6 characters with a digit or no lower case, so that anvil's
// "statistics: ..." is not a message.
bool TrafficQueueId(string_view m) {
  if (StartsWith(m, "NOQUEUE: ")) return true;
  size_t i = 0;
  bool digit = false, lower = false;
  while (i < m.size() && i < 24 && IsAlnum(m[i])) {
    digit = digit || (m[i] >= '0' && m[i] <= '9');
    lower = lower || (m[i] >= 'a' && m[i] <= 'z');
    ++i;
  }
  return i >= 6 && i + 1 < m.size() && m[i] == ':' && m[i + 1] == ' ' &&
         (digit || !lower);
}

// Strips a queue ID ("4PbC4x469Jz3tBr: ", "NOQUEUE: "); returns true when
// one was present.
bool StripQueueId(string_view* m) {
  size_t i = 0;
  const size_t n = m->size();
  while (i < n && i < 24 && IsAlnum((*m)[i])) ++i;
  if (i >= 1 && i + 1 < n && (*m)[i] == ':' && (*m)[i + 1] == ' ') {
    m->remove_prefix(i + 2);
    return true;
  }
  return false;
}

Transport TransportOf(Process p) {
  switch (p) {
    case Process::kSmtp:
      return Transport::kSmtp;
    case Process::kLmtp:
      return Transport::kLmtp;
    case Process::kLocal:
      return Transport::kLocal;
    case Process::kVirtual:
      return Transport::kVirtual;
    case Process::kPipe:
      return Transport::kPipe;
    case Process::kError:
      return Transport::kError;
    default:
      return Transport::kOther;
  }
}

inline void Inc(InstanceCounters* c, Event e) {
  ++c->events[static_cast<size_t>(e)];
}

// "connect to TARGET: reason" (the "connect to " already stripped).
void ConnectEvent(string_view rest, InstanceCounters* c) {
  size_t colon = rest.find(": ");
  if (colon == string_view::npos) return;
  string_view target = rest.substr(0, colon);
  string_view why = rest.substr(colon + 2);
  // A target without an address, a loopback address, or a UNIX socket
  // ("mail.example[private/dovecot-lmtp]": an LMTP store) is a local
  // service.
  size_t open = target.find('[');
  string_view addr =
      open == string_view::npos ? string_view() : target.substr(open + 1);
  bool local = open == string_view::npos || StartsWith(addr, "127.") ||
               StartsWith(addr, "::1]") ||
               addr.substr(0, addr.find(']')).find('/') != string_view::npos;
  if (local) {
    Inc(c, Event::kContentFilterUnavailable);
  } else if (StartsWith(why, "Connection timed out")) {
    Inc(c, Event::kConnectionTimeout);
  } else if (StartsWith(why, "Connection refused")) {
    Inc(c, Event::kConnectionRefused);
  } else {
    Inc(c, Event::kConnectionFailed);
  }
}

// Events named by the reason text of a deferred/bounced delivery.
void DeliveryReasonEvents(string_view reason, string_view dsn,
                          InstanceCounters* c) {
  if (StartsWith(reason, "connect to ")) {
    ConnectEvent(reason.substr(11), c);
  } else if (StartsWith(reason, "Host or domain name not found")) {
    Inc(c, Event::kHostNotFound);
  } else if (StartsWith(reason, "conversation with ")) {
    if (Contains(reason, "timed out")) Inc(c, Event::kConversationTimeout);
  } else if (StartsWith(reason, "lost connection with ")) {
    Inc(c, Event::kRemoteLostConnection);
  } else if (StartsWith(reason, "Cannot start TLS")) {
    Inc(c, Event::kTlsFailure);
  }
  if (dsn.size() >= 5 && dsn[1] == '.' && dsn.substr(2, 3) == "2.2" &&
      (dsn.size() == 5 || !IsDigit(dsn[5])))
    Inc(c, Event::kMailboxFull);
}

// A delivery status line ("to=<...>, relay=..., dsn=X, status=Y (...)").
// Returns true when a status= field was found.
bool Delivery(Process p, string_view m, InstanceCounters* c) {
  size_t dsn_at = m.find(", dsn=");
  size_t from = dsn_at == string_view::npos ? 0 : dsn_at;
  size_t st = m.find(", status=", from);
  if (st == string_view::npos) return false;
  string_view dsn;
  if (dsn_at != string_view::npos) {
    dsn = m.substr(dsn_at + 6, st > dsn_at + 6 ? st - dsn_at - 6 : 0);
  }
  string_view rest = m.substr(st + 9);
  DeliveryStatus s;
  string_view reason;
  if (StartsWith(rest, "sent")) {
    s = DeliveryStatus::kSent;
  } else if (StartsWith(rest, "deferred")) {
    s = DeliveryStatus::kDeferred;
    reason = rest.substr(8);
  } else if (StartsWith(rest, "bounced")) {
    s = DeliveryStatus::kBounced;
    reason = rest.substr(7);
  } else if (StartsWith(rest, "expired") || StartsWith(rest, "force-expired")) {
    s = DeliveryStatus::kExpired;
  } else {
    return true;  // deliverable/undeliverable (address probes): not deliveries
  }
  ++c->deliveries[static_cast<size_t>(TransportOf(p))][static_cast<size_t>(s)];
  if (StartsWith(reason, " (")) {
    DeliveryReasonEvents(reason.substr(2), dsn, c);
  }
  return true;
}

// "CMD from client: text" after "reject: " (smtpd, postscreen).
void SmtpReject(string_view rest, bool milter, InstanceCounters* c) {
  size_t sp = rest.find(' ');
  string_view cmd = rest.substr(0, sp == string_view::npos ? rest.size() : sp);
  RejectStage stage = StageOf(cmd);
  RejectReason reason = ReasonOf(rest);
  if (reason == RejectReason::kOther && milter) {
    reason = stage == RejectStage::kData ? RejectReason::kContent
                                         : RejectReason::kPolicy;
  }
  ++c->rejects[static_cast<size_t>(stage)][static_cast<size_t>(reason)];
}

void Reject(Process p, string_view rest, bool milter, InstanceCounters* c) {
  if (p == Process::kCleanup) {
    ++c->rejects[static_cast<size_t>(RejectStage::kContent)]
                [static_cast<size_t>(RejectReason::kContent)];
  } else {
    SmtpReject(rest, milter, c);
  }
}

// Warning texts (after "warning: ").
void WarningEvents(Process p, string_view w, InstanceCounters* c) {
  // Dispatch on the first letter; a warning that matches none of its
  // letter's shapes falls through to the checks below (a client name such
  // as "host-1.example[...]: SASL ..." starts with any letter).
  switch (w.empty() ? '\0' : w[0]) {
    case 'S':
      if (StartsWith(w, "SSL_accept error") ||
          StartsWith(w, "SSL_connect error")) {
        Inc(c, Event::kTlsFailure);
        return;
      }
      break;
    case 'T':
      if (StartsWith(w, "TLS library problem") ||
          StartsWith(w, "TLS handshake")) {
        Inc(c, Event::kTlsFailure);
        return;
      }
      break;
    case 'n':
      if (StartsWith(w, "non-SMTP command from")) {
        Inc(c, Event::kNonSmtpCommand);
        return;
      }
      break;
    case 'h':
      if (StartsWith(w, "hostname ") &&
          Contains(w, " does not resolve to address")) {
        Inc(c, Event::kClientHostnameUnverified);
        return;
      }
      break;
    case 'p':
      if (p == Process::kMaster && StartsWith(w, "process ") &&
          (Contains(w, " exit status ") || Contains(w, " killed by signal "))) {
        Inc(c, Event::kDaemonAbnormalExit);
        return;
      }
      break;
    case 'c':
      if (StartsWith(w, "connect to ")) {
        ConnectEvent(w.substr(11), c);
        return;
      }
      break;
    default:
      break;
  }
  if (p == Process::kSmtpd) {
    // "unknown[192.0.2.1]: SASL LOGIN authentication failed: ..."
    size_t s = w.find(": SASL ");
    if (s != string_view::npos &&
        Contains(w.substr(s), "authentication failed")) {
      Inc(c, Event::kSaslAuthFailed);
      return;
    }
  }
  string_view q = w;
  StripQueueId(&q);
  if (StartsWith(q, "milter ")) Inc(c, Event::kMilterFailure);
}

// The classes of Postfix info messages that count something, by the text
// they start with (after the queue ID): `count` counts the message and
// returns whether it was understood.
struct InfoClass {
  string_view start;
  bool (*count)(Process p, string_view body, InstanceCounters* c);
};
string_view Text(const InfoClass& k) { return k.start; }

template <Event kEvent>
bool CountEvent(Process, string_view, InstanceCounters* c) {
  Inc(c, kEvent);
  return true;
}
// The same text from another daemon is understood, but counts nothing.
template <Event kEvent>
bool CountSmtpdEvent(Process p, string_view, InstanceCounters* c) {
  if (p == Process::kSmtpd) Inc(c, kEvent);
  return true;
}
bool CountDelivery(Process p, string_view body, InstanceCounters* c) {
  return Delivery(p, body, c);
}
// qmgr's "from=..." lines: only "status=expired" ones count (another
// daemon's "from=" line is only looked up).
bool CountQmgrFrom(Process p, string_view body, InstanceCounters* c) {
  if (p != Process::kQmgr) return Starts().Known(body);
  Delivery(p, body, c);
  return true;
}
bool CountReject(Process p, string_view body, InstanceCounters* c) {
  Reject(p, body.substr(8), false, c);  // after "reject: "
  return true;
}
bool CountMilterReject(Process p, string_view body, InstanceCounters* c) {
  Reject(p, body.substr(15), true, c);  // after "milter-reject: "
  return true;
}
bool CountProxyReject(Process, string_view, InstanceCounters* c) {
  ++c->rejects[static_cast<size_t>(RejectStage::kData)]
              [static_cast<size_t>(RejectReason::kContent)];
  return true;
}
bool CountConnect(Process, string_view body, InstanceCounters* c) {
  ConnectEvent(body.substr(11), c);  // after "connect to "
  return true;
}

constexpr InfoClass kInfoClasses[] = {
    {"to=", CountDelivery},
    {"timeout after ", CountSmtpdEvent<Event::kClientTimeout>},
    {"too many errors after ", CountEvent<Event::kTooManyErrors>},
    {"from=", CountQmgrFrom},
    {"reject: ", CountReject},
    {"milter-reject: ", CountMilterReject},
    {"proxy-reject: ", CountProxyReject},
    {"lost connection after ", CountSmtpdEvent<Event::kLostConnection>},
    {"improper command pipelining after ",
     CountEvent<Event::kImproperPipelining>},
    {"connect to ", CountConnect},
    {"sender non-delivery notification",
     CountEvent<Event::kBounceNotification>},
    {"PREGREET ", CountEvent<Event::kPostscreenPregreet>},
    {"DNSBL rank ", CountEvent<Event::kPostscreenDnsbl>},
    {"SSL_accept error", CountEvent<Event::kTlsFailure>},
    {"SSL_connect error", CountEvent<Event::kTlsFailure>},
};

const ByFirstChar<InfoClass>& InfoClasses() {
  static const ByFirstChar<InfoClass> t(kInfoClasses);
  return t;
}

// An info message after its queue ID (`qid`: there was one): counts its
// class; false when it is not understood. A message that starts no class
// may be a delivery line without "to=", else it is only looked up.
bool CountInfoClass(Process p, string_view body, bool qid,
                    InstanceCounters* c) {
  for (const InfoClass& k : InfoClasses().Of(body))
    if (StartsWith(body, k.start)) return k.count(p, body, c);
  // Delivery lines without "to=" ("user@example.com, relay=..."), whatever
  // the address's first character.
  if (qid && p != Process::kSmtpd && p != Process::kPostscreen &&
      p != Process::kCleanup && Contains(body, ", relay="))
    return Delivery(p, body, c);
  return Starts().Known(body);
}

// An info message (after the syslog prefix): counts it; false when it is
// not understood.
bool CountInfo(Process p, string_view body, InstanceCounters* c) {
  const string_view unstripped = body;
  const bool qid = StripQueueId(&body);
  if (CountInfoClass(p, body, qid, c)) return true;
  // "statistics: ...", "Deleted: 3 messages": a word that looked like a
  // queue ID.
  return qid && Starts().Known(unstripped);
}

// Cuts "warning: ", "error: ", "fatal: " or "panic: " off `*body` (a
// switch on the first letter: every line comes here).
Severity CutSeverity(string_view* body) {
  const string_view m = *body;
  Severity sev = Severity::kInfo;
  switch (m.empty() ? '\0' : m[0]) {
    case 'w':
      if (StartsWith(m, "warning: "))
        sev = Severity::kWarning, body->remove_prefix(9);
      break;
    case 'e':
      if (StartsWith(m, "error: "))
        sev = Severity::kError, body->remove_prefix(7);
      break;
    case 'f':
      if (StartsWith(m, "fatal: "))
        sev = Severity::kFatal, body->remove_prefix(7);
      break;
    case 'p':
      if (StartsWith(m, "panic: "))
        sev = Severity::kPanic, body->remove_prefix(7);
      break;
    default:
      break;
  }
  return sev;
}

}  // namespace

std::string_view Name(Process v) {
  return kProcessNames[static_cast<size_t>(v)];
}
std::string_view Name(Severity v) {
  return kSeverityNames[static_cast<size_t>(v)];
}
std::string_view Name(Transport v) {
  return kTransportNames[static_cast<size_t>(v)];
}
std::string_view Name(DeliveryStatus v) {
  return kStatusNames[static_cast<size_t>(v)];
}
std::string_view Name(RejectStage v) {
  return kStageNames[static_cast<size_t>(v)];
}
std::string_view Name(RejectReason v) {
  return kReasonNames[static_cast<size_t>(v)];
}
std::string_view Name(Event v) { return kEventNames[static_cast<size_t>(v)]; }

Process ProcessOf(std::string_view d) {
  switch (d.size()) {
    case 4:
      if (d == "smtp") return Process::kSmtp;
      if (d == "lmtp") return Process::kLmtp;
      if (d == "pipe") return Process::kPipe;
      if (d == "qmgr") return Process::kQmgr;
      break;
    case 5:
      if (d == "smtpd") return Process::kSmtpd;
      if (d == "local") return Process::kLocal;
      if (d == "error") return Process::kError;
      break;
    case 6:
      if (d == "pickup") return Process::kPickup;
      if (d == "bounce") return Process::kBounce;
      if (d == "master") return Process::kMaster;
      break;
    case 7:
      if (d == "virtual") return Process::kVirtual;
      if (d == "cleanup") return Process::kCleanup;
      break;
    case 10:
      if (d == "postscreen") return Process::kPostscreen;
      break;
    default:
      break;
  }
  return Process::kOther;
}

RejectStage StageOf(std::string_view cmd) {
  if (cmd == "RCPT") return RejectStage::kRcpt;
  if (cmd == "CONNECT") return RejectStage::kConnect;
  if (cmd == "EHLO" || cmd == "HELO") return RejectStage::kHelo;
  if (cmd == "MAIL") return RejectStage::kMail;
  if (cmd == "DATA" || cmd == "END-OF-MESSAGE" || cmd == "BDAT")
    return RejectStage::kData;
  return RejectStage::kOther;
}

RejectReason ReasonOf(std::string_view t) {
  if (Contains(t, "Relay access denied")) return RejectReason::kRelayDenied;
  if (Contains(t, "User unknown") || Contains(t, "user unknown") ||
      Contains(t, "Unknown user") || Contains(t, "unknown user") ||
      Contains(t, "undeliverable address") || Contains(t, "does not exist"))
    return RejectReason::kUnknownUser;
  if (Contains(t, "blocked using ")) return RejectReason::kRbl;
  if (Contains(t, "Helo command rejected")) return RejectReason::kHelo;
  if (Contains(t, "Sender address rejected")) return RejectReason::kSender;
  if (Contains(t, "Client host rejected")) return RejectReason::kClient;
  if (Contains(t, "Recipient address rejected") ||
      Contains(t, "Data command rejected") ||
      Contains(t, "too many connections") || Contains(t, "Policy") ||
      Contains(t, "policy") || Contains(t, "Greylist") ||
      Contains(t, "greylist") || Contains(t, "pipelining") ||
      Contains(t, "Access denied"))
    return RejectReason::kPolicy;
  if (Contains(t, "content rejected") || Contains(t, "Message size exceeds") ||
      Contains(t, "spam") || Contains(t, "Spam"))
    return RejectReason::kContent;
  return RejectReason::kOther;
}

InstanceCounters& LogCounters::Instance(std::string_view name) {
  if (instances.empty()) {
    instances.reserve(kMaxInstances);
    instances.emplace_back();
    instances.back().name = "postfix";
  }
  return BoundedEntry(instances, &InstanceCounters::name, name, kMaxInstances);
}

const InstanceCounters* LogCounters::Find(std::string_view name) const {
  for (const InstanceCounters& i : instances)
    if (i.name == name) return &i;
  return nullptr;
}

InstanceCounters LogCounters::Total() const {
  InstanceCounters t;
  for (const InstanceCounters& i : instances) {
    for (size_t p = 0; p < N<Process>(); ++p)
      for (size_t v = 0; v < N<Severity>(); ++v)
        t.messages[p][v] += i.messages[p][v];
    for (size_t p = 0; p < N<Transport>(); ++p)
      for (size_t v = 0; v < N<DeliveryStatus>(); ++v)
        t.deliveries[p][v] += i.deliveries[p][v];
    for (size_t p = 0; p < N<RejectStage>(); ++p)
      for (size_t v = 0; v < N<RejectReason>(); ++v)
        t.rejects[p][v] += i.rejects[p][v];
    for (size_t e = 0; e < N<Event>(); ++e) t.events[e] += i.events[e];
  }
  return t;
}

std::string CheckRegex(const std::string& regex) {
  RE2::Options o;
  o.set_log_errors(false);
  RE2 re(regex, o);
  return re.ok() ? std::string() : re.error();
}

struct LineProcessor::RuleSet {
  RuleSet() : set(Opts(), RE2::UNANCHORED) {}
  static RE2::Options Opts() {
    RE2::Options o;
    o.set_log_errors(false);
    return o;
  }
  RE2::Set set;
  std::vector<size_t> index;  // set position -> rule index
};

LineProcessor::LineProcessor(std::vector<Rule> rules,
                             std::vector<std::string> syslog_names) {
  // "NAME=INSTANCE": NAME is a syslog name of Postfix, its lines count for
  // INSTANCE.
  for (const std::string& n : syslog_names) {
    const size_t eq = n.find('=');
    syslog_names_.push_back(n.substr(0, eq));
    if (eq != std::string::npos)
      static_names_.emplace_back(n.substr(0, eq), n.substr(eq + 1));
  }
  instance_names_ = static_names_;
  // One RE2::Set per process named in a filter (its own rules plus every
  // rule without a filter) and one for all other lines (the rules without a
  // filter): each line is scanned once, whatever the number of rules.
  std::vector<std::string> procs;
  for (const auto& r : rules) {
    rule_names_.push_back(r.name);
    if (!r.process.empty() &&
        std::find(procs.begin(), procs.end(), r.process) == procs.end())
      procs.push_back(r.process);
  }
  auto build = [&](const std::string* proc) -> std::unique_ptr<RuleSet> {
    auto set = std::make_unique<RuleSet>();
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!rules[i].process.empty() && (!proc || rules[i].process != *proc))
        continue;
      std::string err;
      if (set->set.Add(rules[i].regex, &err) >= 0) set->index.push_back(i);
    }
    if (set->index.empty() || !set->set.Compile()) return nullptr;
    return set;
  };
  all_ = build(nullptr);
  for (const auto& p : procs) by_process_.emplace_back(p, build(&p));
}

LineProcessor::~LineProcessor() = default;

void LineProcessor::SetProbeHelos(std::vector<std::string> names) {
  probe_needles_.clear();
  for (const std::string& n : names) {
    if (!n.empty()) probe_needles_.push_back("helo=<" + n + ">");
  }
}

void LineProcessor::SetInstanceNames(
    std::vector<std::pair<std::string, std::string>> names,
    std::vector<std::pair<std::string, std::string>> services) {
  service_names_ = std::move(services);
  std::vector<std::pair<std::string, std::string>> all = static_names_;
  for (auto& n : names) {
    bool known = false;
    for (const auto& s : all) known = known || s.first == n.first;
    if (!known && !n.first.empty()) all.push_back(std::move(n));
  }
  instance_names_ = std::move(all);
}

string_view LineProcessor::InstanceFor(string_view program) const {
  if (!instance_names_.empty()) {
    const string_view first = program.substr(0, program.find('/'));
    for (const auto& [name, instance] : instance_names_)
      if (first == name) return instance;
  }
  return InstanceOf(program);
}

string_view LineProcessor::ServiceFor(string_view program) const {
  const size_t slash = program.find('/');
  if (!service_names_.empty() && slash == program.rfind('/')) {
    const string_view first = program.substr(0, slash);
    for (const auto& [name, service] : service_names_)
      if (first == name) return service;
  }
  return ServiceOf(program);
}

bool LineProcessor::IsPostfixProgram(std::string_view program) const {
  if (StartsWith(program, "postfix")) {
    return program.size() == 7 || program[7] == '/' || program[7] == '-';
  }
  const string_view first = program.substr(0, program.find('/'));
  for (const auto& n : syslog_names_)
    if (first == n) return true;
  for (const auto& n : instance_names_)
    if (first == n.first) return true;
  return false;
}

void LineProcessor::MatchRules(std::string_view daemon, std::string_view m,
                               LogCounters* c) {
  RuleSet* set = all_.get();
  for (auto& [proc, s] : by_process_) {
    if (proc == daemon) {
      set = s.get();
      break;
    }
  }
  if (!set) return;
  hits_.clear();
  if (set->set.Match(m, &hits_))
    for (int h : hits_) ++c->rule_matches[set->index[static_cast<size_t>(h)]];
}

void LineProcessor::ProcessLine(std::string_view line, LogCounters* c,
                                bool truncated) {
  ++c->lines;
  if (truncated) ++c->truncated;
  SyslogLine sl;
  if (!ParseSyslogPrefix(line, &sl)) {
    ++c->unsupported;
    return;
  }
  Classify(sl.program, sl.pid, sl.message, c);
}

void LineProcessor::ProcessEntry(std::string_view program,
                                 std::string_view message, LogCounters* c) {
  ++c->lines;
  if (message.size() > kMaxLineBytes) {
    message = message.substr(0, kMaxLineBytes);
    ++c->truncated;
  }
  Classify(program, {}, message, c);
}

size_t LineProcessor::ProcessBlock(std::string_view data, LogCounters* c) {
  size_t pos = 0;
  const char* base = data.data();
  while (pos < data.size()) {
    const void* nl = std::memchr(base + pos, '\n', data.size() - pos);
    if (!nl) break;
    size_t end = static_cast<size_t>(static_cast<const char*>(nl) - base);
    size_t len = end - pos;
    if (len > kMaxLineBytes) {
      ProcessLine(data.substr(pos, kMaxLineBytes), c, true);
    } else {
      ProcessLine(data.substr(pos, len), c);
    }
    pos = end + 1;
  }
  Flush(c);
  return pos;
}

namespace {
void CountTlsFailure(string_view instance, TlsDirection d, TlsFailureReason r,
                     LogCounters* c) {
  ++c->signals.Instance(instance)
        .tls_failures[static_cast<size_t>(d)][static_cast<size_t>(r)];
}
}  // namespace

void LineProcessor::Flush(LogCounters* c) {
  // Counted as a handshake failure, but still waiting: a "TLS library
  // problem" detail that comes with the next block is not a second one.
  if (tls_.active && !tls_.counted) {
    CountTlsFailure(tls_.instance, tls_.direction, TlsFailureReason::kHandshake,
                    c);
    tls_.counted = true;
  }
}

namespace {
// Inbound or outbound for the TLS counters; false for other daemons.
bool TlsDirectionOf(Process p, string_view daemon, TlsDirection* d) {
  if (p == Process::kSmtpd || p == Process::kPostscreen ||
      daemon == "tlsproxy") {
    *d = TlsDirection::kInbound;
    return true;
  }
  if (p == Process::kSmtp || p == Process::kLmtp) {
    *d = TlsDirection::kOutbound;
    return true;
  }
  return false;
}

// "-1", "0": OpenSSL's return value, its errors follow on lines of their own.
bool IsReturnValue(string_view t) {
  if (!t.empty() && t[0] == '-') t.remove_prefix(1);
  if (t.empty()) return false;
  for (char ch : t)
    if (ch < '0' || ch > '9') return false;
  return true;
}

// An smtpd warning "unknown[192.0.2.1]: SASL LOGIN authentication failed:
// ...": counts the failure by service and mechanism.
bool CountSaslFailure(string_view service, string_view instance,
                      string_view body, SignalCounters* s) {
  size_t at = body.find(": SASL ");
  if (at == string_view::npos) return false;
  string_view rest = body.substr(at + 7);
  size_t sp = rest.find(' ');
  if (sp == string_view::npos ||
      !StartsWith(rest.substr(sp), " authentication failed"))
    return false;
  ++s->Instance(instance)
        .Service(service)
        .failures[static_cast<size_t>(MechanismOf(rest.substr(0, sp)))];
  return true;
}

// An smtpd line "4PbC4x469Jz3tBr: client=host[addr], sasl_method=PLAIN,
// ...": its mechanism in *MECH (the caller counts the success by service,
// looked up only for such a line).
bool SaslSuccessOf(string_view body, SaslMechanism* mech) {
  string_view q = body;
  if (!StripQueueId(&q) || !StartsWith(q, "client=")) return false;
  size_t m = q.find(", sasl_method=");
  if (m == string_view::npos) return false;
  string_view w = q.substr(m + 14);
  *mech = MechanismOf(w.substr(0, w.find(',')));
  return true;
}
// "SSL_accept error from X: TAIL" (inbound) or "SSL_connect error to X:
// TAIL" (outbound): sets *d and *tail.
bool SslErrorOf(string_view body, TlsDirection* d, string_view* tail) {
  const bool accept = StartsWith(body, "SSL_accept error from ");
  if (!accept && !StartsWith(body, "SSL_connect error to ")) return false;
  *d = accept ? TlsDirection::kInbound : TlsDirection::kOutbound;
  size_t colon = body.rfind(": ");
  *tail = colon == string_view::npos ? string_view() : body.substr(colon + 2);
  return true;
}

// The info lines of a TLS daemon: connections established, certificate
// verification failures (the SASL successes of smtpd are the caller's).
bool CountTlsInfo(string_view instance, TlsDirection dir, string_view body,
                  LogCounters* c) {
  switch (body.empty() ? '\0' : body[0]) {
    case 'A':
    case 'T':
    case 'U':
    case 'V':
      // (A queue ID starts with these letters too: "A2974A73847: client=")
      if (CountTlsEstablished(body, dir, &c->signals.Instance(instance)))
        return true;
      break;
    case 'c':
      if (StartsWith(body, "certificate verification failed for ")) {
        CountTlsFailure(instance, dir, TlsFailureReason::kCertificateVerify, c);
        return true;
      }
      break;
    default:
      break;
  }
  return false;
}

// The message names one of our own probes' helo ("helo=<NAME>").
bool FromProbe(const std::vector<std::string>& needles, string_view m) {
  for (const std::string& n : needles)
    if (Contains(m, n)) return true;
  return false;
}
}  // namespace

bool LineProcessor::PendingTlsDetail(std::string_view program,
                                     std::string_view pid, bool library,
                                     std::string_view body, LogCounters* c) {
  if (!tls_.active || program != tls_.program || pid != tls_.pid) return false;
  if (library) {
    if (!tls_.counted) {
      CountTlsFailure(tls_.instance, tls_.direction, TlsReasonOf(body), c);
      tls_.counted = true;
    }
    return true;  // a detail of the failure already counted
  }
  Flush(c);
  tls_.active = false;
  return false;
}

void LineProcessor::AwaitTlsDetail(std::string_view program,
                                   std::string_view pid,
                                   std::string_view instance, TlsDirection d,
                                   LogCounters* c) {
  Flush(c);  // another process's failure still waiting
  tls_.active = true;
  tls_.counted = false;
  tls_.program.assign(program);
  tls_.pid.assign(pid);
  tls_.instance.assign(instance);
  tls_.direction = d;
}

bool LineProcessor::Signals(std::string_view program, std::string_view daemon,
                            std::string_view instance, std::string_view pid,
                            Process p, Severity sev, std::string_view body,
                            LogCounters* c) {
  const bool library =
      sev == Severity::kWarning && StartsWith(body, "TLS library problem: ");
  if (tls_.active && PendingTlsDetail(program, pid, library, body, c))
    return true;
  TlsDirection dir = TlsDirection::kInbound;
  const bool tls_daemon = TlsDirectionOf(p, daemon, &dir);
  if (library) {
    if (!tls_daemon) return false;
    CountTlsFailure(instance, dir, TlsReasonOf(body), c);
    return true;
  }
  if (sev == Severity::kWarning && p == Process::kSmtpd)
    return CountSaslFailure(ServiceFor(program), instance, body, &c->signals);
  TlsDirection ssl_dir = TlsDirection::kInbound;
  string_view tail;
  if ((sev == Severity::kWarning || sev == Severity::kInfo) &&
      SslErrorOf(body, &ssl_dir, &tail)) {
    if (IsReturnValue(tail)) {
      AwaitTlsDetail(program, pid, instance, ssl_dir, c);
    } else {
      TlsFailureReason r = TlsReasonOf(tail);
      if (r == TlsFailureReason::kOther) r = TlsFailureReason::kHandshake;
      CountTlsFailure(instance, ssl_dir, r, c);
    }
    return true;
  }
  if (sev != Severity::kInfo) return false;
  if (p == Process::kPostscreen)
    return CountPostscreen(body, &c->signals.Instance(instance));
  if (!tls_daemon) return false;
  if (CountTlsInfo(instance, dir, body, c)) return true;
  SaslMechanism mech;
  if (p != Process::kSmtpd || !SaslSuccessOf(body, &mech)) return false;
  ++c->signals.Instance(instance)
        .Service(ServiceFor(program))
        .successes[static_cast<size_t>(mech)];
  return true;
}

void LineProcessor::Classify(std::string_view program, std::string_view pid,
                             std::string_view m, LogCounters* c) {
  size_t slash = program.rfind('/');
  string_view daemon =
      slash == string_view::npos ? program : program.substr(slash + 1);
  if (c->rule_matches.size() < rule_names_.size())
    c->rule_matches.resize(rule_names_.size());
  if (!rule_names_.empty()) MatchRules(daemon, m, c);
  if (!IsPostfixProgram(program)) {
    ++c->foreign;
    return;
  }
  ++c->postfix;
  const string_view instance = InstanceFor(program);
  InstanceCounters* ic = &c->Instance(instance);
  const Process p =
      slash == string_view::npos ? Process::kOther : ProcessOf(daemon);
  string_view body = m;
  const Severity sev = CutSeverity(&body);
  ++ic->messages[static_cast<size_t>(p)][static_cast<size_t>(sev)];
  if (TrafficQueueId(body) && !FromProbe(probe_needles_, m)) ++c->traffic;
  const bool signal = Signals(program, daemon, instance, pid, p, sev, body, c);
  if (sev == Severity::kWarning) {
    WarningEvents(p, body, ic);
    return;
  }
  if (sev != Severity::kInfo) return;
  if (!CountInfo(p, body, ic) && !signal) ++c->unsupported;
}

}  // namespace mailhealth::log
