#include "collectors/log/log_signals.h"

#include <charconv>

#include "collectors/log/log_families.h"
#include "collectors/log/log_text.h"
#include "exporter/metric_builder.h"
#include "exporter/strings.h"

namespace mailhealth::log {
namespace {

using std::string_view;

constexpr std::array<string_view, N<PostscreenEvent>()> kPostscreenNames = {
    "pass_new",
    "pass_old",
    "pregreet",
    "dnsbl",
    "hangup",
    "command_time_limit",
    "command_count_limit",
    "command_length_limit",
    "bare_newline",
    "non_smtp_command",
    "noqueue_reject",
    "whitelisted",
    "blacklisted",
    "other"};
constexpr std::array<string_view, N<SaslMechanism>()> kMechanismNames = {
    "plain", "login", "cram_md5", "digest_md5", "scram", "xoauth2", "other"};
constexpr std::array<string_view, N<TlsDirection>()> kDirectionNames = {
    "inbound", "outbound"};
constexpr std::array<string_view, N<TlsFailureReason>()> kReasonNames = {
    "handshake", "certificate_verify", "no_shared_cipher", "protocol_version",
    "other"};
constexpr std::array<string_view, N<TlsVersion>()> kVersionNames = {
    "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "other"};


void Inc(InstanceSignals* s, PostscreenEvent e) {
  ++s->postscreen[static_cast<size_t>(e)];
}

std::string S(string_view v) { return std::string(v); }

}  // namespace

string_view Name(PostscreenEvent e) {
  return kPostscreenNames[static_cast<size_t>(e)];
}
string_view Name(SaslMechanism m) {
  return kMechanismNames[static_cast<size_t>(m)];
}
string_view Name(TlsDirection d) {
  return kDirectionNames[static_cast<size_t>(d)];
}
string_view Name(TlsFailureReason r) {
  return kReasonNames[static_cast<size_t>(r)];
}
string_view Name(TlsVersion v) { return kVersionNames[static_cast<size_t>(v)]; }

SaslCounts& InstanceSignals::Service(string_view service) {
  return BoundedEntry(sasl, &SaslCounts::service, service, kMaxServices);
}

InstanceSignals& SignalCounters::Instance(string_view name) {
  if (instances.empty()) {
    instances.emplace_back();
    instances.back().name = "postfix";
  }
  return BoundedEntry(instances, &InstanceSignals::name, name, kMaxInstances);
}

string_view InstanceOf(string_view program) {
  size_t slash = program.find('/');
  return slash == string_view::npos ? program : program.substr(0, slash);
}

string_view ServiceOf(string_view program) {
  size_t first = program.find('/');
  size_t last = program.rfind('/');
  if (first == string_view::npos) return program;
  if (first == last) return program.substr(last + 1);
  return program.substr(first + 1, last - first - 1);
}

SaslMechanism MechanismOf(string_view w) {
  if (EqualsI(w, "PLAIN")) return SaslMechanism::kPlain;
  if (EqualsI(w, "LOGIN")) return SaslMechanism::kLogin;
  if (EqualsI(w, "CRAM-MD5")) return SaslMechanism::kCramMd5;
  if (EqualsI(w, "DIGEST-MD5")) return SaslMechanism::kDigestMd5;
  if (StartsWithI(w, "SCRAM-")) return SaslMechanism::kScram;
  if (EqualsI(w, "XOAUTH2") || EqualsI(w, "OAUTHBEARER"))
    return SaslMechanism::kXoauth2;
  return SaslMechanism::kOther;
}

TlsFailureReason TlsReasonOf(string_view t) {
  if (ContainsI(t, "no shared cipher") ||
      ContainsI(t, "no suitable signature algorithm") ||
      ContainsI(t, "no shared signature") || ContainsI(t, "no shared group"))
    return TlsFailureReason::kNoSharedCipher;
  if (ContainsI(t, "unsupported protocol") ||
      ContainsI(t, "wrong version number") || ContainsI(t, "version too low") ||
      ContainsI(t, "unknown protocol") || ContainsI(t, "protocol version") ||
      ContainsI(t, "http request"))
    return TlsFailureReason::kProtocolVersion;
  if (ContainsI(t, "certificate verify failed") ||
      ContainsI(t, "certificate verification failed") ||
      ContainsI(t, "bad certificate") || ContainsI(t, "unknown ca") ||
      ContainsI(t, "certificate unknown") ||
      ContainsI(t, "certificate expired") ||
      ContainsI(t, "unsupported certificate"))
    return TlsFailureReason::kCertificateVerify;
  if (ContainsI(t, "handshake failure")) return TlsFailureReason::kHandshake;
  return TlsFailureReason::kOther;
}

TlsVersion TlsVersionOf(string_view w) {
  if (w == "TLSv1") return TlsVersion::kTlsV1;
  if (w == "TLSv1.1") return TlsVersion::kTlsV1_1;
  if (w == "TLSv1.2") return TlsVersion::kTlsV1_2;
  if (w == "TLSv1.3") return TlsVersion::kTlsV1_3;
  return TlsVersion::kOther;
}

bool CountPostscreen(string_view b, InstanceSignals* s) {
  using E = PostscreenEvent;
  switch (b.empty() ? '\0' : b[0]) {
    case 'P':
      if (StartsWith(b, "PASS NEW ")) return Inc(s, E::kPassNew), true;
      if (StartsWith(b, "PASS OLD ")) return Inc(s, E::kPassOld), true;
      if (StartsWith(b, "PREGREET ")) return Inc(s, E::kPregreet), true;
      break;
    case 'D':
      if (StartsWith(b, "DNSBL rank ")) {
        Inc(s, E::kDnsbl);
        string_view r = b.substr(11);
        int rank = 0;
        auto [p, ec] = std::from_chars(r.data(), r.data() + r.size(), rank);
        if (ec == std::errc() && p != r.data()) {
          size_t i = 0;
          while (i < kDnsblRankBounds.size() && rank > kDnsblRankBounds[i]) ++i;
          ++s->dnsbl_rank[i];
          s->dnsbl_rank_sum += rank;
        }
        return true;
      }
      if (StartsWith(b, "DENYLISTED ")) return Inc(s, E::kBlacklisted), true;
      if (StartsWith(b, "DATA without valid RCPT ")) {
        return Inc(s, E::kOther), true;
      }
      break;
    case 'H':
      if (StartsWith(b, "HANGUP ")) return Inc(s, E::kHangup), true;
      break;
    case 'C':
      if (StartsWith(b, "COMMAND TIME LIMIT "))
        return Inc(s, E::kCommandTimeLimit), true;
      if (StartsWith(b, "COMMAND COUNT LIMIT "))
        return Inc(s, E::kCommandCountLimit), true;
      if (StartsWith(b, "COMMAND LENGTH LIMIT "))
        return Inc(s, E::kCommandLengthLimit), true;
      if (StartsWith(b, "COMMAND PIPELINING ")) return Inc(s, E::kOther), true;
      break;
    case 'B':
      if (StartsWith(b, "BARE NEWLINE ")) return Inc(s, E::kBareNewline), true;
      if (StartsWith(b, "BLACKLISTED ")) return Inc(s, E::kBlacklisted), true;
      if (StartsWith(b, "BDAT without valid RCPT ")) {
        return Inc(s, E::kOther), true;
      }
      break;
    case 'N':
      if (StartsWith(b, "NON-SMTP COMMAND ")) {
        return Inc(s, E::kNonSmtpCommand), true;
      }
      if (StartsWith(b, "NOQUEUE: reject: ")) {
        return Inc(s, E::kNoqueueReject), true;
      }
      break;
    case 'W':
      if (StartsWith(b, "WHITELISTED ")) return Inc(s, E::kWhitelisted), true;
      if (StartsWith(b, "WHITELIST VETO ")) return Inc(s, E::kOther), true;
      break;
    case 'A':
      if (StartsWith(b, "ALLOWLISTED ")) return Inc(s, E::kWhitelisted), true;
      if (StartsWith(b, "ALLOWLIST VETO ")) return Inc(s, E::kOther), true;
      break;
    default:
      break;
  }
  return false;
}

bool CountTlsEstablished(string_view b, TlsDirection d, InstanceSignals* s) {
  // "<Trust> TLS connection established from|to <peer>: <version> with ..."
  size_t k = b.find(" TLS connection established ");
  if (k == string_view::npos || k > 10) return false;
  string_view trust = b.substr(0, k);
  if (trust != "Anonymous" && trust != "Trusted" && trust != "Untrusted" &&
      trust != "Verified")
    return false;
  string_view rest = b.substr(k + 28);
  if (!StartsWith(rest, "from ") && !StartsWith(rest, "to ")) return false;
  size_t colon = rest.find(": ");
  if (colon == string_view::npos) return false;
  string_view v = rest.substr(colon + 2);
  v = v.substr(0, v.find(' '));
  ++s->tls_connections[static_cast<size_t>(d)]
                      [static_cast<size_t>(TlsVersionOf(v))];
  return true;
}

namespace {

void AddPostscreenFamilies(const std::vector<InstanceSignals>& inst,
                           Millis interval, Families* out) {
  auto ps = Counter(
      "mailhealth_log_postscreen_events_total",
      SampledHelp("postscreen verdicts by event (a fixed set).", interval));
  for (const InstanceSignals& i : inst)
    AddRow<PostscreenEvent>(ps, i.name, "event", i.postscreen);
  out->push_back(std::move(ps));

  auto rank = Histogram(
      "mailhealth_log_postscreen_dnsbl_rank",
      SampledHelp("The combined DNSBL rank postscreen logged for each "
                  "client it scored (\"DNSBL rank N\").",
                  interval));
  const std::vector<double> bounds(kDnsblRankBounds.begin(),
                                   kDnsblRankBounds.end());
  for (const InstanceSignals& i : inst)
    AddHistogram(
        rank, {{"postfix_instance", i.name}}, bounds,
        std::vector<uint64_t>(i.dnsbl_rank.begin(), i.dnsbl_rank.end()),
        i.dnsbl_rank_sum);
  out->push_back(std::move(rank));
}

void AddSaslFamilies(const std::vector<InstanceSignals>& inst, Millis interval,
                     Families* out) {
  auto fail = Counter("mailhealth_log_sasl_auth_failures_total",
                      SampledHelp("smtpd's \"SASL <mechanism> authentication "
                                  "failed\" warnings by service and mechanism.",
                                  interval));
  auto ok = Counter("mailhealth_log_sasl_auth_successes_total",
                    SampledHelp("smtpd's client lines with sasl_method= (a "
                                "successful authentication) by service and "
                                "mechanism.",
                                interval));
  for (const InstanceSignals& i : inst) {
    std::vector<SaslCounts> services = i.sasl;
    if (services.empty() && i.name == "postfix") {
      services.emplace_back();
      services.back().service = "smtpd";
    }
    for (const SaslCounts& sc : services)
      for (size_t m = 0; m < N<SaslMechanism>(); ++m) {
        Labels l = {{"postfix_instance", i.name},
                    {"service", sc.service},
                    {"mechanism", S(Name(SaslMechanism(m)))}};
        AddSample(fail, l, static_cast<double>(sc.failures[m]));
        AddSample(ok, l, static_cast<double>(sc.successes[m]));
      }
  }
  out->push_back(std::move(fail));
  out->push_back(std::move(ok));
}

void AddTlsFamilies(const std::vector<InstanceSignals>& inst, Millis interval,
                    Families* out) {
  auto tf =
      Counter("mailhealth_log_tls_failures_total",
              SampledHelp("Failed TLS handshakes (inbound: smtpd, postscreen, "
                          "tlsproxy; outbound: smtp, lmtp) by reason class.",
                          interval));
  auto tc = Counter("mailhealth_log_tls_connections_total",
                    SampledHelp("TLS connections established by direction and "
                                "protocol version.",
                                interval));
  for (const InstanceSignals& i : inst) {
    AddGrid<TlsDirection, TlsFailureReason>(tf, i.name, "direction", "reason",
                                            i.tls_failures);
    AddGrid<TlsDirection, TlsVersion>(tc, i.name, "direction", "version",
                                      i.tls_connections);
  }
  out->push_back(std::move(tf));
  out->push_back(std::move(tc));
}

}  // namespace

void BuildSignalFamilies(const SignalCounters& c, Millis interval,
                         Families* out) {
  std::vector<InstanceSignals> seeded;
  const std::vector<InstanceSignals>& inst =
      OrDefaultInstance(c.instances, &seeded);
  AddPostscreenFamilies(inst, interval, out);
  AddSaslFamilies(inst, interval, out);
  AddTlsFamilies(inst, interval, out);
}

}  // namespace mailhealth::log
