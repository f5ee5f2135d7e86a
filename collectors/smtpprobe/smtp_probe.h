// The SMTP probe engine: runs one dialog per (address, port) concurrently on
// one Boost.Asio io_context, all cut at a common deadline.
//
// The dialog: connect, [implicit TLS], banner (220), EHLO/LHLO (HELO when
// EHLO gets 500/502), [STARTTLS + TLS handshake when advertised and
// enabled], QUIT. Never sends mail. A plain port still silent shortly
// before the deadline gets a TLS ClientHello: a completed handshake marks
// it as speaking implicit TLS.
// Every read is bounded in size (SmtpReplyLimits) and in time (the
// deadline; QUIT gets at most kQuitGrace more). RunSmtpProbes() blocks the
// calling thread until every probe ended, which is by the deadline plus the
// time to close sockets. Safe to call from several threads at once (each
// call has its own io_context and TLS context).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "collectors/smtpprobe/smtp_protocol.h"
#include "exporter/collector.h"

namespace mailhealth::smtp {

// Failure classes (label values of mailhealth_smtp_failure), in the order
// of metrics.md. kNone means success.
enum class SmtpFailure {
  kNone = -1,
  kRefused = 0,
  kConnectTimeout,
  kBannerTimeout,
  kBadBanner,
  kEhloRejected,
  kStarttlsFailed,
  kTlsHandshakeFailed,
  kDnsFailure,
  kProtocolError,
};
inline constexpr const char* kSmtpFailureNames[] = {
    "refused",       "connect_timeout", "banner_timeout",       "bad_banner",
    "ehlo_rejected", "starttls_failed", "tls_handshake_failed", "dns_failure",
    "protocol_error"};
inline constexpr size_t kSmtpFailureCount = 9;

// Timed phases (label values of mailhealth_smtp_phase_duration_seconds).
enum class SmtpPhase {
  kResolve = 0,
  kConnect,
  kBanner,
  kEhlo,
  kStarttls,
  kTls
};
inline constexpr const char* kSmtpPhaseNames[] = {
    "resolve", "connect", "banner", "ehlo", "starttls", "tls"};
inline constexpr size_t kSmtpPhaseCount = 6;

struct SmtpProbeRequest {
  std::string address;  // IPv4 or IPv6 literal
  uint16_t port = 25;
  bool lmtp = false;
  bool implicit_tls = false;
  // Name sent as SNI and checked against the certificate; empty (or an IP
  // literal) for none: the address is then checked instead.
  std::string tls_name;
};

struct SmtpProbeOptions {
  std::string helo = "localhost";
  bool starttls = true;
  Clock::time_point deadline;
  SmtpReplyLimits limits;
  // CA file for the verification check; empty = the system's default paths.
  std::string ca_file;
};

struct SmtpTlsInfo {
  bool done = false;    // handshake completed
  std::string version;  // "TLSv1.3"
  bool have_cert = false;
  int64_t not_after = 0;     // Unix seconds
  bool verified = false;     // chain to a trusted CA and name match
  std::string verify_error;  // X509_verify_cert_error_string, for logs
  // The certificates the server presented, DER, leaf first, in the order
  // sent (for DANE: usage 3 matches the leaf, usage 2 any of them).
  std::vector<std::string> chain_der;
};

struct SmtpProbeResult {
  SmtpFailure failure = SmtpFailure::kNone;
  std::string detail;  // why, for a debug log line (never a label)
  std::array<double, kSmtpPhaseCount> phase_seconds{};  // 0 = not reached
  double duration_seconds = 0;  // connect start .. outcome decided
  int banner_code = 0;          // 0 = no reply
  int ehlo_code = 0;
  int starttls_code = 0;
  bool ehlo_done = false;  // a 250 EHLO (or, after 500/502, HELO) reply
  // EHLO/LHLO answered 250. False with success: the server refused EHLO
  // with 500/502 (no ESMTP, or a firewall's SMTP fixup) and accepted HELO,
  // as a real sender falls back to (RFC 5321 3.2).
  bool esmtp = false;
  // The port sent no greeting but completed a TLS handshake when the probe
  // tried one near the deadline: it speaks implicit TLS (probe it as
  // smtps:HOST:PORT). The failure stays banner_timeout.
  bool implicit_tls_detected = false;
  SmtpCapabilities caps;
  SmtpTlsInfo tls;
  bool success() const { return failure == SmtpFailure::kNone; }
};

// One result per request, in the same order.
std::vector<SmtpProbeResult> RunSmtpProbes(
    const std::vector<SmtpProbeRequest>& requests,
    const SmtpProbeOptions& options);

}  // namespace mailhealth::smtp
