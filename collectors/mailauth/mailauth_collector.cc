#include "collectors/mailauth/mailauth_collector.h"

#include <algorithm>

#include "collectors/mailauth/mailauth_lookup.h"
#include "collectors/mailauth/mailauth_metrics.h"
#include "exporter/logging.h"

namespace mailhealth::mailauth {
namespace {

class MailauthCollector : public Collector {
 public:
  explicit MailauthCollector(MailauthConfig cfg) : cfg_(std::move(cfg)) {}

  CollectResult Collect(Clock::time_point deadline) override {
    const auto total =
        std::max(deadline - Clock::now(), Clock::duration::zero());
    const auto margin =
        std::min<Clock::duration>(std::chrono::milliseconds(250), total / 10);
    MailauthRun run = RunMailauth(cfg_, deadline - margin);
    size_t errors = 0;
    for (const DomainOutcome& d : run.domains) {
      errors += d.errors.size();
      for (const std::string& e : d.errors)
        LogDebug(
            "mailauth lookup failed",
            {{"collector", "mailauth"}, {"domain", d.domain}, {"error", e}});
      for (const DaneHost& h : d.dane)
        if (!h.problem.empty())
          LogDebug("mailauth DANE mismatch", {{"collector", "mailauth"},
                                              {"domain", d.domain},
                                              {"exchange", h.exchange},
                                              {"error", h.problem}});
      for (const SelectorOutcome& s : d.dkim) {
        if (!s.local_error.empty() && !warned_key_) {
          LogWarn("cannot read a DKIM private key file",
                  {{"collector", "mailauth"},
                   {"domain", d.domain},
                   {"selector", s.selector},
                   {"error", s.local_error}});
          warned_key_ = true;
        }
      }
    }
    CollectResult r{Status::Ok(), BuildMailauthFamilies(run, cfg_.interval)};
    r.detail = std::to_string(run.domains.size()) + " domains, " +
               std::to_string(run.queries) + " queries sent";
    if (errors) r.detail += ", " + std::to_string(errors) + " lookups failed";
    return r;
  }

 private:
  MailauthConfig cfg_;
  bool warned_key_ = false;
};

std::unique_ptr<Collector> Factory(const CollectorContext& ctx, ConfigNode& s) {
  return MakeMailauthCollector(ParseMailauthConfig(s, ctx.settings));
}

}  // namespace

std::unique_ptr<Collector> MakeMailauthCollector(MailauthConfig config) {
  return std::make_unique<MailauthCollector>(std::move(config));
}

CollectorInfo MailauthCollectorInfo() {
  CollectorInfo info;
  info.name = "mailauth";
  info.description =
      "SPF (evaluated, lookups counted), DKIM keys, DMARC, TLS-RPT, MTA-STS "
      "and DANE records of our domains";
  info.default_enabled = false;
  info.default_interval = Millis(10 * 60 * 1000);
  info.default_timeout = Millis(30000);
  info.factory = Factory;
  return info;
}

}  // namespace mailhealth::mailauth
