// The log signals admins ask for beside the delivery counters: postscreen
// verdicts, SASL authentication by mechanism, TLS failures and
// established connections, per Postfix instance (the first part of the
// syslog program name: "postfix", "postfix-out") and, for SASL, per
// service (the master.cf service in "postfix/submission/smtpd", else the
// daemon: "smtpd").
//
// Every label value is from a fixed set except the instance and the
// service, which are bounded (kMaxInstances, kMaxServices; beyond them
// "other").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"
#include "exporter/duration.h"

namespace mailhealth::log {

template <typename E>
constexpr size_t N() {
  return static_cast<size_t>(E::kCount);
}

// mailhealth_log_postscreen_events_total{event}.
enum class PostscreenEvent : uint8_t {
  kPassNew,
  kPassOld,
  kPregreet,
  kDnsbl,
  kHangup,
  kCommandTimeLimit,
  kCommandCountLimit,
  kCommandLengthLimit,
  kBareNewline,
  kNonSmtpCommand,
  kNoqueueReject,
  kWhitelisted,
  kBlacklisted,
  kOther,
  kCount
};
// {mechanism} of the SASL counters.
enum class SaslMechanism : uint8_t {
  kPlain,
  kLogin,
  kCramMd5,
  kDigestMd5,
  kScram,
  kXoauth2,
  kOther,
  kCount
};
enum class TlsDirection : uint8_t { kInbound, kOutbound, kCount };
// {reason} of mailhealth_log_tls_failures_total.
enum class TlsFailureReason : uint8_t {
  kHandshake,
  kCertificateVerify,
  kNoSharedCipher,
  kProtocolVersion,
  kOther,
  kCount
};
// {version} of mailhealth_log_tls_connections_total.
enum class TlsVersion : uint8_t {
  kTlsV1,
  kTlsV1_1,
  kTlsV1_2,
  kTlsV1_3,
  kOther,
  kCount
};

std::string_view Name(PostscreenEvent e);
std::string_view Name(SaslMechanism m);
std::string_view Name(TlsDirection d);
std::string_view Name(TlsFailureReason r);
std::string_view Name(TlsVersion v);

// Upper bounds of mailhealth_log_postscreen_dnsbl_rank (postscreen's
// default threshold is 1; sites weigh 1 to a few).
inline constexpr std::array<double, 8> kDnsblRankBounds = {1, 2, 3,  4,
                                                           5, 7, 10, 20};
inline constexpr size_t kMaxInstances = 16;
inline constexpr size_t kMaxServices = 16;

// The element of `items` whose `key` is `name`, added when missing: at most
// `max` of them, the last one "other" for every name beyond (the bounded
// instances and services of the counters).
template <typename T>
T& AddBoundedEntry(std::vector<T>& items, std::string T::*key,
                   std::string_view name, size_t max);
template <typename T>
T& BoundedEntry(std::vector<T>& items, std::string T::*key,
                std::string_view name, size_t max) {
  for (T& i : items)
    if (i.*key == name) return i;
  return AddBoundedEntry(items, key, name, max);
}
// BoundedEntry's rare part (out of line: the lookup stays small).
template <typename T>
T& AddBoundedEntry(std::vector<T>& items, std::string T::*key,
                   std::string_view name, size_t max) {
  if (items.size() + 1 >= max) {  // room for "other"
    for (T& i : items)
      if (i.*key == "other") return i;
    name = "other";
  }
  items.emplace_back();
  items.back().*key = std::string(name);
  return items.back();
}

struct SaslCounts {
  std::string service;
  std::array<uint64_t, N<SaslMechanism>()> failures{};
  std::array<uint64_t, N<SaslMechanism>()> successes{};
};

struct InstanceSignals {
  std::string name;
  std::array<uint64_t, N<PostscreenEvent>()> postscreen{};
  // Per bucket of kDnsblRankBounds (not cumulative), the last one +Inf.
  std::array<uint64_t, kDnsblRankBounds.size() + 1> dnsbl_rank{};
  double dnsbl_rank_sum = 0;
  std::array<std::array<uint64_t, N<TlsFailureReason>()>, N<TlsDirection>()>
      tls_failures{};
  std::array<std::array<uint64_t, N<TlsVersion>()>, N<TlsDirection>()>
      tls_connections{};
  std::vector<SaslCounts> sasl;

  SaslCounts& Service(std::string_view service);
};

struct SignalCounters {
  // The default instance "postfix" is always there (zeros from the start).
  std::vector<InstanceSignals> instances;
  InstanceSignals& Instance(std::string_view name);
};

// "postfix-out/smtp" -> "postfix-out"; "postfix/submission/smtpd" ->
// "postfix".
std::string_view InstanceOf(std::string_view program);
// "postfix/submission/smtpd" -> "submission"; "postfix/smtpd" -> "smtpd".
std::string_view ServiceOf(std::string_view program);

SaslMechanism MechanismOf(std::string_view word);
// The reason class of an OpenSSL error text ("...:no shared cipher:...").
TlsFailureReason TlsReasonOf(std::string_view text);
TlsVersion TlsVersionOf(std::string_view word);

// A postscreen info line (after the syslog prefix): counts its verdict;
// returns false for lines that are no verdict (CONNECT, DISCONNECT, cache
// cleanup statistics).
bool CountPostscreen(std::string_view body, InstanceSignals* s);
// "Anonymous TLS connection established from host[addr]: TLSv1.3 with ...":
// counts the connection; false when `body` is no such line.
bool CountTlsEstablished(std::string_view body, TlsDirection d,
                         InstanceSignals* s);

// The families of the signals, every fixed label value present from the
// first run (zeros for the default instance).
void BuildSignalFamilies(const SignalCounters& c, Millis interval,
                         Families* out);

}  // namespace mailhealth::log
