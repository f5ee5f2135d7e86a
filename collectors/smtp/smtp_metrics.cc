#include "collectors/smtp/smtp_metrics.h"

namespace mailhealth::smtp {
namespace {

constexpr char kProbeSuccess[] = "mailhealth_smtp_probe_success";
constexpr char kProbeDuration[] = "mailhealth_smtp_probe_duration_seconds";
constexpr char kPhaseDuration[] = "mailhealth_smtp_phase_duration_seconds";
constexpr char kReplyCode[] = "mailhealth_smtp_reply_code";
constexpr char kFailure[] = "mailhealth_smtp_failure";
constexpr char kStarttlsAdvertised[] = "mailhealth_smtp_starttls_advertised";
constexpr char kCapability[] = "mailhealth_smtp_capability";
constexpr char kTlsVersionInfo[] = "mailhealth_smtp_tls_version_info";
constexpr char kCertNotAfter[] =
    "mailhealth_smtp_tls_cert_not_after_timestamp_seconds";
constexpr char kCertVerified[] = "mailhealth_smtp_tls_cert_verified";
constexpr char kTargetAddresses[] = "mailhealth_smtp_target_addresses";
constexpr char kEsmtp[] = "mailhealth_smtp_esmtp";
constexpr char kImplicitTls[] = "mailhealth_smtp_implicit_tls_detected";

constexpr char kHelpSuccess[] =
    "1 when the SMTP dialog (connect, 220 banner, EHLO, STARTTLS and TLS "
    "handshake when offered) succeeded.";
constexpr char kHelpDuration[] =
    "Seconds from resolving the target to the probe's outcome.";
constexpr char kHelpPhase[] =
    "Seconds spent in each phase of the probe (0 when not reached).";
constexpr char kHelpReplyCode[] =
    "SMTP reply code to the banner, EHLO and STARTTLS (0 when not reached).";
constexpr char kHelpFailure[] =
    "1 for the reason the probe failed, 0 for the others (all 0 on success).";
constexpr char kHelpStarttls[] = "1 when the EHLO reply advertised STARTTLS.";
constexpr char kHelpCapability[] =
    "1 when the EHLO reply advertised the capability.";
constexpr char kHelpTlsVersion[] =
    "TLS protocol version negotiated (1, only when a TLS handshake completed).";
constexpr char kHelpNotAfter[] =
    "notAfter of the server certificate, Unix seconds (also when expired, "
    "self-signed or for another name).";
constexpr char kHelpVerified[] =
    "1 when the server certificate verified against the system CAs and "
    "matched the host name.";
constexpr char kHelpTargetAddresses[] =
    "Addresses probed for each target (the addresses of every MX host for "
    "mx: targets).";

constexpr char kHelpEsmtp[] =
    "1 when EHLO (LHLO) was answered 250; 0 with success when the server "
    "refused EHLO with 500/502 and accepted HELO (no ESMTP: no STARTTLS).";
constexpr char kHelpImplicitTls[] =
    "1 when the port sent no greeting but completed a TLS handshake: it "
    "speaks implicit TLS (probe it as smtps:HOST:PORT).";

enum FamilyIndex {
  kIdxSuccess,
  kIdxDuration,
  kIdxPhase,
  kIdxReplyCode,
  kIdxFailure,
  kIdxStarttls,
  kIdxCapability,
  kIdxTlsVersion,
  kIdxNotAfter,
  kIdxVerified,
  kIdxAddresses,
  kIdxEsmtp,
  kIdxImplicitTls,
};

Families NewFamilies(Millis interval) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  Families f;
  f.push_back(Gauge(kProbeSuccess, help(kHelpSuccess)));
  f.push_back(Gauge(kProbeDuration, help(kHelpDuration)));
  f.push_back(Gauge(kPhaseDuration, help(kHelpPhase)));
  f.push_back(Gauge(kReplyCode, help(kHelpReplyCode)));
  f.push_back(Gauge(kFailure, help(kHelpFailure)));
  f.push_back(Gauge(kStarttlsAdvertised, help(kHelpStarttls)));
  f.push_back(Gauge(kCapability, help(kHelpCapability)));
  f.push_back(Gauge(kTlsVersionInfo, help(kHelpTlsVersion)));
  f.push_back(Gauge(kCertNotAfter, help(kHelpNotAfter)));
  f.push_back(Gauge(kCertVerified, help(kHelpVerified)));
  f.push_back(Gauge(kTargetAddresses, help(kHelpTargetAddresses)));
  f.push_back(Gauge(kEsmtp, help(kHelpEsmtp)));
  f.push_back(Gauge(kImplicitTls, help(kHelpImplicitTls)));
  return f;
}

void AddSeries(Families& f, const std::string& target,
               const std::string& address, const SmtpProbeResult& r) {
  const Labels base = {{"target", target}, {"address", address}};
  auto with = [&base](const char* k, const std::string& v) {
    Labels l = base;
    l.emplace_back(k, v);
    return l;
  };
  AddSample(f[kIdxSuccess], base, r.success() ? 1 : 0);
  AddSample(f[kIdxDuration], base, r.duration_seconds);
  for (size_t p = 0; p < kSmtpPhaseCount; ++p) {
    AddSample(f[kIdxPhase], with("phase", kSmtpPhaseNames[p]),
              r.phase_seconds[p]);
  }
  AddSample(f[kIdxReplyCode], with("stage", "banner"), r.banner_code);
  AddSample(f[kIdxReplyCode], with("stage", "ehlo"), r.ehlo_code);
  AddSample(f[kIdxReplyCode], with("stage", "starttls"), r.starttls_code);
  for (size_t i = 0; i < kSmtpFailureCount; ++i) {
    AddSample(f[kIdxFailure], with("reason", kSmtpFailureNames[i]),
              static_cast<int>(r.failure) == static_cast<int>(i) ? 1 : 0);
  }
  AddSample(f[kIdxStarttls], base, r.caps.starttls() ? 1 : 0);
  AddSample(f[kIdxEsmtp], base, r.esmtp ? 1 : 0);
  AddSample(f[kIdxImplicitTls], base, r.implicit_tls_detected ? 1 : 0);
  for (size_t c = 0; c < kSmtpCapabilityCount; ++c) {
    AddSample(f[kIdxCapability], with("capability", kSmtpCapabilityNames[c]),
              r.caps.has[c] ? 1 : 0);
  }
  if (r.tls.done) {
    AddSample(f[kIdxTlsVersion], with("version", r.tls.version), 1);
    if (r.tls.have_cert) {
      AddSample(f[kIdxNotAfter], base, static_cast<double>(r.tls.not_after));
      AddSample(f[kIdxVerified], base, r.tls.verified ? 1 : 0);
    }
  }
}

}  // namespace

Families BuildSmtpFamilies(const SmtpRun& run, Millis interval) {
  Families fams = NewFamilies(interval);
  for (const SmtpProbeRow& row : run.rows) {
    AddSeries(fams, row.target, row.address, row.result);
  }
  for (const auto& [target, n] : run.addresses_probed) {
    AddSample(fams[kIdxAddresses], {{"target", target}},
              static_cast<double>(n));
  }
  return fams;
}

}  // namespace mailhealth::smtp
