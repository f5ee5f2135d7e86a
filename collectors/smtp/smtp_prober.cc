#include "collectors/smtp/smtp_prober.h"

#include <algorithm>

#include "collectors/smtp/smtp_config.h"
#include "collectors/smtp/smtp_metrics.h"
#include "collectors/smtp/smtp_run.h"

namespace mailhealth::smtp {
namespace {

class SmtpProbeModule : public ProbeModule {
 public:
  SmtpProbeModule(std::string name, SmtpConfig cfg)
      : name_(std::move(name)), cfg_(std::move(cfg)) {
    if (cfg_.helo.empty()) cfg_.helo = DefaultHeloName();
  }

  Result<ProbeSubject> ParseTarget(const std::string& target) const override {
    Result<SmtpTarget> t = ParseSmtpTarget(target);
    if (!t.ok()) return t.status();
    ProbeSubject s;
    s.kind = t->kind == SmtpTarget::Kind::kMx ? ProbeSubject::Kind::kMx
             : t->host_is_ip                  ? ProbeSubject::Kind::kAddress
                                              : ProbeSubject::Kind::kName;
    s.host = t->host;
    s.port = t->port;
    return s;
  }

  ProbeOutcome Run(const ProbeCall& call) const override {
    ProbeOutcome out;
    Result<SmtpTarget> t = ParseSmtpTarget(call.target);
    if (!t.ok()) {  // checked by ParseTarget already
      out.refused = t.status().message();
      return out;
    }
    const Clock::time_point start = Clock::now();
    const auto total = std::max(call.deadline - start, Clock::duration::zero());
    const auto margin =
        std::min<Clock::duration>(std::chrono::milliseconds(100), total / 10);
    SmtpRunOptions opt;
    opt.helo = cfg_.helo;
    opt.starttls = cfg_.starttls;
    opt.resolvers = cfg_.resolvers;
    opt.ca_file = cfg_.ca_file;
    opt.log_source = {"module", name_};
    const ProbeFence* fence = call.fence;
    SmtpAddressGate gate;
    if (fence != nullptr) {
      gate = [fence](const SmtpTarget& target, const std::string& address,
                     const std::string& name) {
        return fence->AllowsAddress(address, target.port, name);
      };
    }
    SmtpRunOutcome run =
        RunSmtpTargets({*t}, opt, call.deadline - margin, gate);
    if (!run.refused.ok()) {
      out.refused = run.refused.message();
      return out;
    }
    out.success = !run.run.rows.empty();
    for (const SmtpProbeRow& row : run.run.rows) {
      if (!row.result.success()) out.success = false;
    }
    out.families = BuildSmtpFamilies(run.run, Millis(0));
    return out;
  }

 private:
  std::string name_;
  SmtpConfig cfg_;
};

}  // namespace

ProberInfo SmtpProberInfo() {
  ProberInfo info;
  info.name = "smtp";
  info.description =
      "One SMTP target: connect, banner, EHLO, STARTTLS, certificate";
  info.default_timeout = Millis(10000);
  info.factory = [](const ProbeModuleContext& ctx,
                    ConfigNode& section) -> std::unique_ptr<ProbeModule> {
    SmtpConfig cfg;
    ParseSmtpDialogKeys(section, cfg);
    return std::make_unique<SmtpProbeModule>(ctx.name, std::move(cfg));
  };
  return info;
}

}  // namespace mailhealth::smtp
