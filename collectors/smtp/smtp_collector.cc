#include "collectors/smtp/smtp_collector.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "collectors/resolve/mx_resolver.h"
#include "collectors/resolve/resolver_address.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"

namespace mailhealth {
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

// Name resolution gets at most this share of the run; the rest is for the
// dialogs.
constexpr int kResolveShareDivisor = 2;
constexpr size_t kResolverThreads = 8;

// One probed (or unresolvable) address of a target.
struct Endpoint {
  std::string address;  // the `address` label
  std::string tls_name;
  bool dns_failure = false;
};

struct Expansion {
  std::vector<Endpoint> endpoints;
  double resolve_seconds = 0;
  std::string error;  // resolution failure, for the log
};

std::string MachineHostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
    return "localhost";
  }
  std::string name(buf);
  return ValidateHeloName(name).ok() ? name : "localhost";
}

Expansion Expand(const SmtpTarget& t, const std::vector<std::string>& resolvers,
                 Clock::time_point deadline) {
  Expansion e;
  if (t.kind == SmtpTarget::Kind::kHost && t.host_is_ip) {
    e.endpoints.push_back({t.host, "", false});
    return e;
  }
  const Clock::time_point start = Clock::now();
  std::set<std::string> seen;
  if (t.kind == SmtpTarget::Kind::kHost) {
    Result<std::vector<std::string>> r =
        ResolveHost(t.host, resolvers, deadline);
    if (r.ok() && !r->empty()) {
      for (const std::string& a : *r) {
        if (seen.insert(a).second) e.endpoints.push_back({a, t.host, false});
      }
    } else {
      e.error = r.ok() ? "no addresses" : r.status().message();
    }
  } else {
    MxResolution mx = ResolveMx(t.host, resolvers, deadline);
    if (!mx.status.ok()) {
      e.error = mx.status.message();
    } else if (mx.null_mx) {
      e.error = "null MX: the domain accepts no mail";
    } else if (mx.hosts.empty()) {
      e.error = "no MX hosts";
    }
    if (e.error.empty()) {
      for (const MxHostAddresses& h : mx.hosts) {
        if (h.addresses.empty()) {
          // An MX host without addresses is a DNS failure of its own; its
          // name stands in for the address it does not have.
          if (seen.insert(h.exchange).second) {
            e.endpoints.push_back({h.exchange, h.exchange, true});
          }
          continue;
        }
        for (const std::string& a : h.addresses) {
          if (seen.insert(a).second)
            e.endpoints.push_back({a, h.exchange, false});
        }
      }
    }
  }
  e.resolve_seconds = Seconds(Clock::now() - start);
  if (!e.error.empty()) e.endpoints = {{"", "", true}};
  if (e.endpoints.size() > kSmtpMaxAddressesPerTarget) {
    e.endpoints.resize(kSmtpMaxAddressesPerTarget);
  }
  return e;
}

class SmtpCollector : public Collector {
 public:
  SmtpCollector(SmtpConfig cfg, Millis interval)
      : cfg_(std::move(cfg)), interval_(interval) {
    if (cfg_.helo.empty()) cfg_.helo = MachineHostName();
  }

  CollectResult Collect(Clock::time_point deadline) override {
    const Clock::time_point start = Clock::now();
    const auto total = std::max(deadline - start, Clock::duration::zero());
    // Leave a little time to build the result before the deadline.
    const auto margin =
        std::min<Clock::duration>(std::chrono::milliseconds(250), total / 10);
    const Clock::time_point probe_deadline = deadline - margin;
    const Clock::time_point resolve_deadline =
        start + (probe_deadline - start) / kResolveShareDivisor;

    std::vector<Expansion> exp = ExpandAll(resolve_deadline);

    // Flatten to probe requests, capped.
    struct Slot {
      size_t target;
      size_t endpoint;
      long probe = -1;  // index into requests, -1 = no probe (DNS failure)
    };
    std::vector<Slot> slots;
    std::vector<SmtpProbeRequest> requests;
    size_t dropped = 0;
    for (size_t i = 0; i < cfg_.targets.size(); ++i) {
      const SmtpTarget& t = cfg_.targets[i];
      for (size_t j = 0; j < exp[i].endpoints.size(); ++j) {
        const Endpoint& ep = exp[i].endpoints[j];
        Slot s{i, j};
        if (!ep.dns_failure) {
          if (requests.size() >= kSmtpMaxProbes) {
            ++dropped;
            continue;
          }
          s.probe = static_cast<long>(requests.size());
          requests.push_back(
              {ep.address, t.port, t.lmtp, t.implicit_tls, ep.tls_name});
        }
        slots.push_back(s);
      }
    }
    if (dropped > 0 && !warned_cap_) {
      LogWarn("too many addresses to probe, some left out",
              {{"collector", "smtp"},
               {"max", std::to_string(kSmtpMaxProbes)},
               {"dropped", std::to_string(dropped)}});
      warned_cap_ = true;
    }

    SmtpProbeOptions opt;
    opt.helo = cfg_.helo;
    opt.starttls = cfg_.starttls;
    opt.deadline = probe_deadline;
    opt.ca_file = cfg_.ca_file;
    std::vector<SmtpProbeResult> results = RunSmtpProbes(requests, opt);

    Families fams = NewFamilies();
    std::vector<size_t> per_target(cfg_.targets.size(), 0);
    for (const Slot& s : slots) {
      const SmtpTarget& t = cfg_.targets[s.target];
      const Expansion& e = exp[s.target];
      const Endpoint& ep = e.endpoints[s.endpoint];
      SmtpProbeResult r;
      if (s.probe < 0) {
        r.failure = SmtpFailure::kDnsFailure;
        r.detail = e.error.empty() ? "MX host has no addresses" : e.error;
      } else {
        r = results[static_cast<size_t>(s.probe)];
        ++per_target[s.target];
      }
      r.phase_seconds[static_cast<size_t>(SmtpPhase::kResolve)] =
          e.resolve_seconds;
      r.duration_seconds += e.resolve_seconds;
      if (!r.success()) {
        LogDebug("smtp probe failed",
                 {{"collector", "smtp"},
                  {"target", t.text},
                  {"address", ep.address},
                  {"reason", kSmtpFailureNames[static_cast<int>(r.failure)]},
                  {"detail", r.detail}});
      }
      AddSeries(fams, t.text, ep.address, r);
    }
    for (size_t i = 0; i < cfg_.targets.size(); ++i) {
      AddSample(fams[kIdxAddresses], {{"target", cfg_.targets[i].text}},
                static_cast<double>(per_target[i]));
    }
    return {Status::Ok(), std::move(fams)};
  }

 private:
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
  };

  Families NewFamilies() const {
    auto help = [this](const char* h) { return SampledHelp(h, interval_); };
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
    return f;
  }

  static void AddSeries(Families& f, const std::string& target,
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

  // Resolves every target; host names and MX domains in parallel (each
  // lookup blocks on its own c-ares channel), IP literals inline.
  std::vector<Expansion> ExpandAll(Clock::time_point deadline) {
    const size_t n = cfg_.targets.size();
    std::vector<Expansion> exp(n);
    std::vector<size_t> todo;
    for (size_t i = 0; i < n; ++i) {
      const SmtpTarget& t = cfg_.targets[i];
      if (t.kind == SmtpTarget::Kind::kHost && t.host_is_ip) {
        exp[i] = Expand(t, cfg_.resolvers, deadline);
      } else {
        todo.push_back(i);
      }
    }
    if (todo.empty()) return exp;
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t k; (k = next.fetch_add(1)) < todo.size();) {
        exp[todo[k]] = Expand(cfg_.targets[todo[k]], cfg_.resolvers, deadline);
      }
    };
    std::vector<std::thread> threads;
    const size_t nthreads = std::min(todo.size(), kResolverThreads);
    for (size_t i = 1; i < nthreads; ++i) threads.emplace_back(worker);
    worker();
    for (auto& th : threads) th.join();
    return exp;
  }

  SmtpConfig cfg_;
  Millis interval_;
  bool warned_cap_ = false;
};

std::unique_ptr<Collector> Factory(const CollectorContext& ctx, ConfigNode& s) {
  SmtpConfig c;
  bool ok = true;
  c.helo = s.String("helo", "");
  if (!c.helo.empty()) {
    if (Status st = ValidateHeloName(c.helo); !st.ok()) {
      s.Error("helo", st.message());
      ok = false;
    }
  }
  c.starttls = s.Bool("starttls", true);
  c.resolvers = s.StringList("resolvers", {});
  for (const std::string& r : c.resolvers) {
    if (auto parsed = ParseResolverAddress(r); !parsed.ok()) {
      s.Error("resolvers", parsed.status().message());
      ok = false;
    }
  }
  std::vector<ConfigNode> list = s.List("targets", /*allow_scalars=*/true);
  std::set<std::string> seen;
  for (ConfigNode& n : list) {
    if (!n.IsScalar()) {
      n.Error("",
              "expected a string (HOST:PORT, mx:DOMAIN[:PORT], lmtp:HOST:PORT, "
              "smtps:HOST:PORT)");
      ok = false;
      continue;
    }
    Result<SmtpTarget> t = ParseSmtpTarget(n.Scalar());
    if (!t.ok()) {
      n.Error("",
              "invalid target \"" + n.Scalar() + "\": " + t.status().message());
      ok = false;
      continue;
    }
    if (!seen.insert(t->text).second) {
      n.Error("", "duplicate target \"" + t->text + "\"");
      ok = false;
      continue;
    }
    c.targets.push_back(std::move(*t));
  }
  if (c.targets.size() > kSmtpMaxTargets) {
    s.Error("targets", "too many targets (" + std::to_string(c.targets.size()) +
                           "), at most " + std::to_string(kSmtpMaxTargets));
    ok = false;
  }
  if (!ok) return nullptr;
  if (ctx.settings.enabled && c.targets.empty()) {
    s.Warning("targets",
              "smtp is enabled but lists no targets: it probes nothing");
  }
  return MakeSmtpCollector(std::move(c), ctx.settings.interval);
}

}  // namespace

std::unique_ptr<Collector> MakeSmtpCollector(SmtpConfig config,
                                             Millis interval) {
  return std::make_unique<SmtpCollector>(std::move(config), interval);
}

CollectorInfo SmtpCollectorInfo() {
  CollectorInfo info;
  info.name = "smtp";
  info.description =
      "Port 25/465/587 connectivity: connect, banner, EHLO, STARTTLS";
  info.default_enabled = false;
  info.default_interval = Millis(60000);
  info.default_timeout = Millis(10000);
  info.factory = Factory;
  return info;
}

}  // namespace mailhealth
