// Pure parsing and classification of mail log lines (no I/O).
//
// A line goes through two steps:
//   1. ParseSyslogPrefix() (collectors/log/syslog_prefix.h) splits the
//      syslog prefix (timestamp, host, program, pid) from the message.
//   2. LineProcessor::ProcessLine() (ProcessEntry() for journal entries,
//      already split) decides whether the program is
//      Postfix, maps it to one of the fixed process label values and
//      classifies the message into the counters of LogCounters.
//
// Everything here is hand-written matching on string_views: no regex and no
// allocation on the hot path (user rules go through one RE2::Set per
// process filter, and only when rules are configured).
//
// Not thread-safe: one LineProcessor is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/log/log_signals.h"
#include "collectors/log/syslog_prefix.h"

namespace mailhealth::log {

// Label values of mailhealth_log_messages_total{process}.
enum class Process : uint8_t {
  kSmtpd,
  kSmtp,
  kLmtp,
  kLocal,
  kVirtual,
  kPipe,
  kQmgr,
  kCleanup,
  kPickup,
  kBounce,
  kError,
  kPostscreen,
  kMaster,
  kOther,
  kCount
};
// Label values of {severity}.
enum class Severity : uint8_t {
  kInfo,
  kWarning,
  kError,
  kFatal,
  kPanic,
  kCount
};
// Label values of mailhealth_log_deliveries_total{transport}.
enum class Transport : uint8_t {
  kSmtp,
  kLmtp,
  kLocal,
  kVirtual,
  kPipe,
  kError,
  kOther,
  kCount
};
// Label values of {status}.
enum class DeliveryStatus : uint8_t {
  kSent,
  kDeferred,
  kBounced,
  kExpired,
  kCount
};
// Label values of mailhealth_log_rejects_total{stage}.
enum class RejectStage : uint8_t {
  kConnect,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kContent,
  kOther,
  kCount
};
// Label values of {reason}.
enum class RejectReason : uint8_t {
  kRelayDenied,
  kUnknownUser,
  kRbl,
  kHelo,
  kSender,
  kClient,
  kPolicy,
  kContent,
  kOther,
  kCount
};
// Label values of mailhealth_log_events_total{event}: a fixed list, see
// docs/log.md for the line each one counts.
enum class Event : uint8_t {
  kConnectionTimeout,
  kConnectionRefused,
  kConnectionFailed,
  kHostNotFound,
  kLostConnection,
  kRemoteLostConnection,
  kClientTimeout,
  kConversationTimeout,
  kTlsFailure,
  kSaslAuthFailed,
  kContentFilterUnavailable,
  kMilterFailure,
  kImproperPipelining,
  kTooManyErrors,
  kNonSmtpCommand,
  kClientHostnameUnverified,
  kPostscreenPregreet,
  kPostscreenDnsbl,
  kBounceNotification,
  kDaemonAbnormalExit,
  kMailboxFull,
  kCount
};

std::string_view Name(Process p);
std::string_view Name(Severity s);
std::string_view Name(Transport t);
std::string_view Name(DeliveryStatus s);
std::string_view Name(RejectStage s);
std::string_view Name(RejectReason r);
std::string_view Name(Event e);

// Lines longer than this are cut (and counted as truncated).
inline constexpr size_t kMaxLineBytes = 64 * 1024;

// The counters of one Postfix instance ({postfix_instance}: "postfix" for
// the default one, "postfix-out"; see InstanceMap).
struct InstanceCounters {
  std::string name;
  std::array<std::array<uint64_t, N<Severity>()>, N<Process>()> messages{};
  std::array<std::array<uint64_t, N<DeliveryStatus>()>, N<Transport>()>
      deliveries{};
  std::array<std::array<uint64_t, N<RejectReason>()>, N<RejectStage>()>
      rejects{};
  std::array<uint64_t, N<Event>()> events{};
};

// Every counter of the collector. Plain integers: the owner serialises
// access (the follower thread holds a mutex while it updates a block).
// Source-level counters (lines, foreign, unsupported, ...) are per log
// source; messages, deliveries, rejects and events per instance.
struct LogCounters {
  uint64_t lines = 0;        // every line read
  uint64_t postfix = 0;      // lines from Postfix programs
  uint64_t foreign = 0;      // lines from other programs
  uint64_t unsupported = 0;  // Postfix lines (or lines without a syslog
                             // prefix) that were not understood
  uint64_t truncated = 0;    // lines cut at kMaxLineBytes
  uint64_t rotations = 0;
  uint64_t read_errors = 0;
  // Per instance; "postfix" first, always there once a line was counted
  // (BuildLogFamilies seeds it for the first run), at most kMaxInstances
  // (beyond them "other").
  std::vector<InstanceCounters> instances;
  std::vector<uint64_t> rule_matches;  // one per configured rule
  double last_line_timestamp = 0;      // wall clock, Unix seconds
  // Postfix lines about a message (a queue ID or NOQUEUE), except those
  // naming a probe's helo: what log silence is measured on.
  uint64_t traffic = 0;
  // postscreen, SASL and TLS per instance (collectors/log/log_signals.h).
  SignalCounters signals;

  // The counters of instance `name` (created on first use).
  InstanceCounters& Instance(std::string_view name);
  // nullptr when the instance has no counters.
  const InstanceCounters* Find(std::string_view name) const;
  // The sum over every instance (name "").
  InstanceCounters Total() const;
};

// A user rule: name (the label value), RE2 pattern, optional process
// filter (the daemon name, the last part of the program: "smtpd").
struct Rule {
  std::string name;
  std::string regex;
  std::string process;
};

// Validates one regex with RE2; returns "" when valid, else RE2's error.
std::string CheckRegex(const std::string& regex);

class LineProcessor {
 public:
  // `syslog_names`: extra program prefixes treated as Postfix besides
  // "postfix" and "postfix-*" (a custom syslog_name such as "mx-out").
  // `rules` must have been validated with CheckRegex().
  LineProcessor(std::vector<Rule> rules, std::vector<std::string> syslog_names);
  // The live configuration's syslog names and their instances
  // (syslog_name -> postfix_instance); lines of such a name count as
  // Postfix. Replaces the previous set; the caller serialises it with the
  // lines (the follower's mutex). SERVICES: syslog names of one part that
  // master.cf gives a service (`-o syslog_name=mysubmit` on submission:
  // `mysubmit/smtpd` is service "submission"), name -> service.
  void SetInstanceNames(
      std::vector<std::pair<std::string, std::string>> names,
      std::vector<std::pair<std::string, std::string>> services = {});
  ~LineProcessor();
  LineProcessor(const LineProcessor&) = delete;
  LineProcessor& operator=(const LineProcessor&) = delete;

  // One complete line, without its '\n'. `truncated`: the line was cut.
  void ProcessLine(std::string_view line, LogCounters* c,
                   bool truncated = false);
  // A journal entry (already split): counts one line.
  void ProcessEntry(std::string_view program, std::string_view message,
                    LogCounters* c);
  // Splits `data` at '\n' and processes every complete line; returns the
  // number of bytes consumed (the rest is an incomplete last line).
  size_t ProcessBlock(std::string_view data, LogCounters* c);
  // Counts what waits on a following line (a TLS handshake failure whose
  // "TLS library problem" detail did not come). ProcessBlock() calls it at
  // its end; a follower that calls ProcessLine()/ProcessEntry() calls it
  // after each batch.
  void Flush(LogCounters* c);

  // The helo names of our own SMTP probes: a line with helo=<NAME> is not
  // traffic. Set before the first line.
  void SetProbeHelos(std::vector<std::string> names);

  bool IsPostfixProgram(std::string_view program) const;
  size_t rule_count() const { return rule_names_.size(); }
  const std::vector<std::string>& rule_names() const { return rule_names_; }

 private:
  void Classify(std::string_view program, std::string_view pid,
                std::string_view message, LogCounters* c);
  // Signals of log_signals.h; true when the line was one.
  // `daemon` is the last part of `program`, as Classify() found it.
  bool Signals(std::string_view program, std::string_view daemon,
               std::string_view instance, std::string_view pid, Process p,
               Severity sev, std::string_view body, LogCounters* c);
  // The "TLS library problem" detail of the failure waiting in tls_ (its
  // program and pid): counts it; true when the line was one.
  bool PendingTlsDetail(std::string_view program, std::string_view pid,
                        bool library, std::string_view body, LogCounters* c);
  // An "SSL_accept error ...: -1": its reason comes on the next lines.
  void AwaitTlsDetail(std::string_view program, std::string_view pid,
                      std::string_view instance, TlsDirection d,
                      LogCounters* c);
  // The {postfix_instance} of a Postfix program name: its syslog name (the
  // part before the first '/') mapped by syslog_names NAME=INSTANCE or the
  // live configuration, else that name itself (InstanceOf).
  std::string_view InstanceFor(std::string_view program) const;
  // The master.cf service of a Postfix program name (the SASL counters'
  // {service}): the middle part of `postfix/submission/smtpd`, the service
  // master.cf names for a one-part custom syslog name, else the daemon
  // (ServiceOf).
  std::string_view ServiceFor(std::string_view program) const;
  void MatchRules(std::string_view daemon, std::string_view message,
                  LogCounters* c);

  struct RuleSet;
  std::vector<std::string> rule_names_;
  std::vector<std::string> syslog_names_;
  // syslog name -> instance: the config's NAME=INSTANCE first, then the
  // live configuration's (SetInstanceNames).
  std::vector<std::pair<std::string, std::string>> static_names_;
  std::vector<std::pair<std::string, std::string>> instance_names_;
  std::vector<std::pair<std::string, std::string>> service_names_;
  std::vector<std::string> probe_needles_;  // "helo=<NAME>"
  std::unique_ptr<RuleSet> all_;            // rules without a process filter
  // Per filtered process: its rules plus those without a filter.
  std::vector<std::pair<std::string, std::unique_ptr<RuleSet>>> by_process_;
  std::vector<int> hits_;  // scratch for RE2::Set::Match
  // "SSL_accept error from X: -1" is followed by the OpenSSL errors
  // ("warning: TLS library problem: ...") of the same process: the failure
  // is counted with the first one's reason, or as a handshake failure when
  // the next line of that process is something else.
  struct PendingTls {
    bool active = false;
    bool counted = false;
    std::string program, pid, instance;
    TlsDirection direction = TlsDirection::kInbound;
  } tls_;
};

// Pure classification helpers (exposed for tests).
Process ProcessOf(std::string_view daemon);
RejectStage StageOf(std::string_view command);
RejectReason ReasonOf(std::string_view text);

}  // namespace mailhealth::log
