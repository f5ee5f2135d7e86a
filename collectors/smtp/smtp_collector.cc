#include "collectors/smtp/smtp_collector.h"

#include <algorithm>

#include "collectors/smtp/smtp_metrics.h"
#include "collectors/smtp/smtp_run.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"

namespace mailhealth::smtp {
namespace {

class SmtpCollector : public Collector {
 public:
  SmtpCollector(SmtpConfig cfg, Millis interval)
      : cfg_(std::move(cfg)), interval_(interval) {
    if (cfg_.helo.empty()) cfg_.helo = DefaultHeloName();
  }

  CollectResult Collect(Clock::time_point deadline) override {
    const Clock::time_point start = Clock::now();
    const auto total = std::max(deadline - start, Clock::duration::zero());
    // Leave a little time to build the result before the deadline.
    const auto margin =
        std::min<Clock::duration>(std::chrono::milliseconds(250), total / 10);
    SmtpRunOptions opt;
    opt.helo = cfg_.helo;
    opt.starttls = cfg_.starttls;
    opt.resolvers = cfg_.resolvers;
    opt.ca_file = cfg_.ca_file;
    SmtpRunOutcome out = RunSmtpTargets(cfg_.targets, opt, deadline - margin);
    if (out.dropped > 0 && !warned_cap_) {
      LogWarn("too many addresses to probe, some left out",
              {{"collector", "smtp"},
               {"max", std::to_string(kSmtpMaxProbes)},
               {"dropped", std::to_string(out.dropped)}});
      warned_cap_ = true;
    }
    return {Status::Ok(), BuildSmtpFamilies(out.run, interval_)};
  }

 private:
  SmtpConfig cfg_;
  Millis interval_;
  bool warned_cap_ = false;
};

std::unique_ptr<Collector> Factory(const CollectorContext& ctx, ConfigNode& s) {
  return MakeSmtpCollector(ParseSmtpConfig(s, ctx.settings),
                           ctx.settings.interval);
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

}  // namespace mailhealth::smtp
